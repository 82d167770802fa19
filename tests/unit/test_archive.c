/* core/archive.c and core/extract.c: docker cp's path rules, Go's FileMode, the stat JSON,
 * entry names, and tars written from and extracted into a temporary tree used as the root, with
 * symlinks and entries that try to leave it. */
#include "test.h"
#include "testutil.h"

#include "core/archive.h"
#include "core/extract.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/mounts.h"
#include "core/runtime.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

static void check_abs(const char *in, const char *want)
{
	char *got = husk_archive_abs_path(in);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "  husk_archive_abs_path(\"%s\") = \"%s\", expected \"%s\"\n", in,
			got, want);
		test_failures++;
	}
	free(got);
}

static void test_abs_path(void)
{
	check_abs("", "/");
	check_abs("/", "/");
	check_abs("etc/hosts", "/etc/hosts");
	check_abs("/etc//hosts", "/etc/hosts");
	check_abs("/tmp/", "/tmp/");
	check_abs("/tmp/.", "/tmp/.");
	check_abs("/tmp/./", "/tmp/./");
	check_abs(".", "/.");
	check_abs("/.", "/.");
	check_abs("/a/../b/", "/b/");
	check_abs("../../../etc", "/etc");
	check_abs("/escape/../etc/passwd", "/etc/passwd");
	check_abs("/a/b/..", "/a");
}

static void check_base(const char *in, const char *want)
{
	char *got = husk_path_base(in);
	CHECK_STREQ(got, want);
	free(got);
}

static void test_base_and_clean(void)
{
	check_base("/a/b", "b");
	check_base("/a/b/", "b");
	check_base("/a/.", ".");
	check_base("/", "/");
	check_base("//", "/");
	check_base("", ".");
	char *c = husk_path_clean_abs("/../a/./b/../c//");
	CHECK_STREQ(c, "/a/c");
	free(c);
	c = husk_path_clean_abs("/..");
	CHECK_STREQ(c, "/");
	free(c);
}

static void test_filemode(void)
{
	CHECK_EQ(husk_go_filemode(S_IFREG | 0644), 0644);
	CHECK_EQ(husk_go_filemode(S_IFDIR | 0755), (1u << 31) | 0755);
	CHECK_EQ(husk_go_filemode(S_IFLNK | 0777), (1u << 27) | 0777);
	CHECK_EQ(husk_go_filemode(S_IFIFO | 0600), (1u << 25) | 0600);
	CHECK_EQ(husk_go_filemode(S_IFSOCK | 0755), (1u << 24) | 0755);
	CHECK_EQ(husk_go_filemode(S_IFBLK | 0660), (1u << 26) | 0660);
	CHECK_EQ(husk_go_filemode(S_IFCHR | 0620), (1u << 26) | (1u << 21) | 0620);
	CHECK_EQ(husk_go_filemode(S_IFREG | S_ISUID | 0755), (1u << 23) | 0755);
	CHECK_EQ(husk_go_filemode(S_IFDIR | S_ISGID | 0755), (1u << 31) | (1u << 22) | 0755);
	CHECK_EQ(husk_go_filemode(S_IFDIR | S_ISVTX | 0777), (1u << 31) | (1u << 20) | 0777);
}

static void test_stat_json(void)
{
	struct stat st = {.st_mode = S_IFLNK | 0777, .st_size = 7};
	st.st_mtim.tv_sec = 1700000000;
	st.st_mtim.tv_nsec = 120000000;
	json_t *j = husk_path_stat_json("sh", &st, "/bin/busybox");
	char *s = json_compact(j);
	CHECK_STREQ(s, "{\"name\":\"sh\",\"size\":7,\"mode\":134218239,"
		       "\"mtime\":\"2023-11-14T22:13:20.12Z\",\"linkTarget\":\"/bin/busybox\"}");
	free(s);
	json_decref(j);
	st = (struct stat){.st_mode = S_IFREG | 0644};
	st.st_mtim.tv_sec = 1700000000;
	j = husk_path_stat_json("bad\xff\xc3(\xc3\xa9", &st, NULL);
	s = json_compact(j);
	CHECK(strstr(s, "\"name\":\"bad\xef\xbf\xbd\xef\xbf\xbd(\xc3\xa9\"") != NULL);
	free(s);
	json_decref(j);
	j = husk_path_stat_json("f", &st, NULL);
	CHECK_JSON(j, "{'name':'f','size':0,'mode':420,'mtime':'2023-11-14T22:13:20Z',"
		      "'linkTarget':''}");
	json_decref(j);
}

