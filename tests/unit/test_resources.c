/* Resource limits: Docker's checks and messages, its defaults and update merge, the cgroup v2
 * values they become, and the writing of them and of a container's cgroup, against a fake
 * cgroup tree (a directory with the files). */
#include "test.h"
#include "testutil.h"

#include "core/cgroup.h"
#include "core/delegation.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/resources.h"

#include <sched.h>
#include <sys/stat.h>

/* A host that gives containers every controller, with swap accounting, cpus 0-1. */
static struct husk_delegation full(void)
{
	struct husk_delegation d = {.driver = HUSK_CGROUP_CGROUPFS,
				    .dir = xstrdup("/sys/fs/cgroup/test"),
				    .controllers = HUSK_CG_ALL,
				    .swap = true,
				    .cpus = xstrdup("0-1"),
				    .mems = xstrdup("0")};
	return d;
}

/* Creates a container from the HostConfig text; the error's code and message, or 0 with hc's
 * stored values in *out (when wanted). */
static int create(const char *hc_text, const struct husk_delegation *d, json_t **out,
		  struct husk_error *err)
{
	json_t *hc = test_json(hc_text);
	json_t *warnings = json_array();
	memset(err, 0, sizeof *err);
	int r = husk_resources_create(hc, d, warnings, err);
	if (out)
		*out = json_incref(hc);
	json_decref(hc);
	json_decref(warnings);
	return r;
}

static void check_create_fails(const char *hc, const struct husk_delegation *d, int code,
			       const char *message)
{
	struct husk_error err;
	int r = create(hc, d, NULL, &err);
	CHECK_EQ(r, code);
	if (!strstr(err.message, message)) {
		fprintf(stderr, "  %s: \"%s\" lacks \"%s\"\n", hc, err.message, message);
		test_failures++;
	}
}

static void test_docker_messages(void)
{
	struct husk_delegation d = full();
	check_create_fails("{'Memory': 4194304}", &d, -EINVAL,
			   "Minimum memory limit allowed is 6MB");
	check_create_fails(
	    "{'Memory': 67108864, 'MemorySwap': 33554432}", &d, -EINVAL,
	    "Minimum memoryswap limit should be larger than memory limit, see usage");
	check_create_fails("{'MemorySwap': 33554432}", &d, -EINVAL,
			   "You should always set the Memory limit when using Memoryswap limit");
	check_create_fails("{'MemoryReservation': 1048576}", &d, -EINVAL,
			   "Minimum memory reservation allowed is 6MB");
	check_create_fails("{'Memory': 8388608, 'MemoryReservation': 16777216}", &d, -EINVAL,
			   "Minimum memory limit can not be less than memory reservation limit");
	check_create_fails("{'NanoCpus': 500000000, 'CpuPeriod': 100000}", &d, -EINVAL,
			   "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	check_create_fails("{'NanoCpus': 500000000, 'CpuQuota': 50000}", &d, -EINVAL,
			   "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	cpu_set_t set;
	sched_getaffinity(0, sizeof set, &set);
	char *range = xasprintf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs "
				"available",
				CPU_COUNT(&set), CPU_COUNT(&set));
	check_create_fails("{'NanoCpus': 1000000000000}", &d, -EINVAL, range);
	check_create_fails("{'NanoCpus': 1000}", &d, -EINVAL, range);
	free(range);
	check_create_fails("{'CpuPeriod': 500}", &d, -EINVAL,
			   "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s");
	check_create_fails("{'CpuQuota': 999}", &d, -EINVAL,
			   "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	check_create_fails("{'CpusetCpus': '1-a'}", &d, -EINVAL,
			   "Invalid value 1-a for cpuset cpus");
	check_create_fails("{'CpusetCpus': '0-3'}", &d, -EINVAL,
			   "Requested CPUs are not available - requested 0-3, available: 0-1");
	check_create_fails("{'CpusetMems': '1'}", &d, -EINVAL,
			   "Requested memory nodes are not available - requested 1, available: 0");
	check_create_fails("{'MemorySwappiness': 101}", &d, -EINVAL,
			   "Invalid value: 101, valid memory swappiness range is 0-100");
	check_create_fails("{'Memory': -5}", &d, -EINVAL, "invalid Memory: -5");
	check_create_fails("{'Memory': '5m'}", &d, -EINVAL,
			   "json: cannot unmarshal string into Go value of type int64");
	/* What husk never sets: refused, not dropped. */
	check_create_fails("{'BlkioWeight': 300}", &d, -EOPNOTSUPP, "BlkioWeight: not supported");
	check_create_fails("{'KernelMemory': 67108864}", &d, -EOPNOTSUPP, "KernelMemory");
	check_create_fails("{'MemorySwappiness': 10}", &d, -EOPNOTSUPP, "MemorySwappiness");
	check_create_fails("{'OomKillDisable': true}", &d, -EOPNOTSUPP, "OomKillDisable");
	check_create_fails("{'BlkioDeviceReadBps': [{'Path': '/dev/sda', 'Rate': 1}]}", &d,
			   -EOPNOTSUPP, "BlkioDeviceReadBps");
	/* The "no limit" values the docker CLI sends pass. */
	struct husk_error err;
	CHECK_EQ(create("{'Memory': 0, 'MemorySwap': 0, 'CpuQuota': 0, 'PidsLimit': null, "
			"'MemorySwappiness': null, 'OomKillDisable': false, 'CpusetCpus': ''}",
			&d, NULL, &err),
		 0);
	CHECK_EQ(create("{'PidsLimit': -1, 'MemorySwap': -1}", &d, NULL, &err), 0);
	husk_delegation_clear(&d);
}

