/* Under systemd, each monitor (and so its container) goes into a transient scope of its own
 * before the container starts: stopping husk.service then kills only husk-api. husk-api
 * makes the scope (it has sd-bus; the monitor stays small) while the monitor waits in its
 * start handshake. */
#include "scope.h"
#include "sdbus.h"

#include "core/fs.h"
#include "core/log.h"

static bool in_unit(pid_t pid, const char *unit)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *cg = NULL;
	if (read_file(path, &cg, NULL, 65536) < 0)
		return false;
	return strstr(cg, unit) != NULL;
}

/* The user manager: through the session bus where there is one, else its private socket. */
static int open_manager(const struct sdbus *sd, sd_bus **bus)
{
	int r = sd->open_user(bus);
	if (r >= 0)
		return r;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (str_empty(rt))
		return r;
	_cleanup_free_ char *addr = xasprintf("unix:path=%s/systemd/private", rt);
	r = sd->bus_new(bus);
	if (r < 0)
		return r;
	if ((r = sd->set_address(*bus, addr)) < 0 || (r = sd->start(*bus)) < 0) {
		*bus = sd->flush_close_unref(*bus);
		return r;
	}
	return 0;
}

int scope_create(const char *id, pid_t pid, struct husk_error *err)
{
	char unit[64];
	snprintf(unit, sizeof unit, "husk-%.12s.scope", id);
	const struct sdbus *sd = sdbus_get(err);
	if (!sd)
		return -ELIBACC;
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error berr = SD_BUS_ERROR_NULL;
	int r = open_manager(sd, &bus);
	if (r < 0) {
		husk_error_sys(err, r, "cannot reach the systemd user manager");
		goto out;
	}
	r = sd->message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd->message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd->message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd->message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s",
					  "husk container monitor", "PIDs", "au", 1, (uint32_t)pid,
					  "Delegate", "b", 1, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0)
		r = sd->message_close_container(m);
	if (r >= 0)
		r = sd->message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		husk_error_sys(err, r, "cannot build the StartTransientUnit call");
		goto out;
	}
	r = sd->call(bus, m, 5 * 1000000, &berr, &reply);
	if (r < 0) {
		husk_error_set(err, -EIO, "StartTransientUnit %s: %s", unit,
			       berr.message ? berr.message : strerror(-r));
		goto out;
	}
	/* The job moves the process; wait for it, so the container starts inside the scope. */
	for (int i = 0; i < 400 && !in_unit(pid, unit); i++)
		usleep(5000);
	if (!in_unit(pid, unit))
		r = husk_error_set(err, -ETIMEDOUT, "systemd did not move pid %d into %s",
				   (int)pid, unit);
out:
	sd->error_free(&berr);
	sd->message_unref(m);
	sd->message_unref(reply);
	sd->flush_close_unref(bus);
	return r < 0 ? r : 0;
}
