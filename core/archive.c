/* docker cp's view of a container's files: path rules, stat, and tar archives of a path.
 * Only husk-helper links this (libarchive). */
#include "archive.h"
#include "fs.h"
#include "json.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#define MQUEUE_MAGIC 0x19800202

/* --- paths, as Go's path/filepath treats them --- */

char *husk_path_clean_abs(const char *path)
{
	_cleanup_free_ char *s = xstrdup(path ? path : "");
	char *out = xcalloc(1, strlen(s) + 2), *save = NULL;
	for (char *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (streq(c, "."))
			continue;
		if (streq(c, "..")) {
			char *slash = strrchr(out, '/');
			if (slash)
				*slash = 0;
			continue;
		}
		strcat(out, "/");
		strcat(out, c);
	}
	if (!*out)
		strcpy(out, "/");
	return out;
}

char *husk_path_base(const char *path)
{
	if (str_empty(path))
		return xstrdup(".");
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n == 0)
		return xstrdup("/");
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return xstrndup(path + start, n - start);
}

char *husk_archive_abs_path(const char *path)
{
	_cleanup_free_ char *joined = xasprintf("/%s", str_or(path, ""));
	char *clean = husk_path_clean_abs(joined);
	_cleanup_free_ char *base = husk_path_base(str_or(path, ""));
	size_t n = strlen(clean);
	/* Only the root ends in "/" once cleaned. */
	if (streq(base, ".") && !str_empty(path)) {
		clean = xrealloc(clean, n + 3);
		strcpy(clean + n, clean[n - 1] == '/' ? "." : "/.");
		n = strlen(clean);
	}
	if (!str_empty(path) && path[strlen(path) - 1] == '/' && clean[n - 1] != '/') {
		clean = xrealloc(clean, n + 2);
		strcpy(clean + n, "/");
	}
	return clean;
}

/* --- stat --- */

uint32_t husk_go_filemode(mode_t mode)
{
	uint32_t m = mode & 0777;
	switch (mode & S_IFMT) {
	case S_IFBLK:
		m |= 1u << 26;
		break;
	case S_IFCHR:
		m |= 1u << 26 | 1u << 21;
		break;
	case S_IFDIR:
		m |= 1u << 31;
		break;
	case S_IFIFO:
		m |= 1u << 25;
		break;
	case S_IFLNK:
		m |= 1u << 27;
		break;
	case S_IFSOCK:
		m |= 1u << 24;
		break;
	}
	if (mode & S_ISUID)
		m |= 1u << 23;
	if (mode & S_ISGID)
		m |= 1u << 22;
	if (mode & S_ISVTX)
		m |= 1u << 20;
	return m;
}

json_t *husk_path_stat_json(const char *name, const struct stat *st, const char *link_target)
{
	char mtime[40];
	int64_t ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	/* Go's encoding/json: names are bytes, what is not UTF-8 becomes U+FFFD. */
	return json_pack("{s:o, s:I, s:I, s:s, s:o}", "name", json_string_lossy(name), "size",
			 (json_int_t)st->st_size, "mode", (json_int_t)husk_go_filemode(st->st_mode),
			 "mtime", format_time_ns(ns, mtime), "linkTarget",
			 json_string_lossy(str_or(link_target, "")));
}

/* The parent of a clean absolute path ("/a/b" → "/a", "/a" → "/"). */
static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash != path ? xstrndup(path, (size_t)(slash - path)) : xstrdup("/");
}

/* readlink of name in dir (a symlink-free absolute path inside the root): -EINVAL when it is
 * not a symlink, -ENOENT when it is not there. */
