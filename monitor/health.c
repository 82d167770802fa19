/* Healthchecks: the monitor runs the container's probe inside the container (core/nsexec.c)
 * on a timer, as Docker's daemon does (daemon/health.go), so they go on while no husk-api
 * runs. One probe at a time: a timerfd schedules the next one and, while one runs, bounds it
 * (a probe past its timeout is killed and counts as failed). Its output (stdout and stderr
 * together, the first 4 KiB) and exit code go to State.Health (core/health.c) in the live
 * state.json; a change of status is the event "health_status: <status>". */
#include "monitor.h"

#include "core/health.h"
#include "core/json.h"
#include "core/log.h"
#include "core/exec.h"
#include "core/json.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

struct health {
	struct husk_health_config cfg;
	bool active; /* probing the current run */
	struct watch timer;
	struct watch out; /* the running probe's output */
	pid_t pid;	  /* the running probe */
	int64_t start_ns;
	bool timed_out;
	char buf[HUSK_HEALTH_MAX_OUTPUT + 1];
	size_t len;
	bool truncated;
};

static void arm(struct monitor *m, int64_t ns)
{
	struct health *h = m->health;
	if (ns <= 0)
		ns = 1;
	struct itimerspec its = {
	    .it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};
	timerfd_settime(h->timer.fd, 0, &its, NULL);
}

static void schedule_next(struct monitor *m)
{
	struct health *h = m->health;
	arm(m, husk_health_next_ns(&h->cfg, now_ns() - m->state.started_ns, m->state.health));
}

static void close_output(struct monitor *m)
{
	struct health *h = m->health;
	if (h->out.fd < 0)
		return;
	watch_del(m, &h->out);
	close(h->out.fd);
	h->out.fd = -1;
}

