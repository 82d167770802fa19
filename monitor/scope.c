/* Under systemd, the monitor (and so its container) moves into a transient scope of its own
 * before the container starts: stopping husk.service then kills only husk-api. */
#include "monitor.h"

#include "core/fs.h"
#include "core/log.h"

#include <systemd/sd-bus.h>

static bool in_unit(const char *unit)
{
	_cleanup_free_ char *cg = NULL;
	if (read_file("/proc/self/cgroup", &cg, NULL, 65536) < 0)
		return false;
	return strstr(cg, unit) != NULL;
}

int scope_enter(const char *id, struct husk_error *err)
{
	char unit[64];
	snprintf(unit, sizeof unit, "husk-%.12s.scope", id);
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error berr = SD_BUS_ERROR_NULL;
	int r = sd_bus_open_user(&bus);
	if (r < 0) {
		husk_error_sys(err, r, "cannot reach the systemd user manager");
		goto out;
	}
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s",
					  "husk container monitor", "PIDs", "au", 1,
					  (uint32_t)getpid(), "Delegate", "b", 1, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		husk_error_sys(err, r, "cannot build the StartTransientUnit call");
		goto out;
	}
	r = sd_bus_call(bus, m, 5 * 1000000, &berr, &reply);
	if (r < 0) {
		husk_error_set(err, -EIO, "StartTransientUnit %s: %s", unit,
			       berr.message ? berr.message : strerror(-r));
		goto out;
	}
	/* The job moves us; wait for it so the container starts inside the scope. */
	for (int i = 0; i < 200 && !in_unit(unit); i++)
		usleep(5000);
	if (!in_unit(unit))
		r = husk_error_set(err, -ETIMEDOUT, "systemd did not move the monitor into %s",
				   unit);
out:
	sd_bus_error_free(&berr);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}
