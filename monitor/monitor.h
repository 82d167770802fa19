/* husk-monitor: one container's life, in one single-threaded epoll loop.
 *
 *   main.c     arguments, start, the loop, exit and clean-up
 *   io.c       the container's stdio: output to the log and to attached clients, input
 *   control.c  the monitor socket: kill, stop, attach, resize
 *   restart.c  the restart policy: the decision after an exit, the back-off, the new run
 *   health.c   healthcheck probes inside the container, State.Health
 *   exec.c     exec'd processes: start, their streams, resize, exit
 *   pause.c    pause and unpause
 *   cgroup.c   the container's own cgroup: limits, docker update, OOM kills
 */
#pragma once

#include "core/delegation.h"
#include "core/logfile.h"
#include "core/runtime.h"
#include "core/state.h"
#include "core/store.h"
#include "core/userns.h"

#include <jansson.h>
#include <sys/epoll.h>

struct monitor;

/* Everything in the epoll set is a watch; fn handles its events. */
struct watch {
	int fd;
	void (*fn)(struct monitor *m, struct watch *w, uint32_t events);
};

/* An attached connection (docker attach / run), framed when the container has no TTY. */
struct client {
	struct watch w;
	bool in, out, err; /* which streams it attached */
	bool in_done;	   /* it closed its sending side */
	bool in_paused;	   /* not read for now: its input is not taken yet */
	char *buf;	   /* output not yet written to it */
	size_t len, cap;
	bool closing;	   /* close once buf is written */
	struct client *next;
};

/* A control connection waiting for the container's exit (stop). */
struct waiter {
	int fd;
	struct waiter *next;
};

enum phase {
	PHASE_RUNNING,
	PHASE_DRAINING, /* the container exited: reading what is left of its output */
	PHASE_BACKOFF,	/* waiting to run it again (restart policy) */
	PHASE_DONE,
};

struct restart; /* restart.c */
struct health;	/* health.c */

struct monitor {
	struct husk_store store;
	struct husk_idmap idmap;
	char id[65];
	json_t *doc; /* config.json */
	struct husk_spec spec;
	struct husk_state state;
	bool auto_remove;
	bool stdin_once;

	int ep;
	struct watch sig, ctl, timer;
	struct watch out, err; /* pipes (no TTY) or out = the pty master */
	struct watch in;       /* the container's stdin (pipe write end, or the pty master) */
	char *in_buf;
	size_t in_len, in_cap;

	struct husk_logw log;
	struct client *clients;
	struct waiter *waiters;
	pid_t pid;
	enum phase phase;
	struct execs *execs;   /* exec.c */
	struct paused *paused; /* pause.c: set while paused */
	int64_t drain_deadline_ms;
	struct restart *restart;
	struct health *health;
	struct watch oom;   /* cgroup.c: memory.events of the container's cgroup */
	uint64_t oom_kills; /* its oom_kill count, as far as reported */
};

/* io.c */
void io_on_output(struct monitor *m, struct watch *w, uint32_t events);
void io_on_stdin_writable(struct monitor *m, struct watch *w, uint32_t events);
int io_attach(struct monitor *m, int fd, bool in, bool out, bool err, bool logs);
void io_close_stdin(struct monitor *m);
void io_close_clients(struct monitor *m);
bool io_output_open(const struct monitor *m);
bool io_clients_flushed(const struct monitor *m);
/* A client's output buffer, for exec.c's clients too: queue (false when over the bound), flush
 * (false when the client is gone, or done closing). */
bool client_queue(struct client *c, const void *data, size_t n);
bool client_flush(struct monitor *m, struct client *c);
/* Reads what a client sent, on its events: the bytes read (into buf), 0 for nothing, or
 * CLIENT_INPUT_END (it half-closed) or CLIENT_GONE; either way its input has ended. */
enum { CLIENT_INPUT_END = -1, CLIENT_GONE = -2 };
int client_read(struct client *c, uint32_t events, char *buf, size_t cap);

