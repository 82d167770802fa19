#include "stats.h"
#include "cgroup.h"
#include "fs.h"
#include "procfs.h"

struct proc_sums {
	uint64_t user, kernel, pss, anon, file, shmem, threads, rbytes, wbytes;
};

static void add_keyed(const char *path, const char *const *keys, uint64_t *const *sums, size_t n,
		      uint64_t unit)
{
	_cleanup_free_ char *buf = NULL;
	if (read_file(path, &buf, NULL, 65536) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		if (husk_parse_keyed(buf, keys[i], &v) == 0)
			*sums[i] += v * unit;
	}
}

static void add_process(pid_t pid, struct proc_sums *s)
{
	struct husk_proc_stat ps;
	char path[64];
	if (husk_proc_stat(pid, &ps) < 0)
		return;
	s->user += ps.utime + ps.cutime;
	s->kernel += ps.stime + ps.cstime;
	s->threads += ps.threads;
	static const char *const mem_keys[] = {"Pss", "Pss_Anon", "Pss_File", "Pss_Shmem"};
	uint64_t *const mem[] = {&s->pss, &s->anon, &s->file, &s->shmem};
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	add_keyed(path, mem_keys, mem, ARRAY_SIZE(mem), 1024);
	static const char *const io_keys[] = {"read_bytes", "write_bytes"};
	uint64_t *const io[] = {&s->rbytes, &s->wbytes};
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	add_keyed(path, io_keys, io, ARRAY_SIZE(io), 1);
}

static json_t *blkio_entry(unsigned major, unsigned minor, const char *op, uint64_t v)
{
	return json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major, "minor",
			 (json_int_t)minor, "op", op, "value", (json_int_t)v);
}

static uint64_t host_memory(void)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t kb = 0;
	if (read_file("/proc/meminfo", &buf, NULL, 65536) == 0)
		husk_parse_keyed(buf, "MemTotal", &kb);
	return kb * 1024;
}

static int sample_proc(pid_t init, pid_t monitor, struct husk_stats *st)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = husk_proc_ns_pids(init, &pids, &n);
	if (r < 0)
		return r;
	struct proc_sums s = {0};
	for (size_t i = 0; i < n; i++)
		add_process(pids[i], &s);
	struct husk_proc_stat mon;
	if (husk_proc_stat(monitor, &mon) == 0) {
		s.user += mon.cutime;
		s.kernel += mon.cstime;
	}
	st->cpu_user = husk_ticks_ns(s.user);
	st->cpu_kernel = husk_ticks_ns(s.kernel);
	st->cpu_total = st->cpu_user + st->cpu_kernel;
	st->pids = s.threads;
	st->mem_usage = s.pss;
	st->mem_limit = host_memory();
	st->mem_stats = json_pack("{s:I, s:I, s:I, s:I, s:I}", "anon", (json_int_t)s.anon, "file",
				  (json_int_t)s.file, "shmem", (json_int_t)s.shmem, "active_file",
				  (json_int_t)0, "inactive_file", (json_int_t)0);
	st->blkio = json_pack("[o, o]", blkio_entry(0, 0, "read", s.rbytes),
			      blkio_entry(0, 0, "write", s.wbytes));
	return 0;
}

static json_t *cgroup_blkio(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/io.stat", dir);
	_cleanup_free_ char *buf = NULL;
	if (read_file(path, &buf, NULL, 1 << 20) < 0)
		return NULL;
	json_t *a = json_array();
	/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" */
	for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned major, minor;
		unsigned long long rb = 0, wb = 0;
		if (sscanf(l, "%u:%u", &major, &minor) != 2)
			continue;
		char *eol = strchr(l, '\n');
		_cleanup_free_ char *line = xstrndup(l, eol ? (size_t)(eol - l) : strlen(l));
		char *p;
		if ((p = strstr(line, "rbytes=")))
			rb = strtoull(p + 7, NULL, 10);
		if ((p = strstr(line, "wbytes=")))
			wb = strtoull(p + 7, NULL, 10);
		json_array_append_new(a, blkio_entry(major, minor, "read", rb));
		json_array_append_new(a, blkio_entry(major, minor, "write", wb));
	}
	return a;
}

/* What the cgroup has overrides what /proc gave (the monitor may be in it: a systemd scope
 * holds both; its share is small). */
static void sample_cgroup(const char *dir, struct husk_stats *st)
{
	uint64_t v;
	st->from_cgroup = true;
	if (husk_cgroup_read(dir, "cpu.stat", "usage_usec", &v) == 0)
		st->cpu_total = v * 1000;
	if (husk_cgroup_read(dir, "cpu.stat", "user_usec", &v) == 0)
		st->cpu_user = v * 1000;
	if (husk_cgroup_read(dir, "cpu.stat", "system_usec", &v) == 0)
		st->cpu_kernel = v * 1000;
	husk_cgroup_read(dir, "cpu.stat", "nr_periods", &st->periods);
	husk_cgroup_read(dir, "cpu.stat", "nr_throttled", &st->throttled_periods);
	if (husk_cgroup_read(dir, "cpu.stat", "throttled_usec", &v) == 0)
		st->throttled_time = v * 1000;
	husk_cgroup_read(dir, "pids.current", NULL, &st->pids);
	if (husk_cgroup_read(dir, "memory.current", NULL, &st->mem_usage) == 0) {
		if (husk_cgroup_read(dir, "memory.max", NULL, &v) == 0 && v != UINT64_MAX)
			st->mem_limit = v;
		_cleanup_free_ char *path = xasprintf("%s/memory.stat", dir);
		_cleanup_free_ char *buf = NULL;
		if (read_file(path, &buf, NULL, 1 << 20) == 0) {
			json_t *o = json_object();
			char key[128];
			unsigned long long val;
			for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
				if (sscanf(l, "%127s %llu", key, &val) == 2)
					json_object_set_new(o, key, json_integer((json_int_t)val));
			json_decref(st->mem_stats);
			st->mem_stats = o;
		}
	}
	json_t *io = cgroup_blkio(dir);
	if (io) {
		json_decref(st->blkio);
		st->blkio = io;
	}
}

int husk_stats_sample(pid_t init, pid_t monitor, bool networks, struct husk_stats *st)
{
	memset(st, 0, sizeof *st);
	st->read_ns = now_ns();
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/stat", &text, NULL, 1 << 20) == 0) {
		uint64_t ticks;
		if (husk_parse_proc_cpu(text, &ticks, &st->online_cpus) == 0)
			st->system_cpu = husk_ticks_ns(ticks);
	}
	int r = sample_proc(init, monitor, st);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = husk_cgroup_of_container(init, monitor, NULL);
	if (dir)
		sample_cgroup(dir, st);
	if (networks) {
		char path[64];
		_cleanup_free_ char *dev = NULL;
		snprintf(path, sizeof path, "/proc/%d/net/dev", (int)init);
		if (read_file(path, &dev, NULL, 1 << 20) == 0)
			st->networks = husk_parse_net_dev(dev);
	}
	return 0;
}

void husk_stats_clear(struct husk_stats *st)
{
	json_decref(st->mem_stats);
	json_decref(st->blkio);
	json_decref(st->networks);
	memset(st, 0, sizeof *st);
}
