/* core/copytree.c: a copied tree keeps modes (set-id bits too), times, symlinks (dangling and
 * absolute ones as they are), hard links and fifos; owners as far as we may give them. */
#include "test.h"
#include "testutil.h"

#include "core/copytree.h"
#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *tmp;

static int open_dir(const char *p)
{
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* src/rel and dst/rel must be alike. */
static void check_same(const char *src, const char *dst, const char *rel)
{
	_cleanup_free_ char *a = xasprintf("%s/%s", src, rel), *b = xasprintf("%s/%s", dst, rel);
	struct stat x, y;
	CHECK_OK(lstat(a, &x));
	if (lstat(b, &y) < 0) {
		fprintf(stderr, "  %s: not copied\n", rel);
		test_failures++;
		return;
	}
	CHECK_EQ(x.st_mode, y.st_mode);
	CHECK_EQ(x.st_uid, y.st_uid);
	CHECK_EQ(x.st_gid, y.st_gid);
	CHECK_EQ(x.st_mtim.tv_sec, y.st_mtim.tv_sec);
	CHECK_EQ(x.st_mtim.tv_nsec, y.st_mtim.tv_nsec);
	if (S_ISREG(x.st_mode)) {
		_cleanup_free_ char *ca = test_read_file(a), *cb = test_read_file(b);
		CHECK_EQ(strlen(ca), strlen(cb));
		CHECK(streq(ca, cb));
	}
	if (S_ISLNK(x.st_mode)) {
		char la[256] = "", lb[256] = "";
		CHECK_OK(readlink(a, la, sizeof la - 1));
		CHECK_OK(readlink(b, lb, sizeof lb - 1));
		CHECK_STREQ(la, lb);
	}
}

static void test_empty(void)
{
	_cleanup_free_ char *d = xasprintf("%s/empty", tmp);
	mkdir(d, 0755);
	_cleanup_close_ int fd = open_dir(d);
	CHECK_EQ(husk_dir_empty(fd), 1);
	free(test_write_file(d, ".hidden", ""));
	CHECK_EQ(husk_dir_empty(fd), 0);
	CHECK_EQ(husk_dir_empty(-1), -EBADF);
}

static void set_mtime(const char *p, time_t sec)
{
	struct timespec t[2] = {{.tv_sec = sec}, {.tv_sec = sec, .tv_nsec = 123456789}};
	CHECK_OK(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW));
}

static void test_copy(void)
{
	_cleanup_free_ char *src = xasprintf("%s/src", tmp), *dst = xasprintf("%s/dst", tmp);
	_cleanup_free_ char *sub = xasprintf("%s/sub", src), *deep = xasprintf("%s/sub/deep", src);
	mkdir(src, 0750);
	mkdir(sub, 0700);
	mkdir(deep, 0700);
	mkdir(dst, 0700);
	_cleanup_free_ char *f = test_write_file(src, "file", "content\n");
	chmod(f, 04751);
	_cleanup_free_ char *big = test_write_file(sub, "big", "");
	{
		_cleanup_close_ int fd = open(big, O_WRONLY | O_CLOEXEC);
		char buf[4096];
		for (int i = 0; i < 300; i++) {
			memset(buf, 'a' + i % 26, sizeof buf);
			CHECK_OK(write(fd, buf, sizeof buf));
		}
	}
	_cleanup_free_ char *hard = xasprintf("%s/hard", deep), *hard2 = xasprintf("%s/big2", deep);
	CHECK_OK(link(f, hard));
	CHECK_OK(link(big, hard2));
	_cleanup_free_ char *l1 = xasprintf("%s/rel", src), *l2 = xasprintf("%s/abs", sub),
			    *l3 = xasprintf("%s/dangling", src), *fifo = xasprintf("%s/fifo", sub);
	CHECK_OK(symlink("sub/big", l1));
	CHECK_OK(symlink("/etc/passwd", l2));
	CHECK_OK(symlink("nowhere", l3));
	CHECK_OK(mkfifo(fifo, 0640));
	_cleanup_free_ char *e = test_write_file(deep, "empty", "");
	chmod(e, 0);
	chmod(deep, 0555 | S_ISGID);
	set_mtime(f, 1000000000);
	set_mtime(l1, 1100000000);
	set_mtime(sub, 1200000000);
	set_mtime(deep, 1300000000);
	set_mtime(src, 1400000000);

	_cleanup_close_ int s = open_dir(src), d = open_dir(dst);
	CHECK_EQ(husk_copy_tree(s, d), 0);
	static const char *const rels[] = {
		"file",	    "sub",	"sub/big",	   "sub/deep",	     "sub/deep/hard",
		"rel",	    "sub/abs",	"dangling",	   "sub/fifo",	     "sub/deep/empty",
		"sub/deep/big2", "."};
	for (size_t i = 0; i < ARRAY_SIZE(rels); i++)
		check_same(src, dst, rels[i]);
	/* the hard link stays one */
	_cleanup_free_ char *c1 = xasprintf("%s/file", dst), *c2 = xasprintf("%s/sub/deep/hard", dst);
	struct stat x, y;
	CHECK_OK(stat(c1, &x));
	CHECK_OK(stat(c2, &y));
	CHECK_EQ(x.st_ino, y.st_ino);
	CHECK_EQ(x.st_nlink, 2);
	_cleanup_free_ char *c3 = xasprintf("%s/sub/big", dst), *c4 = xasprintf("%s/sub/deep/big2", dst);
	CHECK_OK(stat(c3, &x));
	CHECK_OK(stat(c4, &y));
	CHECK_EQ(x.st_ino, y.st_ino);

	/* into a directory that is not empty: the copy refuses to overwrite */
	_cleanup_close_ int s2 = open_dir(src), d2 = open_dir(dst);
	CHECK_EQ(husk_copy_tree(s2, d2), -EEXIST);
	chmod(deep, 0755);
	_cleanup_free_ char *cdeep = xasprintf("%s/sub/deep", dst);
	chmod(cdeep, 0755);
}

int main(void)
{
	tmp = test_tmpdir();
	RUN(test_empty);
	RUN(test_copy);
	test_tmpdir_remove(tmp);
	return test_result();
}
