/* A container's processes seen from the host, through /proc: which they are (every process in
 * the pid namespace of its pid 1, exec'd ones included), and what they use. husk-api reads
 * them for top and stats, the monitor for pause. Our own user may read all of it: container
 * processes run as us or as ids of the user namespace we own. */
#pragma once

#include "error.h"

#include <jansson.h>
#include <sys/types.h>

/* The host pids of the processes in the pid namespace of pid (pid among them), oldest first.
 * *n may be 0 (pid gone). */
int husk_proc_ns_pids(pid_t pid, pid_t **pids, size_t *n);

/* From /proc/<pid>/stat: times in clock ticks. */
struct husk_proc_stat {
	char state; /* R, S, D, T, Z, ... */
	pid_t ppid;
	unsigned long flags; /* the kernel's PF_* */
	uint64_t utime, stime, cutime, cstime;
	uint64_t threads;
	uint64_t start; /* clock ticks after boot */
};
int husk_proc_stat(pid_t pid, struct husk_proc_stat *st);

/* Parsers, separate from the files for the unit tests. */
int husk_parse_proc_stat(const char *text, struct husk_proc_stat *st);
/* A "Key:  value" file (smaps_rollup, io, meminfo): the value of key, units dropped; -ENOENT. */
int husk_parse_keyed(const char *text, const char *key, uint64_t *value);
/* /proc/stat: the sum of the first seven "cpu" fields (Docker's system_cpu_usage), in ticks,
 * and the number of cpuN lines. */
int husk_parse_proc_cpu(const char *text, uint64_t *ticks, unsigned *cpus);
/* /proc/<pid>/net/dev as Docker's "networks": {"lo": {"rx_bytes": ..., ...}, ...}. */
json_t *husk_parse_net_dev(const char *text);

/* Clock ticks in nanoseconds. */
uint64_t husk_ticks_ns(uint64_t ticks);
