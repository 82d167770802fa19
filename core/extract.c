/* Extracting an archive into a container directory, every entry resolved inside the root. Only
 * husk-helper links this (libarchive). */
#include "extract.h"
#include "archive.h"
#include "fs.h"
#include "layer.h"
#include "runtime.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

struct archive *husk_extract_reader(int fd, struct husk_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		husk_error_set(err, -EINVAL, "invalid tar archive: %s",
			       str_or(archive_error_string(a), "unreadable"));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int outside(const char *name, const char *dest, struct husk_error *err)
{
	return husk_error_set(err, -EINVAL, "\"%s\" is outside of \"%s\"", name, dest);
}

static int bad_link(const char *name, const char *target, struct husk_error *err)
{
	return husk_error_set(err, -EINVAL, "invalid hardlink \"%s\" -> \"%s\"", target, name);
}

static int read_error(struct archive *in, struct husk_error *err)
{
	return husk_error_set(err, -EINVAL, "invalid tar archive: %s",
			      str_or(archive_error_string(in), "unexpected end"));
}

int husk_extract_check(struct archive *in, const char *dest, struct husk_error *err)
{
	for (;;) {
		struct archive_entry *e;
		int k = archive_read_next_header(in, &e);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN)
			return read_error(in, err);
		const char *name = archive_entry_pathname(e), *link = archive_entry_hardlink(e);
		_cleanup_free_ char *rel = husk_tar_path_clean(name);
		if (!rel)
			return outside(name, dest, err);
		_cleanup_free_ char *trel = link ? husk_tar_path_clean(link) : NULL;
		if (link && !trel)
			return bad_link(name, link, err);
		if (archive_read_data_skip(in) < ARCHIVE_WARN)
			return read_error(in, err);
	}
}

int husk_extract_writable(const struct husk_spec *spec, const char *dest, struct husk_error *err)
{
	const struct husk_mount *in = NULL;
	size_t best = 0;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		_cleanup_free_ char *t = husk_path_clean_abs(spec->mounts[i].target);
		size_t n = streq(t, "/") ? 0 : strlen(t);
		bool under = strncmp(dest, t, n) == 0 && (dest[n] == 0 || dest[n] == '/');
		if (under && (!in || n >= best)) {
			in = &spec->mounts[i];
			best = n;
		}
	}
	if (in && in->readonly)
		return husk_error_set(err, -EINVAL, "mounted volume is marked read-only");
	if (!in && spec->readonly_rootfs)
		return husk_error_set(err, -EINVAL, "container rootfs is marked read-only");
	return 0;
}

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct extractor {
	int rootfd;
	const char *dest;
	const struct husk_extract_opts *o;
	struct husk_error *err;
	struct dir_time *dirs;
	size_t ndirs;
};

static char *join(const char *dir, const char *rel)
{
	return xasprintf("%s%s%s", dir, streq(dir, "/") ? "" : "/", rel);
}

/* The parent of a clean absolute path and its last component. */
static char *split(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash + 1;
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
	ts[0] = archive_entry_atime_is_set(e)
		    ? (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)}
		    : ts[1];
}

static int copy_data(struct extractor *x, struct archive *in, int fd, const char *path)
{
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int k = archive_read_data_block(in, &buf, &len, &off);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN)
			return read_error(in, x->err);
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
					   (off_t)(off + (la_int64_t)done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return husk_error_sys(x->err, -errno, "write %s", path);
			done += (size_t)n;
		}
	}
}

/* Overlay's own xattrs mean something to the kernel; trusted.* are not ours to set. */
static void set_xattrs(int fd, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (str_startswith(name, "trusted.") || str_startswith(name, "user.overlay."))
			continue;
		/* What the kernel refuses in a user namespace is left, as Docker leaves it. */
		(void)fsetxattr(fd, name, value, size, 0);
	}
}

