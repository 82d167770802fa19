/* core/changes.c: docker diff's classification of an overlay upper directory against layers,
 * on temporary trees: added, modified, deleted (whiteouts), opaque directories, the parent
 * directory rule, and the mount points husk makes. */
#include "test.h"
#include "testutil.h"

#include "core/changes.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

static char *mkpath(const char *dir, const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

static void mkdirs(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = mkpath(dir, rel);
	CHECK_OK(mkdir_p(p, 0755));
}

static void file(const char *dir, const char *rel, const char *content)
{
	_cleanup_free_ char *p = mkpath(dir, rel);
	free(test_write_file(dir, rel, content));
	struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

static void whiteout(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = mkpath(dir, rel);
	CHECK_OK(mknod(p, S_IFCHR | 0, makedev(0, 0)));
}

static bool opaque(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = mkpath(dir, rel);
	return setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0;
}

/* Gives every directory below dir the same time, as layers unpacked from a tar have. */
static void settle(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = mkpath(dir, rel);
	struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
	utimensat(AT_FDCWD, p, ts, 0);
}

/* The changes as "K /path" joined by |. */
static char *changes(const char *upper, const char *const *layers, size_t n, char **ignore)
{
	int fds[8];
	for (size_t i = 0; i < n; i++)
		fds[i] = open(layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	json_t *out = NULL;
	struct husk_error err = {0};
	CHECK_OK(husk_changes(up, fds, n, ignore, &out, &err));
	close(up);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	if (json_is_null(out))
		return xstrdup("null");
	char **v = xcalloc(1, sizeof(char *));
	size_t i;
	json_t *c;
	json_array_foreach(out, i, c)
	{
		static const char kinds[] = "CAD";
		_cleanup_free_ char *s =
		    xasprintf("%c %s", kinds[jint(c, "Kind", 0)], jstr(c, "Path"));
		v = strv_push(v, s);
	}
	json_decref(out);
	char *s = test_join(v);
	strv_free(v);
	return s;
}

static void test_changes(void)
{
	char *dir = test_tmpdir();
	_cleanup_free_ char *l1 = mkpath(dir, "l1"), *l2 = mkpath(dir, "l2");
	_cleanup_free_ char *up = mkpath(dir, "upper");
	/* layer 1: etc/{passwd,motd,group}, opt/data/{file1,file2}, usr/bin/tool */
	mkdirs(l1, "etc");
	mkdirs(l1, "opt/data");
	mkdirs(l1, "usr/bin");
	file(l1, "etc/passwd", "root\n");
	file(l1, "etc/motd", "hi\n");
	file(l1, "etc/group", "root\n");
	file(l1, "opt/data/file1", "1");
	file(l1, "opt/data/file2", "2");
	file(l1, "usr/bin/tool", "t");
	/* layer 2: deletes etc/motd, replaces opt/data (opaque) with file3 */
	mkdirs(l2, "etc");
	mkdirs(l2, "opt/data");
	whiteout(l2, "etc/motd");
	file(l2, "opt/data/file3", "3");
	if (!opaque(l2, "opt/data")) {
		fprintf(stderr, "  skipped: no user xattrs on %s\n", dir);
		test_tmpdir_remove(dir);
		return;
	}
	const char *layers[] = {l1, l2};
	mkdirs(up, "");
	_cleanup_free_ char *c0 = changes(up, layers, 2, NULL);
	CHECK_STREQ(c0, "null");

	/* upper: etc/passwd modified (copied up: /etc keeps its times), etc/group deleted,
	 * tmp/new added (tmp is new), opt/data/file3 deleted, usr/bin/tool modified */
	for (const char *d = "etc\0opt\0opt/data\0usr\0usr/bin\0"; *d; d += strlen(d) + 1) {
		settle(l1, d);
		settle(l2, d);
	}
	mkdirs(up, "etc");
	mkdirs(up, "opt/data");
	mkdirs(up, "usr/bin");
	mkdirs(up, "tmp");
	file(up, "etc/passwd", "root\nmore\n");
	whiteout(up, "etc/group");
	whiteout(up, "opt/data/file3");
	file(up, "tmp/new", "x");
	file(up, "usr/bin/tool", "t2");
	file(up, "etc/hosts", ""); /* a mount point husk made */
	for (const char *d = "etc\0opt\0opt/data\0usr\0usr/bin\0"; *d; d += strlen(d) + 1)
		settle(up, d);
	char *ignore[] = {"/etc/hosts", "/proc", NULL};
	_cleanup_free_ char *c = changes(up, layers, 2, ignore);
	/* Directories are reported when something in them was added or deleted (Docker's
	 * rule), not for a file modified in them. */
	CHECK_STREQ(c, "C /etc|D /etc/group|C /etc/passwd|C /opt/data|D /opt/data/file3|"
		       "A /tmp|A /tmp/new|C /usr/bin/tool");
	/* Without the mount point list, husk's /etc/hosts is a change of the container. */
	_cleanup_free_ char *c2 = changes(up, layers, 2, NULL);
	CHECK(strstr(c2, "A /etc/hosts") != NULL);

	/* An opaque directory replaced what the layers had: the rest is deleted. file1 and
	 * file2 were hidden by layer 2 already. */
	_cleanup_free_ char *data = mkpath(up, "opt/data");
	CHECK_OK(rm_rf(data));
	mkdirs(up, "opt/data");
	opaque(up, "opt/data");
	file(up, "opt/data/n", "n");
	_cleanup_free_ char *c3 = changes(up, layers, 2, ignore);
	CHECK(strstr(c3, "|C /opt/data|A /opt/data/n|D /opt/data/file3|") == NULL);
	CHECK(strstr(c3, "|C /opt/data|D /opt/data/file3|A /opt/data/n|") != NULL);
	CHECK(strstr(c3, "file1") == NULL && strstr(c3, "file2") == NULL);

	/* A directory deleted whole: one entry, and its parent (unchanged itself) is reported
	 * before it, as Docker does. */
	whiteout(up, "usr/lib");
	settle(up, "usr");
	_cleanup_free_ char *c4 = changes(up, layers, 2, ignore);
	CHECK(strstr(c4, "|C /usr/bin/tool|C /usr|D /usr/lib") != NULL);
	test_tmpdir_remove(dir);
}

static void test_mount_points(void)
{
	struct husk_mount mounts[] = {{.target = "/data/"}, {.target = "/run"}};
	struct husk_spec spec = {.mounts = mounts, .n_mounts = 2};
	char **v = husk_changes_mount_points(&spec);
	char *s = test_join(v);
	CHECK_STREQ(s, "/proc|/dev|/sys|/etc/hosts|/etc/hostname|/etc/resolv.conf|/data|/run");
	free(s);
	strv_free(v);
}

int main(void)
{
	RUN(test_changes);
	RUN(test_mount_points);
	return test_result();
}
