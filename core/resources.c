#include "resources.h"
#include "cgroup.h"
#include "delegation.h"
#include "json.h"

#include <sched.h>

/* Docker's floor for memory limits and reservations. */
#define MIN_MEMORY (6LL << 20)
/* The CFS period Docker uses for NanoCpus. */

/* Integer fields: below min is "invalid" (min below 0 admits Docker's "no limit" values). */
static const struct {
	const char *name;
	int64_t min;
	bool supported;
} numbers[] = {
    {"Memory", 0, true},
    {"MemoryReservation", 0, true},
    {"MemorySwap", -1, true},
    {"NanoCpus", 0, true},
    {"CpuShares", 0, true},
    {"CpuPeriod", 0, true},
    {"CpuQuota", -1, true},
    {"PidsLimit", INT64_MIN, true},
    {"KernelMemory", 0, false},
    {"KernelMemoryTCP", 0, false},
    {"CpuRealtimePeriod", 0, false},
    {"CpuRealtimeRuntime", 0, false},
    {"CpuCount", 0, false},
    {"CpuPercent", 0, false},
    {"BlkioWeight", 0, false},
    {"IOMaximumIOps", 0, false},
    {"IOMaximumBandwidth", 0, false},
};

static const char *const unsupported_lists[] = {"BlkioWeightDevice", "BlkioDeviceReadBps",
						"BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
						"BlkioDeviceWriteIOps"};

void husk_resources_clear(struct husk_resources *r)
{
	free(r->cpuset_cpus);
	free(r->cpuset_mems);
	memset(r, 0, sizeof *r);
}

static int not_supported(const char *name, struct husk_error *err)
{
	return husk_error_set(err, -EOPNOTSUPP, "%s: not supported by husk", name);
}

static int check_fields(const json_t *obj, struct husk_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		const json_t *j = json_object_get(obj, numbers[i].name);
		if (j && !json_is_null(j) && !json_is_integer(j))
			return husk_error_set(
			    err, -EINVAL, "json: cannot unmarshal %s into Go value of type int64",
			    json_is_string(j) ? "string" : "non-number");
		int64_t v = jint(obj, numbers[i].name, 0);
		if (v < numbers[i].min)
			return husk_error_set(err, -EINVAL, "invalid %s: %lld", numbers[i].name,
					      (long long)v);
		if (v > 0 && !numbers[i].supported)
			return not_supported(numbers[i].name, err);
	}
	static const char *const strings[] = {"CpusetCpus", "CpusetMems"};
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		const json_t *j = json_object_get(obj, strings[i]);
		if (j && !json_is_null(j) && !json_is_string(j))
			return husk_error_set(
			    err, -EINVAL,
			    "json: cannot unmarshal non-string into Go value of type string");
	}
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_lists); i++)
		if (json_array_size(jarr(obj, unsupported_lists[i])))
			return not_supported(unsupported_lists[i], err);
	const json_t *sw = json_object_get(obj, "MemorySwappiness");
	if (sw && !json_is_null(sw) && !json_is_integer(sw))
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal %s into Go value of type int64",
				      json_is_string(sw) ? "string" : "non-integer");
	int64_t swappiness = jint(obj, "MemorySwappiness", -1);
	if (swappiness != -1)
		return swappiness < 0 || swappiness > 100
			   ? husk_error_set(err, -EINVAL,
					    "Invalid value: %lld, valid memory swappiness range "
					    "is 0-100",
					    (long long)swappiness)
			   : husk_error_set(err, -EOPNOTSUPP,
					    "MemorySwappiness: cgroup v2 has no swappiness of a "
					    "cgroup's own");
	if (jbool(obj, "OomKillDisable", false))
		return husk_error_set(err, -EOPNOTSUPP,
				      "OomKillDisable: cgroup v2 cannot disable the OOM killer");
	return 0;
}

static char *dup_nonempty(const char *s)
{
	return str_empty(s) ? NULL : xstrdup(s);
}

int husk_resources_parse(const json_t *obj, struct husk_resources *r, struct husk_error *err)
{
	memset(r, 0, sizeof *r);
	int k = check_fields(obj, err);
	if (k < 0)
		return k;
	r->memory = jint(obj, "Memory", 0);
	r->memory_swap = jint(obj, "MemorySwap", 0);
	r->memory_reservation = jint(obj, "MemoryReservation", 0);
	r->nano_cpus = jint(obj, "NanoCpus", 0);
	r->cpu_shares = jint(obj, "CpuShares", 0);
	r->cpu_period = jint(obj, "CpuPeriod", 0);
	r->cpu_quota = jint(obj, "CpuQuota", 0);
	r->pids_set = json_is_integer(json_object_get(obj, "PidsLimit"));
	r->pids_limit = jint(obj, "PidsLimit", 0);
	r->cpuset_cpus = dup_nonempty(jstr(obj, "CpusetCpus"));
	r->cpuset_mems = dup_nonempty(jstr(obj, "CpusetMems"));
	return 0;
}