/* Reads what the probe wrote; false at its end. */
static bool read_output(struct health *h)
{
	char chunk[4096];
	for (;;) {
		ssize_t n = read(h->out.fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN;
		if (n == 0)
			return false;
		size_t keep = HUSK_HEALTH_MAX_OUTPUT - h->len;
		if ((size_t)n > keep)
			h->truncated = true;
		else
			keep = (size_t)n;
		memcpy(h->buf + h->len, chunk, keep);
		h->len += keep;
	}
}

static void on_output(struct monitor *m, struct watch *w, uint32_t events)
{
	if (!read_output(m->health))
		close_output(m);
}

static void record(struct monitor *m, int exit_code, const char *output)
{
	struct health *h = m->health;
	const char *changed = husk_health_record(m->state.health, &h->cfg, m->state.started_ns,
						 h->start_ns, now_ns(), exit_code, output);
	/* Like Docker, results are kept in the live state only; the exit persists them. */
	monitor_save_state(m, false);
	if (changed) {
		_cleanup_free_ char *action = xasprintf("health_status: %s", changed);
		monitor_emit(m, action, NULL, NULL);
	}
	schedule_next(m);
}

/* A probe runs like a docker exec of its command: in the container's namespaces, as its user,
 * with its environment and working directory, its capabilities and seccomp filter; a child of
 * ours. Its start is waited for here (a few milliseconds): a command that cannot run is a
 * result of the probe (-1 with Docker's message). */
static int probe_spawn(struct monitor *m, const struct husk_stdio *io, pid_t *pid,
		       struct husk_error *err)
{
	struct health *h = m->health;
	int pidfd = exec_container_pidfd(m);
	if (pidfd < 0)
		return husk_error_sys(err, -errno, "pidfd_open");
	json_t *rec = json_pack("{s:o}", "Cmd", json_strv(h->cfg.argv));
	struct husk_spec sp;
	struct husk_process proc;
	husk_exec_spec(&m->spec, jobj(m->doc, "Config"), rec, 0, 0, &sp);
	int r = husk_runtime_exec(&sp, pidfd, m->pid, exec_filters(m), io, &proc, err);
	husk_exec_spec_free(&sp);
	json_decref(rec);
	if (r < 0)
		return r;
	*pid = proc.pid;
	int pty = -1;
	while ((r = husk_runtime_report(proc.sync, &pty, err)) > 0)
		if (pty >= 0)
			close(pty);
	close(proc.sync);
	return r;
}

static void start_probe(struct monitor *m)
{
	struct health *h = m->health;
	int p[2];
	h->len = 0;
	h->truncated = false;
	h->timed_out = false;
	h->start_ns = now_ns();
	if (pipe2(p, O_CLOEXEC) < 0) {
		record(m, -1, strerror(errno));
		return;
	}
	struct husk_stdio io = {.in = -1, .out = p[1], .err = p[1]};
	struct husk_error err = {0};
	int r = probe_spawn(m, &io, &h->pid, &err);
	close(p[1]);
	if (r < 0) {
		/* Docker records a probe that could not run as exit code -1 with the error. */
		close(p[0]);
		h->pid = 0;
		record(m, -1, err.message);
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	h->out.fd = p[0];
	watch_add(m, &h->out, EPOLLIN);
	arm(m, h->cfg.timeout_ns);
}

static void on_timer(struct monitor *m, struct watch *w, uint32_t events)
{
	struct health *h = m->health;
	uint64_t n;
	(void)!read(w->fd, &n, sizeof n);
	if (!h->active || m->phase != PHASE_RUNNING || m->pid <= 0)
		return;
	if (h->pid > 0) {
		/* Past its timeout: the result is recorded when it is gone. */
		h->timed_out = true;
		kill(h->pid, SIGKILL);
		return;
	}
	start_probe(m);
}

bool health_on_child_exit(struct monitor *m, pid_t pid, int status)
{
	struct health *h = m->health;
	if (!h || pid <= 0 || pid != h->pid)
		return false;
	h->pid = 0;
	if (h->out.fd >= 0) {
		read_output(h); /* the probe is gone: what it wrote is all in the pipe */
		close_output(m);
	}
	/* Once the container has exited its probes no longer count (they die with it). */
	if (!h->active || m->phase != PHASE_RUNNING)
		return true;
	h->buf[h->len] = 0;
	_cleanup_free_ char *out = xasprintf("%s%s", h->buf, h->truncated ? "..." : "");
	if (h->timed_out) {
		char d[40];
		husk_go_duration(h->cfg.timeout_ns, d);
		_cleanup_free_ char *msg =
		    *out ? xasprintf("Health check exceeded timeout (%s): %s", d, out)
			 : xasprintf("Health check exceeded timeout (%s)", d);
		record(m, -1, msg);
	} else {
		record(m, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
	}
	return true;
}

void health_init(struct monitor *m)
{
	struct health *h = xcalloc(1, sizeof *h);
	h->timer.fd = -1;
	h->out.fd = -1;
	h->out.fn = on_output;
	h->timer.fn = on_timer;
	m->health = h;
	if (husk_health_config_get(jobj(m->doc, "Config"), &h->cfg) <= 0)
		return;
	h->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (h->timer.fd < 0) {
		husk_log(LOG_ERR, "container %.12s: no healthchecks: timerfd: %m", m->id);
		husk_health_config_clear(&h->cfg);
		return;
	}
	watch_add(m, &h->timer, EPOLLIN);
}

void health_start(struct monitor *m)
{
	struct health *h = m->health;
	if (!h->cfg.argv)
		return;
	m->state.health = husk_health_starting(m->state.health);
	h->active = true;
	arm(m, husk_health_next_ns(&h->cfg, 0, m->state.health));
}

void health_stop(struct monitor *m)
{
	struct health *h = m->health;
	if (!h->active)
		return;
	h->active = false;
	struct itimerspec off = {0};
	timerfd_settime(h->timer.fd, 0, &off, NULL);
	/* A probe still running dies with the container's pid namespace; its exit is reaped
	 * and ignored. */
	if (h->pid > 0)
		kill(h->pid, SIGKILL);
	close_output(m);
	husk_health_stopped(m->state.health);
}
