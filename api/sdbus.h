/* libsystemd's sd-bus, loaded the first time husk-api needs the user's systemd (to put a
 * monitor into a scope), not at every activation: most activations never talk to systemd,
 * and the library and what it pulls in cost each of them its load time and about a
 * megabyte of memory. */
#pragma once

#include "core/error.h"

#include <systemd/sd-bus.h>

struct sdbus {
	int (*open_user)(sd_bus **bus);
	int (*bus_new)(sd_bus **bus);
	int (*set_address)(sd_bus *bus, const char *address);
	int (*start)(sd_bus *bus);
	sd_bus *(*flush_close_unref)(sd_bus *bus);
	int (*message_new_method_call)(sd_bus *bus, sd_bus_message **m, const char *destination,
				       const char *path, const char *interface,
				       const char *member);
	int (*message_append)(sd_bus_message *m, const char *types, ...);
	int (*message_open_container)(sd_bus_message *m, char type, const char *contents);
	int (*message_close_container)(sd_bus_message *m);
	sd_bus_message *(*message_unref)(sd_bus_message *m);
	int (*call)(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
		    sd_bus_message **reply);
	void (*error_free)(sd_bus_error *e);
};

/* The functions, loaded once (thread-safe); NULL with err set when libsystemd cannot be
 * loaded. */
const struct sdbus *sdbus_get(struct husk_error *err);