/* Where the host cannot honour a limit, it is refused and says why. */
static void test_refused_without_delegation(void)
{
	struct husk_delegation none = {.driver = HUSK_CGROUP_NONE};
	snprintf(none.why, sizeof none.why, "husk-api was not started by systemd");
	check_create_fails("{'Memory': 33554432}", &none, -EINVAL,
			   "cannot set a memory limit (--memory): no cgroup v2 is delegated to "
			   "husk: husk-api was not started by systemd");
	check_create_fails("{'NanoCpus': 500000000}", &none, -EINVAL, "--cpus");
	check_create_fails("{'PidsLimit': 20}", &none, -EINVAL, "--pids-limit");
	check_create_fails("{'CpuShares': 512}", &none, -EINVAL, "--cpu-shares");
	check_create_fails("{'CpuQuota': 50000}", &none, -EINVAL, "--cpu-quota");
	check_create_fails("{'CpusetCpus': '0'}", &none, -EINVAL, "--cpuset-cpus");
	check_create_fails("{'MemoryReservation': 33554432}", &none, -EINVAL,
			   "--memory-reservation");
	check_create_fails("{'Memory': 33554432}", NULL, -EINVAL, "no cgroup v2 is delegated");
	/* Docker's invalid values come first: they are wrong anywhere. */
	check_create_fails("{'Memory': 1024}", &none, -EINVAL, "Minimum memory limit allowed");

	struct husk_delegation d = full();
	d.controllers = HUSK_CG_CPU | HUSK_CG_PIDS;
	check_create_fails("{'Memory': 33554432}", &d, -EINVAL,
			   "the memory controller is not delegated to husk (/sys/fs/cgroup/test "
			   "offers cpu pids)");
	struct husk_error err;
	CHECK_EQ(create("{'PidsLimit': 20, 'NanoCpus': 500000000}", &d, NULL, &err), 0);
	/* Memory without swap accounting: Docker's warning and no swap limit; an explicit swap
	 * limit is refused. */
	d.controllers = HUSK_CG_ALL;
	d.swap = false;
	json_t *hc = test_json("{'Memory': 33554432}"), *w = json_array();
	CHECK_EQ(husk_resources_create(hc, &d, w, &err), 0);
	CHECK_EQ(jint(hc, "MemorySwap", 0), -1);
	CHECK(json_array_size(w) == 1 &&
	      strstr(json_string_value(json_array_get(w, 0)), "Memory limited without swap"));
	json_decref(hc);
	json_decref(w);
	check_create_fails("{'Memory': 33554432, 'MemorySwap': 67108864}", &d, -EINVAL,
			   "cannot set a swap limit (--memory-swap)");
	husk_delegation_clear(&d);
}

