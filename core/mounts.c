/* The container's file system tree, built in its own mount namespace before pivot_root.
 *
 * Every mount target is resolved inside the new root with openat2(RESOLVE_IN_ROOT), and the
 * mount is made on the resulting O_PATH fd (through /proc/self/fd/N): a symlink in the image
 * can never send a mount outside the container's root. */
#include "mounts.h"
#include "copytree.h"
#include "fs.h"
#include "log.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

/* Opens (creating an empty file when missing) a mount target for a file; O_PATH fd. */
static int touch_in_root(int rootfd, const char *path)
{
	int fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd != -ENOENT)
		return fd;
	_cleanup_free_ char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	_cleanup_close_ int pfd = mkdir_in_root(rootfd, *parent ? parent : "/", 0755);
	if (pfd < 0)
		return pfd;
	int f = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST)
		return -errno;
	if (f >= 0)
		close(f);
	return openat2_in_root(rootfd, path, O_PATH);
}

static char *fd_path(int fd)
{
	return xasprintf("/proc/self/fd/%d", fd);
}

static int mount_on(const char *src, int target_fd, const char *type, unsigned long flags,
		    const char *data)
{
	_cleanup_free_ char *t = fd_path(target_fd);
	return mount(src, t, type, flags, data) < 0 ? -errno : 0;
}

/* A bind remount must keep the flags the kernel locked on the source mount (nosuid, nodev,
 * noexec, ...), or it is refused in a user namespace. */
static unsigned long locked_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int remount_ro(int fd)
{
	_cleanup_free_ char *t = fd_path(fd);
	unsigned long f = locked_flags(fd) | MS_BIND | MS_REMOUNT | MS_RDONLY;
	return mount(NULL, t, NULL, f, NULL) < 0 ? -errno : 0;
}

static int bind_in_root(int rootfd, const char *src, const char *target, bool dir, bool ro,
			bool recursive, struct husk_error *err)
{
	_cleanup_close_ int fd = dir ? mkdir_in_root(rootfd, target, 0755)
				     : touch_in_root(rootfd, target);
	if (fd < 0)
		return husk_error_sys(err, fd, "cannot create mount point %s", target);
	unsigned long flags = MS_BIND | (recursive ? MS_REC : 0);
	int r = mount_on(src, fd, NULL, flags, NULL);
	if (r < 0)
		return husk_error_sys(err, r, "cannot bind-mount %s on %s", src, target);
	if (!ro)
		return 0;
	/* The fd still names the mount point below the new mount: reopen to reach the mount. */
	_cleanup_close_ int top = openat2_in_root(rootfd, target, O_PATH);
	if (top < 0)
		return husk_error_sys(err, top, "cannot reopen %s", target);
	r = remount_ro(top);
	if (r < 0)
		return husk_error_sys(err, r, "cannot make %s read-only", target);
	return 0;
}

static int mount_fs(int rootfd, const char *target, const char *type, const char *src,
		    unsigned long flags, const char *data, struct husk_error *err)
{
	_cleanup_close_ int fd = mkdir_in_root(rootfd, target, 0755);
	if (fd < 0)
		return husk_error_sys(err, fd, "cannot create mount point %s", target);
	int r = mount_on(src, fd, type, flags, data);
	if (r < 0)
		return husk_error_sys(err, r, "cannot mount %s on %s", type, target);
	return 0;
}

char *husk_overlay_options(const struct husk_spec *spec, struct husk_error *err)
{
	size_t n = strv_length(spec->lowerdirs);
	if (n == 0) {
		husk_error_set(err, -EINVAL, "the image has no layers");
		return NULL;
	}
	size_t len = 64 + strlen(spec->upperdir) + strlen(spec->workdir);
	for (size_t i = 0; i < n; i++)
		len += strlen(spec->lowerdirs[i]) + 1;
	char *opts = xmalloc(len);
	char *p = opts;
	p += sprintf(p, "lowerdir=");
	for (size_t i = n; i-- > 0;) /* overlay lists the top layer first */
		p += sprintf(p, "%s%s", spec->lowerdirs[i], i ? ":" : "");
	sprintf(p, ",upperdir=%s,workdir=%s,userxattr", spec->upperdir, spec->workdir);
	if (strlen(opts) >= 4096) {
		husk_error_set(err, -E2BIG, "the image has too many layers (%zu) to mount", n);
		free(opts);
		return NULL;
	}
	return opts;
}

int husk_mounts_rootfs(const struct husk_spec *spec, struct husk_error *err)
{
	/* overlay's options must fit in a page: lower dirs are given relative to the layers
	 * directory (the mount syscall resolves them from our cwd). */
	if (chdir(spec->layers_dir) < 0)
		return husk_error_sys(err, -errno, "cannot enter %s", spec->layers_dir);
	_cleanup_free_ char *opts = husk_overlay_options(spec, err);
	if (!opts)
		return err ? err->code : -EINVAL;
	if (mount("overlay", spec->rootfs, "overlay", 0, opts) < 0)
		return husk_error_sys(err, -errno, "cannot mount the root file system (overlay)");
	return chdir("/") < 0 ? -errno : 0;
}

