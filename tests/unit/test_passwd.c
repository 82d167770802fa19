/* core/passwd.c: Docker's User field resolved against an image's /etc/passwd and /etc/group
 * (written to a temporary directory). */
#include "test.h"
#include "testutil.h"

#include "core/passwd.h"

static char *dir, *passwd, *group;

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
				  "# a comment\n"
				  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				  "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
				  "bob:x:1001:100::/home/bob:/bin/sh\n"
				  "not a passwd line\n"
				  "carol:x:many:5::/home/carol:/bin/sh\n"
				  "short:x:1002:1002\n"
				  "alice:x:2000:2000::/second:/bin/sh\n"
				  "dave:x:1003:1003:::/bin/sh"; /* no newline at the end */

static const char group_text[] = "root:x:0:\n"
				 "wheel:x:10:root,alice\n"
				 "users:x:100:bob,alice\n"
				 "alice:x:1000:\n"
				 "# audio:x:28:alice\n"
				 "audio:x:29:alice\n"
				 "video:x:44:bob\n"
				 "bad:x:big:alice\n"
				 "alicia:x:45:alicex,xalice\n"
				 "staff:x:50\n"
				 "dave:x:1003:dave";

/* Resolves spec (with extra groups, "|"-separated, or NULL) and checks the user. */
static void check_user(const char *spec, const char *extra, unsigned uid, unsigned gid,
		       const char *groups, const char *home)
{
	_cleanup_strv_ char **x = NULL;
	_cleanup_free_ char *xs = extra ? xstrdup(extra) : NULL;
	char *save;
	for (char *t = xs ? strtok_r(xs, "|", &save) : NULL; t; t = strtok_r(NULL, "|", &save))
		x = strv_push(x, t);
	struct husk_user u;
	struct husk_error err = {0};
	int r = husk_user_resolve(spec, x, passwd, group, &u, &err);
	if (r != 0) {
		fprintf(stderr, "  \"%s\": %d %s\n", spec ? spec : "(null)", r, err.message);
		test_failures++;
		return;
	}
	char g[512] = "";
	for (size_t i = 0; i < u.n_groups; i++)
		snprintf(g + strlen(g), sizeof g - strlen(g), "%s%u", i ? "," : "", u.groups[i]);
	if (u.uid != uid || u.gid != gid || !streq(g, groups) || !streq(u.home, home)) {
		fprintf(stderr, "  \"%s\": %u:%u [%s] %s; expected %u:%u [%s] %s\n",
			spec ? spec : "(null)", u.uid, u.gid, g, u.home, uid, gid, groups, home);
		test_failures++;
	}
}

static void check_fails(const char *spec, const char *extra, const char *message)
{
	char *x[] = {(char *)extra, NULL};
	struct husk_user u;
	struct husk_error err = {0};
	CHECK_EQ(husk_user_resolve(spec, extra ? x : NULL, passwd, group, &u, &err), -EINVAL);
	CHECK_EQ(err.code, -EINVAL);
	CHECK_STREQ(err.message, message);
}