static void test_create_defaults(void)
{
	struct husk_delegation d = full();
	struct husk_error err;
	json_t *hc;
	CHECK_EQ(create("{'Memory': 33554432, 'PidsLimit': 0}", &d, &hc, &err), 0);
	CHECK_EQ(jint(hc, "MemorySwap", 0), 67108864); /* Docker: twice the memory */
	CHECK(json_is_null(json_object_get(hc, "PidsLimit")));
	json_decref(hc);
	CHECK_EQ(create("{'Memory': 33554432, 'MemorySwap': -1, 'PidsLimit': 20}", &d, &hc, &err),
		 0);
	CHECK_EQ(jint(hc, "MemorySwap", 0), -1);
	CHECK_EQ(jint(hc, "PidsLimit", 0), 20);
	json_decref(hc);
	husk_delegation_clear(&d);
}

static void test_cpu_weight(void)
{
	/* runc ≥ 1.3.2 and crun: the default maps to the default, the ends to the ends. */
	CHECK_EQ(husk_cpu_shares_to_weight(0), 0);
	CHECK_EQ(husk_cpu_shares_to_weight(2), 1);
	CHECK_EQ(husk_cpu_shares_to_weight(3), 2);
	CHECK_EQ(husk_cpu_shares_to_weight(100), 17);
	CHECK_EQ(husk_cpu_shares_to_weight(512), 59);
	CHECK_EQ(husk_cpu_shares_to_weight(1024), 100);
	CHECK_EQ(husk_cpu_shares_to_weight(2048), 174);
	CHECK_EQ(husk_cpu_shares_to_weight(262143), 10000);
	CHECK_EQ(husk_cpu_shares_to_weight(262144), 10000);
	CHECK_EQ(husk_cpu_shares_to_weight(1000000), 10000);
}

/* The settings of a HostConfig, as "file=value;..." */
static char *settings_of(const char *hc_text)
{
	json_t *hc = test_json(hc_text);
	struct husk_resources r;
	struct husk_error err = {0};
	CHECK_EQ(husk_resources_parse(hc, &r, &err), 0);
	struct husk_cgroup_setting s[HUSK_CGROUP_SETTINGS_MAX];
	size_t n = husk_resources_settings(&r, s);
	char *out = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *next = xasprintf("%s%s=%s;", out, s[i].file, s[i].value);
		free(out);
		out = next;
	}
	husk_resources_clear(&r);
	json_decref(hc);
	return out;
}

static void check_settings(const char *hc, const char *want)
{
	char *got = settings_of(hc);
	CHECK_STREQ(got, want);
	free(got);
}

static void test_settings(void)
{
	check_settings("{}", "");
	/* memory.swap.max is the swap alone: MemorySwap less Memory */
	check_settings("{'Memory': 33554432, 'MemorySwap': 67108864}",
		       "memory.max=33554432;memory.swap.max=33554432;");
	check_settings("{'Memory': 33554432, 'MemorySwap': 33554432}",
		       "memory.max=33554432;memory.swap.max=0;");
	check_settings("{'Memory': 33554432, 'MemorySwap': -1}",
		       "memory.max=33554432;memory.swap.max=max;");
	check_settings("{'MemoryReservation': 16777216}", "memory.low=16777216;");
	/* NanoCpus: a quota of the 100 ms period */
	check_settings("{'NanoCpus': 500000000}", "cpu.max=50000 100000;");
	check_settings("{'NanoCpus': 1500000000}", "cpu.max=150000 100000;");
	check_settings("{'CpuQuota': 20000, 'CpuPeriod': 50000}", "cpu.max=20000 50000;");
	check_settings("{'CpuQuota': 20000}", "cpu.max=20000 100000;");
	check_settings("{'CpuPeriod': 50000}", "cpu.max=max 50000;");
	check_settings("{'CpuQuota': -1}", "");
	check_settings("{'CpuShares': 512}", "cpu.weight=59;");
	check_settings("{'PidsLimit': 20}", "pids.max=20;");
	check_settings("{'PidsLimit': -1}", "pids.max=max;");
	check_settings("{'PidsLimit': null}", "");
	check_settings("{'CpusetCpus': '0-1', 'CpusetMems': '0'}",
		       "cpuset.cpus=0-1;cpuset.mems=0;");
}

