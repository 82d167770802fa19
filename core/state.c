#include "state.h"
#include "fs.h"
#include "json.h"

#include <signal.h>

static const char *const status_names[] = {
	[HUSK_CREATED] = "created", [HUSK_RUNNING] = "running",	  [HUSK_PAUSED] = "paused",
	[HUSK_RESTARTING] = "restarting", [HUSK_REMOVING] = "removing", [HUSK_EXITED] = "exited",
	[HUSK_DEAD] = "dead",
};

const char *husk_status_name(enum husk_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "dead";
}

static enum husk_status status_from_name(const char *n)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (streq(n, status_names[i]))
			return (enum husk_status)i;
	return HUSK_DEAD;
}

void husk_state_init(struct husk_state *st)
{
	memset(st, 0, sizeof *st);
	st->status = HUSK_CREATED;
}

void husk_state_clear(struct husk_state *st)
{
	json_decref(st->health);
	st->health = NULL;
}

json_t *husk_state_to_json(const struct husk_state *st)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:i, s:b, s:I, s:I, s:s, s:i, s:I, s:b, s:b}",
			      "Status", husk_status_name(st->status), "Pid", (json_int_t)st->pid,
			      "PidStart", (json_int_t)st->pid_start,
			      "MonitorPid", (json_int_t)st->monitor_pid, "MonitorStart",
			      (json_int_t)st->monitor_start, "BootId", st->boot_id, "ExitCode",
			      st->exit_code, "OOMKilled", st->oom_killed, "StartedAt",
			      (json_int_t)st->started_ns, "FinishedAt", (json_int_t)st->finished_ns,
			      "Error", st->error, "RestartCount", st->restart_count, "ExitCount",
			      (json_int_t)st->exit_count, "Removing", st->removing,
			      "ManuallyStopped", st->manually_stopped);
	if (st->health)
		json_object_set(j, "Health", st->health);
	if (st->cgroup[0])
		json_object_set_new(j, "Cgroup", json_string(st->cgroup));
	return j;
}

int husk_state_from_json(const json_t *j, struct husk_state *st)
{
	if (!json_is_object(j))
		return -EINVAL;
	husk_state_init(st);
	st->status = status_from_name(jstr(j, "Status"));
	st->pid = (pid_t)jint(j, "Pid", 0);
	st->pid_start = (uint64_t)jint(j, "PidStart", 0);
	st->monitor_pid = (pid_t)jint(j, "MonitorPid", 0);
	st->monitor_start = (uint64_t)jint(j, "MonitorStart", 0);
	snprintf(st->boot_id, sizeof st->boot_id, "%s", str_or(jstr(j, "BootId"), ""));
	st->exit_code = (int)jint(j, "ExitCode", 0);
	st->oom_killed = jbool(j, "OOMKilled", false);
	st->started_ns = jint(j, "StartedAt", 0);
	st->finished_ns = jint(j, "FinishedAt", 0);
	snprintf(st->error, sizeof st->error, "%s", str_or(jstr(j, "Error"), ""));
	st->restart_count = (int)jint(j, "RestartCount", 0);
	st->exit_count = (unsigned)jint(j, "ExitCount", 0);
	st->removing = jbool(j, "Removing", false);
	st->manually_stopped = jbool(j, "ManuallyStopped", false);
	snprintf(st->cgroup, sizeof st->cgroup, "%s", str_or(jstr(j, "Cgroup"), ""));
	json_t *h = jobj(j, "Health");
	st->health = h ? json_incref(h) : NULL;
	return 0;
}

int husk_state_save(const struct husk_store *s, const char *id, const struct husk_state *st,
		    bool persist)
{
	json_t *j = husk_state_to_json(st);
	_cleanup_free_ char *live = husk_store_run_path(s, "containers/%s/state.json", id);
	int r = json_store_path(live, j, false);
	if (r == -ENOENT) {
		/* The run directory is gone (reboot, or cleaned): make it again. */
		_cleanup_free_ char *dir = husk_store_run_path(s, "containers/%s", id);
		mkdir_p(dir, 0700);
		r = json_store_path(live, j, false);
	}
	if (r >= 0 && persist) {
		_cleanup_free_ char *keep = husk_store_data_path(s, "containers/%s/state.json", id);
		r = json_store_path(keep, j, true);
	}
	json_decref(j);
	return r;
}

