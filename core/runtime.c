/* Starting a container: clone into new namespaces, map ids, then in the child the fixed order
 * of steps that ends in execve. The child reports failure (or the pty master) over a
 * SEQPACKET socket that closes on exec, so "EOF" means the process is running. */
#include "runtime.h"
#include "caps.h"
#include "mounts.h"
#include "passwd.h"
#include "seccomp.h"
#include "spec.h"
#include "fs.h"
#include "libc_compat.h"
#include "nsenter.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

const char *const husk_default_masked_paths[] = {
	"/proc/asound",	       "/proc/acpi",	      "/proc/interrupts",
	"/proc/kcore",	       "/proc/keys",	      "/proc/latency_stats",
	"/proc/timer_list",    "/proc/timer_stats",   "/proc/sched_debug",
	"/proc/scsi",	       "/sys/firmware",	      "/sys/devices/virtual/powercap",
	NULL,
};

const char *const husk_default_readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

void husk_spec_free(struct husk_spec *spec)
{
	if (!spec)
		return;
	strv_free(spec->argv);
	strv_free(spec->env);
	free(spec->cwd);
	free(spec->user);
	free(spec->hostname);
	free(spec->domainname);
	free(spec->rootfs);
	free(spec->layers_dir);
	strv_free(spec->lowerdirs);
	free(spec->upperdir);
	free(spec->workdir);
	free(spec->hosts_file);
	free(spec->hostname_file);
	free(spec->resolv_file);
	for (size_t i = 0; i < spec->n_mounts; i++)
		husk_mount_clear(&spec->mounts[i]);
	free(spec->mounts);
	free(spec->shm_options);
	free(spec->seccomp_profile);
	strv_free(spec->masked_paths);
	strv_free(spec->readonly_paths);
	free(spec->rlimits);
	strv_free(spec->extra_groups);
	free(spec->init_path);
	free(spec->cgroup);
	memset(spec, 0, sizeof *spec);
}

/* Messages on the handshake socket, child to parent. */
enum { MSG_PTY = 'T', MSG_ERROR = 'E' };

struct child_report {
	char type;
	int code;
	char message[1024];
};

static int send_fd(int sock, char type, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &type, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = buf,
			     .msg_controllen = sizeof buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int bring_up_lo(struct husk_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return husk_error_sys(err, -errno, "socket");
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return husk_error_sys(err, -errno, "lo: SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return husk_error_sys(err, -errno, "cannot bring up lo");
	return 0;
}

/* The controlling terminal, made inside the container's own devpts so that `tty` names it
 * there; the master goes to the monitor. */
static int setup_tty(const struct husk_spec *spec, int sync, struct husk_error *err)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return husk_error_sys(err, -errno, "cannot open /dev/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return husk_error_sys(err, -errno, "cannot unlock the pty");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return husk_error_sys(err, -errno, "cannot open the pty");
	if (spec->rows && spec->cols) {
		struct winsize ws = {.ws_row = spec->rows, .ws_col = spec->cols};
		ioctl(master, TIOCSWINSZ, &ws);
	}
	int r = send_fd(sync, MSG_PTY, master);
	close(master);
	if (r < 0)
		return husk_error_sys(err, r, "cannot pass the pty to the monitor");
	if (setsid() < 0)
		return husk_error_sys(err, -errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_error_sys(err, -errno, "cannot set the controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return husk_error_sys(err, -errno, "dup2");
	if (slave > 2)
		close(slave);
	return 0;
}

static int setup_stdio(const struct husk_stdio *io, struct husk_error *err)
{
	int in = io->in;
	if (in < 0) {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return husk_error_sys(err, -errno, "open /dev/null");
	}
	/* dup2 clears close-on-exec on the copies: the container keeps exactly 0, 1 and 2. */
	if (dup2(in, 0) < 0 || dup2(io->out, 1) < 0 || dup2(io->err, 2) < 0)
		return husk_error_sys(err, -errno, "dup2");
	return 0;
}

/* Docker's messages for a command that cannot run; -ENOENT → exit 127, -EACCES → 126. */
static int find_executable(const char *cmd, char *const *env, char *out, size_t n,
			   struct husk_error *err)
{
	struct stat st;
	if (strchr(cmd, '/')) {
		if (stat(cmd, &st) < 0)
			return husk_error_set(err, -ENOENT,
					      "exec: \"%s\": stat %s: no such file or directory",
					      cmd, cmd);
		if (S_ISDIR(st.st_mode) || access(cmd, X_OK) < 0)
			return husk_error_set(err, -EACCES, "exec: \"%s\": permission denied", cmd);
		snprintf(out, n, "%s", cmd);
		return 0;
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (size_t i = 0; env && env[i]; i++)
		if (str_startswith(env[i], "PATH="))
			path = env[i] + 5;
	_cleanup_free_ char *dirs = xstrdup(path);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, n, "%s/%s", *d ? d : ".", cmd);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
	}
	return husk_error_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH",
			      cmd);
}

static void format_rlimit(uint64_t v, char *buf, size_t n)
{
	if (v == (uint64_t)RLIM_INFINITY)
		snprintf(buf, n, "unlimited");
	else
		snprintf(buf, n, "%llu", (unsigned long long)v);
}

static int set_rlimits(const struct husk_spec *spec, struct husk_error *err)
{
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		const struct husk_rlimit *l = &spec->rlimits[i];
		struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard}, cur;
		if (setrlimit(l->resource, &rl) == 0)
			continue;
		int e = errno;
		/* Raising a hard limit takes CAP_SYS_RESOURCE in the host's user namespace: a
		 * rootless container can't go above the limits of the user who runs it. */
		if (e == EPERM && getrlimit(l->resource, &cur) == 0 && l->hard > cur.rlim_max) {
			char want[32], have[32];
			format_rlimit(l->hard, want, sizeof want);
			format_rlimit(cur.rlim_max, have, sizeof have);
			return husk_error_set(err, -EPERM,
					      "cannot set ulimit %s: its hard limit %s is above %s, "
					      "the hard limit of the user running husk, which a "
					      "rootless container cannot raise",
					      husk_rlimit_name(l->resource), want, have);
		}
		return husk_error_sys(err, -e, "cannot set ulimit %s",
				      husk_rlimit_name(l->resource));
	}
	return 0;
}

