/* The restart policy, kept by the monitor so that it works while no husk-api runs: after each
 * exit Docker's decision (core/restart_policy.c), the back-off on a timer, then a fresh run of
 * the same container (same upper dir, same log) under this monitor. A container the user
 * stopped or killed is not restarted (moby's HasBeenManuallyStopped and ExitOnNext). */
#include "monitor.h"

#include "core/json.h"
#include "core/log.h"
#include "core/restart_policy.h"

#include <signal.h>
#include <sys/timerfd.h>

struct restart {
	struct husk_restart_policy policy;
	int64_t delay_ms; /* the back-off, carried from exit to exit */
	bool canceled;	  /* no restart after the next exit, whatever the policy */
	struct watch timer;
};

static void on_timer(struct monitor *m, struct watch *w, uint32_t events)
{
	uint64_t n;
	(void)!read(w->fd, &n, sizeof n);
	if (m->phase != PHASE_BACKOFF)
		return;
	struct husk_error err = {0};
	if (monitor_run(m, &err) < 0) {
		/* As Docker: a restart that cannot start leaves the container stopped with the
		 * last exit code and the error. */
		husk_log(LOG_ERR, "container %.12s: restart failed: %s", m->id, err.message);
		snprintf(m->state.error, sizeof m->state.error, "%s", err.message);
		monitor_finish(m);
		return;
	}
	husk_log(LOG_DEBUG, "container %.12s restarted (%d)", m->id, m->state.restart_count);
	monitor_running(m);
}

void restart_init(struct monitor *m)
{
	struct restart *r = xcalloc(1, sizeof *r);
	husk_restart_policy_parse(jobj(jobj(m->doc, "HostConfig"), "RestartPolicy"), &r->policy);
	r->timer.fd = -1;
	r->timer.fn = on_timer;
	m->restart = r;
}

void restart_set_policy(struct monitor *m, const json_t *policy)
{
	husk_restart_policy_parse(policy, &m->restart->policy);
}

static int arm(struct monitor *m, int64_t ms)
{
	struct restart *r = m->restart;
	if (r->timer.fd < 0) {
		r->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (r->timer.fd < 0)
			return -errno;
		watch_add(m, &r->timer, EPOLLIN);
	}
	struct itimerspec its = {
	    .it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 + (ms ? 0 : 1)}};
	return timerfd_settime(r->timer.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

bool restart_after_exit(struct monitor *m)
{
	struct restart *r = m->restart;
	int64_t ran_ms = (m->state.finished_ns - m->state.started_ns) / 1000000;
	if (r->canceled ||
	    !husk_restart_next(&r->policy, m->state.restart_count, m->state.exit_code,
			       m->state.manually_stopped, ran_ms, &r->delay_ms))
		return false;
	int e = arm(m, r->delay_ms);
	if (e < 0) {
		husk_log(LOG_ERR, "container %.12s: cannot schedule its restart: %s", m->id,
			 strerror(-e));
		return false;
	}
	/* Docker counts the restart when it decides it, and reports "restarting" (still
	 * "running" to stop, kill and rm) for the back-off. Attached streams end with the run. */
	m->state.restart_count++;
	m->state.status = HUSK_RESTARTING;
	monitor_save_state(m, true);
	io_close_clients(m);
	m->phase = PHASE_BACKOFF;
	husk_log(LOG_DEBUG, "container %.12s exited with %d: restart in %lld ms", m->id,
		 m->state.exit_code, (long long)r->delay_ms);
	return true;
}

/* In the back-off nothing runs: ending the container is recording that it stopped. */
static bool end_backoff(struct monitor *m)
{
	if (m->phase != PHASE_BACKOFF)
		return false;
	struct itimerspec off = {0};
	timerfd_settime(m->restart->timer.fd, 0, &off, NULL);
	monitor_finish(m);
	return true;
}

bool restart_user_stop(struct monitor *m, int sig, bool stop)
{
	/* moby: any stop or kill by the user is remembered (unless-stopped honours it), and a
	 * stop, SIGKILL, or the container's stop signal (any signal when it has none) also
	 * cancels the restart the next exit would bring. */
	const char *own = jstr(jobj(m->doc, "Config"), "StopSignal");
	m->state.manually_stopped = true;
	if (stop || sig == SIGKILL || str_empty(own) || sig == monitor_stop_signal(m)) {
		m->restart->canceled = true;
		return end_backoff(m);
	}
	return false;
}

bool restart_shutdown(struct monitor *m)
{
	m->restart->canceled = true;
	return end_backoff(m);
}