static void check_name(const char *base, const char *rel, bool dir, const char *want)
{
	char *got = husk_archive_entry_name(base, rel, dir);
	CHECK_STREQ(got, want);
	free(got);
}

static void test_entry_names(void)
{
	check_name("etc", "", true, "etc/");
	check_name("etc", "passwd", false, "etc/passwd");
	check_name("hosts", "", false, "hosts");
	check_name(".", "", true, "./");
	check_name(".", "a/b", false, "./a/b");
	check_name("/", "", true, "/");
	check_name("/", "bin", true, "/bin/");
	check_name(NULL, "bin/sh", false, "bin/sh");
	check_name(NULL, "etc", true, "etc/");
}

static void test_overlay_options(void)
{
	char *lower[] = {"l1/diff", "l2/diff", NULL};
	struct husk_spec spec = {.lowerdirs = lower, .upperdir = "/u", .workdir = "/w"};
	char *o = husk_overlay_options(&spec, NULL);
	CHECK_STREQ(o, "lowerdir=l2/diff:l1/diff,upperdir=/u,workdir=/w,userxattr");
	free(o);
	char *none[] = {NULL};
	spec.lowerdirs = none;
	struct husk_error err = {0};
	CHECK(husk_overlay_options(&spec, &err) == NULL);
	CHECK_EQ(err.code, -EINVAL);
}

/* --- on a tree ----------------------------------------------------------------------- */

/* A root with: etc/passwd, tmp/, a symlink escape -> /outside (absolute, inside the root a
 * missing path), up -> ../../../../outside, loop -> loop, dirlink -> /etc. */
static char *make_root(int *rootfd)
{
	char *dir = test_tmpdir();
	_cleanup_free_ char *etc = xasprintf("%s/etc", dir), *tmp = xasprintf("%s/tmp", dir);
	mkdir(etc, 0755);
	mkdir(tmp, 01777);
	free(test_write_file(etc, "passwd", "root:x:0:0::/root:/bin/sh\n"));
	*rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	symlinkat("/outside", *rootfd, "escape");
	symlinkat("../../../../outside", *rootfd, "up");
	symlinkat("loop", *rootfd, "loop");
	symlinkat("/etc", *rootfd, "dirlink");
	return dir;
}

static void check_resolve(int rootfd, const char *path, const char *want)
{
	char *got = NULL;
	CHECK_OK(husk_path_resolve(rootfd, path, &got));
	CHECK_STREQ(got, want);
	free(got);
}

static void test_resolve_in_root(void)
{
	int rootfd;
	char *dir = make_root(&rootfd);
	check_resolve(rootfd, "/escape", "/outside");
	check_resolve(rootfd, "/up", "/outside");
	check_resolve(rootfd, "/escape/x/y", "/outside/x/y");
	check_resolve(rootfd, "/dirlink/passwd", "/etc/passwd");
	check_resolve(rootfd, "/../../etc/./passwd", "/etc/passwd");
	check_resolve(rootfd, "/", "/");
	char *got = NULL;
	CHECK_EQ(husk_path_resolve(rootfd, "/loop", &got), -ELOOP);

	struct husk_path_stat ps;
	CHECK_OK(husk_archive_stat(rootfd, "/escape", &ps));
	CHECK(S_ISLNK(ps.st.st_mode));
	CHECK_STREQ(ps.name, "escape");
	CHECK_STREQ(ps.link_target, "/outside");
	husk_path_stat_clear(&ps);
	/* Through a symlink to a host path: never the host's. */
	CHECK_EQ(husk_archive_stat(rootfd, "/escape/", &ps), -ENOENT);
	husk_path_stat_clear(&ps);
	CHECK_EQ(husk_archive_stat(rootfd, "/up/.", &ps), -ENOENT);
	husk_path_stat_clear(&ps);
	CHECK_OK(husk_archive_stat(rootfd, "/dirlink/.", &ps));
	CHECK(S_ISDIR(ps.st.st_mode));
	CHECK_STREQ(ps.name, ".");
	husk_path_stat_clear(&ps);
	CHECK_EQ(husk_archive_stat(rootfd, "/etc/passwd/", &ps), -ENOENT);
	husk_path_stat_clear(&ps);
	close(rootfd);
	test_tmpdir_remove(dir);
}

