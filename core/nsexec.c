#include "nsexec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* How long a process may take from fork to exec before it counts as wedged (moby gives an
 * exec 30 s to start; a monitor's loop should not stall that long). */
#define SPAWN_TIMEOUT_MS 10000

static int enter_container(int rootfd, const struct husk_stdio *io, struct husk_error *err)
{
	/* The root of the container's mount namespace, as its first process sees it. */
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return husk_error_sys(err, -errno, "cannot enter the container's root");
	int in = io->in >= 0 ? io->in : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, 0) < 0 || dup2(io->out, 1) < 0 || dup2(io->err, 2) < 0)
		return husk_error_sys(err, -errno, "cannot set up the process's stdio");
	return setsid() < 0 ? husk_error_sys(err, -errno, "setsid") : 0;
}

_noreturn_ static void helper(int pidfd, int rootfd, unsigned long ns, const struct husk_spec *c,
			      const struct husk_proc_spec *p, const struct husk_stdio *io, int sync)
{
	struct husk_error err = {0};
	int r = 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setns(pidfd, (int)ns) < 0) {
		r = husk_error_sys(&err, -errno, "cannot join the container's namespaces");
	} else {
		/* Its pid is in the container's pid namespace; its parent is our parent. */
		pid_t pid =
		    (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			husk_proc_exec(c, p, sync, enter_container(rootfd, io, &err), &err);
		}
		if (pid < 0)
			r = husk_error_sys(&err, -errno, "cannot create the process");
		else if (husk_proc_report_pid(sync, pid) == 0)
			_exit(0);
		else
			r = husk_error_sys(&err, -errno, "cannot report the process");
	}
	husk_proc_exec(c, p, sync, r, &err); /* reports r and exits */
}

int husk_ns_spawn(pid_t target, const struct husk_spec *c, const struct husk_proc_spec *p,
		  const struct husk_stdio *io, pid_t *pid, struct husk_error *err)
{
	*pid = -1;
	if (!p->argv || !p->argv[0])
		return husk_error_set(err, -EINVAL, "no command specified");
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
	if (pidfd < 0)
		return husk_error_set(err, -ESRCH, "the container is not running");
	char root[64];
	snprintf(root, sizeof root, "/proc/%d/root", (int)target);
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_set(err, -ESRCH, "the container is not running");
	unsigned long ns = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
			   CLONE_NEWIPC | CLONE_NEWCGROUP;
	/* With the host's network the container has no network namespace of its own (and no
	 * right to join the host's from inside its user namespace). */
	if (c->net != HUSK_NET_HOST)
		ns |= CLONE_NEWNET;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_error_sys(err, -errno, "socketpair");
	pid_t h = fork();
	if (h == 0) {
		close(sv[0]);
		helper(pidfd, rootfd, ns, c, p, io, sv[1]);
	}
	close(sv[1]);
	_cleanup_close_ int sock = sv[0];
	if (h < 0)
		return husk_error_sys(err, -errno, "fork");
	pid_t made = -1;
	int r = husk_proc_wait_exec(sock, SPAWN_TIMEOUT_MS, NULL, &made, err);
	if (r == -ETIMEDOUT)
		kill(h, SIGKILL);
	while (waitpid(h, NULL, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && made <= 0)
		r = husk_error_set(err, -EIO, "the process was not started");
	if (r < 0) {
		if (made > 0) {
			kill(made, SIGKILL);
			while (waitpid(made, NULL, 0) < 0 && errno == EINTR)
				;
		}
		return r;
	}
	*pid = made;
	return 0;
}