static int load_one(const char *path, struct husk_state *st)
{
	json_t *j = json_load_path(path, 1 << 20, NULL);
	if (!j)
		return -ENOENT;
	int r = husk_state_from_json(j, st);
	json_decref(j);
	return r;
}

static bool is_live_status(enum husk_status s)
{
	return s == HUSK_RUNNING || s == HUSK_PAUSED || s == HUSK_RESTARTING;
}

/* The recorded state as it is on disk; false when there is none. */
static bool load_recorded(const char *live, const char *keep, struct husk_state *st)
{
	husk_state_init(st);
	if (load_one(live, st) == 0 || load_one(keep, st) == 0)
		return true;
	husk_state_init(st);
	return false;
}

int husk_state_load(const struct husk_store *s, const char *id, struct husk_state *st)
{
	_cleanup_free_ char *live = husk_store_run_path(s, "containers/%s/state.json", id);
	_cleanup_free_ char *keep = husk_store_data_path(s, "containers/%s/state.json", id);
	if (!load_recorded(live, keep, st))
		return 0;
	if (!is_live_status(st->status) && !st->removing)
		return 0;

	char boot[40];
	husk_boot_id(boot);
	bool same_boot = streq(boot, st->boot_id);
	if (same_boot && husk_pid_alive(st->monitor_pid, st->monitor_start))
		return 0;
	if (same_boot) {
		/* The monitor may have recorded the exit and ended between our read and our look
		 * at it: what it wrote last is on disk now. Read again before calling it lost. */
		struct husk_state again;
		if (!load_recorded(live, keep, &again)) {
			/* Removed (--rm) in the meantime: what we read is all there is. */
			husk_state_clear(&again);
			st->status = HUSK_EXITED;
			st->removing = false;
			return 0;
		}
		husk_state_clear(st);
		*st = again;
		if (!is_live_status(st->status) && !st->removing)
			return 0;
	}
	if (st->status == HUSK_EXITED) {
		/* The monitor recorded the exit and then ended before its --rm removal was done:
		 * the exit stands, only the removal is off. */
		st->removing = false;
		return 0;
	}

	/* The monitor is gone without recording an exit: the container cannot be running (its
	 * pid 1 dies with the monitor). Report it exited, as Docker does for a lost task. */
	if (same_boot && st->pid > 0 && st->pid_start &&
	    husk_pid_alive(st->pid, st->pid_start))
		kill(st->pid, SIGKILL);
	st->status = HUSK_EXITED;
	st->removing = false;
	st->exit_code = 255;
	if (!st->finished_ns)
		st->finished_ns = st->started_ns;
	snprintf(st->error, sizeof st->error, "%s",
		 same_boot ? "container monitor exited unexpectedly; the container was killed"
			   : "container was running when the machine shut down");
	return 0;
}

uint64_t husk_pid_start_time(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *buf = NULL;
	if (read_file(path, &buf, NULL, 4096) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

bool husk_pid_alive(pid_t pid, uint64_t start_ticks)
{
	if (pid <= 0)
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	if (start_ticks && husk_pid_start_time(pid) != start_ticks)
		return false;
	/* A zombie is not alive. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *buf = NULL;
	if (read_file(path, &buf, NULL, 4096) < 0)
		return false;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

void husk_boot_id(char out[40])
{
	_cleanup_free_ char *b = NULL;
	out[0] = 0;
	if (read_file("/proc/sys/kernel/random/boot_id", &b, NULL, 128) == 0) {
		b[strcspn(b, "\n")] = 0;
		snprintf(out, 40, "%s", b);
	}
}