struct renamer {
	const char *a, *b;
	volatile bool stop;
};

static void *rename_loop(void *arg)
{
	struct renamer *r = arg;
	while (!r->stop) {
		rename(r->a, r->b);
		rename(r->b, r->a);
	}
	return NULL;
}

/* A rename anywhere makes openat2 answer EAGAIN to a lookup through ".." (RESOLVE_IN_ROOT):
 * openat2_in_root retries, so "../../x" never fails for it. */
static void test_dotdot_under_renames(void)
{
	int rootfd;
	char *dir = make_root(&rootfd);
	_cleanup_free_ char *outside = xasprintf("%s/outside", dir);
	mkdir(outside, 0755);
	struct renamer rn = {.a = xasprintf("%s/ra", dir), .b = xasprintf("%s/rb", dir)};
	free(test_write_file(dir, "ra", ""));
	pthread_t t;
	pthread_create(&t, NULL, rename_loop, &rn);
	int failed = 0;
	for (int i = 0; i < 20000; i++) {
		int fd = openat2_in_root(rootfd, "up/", O_PATH);
		if (fd < 0)
			failed++;
		else
			close(fd);
	}
	rn.stop = true;
	pthread_join(t, NULL);
	CHECK_EQ(failed, 0);
	free((char *)rn.a);
	free((char *)rn.b);
	close(rootfd);
	test_tmpdir_remove(dir);
}

/* The entries of a tar in memory, "name:type" joined by |. */
static char *list_tar(const void *buf, size_t len)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_open_memory(a, buf, len);
	char **v = xcalloc(1, sizeof(char *));
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char t = archive_entry_hardlink(e)		 ? 'h'
			 : archive_entry_filetype(e) == AE_IFDIR ? 'd'
			 : archive_entry_filetype(e) == AE_IFLNK ? 'l'
								 : 'f';
		_cleanup_free_ char *s = xasprintf("%s:%c", archive_entry_pathname(e), t);
		v = strv_push(v, s);
	}
	archive_read_free(a);
	char *out = test_join(v);
	strv_free(v);
	return out;
}

