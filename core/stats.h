/* One sample of a running container's resource use, for GET /containers/{id}/stats.
 *
 * From the container's cgroup v2 where it has one delegated to us that holds only it and its
 * monitor (core/cgroup.h): cpu.stat, memory.current, memory.max, memory.stat, pids.current,
 * io.stat, what Docker reports. Otherwise from /proc, summed over the processes of the
 * container's pid namespace:
 *   cpu     utime+stime, plus cutime+cstime (children they reaped), plus the cutime+cstime of
 *           the monitor (exec'd processes it reaped); clock ticks, so 10 ms steps
 *   memory  the sum of Pss (smaps_rollup: shared pages counted once); stats holds anon, file
 *           and shmem, inactive_file is 0 (no page cache accounting); limit: host memory
 *   pids    threads, as pids.current counts them
 *   blkio   read_bytes and write_bytes of /proc/<pid>/io (of live processes)
 * Either way system_cpu_usage and online_cpus come from /proc/stat (as moby reads them) and
 * networks from the container's /proc/<pid>/net/dev. */
#pragma once

#include "error.h"

#include <jansson.h>
#include <sys/types.h>

struct husk_stats {
	int64_t read_ns;
	uint64_t cpu_total, cpu_user, cpu_kernel; /* ns */
	uint64_t system_cpu;			  /* ns */
	unsigned online_cpus;
	uint64_t periods, throttled_periods, throttled_time; /* cgroup only, else 0 */
	uint64_t mem_usage, mem_limit;
	json_t *mem_stats; /* memory_stats.stats */
	uint64_t pids;
	json_t *blkio;	  /* io_service_bytes_recursive */
	json_t *networks; /* NULL when not asked for */
	bool from_cgroup;
};

/* Samples the container whose pid 1 is init and whose monitor is monitor; networks: read its
 * network namespace's interfaces too. */
int husk_stats_sample(pid_t init, pid_t monitor, bool networks, struct husk_stats *st);
void husk_stats_clear(struct husk_stats *st);
