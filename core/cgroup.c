#include "cgroup.h"
#include "fs.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

char *husk_cgroup_path_from(const char *proc_cgroup, const char *mountinfo)
{
	/* The unified hierarchy's line is "0::/path". */
	const char *cg = NULL;
	for (const char *l = proc_cgroup; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, "0::", 3) == 0)
			cg = l + 3;
	if (!cg)
		return NULL;
	_cleanup_free_ char *path = xstrndup(cg, strcspn(cg, "\n"));
	/* mountinfo: id parent dev root mountpoint options [optional...] - fstype source ... */
	for (const char *l = mountinfo; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		_cleanup_free_ char *line = xstrndup(l, strcspn(l, "\n"));
		char root[4096], point[4096];
		const char *dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0 ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2)
			continue;
		/* Our view of the hierarchy starts at root (a cgroup namespace may hide its top).
		 */
		size_t rl = streq(root, "/") ? 0 : strlen(root);
		if (rl && (strncmp(path, root, rl) != 0 || (path[rl] && path[rl] != '/')))
			continue;
		const char *rest = path + rl;
		if (!*rest || streq(rest, "/"))
			return NULL; /* the root cgroup: everything, not a container */
		return xasprintf("%s%s", point, rest);
	}
	return NULL;
}

char *husk_cgroup_dir(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *cg = NULL, *mi = NULL;
	if (read_file(p, &cg, NULL, 65536) < 0 ||
	    read_file("/proc/self/mountinfo", &mi, NULL, 4 << 20) < 0)
		return NULL;
	char *dir = husk_cgroup_path_from(cg, mi);
	struct stat st;
	if (!dir || stat(dir, &st) < 0 || st.st_uid != getuid()) {
		free(dir);
		return NULL;
	}
	return dir;
}

static bool same_pidns(pid_t a, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)a);
	return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

char *husk_cgroup_of_container(pid_t init, pid_t monitor, bool *monitor_in)
{
	_cleanup_free_ char *dir = husk_cgroup_dir(init);
	_cleanup_free_ char *procs = NULL;
	char path[64];
	struct stat ns;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)init);
	if (!dir || stat(path, &ns) < 0)
		return NULL;
	_cleanup_free_ char *file = xasprintf("%s/cgroup.procs", dir);
	if (read_file(file, &procs, NULL, 4 << 20) < 0)
		return NULL;
	bool mon = false;
	for (char *l = procs; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		pid_t p = (pid_t)strtol(l, NULL, 10);
		if (p == monitor)
			mon = true;
		else if (p > 0 && !same_pidns(p, &ns))
			return NULL;
	}
	if (monitor_in)
		*monitor_in = mon;
	return TAKE_PTR(dir);
}

int husk_cgroup_read(const char *dir, const char *file, const char *key, uint64_t *value)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *buf = NULL;
	int r = read_file(path, &buf, NULL, 1 << 20);
	if (r < 0)
		return r;
	if (!key) {
		*value = strncmp(buf, "max", 3) == 0 ? UINT64_MAX : strtoull(buf, NULL, 10);
		return 0;
	}
	/* "key value" lines: the "Key: value" parser with the colon made a space. */
	size_t klen = strlen(key);
	for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			*value = strtoull(l + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

static bool is_frozen(const char *dir, bool frozen)
{
	uint64_t v;
	return husk_cgroup_read(dir, "cgroup.events", "frozen", &v) == 0 && (v != 0) == frozen;
}

int husk_cgroup_freeze(const char *dir, bool frozen, int timeout_ms, struct husk_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.freeze", dir);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, frozen ? "1" : "0", 1) < 0)
		return husk_error_sys(err, -errno, "cannot write %s", path);
	/* cgroup.events changes (and is notified as modified) once the state is reached. */
	_cleanup_free_ char *events = xasprintf("%s/cgroup.events", dir);
	_cleanup_close_ int ev = open(events, O_RDONLY | O_CLOEXEC);
	int64_t deadline = mono_ms() + timeout_ms;
	while (!is_frozen(dir, frozen)) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return husk_error_set(err, -ETIMEDOUT, "the cgroup did not %s in time",
					      frozen ? "freeze" : "thaw");
		struct pollfd p = {.fd = ev, .events = POLLPRI};
		if (ev < 0 || poll(&p, 1, left < 10 ? (int)left : 10) < 0)
			usleep(1000);
	}
	return 0;
}
