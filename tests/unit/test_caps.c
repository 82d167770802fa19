/* core/caps.c: capability names and Docker's --cap-add/--cap-drop arithmetic (moby's
 * oci/caps TweakCapabilities). */
#include "test.h"
#include "testutil.h"

#include "core/caps.h"

#include <linux/capability.h>

#define DOCKER_CAPS UINT64_C(0xa80425fb)
#define BIT(c) (UINT64_C(1) << (c))

static int kernel_last_cap(void)
{
	char *s = test_read_file("/proc/sys/kernel/cap_last_cap");
	int last = atoi(s);
	free(s);
	return last;
}

static void test_from_name(void)
{
	CHECK_EQ(husk_cap_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
	CHECK_EQ(husk_cap_from_name("NET_ADMIN"), CAP_NET_ADMIN);
	CHECK_EQ(husk_cap_from_name("net_admin"), CAP_NET_ADMIN);
	CHECK_EQ(husk_cap_from_name("cap_net_admin"), CAP_NET_ADMIN);
	CHECK_EQ(husk_cap_from_name("Net_Admin"), CAP_NET_ADMIN);
	CHECK_EQ(husk_cap_from_name("Cap_Net_Admin"), CAP_NET_ADMIN); /* Docker upper-cases */
	CHECK_EQ(husk_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
	CHECK_EQ(husk_cap_from_name("SYS_ADMIN"), CAP_SYS_ADMIN);
	CHECK_EQ(husk_cap_from_name("setfcap"), CAP_SETFCAP);
	static const char *const bad[] = {
	    "",		 "CAP_",	   "cap",	 "junk",	  "NET ADMIN",
	    "NET-ADMIN", "CAP_NET_ADMIN ", " NET_ADMIN", "CAP_CAP_CHOWN", "ALL",
	    "12",	 "CAP_12",	   "0x1",	 "NET_ADMIN\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = husk_cap_from_name(bad[i]);
		if (r != -EINVAL) {
			fprintf(stderr, "  husk_cap_from_name(\"%s\") = %d\n", bad[i], r);
			test_failures++;
		}
	}
	char longname[200];
	memset(longname, 'A', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	memcpy(longname, "NET_ADMIN", 9);
	CHECK_EQ(husk_cap_from_name(longname), -EINVAL);
}

static void test_name(void)
{
	int last = kernel_last_cap();
	CHECK(last >= CAP_AUDIT_READ && last < 63);
	CHECK_STREQ(husk_cap_name(CAP_CHOWN), "CAP_CHOWN");
	CHECK_STREQ(husk_cap_name(CAP_NET_ADMIN), "CAP_NET_ADMIN");
	CHECK_STREQ(husk_cap_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
	CHECK_STREQ(husk_cap_name(CAP_AUDIT_READ), "CAP_AUDIT_READ");
	CHECK(husk_cap_name(-1) == NULL);
	CHECK(husk_cap_name(64) == NULL);
	CHECK(husk_cap_name(1000) == NULL);
	/* beyond the kernel's last capability: unknown, not a number */
	CHECK(husk_cap_name(last + 1) == NULL);
	CHECK(husk_cap_name(63) == NULL);
	for (int c = 0; c <= last; c++) {
		const char *n = husk_cap_name(c);
		CHECK(n && str_startswith(n, "CAP_"));
		CHECK_EQ(husk_cap_from_name(n), c);
		CHECK(husk_cap_name(c) == n); /* static storage, computed once */
	}
	CHECK_EQ(husk_caps_all(), (UINT64_C(1) << (last + 1)) - 1);
}

/* add and drop are "|"-separated lists ("" for none). */
static void check_adjust(const char *add, const char *drop, uint64_t want)
{
	_cleanup_strv_ char **a = NULL;
	_cleanup_strv_ char **d = NULL;
	_cleanup_free_ char *as = xstrdup(add), *ds = xstrdup(drop);
	char *save;
	for (char *t = strtok_r(as, "|", &save); t; t = strtok_r(NULL, "|", &save))
		a = strv_push(a, t);
	for (char *t = strtok_r(ds, "|", &save); t; t = strtok_r(NULL, "|", &save))
		d = strv_push(d, t);
	struct husk_error err = {0};
	uint64_t out = 0x5555;
	int r = husk_caps_adjust(DOCKER_CAPS, a, d, &out, &err);
	if (r != 0 || out != want) {
		fprintf(stderr, "  add [%s] drop [%s]: %d %#llx (%s), expected %#llx\n", add, drop,
			r, (unsigned long long)out, err.message, (unsigned long long)want);
		test_failures++;
	}
}

static void check_adjust_fails(const char *add, const char *drop, const char *message)
{
	char *a[] = {(char *)add, NULL}, *d[] = {(char *)drop, NULL};
	struct husk_error err = {0};
	uint64_t out = 0x5555;
	int r = husk_caps_adjust(DOCKER_CAPS, add ? a : NULL, drop ? d : NULL, &out, &err);
	CHECK_EQ(r, -EINVAL);
	CHECK_EQ(err.code, -EINVAL);
	CHECK_STREQ(err.message, message);
	CHECK_EQ(out, 0x5555);
}

static void test_adjust(void)
{
	uint64_t all = husk_caps_all();
	check_adjust("", "", DOCKER_CAPS);
	CHECK_EQ(husk_caps_adjust(DOCKER_CAPS, NULL, NULL, &(uint64_t){0}, NULL), 0);
	check_adjust("", "NET_RAW", DOCKER_CAPS & ~BIT(CAP_NET_RAW));
	check_adjust("", "net_raw|CAP_CHOWN", DOCKER_CAPS & ~BIT(CAP_NET_RAW) & ~BIT(CAP_CHOWN));
	check_adjust("", "SYS_ADMIN", DOCKER_CAPS); /* not in the set: nothing to drop */
	check_adjust("SYS_ADMIN", "", DOCKER_CAPS | BIT(CAP_SYS_ADMIN));
	check_adjust("cap_sys_admin|NET_ADMIN", "",
		     DOCKER_CAPS | BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_ADMIN));
	check_adjust("CHOWN", "", DOCKER_CAPS); /* already there */
	/* the same name in both: dropped from the base, then added */
	check_adjust("NET_RAW", "NET_RAW", DOCKER_CAPS);
	check_adjust("SYS_ADMIN", "SYS_ADMIN", DOCKER_CAPS | BIT(CAP_SYS_ADMIN));
	/* ALL in drop: only what is added */
	check_adjust("", "ALL", 0);
	check_adjust("", "all", 0);
	check_adjust("CHOWN|KILL", "ALL", BIT(CAP_CHOWN) | BIT(CAP_KILL));
	check_adjust("CHOWN", "NET_RAW|ALL", BIT(CAP_CHOWN));
	/* ALL in add: every capability but the dropped ones, whatever the order */
	check_adjust("ALL", "", all);
	check_adjust("all", "", all);
	check_adjust("ALL", "NET_ADMIN", all & ~BIT(CAP_NET_ADMIN));
	check_adjust("CHOWN|ALL", "NET_ADMIN|SYS_ADMIN",
		     all & ~BIT(CAP_NET_ADMIN) & ~BIT(CAP_SYS_ADMIN));
	check_adjust("ALL", "CHOWN|KILL", all & ~BIT(CAP_CHOWN) & ~BIT(CAP_KILL));
	check_adjust("ALL", "ALL", all);

	/* unknown names: Docker's message, names upper-cased with the CAP_ prefix */
	check_adjust_fails("FOO", NULL, "unknown capability: \"CAP_FOO\"");
	check_adjust_fails("cap_foo", NULL, "unknown capability: \"CAP_FOO\"");
	check_adjust_fails(NULL, "foo", "unknown capability: \"CAP_FOO\"");
	check_adjust_fails("NET_ADMIN", "bar", "unknown capability: \"CAP_BAR\"");
	check_adjust_fails("", NULL, "unknown capability: \"CAP_\"");
	char *a[] = {"ALL", "nope", NULL}; /* ALL does not excuse the others */
	struct husk_error err = {0};
	uint64_t out = 7;
	CHECK_EQ(husk_caps_adjust(DOCKER_CAPS, a, NULL, &out, &err), -EINVAL);
	CHECK_STREQ(err.message, "unknown capability: \"CAP_NOPE\"");
	CHECK_EQ(out, 7);
	CHECK_EQ(husk_caps_adjust(DOCKER_CAPS, a, NULL, &out, NULL), -EINVAL);
}

int main(void)
{
	RUN(test_from_name);
	RUN(test_name);
	RUN(test_adjust);
	return test_result();
}
