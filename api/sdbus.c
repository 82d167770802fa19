/* sd-bus through dlopen: see sdbus.h. */
#include "sdbus.h"

#include <dlfcn.h>
#include <pthread.h>

#define LIBSYSTEMD "libsystemd.so.0"

static struct sdbus fns;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_error, sizeof load_error, "%s", dlerror());
		return;
	}
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
#define SYM(field, name) {name, offsetof(struct sdbus, field)}
		SYM(open_user, "sd_bus_open_user"),
		SYM(bus_new, "sd_bus_new"),
		SYM(set_address, "sd_bus_set_address"),
		SYM(start, "sd_bus_start"),
		SYM(flush_close_unref, "sd_bus_flush_close_unref"),
		SYM(message_new_method_call, "sd_bus_message_new_method_call"),
		SYM(message_append, "sd_bus_message_append"),
		SYM(message_open_container, "sd_bus_message_open_container"),
		SYM(message_close_container, "sd_bus_message_close_container"),
		SYM(message_unref, "sd_bus_message_unref"),
		SYM(call, "sd_bus_call"),
		SYM(error_free, "sd_bus_error_free"),
#undef SYM
	};
	struct sdbus loaded;
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *f = dlsym(h, syms[i].name);
		if (!f) {
			snprintf(load_error, sizeof load_error, "%s has no %s", LIBSYSTEMD,
				 syms[i].name);
			dlclose(h);
			return;
		}
		memcpy((char *)&loaded + syms[i].offset, &f, sizeof f);
	}
	fns = loaded; /* kept loaded for the life of the process */
}

const struct sdbus *sdbus_get(struct husk_error *err)
{
	pthread_once(&once, load);
	if (!fns.call) {
		husk_error_set(err, -ELIBACC, "cannot load %s for sd-bus: %s", LIBSYSTEMD,
			       load_error);
		return NULL;
	}
	return &fns;
}
