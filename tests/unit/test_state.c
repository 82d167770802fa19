/* core/state.c: the state record's JSON, and husk_state_load's view of live, dead and
 * pre-reboot monitors (temporary data and run directories). */
#include "test.h"
#include "testutil.h"

#include "core/fs.h"
#include "core/json.h"
#include "core/state.h"

#include <signal.h>
#include <sys/wait.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NO_PID 1073741824 /* above any pid_max: kill() says ESRCH */

static char *dir;
static struct husk_store store;

static void test_status_names(void)
{
	CHECK_STREQ(husk_status_name(HUSK_CREATED), "created");
	CHECK_STREQ(husk_status_name(HUSK_RUNNING), "running");
	CHECK_STREQ(husk_status_name(HUSK_PAUSED), "paused");
	CHECK_STREQ(husk_status_name(HUSK_RESTARTING), "restarting");
	CHECK_STREQ(husk_status_name(HUSK_REMOVING), "removing");
	CHECK_STREQ(husk_status_name(HUSK_EXITED), "exited");
	CHECK_STREQ(husk_status_name(HUSK_DEAD), "dead");
	CHECK_STREQ(husk_status_name((enum husk_status)99), "dead");
	CHECK_STREQ(husk_status_name((enum husk_status) - 1), "dead");
}

static void test_json_round_trip(void)
{
	struct husk_state st;
	husk_state_init(&st);
	CHECK_EQ(st.status, HUSK_CREATED);
	st.status = HUSK_RESTARTING;
	st.pid = 1234;
	st.monitor_pid = 1200;
	st.monitor_start = UINT64_C(123456789012);
	snprintf(st.boot_id, sizeof st.boot_id, "b00t-1d");
	st.exit_code = 137;
	st.oom_killed = true;
	st.started_ns = INT64_C(1700000000123456789);
	st.finished_ns = INT64_C(1700000001000000000);
	snprintf(st.error, sizeof st.error, "an \"error\"\n");
	st.restart_count = 3;
	st.exit_count = 4000000000u;
	st.pid_start = 5678;
	st.removing = true;
	st.health = test_json("{'Status':'healthy','FailingStreak':0,'Log':[]}");

	json_t *j = husk_state_to_json(&st);
	CHECK_JSON(j, "{'Status':'restarting','Pid':1234,'PidStart':5678,'MonitorPid':1200,"
		      "'MonitorStart':123456789012,'BootId':'b00t-1d','ExitCode':137,"
		      "'OOMKilled':true,'StartedAt':1700000000123456789,"
		      "'FinishedAt':1700000001000000000,'Error':'an \\'error\\'\\n',"
		      "'RestartCount':3,'ExitCount':4000000000,'Removing':true,'ManuallyStopped':false,"
		      "'Health':{'Status':'healthy','FailingStreak':0,'Log':[]}}");
	struct husk_state back;
	CHECK_EQ(husk_state_from_json(j, &back), 0);
	CHECK_EQ(back.status, HUSK_RESTARTING);
	CHECK_EQ(back.pid, 1234);
	CHECK_EQ(back.monitor_pid, 1200);
	CHECK_EQ(back.monitor_start, UINT64_C(123456789012));
	CHECK_STREQ(back.boot_id, "b00t-1d");
	CHECK_EQ(back.exit_code, 137);
	CHECK(back.oom_killed);
	CHECK_EQ(back.started_ns, st.started_ns);
	CHECK_EQ(back.finished_ns, st.finished_ns);
	CHECK_STREQ(back.error, "an \"error\"\n");
	CHECK_EQ(back.restart_count, 3);
	CHECK_EQ(back.exit_count, 4000000000u);
	CHECK(back.removing);
	CHECK_JSON(back.health, "{'Status':'healthy','FailingStreak':0,'Log':[]}");
	json_decref(j);
	husk_state_clear(&back);
	CHECK(back.health == NULL);
	husk_state_clear(&st);

	/* every status name reads back as itself; anything else is dead */
	for (int s = HUSK_CREATED; s <= HUSK_DEAD; s++) {
		husk_state_init(&st);
		st.status = (enum husk_status)s;
		j = husk_state_to_json(&st);
		CHECK_EQ(husk_state_from_json(j, &back), 0);
		CHECK_EQ(back.status, s);
		CHECK(back.health == NULL);
		CHECK(!json_object_get(j, "Health"));
		json_decref(j);
	}
	j = test_json("{'Status':'Running','Pid':'12','ExitCode':1.0,'Health':[]}");
	CHECK_EQ(husk_state_from_json(j, &back), 0);
	CHECK_EQ(back.status, HUSK_DEAD);
	CHECK_EQ(back.pid, 0);
	CHECK_EQ(back.exit_code, 1);
	CHECK(back.health == NULL);
	json_decref(j);
	j = test_json("{}");
	CHECK_EQ(husk_state_from_json(j, &back), 0);
	CHECK_EQ(back.status, HUSK_DEAD);
	CHECK_STREQ(back.boot_id, "");
	CHECK_STREQ(back.error, "");
	json_decref(j);
	j = test_json("[]");
	CHECK_EQ(husk_state_from_json(j, &back), -EINVAL);
	json_decref(j);
	CHECK_EQ(husk_state_from_json(NULL, &back), -EINVAL);
}

