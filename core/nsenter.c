#include "nsenter.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const struct {
	const char *name;
	int flag;
} ns_types[] = {
    {"user", CLONE_NEWUSER},	 {"mnt", CLONE_NEWNS},	{"pid", CLONE_NEWPID},
    {"uts", CLONE_NEWUTS},	 {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP},
};

/* The namespaces of pid that are not ours: joining one of our own (the host's network for
 * --network host) would need privileges over it that we do not have in the container. */
static int foreign_namespaces(pid_t pid, int *flags)
{
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++) {
		char path[64];
		struct stat mine, theirs;
		snprintf(path, sizeof path, "/proc/self/ns/%s", ns_types[i].name);
		if (stat(path, &mine) < 0)
			continue; /* a kernel without this namespace type */
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_types[i].name);
		if (stat(path, &theirs) < 0)
			return -errno;
		if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
			*flags |= ns_types[i].flag;
	}
	return 0;
}

/* How far the helper got, with the result. */
enum { AT_CGROUP, AT_SETNS, AT_CLONE };

static int enter_cgroup(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write(fd, "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return r;
}

pid_t husk_fork_into(int pidfd, pid_t target, const char *cgroup, struct husk_error *err)
{
	int flags, r = foreign_namespaces(target, &flags);
	if (r < 0)
		return husk_error_sys(err, r, "cannot read the namespaces of %d", (int)target);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_error_sys(err, -errno, "pipe");
	pid_t h = fork();
	if (h == 0) {
		/* The helper: joins, makes the process, reports its pid, goes. */
		int32_t v[2] = {AT_CGROUP, cgroup ? enter_cgroup(cgroup) : 0};
		close(p[0]);
		if (v[1] == 0) {
			v[0] = AT_SETNS;
			if (setns(pidfd, flags) < 0)
				v[1] = -errno;
		}
		if (v[1] == 0) {
			/* clone() without a stack is fork(); CLONE_PARENT makes the process our
			 * caller's child, not the helper's. */
			pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL,
						     NULL, NULL);
			if (child == 0) {
				close(p[1]);
				return 0;
			}
			v[0] = AT_CLONE;
			v[1] = child < 0 ? -errno : child;
		}
		(void)!write(p[1], v, sizeof v);
		_exit(0);
	}
	close(p[1]);
	if (h < 0) {
		close(p[0]);
		return husk_error_sys(err, -errno, "fork");
	}
	int32_t v[2] = {0, 0};
	ssize_t n = read_full(p[0], v, sizeof v);
	close(p[0]);
	while (waitpid(h, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof v)
		return husk_error_set(err, -EIO, "cannot enter the container: the helper died");
	if (v[1] < 0 && v[0] == AT_CGROUP)
		return husk_error_sys(err, v[1], "cannot enter the container's cgroup %s", cgroup);
	if (v[1] < 0 && v[0] == AT_SETNS)
		return husk_error_sys(err, v[1], "cannot enter the container's namespaces");
	if (v[1] < 0)
		return husk_error_sys(err, v[1], "cannot start a process in the container");
	return (pid_t)v[1];
}
