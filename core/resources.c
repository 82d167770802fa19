#include "resources.h"
#include "json.h"

static const struct {
	const char *name;
	int64_t min; /* below 0: "no limit" values (-1, or any negative for PidsLimit) */
} numbers[] = {
    {"Memory", 0},
    {"MemoryReservation", 0},
    {"MemorySwap", -1},
    {"KernelMemory", 0},
    {"KernelMemoryTCP", 0},
    {"NanoCpus", 0},
    {"CpuShares", 0},
    {"CpuPeriod", 0},
    {"CpuQuota", -1},
    {"CpuRealtimePeriod", 0},
    {"CpuRealtimeRuntime", 0},
    {"CpuCount", 0},
    {"CpuPercent", 0},
    {"BlkioWeight", 0},
    {"PidsLimit", INT64_MIN},
    {"IOMaximumIOps", 0},
    {"IOMaximumBandwidth", 0},
};

static const char *const strings[] = {"CpusetCpus", "CpusetMems"};
static const char *const lists[] = {"BlkioWeightDevice", "BlkioDeviceReadBps",
				    "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
				    "BlkioDeviceWriteIOps"};

static int needs_cgroup(const char *name, struct husk_error *err)
{
	return husk_error_set(err, -EOPNOTSUPP,
			      "%s: resource limits need a delegated cgroup, which this version of "
			      "husk does not use yet",
			      name);
}

int husk_resources_check(const json_t *res, struct husk_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		const json_t *j = json_object_get(res, numbers[i].name);
		if (j && !json_is_null(j) && !json_is_integer(j))
			return husk_error_set(
			    err, -EINVAL, "json: cannot unmarshal %s into Go value of type int64",
			    json_is_string(j) ? "string" : "non-number");
		int64_t v = jint(res, numbers[i].name, 0);
		if (v < numbers[i].min)
			return husk_error_set(err, -EINVAL, "invalid %s: %lld", numbers[i].name,
					      (long long)v);
		if (v > 0)
			return needs_cgroup(numbers[i].name, err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (!str_empty(jstr(res, strings[i])))
			return needs_cgroup(strings[i], err);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if (json_array_size(jarr(res, lists[i])))
			return needs_cgroup(lists[i], err);
	int64_t swappiness = jint(res, "MemorySwappiness", -1);
	if (swappiness != -1)
		return swappiness < 0 || swappiness > 100
			   ? husk_error_set(err, -EINVAL,
					    "invalid value: %lld, valid memory swappiness range "
					    "is 0-100",
					    (long long)swappiness)
			   : needs_cgroup("MemorySwappiness", err);
	if (jbool(res, "OomKillDisable", false))
		return needs_cgroup("OomKillDisable", err);
	return 0;
}
