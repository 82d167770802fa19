/* The container's mount tree (called in the container's child, in its namespaces). */
#pragma once

#include "runtime.h"

/* Mounts the root file system, /proc, /dev, /sys, the user's mounts and the /etc files, and
 * masks Docker's paths. have_tty_gid: gid 5 is mapped (devpts gid=5). */
int husk_mounts_setup(const struct husk_spec *spec, bool have_tty_gid, struct husk_error *err);
/* Makes the new root the process's root (and read-only when asked). */
int husk_mounts_pivot(const struct husk_spec *spec, struct husk_error *err);