static int set_owner(struct extractor *x, int dirfd, const char *base, struct archive_entry *e,
		     const char *path)
{
	if (!x->o->copy_uid_gid)
		return 0; /* made by us: the container's root owns it */
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	if (fchownat(dirfd, base, uid, gid, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) == 0)
		return 0;
	int r = -errno;
	return husk_error_sys(x->err, r, "failed to Lchown \"%s\" for UID %u, GID %u%s", path,
			      (unsigned)uid, (unsigned)gid,
			      r == -EINVAL ? " (the ids are beyond the container's user namespace: "
					     "/etc/subuid and /etc/subgid give it their range)"
					   : "");
}

/* Owner, mode, xattrs of what fd is; the time too unless it is a directory (those are set last,
 * once nothing more is made in them). */
static int finish(struct extractor *x, int fd, struct archive_entry *e, const char *path)
{
	int r = set_owner(x, fd, "", e, path);
	if (r < 0)
		return r;
	/* After chown: it clears setuid. */
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return husk_error_sys(x->err, -errno, "chmod %s", path);
	set_xattrs(fd, e);
	struct timespec ts[2];
	entry_times(e, ts);
	if (archive_entry_filetype(e) == AE_IFDIR) {
		x->dirs = xrealloc(x->dirs, (x->ndirs + 1) * sizeof *x->dirs);
		x->dirs[x->ndirs].path = xstrdup(path);
		memcpy(x->dirs[x->ndirs++].ts, ts, sizeof ts);
		return 0;
	}
	if (futimens(fd, ts) < 0)
		return husk_error_sys(x->err, -errno, "set the times of %s", path);
	return 0;
}

static int make_dir(struct extractor *x, int pfd, const char *base, bool exists,
		    struct archive_entry *e, const char *path)
{
	if (!exists && mkdirat(pfd, base, 0700) < 0)
		return husk_error_sys(x->err, -errno, "mkdir %s", path);
	_cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_sys(x->err, -errno, "open %s", path);
	return finish(x, fd, e, path);
}

static int make_file(struct extractor *x, struct archive *in, int pfd, const char *base,
		     struct archive_entry *e, const char *path)
{
	_cleanup_close_ int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_error_sys(x->err, -errno, "create %s", path);
	int r = copy_data(x, in, fd, path);
	if (r < 0)
		return r;
	/* A sparse file's last hole. */
	if (ftruncate(fd, (off_t)archive_entry_size(e)) < 0)
		return husk_error_sys(x->err, -errno, "write %s", path);
	return finish(x, fd, e, path);
}

