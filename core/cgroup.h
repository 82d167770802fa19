/* A container's cgroup v2, where one is delegated to us: its counters for stats, and its
 * freezer for pause. Where there is none (no cgroup v2 mounted, the root cgroup, or one we do
 * not own: e.g. a hybrid layout without delegation), callers use /proc (core/procfs.h) for
 * stats and signals for pause. */
#pragma once

#include "error.h"

#include <sys/types.h>

/* The cgroup v2 directory of pid, if it is delegated to us (owned by our uid) and not the
 * root of the hierarchy; NULL otherwise. */
char *husk_cgroup_dir(pid_t pid);
/* The cgroup of the container whose pid 1 is init: its cgroup v2 directory when it is delegated
 * to us and holds nothing but processes of init's pid namespace and, maybe, its monitor
 * (*monitor_in says whether). A cgroup that holds more (a user session delegated whole) is not
 * the container's: NULL. */
char *husk_cgroup_of_container(pid_t init, pid_t monitor, bool *monitor_in);
/* The directory from the text of /proc/<pid>/cgroup and /proc/self/mountinfo (unit tests). */
char *husk_cgroup_path_from(const char *proc_cgroup, const char *mountinfo);

/* One number from a file of dir: the whole file ("max" reads as UINT64_MAX), or, with key,
 * the value of its "key value" line (cpu.stat, memory.stat). -ENOENT when not there. */
int husk_cgroup_read(const char *dir, const char *file, const char *key, uint64_t *value);

/* Freezes (or thaws) the cgroup and waits, up to timeout_ms, until cgroup.events says so. */
int husk_cgroup_freeze(const char *dir, bool frozen, int timeout_ms, struct husk_error *err);
