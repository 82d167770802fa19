/* Resource limits as cgroup v2 files: what a container's monitor writes into its cgroup. Apart
 * from resources.c (parsing and checks, which husk-api needs too) so that husk-api, which
 * never writes limits, does not link libm for the cpu.weight curve. */
#include "cgroup.h"
#include "resources.h"

#include <math.h>
#include <stdarg.h>

#define DEFAULT_CPU_PERIOD 100000LL

uint64_t husk_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	/* A quadratic in log2(shares) through (2, 1), (1024, 100) and (262144, 10000). */
	double l = log2((double)shares);
	double e = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
	return (uint64_t)ceil(pow(10, e));
}

static void add(struct husk_cgroup_setting *out, size_t *n, const char *file, const char *fmt, ...)
    _printf_(4, 5);
static void add(struct husk_cgroup_setting *out, size_t *n, const char *file, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	out[*n].file = file;
	vsnprintf(out[*n].value, sizeof out[*n].value, fmt, ap);
	va_end(ap);
	(*n)++;
}

size_t husk_resources_settings(const struct husk_resources *r,
			       struct husk_cgroup_setting out[HUSK_CGROUP_SETTINGS_MAX])
{
	size_t n = 0;
	/* cpuset first: the others do not depend on it, but processes should start where they
	 * are allowed to run. */
	if (r->cpuset_cpus)
		add(out, &n, "cpuset.cpus", "%s", r->cpuset_cpus);
	if (r->cpuset_mems)
		add(out, &n, "cpuset.mems", "%s", r->cpuset_mems);
	if (r->memory > 0) {
		add(out, &n, "memory.max", "%lld", (long long)r->memory);
		/* cgroup v2 limits swap alone: MemorySwap is memory plus swap. */
		if (r->memory_swap == -1)
			add(out, &n, "memory.swap.max", "max");
		else if (r->memory_swap >= r->memory)
			add(out, &n, "memory.swap.max", "%lld",
			    (long long)(r->memory_swap - r->memory));
	}
	if (r->memory_reservation > 0)
		add(out, &n, "memory.low", "%lld", (long long)r->memory_reservation);
	if (r->nano_cpus > 0)
		add(out, &n, "cpu.max", "%lld %lld",
		    (long long)(r->nano_cpus * DEFAULT_CPU_PERIOD / 1000000000),
		    (long long)DEFAULT_CPU_PERIOD);
	else if (r->cpu_quota > 0)
		add(out, &n, "cpu.max", "%lld %lld", (long long)r->cpu_quota,
		    (long long)(r->cpu_period > 0 ? r->cpu_period : DEFAULT_CPU_PERIOD));
	else if (r->cpu_period > 0)
		add(out, &n, "cpu.max", "max %lld", (long long)r->cpu_period);
	if (r->cpu_shares > 0)
		add(out, &n, "cpu.weight", "%llu",
		    (unsigned long long)husk_cpu_shares_to_weight((uint64_t)r->cpu_shares));
	if (r->pids_limit > 0)
		add(out, &n, "pids.max", "%lld", (long long)r->pids_limit);
	else if (r->pids_set)
		add(out, &n, "pids.max", "max");
	return n;
}

int husk_resources_apply(const char *dir, const struct husk_resources *r, struct husk_error *err)
{
	struct husk_cgroup_setting s[HUSK_CGROUP_SETTINGS_MAX];
	size_t n = husk_resources_settings(r, s);
	for (size_t i = 0; i < n; i++) {
		int k = husk_cgroup_write(dir, s[i].file, s[i].value, err);
		/* No swap accounting: "no swap limit" is what there is anyway. */
		if (k == -ENOENT && streq(s[i].file, "memory.swap.max") && streq(s[i].value, "max"))
			continue;
		if (k < 0)
			return k;
	}
	return 0;
}
