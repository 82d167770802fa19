#include "fs.h"
#include "husk-config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync)
{
	/* Per thread: two threads of husk-api may write the same file (a blob two loads share). */
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d.%d", path, (int)getpid(), (int)gettid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				return -EFBIG;
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

int read_file(const char *path, char **out, size_t *len, size_t max)
{
	return read_file_at(AT_FDCWD, path, out, len, max);
}

/* Removes name if it is no directory (*fd = -1), else opens it, made ours to empty (*fd). */
static int rm_open(int dirfd, const char *name, int *fd)
{
	*fd = -1;
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int f = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0) {
		/* A directory we may not read: try to make it ours to empty. */
		if (errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
			f = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (f < 0)
			return errno == ENOENT ? 0 : -errno;
	}
	struct stat st;
	if (fstat(f, &st) == 0 && (st.st_mode & 0700) != 0700)
		fchmod(f, st.st_mode | 0700);
	*fd = f;
	return 0;
}

/* Depth first, without recursion: a container makes its tree as deep as it likes (mkdir -p of
 * thousands of levels), husk-api's threads have 256 KB of stack and a process some 1024 open
 * files. So at most RM_DEPTH directories are open, on the heap; one found deeper is moved up
 * into the top directory, whose reading starts over once it is done. */
#define RM_DEPTH 64

static int64_t tree_size_depth(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	int64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (streq(e->d_name, ".") || streq(e->d_name, "..") ||
		    fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			n += st.st_size;
		} else if (S_ISDIR(st.st_mode) && depth < 128) {
			int sub =
			    openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				n += tree_size_depth(sub, depth + 1);
		}
	}
	closedir(d);
	return n;
}

int64_t tree_size(int dirfd)
{
	return tree_size_depth(dirfd, 0);
}

int rm_rf_at(int at, const char *name)
{
	struct level {
		DIR *d; /* NULL: could not be read */
		char *name;
	} stack[RM_DEPTH];
	size_t n = 0, moves = 0;
	bool moved = false;
	int fd, r = rm_open(at, name, &fd);
	const char *next = name;
	while (fd >= 0 || n > 0) {
		if (fd >= 0 && n == RM_DEPTH) {
			char up[32];
			snprintf(up, sizeof up, ".rm-%zu", moves++);
			close(fd);
			fd = -1;
			moved = true;
			if (renameat(dirfd(stack[n - 1].d), next, dirfd(stack[0].d), up) < 0 && r == 0)
				r = -errno;
		}
		if (fd >= 0) {
			stack[n].d = fdopendir(fd);
			if (!stack[n].d) {
				if (r == 0)
					r = -errno;
				close(fd);
			}
			stack[n++].name = xstrdup(next);
			fd = -1;
		}
		struct level *top = &stack[n - 1];
		struct dirent *e = NULL;
		while (top->d && (e = readdir(top->d)) &&
		       (streq(e->d_name, ".") || streq(e->d_name, "..")))
			;
		if (e) {
			int k = rm_open(dirfd(top->d), e->d_name, &fd);
			if (k < 0 && r == 0)
				r = k;
			next = e->d_name;
			continue;
		}
		if (n == 1 && moved && r == 0) {
			rewinddir(top->d);
			moved = false;
			continue;
		}
		/* Emptied: removed from its parent, still open below it on the stack. */
		if (top->d)
			closedir(top->d);
		int parent = n > 1 && stack[n - 2].d ? dirfd(stack[n - 2].d) : at;
		if (unlinkat(parent, top->name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
			r = -errno;
		free(top->name);
		n--;
	}
	return r;
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

int copy_fd(int in, int out)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int unix_socket_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (strlen(path) < sizeof sa->sun_path) {
		strcpy(sa->sun_path, path);
		return 0;
	}
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -ENAMETOOLONG;
	*slash = 0;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", fd, slash + 1);
	if (n < 0 || (size_t)n >= sizeof sa->sun_path) {
		close(fd);
		return -ENAMETOOLONG;
	}
	*dirfd = fd;
	return 0;
}

int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	/* With ".." in the way, a rename or mount anywhere in the system during the lookup
	 * makes the kernel answer EAGAIN rather than risk an escape: it asks to be retried. */
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN || tries == 128)
			return -errno;
	}
}

int mkdir_in_root(int rootfd, const char *path, mode_t mode)
{
	int fd = openat2_in_root(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT)
		return fd;
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	const char *name = path;
	int pfd;
	if (slash && slash != parent) {
		*slash = 0;
		name = slash + 1;
		pfd = mkdir_in_root(rootfd, parent, mode);
	} else {
		name = slash ? slash + 1 : path;
		pfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
		if (pfd < 0)
			pfd = -errno;
	}
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, name, mode) < 0 && errno != EEXIST) {
		int r = -errno;
		close(pfd);
		return r;
	}
	close(pfd);
	return openat2_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

char *husk_find_tool(const char *name, const char *env_name)
{
	const char *env = getenv(env_name);
	if (!str_empty(env))
		return xstrdup(env);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			_cleanup_free_ char *side = xasprintf("%s/%s", self, name);
			if (access(side, X_OK) == 0)
				return TAKE_PTR(side);
			/* The build tree: build/api/husk-api, build/monitor/husk-monitor. */
			_cleanup_free_ char *build = xasprintf("%s/../monitor/%s", self, name);
			if (access(build, X_OK) == 0)
				return realpath(build, NULL);
		}
	}
	return xasprintf(HUSK_LIBEXECDIR "/%s", name);
}
