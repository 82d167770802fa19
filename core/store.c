#include "store.h"
#include "fs.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>

char *husk_default_run_dir(void)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (str_empty(x))
		return NULL;
	return xasprintf("%s/husk", x);
}

char *husk_default_data_dir(void)
{
	const char *x = getenv("XDG_DATA_HOME");
	if (!str_empty(x))
		return xasprintf("%s/husk", x);
	const char *home = getenv("HOME");
	if (str_empty(home))
		return NULL;
	return xasprintf("%s/.local/share/husk", home);
}

static int ensure_private_dir(const char *path, struct husk_error *err)
{
	int r = mkdir_p(path, 0700);
	if (r < 0)
		return husk_error_sys(err, r, "cannot create %s", path);
	struct stat st;
	if (stat(path, &st) < 0)
		return husk_error_sys(err, -errno, "cannot stat %s", path);
	if (st.st_uid != getuid())
		return husk_error_set(err, -EACCES, "%s is owned by uid %u, not by us (uid %u)",
				      path, (unsigned)st.st_uid, (unsigned)getuid());
	return 0;
}

int husk_store_open(struct husk_store *s, const char *data, const char *run,
		    struct husk_error *err)
{
	memset(s, 0, sizeof *s);
	s->uid = getuid();
	s->gid = getgid();
	s->data = data ? xstrdup(data) : husk_default_data_dir();
	if (!s->data)
		return husk_error_set(err, -EINVAL, "no data directory: set HOME or XDG_DATA_HOME");
	s->run = run ? xstrdup(run) : husk_default_run_dir();
	if (!s->run)
		/* Like podman without XDG_RUNTIME_DIR: a private directory under /tmp. */
		s->run = xasprintf("/tmp/husk-run-%u", (unsigned)s->uid);

	int r = ensure_private_dir(s->data, err);
	if (r < 0)
		return r;
	r = ensure_private_dir(s->run, err);
	if (r < 0)
		return r;
	static const char *const subdirs[] = {"containers", "images", "volumes"};
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", s->data, subdirs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return husk_error_sys(err, -errno, "cannot create %s", p);
	}
	_cleanup_free_ char *rc = xasprintf("%s/containers", s->run);
	if (mkdir(rc, 0700) < 0 && errno != EEXIST)
		return husk_error_sys(err, -errno, "cannot create %s", rc);
	return 0;
}

void husk_store_close(struct husk_store *s)
{
	free(s->data);
	free(s->run);
	s->data = s->run = NULL;
}

static char *vpath(const char *root, const char *fmt, va_list ap)
{
	_cleanup_free_ char *rel = NULL;
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	return xasprintf("%s/%s", root, rel);
}

char *husk_store_data_path(const struct husk_store *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = vpath(s->data, fmt, ap);
	va_end(ap);
	return p;
}

char *husk_store_run_path(const struct husk_store *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = vpath(s->run, fmt, ap);
	va_end(ap);
	return p;
}

int husk_store_lock(const struct husk_store *s)
{
	_cleanup_free_ char *p = xasprintf("%s/.lock", s->data);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

void husk_store_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
