#include "copytree.h"
#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* A stream of the entries of dirfd, which stays open and where it is. */
static DIR *dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d && fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int husk_dir_empty(int dirfd)
{
	DIR *d = dir_stream(dirfd);
	if (!d)
		return -errno;
	int r = 1;
	struct dirent *e;
	while (r == 1 && (e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			r = 0;
	closedir(d);
	return r;
}

/* Files with more than one link: the first copy's path (relative to the top), so that the
 * others become links to it. */
struct seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct copy {
	int top; /* the destination's top directory */
	struct seen *seen;
	size_t n_seen;
};

/* Owner first (chown clears set-id bits), then mode, then times; through fd, or for a symlink
 * (fd < 0) on the link itself. An owner the namespace does not map (EINVAL) or may not give
 * (EPERM) is left as it is. */
static int set_attrs(int dirfd, const char *name, int fd, const struct stat *st)
{
	int r = fd >= 0 ? fchown(fd, st->st_uid, st->st_gid)
			: fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && errno != EINVAL && errno != EPERM)
		return -errno;
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fd < 0)
		return utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, times) < 0)
		return -errno;
	return 0;
}

/* len bytes from in's offset to out's. */
static int copy_range(int in, int out, off_t len)
{
	bool plain = false;
	while (len > 0) {
		char buf[65536];
		ssize_t n;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, (size_t)(len < 1 << 30 ? len : 1 << 30),
					    0);
			/* Not across these file systems: the plain way. */
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
				      errno == ENOSYS)) {
				plain = true;
				continue;
			}
		} else {
			n = read(in, buf, (size_t)(len < (off_t)sizeof buf ? len : (off_t)sizeof buf));
			int r = n > 0 ? write_all(out, buf, (size_t)n) : 0;
			if (r < 0)
				return r;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0; /* it shrank meanwhile */
		len -= n;
	}
	return 0;
}

/* The data only: holes stay holes. A layer of a few KB can hold a file of terabytes that is
 * all hole, which would otherwise fill the disk as zeros when its volume gets it. */
static int copy_data(int in, int out)
{
	struct stat st;
	if (fstat(in, &st) < 0)
		return -errno;
	for (off_t pos = 0; pos < st.st_size;) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* a hole to the end */
		off_t hole = data < 0 ? -1 : lseek(in, data, SEEK_HOLE);
		if (hole < 0 && errno != EINVAL)
			return -errno;
		if (hole < 0) {
			/* No SEEK_DATA there: everything, holes as zeros. */
			data = pos;
			hole = st.st_size;
		}
		if (lseek(in, data, SEEK_SET) < 0 || lseek(out, data, SEEK_SET) < 0)
			return -errno;
		int r = copy_range(in, out, hole - data);
		if (r < 0)
			return r;
		pos = hole;
	}
	return ftruncate(out, st.st_size) < 0 ? -errno : 0;
}

/* A hard link to what we copied to rel before. The destination may be a volume that a running
 * container shares: rel's directories are resolved without following any symlink. */
static int link_to(struct copy *c, const char *rel, int ddir, const char *name)
{
	_cleanup_free_ char *parent = xstrdup(rel);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : rel;
	if (slash)
		*slash = 0;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	_cleanup_close_ int dir = (int)syscall(SYS_openat2, c->top, slash ? parent : ".", &how,
					       sizeof how);
	if (dir < 0)
		return -errno;
	return linkat(dir, base, ddir, name, 0) < 0 ? -errno : 0;
}

static int copy_file(struct copy *c, int sdir, int ddir, const char *name, const char *rel,
		     const struct stat *st)
{
	if (st->st_nlink > 1) {
		for (size_t i = 0; i < c->n_seen; i++)
			if (c->seen[i].dev == st->st_dev && c->seen[i].ino == st->st_ino)
				return link_to(c, c->seen[i].path, ddir, name);
		c->seen = xrealloc(c->seen, (c->n_seen + 1) * sizeof *c->seen);
		c->seen[c->n_seen++] = (struct seen){st->st_dev, st->st_ino, xstrdup(rel)};
	}
	_cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	_cleanup_close_ int out =
		openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	int r = copy_data(in, out);
	return r < 0 ? r : set_attrs(ddir, name, out, st);
}

static int copy_dir(struct copy *c, int sdir, int ddir, const char *rel);

static int copy_entry(struct copy *c, int sdir, int ddir, const char *name, const char *rel)
{
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return copy_file(c, sdir, ddir, name, rel, &st);
	case S_IFDIR: {
		if (mkdirat(ddir, name, 0700) < 0)
			return -errno;
		_cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return -errno;
		int r = copy_dir(c, s, d, rel);
		return r < 0 ? r : set_attrs(ddir, name, d, &st);
	}
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
		if (n < 0)
			return -errno;
		target[n] = 0;
		if (symlinkat(target, ddir, name) < 0)
			return -errno;
		return set_attrs(ddir, name, -1, &st);
	}
	case S_IFIFO: {
		if (mkfifoat(ddir, name, 0600) < 0)
			return -errno;
		/* Through an fd: fchmodat and utimensat would follow a symlink put in its place. */
		_cleanup_close_ int fd =
			openat(ddir, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? -errno : set_attrs(ddir, name, fd, &st);
	}
	default:
		return 0; /* devices and sockets */
	}
}

static int copy_dir(struct copy *c, int sdir, int ddir, const char *rel)
{
	DIR *d = dir_stream(sdir);
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, e->d_name)
						: xstrdup(e->d_name);
		r = copy_entry(c, sdir, ddir, e->d_name, sub);
	}
	closedir(d);
	return r;
}

int husk_copy_tree(int src_dirfd, int dst_dirfd)
{
	struct copy c = {.top = dst_dirfd};
	struct stat st;
	int r = fstat(src_dirfd, &st) < 0 ? -errno : copy_dir(&c, src_dirfd, dst_dirfd, "");
	if (r == 0)
		r = set_attrs(dst_dirfd, NULL, dst_dirfd, &st);
	for (size_t i = 0; i < c.n_seen; i++)
		free(c.seen[i].path);
	free(c.seen);
	return r;
}
