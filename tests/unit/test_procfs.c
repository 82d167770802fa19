/* The /proc and cgroup v2 parsers behind top, stats and pause, on texts as the kernel writes
 * them; the process listing and the freezer on what this machine has. */
#include "test.h"

#include "core/cgroup.h"
#include "core/fs.h"
#include "core/procfs.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void test_proc_stat(void)
{
	/* comm with a space and a parenthesis, as a process may name itself */
	const char *s = "1234 (a b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 11 5 20 0 2 0 "
			"98765 2268000 345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
	struct husk_proc_stat st;
	CHECK(husk_parse_proc_stat(s, &st) == 0);
	CHECK(st.state == 'S' && st.ppid == 1 && st.flags == 4194560);
	CHECK(st.utime == 7 && st.stime == 3 && st.cutime == 11 && st.cstime == 5);
	CHECK(st.threads == 2 && st.start == 98765);
	CHECK(husk_parse_proc_stat("1234 (x S 1", &st) == -EINVAL);
	CHECK(husk_proc_stat(getpid(), &st) == 0 && st.state == 'R' && st.ppid == getppid());
}

static void test_keyed(void)
{
	const char *rollup = "55a5-7ffe ---p 00000000 00:00 0 [rollup]\nRss:   1780 kB\n"
			     "Pss:    253 kB\nPss_Anon:  116 kB\n";
	uint64_t v = 0;
	CHECK(husk_parse_keyed(rollup, "Pss", &v) == 0 && v == 253);
	CHECK(husk_parse_keyed(rollup, "Pss_Anon", &v) == 0 && v == 116);
	CHECK(husk_parse_keyed(rollup, "Pss_File", &v) == -ENOENT);
	CHECK(husk_parse_keyed("read_bytes: 4096\nwrite_bytes: 0\n", "write_bytes", &v) == 0 &&
	      v == 0);
}

static void test_proc_cpu(void)
{
	const char *s = "cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 5 0 10 150 2 2 3 3 0 0\n"
			"cpu1 5 1 10 150 2 3 3 4 0 0\nintr 123\n";
	uint64_t ticks;
	unsigned cpus;
	CHECK(husk_parse_proc_cpu(s, &ticks, &cpus) == 0);
	CHECK(ticks == 10 + 1 + 20 + 300 + 4 + 5 + 6 && cpus == 2);
	CHECK(husk_parse_proc_cpu("intr 1\n", &ticks, &cpus) == -EINVAL);
}

static void test_net_dev(void)
{
	const char *s =
	    "Inter-|   Receive                            |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
	    "errs drop fifo colls carrier compressed\n"
	    "    lo:    3267      29    0    0    0     0          0         0     3267      29 "
	    "   0    0    0     0       0          0\n"
	    "  eth0: 100 2 3 4 0 0 0 0 200 5 6 7 0 0 0 0\n";
	json_t *n = husk_parse_net_dev(s);
	CHECK(json_object_size(n) == 2);
	json_t *e = json_object_get(n, "eth0");
	CHECK(json_integer_value(json_object_get(e, "rx_bytes")) == 100);
	CHECK(json_integer_value(json_object_get(e, "rx_dropped")) == 4);
	CHECK(json_integer_value(json_object_get(e, "tx_packets")) == 5);
	CHECK(json_integer_value(json_object_get(e, "tx_errors")) == 6);
	CHECK(json_integer_value(json_object_get(json_object_get(n, "lo"), "tx_bytes")) == 3267);
	json_decref(n);
}

static void test_ns_pids(void)
{
	pid_t *pids;
	size_t n;
	CHECK(husk_proc_ns_pids(getpid(), &pids, &n) == 0);
	bool me = false;
	for (size_t i = 0; i < n; i++)
		me |= pids[i] == getpid();
	CHECK(me && n > 1);
	free(pids);
	CHECK(husk_proc_ns_pids(0x3fffffff, &pids, &n) == 0 && n == 0);
	free(pids);
}

static void test_cgroup_path(void)
{
	const char *mi = "24 1 0:22 / /sys rw - sysfs sysfs rw\n"
			 "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	char *p = husk_cgroup_path_from("4:memory:/x\n0::/user.slice/husk-1.scope\n", mi);
	CHECK_STREQ(p, "/sys/fs/cgroup/unified/user.slice/husk-1.scope");
	free(p);
	CHECK(husk_cgroup_path_from("0::/\n", mi) == NULL);	/* the root: no container's */
	CHECK(husk_cgroup_path_from("1:cpu:/a\n", mi) == NULL); /* no unified line */
	/* A cgroup namespace's view: the mount's root is where our tree starts. */
	const char *mi2 = "50 1 0:40 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	p = husk_cgroup_path_from("0::/user.slice/c.scope\n", mi2);
	CHECK_STREQ(p, "/sys/fs/cgroup/c.scope");
	free(p);
	/* The unified hierarchy bound over /sys/fs/cgroup (test-user.sh's systemd --user on a
	 * hybrid host): the later mount hides the earlier. */
	const char *mi3 = "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
			  "90 30 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	p = husk_cgroup_path_from("0::/u.slice/user@1.service/app.slice/a.service\n", mi3);
	CHECK_STREQ(p, "/sys/fs/cgroup/u.slice/user@1.service/app.slice/a.service");
	free(p);
}

static void write_text(const char *dir, const char *file, const char *text)
{
	char *p = xasprintf("%s/%s", dir, file);
	CHECK(write_file_atomic(p, text, strlen(text), 0644, false) == 0);
	free(p);
}

static void test_cgroup_files(void)
{
	char dir[] = "/tmp/husk-cg-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	write_text(dir, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
	write_text(dir, "memory.max", "max\n");
	write_text(dir, "pids.current", "7\n");
	uint64_t v;
	CHECK(husk_cgroup_read(dir, "cpu.stat", "user_usec", &v) == 0 && v == 1000);
	CHECK(husk_cgroup_read(dir, "cpu.stat", "usage", &v) == -ENOENT);
	CHECK(husk_cgroup_read(dir, "memory.max", NULL, &v) == 0 && v == UINT64_MAX);
	CHECK(husk_cgroup_read(dir, "pids.current", NULL, &v) == 0 && v == 7);
	CHECK(husk_cgroup_read(dir, "io.stat", NULL, &v) == -ENOENT);
	/* A freezer that has answered: the write goes through, the events file says frozen. */
	write_text(dir, "cgroup.freeze", "0\n");
	write_text(dir, "cgroup.events", "populated 1\nfrozen 1\n");
	struct husk_error err = {0};
	CHECK(husk_cgroup_freeze(dir, true, 100, &err) == 0);
	/* One that does not: a timeout, not a hang. */
	CHECK(husk_cgroup_freeze(dir, false, 50, &err) == -ETIMEDOUT);
	rm_rf(dir);
}

int main(void)
{
	RUN(test_proc_stat);
	RUN(test_keyed);
	RUN(test_proc_cpu);
	RUN(test_net_dev);
	RUN(test_ns_pids);
	RUN(test_cgroup_path);
	RUN(test_cgroup_files);
	return TEST_EXIT();
}
