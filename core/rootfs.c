#include "rootfs.h"
#include "fs.h"
#include "mounts.h"
#include "spec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int open_proc(pid_t pid, const char *what, int flags)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, what);
	int fd = open(p, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int husk_rootfs_join(pid_t pid, uint64_t start_ticks, struct husk_error *err)
{
	_cleanup_close_ int user = open_proc(pid, "ns/user", O_RDONLY);
	_cleanup_close_ int mnt = open_proc(pid, "ns/mnt", O_RDONLY);
	_cleanup_close_ int root = open_proc(pid, "root", O_PATH | O_DIRECTORY);
	int r = user < 0 ? user : mnt < 0 ? mnt : root;
	/* Checked after the opens: the fds are of the container's process, not of a
	 * newcomer that got its pid. */
	if (r == -ENOENT || (r >= 0 && !husk_pid_alive(pid, start_ticks)))
		return husk_error_set(err, -ESRCH, "the container is not running");
	if (r < 0)
		return husk_error_sys(err, r, "cannot reach the container's namespaces");
	if (setns(user, CLONE_NEWUSER) < 0)
		return husk_error_sys(err, -errno, "cannot join the container's user namespace");
	if (setns(mnt, CLONE_NEWNS) < 0)
		return husk_error_sys(err, -errno, "cannot join the container's mount namespace");
	/* setns leaves us at the namespace's root; the container's own is that of its pid 1. */
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return husk_error_sys(err, -errno, "cannot enter the container's root");
	return 0;
}

int husk_rootfs_mount(const struct husk_spec *spec, struct husk_error *err)
{
	/* Nothing we mount may propagate back to the user's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return husk_error_sys(err, -errno, "cannot make mounts private");
	int r = husk_mounts_rootfs(spec, err);
	if (r < 0)
		return r;
	/* Writable whatever the container's configuration says: the callers check
	 * ReadonlyRootfs themselves, to answer with Docker's error. */
	struct husk_spec rw = *spec;
	rw.readonly_rootfs = false;
	return husk_mounts_pivot(&rw, err);
}

struct inside {
	const struct husk_rootfs_ctx *ctx;
	pid_t pid;
	uint64_t start;
	int (*fn)(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err);
	void *arg;
};

static int mounted_child(void *arg, struct husk_error *err)
{
	struct inside *in = arg;
	int r = husk_rootfs_mount(in->ctx->spec, err);
	return r < 0 ? r : in->fn(in->ctx, in->arg, err);
}

/* In a child: joins the running container, then fn. */
static int joined_child(struct inside *in, struct husk_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_error_sys(err, -errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return husk_error_sys(err, -errno, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct husk_error cerr = {0};
		int r = husk_rootfs_join(in->pid, in->start, &cerr);
		if (r == 0)
			r = in->fn(in->ctx, in->arg, &cerr);
		if (r < 0) {
			cerr.code = r;
			(void)!write(p[1], &cerr, sizeof cerr);
		}
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	struct husk_error cerr = {0};
	ssize_t n = read_full(p[0], &cerr, sizeof cerr);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof cerr && cerr.code < 0) {
		if (err)
			*err = cerr;
		return cerr.code;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_error_set(err, -EIO, "the process working in the container failed");
	return 0;
}

/* One try: -ESRCH when the container we found running was gone before we joined it. */
static int run_once(const struct husk_store *s, const struct husk_idmap *m, struct inside *in,
		    struct husk_error *err)
{
	const char *id = in->ctx->container->id;
	_cleanup_close_ int lock = husk_container_lock_start(s, id, err);
	if (lock < 0)
		return lock;
	struct husk_state st;
	husk_state_load(s, id, &st);
	enum husk_status status = st.status;
	in->pid = st.pid;
	in->start = st.pid_start;
	husk_state_clear(&st);
	if (status == HUSK_RESTARTING)
		return husk_error_set(
		    err, -EBUSY, "Container %s is restarting, wait until the container is running",
		    id);
	if (status == HUSK_RUNNING || status == HUSK_PAUSED) {
		/* A running container's files are its own business: starts need not wait
		 * while we work in them. */
		close(TAKE_FD(lock));
		return joined_child(in, err);
	}
	/* Stopped: the start lock is held until we are done with its upper directory. */
	return husk_userns_run(m, mounted_child, in, err);
}

int husk_rootfs_run(const struct husk_store *s, const struct husk_idmap *m,
		    const struct husk_container *c,
		    int (*fn)(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err),
		    void *arg, struct husk_error *err)
{
	struct husk_spec spec;
	int r = husk_spec_from_config(s, c->config, &spec, err);
	if (r == 0) {
		struct husk_rootfs_ctx ctx = {.container = c, .spec = &spec};
		struct inside in = {.ctx = &ctx, .fn = fn, .arg = arg};
		r = run_once(s, m, &in, err);
		if (r == -ESRCH) /* stopped meanwhile */
			r = run_once(s, m, &in, err);
	}
	husk_spec_free(&spec);
	return r;
}