/* exec.c */
void exec_init(struct monitor *m);
/* {"op":"exec"}: true when ctl is kept (a detached start, answered once the process runs). */
bool exec_start(struct monitor *m, int ctl, const json_t *req, int conn);
void exec_resize(struct monitor *m, int ctl, const json_t *req);
/* A child that is not the container's process exited. */
void exec_reap(struct monitor *m, pid_t pid, int status);
/* Exec streams not finished yet. */
bool exec_busy(const struct monitor *m);
/* After each batch of events: frees what was let go of during it. */
void exec_collect(struct monitor *m);
void exec_close_all(struct monitor *m);
/* What any process started in the container (an exec, a healthcheck probe) shares: the
 * seccomp filters, compiled once, and a pidfd of the container's pid 1. */
const struct husk_exec_filters *exec_filters(struct monitor *m);
int exec_container_pidfd(struct monitor *m);

/* control.c */
int control_listen(struct monitor *m);
void control_on_accept(struct monitor *m, struct watch *w, uint32_t events);
void control_answer_waiters(struct monitor *m);

/* restart.c */
void restart_init(struct monitor *m);
/* After an exit has been recorded: true when a restart is scheduled (phase BACKOFF). */
bool restart_after_exit(struct monitor *m);
/* docker update: the policy for the next exits. */
void restart_set_policy(struct monitor *m, const json_t *policy);
/* The user stopped (docker stop) or signalled (docker kill) the container; in the back-off,
 * a stop ends the container at once. Returns true when the monitor is done. */
bool restart_user_stop(struct monitor *m, int sig, bool stop);
/* Asked to go (SIGTERM from the service manager, or shutdown): no restart follows; the user's
 * wish is not recorded, so the container is started again at the next boot. */
bool restart_shutdown(struct monitor *m);

/* health.c */
void health_init(struct monitor *m);
/* At each start of the container: State.Health "starting", the first probe scheduled. */
void health_start(struct monitor *m);
/* At its exit: no more probes, State.Health "unhealthy". */
void health_stop(struct monitor *m);
/* A child of ours exited: true when it was the running probe. */
bool health_on_child_exit(struct monitor *m, pid_t pid, int status);
/* pause.c. A signal sent to a paused container is delivered by unpausing it, as Docker does. */
int monitor_pause(struct monitor *m, struct husk_error *err);
int monitor_unpause(struct monitor *m, struct husk_error *err);
/* {"op":"pause"} and {"op":"unpause"}. */
void pause_control(struct monitor *m, int fd, bool pause);

/* cgroup.c. Makes the container's cgroup (driver none: none; why says why, for an error when
 * limits are asked for) and applies the limits of its HostConfig; sets spec.cgroup. */
int cgroup_setup(struct monitor *m, enum husk_cgroup_driver driver, const char *dir,
		 const char *why, struct husk_error *err);
/* {"op":"update","resources":{...}}: the limits written into the running container's cgroup. */
int cgroup_update(struct monitor *m, const json_t *resources, struct husk_error *err);
/* At each start: OOM kills counted from here, State.OOMKilled false. */
void cgroup_run_started(struct monitor *m);
/* An OOM kill not reported yet: the "oom" event, State.OOMKilled (also checked at the exit). */
void cgroup_check_oom(struct monitor *m);
/* At the end: the cgroup removed (its processes are gone with the container). */
void cgroup_cleanup(struct monitor *m);

/* main.c */
void watch_add(struct monitor *m, struct watch *w, uint32_t events);
void watch_mod(struct monitor *m, struct watch *w, uint32_t events);
void watch_del(struct monitor *m, struct watch *w);
int monitor_kill(struct monitor *m, int sig, struct husk_error *err);
int monitor_stop(struct monitor *m, int sig, int timeout_s);
int monitor_stop_signal(const struct monitor *m);
void monitor_save_state(struct monitor *m, bool persist);
void monitor_emit(struct monitor *m, const char *action, const char *key, const char *value);
/* One run of the container: its stdio, the process, the watches. */
int monitor_run(struct monitor *m, struct husk_error *err);
/* The run started: state "running", the start event, healthchecks. */
void monitor_running(struct monitor *m);
/* No run follows: state "exited", waiters answered, clients closed, auto-remove; phase DONE. */
void monitor_finish(struct monitor *m);