static void test_names_and_ids(void)
{
	check_user("", NULL, 0, 0, "10", "/root");
	check_user(NULL, NULL, 0, 0, "10", "/root");
	check_user("root", NULL, 0, 0, "10", "/root");
	check_user("0", NULL, 0, 0, "10", "/root");
	check_user("daemon", NULL, 1, 1, "", "/usr/sbin");
	/* supplementary groups: every group that lists the user, in file order */
	check_user("alice", NULL, 1000, 1000, "10,100,29", "/home/alice");
	check_user("1000", NULL, 1000, 1000, "10,100,29", "/home/alice");
	check_user("bob", NULL, 1001, 100, "100,44", "/home/bob");
	check_user("dave", NULL, 1003, 1003, "1003", "");
	check_user("01001", NULL, 1001, 100, "100,44", "/home/bob");
	/* a number needs no entry */
	check_user("4242", NULL, 4242, 0, "", "/");
	check_user("4242:4243", NULL, 4242, 4243, "", "/");
	check_user("2147483647", NULL, 2147483647, 0, "", "/");
	/* a group given: it is the primary group, and membership adds none */
	check_user("alice:44", NULL, 1000, 44, "", "/home/alice");
	check_user("alice:video", NULL, 1000, 44, "", "/home/alice");
	check_user("1000:users", NULL, 1000, 100, "", "/home/alice");
	check_user("bob:0", NULL, 1001, 0, "", "/home/bob");
	check_user(":100", NULL, 0, 100, "", "/root");
	check_user("4242:staff", NULL, 4242, 50, "", "/");

	check_fails("nobody", NULL,
		    "unable to find user nobody: no matching entries in passwd file");
	check_fails("carol", NULL, "unable to find user carol: no matching entries in passwd file");
	check_fails("short", NULL, "unable to find user short: no matching entries in passwd file");
	check_fails("Alice", NULL, "unable to find user Alice: no matching entries in passwd file");
	check_fails("-1", NULL, "unable to find user -1: no matching entries in passwd file");
	check_fails("nobody:users", NULL,
		    "unable to find user nobody: no matching entries in passwd file");
	check_fails("alice:nogroup", NULL,
		    "unable to find group nogroup: no matching entries in group file");
	check_fails("alice:bad", NULL,
		    "unable to find group bad: no matching entries in group file");
	check_fails("2147483648", NULL, "invalid user: 2147483648");
	check_fails("99999999999999999999", NULL, "invalid user: 99999999999999999999");
	check_fails("1:2147483648", NULL, "invalid group: 2147483648");
}

static void test_extra_groups(void)
{
	check_user("4242", "audio|4000", 4242, 0, "29,4000", "/");
	check_user("alice", "video|0", 1000, 1000, "10,100,29,44,0", "/home/alice");
	check_user("alice:users", "wheel", 1000, 100, "10", "/home/alice");
	check_fails("alice", "nosuch",
		    "unable to find group nosuch: no matching entries in group file");
	check_fails("alice", "2147483648", "invalid group: 2147483648");

	/* at most 64 groups, the rest are dropped */
	_cleanup_free_ char *many = xstrdup("");
	for (int i = 0; i < 80; i++) {
		char *m = xasprintf("%sg%d:x:%d:alice\n", many, i, 5000 + i);
		free(many);
		many = m;
	}
	_cleanup_free_ char *big = test_write_file(dir, "group.many", many);
	char *x[] = {"g79", NULL};
	struct husk_user u;
	struct husk_error err = {0};
	CHECK_EQ(husk_user_resolve("alice", x, passwd, big, &u, &err), 0);
	CHECK_EQ(u.n_groups, 64);
	CHECK_EQ(u.groups[0], 5000);
	CHECK_EQ(u.groups[63], 5063);
}

static void test_missing_files(void)
{
	_cleanup_free_ char *none = xasprintf("%s/none", dir);
	struct husk_user u;
	struct husk_error err = {0};
	CHECK_EQ(husk_user_resolve("1000:5", NULL, none, none, &u, &err), 0);
	CHECK(u.uid == 1000 && u.gid == 5 && u.n_groups == 0);
	CHECK_STREQ(u.home, "/");
	CHECK_EQ(husk_user_resolve("", NULL, none, none, &u, &err), 0);
	CHECK(u.uid == 0 && u.gid == 0 && u.n_groups == 0);
	CHECK_STREQ(u.home, "/");
	CHECK_EQ(husk_user_resolve("root", NULL, none, none, &u, &err), -EINVAL);
	CHECK_STREQ(err.message, "unable to find user root: no matching entries in passwd file");
	CHECK_EQ(husk_user_resolve("alice", NULL, passwd, none, &u, &err), 0);
	CHECK(u.uid == 1000 && u.gid == 1000 && u.n_groups == 0);
	CHECK_EQ(husk_user_resolve("0:wheel", NULL, passwd, none, &u, &err), -EINVAL);
	CHECK_STREQ(err.message, "unable to find group wheel: no matching entries in group file");
}

int main(void)
{
	dir = test_tmpdir();
	passwd = test_write_file(dir, "passwd", passwd_text);
	group = test_write_file(dir, "group", group_text);
	RUN(test_names_and_ids);
	RUN(test_extra_groups);
	RUN(test_missing_files);
	free(passwd);
	free(group);
	test_tmpdir_remove(dir);
	return test_result();
}
