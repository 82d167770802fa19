#include "cgroup.h"
#include "fs.h"

#include <dirent.h>
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
	/* mountinfo: id parent dev root mountpoint options [optional...] - fstype source ...
	 * The last mount that shows the cgroup wins: a later mount on the same place hides an
	 * earlier one (the unified hierarchy bound over /sys/fs/cgroup hides its own mount at
	 * /sys/fs/cgroup/unified). */
	char *found = NULL;
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
		free(found);
		/* the root cgroup: everything, not a container */
		found = !*rest || streq(rest, "/") ? NULL : xasprintf("%s%s", point, rest);
	}
	return found;
}

char *husk_cgroup_path(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *cg = NULL, *mi = NULL;
	if (read_file(p, &cg, NULL, 65536) < 0 ||
	    read_file("/proc/self/mountinfo", &mi, NULL, 4 << 20) < 0)
		return NULL;
	return husk_cgroup_path_from(cg, mi);
}

char *husk_cgroup_dir(pid_t pid)
{
	char *dir = husk_cgroup_path(pid);
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

static const char *const controller_names[] = {"cpu", "cpuset", "io", "memory", "pids"};

unsigned husk_cgroup_parse_controllers(const char *text)
{
	unsigned mask = 0;
	for (const char *w = text; w && *w;) {
		w += strspn(w, " \t\n");
		size_t n = strcspn(w, " \t\n");
		for (size_t i = 0; i < ARRAY_SIZE(controller_names); i++)
			if (n == strlen(controller_names[i]) &&
			    strncmp(w, controller_names[i], n) == 0)
				mask |= 1u << i;
		w += n;
	}
	return mask;
}

const char *husk_cgroup_format_controllers(unsigned mask, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(controller_names); i++)
		if (mask & (1u << i) && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? " " : "",
						controller_names[i]);
	return buf;
}

unsigned husk_cgroup_controllers(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, &text, NULL, 4096) < 0)
		return 0;
	return husk_cgroup_parse_controllers(text);
}

int husk_cgroup_write(const char *dir, const char *file, const char *value, struct husk_error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	/* One write: the kernel takes (or refuses) the value as a whole. */
	ssize_t n = write(fd, value, strlen(value));
	if (n < 0)
		return husk_error_set(err, -errno, "cannot write \"%s\" to %s: %s", value, path,
				      strerror(errno));
	return 0;
}

int husk_cgroup_enable(const char *dir, unsigned mask, struct husk_error *err)
{
	unsigned want = mask & husk_cgroup_controllers(dir, "cgroup.controllers") &
			~husk_cgroup_controllers(dir, "cgroup.subtree_control");
	char buf[128];
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(controller_names); i++)
		if (want & (1u << i))
			len += (size_t)snprintf(buf + len, sizeof buf - len, "%s+%s",
						len ? " " : "", controller_names[i]);
	return want ? husk_cgroup_write(dir, "cgroup.subtree_control", buf, err) : 0;
}

int husk_cgroup_enter(const char *dir, pid_t pid, struct husk_error *err)
{
	char v[24];
	snprintf(v, sizeof v, "%d", (int)pid);
	return husk_cgroup_write(dir, "cgroup.procs", v, err);
}

bool husk_cgroup_populated(const char *dir)
{
	uint64_t v;
	return husk_cgroup_read(dir, "cgroup.events", "populated", &v) == 0 && v != 0;
}

/* Children first; a cgroup is removed with rmdir (its files go with it). */
static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && !streq(e->d_name, ".") && !streq(e->d_name, "..")) {
			_cleanup_free_ char *sub = xasprintf("%s/%s", dir, e->d_name);
			remove_tree(sub);
		}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

int husk_cgroup_remove(const char *dir, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		int r = remove_tree(dir);
		/* EBUSY: a process is still there (the last ones are being reaped). */
		if (r != -EBUSY || mono_ms() >= deadline)
			return r;
		usleep(5000);
	}
}