static int setup_dev(int rootfd, const struct husk_spec *spec, bool have_tty_gid,
		     struct husk_error *err)
{
	int r = mount_fs(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
			 "mode=755,size=65536k", err);
	if (r < 0)
		return r;
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		_cleanup_free_ char *src = xasprintf("/dev/%s", nodes[i]);
		_cleanup_free_ char *dst = xasprintf("/dev/%s", nodes[i]);
		/* mknod is impossible in a user namespace: the host's nodes are bound in. */
		r = bind_in_root(rootfd, src, dst, false, false, false, err);
		if (r < 0)
			return r;
	}
	r = mount_fs(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		     have_tty_gid ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
				  : "newinstance,ptmxmode=0666,mode=0620",
		     err);
	if (r < 0)
		return r;
	r = mount_fs(rootfd, "/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     spec->shm_options ? spec->shm_options : "mode=1777,size=65536k", err);
	if (r < 0)
		return r;
	r = mount_fs(rootfd, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dev = openat2_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		return husk_error_sys(err, dev, "cannot open /dev");
	static const char *const links[][2] = {
		{"ptmx", "pts/ptmx"},	      {"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0 && errno != EEXIST)
			return husk_error_sys(err, -errno, "cannot create /dev/%s", links[i][0]);
	return 0;
}

static int setup_sys(int rootfd, const struct husk_spec *spec, struct husk_error *err)
{
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r;
	if (spec->net != HUSK_NET_HOST) {
		/* A fresh sysfs needs our own network namespace. */
		r = mount_fs(rootfd, "/sys", "sysfs", "sysfs", ro, NULL, err);
	} else {
		r = bind_in_root(rootfd, "/sys", "/sys", true, false, true, err);
		if (r == 0) {
			_cleanup_close_ int fd = openat2_in_root(rootfd, "/sys", O_PATH);
			if (fd < 0 || remount_ro(fd) < 0)
				r = husk_error_sys(err, fd < 0 ? fd : -errno,
						   "cannot make /sys read-only");
		}
	}
	if (r < 0)
		return r;
	/* Our own view of the cgroup tree (we are in a cgroup namespace); not fatal where the
	 * host gives us none. */
	_cleanup_close_ int cg = openat2_in_root(rootfd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY);
	if (cg >= 0 && mount_on("cgroup2", cg, "cgroup2", ro, NULL) < 0)
		husk_log(LOG_DEBUG, "no cgroup2 mount in the container: %m");
	return 0;
}

static int mask_paths(int rootfd, char *const *masked, char *const *readonly,
		      struct husk_error *err)
{
	for (size_t i = 0; masked && masked[i]; i++) {
		_cleanup_close_ int fd = openat2_in_root(rootfd, masked[i], O_PATH);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return husk_error_sys(err, fd, "cannot open %s", masked[i]);
		struct stat st;
		if (fstat(fd, &st) < 0)
			return husk_error_sys(err, -errno, "stat %s", masked[i]);
		int r = S_ISDIR(st.st_mode) ? mount_on("tmpfs", fd, "tmpfs", MS_RDONLY, "size=0")
					    : mount_on("/dev/null", fd, NULL, MS_BIND, NULL);
		if (r < 0)
			return husk_error_sys(err, r, "cannot mask %s", masked[i]);
	}
	for (size_t i = 0; readonly && readonly[i]; i++) {
		_cleanup_close_ int fd = openat2_in_root(rootfd, readonly[i], O_PATH);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return husk_error_sys(err, fd, "cannot open %s", readonly[i]);
		_cleanup_free_ char *self = fd_path(fd);
		int r = mount_on(self, fd, NULL, MS_BIND | MS_REC, NULL);
		if (r == 0) {
			_cleanup_close_ int top = openat2_in_root(rootfd, readonly[i], O_PATH);
			r = top < 0 ? top : remount_ro(top);
		}
		if (r < 0)
			return husk_error_sys(err, r, "cannot make %s read-only", readonly[i]);
	}
	return 0;
}

/* Sort key for user mounts: parents before children, as Docker mounts them. */
static int mount_depth(const struct husk_mount *m)
{
	int d = 0;
	for (const char *p = m->target; *p; p++)
		d += *p == '/';
	return d;
}

static int cmp_mounts(const void *a, const void *b)
{
	return mount_depth(a) - mount_depth(b);
}

/* Docker's copy-up: a volume mounted where the image has a directory with content gets that
 * content first, when the volume is empty. We are root of the container's user namespace and
 * see its overlay, so owners come out as in the image. */
static int copy_up(int rootfd, const struct husk_mount *m, struct husk_error *err)
{
	_cleanup_close_ int src = openat2_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY);
	if (src == -ENOENT || src == -ENOTDIR)
		return 0; /* nothing there (or a file, which the bind refuses) */
	if (src < 0)
		return husk_error_sys(err, src, "cannot open %s to fill its volume", m->target);
	_cleanup_close_ int dst = open(m->source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return husk_error_sys(err, -errno, "cannot open the volume %s", m->source);
	int r = husk_dir_empty(dst);
	if (r == 1)
		r = husk_copy_tree(src, dst);
	if (r < 0)
		return husk_error_sys(err, r, "cannot copy %s into its volume", m->target);
	return 0;
}

static int bind_source(const struct husk_mount *m, struct stat *st, struct husk_error *err)
{
	if (stat(m->source, st) == 0)
		return 0;
	/* Like docker run -v, a missing host directory is created (not for --mount). */
	if (errno == ENOENT && !m->create_source)
		return husk_error_set(err, -ENOENT, "bind source path does not exist: %s",
				      m->source);
	if (errno != ENOENT || mkdir_p(m->source, 0755) < 0 || stat(m->source, st) < 0)
		return husk_error_sys(err, -errno, "bind source path %s", m->source);
	return 0;
}

/* --init: husk-init, read-only, where Docker puts its docker-init. */
static int bind_init(int rootfd, const char *path, struct husk_error *err)
{
	if (access(path, X_OK) < 0)
		return husk_error_sys(err, -errno,
				      "--init: cannot use %s (husk-init belongs beside husk-monitor)",
				      path);
	return bind_in_root(rootfd, path, HUSK_INIT_TARGET, false, true, false, err);
}

static int user_mounts(int rootfd, const struct husk_spec *spec, struct husk_error *err)
{
	struct husk_mount *sorted = xcalloc(spec->n_mounts + 1, sizeof *sorted);
	if (spec->n_mounts)
		memcpy(sorted, spec->mounts, spec->n_mounts * sizeof *sorted);
	qsort(sorted, spec->n_mounts, sizeof *sorted, cmp_mounts);
	int r = 0;
	for (size_t i = 0; i < spec->n_mounts && r == 0; i++) {
		const struct husk_mount *m = &sorted[i];
		struct stat st;
		if (m->kind == HUSK_MOUNT_TMPFS) {
			r = mount_fs(rootfd, m->target, "tmpfs", "tmpfs",
				     m->flags | (m->readonly ? MS_RDONLY : 0), m->options, err);
		} else if (m->kind == HUSK_MOUNT_VOLUME) {
			if (m->copy_up)
				r = copy_up(rootfd, m, err);
			if (r == 0)
				r = bind_in_root(rootfd, m->source, m->target, true, m->readonly,
						 true, err);
		} else if ((r = bind_source(m, &st, err)) == 0) {
			r = bind_in_root(rootfd, m->source, m->target, S_ISDIR(st.st_mode),
					 m->readonly, m->recursive, err);
		}
	}
	free(sorted);
	if (r == 0 && spec->init_path)
		r = bind_init(rootfd, spec->init_path, err);
	return r;
}

int husk_mounts_setup(const struct husk_spec *spec, bool have_tty_gid, struct husk_error *err)
{
	/* Nothing we mount may propagate back to the user's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return husk_error_sys(err, -errno, "cannot make mounts private");
	int r = husk_mounts_rootfs(spec, err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_sys(err, -errno, "cannot open %s", spec->rootfs);

	r = mount_fs(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	if (r == 0)
		r = setup_dev(rootfd, spec, have_tty_gid, err);
	if (r == 0)
		r = setup_sys(rootfd, spec, err);
	if (r == 0)
		r = user_mounts(rootfd, spec, err);
	if (r == 0 && spec->hosts_file)
		r = bind_in_root(rootfd, spec->hosts_file, "/etc/hosts", false, false, false, err);
	if (r == 0 && spec->hostname_file)
		r = bind_in_root(rootfd, spec->hostname_file, "/etc/hostname", false, false, false,
				 err);
	if (r == 0 && spec->resolv_file)
		r = bind_in_root(rootfd, spec->resolv_file, "/etc/resolv.conf", false, false,
				 false, err);
	if (r == 0 && !spec->privileged)
		r = mask_paths(rootfd, spec->masked_paths, spec->readonly_paths, err);
	return r;
}

int husk_mounts_pivot(const struct husk_spec *spec, struct husk_error *err)
{
	if (chdir(spec->rootfs) < 0)
		return husk_error_sys(err, -errno, "cannot enter %s", spec->rootfs);
	/* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
	 * only the container's tree. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return husk_error_sys(err, -errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return husk_error_sys(err, -errno, "cannot detach the old root");
	if (chdir("/") < 0)
		return husk_error_sys(err, -errno, "chdir /");
	/* Docker makes a missing WorkingDir in the container's writable layer at create, so a
	 * read-only root still gets it (the runtime makes it later otherwise). */
	struct stat st;
	if (spec->readonly_rootfs && !str_empty(spec->cwd) && stat(spec->cwd, &st) < 0 &&
	    errno == ENOENT)
		(void)mkdir_p(spec->cwd, 0755);
	if (spec->readonly_rootfs &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return husk_error_sys(err, -errno, "cannot make the root file system read-only");
	return 0;
}
