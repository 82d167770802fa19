/* Where a container gets a cgroup of its own, and what it can limit there.
 *
 * cgroup v2 only, and only where it is delegated to us:
 *   systemd   husk-api runs under the user's systemd: each monitor gets a transient scope with
 *             Delegate=yes (api/scope.c). cgroup v2 allows processes only in leaves where
 *             controllers are enabled, so the monitor moves itself into <scope>/monitor, and
 *             the container goes into <scope>/container. The scope gets what the user manager
 *             has: the controllers of the topmost cgroup above us that is ours
 *             (user@UID.service).
 *   cgroupfs  a cgroup v2 directory of ours given by configuration (husk-api --cgroup-root,
 *             HUSK_CGROUP_ROOT): the container's cgroup is <root>/husk-<id12>. The monitor's
 *             cgroup and the root need a common ancestor we may write to (cgroup.procs): the
 *             kernel's rule for moving a process.
 *   none      otherwise: the container shares its monitor's cgroup; limits are refused.
 * A hybrid host (cgroup v2 at /sys/fs/cgroup/unified, every controller bound to v1) delegates
 * no controllers: its cgroup.controllers may even list one v1 left unmounted (hugetlb), which
 * is no delegation of the ones limits need. */
#pragma once

#include "error.h"

enum husk_cgroup_driver {
	HUSK_CGROUP_NONE,
	HUSK_CGROUP_SYSTEMD,
	HUSK_CGROUP_CGROUPFS,
};

struct husk_delegation {
	enum husk_cgroup_driver driver;
	char *dir;	      /* systemd: the user manager's cgroup; cgroupfs: the root */
	unsigned controllers; /* HUSK_CG_* a container's cgroup can have */
	bool swap;	      /* memory.swap.max: swap can be limited */
	char *cpus, *mems;    /* what cpuset may hand out ("0-3"), NULL: unknown */
	char why[512];	      /* driver none: why */
};

/* What the cgroups husk gives containers can do: root is the configured cgroup root (NULL for
 * none), systemd whether monitors get scopes. Never fails: driver none says why. */
void husk_delegation_detect(const char *root, bool systemd, struct husk_delegation *d);
void husk_delegation_clear(struct husk_delegation *d);
/* Docker's CgroupDriver names: "systemd", "cgroupfs", "none". */
const char *husk_cgroup_driver_name(enum husk_cgroup_driver driver);
/* Why controller ctrl (one HUSK_CG_* bit) is not there for containers: a clause for an error
 * ("cannot set a memory limit: <why>") or docker info. */
void husk_delegation_why_not(const struct husk_delegation *d, unsigned ctrl, char *buf, size_t n);

/* The monitor's part: makes the container's cgroup and returns its directory in *out.
 *   systemd   dir is the monitor's own scope: the monitor moves into <dir>/monitor, the
 *             container's cgroup is <dir>/container
 *   cgroupfs  dir is the root: <dir>/husk-<id12>
 * The controllers of want that are there are enabled for it. An existing one (a restart by a
 * new monitor) is used again. */
int husk_cgroup_make_container(enum husk_cgroup_driver driver, const char *dir, const char *id,
			       unsigned want, char **out, struct husk_error *err);
