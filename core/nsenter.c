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

pid_t husk_fork_into(int pidfd, pid_t target, struct husk_error *err)
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
		int32_t v;
		close(p[0]);
		if (setns(pidfd, flags) < 0) {
			v = -errno;
		} else {
			/* clone() without a stack is fork(); CLONE_PARENT makes the process our
			 * caller's child, not the helper's. */
			pid_t child = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL,
						     NULL, NULL);
			if (child == 0) {
				close(p[1]);
				return 0;
			}
			v = child < 0 ? -errno : child;
		}
		(void)!write(p[1], &v, sizeof v);
		_exit(0);
	}
	close(p[1]);
	if (h < 0) {
		close(p[0]);
		return husk_error_sys(err, -errno, "fork");
	}
	int32_t v = 0;
	ssize_t n = read_full(p[0], &v, sizeof v);
	close(p[0]);
	while (waitpid(h, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof v)
		return husk_error_set(err, -EIO, "cannot enter the container: the helper died");
	if (v < 0)
		return husk_error_sys(err, v, "cannot enter the container's namespaces");
	return (pid_t)v;
}