static int make_symlink(struct extractor *x, int pfd, const char *base, struct archive_entry *e,
			const char *path)
{
	if (symlinkat(str_or(archive_entry_symlink(e), ""), pfd, base) < 0)
		return husk_error_sys(x->err, -errno, "symlink %s", path);
	int r = set_owner(x, pfd, base, e, path);
	if (r < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	(void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int make_hardlink(struct extractor *x, int pfd, const char *base, struct archive_entry *e,
			 const char *path)
{
	const char *link = archive_entry_hardlink(e);
	_cleanup_free_ char *trel = husk_tar_path_clean(link);
	if (!trel || streq(trel, "."))
		return bad_link(path, link, x->err);
	_cleanup_free_ char *target = join(x->dest, trel);
	const char *tbase;
	_cleanup_free_ char *tdir = split(target, &tbase);
	_cleanup_close_ int tfd = openat2_in_root(x->rootfd, tdir, O_PATH | O_DIRECTORY);
	if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0)
		return husk_error_sys(x->err, tfd < 0 ? tfd : -errno, "link %s to %s", path,
				      target);
	return 0;
}

static int make_fifo(struct extractor *x, int pfd, const char *base, struct archive_entry *e,
		     const char *path)
{
	if (mkfifoat(pfd, base, 0600) < 0)
		return husk_error_sys(x->err, -errno, "mkfifo %s", path);
	_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_sys(x->err, -errno, "open %s", path);
	int r = set_owner(x, fd, "", e, path);
	if (r < 0)
		return r;
	if (fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
		return husk_error_sys(x->err, -errno, "chmod %s", path);
	struct timespec ts[2];
	entry_times(e, ts);
	(void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* What is already at path: replaced, merged (a directory by a directory) or refused. */
static int clear_place(struct extractor *x, int pfd, const char *base, bool is_dir,
		       const char *path, bool *exists)
{
	struct stat old;
	*exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if (!*exists)
		return 0;
	bool old_dir = S_ISDIR(old.st_mode);
	if (x->o->no_overwrite_dir_non_dir && old_dir && !is_dir)
		return husk_error_set(x->err, -EINVAL,
				      "cannot overwrite directory \"%s\" with non-directory \"%s\"",
				      path, x->dest);
	if (x->o->no_overwrite_dir_non_dir && !old_dir && is_dir)
		return husk_error_set(x->err, -EINVAL,
				      "cannot overwrite non-directory \"%s\" with directory \"%s\"",
				      path, x->dest);
	if (old_dir && is_dir)
		return 0;
	int r = rm_rf_at(pfd, base);
	if (r < 0)
		return husk_error_sys(x->err, r, "cannot replace %s", path);
	*exists = false;
	return 0;
}

static int extract_entry(struct extractor *x, struct archive *in, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *rel = husk_tar_path_clean(name);
	if (!rel)
		return outside(name, x->dest, x->err);
	mode_t type = archive_entry_filetype(e);
	bool is_dir = type == AE_IFDIR && !archive_entry_hardlink(e);
	if (streq(rel, ".")) {
		/* The extraction directory itself stays what it is. */
		if (!is_dir && x->o->no_overwrite_dir_non_dir)
			return husk_error_set(
			    x->err, -EINVAL,
			    "cannot overwrite directory \"%s\" with non-directory \"%s\"", x->dest,
			    x->dest);
		return 0;
	}
	_cleanup_free_ char *path = join(x->dest, rel);
	const char *base;
	_cleanup_free_ char *dir = split(path, &base);
	/* Parents the archive does not hold are made, as Docker makes them (0755, root). */
	_cleanup_close_ int pfd = mkdir_in_root(x->rootfd, dir, 0755);
	if (pfd < 0)
		return husk_error_sys(x->err, pfd, "cannot create %s", dir);
	bool exists;
	int r = clear_place(x, pfd, base, is_dir, path, &exists);
	if (r < 0)
		return r;
	if (archive_entry_hardlink(e))
		return make_hardlink(x, pfd, base, e, path);
	switch (type) {
	case AE_IFDIR:
		return make_dir(x, pfd, base, exists, e, path);
	case AE_IFREG:
		return make_file(x, in, pfd, base, e, path);
	case AE_IFLNK:
		return make_symlink(x, pfd, base, e, path);
	case AE_IFIFO:
		return make_fifo(x, pfd, base, e, path);
	default:
		/* Devices cannot be made in a user namespace (Docker's rootless mode skips
		 * them too); sockets are not archived. */
		return 0;
	}
}

/* Directory times, last (what was made in them moved their mtime). */
static void set_dir_times(struct extractor *x)
{
	for (size_t i = x->ndirs; i-- > 0;) {
		const char *base;
		_cleanup_free_ char *dir = split(x->dirs[i].path, &base);
		_cleanup_close_ int pfd = openat2_in_root(x->rootfd, dir, O_PATH | O_DIRECTORY);
		if (pfd >= 0)
			(void)utimensat(pfd, base, x->dirs[i].ts, AT_SYMLINK_NOFOLLOW);
		free(x->dirs[i].path);
	}
	free(x->dirs);
}

int husk_extract(int rootfd, const char *dest, struct archive *in,
		 const struct husk_extract_opts *o, struct husk_error *err)
{
	struct extractor x = {.rootfd = rootfd, .dest = dest, .o = o, .err = err};
	mode_t old_umask = umask(0);
	int r = 0;
	for (;;) {
		struct archive_entry *e;
		int k = archive_read_next_header(in, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = read_error(in, err);
			break;
		}
		r = extract_entry(&x, in, e);
		if (r < 0)
			break;
	}
	set_dir_times(&x);
	umask(old_umask);
	return r;
}