int husk_cpuset_parse(const char *s, uint64_t bits[16])
{
	memset(bits, 0, 16 * sizeof *bits);
	if (str_empty(s))
		return 0;
	for (const char *p = s;;) {
		char *end;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			hi = strtoul(p, &end, 10);
		}
		if (hi < lo || hi >= 1024)
			return -EINVAL;
		for (unsigned long i = lo; i <= hi; i++)
			bits[i / 64] |= 1ULL << (i % 64);
		if (!*end)
			return 0;
		if (*end != ',')
			return -EINVAL;
		p = end + 1;
	}
}

/* Whether every member of want is in have ("0-3"); -EINVAL when want is malformed. */
static int cpuset_within(const char *want, const char *have)
{
	uint64_t w[16], h[16];
	if (husk_cpuset_parse(want, w) < 0)
		return -EINVAL;
	if (!have || husk_cpuset_parse(have, h) < 0)
		return 1; /* nothing to compare with: the kernel has the last word */
	for (size_t i = 0; i < 16; i++)
		if (w[i] & ~h[i])
			return 0;
	return 1;
}

/* A limit that needs a controller this host does not give containers. */
static int unavailable(const struct husk_delegation *d, unsigned ctrl, const char *what,
		       struct husk_error *err)
{
	char why[768];
	husk_delegation_why_not(d, ctrl, why, sizeof why);
	return husk_error_set(err, -EINVAL, "cannot set %s: %s", what, why);
}

static bool has(const struct husk_delegation *d, unsigned ctrl)
{
	return d && d->driver != HUSK_CGROUP_NONE && (d->controllers & ctrl);
}

static int online_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

/* Docker's checks of the values themselves: wrong wherever they are asked for. */
static int check_memory(const struct husk_resources *r, bool update, struct husk_error *err)
{
	if (r->memory != 0 && r->memory < MIN_MEMORY)
		return husk_error_set(err, -EINVAL, "Minimum memory limit allowed is 6MB");
	if (r->memory > 0 && r->memory_swap > 0 && r->memory_swap < r->memory)
		return husk_error_set(
		    err, -EINVAL,
		    "Minimum memoryswap limit should be larger than memory limit, "
		    "see usage");
	if (r->memory == 0 && r->memory_swap > 0 && !update)
		return husk_error_set(
		    err, -EINVAL,
		    "You should always set the Memory limit when using Memoryswap "
		    "limit, see usage");
	if (r->memory_reservation > 0 && r->memory_reservation < MIN_MEMORY)
		return husk_error_set(err, -EINVAL, "Minimum memory reservation allowed is 6MB");
	if (r->memory > 0 && r->memory_reservation > 0 && r->memory < r->memory_reservation)
		return husk_error_set(
		    err, -EINVAL,
		    "Minimum memory limit can not be less than memory reservation "
		    "limit, see usage");
	return 0;
}