static struct husk_resources parsed(const char *hc_text)
{
	json_t *hc = test_json(hc_text);
	struct husk_resources r;
	struct husk_error err = {0};
	CHECK_EQ(husk_resources_parse(hc, &r, &err), 0);
	json_decref(hc);
	return r;
}

static int update(struct husk_resources *cur, const char *body_text, struct husk_error *err)
{
	struct husk_delegation d = full();
	json_t *body = test_json(body_text);
	memset(err, 0, sizeof *err);
	int r = husk_resources_update(cur, body, &d, err);
	json_decref(body);
	husk_delegation_clear(&d);
	return r;
}

static void test_update_merge(void)
{
	struct husk_error err;
	struct husk_resources r = parsed("{'Memory': 33554432, 'MemorySwap': 67108864}");
	/* within the swap limit: taken */
	CHECK_EQ(update(&r, "{'Memory': 50331648}", &err), 0);
	CHECK_EQ(r.memory, 50331648);
	CHECK_EQ(r.memory_swap, 67108864);
	/* past it without a new one: Docker's refusal, nothing changed */
	CHECK_EQ(update(&r, "{'Memory': 134217728}", &err), -EINVAL);
	CHECK_STREQ(err.message, "Memory limit should be smaller than already set memoryswap "
				 "limit, update the memoryswap at the same time");
	CHECK_EQ(r.memory, 50331648);
	CHECK_EQ(update(&r, "{'Memory': 134217728, 'MemorySwap': 268435456}", &err), 0);
	CHECK_EQ(r.memory, 134217728);
	CHECK_EQ(r.memory_swap, 268435456);
	CHECK_EQ(update(&r, "{'MemorySwap': 1048576}", &err), -EINVAL);
	CHECK(strstr(err.message, "Minimum memoryswap limit should be larger than memory limit"));
	CHECK_EQ(update(&r, "{'Memory': 1048576}", &err), -EINVAL);
	CHECK_STREQ(err.message, "Minimum memory limit allowed is 6MB");
	/* zeros leave things as they are; PidsLimit given changes */
	CHECK_EQ(update(&r, "{'Memory': 0, 'NanoCpus': 0, 'PidsLimit': 30}", &err), 0);
	CHECK_EQ(r.memory, 134217728);
	CHECK_EQ(r.pids_limit, 30);
	CHECK_EQ(update(&r, "{'PidsLimit': -1}", &err), 0);
	CHECK_EQ(r.pids_limit, 0);
	CHECK(r.pids_set);
	CHECK_EQ(update(&r, "{'CpusetCpus': '1'}", &err), 0);
	CHECK_STREQ(r.cpuset_cpus, "1");
	husk_resources_clear(&r);

	/* NanoCpus against period/quota, either way round */
	r = parsed("{'NanoCpus': 500000000}");
	CHECK_EQ(update(&r, "{'CpuQuota': 20000}", &err), -EINVAL);
	CHECK_STREQ(err.message, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has "
				 "already been set");
	CHECK_EQ(update(&r, "{'CpuPeriod': 20000}", &err), -EINVAL);
	CHECK_STREQ(err.message,
		    "Conflicting options: CPU Period cannot be updated as NanoCPUs has "
		    "already been set");
	CHECK_EQ(update(&r, "{'NanoCpus': 1000000000}", &err), 0);
	CHECK_EQ(r.nano_cpus, 1000000000);
	husk_resources_clear(&r);
	r = parsed("{'CpuQuota': 20000}");
	CHECK_EQ(update(&r, "{'NanoCpus': 1000000000}", &err), -EINVAL);
	CHECK_STREQ(err.message,
		    "Conflicting options: Nano CPUs cannot be updated as CPU Quota has "
		    "already been set");
	husk_resources_clear(&r);
	/* Docker's quirk: no memory limit (MemorySwap 0) takes none without --memory-swap */
	r = parsed("{}");
	CHECK_EQ(update(&r, "{'Memory': 33554432}", &err), -EINVAL);
	CHECK_EQ(update(&r, "{'Memory': 33554432, 'MemorySwap': -1}", &err), 0);
	husk_resources_clear(&r);
}