/* Writes st to the live (run) or the kept (data) state.json, making the directory. */
static void write_state(bool live, const struct husk_state *st)
{
	_cleanup_free_ char *d = live ? husk_store_run_path(&store, "containers/%s", ID)
				      : husk_store_data_path(&store, "containers/%s", ID);
	CHECK_OK(mkdir_p(d, 0700));
	_cleanup_free_ char *p = xasprintf("%s/state.json", d);
	json_t *j = husk_state_to_json(st);
	CHECK_EQ(json_store_path(p, j, false), 0);
	json_decref(j);
}

/* Only the copies asked for: the live one and/or the kept one. */
static void put(const struct husk_state *st, bool live, bool keep)
{
	_cleanup_free_ char *rd = husk_store_run_path(&store, "containers/%s", ID);
	_cleanup_free_ char *dd = husk_store_data_path(&store, "containers/%s", ID);
	rm_rf(rd);
	rm_rf(dd);
	if (live)
		write_state(true, st);
	if (keep)
		write_state(false, st);
}

/* A running container whose monitor is pid/start, booted in boot. */
static void running(struct husk_state *st, pid_t monitor, uint64_t start, const char *boot)
{
	husk_state_init(st);
	st->status = HUSK_RUNNING;
	st->monitor_pid = monitor;
	st->monitor_start = start;
	snprintf(st->boot_id, sizeof st->boot_id, "%s", boot);
	st->started_ns = INT64_C(1700000000000000000);
}

static pid_t sleeper(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_load_none(void)
{
	struct husk_state st;
	memset(&st, 0x55, sizeof st);
	st.health = NULL;
	CHECK_EQ(husk_state_load(&store, ID, &st), 0);
	CHECK_EQ(st.status, HUSK_CREATED);
	CHECK_EQ(st.pid, 0);
	CHECK_EQ(st.exit_code, 0);
	CHECK_STREQ(st.error, "");
	CHECK(st.health == NULL);
}

static void test_load_live_monitor(void)
{
	char boot[40];
	husk_boot_id(boot);
	CHECK_EQ(strlen(boot), 36);
	uint64_t start = husk_pid_start_time(getpid());
	CHECK(start > 0);
	CHECK(husk_pid_alive(getpid(), start));
	CHECK(husk_pid_alive(getpid(), 0));
	CHECK(!husk_pid_alive(getpid(), start + 1));
	CHECK(!husk_pid_alive(NO_PID, 0));
	CHECK(!husk_pid_alive(0, 0));
	CHECK(!husk_pid_alive(-1, 0));
	CHECK_EQ(husk_pid_start_time(NO_PID), 0);

	/* the monitor is this process: still running */
	struct husk_state st, got;
	running(&st, getpid(), start, boot);
	st.pid = NO_PID;
	put(&st, true, false);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_RUNNING);
	CHECK_EQ(got.pid, NO_PID);
	CHECK_EQ(got.monitor_pid, getpid());
	CHECK_EQ(got.exit_code, 0);
	CHECK_STREQ(got.error, "");
	/* the live copy wins over the data copy */
	struct husk_state old;
	husk_state_init(&old);
	old.status = HUSK_EXITED;
	old.exit_code = 9;
	put(&old, false, true);
	write_state(true, &st);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_RUNNING);
	/* a zombie is not alive */
	pid_t z = fork();
	if (z == 0)
		_exit(0);
	siginfo_t si;
	CHECK_OK(waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT));
	CHECK(!husk_pid_alive(z, 0));
	waitpid(z, NULL, 0);
}