static int readlink_in_root(int rootfd, const char *dir, const char *name, char buf[PATH_MAX])
{
	_cleanup_close_ int fd = openat2_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	ssize_t n = readlinkat(fd, name, buf, PATH_MAX - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

int husk_path_resolve(int rootfd, const char *path, char **out)
{
	/* resolved: symlink-free so far ("" is the root); todo: what is left to walk. */
	_cleanup_free_ char *resolved = xstrdup(""), *todo = xstrdup(str_or(path, ""));
	unsigned links = 0;
	char target[PATH_MAX];
	for (;;) {
		char *p = todo;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		_cleanup_free_ char *comp = xstrndup(p, len);
		_cleanup_free_ char *rest = xstrdup(p + len);
		free(todo);
		todo = TAKE_PTR(rest);
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = 0;
			continue;
		}
		int n = readlink_in_root(rootfd, *resolved ? resolved : "/", comp, target);
		if (n < 0) {
			/* Not a symlink, or not there: kept as written. */
			char *next = xasprintf("%s/%s", resolved, comp);
			free(resolved);
			resolved = next;
			continue;
		}
		if (++links > 255)
			return -ELOOP;
		if (target[0] == '/')
			resolved[0] = 0;
		char *next = xasprintf("%s/%s", target, todo);
		free(todo);
		todo = next;
	}
	*out = xstrdup(*resolved ? resolved : "/");
	return 0;
}

int husk_archive_stat(int rootfd, const char *path, struct husk_path_stat *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->abs = husk_archive_abs_path(path);
	/* O_NOFOLLOW: the final symlink itself, unless a trailing "/" or "/." asks past it. */
	_cleanup_close_ int fd = openat2_in_root(rootfd, ps->abs, O_PATH | O_NOFOLLOW);
	if (fd == -ENOTDIR)
		fd = -ENOENT;
	if (fd < 0)
		return fd;
	if (fstat(fd, &ps->st) < 0)
		return -errno;
	ps->name = husk_path_base(ps->abs);
	if (S_ISLNK(ps->st.st_mode))
		return husk_path_resolve(rootfd, ps->abs, &ps->link_target);
	ps->link_target = xstrdup("");
	return 0;
}

void husk_path_stat_clear(struct husk_path_stat *ps)
{
	free(ps->abs);
	free(ps->name);
	free(ps->link_target);
	memset(ps, 0, sizeof *ps);
}

/* --- tar --- */

char *husk_archive_entry_name(const char *base, const char *rel, bool dir)
{
	if (!base)
		return xasprintf("%s%s", str_or(rel, ""), dir ? "/" : "");
	const char *prefix = streq(base, "/") ? "" : base;
	return xasprintf("%s%s%s%s", prefix, str_empty(rel) ? "" : "/", str_or(rel, ""),
			 dir ? "/" : "");
}

struct tar_writer {
	struct archive *a;
	struct archive_entry_linkresolver *links;
	enum husk_walk walk;
	const char *base;
	char *buf;
	struct husk_error *err;
};

#define COPY_BUF (128 * 1024)

static bool pseudo_fs(int fd)
{
	static const long types[] = {
	    PROC_SUPER_MAGIC,	SYSFS_MAGIC,	CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
	    DEVPTS_SUPER_MAGIC, MQUEUE_MAGIC,	SECURITYFS_MAGIC,   DEBUGFS_MAGIC,
	    TRACEFS_MAGIC,	BPF_FS_MAGIC,	PSTOREFS_MAGIC,	    SELINUX_MAGIC,
	    NSFS_MAGIC,		BINFMTFS_MAGIC, EFIVARFS_MAGIC,
	};
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if ((long)sf.f_type == types[i])
			return true;
	return false;
}

static int write_data(struct tar_writer *tw, int fd, const char *name)
{
	for (;;) {
		ssize_t n = read(fd, tw->buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_sys(tw->err, -errno, "read %s", name);
		if (n == 0)
			return 0;
		if (archive_write_data(tw->a, tw->buf, (size_t)n) < 0)
			return husk_error_set(tw->err, -EIO, "write the archive: %s",
					      archive_error_string(tw->a));
	}
}

/* One entry: name in dirfd, as st describes it, named entry_name in the archive. */
static int add_entry(struct tar_writer *tw, int dirfd, const char *name, const struct stat *st,
		     const char *entry_name)
{
	if (S_ISSOCK(st->st_mode))
		return 0;
	_cleanup_close_ int fd = -1;
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, entry_name);
	/* Docker's tars carry mtimes in seconds and no access or change times. */
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	int r = 0;
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n < 0) {
			r = husk_error_sys(tw->err, -errno, "readlink %s", entry_name);
			goto out;
		}
		target[n] = 0;
		archive_entry_set_symlink(e, target);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st->st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			r = husk_error_sys(tw->err, -errno, "open %s", entry_name);
			goto out;
		}
	} else {
		archive_entry_set_size(e, 0);
	}
	struct archive_entry *spare = NULL;
	archive_entry_linkify(tw->links, &e, &spare);
	if (archive_write_header(tw->a, e) < ARCHIVE_WARN) {
		r = husk_error_set(tw->err, -EIO, "write the archive: %s",
				   archive_error_string(tw->a));
		goto out;
	}
	if (fd >= 0 && archive_entry_size(e) > 0)
		r = write_data(tw, fd, entry_name);
	if (spare)
		archive_entry_free(spare);