static void check_file(const char *dir, const char *file, const char *want)
{
	char *p = xasprintf("%s/%s", dir, file);
	char *got = test_read_file(p);
	CHECK_STREQ(got, want);
	free(got);
	free(p);
}

/* A fake cgroup: the files a real one has, empty. */
static void fake_cgroup(const char *dir, const char *controllers)
{
	static const char *const files[] = {"cgroup.procs", "cgroup.subtree_control",
					    "memory.max",   "memory.swap.max",
					    "memory.low",   "cpu.max",
					    "cpu.weight",   "pids.max",
					    "cpuset.cpus",  "cpuset.mems"};
	mkdir(dir, 0755);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		free(test_write_file(dir, files[i], ""));
	free(test_write_file(dir, "cgroup.controllers", controllers));
}

static void test_apply(void)
{
	char *dir = test_tmpdir();
	fake_cgroup(dir, "cpuset cpu io memory pids\n");
	struct husk_resources r = parsed("{'Memory': 33554432, 'MemorySwap': 67108864, "
					 "'NanoCpus': 500000000, 'CpuShares': 1024, "
					 "'PidsLimit': 20, 'CpusetCpus': '0'}");
	struct husk_error err = {0};
	CHECK_EQ(husk_resources_apply(dir, &r, &err), 0);
	check_file(dir, "memory.max", "33554432");
	check_file(dir, "memory.swap.max", "33554432");
	check_file(dir, "cpu.max", "50000 100000");
	check_file(dir, "cpu.weight", "100");
	check_file(dir, "pids.max", "20");
	check_file(dir, "cpuset.cpus", "0");
	check_file(dir, "memory.low", "");
	husk_resources_clear(&r);
	/* No swap accounting: "max" is what there is; a limit is an error with the file named. */
	char *swap = xasprintf("%s/memory.swap.max", dir);
	unlink(swap);
	r = parsed("{'Memory': 33554432, 'MemorySwap': -1}");
	CHECK_EQ(husk_resources_apply(dir, &r, &err), 0);
	husk_resources_clear(&r);
	r = parsed("{'Memory': 33554432, 'MemorySwap': 67108864}");
	CHECK_EQ(husk_resources_apply(dir, &r, &err), -ENOENT);
	CHECK(strstr(err.message, "memory.swap.max") != NULL);
	husk_resources_clear(&r);
	free(swap);
	CHECK_EQ(husk_resources_controllers(&(struct husk_resources){.memory = 1, .pids_limit = 2}),
		 HUSK_CG_MEMORY | HUSK_CG_PIDS);
	CHECK_EQ(husk_resources_controllers(&(struct husk_resources){.pids_limit = -1}), 0);
	test_tmpdir_remove(dir);
}

static void test_controllers(void)
{
	char buf[64];
	unsigned m = husk_cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n");
	CHECK_EQ(m, HUSK_CG_ALL);
	CHECK_EQ(husk_cgroup_parse_controllers("hugetlb\n"), 0); /* the hybrid host's leftover */
	CHECK_EQ(husk_cgroup_parse_controllers(""), 0);
	CHECK_STREQ(husk_cgroup_format_controllers(HUSK_CG_MEMORY | HUSK_CG_CPU, buf, sizeof buf),
		    "cpu memory");
	CHECK_STREQ(husk_cgroup_format_controllers(0, buf, sizeof buf), "");
	uint64_t bits[16];
	CHECK_EQ(husk_cpuset_parse("0-2,5", bits), 0);
	CHECK_EQ(bits[0], 0x27);
	CHECK_EQ(husk_cpuset_parse("3-1", bits), -EINVAL);
	CHECK_EQ(husk_cpuset_parse("1,", bits), -EINVAL);
	CHECK_EQ(husk_cpuset_parse("a", bits), -EINVAL);
	CHECK_EQ(husk_cpuset_parse("", bits), 0);
}

/* The monitor's part, on a fake tree: the container's cgroup made, the controllers enabled for
 * it, the monitor moved out of its scope's own node. */