static void test_load_dead_monitor(void)
{
	char boot[40];
	husk_boot_id(boot);
	struct husk_state st, got;
	/* no such monitor: exited 255, with the reason */
	running(&st, NO_PID, 0, boot);
	put(&st, true, true);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_EXITED);
	CHECK_EQ(got.exit_code, 255);
	CHECK_EQ(got.finished_ns, INT64_C(1700000000000000000)); /* none recorded: started */
	CHECK_STREQ(got.error, "container monitor exited unexpectedly; the container was killed");
	CHECK(!got.removing);

	/* this pid, but started at another time: a reused pid, not the monitor */
	running(&st, getpid(), husk_pid_start_time(getpid()) + 1, boot);
	st.finished_ns = 42;
	st.status = HUSK_PAUSED;
	put(&st, true, false);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_EXITED);
	CHECK_EQ(got.exit_code, 255);
	CHECK_EQ(got.finished_ns, 42);

	/* the container's process, if still there, is killed */
	pid_t c = sleeper();
	running(&st, NO_PID, 0, boot);
	st.pid = c;
	st.pid_start = husk_pid_start_time(c);
	put(&st, true, false);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_EXITED);
	int status = 0;
	CHECK_EQ(waitpid(c, &status, 0), c);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* a process that merely has its pid (another start time) is left alone */
	c = sleeper();
	running(&st, NO_PID, 0, boot);
	st.pid = c;
	st.pid_start = husk_pid_start_time(c) + 1;
	put(&st, true, false);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_EXITED);
	CHECK_EQ(waitpid(c, &status, WNOHANG), 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

static void test_load_reboot(void)
{
	/* only the data copy, from another boot: exited, even though "the monitor" lives */
	pid_t c = sleeper();
	struct husk_state st, got;
	running(&st, getpid(), husk_pid_start_time(getpid()),
		"00000000-0000-0000-0000-000000000000");
	st.pid = c;
	put(&st, false, true);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_EXITED);
	CHECK_EQ(got.exit_code, 255);
	CHECK_STREQ(got.error, "container was running when the machine shut down");
	/* a pid from another boot is not ours to kill */
	CHECK_EQ(kill(c, 0), 0);
	CHECK_EQ(waitpid(c, NULL, WNOHANG), 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

/* An exit the monitor recorded (code 3, at 77), the monitor gone since. */
static void recorded_exit(struct husk_state *st)
{
	husk_state_init(st);
	st->status = HUSK_EXITED;
	st->exit_code = 3;
	st->monitor_pid = NO_PID;
	st->finished_ns = 77;
}

/* The state loaded must be that exit, as recorded. */
static void check_recorded_exit(struct husk_state *got)
{
	CHECK_EQ(husk_state_load(&store, ID, got), 0);
	CHECK_EQ(got->status, HUSK_EXITED);
	CHECK_EQ(got->exit_code, 3);
	CHECK_EQ(got->finished_ns, 77);
	CHECK_STREQ(got->error, "");
}

static void test_load_recorded_exit(void)
{
	/* an exit recorded by the monitor is kept as it is */
	struct husk_state st, got;
	recorded_exit(&st);
	put(&st, true, true);
	check_recorded_exit(&got);
	/* created, with a dead monitor pid: still created */
	husk_state_init(&st);
	st.monitor_pid = NO_PID;
	put(&st, false, true);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.status, HUSK_CREATED);
	CHECK_STREQ(got.error, "");
	/* exited, its --rm removal cut short by the monitor's end: the exit stands */
	recorded_exit(&st);
	st.exit_count = 1;
	st.removing = true;
	husk_boot_id(st.boot_id);
	put(&st, true, true);
	check_recorded_exit(&got);
	CHECK(!got.removing);
	/* removing with the monitor alive: as recorded */
	st.monitor_pid = getpid();
	st.monitor_start = husk_pid_start_time(getpid());
	put(&st, true, false);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK(got.removing);
	CHECK_EQ(got.exit_code, 3);
	/* an unreadable live copy: the data copy is used */
	_cleanup_free_ char *rd = husk_store_run_path(&store, "containers/%s", ID);
	_cleanup_free_ char *junk = test_write_file(rd, "state.json", "{not json");
	husk_state_init(&st);
	st.status = HUSK_EXITED;
	st.exit_code = 5;
	write_state(false, &st);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.exit_code, 5);
}

static void test_save(void)
{
	struct husk_state st, got;
	husk_state_init(&st);
	st.status = HUSK_EXITED;
	st.exit_code = 12;
	_cleanup_free_ char *rd = husk_store_run_path(&store, "containers/%s", ID);
	_cleanup_free_ char *dd = husk_store_data_path(&store, "containers/%s", ID);
	rm_rf(rd);
	rm_rf(dd);
	CHECK_OK(mkdir_p(dd, 0700));
	/* the run directory is made again when it is gone */
	CHECK_EQ(husk_state_save(&store, ID, &st, false), 0);
	_cleanup_free_ char *dp = xasprintf("%s/state.json", dd);
	CHECK(!path_exists(dp));
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.exit_code, 12);
	st.exit_code = 13;
	CHECK_EQ(husk_state_save(&store, ID, &st, true), 0);
	CHECK(path_exists(dp));
	rm_rf(rd);
	CHECK_EQ(husk_state_load(&store, ID, &got), 0);
	CHECK_EQ(got.exit_code, 13);
}

int main(void)
{
	dir = test_tmpdir();
	test_store(&store, dir);
	RUN(test_status_names);
	RUN(test_json_round_trip);
	RUN(test_load_none);
	RUN(test_load_live_monitor);
	RUN(test_load_dead_monitor);
	RUN(test_load_reboot);
	RUN(test_load_recorded_exit);
	RUN(test_save);
	husk_store_close(&store);
	test_tmpdir_remove(dir);
	return test_result();
}