out:
	archive_entry_free(e);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted as Go's filepath.Walk visits them. */
static int list_dir(int dirfd, char ***names)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	char **v = xcalloc(1, sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			v = strv_push(v, de->d_name);
	closedir(d);
	qsort(v, strv_length(v), sizeof *v, cmp_names);
	*names = v;
	return 0;
}

static bool descend(struct tar_writer *tw, int fd, dev_t parent_dev, const struct stat *st)
{
	if (st->st_dev == parent_dev)
		return true;
	return tw->walk == HUSK_WALK_MOUNTS && !pseudo_fs(fd);
}

/* The contents of dirfd (rel: its path below the resource, "" for the resource). */
static int walk_dir(struct tar_writer *tw, int dirfd, const char *rel, dev_t dev)
{
	_cleanup_strv_ char **names = NULL;
	int r = list_dir(dirfd, &names);
	if (r < 0)
		return husk_error_sys(tw->err, r, "read directory %s", *rel ? rel : "/");
	for (size_t i = 0; names[i] && r == 0; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* gone meanwhile */
				continue;
			return husk_error_sys(tw->err, -errno, "stat %s/%s", rel, names[i]);
		}
		_cleanup_free_ char *child =
		    *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		_cleanup_free_ char *entry =
		    husk_archive_entry_name(tw->base, child, S_ISDIR(st.st_mode));
		r = add_entry(tw, dirfd, names[i], &st, entry);
		if (r < 0 || !S_ISDIR(st.st_mode))
			continue;
		_cleanup_close_ int sub =
		    openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return husk_error_sys(tw->err, -errno, "open directory %s", child);
		}
		if (descend(tw, sub, dev, &st))
			r = walk_dir(tw, sub, child, st.st_dev);
	}
	return r;
}

static int write_resource(struct tar_writer *tw, int rootfd, const struct husk_path_stat *ps)
{
	if (S_ISDIR(ps->st.st_mode)) {
		_cleanup_close_ int fd = openat2_in_root(rootfd, ps->abs, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return husk_error_sys(tw->err, fd, "open %s", ps->abs);
		if (tw->base) {
			_cleanup_free_ char *entry = husk_archive_entry_name(tw->base, "", true);
			int r = add_entry(tw, fd, ".", &ps->st, entry);
			if (r < 0)
				return r;
		}
		if (tw->walk == HUSK_WALK_MOUNTS && pseudo_fs(fd))
			return 0;
		return walk_dir(tw, fd, "", ps->st.st_dev);
	}
	_cleanup_free_ char *dir = parent_dir(ps->abs);
	_cleanup_close_ int dfd = openat2_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return husk_error_sys(tw->err, dfd, "open %s", dir);
	_cleanup_free_ char *entry = husk_archive_entry_name(tw->base, "", false);
	return add_entry(tw, dfd, ps->name, &ps->st, entry);
}

int husk_archive_write(int rootfd, const struct husk_path_stat *ps, const char *base,
		       enum husk_walk walk, int fd, struct husk_error *err)
{
	struct tar_writer tw = {.walk = walk, .base = base, .err = err};
	tw.a = archive_write_new();
	archive_write_set_format_pax_restricted(tw.a);
	archive_write_set_bytes_in_last_block(tw.a, 1);
	tw.links = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(tw.links, archive_format(tw.a));
	tw.buf = xmalloc(COPY_BUF);
	int r = 0;
	if (archive_write_open_fd(tw.a, fd) != ARCHIVE_OK)
		r = husk_error_set(err, -EIO, "write the archive: %s", archive_error_string(tw.a));
	if (r == 0)
		r = write_resource(&tw, rootfd, ps);
	if (archive_write_close(tw.a) != ARCHIVE_OK && r == 0)
		r = husk_error_set(err, -EIO, "write the archive: %s", archive_error_string(tw.a));
	archive_write_free(tw.a);
	archive_entry_linkresolver_free(tw.links);
	free(tw.buf);
	return r;
}