static void test_make_container(void)
{
	char *root = test_tmpdir();
	fake_cgroup(root, "cpu memory pids\n");
	char *ctr = NULL;
	struct husk_error err = {0};
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	CHECK_EQ(
	    husk_cgroup_make_container(HUSK_CGROUP_CGROUPFS, root, id, HUSK_CG_ALL, &ctr, &err), 0);
	char *want = xasprintf("%s/husk-0123456789ab", root);
	CHECK_STREQ(ctr, want);
	struct stat st;
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	check_file(root, "cgroup.subtree_control", "+cpu +memory +pids");
	free(ctr);
	/* again (a new monitor after a restart): the same one */
	CHECK_EQ(
	    husk_cgroup_make_container(HUSK_CGROUP_CGROUPFS, root, id, HUSK_CG_ALL, &ctr, &err), 0);
	CHECK_STREQ(ctr, want);
	free(ctr);
	free(want);

	char *scope = xasprintf("%s/husk-x.scope", root);
	fake_cgroup(scope, "cpu pids\n");
	char *mon = xasprintf("%s/monitor", scope);
	mkdir(mon, 0755);
	free(test_write_file(mon, "cgroup.procs", ""));
	CHECK_EQ(
	    husk_cgroup_make_container(HUSK_CGROUP_SYSTEMD, scope, id, HUSK_CG_PIDS, &ctr, &err),
	    0);
	want = xasprintf("%s/container", scope);
	CHECK_STREQ(ctr, want);
	check_file(mon, "cgroup.procs", "0"); /* "0": the writer itself */
	check_file(scope, "cgroup.subtree_control", "+pids");
	free(want);
	free(ctr);
	free(mon);
	free(scope);
	CHECK_EQ(husk_cgroup_make_container(HUSK_CGROUP_NONE, root, id, 0, &ctr, &err), -EINVAL);
	CHECK(ctr == NULL);
	test_tmpdir_remove(root);
}

static void test_why_not(void)
{
	char buf[768];
	struct husk_delegation d = {.driver = HUSK_CGROUP_NONE};
	snprintf(d.why, sizeof d.why, "no cgroup root is configured");
	husk_delegation_why_not(&d, HUSK_CG_MEMORY, buf, sizeof buf);
	CHECK_STREQ(buf, "no cgroup v2 is delegated to husk: no cgroup root is configured");
	d.driver = HUSK_CGROUP_SYSTEMD;
	d.dir = xstrdup("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service");
	d.controllers = HUSK_CG_CPU | HUSK_CG_MEMORY;
	husk_delegation_why_not(&d, HUSK_CG_PIDS, buf, sizeof buf);
	CHECK(str_startswith(buf, "the pids controller is not delegated to husk "
				  "(/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service "
				  "offers cpu memory)"));
	CHECK_STREQ(husk_cgroup_driver_name(d.driver), "systemd");
	CHECK_STREQ(husk_cgroup_driver_name(HUSK_CGROUP_CGROUPFS), "cgroupfs");
	CHECK_STREQ(husk_cgroup_driver_name(HUSK_CGROUP_NONE), "none");
	husk_delegation_clear(&d);
	/* A configured root that is no cgroup: none, and why. */
	char *dir = test_tmpdir();
	husk_delegation_detect(dir, false, &d);
	CHECK_EQ(d.driver, HUSK_CGROUP_NONE);
	CHECK(strstr(d.why, "is no cgroup v2 directory") != NULL);
	husk_delegation_clear(&d);
	husk_delegation_detect("relative/path", false, &d);
	CHECK(strstr(d.why, "not an absolute path") != NULL);
	husk_delegation_clear(&d);
	husk_delegation_detect(NULL, false, &d);
	CHECK(strstr(d.why, "no cgroup root is configured") != NULL);
	husk_delegation_clear(&d);
	test_tmpdir_remove(dir);
}

int main(void)
{
	RUN(test_docker_messages);
	RUN(test_refused_without_delegation);
	RUN(test_create_defaults);
	RUN(test_cpu_weight);
	RUN(test_settings);
	RUN(test_update_merge);
	RUN(test_apply);
	RUN(test_controllers);
	RUN(test_make_container);
	RUN(test_why_not);
	return TEST_EXIT();
}