/* The tar husk_archive_write makes of path, listed. */
static char *archive_of(int rootfd, const char *path, const char *base_override, bool use_base)
{
	struct husk_path_stat ps;
	if (husk_archive_stat(rootfd, path, &ps) < 0)
		return xstrdup("(none)");
	char tmpl[] = "/tmp/husk-test-tar-XXXXXX";
	int fd = mkstemp(tmpl);
	unlink(tmpl);
	struct husk_error err = {0};
	CHECK_OK(husk_archive_write(rootfd, &ps, use_base ? base_override : ps.name,
				    HUSK_WALK_MOUNTS, fd, &err));
	husk_path_stat_clear(&ps);
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = xmalloc((size_t)len + 1);
	CHECK_EQ(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	char *out = list_tar(buf, (size_t)len);
	free(buf);
	return out;
}

static void test_archive_write(void)
{
	int rootfd;
	char *dir = make_root(&rootfd);
	_cleanup_free_ char *d = xasprintf("%s/etc/d", dir);
	mkdir(d, 0755);
	free(test_write_file(d, "f", "x"));
	_cleanup_free_ char *f = xasprintf("%s/f", d), *h = xasprintf("%s/etc/hard", dir);
	CHECK_OK(link(f, h));
	char *s = archive_of(rootfd, "/etc", NULL, false);
	CHECK_STREQ(s, "etc/:d|etc/d/:d|etc/d/f:f|etc/hard:h|etc/passwd:f");
	free(s);
	s = archive_of(rootfd, "/etc/.", NULL, false);
	CHECK_STREQ(s, "./:d|./d/:d|./d/f:f|./hard:h|./passwd:f");
	free(s);
	s = archive_of(rootfd, "/etc/passwd", NULL, false);
	CHECK_STREQ(s, "passwd:f");
	free(s);
	s = archive_of(rootfd, "/dirlink", NULL, false); /* the symlink itself */
	CHECK_STREQ(s, "dirlink:l");
	free(s);
	s = archive_of(rootfd, "/dirlink/", NULL, false); /* what it leads to, as "dirlink" */
	CHECK_STREQ(s, "dirlink/:d|dirlink/d/:d|dirlink/d/f:f|dirlink/hard:h|dirlink/passwd:f");
	free(s);
	s = archive_of(rootfd, "/etc/d", NULL, true); /* export: the contents alone */
	CHECK_STREQ(s, "f:f");
	free(s);
	close(rootfd);
	test_tmpdir_remove(dir);
}

/* --- extraction ----------------------------------------------------------------------- */

struct tentry {
	const char *name;
	char type;	  /* f d l h */
	const char *data; /* content, or link target */
	int uid;
};

static struct archive *tar_reader(const struct tentry *e, size_t n, char **mem)
{
	size_t cap = 1 << 20, used = 0;
	*mem = xmalloc(cap);
	struct archive *w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	archive_write_open_memory(w, *mem, cap, &used);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_uid(ae, (la_int64_t)e[i].uid);
		archive_entry_set_gid(ae, (la_int64_t)e[i].uid);
		archive_entry_set_mtime(ae, 1600000000, 0);
		archive_entry_set_perm(ae, e[i].type == 'd' ? 0755 : 0640);
		switch (e[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			break;
		}
		archive_write_header(w, ae);
		if (e[i].type == 'f')
			archive_write_data(w, e[i].data, strlen(e[i].data));
		archive_entry_free(ae);
	}
	archive_write_close(w);
	archive_write_free(w);
	struct archive *r = archive_read_new();
	archive_read_support_format_tar(r);
	archive_read_open_memory(r, *mem, used);
	return r;
}

static int extract(int rootfd, const char *dest, const struct tentry *e, size_t n, bool no_over,
		   struct husk_error *err)
{
	char *mem;
	struct archive *a = tar_reader(e, n, &mem);
	struct husk_extract_opts o = {.no_overwrite_dir_non_dir = no_over};
	int r = husk_extract(rootfd, dest, a, &o, err);
	archive_read_free(a);
	free(mem);
	return r;
}

static int check_names(const struct tentry *e, size_t n, struct husk_error *err)
{
	char *mem;
	struct archive *a = tar_reader(e, n, &mem);
	int r = husk_extract_check(a, "/tmp", err);
	archive_read_free(a);
	free(mem);
	return r;
}

static void test_extract(void)
{
	int rootfd;
	char *dir = make_root(&rootfd);
	struct husk_error err = {0};
	const struct tentry ok[] = {
	    {"new/", 'd', NULL, 0},
	    {"new/a", 'f', "aaa", 0},
	    {"/abs", 'f', "abs", 0},
	    {"deep/er/f", 'f', "implied parents", 0},
	    {"new/ln", 'l', "a", 0},
	    {"new/hl", 'h', "new/a", 0},
	    {"through", 'l', "/etc", 0},	   /* a symlink ... */
	    {"through/x", 'f', "via the link", 0}, /* ... then a file through it: in the root */
	};
	CHECK_OK(extract(rootfd, "/tmp", ok, ARRAY_SIZE(ok), false, &err));
	_cleanup_free_ char *a = xasprintf("%s/tmp/new/a", dir);
	_cleanup_free_ char *ca = test_read_file(a);
	CHECK_STREQ(ca, "aaa");
	struct stat st;
	CHECK_OK(stat(a, &st));
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_mtim.tv_sec, 1600000000);
	CHECK_EQ(st.st_nlink, 2);
	_cleanup_free_ char *abs = xasprintf("%s/tmp/abs", dir);
	_cleanup_free_ char *cabs = test_read_file(abs);
	CHECK_STREQ(cabs, "abs");
	_cleanup_free_ char *deep = xasprintf("%s/tmp/deep/er/f", dir);
	CHECK(path_exists(deep));
	_cleanup_free_ char *x = xasprintf("%s/etc/x", dir);
	_cleanup_free_ char *cx = test_read_file(x);
	CHECK_STREQ(cx, "via the link");
	_cleanup_free_ char *newdir = xasprintf("%s/tmp/new", dir);
	CHECK_OK(stat(newdir, &st));
	CHECK_EQ(st.st_mtim.tv_sec, 1600000000); /* set last */

	/* Through symlinks that point out of the root: into the root, or nowhere. */
	const struct tentry out[] = {{"outside/", 'd', NULL, 0}, {"x", 'f', "in", 0}};
	CHECK_OK(extract(rootfd, "/", out, 1, false, &err));
	CHECK_OK(extract(rootfd, "/escape", out + 1, 1, false, &err));
	CHECK_OK(extract(rootfd, "/up", out + 1, 1, false, &err));
	_cleanup_free_ char *inside = xasprintf("%s/outside/x", dir);
	CHECK(path_exists(inside));

	/* Names that leave the directory: refused before anything is written. */
	const struct tentry dotdot[] = {{"fine", 'f', "1", 0}, {"a/../../x", 'f', "x", 0}};
	CHECK_EQ(check_names(dotdot, 2, &err), -EINVAL);
	CHECK_STREQ(err.message, "\"a/../../x\" is outside of \"/tmp\"");
	const struct tentry hl[] = {{"h", 'h', "../etc/passwd", 0}};
	CHECK_EQ(check_names(hl, 1, &err), -EINVAL);
	CHECK_EQ(check_names(ok, ARRAY_SIZE(ok), &err), 0);
	/* and refused by the extraction itself too */
	CHECK_EQ(extract(rootfd, "/tmp", dotdot + 1, 1, false, &err), -EINVAL);
	CHECK_EQ(extract(rootfd, "/tmp", hl, 1, false, &err), -EINVAL);

	/* noOverwriteDirNonDir */
	const struct tentry file_on_dir[] = {{"new", 'f', "x", 0}};
	CHECK_EQ(extract(rootfd, "/tmp", file_on_dir, 1, true, &err), -EINVAL);
	CHECK_STREQ(err.message, "cannot overwrite directory \"/tmp/new\" with non-directory "
				 "\"/tmp\"");
	const struct tentry dir_on_file[] = {{"abs/", 'd', NULL, 0}};
	CHECK_EQ(extract(rootfd, "/tmp", dir_on_file, 1, true, &err), -EINVAL);
	CHECK_STREQ(err.message, "cannot overwrite non-directory \"/tmp/abs\" with directory "
				 "\"/tmp\"");
	/* without it, replaced */
	CHECK_OK(extract(rootfd, "/tmp", file_on_dir, 1, false, &err));
	_cleanup_free_ char *cn = test_read_file(newdir);
	CHECK_STREQ(cn, "x");
	/* a symlink in the way of a file is replaced, not followed */
	const struct tentry onlink[] = {{"escape", 'f', "not through", 0}};
	CHECK_OK(extract(rootfd, "/", onlink, 1, false, &err));
	_cleanup_free_ char *esc = xasprintf("%s/escape", dir);
	CHECK_OK(lstat(esc, &st));
	CHECK(S_ISREG(st.st_mode));
	close(rootfd);
	test_tmpdir_remove(dir);
}

