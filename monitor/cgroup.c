/* The container's own cgroup (core/delegation.h): made before its first run, limited as its
 * HostConfig says (and again on docker update), watched for OOM kills, removed at the end. The
 * container's processes are made inside it (core/runtime.c), exec'd ones too; pause freezes
 * it, stats read it (they find it through /proc/<pid>/cgroup). */
#include "monitor.h"

#include "core/cgroup.h"
#include "core/delegation.h"
#include "core/json.h"
#include "core/log.h"
#include "core/monitor_proto.h"
#include "core/resources.h"

#include <sys/inotify.h>

/* How long removal waits for the container's last processes to be reaped. */
#define REMOVE_TIMEOUT_MS 2000

static uint64_t oom_kills(const char *dir)
{
	uint64_t v = 0;
	husk_cgroup_read(dir, "memory.events", "oom_kill", &v);
	return v;
}

/* memory.events changed: an OOM kill in the container is Docker's "oom" event, and marks the
 * run as OOM-killed (State.OOMKilled, until the next start). */
void cgroup_check_oom(struct monitor *m)
{
	if (!m->spec.cgroup)
		return;
	uint64_t n = oom_kills(m->spec.cgroup);
	if (n <= m->oom_kills)
		return;
	m->oom_kills = n;
	m->state.oom_killed = true;
	monitor_save_state(m, false);
	monitor_emit(m, "oom", NULL, NULL);
}

static void on_memory_events(struct monitor *m, struct watch *w, uint32_t events)
{
	char buf[4096];
	while (read(w->fd, buf, sizeof buf) > 0)
		;
	cgroup_check_oom(m);
}

static void watch_oom(struct monitor *m)
{
	_cleanup_free_ char *events = xasprintf("%s/memory.events", m->spec.cgroup);
	if (access(events, F_OK) < 0)
		return; /* no memory controller: no OOM kills of its own */
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0 || inotify_add_watch(fd, events, IN_MODIFY) < 0) {
		husk_log(LOG_WARNING, "cannot watch %s: %m", events);
		if (fd >= 0)
			close(fd);
		return;
	}
	m->oom.fd = fd;
	m->oom.fn = on_memory_events;
	watch_add(m, &m->oom, EPOLLIN);
}

void cgroup_run_started(struct monitor *m)
{
	m->state.oom_killed = false;
	if (m->spec.cgroup)
		m->oom_kills = oom_kills(m->spec.cgroup);
}

static int parse_limits(const json_t *hc, struct husk_resources *res, struct husk_error *err)
{
	int r = husk_resources_parse(hc, res, err);
	if (r < 0)
		husk_error_prefix(err, "invalid resources in the container's configuration");
	return r;
}

/* The controllers the limits need must be in the container's cgroup. */
static int check_controllers(const char *dir, unsigned need, const char *where,
			     struct husk_error *err)
{
	unsigned have = husk_cgroup_controllers(dir, "cgroup.controllers");
	if (!(need & ~have))
		return 0;
	char missing[64], there[64];
	husk_cgroup_format_controllers(need & ~have, missing, sizeof missing);
	husk_cgroup_format_controllers(have, there, sizeof there);
	return husk_error_set(err, -EINVAL,
			      "cannot apply the container's resource limits: %s lacks the %s "
			      "controller (it has: %s)%s",
			      dir, missing, *there ? there : "none", where);
}

int cgroup_setup(struct monitor *m, enum husk_cgroup_driver driver, const char *dir,
		 const char *why, struct husk_error *err)
{
	struct husk_resources res;
	int r = parse_limits(jobj(m->doc, "HostConfig"), &res, err);
	if (r < 0)
		return r;
	unsigned need = husk_resources_controllers(&res);
	_cleanup_free_ char *ctr = NULL;
	if (driver == HUSK_CGROUP_NONE) {
		husk_resources_clear(&res);
		/* Without limits the container runs in our cgroup, as it always could. */
		return need
			   ? husk_error_set(err, -EINVAL,
					    "cannot apply the container's resource limits: %s", why)
			   : 0;
	}
	r = husk_cgroup_make_container(driver, dir, m->id, HUSK_CG_ALL, &ctr, err);
	if (r < 0) {
		husk_resources_clear(&res);
		if (need)
			return r;
		husk_log(LOG_WARNING, "container %.12s gets no cgroup of its own: %s", m->id,
			 err->message);
		return 0;
	}
	r = check_controllers(
	    ctr, need,
	    driver == HUSK_CGROUP_SYSTEMD ? " (what systemd delegated to the scope)" : "", err);
	if (r == 0)
		r = husk_resources_apply(ctr, &res, err);
	husk_resources_clear(&res);
	if (r < 0) {
		husk_cgroup_remove(ctr, 0);
		return r;
	}
	snprintf(m->state.cgroup, sizeof m->state.cgroup, "%s", ctr);
	m->spec.cgroup = TAKE_PTR(ctr);
	watch_oom(m);
	return 0;
}

int cgroup_update(struct monitor *m, const json_t *resources, struct husk_error *err)
{
	if (!m->spec.cgroup)
		return husk_error_set(err, -EOPNOTSUPP,
				      "container %s has no cgroup of its own (it was started where "
				      "none was delegated): nothing was changed; set its limits "
				      "while it is stopped, for its next start",
				      m->id);
	struct husk_resources res;
	int r = parse_limits(resources, &res, err);
	if (r == 0)
		r = check_controllers(m->spec.cgroup, husk_resources_controllers(&res), "", err);
	if (r == 0)
		r = husk_resources_apply(m->spec.cgroup, &res, err);
	husk_resources_clear(&res);
	return r;
}

void cgroup_cleanup(struct monitor *m)
{
	if (m->oom.fd >= 0) {
		watch_del(m, &m->oom);
		close(m->oom.fd);
		m->oom.fd = -1;
	}
	if (!m->spec.cgroup)
		return;
	int r = husk_cgroup_remove(m->spec.cgroup, REMOVE_TIMEOUT_MS);
	if (r < 0 && r != -ENOENT)
		husk_log(LOG_WARNING, "cannot remove the cgroup %s: %s", m->spec.cgroup,
			 strerror(-r));
}
