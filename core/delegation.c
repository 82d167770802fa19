#include "delegation.h"
#include "cgroup.h"
#include "fs.h"

#include <libgen.h>
#include <stdarg.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

const char *husk_cgroup_driver_name(enum husk_cgroup_driver driver)
{
	return driver == HUSK_CGROUP_SYSTEMD	? "systemd"
	       : driver == HUSK_CGROUP_CGROUPFS ? "cgroupfs"
						: "none";
}

void husk_delegation_clear(struct husk_delegation *d)
{
	free(d->dir);
	free(d->cpus);
	free(d->mems);
	memset(d, 0, sizeof *d);
}

static bool is_cgroup2(const char *path)
{
	struct statfs s;
	return statfs(path, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

static bool owned(const char *dir)
{
	struct stat st;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid();
}

static char *parent_of(const char *dir)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	return xstrdup(dirname(copy));
}

static bool writable(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return access(p, W_OK) == 0;
}

static char *read_line(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	char *text = NULL;
	if (read_file(p, &text, NULL, 65536) < 0)
		return NULL;
	text[strcspn(text, "\n")] = 0;
	return text;
}

static void none(struct husk_delegation *d, const char *fmt, ...) _printf_(2, 3);
static void none(struct husk_delegation *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(d->dir);
	d->dir = NULL;
	d->driver = HUSK_CGROUP_NONE;
	d->controllers = 0;
	vsnprintf(d->why, sizeof d->why, fmt, ap);
	va_end(ap);
}

/* The controllers a cgroup made below dir can have, swap accounting, and cpuset's sets. */
static void offer(struct husk_delegation *d, unsigned controllers)
{
	d->controllers = controllers;
	d->swap = false;
	if (controllers & HUSK_CG_MEMORY) {
		_cleanup_free_ char *p = xasprintf("%s/memory.swap.max", d->dir);
		d->swap = access(p, F_OK) == 0;
	}
	if (controllers & HUSK_CG_CPUSET) {
		d->cpus = read_line(d->dir, "cpuset.cpus.effective");
		d->mems = read_line(d->dir, "cpuset.mems.effective");
	}
	if (!d->cpus) {
		_cleanup_free_ char *online = NULL;
		if (read_file("/sys/devices/system/cpu/online", &online, NULL, 4096) == 0) {
			online[strcspn(online, "\n")] = 0;
			d->cpus = TAKE_PTR(online);
		}
	}
}

/* Under systemd: the topmost cgroup above us that is still ours is what the user manager was
 * given (user@UID.service); its transient scopes can have what it has. */
static void detect_systemd(struct husk_delegation *d)
{
	_cleanup_free_ char *own = husk_cgroup_path(getpid());
	if (!own) {
		none(d, "husk-api runs under systemd, but in no cgroup v2 of its own");
		return;
	}
	if (!owned(own)) {
		none(d,
		     "husk-api runs under systemd, but its cgroup %s is not delegated to "
		     "this user",
		     own);
		return;
	}
	char *top = xstrdup(own);
	for (;;) {
		_cleanup_free_ char *up = parent_of(top);
		if (streq(up, top) || !is_cgroup2(up) || !owned(up))
			break;
		free(top);
		top = TAKE_PTR(up);
	}
	d->driver = HUSK_CGROUP_SYSTEMD;
	d->dir = top;
	offer(d, husk_cgroup_controllers(top, "cgroup.controllers"));
}

static bool has_processes(const char *dir)
{
	_cleanup_free_ char *procs = read_line(dir, "cgroup.procs");
	return procs && *procs;
}

/* The deepest directory both paths are in. */
static char *common_ancestor(const char *a, const char *b)
{
	size_t n = 0, last = 0;
	while (a[n] && a[n] == b[n]) {
		if (a[n] == '/')
			last = n;
		n++;
	}
	if ((!a[n] || a[n] == '/') && (!b[n] || b[n] == '/'))
		last = n;
	return xstrndup(a, last ? last : 1);
}

static void detect_root(struct husk_delegation *d, const char *root)
{
	if (root[0] != '/') {
		none(d, "the cgroup root %s is not an absolute path", root);
		return;
	}
	if (access(root, F_OK) < 0) {
		_cleanup_free_ char *up = parent_of(root);
		if (is_cgroup2(up) && owned(up))
			mkdir(root, 0755);
	}
	if (!is_cgroup2(root)) {
		none(d, "the cgroup root %s is no cgroup v2 directory", root);
		return;
	}
	if (!owned(root) || !writable(root, "cgroup.procs") ||
	    !writable(root, "cgroup.subtree_control")) {
		none(d, "the cgroup root %s is not delegated to this user (not ours to write)",
		     root);
		return;
	}
	_cleanup_free_ char *own = husk_cgroup_path(getpid());
	_cleanup_free_ char *anc = common_ancestor(own ? own : "/", root);
	if (!is_cgroup2(anc) || !writable(anc, "cgroup.procs")) {
		none(d,
		     "husk-api's cgroup %s and the cgroup root %s have no common ancestor "
		     "this user may move processes in (the kernel's rule for entering a "
		     "cgroup): run husk-api inside the delegated tree",
		     own ? own : "(the root)", root);
		return;
	}
	d->driver = HUSK_CGROUP_CGROUPFS;
	d->dir = xstrdup(root);
	unsigned avail = husk_cgroup_controllers(root, "cgroup.controllers");
	/* What is not given to its children yet can only be where the root holds no process. */
	if (has_processes(root))
		avail &= husk_cgroup_controllers(root, "cgroup.subtree_control");
	offer(d, avail);
}

void husk_delegation_detect(const char *root, bool systemd, struct husk_delegation *d)
{
	memset(d, 0, sizeof *d);
	if (systemd)
		detect_systemd(d);
	else if (!str_empty(root))
		detect_root(d, root);
	else
		none(d, "husk-api was not started by systemd, and no cgroup root is configured "
			"(husk-api --cgroup-root, HUSK_CGROUP_ROOT)");
	if (d->driver == HUSK_CGROUP_NONE) {
		free(d->cpus);
		d->cpus = NULL;
	}
}

/* Whether the host binds the controller to a cgroup v1 hierarchy (/proc/cgroups: its
 * hierarchy id is not 0), where cgroup v2 cannot have it. */
static bool bound_to_v1(const char *name)
{
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/cgroups", &text, NULL, 65536) < 0)
		return false;
	for (char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char n[64];
		unsigned hier;
		if (sscanf(l, "%63s %u", n, &hier) == 2 && streq(n, name))
			return hier != 0;
	}
	return false;
}

void husk_delegation_why_not(const struct husk_delegation *d, unsigned ctrl, char *buf, size_t n)
{
	if (!d || d->driver == HUSK_CGROUP_NONE) {
		snprintf(buf, n, "no cgroup v2 is delegated to husk: %s",
			 d ? d->why : "no cgroups are used");
		return;
	}
	char name[16], have[64];
	husk_cgroup_format_controllers(ctrl, name, sizeof name);
	husk_cgroup_format_controllers(d->controllers, have, sizeof have);
	snprintf(buf, n, "the %s controller is not delegated to husk (%s offers %s)%s", name,
		 d->dir, *have ? have : "none",
		 bound_to_v1(name) ? "; on this host it is bound to a cgroup v1 hierarchy" : "");
}

static int make_dir(const char *dir, struct husk_error *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return husk_error_set(err, -errno, "cannot create the cgroup %s: %s", dir,
				      strerror(errno));
	return 0;
}

int husk_cgroup_make_container(enum husk_cgroup_driver driver, const char *dir, const char *id,
			       unsigned want, char **out, struct husk_error *err)
{
	*out = NULL;
	_cleanup_free_ char *ctr = NULL;
	int r;
	if (driver == HUSK_CGROUP_SYSTEMD) {
		/* Out of the scope's own node first: controllers are enabled only for the
		 * children of a cgroup without processes. */
		_cleanup_free_ char *mon = xasprintf("%s/monitor", dir);
		if ((r = make_dir(mon, err)) < 0 || (r = husk_cgroup_enter(mon, 0, err)) < 0)
			return r;
		ctr = xasprintf("%s/container", dir);
	} else if (driver == HUSK_CGROUP_CGROUPFS) {
		ctr = xasprintf("%s/husk-%.12s", dir, id);
	} else {
		return husk_error_set(err, -EINVAL, "no cgroup to make the container's in");
	}
	/* Best effort: the caller checks that what it needs is there, and says so. */
	husk_cgroup_enable(dir, want, NULL);
	if ((r = make_dir(ctr, err)) < 0)
		return r;
	*out = TAKE_PTR(ctr);
	return 0;
}