static void test_writable(void)
{
	struct husk_mount mounts[] = {{.target = "/data"},
				      {.target = "/data/ro/", .readonly = true},
				      {.target = "/etc/conf"}};
	struct husk_spec spec = {.mounts = mounts, .n_mounts = 3};
	struct husk_error err = {0};
	CHECK_EQ(husk_extract_writable(&spec, "/tmp", &err), 0);
	CHECK_EQ(husk_extract_writable(&spec, "/data/ro/x", &err), -EINVAL);
	CHECK_STREQ(err.message, "mounted volume is marked read-only");
	CHECK_EQ(husk_extract_writable(&spec, "/data/ro", &err), -EINVAL);
	CHECK_EQ(husk_extract_writable(&spec, "/data/rox", &err), 0);
	CHECK_EQ(husk_extract_writable(&spec, "/data", &err), 0);
	spec.readonly_rootfs = true;
	CHECK_EQ(husk_extract_writable(&spec, "/tmp", &err), -EINVAL);
	CHECK_STREQ(err.message, "container rootfs is marked read-only");
	CHECK_EQ(husk_extract_writable(&spec, "/data/x", &err), 0); /* a volume is writable */
	CHECK_EQ(husk_extract_writable(&spec, "/etc/conf", &err), 0);
	CHECK_EQ(husk_extract_writable(&spec, "/etc", &err), -EINVAL);
}

int main(void)
{
	RUN(test_abs_path);
	RUN(test_base_and_clean);
	RUN(test_filemode);
	RUN(test_stat_json);
	RUN(test_entry_names);
	RUN(test_overlay_options);
	RUN(test_resolve_in_root);
	RUN(test_dotdot_under_renames);
	RUN(test_archive_write);
	RUN(test_extract);
	RUN(test_writable);
	return test_result();
}
