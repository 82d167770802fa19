/* docker pause: the container's cgroup v2 freezer where it has a delegated cgroup of its own
 * (not ours: freezing it must not freeze the monitor that is to thaw it). Otherwise, as on a
 * host without delegation, SIGSTOP to every process of the container's pid namespace, which
 * the container can observe (a parent may see a child stop) but cannot escape or ignore. The
 * monitor owns the state: it outlives the API, and it writes "paused" into state.json. */
#include "monitor.h"

#include "core/cgroup.h"
#include "core/json.h"
#include "core/log.h"
#include "core/monitor_proto.h"
#include "core/procfs.h"

#include <signal.h>

/* How long a freeze may take before it is undone and reported. */
#define FREEZE_TIMEOUT_MS 5000
/* A process on its way out (linux/sched.h): it runs no code of its own again, and never stops. */
#define PF_EXITING 0x4

struct paused {
	char *cgroup; /* frozen through this cgroup, or NULL: stopped with signals */
	pid_t *pids;  /* the processes we stopped, oldest first */
	size_t n;
};

static bool contains(const struct paused *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->pids[i] == pid)
			return true;
	return false;
}

/* Continues the processes we stopped, youngest first: a parent that runs again only finds its
 * children running (a shell would otherwise report a stopped job). */
static void cont_all(struct paused *p)
{
	for (size_t i = p->n; i-- > 0;)
		kill(p->pids[i], SIGCONT);
	p->n = 0;
}

static bool all_stopped(const struct paused *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct husk_proc_stat st;
		if (husk_proc_stat(p->pids[i], &st) == 0 && st.state != 'T' && st.state != 't' &&
		    st.state != 'Z' && st.state != 'X')
			return false;
	}
	return true;
}

/* Stops every process of the pid namespace, oldest first, again until a pass finds none that
 * is not stopped: a process may fork between the listing and its stop. */
static int stop_all(struct monitor *m, struct paused *p, struct husk_error *err)
{
	int64_t deadline = mono_ms() + FREEZE_TIMEOUT_MS;
	for (;;) {
		/* The container ends: its pid 1 waits, exiting, until every process of its
		 * namespace is reaped, exec processes too, which are ours to reap: it would not
		 * stop while we wait here. */
		struct husk_proc_stat init;
		if (husk_proc_stat(m->pid, &init) < 0 || init.state == 'Z' ||
		    (init.flags & PF_EXITING))
			return husk_error_set(err, -EBUSY, "Container %s is not running", m->id);
		_cleanup_free_ pid_t *pids = NULL;
		size_t n;
		int r = husk_proc_ns_pids(m->pid, &pids, &n);
		if (r < 0)
			return husk_error_sys(err, r, "cannot list the container's processes");
		bool more = false;
		for (size_t i = 0; i < n; i++) {
			if (contains(p, pids[i]))
				continue;
			if (kill(pids[i], SIGSTOP) < 0)
				continue;
			p->pids = xrealloc(p->pids, (p->n + 1) * sizeof *p->pids);
			p->pids[p->n++] = pids[i];
			more = true;
		}
		if (!more && all_stopped(p))
			return 0;
		if (mono_ms() > deadline)
			return husk_error_set(err, -ETIMEDOUT,
					      "the container's processes did not stop in time");
		if (!more)
			usleep(1000);
	}
}

static int freeze(struct monitor *m, struct paused *p, struct husk_error *err)
{
	bool mine = true;
	p->cgroup = husk_cgroup_of_container(m->pid, getpid(), &mine);
	if (p->cgroup && !mine) {
		int r = husk_cgroup_freeze(p->cgroup, true, FREEZE_TIMEOUT_MS, err);
		if (r < 0)
			husk_cgroup_freeze(p->cgroup, false, FREEZE_TIMEOUT_MS, NULL);
		return r;
	}
	free(p->cgroup);
	p->cgroup = NULL;
	int r = stop_all(m, p, err);
	if (r < 0)
		cont_all(p);
	return r;
}

static void thaw(struct paused *p)
{
	if (p->cgroup)
		husk_cgroup_freeze(p->cgroup, false, FREEZE_TIMEOUT_MS, NULL);
	else
		cont_all(p);
	free(p->cgroup);
	free(p->pids);
	memset(p, 0, sizeof *p);
}

static void set_status(struct monitor *m, enum husk_status s)
{
	m->state.status = s;
	int r = husk_state_save(&m->store, m->id, &m->state, false);
	if (r < 0)
		husk_log(LOG_ERR, "cannot record the state of %.12s: %s", m->id, strerror(-r));
}

int monitor_pause(struct monitor *m, struct husk_error *err)
{
	if (m->phase != PHASE_RUNNING || m->pid <= 0)
		return husk_error_set(err, -EBUSY, "Container %s is not running", m->id);
	if (m->paused)
		return husk_error_set(err, -EBUSY, "Container %s is already paused", m->id);
	struct paused *p = xcalloc(1, sizeof *p);
	int r = freeze(m, p, err);
	if (r < 0) {
		free(p->cgroup);
		free(p->pids);
		free(p);
		return r;
	}
	m->paused = p;
	set_status(m, HUSK_PAUSED);
	return 0;
}

int monitor_unpause(struct monitor *m, struct husk_error *err)
{
	if (!m->paused)
		return husk_error_set(err, -EBUSY, "Container %s is not paused", m->id);
	thaw(m->paused);
	free(m->paused);
	m->paused = NULL;
	if (m->phase == PHASE_RUNNING)
		set_status(m, HUSK_RUNNING);
	return 0;
}

void pause_control(struct monitor *m, int fd, bool pause)
{
	struct husk_error err = {0};
	int r = pause ? monitor_pause(m, &err) : monitor_unpause(m, &err);
	json_t *ans = r < 0 ? husk_mon_fail(&err) : husk_mon_ok();
	husk_mon_send(fd, ans, -1);
	json_decref(ans);
}