static int check_cpu(const struct husk_resources *r, struct husk_error *err)
{
	if (r->nano_cpus > 0 && r->cpu_period > 0)
		return husk_error_set(
		    err, -EINVAL,
		    "Conflicting options: Nano CPUs and CPU Period cannot both be "
		    "set");
	if (r->nano_cpus > 0 && r->cpu_quota > 0)
		return husk_error_set(err, -EINVAL,
				      "Conflicting options: Nano CPUs and CPU Quota cannot both be "
				      "set");
	int n = online_cpus();
	/* The CFS quota's floor is 1 ms of a 100 ms period: 0.01 CPUs. */
	if (r->nano_cpus != 0 &&
	    (r->nano_cpus < 10000000 || r->nano_cpus > (int64_t)n * 1000000000))
		return husk_error_set(err, -EINVAL,
				      "range of CPUs is from 0.01 to %d.00, as there are only %d "
				      "CPUs available",
				      n, n);
	if (r->cpu_period != 0 && (r->cpu_period < 1000 || r->cpu_period > 1000000))
		return husk_error_set(
		    err, -EINVAL,
		    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
		    "than 1s (i.e. 1000000)");
	if (r->cpu_quota > 0 && r->cpu_quota < 1000)
		return husk_error_set(err, -EINVAL,
				      "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	return 0;
}

static int check_cpusets(const struct husk_resources *r, struct husk_error *err)
{
	uint64_t bits[16];
	if (r->cpuset_cpus && husk_cpuset_parse(r->cpuset_cpus, bits) < 0)
		return husk_error_set(err, -EINVAL, "Invalid value %s for cpuset cpus",
				      r->cpuset_cpus);
	if (r->cpuset_mems && husk_cpuset_parse(r->cpuset_mems, bits) < 0)
		return husk_error_set(err, -EINVAL, "Invalid value %s for cpuset mems",
				      r->cpuset_mems);
	return 0;
}

/* Then whether the host can honour them. */
static int check_memory_here(struct husk_resources *r, const struct husk_delegation *d,
			     json_t *warnings, struct husk_error *err)
{
	if (r->memory > 0 && !has(d, HUSK_CG_MEMORY))
		return unavailable(d, HUSK_CG_MEMORY, "a memory limit (--memory)", err);
	if (r->memory_reservation > 0 && !has(d, HUSK_CG_MEMORY))
		return unavailable(d, HUSK_CG_MEMORY, "a memory reservation (--memory-reservation)",
				   err);
	if (r->memory_swap > 0 && r->memory > 0 && !(d && d->swap))
		return husk_error_set(err, -EINVAL,
				      "cannot set a swap limit (--memory-swap): the kernel has no "
				      "swap accounting for cgroups here (no memory.swap.max)");
	if (r->memory > 0 && r->memory_swap == 0 && !(d && d->swap)) {
		if (warnings)
			json_array_append_new(
			    warnings,
			    json_string("Your kernel does not support swap limit "
					"capabilities or the cgroup is not mounted. Memory "
					"limited without swap."));
		r->memory_swap = -1;
	}
	return 0;
}

static int check_cpu_here(const struct husk_resources *r, const struct husk_delegation *d,
			  struct husk_error *err)
{
	if (r->nano_cpus > 0 && !has(d, HUSK_CG_CPU))
		return unavailable(d, HUSK_CG_CPU, "a CPU limit (--cpus)", err);
	if (r->cpu_shares > 0 && !has(d, HUSK_CG_CPU))
		return unavailable(d, HUSK_CG_CPU, "CPU shares (--cpu-shares)", err);
	if ((r->cpu_period > 0 || r->cpu_quota > 0) && !has(d, HUSK_CG_CPU))
		return unavailable(d, HUSK_CG_CPU,
				   "a CFS period or quota (--cpu-period, --cpu-quota)", err);
	return 0;
}

static int check_cpusets_here(const struct husk_resources *r, const struct husk_delegation *d,
			      struct husk_error *err)
{
	const char *sets[2] = {r->cpuset_cpus, r->cpuset_mems};
	const char *have[2] = {d ? d->cpus : NULL, d ? d->mems : NULL};
	static const char *const requested[2] = {"CPUs", "memory nodes"};
	for (size_t i = 0; i < 2; i++) {
		if (!sets[i])
			continue;
		if (!has(d, HUSK_CG_CPUSET))
			return unavailable(d, HUSK_CG_CPUSET,
					   i ? "cpuset memory nodes (--cpuset-mems)"
					     : "cpuset CPUs (--cpuset-cpus)",
					   err);
		if (cpuset_within(sets[i], have[i]) == 0)
			return husk_error_set(err, -EINVAL,
					      "Requested %s are not available - requested %s, "
					      "available: %s",
					      requested[i], sets[i], have[i]);
	}
	return 0;
}

int husk_resources_verify(struct husk_resources *r, const struct husk_delegation *d, bool update,
			  json_t *warnings, struct husk_error *err)
{
	int k = check_memory(r, update, err);
	if (k == 0)
		k = check_cpu(r, err);
	if (k == 0)
		k = check_cpusets(r, err);
	if (k == 0)
		k = check_memory_here(r, d, warnings, err);
	if (k == 0)
		k = check_cpu_here(r, d, err);
	if (k == 0 && r->pids_limit > 0 && !has(d, HUSK_CG_PIDS))
		k = unavailable(d, HUSK_CG_PIDS, "a pids limit (--pids-limit)", err);
	if (k == 0)
		k = check_cpusets_here(r, d, err);
	return k;
}

void husk_resources_store(const struct husk_resources *r, json_t *hc)
{
	json_object_set_new(hc, "Memory", json_integer(r->memory));
	json_object_set_new(hc, "MemorySwap", json_integer(r->memory_swap));
	json_object_set_new(hc, "MemoryReservation", json_integer(r->memory_reservation));
	json_object_set_new(hc, "NanoCpus", json_integer(r->nano_cpus));
	json_object_set_new(hc, "CpuShares", json_integer(r->cpu_shares));
	json_object_set_new(hc, "CpuPeriod", json_integer(r->cpu_period));
	json_object_set_new(hc, "CpuQuota", json_integer(r->cpu_quota));
	/* Docker keeps "no limit" as null. */
	json_object_set_new(hc, "PidsLimit",
			    r->pids_limit > 0 ? json_integer(r->pids_limit) : json_null());
	json_object_set_new(hc, "CpusetCpus", json_string(str_or(r->cpuset_cpus, "")));
	json_object_set_new(hc, "CpusetMems", json_string(str_or(r->cpuset_mems, "")));
}

int husk_resources_create(json_t *hc, const struct husk_delegation *d, json_t *warnings,
			  struct husk_error *err)
{
	struct husk_resources r;
	int k = husk_resources_parse(hc, &r, err);
	if (k == 0)
		k = husk_resources_verify(&r, d, false, warnings, err);
	if (k == 0) {
		/* Docker's default: as much swap as memory. */
		if (r.memory > 0 && r.memory_swap == 0)
			r.memory_swap = 2 * r.memory;
		husk_resources_store(&r, hc);
	}
	husk_resources_clear(&r);
	return k;
}

static void take_str(char **dst, char **src)
{
	if (*src) {
		free(*dst);
		*dst = TAKE_PTR(*src);
	}
}

/* Container.UpdateContainer: a field given (non-zero) replaces the container's. */
static int merge(struct husk_resources *cur, struct husk_resources *u, struct husk_error *err)
{
	/* NanoCpus sets the period and quota itself: one way or the other, not both. */
	if (u->nano_cpus > 0 && cur->cpu_period > 0)
		return husk_error_set(err, -EINVAL,
				      "Conflicting options: Nano CPUs cannot be updated as CPU "
				      "Period has already been set");
	if (u->nano_cpus > 0 && cur->cpu_quota > 0)
		return husk_error_set(err, -EINVAL,
				      "Conflicting options: Nano CPUs cannot be updated as CPU "
				      "Quota has already been set");
	if (u->cpu_period > 0 && cur->nano_cpus > 0)
		return husk_error_set(err, -EINVAL,
				      "Conflicting options: CPU Period cannot be updated as "
				      "NanoCPUs has already been set");
	if (u->cpu_quota > 0 && cur->nano_cpus > 0)
		return husk_error_set(
		    err, -EINVAL,
		    "Conflicting options: CPU Quota cannot be updated as NanoCPUs "
		    "has already been set");
	/* Docker's rule, quirk included: a container without a swap limit of its own (0) takes
	 * no new memory limit without --memory-swap. */
	if (u->memory != 0 && u->memory > cur->memory_swap && u->memory_swap == 0)
		return husk_error_set(err, -EINVAL,
				      "Memory limit should be smaller than already set memoryswap "
				      "limit, update the memoryswap at the same time");
	if (u->memory)
		cur->memory = u->memory;
	if (u->memory_swap)
		cur->memory_swap = u->memory_swap;
	if (u->memory_reservation)
		cur->memory_reservation = u->memory_reservation;
	if (u->nano_cpus)
		cur->nano_cpus = u->nano_cpus;
	if (u->cpu_shares)
		cur->cpu_shares = u->cpu_shares;
	if (u->cpu_period)
		cur->cpu_period = u->cpu_period;
	if (u->cpu_quota)
		cur->cpu_quota = u->cpu_quota;
	if (u->pids_set) {
		cur->pids_set = true;
		cur->pids_limit = u->pids_limit > 0 ? u->pids_limit : 0;
	}
	take_str(&cur->cpuset_cpus, &u->cpuset_cpus);
	take_str(&cur->cpuset_mems, &u->cpuset_mems);
	if (cur->memory > 0 && cur->memory_swap > 0 && cur->memory_swap < cur->memory)
		return husk_error_set(
		    err, -EINVAL,
		    "Minimum memoryswap limit should be larger than memory limit, "
		    "see usage");
	return 0;
}

int husk_resources_update(struct husk_resources *cur, const json_t *body,
			  const struct husk_delegation *d, struct husk_error *err)
{
	struct husk_resources u, next = *cur;
	next.cpuset_cpus = cur->cpuset_cpus ? xstrdup(cur->cpuset_cpus) : NULL;
	next.cpuset_mems = cur->cpuset_mems ? xstrdup(cur->cpuset_mems) : NULL;
	int k = husk_resources_parse(body, &u, err);
	if (k == 0)
		k = husk_resources_verify(&u, d, true, NULL, err);
	if (k == 0)
		k = merge(&next, &u, err);
	husk_resources_clear(&u);
	if (k < 0) {
		husk_resources_clear(&next);
		return k;
	}
	husk_resources_clear(cur);
	*cur = next;
	return 0;
}

unsigned husk_resources_controllers(const struct husk_resources *r)
{
	unsigned m = 0;
	if (r->memory > 0 || r->memory_reservation > 0)
		m |= HUSK_CG_MEMORY;
	if (r->nano_cpus > 0 || r->cpu_shares > 0 || r->cpu_quota > 0 || r->cpu_period > 0)
		m |= HUSK_CG_CPU;
	if (r->pids_limit > 0)
		m |= HUSK_CG_PIDS;
	if (r->cpuset_cpus || r->cpuset_mems)
		m |= HUSK_CG_CPUSET;
	return m;
}
