/* The container's mount tree (called in the container's child, in its namespaces). */
#pragma once

#include "runtime.h"

/* Mounts the root file system, /proc, /dev, /sys, the user's mounts and the /etc files, and
 * masks Docker's paths. have_tty_gid: gid 5 is mapped (devpts gid=5). */
int husk_mounts_setup(const struct husk_spec *spec, bool have_tty_gid, struct husk_error *err);
/* The overlay of the root file system alone, mounted on spec->rootfs (the lower dirs, upper
 * and work dirs of the spec; see husk_overlay_options). Also for reaching a stopped
 * container's files. */
int husk_mounts_rootfs(const struct husk_spec *spec, struct husk_error *err);
/* overlay's mount options: "lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W,userxattr", the
 * lower dirs as the spec has them (relative to spec->layers_dir); NULL (-EINVAL, -E2BIG) when
 * there are none or the options do not fit in a page. */
char *husk_overlay_options(const struct husk_spec *spec, struct husk_error *err);
/* Makes the new root the process's root (and read-only when asked). */
int husk_mounts_pivot(const struct husk_spec *spec, struct husk_error *err);
