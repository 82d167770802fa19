/* cgroup v2 files: a container's counters for stats, its freezer for pause, and the small
 * operations its monitor makes its cgroup with (core/delegation.h says where). Where a container
 * has no cgroup of its own (no cgroup v2 mounted, the root cgroup, or one we do not own: e.g. a
 * hybrid layout without delegation), callers use /proc (core/procfs.h) for stats and signals
 * for pause. */
#pragma once

#include "error.h"

#include <sys/types.h>

/* The controllers husk uses, as bits. */
enum {
	HUSK_CG_CPU = 1 << 0,
	HUSK_CG_CPUSET = 1 << 1,
	HUSK_CG_IO = 1 << 2,
	HUSK_CG_MEMORY = 1 << 3,
	HUSK_CG_PIDS = 1 << 4,
	HUSK_CG_ALL = (1 << 5) - 1,
};

/* The cgroup v2 directory of pid as we see it, whoever owns it; NULL where there is none (no
 * cgroup v2 mounted, or pid is in the root cgroup). */
char *husk_cgroup_path(pid_t pid);
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

/* "cpu io memory": the bits of the names husk uses (others are ignored), and back. */
unsigned husk_cgroup_parse_controllers(const char *text);
const char *husk_cgroup_format_controllers(unsigned mask, char *buf, size_t n);
/* The controllers a file of dir names (cgroup.controllers: what dir may use;
 * cgroup.subtree_control: what its children have). 0 when it cannot be read. */
unsigned husk_cgroup_controllers(const char *dir, const char *file);
/* Writes value into a file of dir (a cgroup file takes one write). */
int husk_cgroup_write(const char *dir, const char *file, const char *value, struct husk_error *err);
/* Gives dir's children the controllers of mask that dir has and its children have not yet:
 * cgroup.subtree_control (dir must hold no processes). */
int husk_cgroup_enable(const char *dir, unsigned mask, struct husk_error *err);
/* Moves pid (0: ourselves) into dir. */
int husk_cgroup_enter(const char *dir, pid_t pid, struct husk_error *err);
/* Whether processes are in dir or below (cgroup.events "populated"); false when unreadable. */
bool husk_cgroup_populated(const char *dir);
/* Removes dir and the cgroups below it, once their processes are gone (waiting up to
 * timeout_ms for the last to be reaped). -ENOENT is success's twin: nothing was there. */
int husk_cgroup_remove(const char *dir, int timeout_ms);

/* Freezes (or thaws) the cgroup and waits, up to timeout_ms, until cgroup.events says so. */
int husk_cgroup_freeze(const char *dir, bool frozen, int timeout_ms, struct husk_error *err);
