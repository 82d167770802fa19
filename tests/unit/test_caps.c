/* core/caps.c: capability names and Docker's --cap-add/--cap-drop arithmetic (moby's
 * oci/caps TweakCapabilities). */
#include "test.h"
#include "testutil.h"

#include "core/caps.h"

#include <linux/capability.h>

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

int main(void)
{
	RUN(test_from_name);
	RUN(test_name);
	return test_result();
}
