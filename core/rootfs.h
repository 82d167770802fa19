/* Reaching a container's root file system from outside it, as docker cp, export and diff do.
 *
 * A running container is entered: its user namespace, then its mount namespace (setns), then
 * its root, so what it sees is what we see: its own mounts, its volumes. A stopped one
 * (created, exited) gets its overlay mounted again, by us, in a fresh user and mount namespace
 * with the user's id mapping, pivoted into: writes land in its upper directory and stay. The
 * container's start lock (run/containers/<id>/start.lock, see api/lifecycle.c) is held
 * meanwhile, so a start never mounts the same upper directory at the same time. */
#pragma once

#include "container.h"
#include "runtime.h"

/* Joins the user and mount namespaces of pid (which must have started at start_ticks, against
 * pid reuse) and makes its root our root and cwd. The caller must be single-threaded. */
int husk_rootfs_join(pid_t pid, uint64_t start_ticks, struct husk_error *err);

/* In a fresh mount namespace where we are root of the container's user namespace mapping:
 * mounts the overlay of spec (husk_mounts_rootfs) and makes it the root. */
int husk_rootfs_mount(const struct husk_spec *spec, struct husk_error *err);

struct husk_rootfs_ctx {
	const struct husk_container *container;
	const struct husk_spec *spec; /* husk_spec_from_config of its config */
};

/* Runs fn(ctx, arg) with the container's root file system as "/" (see above), in a child
 * process: the caller stays where it is. fn's error comes back in err. -EBUSY while the
 * container is restarting. */
int husk_rootfs_run(const struct husk_store *s, const struct husk_idmap *m,
		    const struct husk_container *c,
		    int (*fn)(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err),
		    void *arg, struct husk_error *err);