static int set_credentials(const struct husk_user *u, struct husk_error *err)
{
	if (setgroups(u->n_groups, u->groups) < 0 && errno != EPERM)
		return husk_error_sys(err, -errno, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return husk_error_set(err, -EINVAL,
				      "cannot run as gid %u: the user namespace has no mapping for it "
				      "(is there a range for this user in /etc/subgid?)",
				      (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return husk_error_set(err, -EINVAL,
				      "cannot run as uid %u: the user namespace has no mapping for it "
				      "(is there a range for this user in /etc/subuid?)",
				      (unsigned)u->uid);
	return 0;
}

/* What a child needs between fork and execve. */
struct child {
	const struct husk_spec *spec;
	const struct husk_stdio *io;
	int sync;
	bool have_tty_gid;			 /* container: devpts may use gid 5 */
	bool exec;				 /* an exec'd process joining a container */
	bool late_cgroupns;			 /* cloned into its cgroup: make the namespace then */
	const struct husk_exec_filters *filters; /* exec: prebuilt seccomp filters */
	char exe[4096];
	char **env;
};

static int load_seccomp(const struct child *c, bool root, struct husk_error *err)
{
	const struct husk_spec *spec = c->spec;
	if (spec->privileged || streq(spec->seccomp_profile, "unconfined"))
		return 0;
	if (c->filters && c->filters->built)
		return husk_seccomp_apply(c->filters->f[root], err);
	return husk_seccomp_load(spec->seccomp_profile, root ? spec->caps : 0, err);
}

/* The process itself, in its final namespaces and root: shared by the container's process and
 * exec'd ones, from the terminal on. */
static int process_setup(struct child *c, struct husk_error *err)
{
	const struct husk_spec *spec = c->spec;
	int r;
	if (spec->tty)
		r = setup_tty(spec, c->sync, err);
	else
		r = setsid() < 0 ? husk_error_sys(err, -errno, "setsid") : 0;
	if (r < 0)
		return r;

	struct husk_user u;
	r = husk_user_resolve(spec->user, spec->extra_groups, "/etc/passwd", "/etc/group", &u, err);
	if (r < 0)
		return r;
	c->env = husk_env_finish(spec->env, u.home);
	const char *cwd = str_empty(spec->cwd) ? "/" : spec->cwd;
	if (chdir(cwd) < 0) {
		/* Docker creates a missing WorkingDir for the container (not for exec). */
		if (c->exec || errno != ENOENT || mkdir_p(cwd, 0755) < 0 || chdir(cwd) < 0)
			return husk_error_sys(err, -errno, "cannot enter the working directory %s",
					      cwd);
		if (u.uid != 0)
			(void)!chown(cwd, u.uid, u.gid);
	}
	if ((r = set_rlimits(spec, err)) < 0)
		return r;
	if ((r = husk_caps_bound(spec->caps, err)) < 0)
		return r;
	if ((r = set_credentials(&u, err)) < 0)
		return r;
	if ((r = husk_caps_set(spec->caps, u.uid == 0, err)) < 0)
		return r;
	/* The executable is looked up as the user, as execve will be done. */
	if ((r = find_executable(spec->argv[0], c->env, c->exe, sizeof c->exe, err)) < 0)
		return r;
	/* Changing credentials cleared the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_error_sys(err, -errno, "no_new_privs");
	return load_seccomp(c, u.uid == 0, err);
}

static int become_root(struct husk_error *err)
{
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return husk_error_sys(err, -errno, "cannot become root in the user namespace");
	return 0;
}

static int set_oom_score_adj(int v, struct husk_error *err)
{
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", v);
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, buf, (size_t)n) < 0)
		return husk_error_sys(err, fd < 0 ? -errno : -EPERM, "cannot set oom_score_adj %d",
				      v);
	return 0;
}

static int container_setup(struct child *c, struct husk_error *err)
{
	const struct husk_spec *spec = c->spec;
	int r;
	if ((r = become_root(err)) < 0)
		return r;
	if (!spec->tty && (r = setup_stdio(c->io, err)) < 0)
		return r;
	if ((r = husk_mounts_setup(spec, c->have_tty_gid, err)) < 0)
		return r;
	if ((r = husk_mounts_pivot(spec, err)) < 0)
		return r;
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return husk_error_sys(err, -errno, "sethostname");
	if (spec->domainname && *spec->domainname &&
	    setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return husk_error_sys(err, -errno, "setdomainname");
	if (spec->net != HUSK_NET_HOST && (r = bring_up_lo(err)) < 0)
		return r;
	if (spec->oom_score_adj && (r = set_oom_score_adj(spec->oom_score_adj, err)) < 0)
		return r;
	return process_setup(c, err);
}

/* In the container's namespaces already (husk_fork_into); joining the mount namespace set our
 * root to the container's, the working directory is left to set. */
static int exec_setup(struct child *c, struct husk_error *err)
{
	int r;
	if ((r = become_root(err)) < 0)
		return r;
	if (chdir("/") < 0)
		return husk_error_sys(err, -errno, "chdir /");
	if (!c->spec->tty && (r = setup_stdio(c->io, err)) < 0)
		return r;
	return process_setup(c, err);
}

static void reset_signals(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The monitor blocks and ignores signals for its own loop; the process must start
	 * with the defaults (a shell can't even trap a signal ignored at its start). */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			signal(i, SIG_DFL);
}

/* execve when setup went well (r == 0), else report why on the handshake socket. Docker's
 * exit codes for a command that cannot run: 127 not found, 126 not executable; other setup
 * failures are 1 for the container (the monitor reports them) and 126 for exec. */
_noreturn_ static void exec_or_report(struct child *c, int r, struct husk_error *err)
{
	struct child_report rep = {.type = MSG_ERROR};
	if (r == 0) {
		/* Only 0, 1, 2 cross into the container; sync closes on exec = success. */
		syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
		execve(c->exe, c->spec->argv, c->env);
		r = errno == ENOEXEC
			? husk_error_set(err, -EACCES, "exec: \"%s\": exec format error",
					 c->spec->argv[0])
		    : errno == EACCES
			? husk_error_set(err, -EACCES, "exec: \"%s\": permission denied", c->exe)
			: husk_error_sys(err, -errno, "exec: \"%s\"", c->exe);
	}
	rep.code = err->code ? err->code : r;
	snprintf(rep.message, sizeof rep.message, "%s", err->message);
	(void)!send(c->sync, &rep, sizeof rep, MSG_NOSIGNAL);
	_exit(rep.code == -ENOENT ? 127 : rep.code == -EACCES ? 126 : c->exec ? 126 : 1);
}

_noreturn_ static void child_main(struct child *c)
{
	struct husk_error err = {0};
	char go = 0;
	husk_malloc_until_exec();
	reset_signals();
	if (read(c->sync, &go, 1) != 1 || go != 'G')
		_exit(1); /* the monitor could not map our ids; it reports why */
	/* A cgroup namespace rooted at the container's own cgroup: made here, as we are in it
	 * now (clone makes the new namespace at the parent's cgroup). */
	int r = 0;
	if (c->late_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		r = husk_error_sys(&err, -errno, "cannot create the cgroup namespace");
	exec_or_report(c, r ? r : container_setup(c, &err), &err);
}

static int recv_report(int sock, struct child_report *rep, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof *rep};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof cbuf};
	ssize_t n;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return (int)n;
}

int husk_runtime_report(int sync, int *pty, struct husk_error *err)
{
	struct child_report rep;
	int fd = -1;
	*pty = -1;
	int n = recv_report(sync, &rep, &fd);
	if (n == 0)
		return 0; /* closed on exec: running */
	if (n < 0)
		return husk_error_sys(err, n, "process setup failed");
	if (rep.type == MSG_PTY && fd >= 0) {
		*pty = fd;
		return 1;
	}
	if (fd >= 0)
		close(fd);
	if (rep.type == MSG_ERROR && n == (int)sizeof rep)
		return husk_error_set(err, rep.code < 0 ? rep.code : -EIO, "%s", rep.message);
	return husk_error_set(err, -EIO, "process setup failed: bad report");
}

/* Like fork() (no new stack: the monitor is single-threaded), into new namespaces, and into
 * the container's cgroup from its first instruction where it has one (CLONE_INTO_CGROUP: the
 * kernel checks our right to move a process there, as a write to its cgroup.procs would). */
static pid_t clone_container(uint64_t flags, const char *cgroup, struct husk_error *err)
{
	pid_t pid;
	if (!cgroup) {
		pid = (pid_t)syscall(SYS_clone, flags | CLONE_NEWCGROUP | SIGCHLD, NULL, NULL, NULL,
				     NULL);
	} else {
		int fd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return husk_error_sys(err, -errno, "cannot open the container's cgroup %s",
					      cgroup);
		struct clone_args args = {.flags = flags | CLONE_INTO_CGROUP,
					  .exit_signal = SIGCHLD,
					  .cgroup = (uint64_t)fd};
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
		if (pid != 0) {
			int e = errno;
			close(fd);
			errno = e;
		}
	}
	if (pid < 0 && cgroup)
		return husk_error_sys(err, -errno,
				      "cannot create the container's namespaces in its cgroup %s",
				      cgroup);
	if (pid < 0)
		return husk_error_sys(err, -errno, "cannot create the container's namespaces");
	return pid;
}

/* Both starts: proc empty, the command there, the handshake socket made. */
static int prepare(const struct husk_spec *spec, struct husk_process *proc, int sv[2],
		   struct husk_error *err)
{
	proc->pid = -1;
	proc->pty_master = -1;
	proc->sync = -1;
	if (!spec->argv || !spec->argv[0])
		return husk_error_set(err, -EINVAL, "no command specified");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_error_sys(err, -errno, "socketpair");
	return 0;
}

int husk_runtime_start(const struct husk_spec *spec, const struct husk_idmap *idmap,
		       const struct husk_stdio *stdio, struct husk_process *proc,
		       struct husk_error *err)
{
	int sv[2];
	int r = prepare(spec, proc, sv, err);
	if (r < 0)
		return r;
	bool have_tty_gid = husk_idmap_has_range(idmap) && idmap->subgid_count >= 5;
	uint64_t flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	if (spec->net != HUSK_NET_HOST)
		flags |= CLONE_NEWNET;
	pid_t pid = clone_container(flags, spec->cgroup, err);
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return pid;
	}
	if (pid == 0) {
		close(sv[0]);
		static struct child c; /* off the stack: exe is large */
		c = (struct child){.spec = spec,
				   .io = stdio,
				   .sync = sv[1],
				   .have_tty_gid = have_tty_gid,
				   .late_cgroupns = spec->cgroup != NULL};
		child_main(&c);
	}
	close(sv[1]);
	_cleanup_close_ int sock = sv[0];
	r = husk_idmap_apply(idmap, pid, err);
	char go = r == 0 ? 'G' : 'X';
	if (write(sock, &go, 1) != 1 && r == 0)
		r = husk_error_sys(err, -errno, "container setup failed");
	while (r == 0) {
		int fd;
		int k = husk_runtime_report(sock, &fd, err);
		if (k == 0)
			break; /* closed on exec: running */
		if (k < 0)
			r = k;
		else if (proc->pty_master < 0)
			proc->pty_master = fd;
		else
			close(fd);
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (proc->pty_master >= 0)
			close(proc->pty_master);
		proc->pty_master = -1;
		return r;
	}
	proc->pid = pid;
	return 0;
}

int husk_runtime_exec(const struct husk_spec *spec, int pidfd, pid_t pid,
		      const struct husk_exec_filters *filters, const struct husk_stdio *stdio,
		      struct husk_process *proc, struct husk_error *err)
{
	int sv[2];
	int r = prepare(spec, proc, sv, err);
	if (r < 0)
		return r;
	pid_t child = husk_fork_into(pidfd, pid, spec->cgroup, err);
	if (child == 0) {
		static struct child c; /* off the stack: exe is large */
		struct husk_error cerr = {0};
		close(sv[0]);
		c = (struct child){
		    .spec = spec, .io = stdio, .sync = sv[1], .exec = true, .filters = filters};
		husk_malloc_until_exec();
		reset_signals();
		exec_or_report(&c, exec_setup(&c, &cerr), &cerr);
	}
	close(sv[1]);
	if (child < 0) {
		close(sv[0]);
		return (int)child;
	}
	proc->pid = child;
	proc->sync = sv[0];
	return 0;
}
