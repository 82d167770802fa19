/* husk-api's process configuration and the pieces handlers share. */
#pragma once

#include "core/store.h"
#include "core/userns.h"
#include "core/log.h"

#include <stdatomic.h>
#include <sys/types.h>

#define HUSK_API_VERSION "1.44"
#define HUSK_MIN_API_VERSION "1.24"

struct api {
	struct husk_store store;
	struct husk_idmap idmap;
	char *monitor_path;	 /* the husk-monitor binary */
	char *helper_path;	 /* husk-helper, which does husk-api's work on archives */
	unsigned idle_timeout;	 /* seconds; 0 = never exit */
	uid_t owner;
	bool activated;		 /* started with LISTEN_FDS */
	bool systemd;		 /* started by systemd (INVOCATION_ID): monitors get scopes */
	char *cgroup_root;	 /* --cgroup-root / HUSK_CGROUP_ROOT, or NULL */

	/* Idle accounting: open connections and the time the last one closed. */
	atomic_int connections;
	atomic_llong last_activity_ms;
};

struct husk_delegation;
/* What cgroups containers get here (core/delegation.h), detected now. */
void api_delegation(const struct api *api, struct husk_delegation *d);
