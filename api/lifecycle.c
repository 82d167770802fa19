#include "lifecycle.h"

#include "core/events.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/monitor_proto.h"
#include "scope.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define MAX_PENDING 16

/* An attach connection held for the container's next start. It is reserved by the attach
 * handler before its answer goes out, and filled with the connection once it is taken over:
 * docker run sends start as soon as it has the 101, which can be before MHD hands us the
 * socket, and start waits for reserved slots to be filled. */
struct pending {
	char id[65];
	int fd;
	unsigned flags;
	struct MHD_UpgradeResponseHandle *urh;
	bool ready;	/* fd (and urh) are set */
	bool abandoned; /* a start gave up waiting: whoever fills it releases it */
	struct pending *next;
};

/* How long a start waits for an attach that answered but whose socket is not ours yet. */
#define PENDING_FILL_WAIT_MS 2000

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_filled = PTHREAD_COND_INITIALIZER;
static struct pending *pending_list;

static void pending_release(struct pending *p)
{
	if (p->urh)
		MHD_upgrade_action(p->urh, MHD_UPGRADE_ACTION_CLOSE);
	else if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static void pending_unlink(struct pending *p)
{
	for (struct pending **pp = &pending_list; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

struct pending *pending_attach_reserve(const char *id, unsigned flags)
{
	struct pending *p = xcalloc(1, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", id);
	p->fd = -1;
	p->flags = flags;
	pthread_mutex_lock(&pending_lock);
	p->next = pending_list;
	pending_list = p;
	pthread_mutex_unlock(&pending_lock);
	return p;
}

void pending_attach_fill(struct pending *p, int fd, struct MHD_UpgradeResponseHandle *urh)
{
	pthread_mutex_lock(&pending_lock);
	p->fd = fd;
	p->urh = urh;
	if (p->abandoned) {
		pending_unlink(p);
		pthread_mutex_unlock(&pending_lock);
		pending_release(p);
		return;
	}
	p->ready = true;
	pthread_cond_broadcast(&pending_filled);
	pthread_mutex_unlock(&pending_lock);
}

void pending_attach_cancel(struct pending *p)
{
	pthread_mutex_lock(&pending_lock);
	pending_unlink(p);
	pthread_mutex_unlock(&pending_lock);
	free(p);
}

static bool unfilled(const char *id)
{
	for (struct pending *p = pending_list; p; p = p->next)
		if (streq(p->id, id) && !p->ready && !p->abandoned)
			return true;
	return false;
}

static size_t pending_take(const char *id, struct pending **out, size_t max)
{
	size_t n = 0;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PENDING_FILL_WAIT_MS / 1000;
	deadline.tv_nsec += (PENDING_FILL_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pending_lock);
	while (unfilled(id))
		if (pthread_cond_timedwait(&pending_filled, &pending_lock, &deadline) == ETIMEDOUT)
			break;
	for (struct pending **pp = &pending_list; *pp;) {
		struct pending *p = *pp;
		if (!streq(p->id, id) || p->abandoned) {
			pp = &p->next;
		} else if (!p->ready || n >= max) {
			/* Its client never got its socket to us: whoever fills it releases it. */
			p->abandoned = true;
			pp = &p->next;
		} else {
			*pp = p->next;
			out[n++] = p;
		}
	}
	pthread_mutex_unlock(&pending_lock);
	return n;
}

/* fork, setsid, fork again, exec: the monitor is nobody's child but init's (or the
 * subreaper's), in its own session, so the API can die at any moment without touching it.
 * Only async-signal-safe calls between fork and exec: the API is threaded. */
static pid_t spawn(char *const argv[], int sync_fd, const int *fds, size_t nfds)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid = fork();
	if (pid != 0) {
		if (devnull >= 0)
			close(devnull);
		return pid;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	/* Move everything above the slots we fill, then place: 3 = sync, 4.. = attach, lock. */
	int hi[MAX_PENDING + 2];
	hi[0] = fcntl(sync_fd, F_DUPFD, 100);
	for (size_t i = 0; i < nfds; i++)
		hi[i + 1] = fcntl(fds[i], F_DUPFD, 100);
	for (size_t i = 0; i <= nfds; i++)
		if (hi[i] < 0 || dup2(hi[i], 3 + (int)i) < 0)
			_exit(127);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
	}
	syscall(SYS_close_range, 4 + nfds, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	_exit(127);
}

/* One line from the monitor's handshake socket (blocking, bounded). */
static int read_line(int fd, char *buf, size_t n)
{
	size_t len = 0;
	while (len < n - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int k = poll(&p, 1, 120000);
		if (k == 0)
			return -ETIMEDOUT;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ssize_t r = read(fd, buf + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = 0;
	return len ? 0 : -EPIPE;
}

/* The monitor's handshake: possibly a request for a systemd scope ({"scope":PID}, answered
 * "ok" or with the reason), then its verdict on the start. */
static int read_handshake(const char *id, int fd, json_t **out)
{
	char buf[8192];
	for (;;) {
		int r = read_line(fd, buf, sizeof buf);
		if (r < 0)
			return r;
		json_t *j = json_loads(buf, 0, NULL);
		if (!j)
			return -EPIPE;
		json_int_t pid = jint(j, "scope", 0);
		if (!pid) {
			*out = j;
			return 0;
		}
		json_decref(j);
		struct husk_error err = {0};
		_cleanup_free_ char *ans = scope_create(id, (pid_t)pid, &err) < 0
						   ? xasprintf("%s\n", err.message)
						   : xstrdup("ok\n");
		write_all(fd, ans, strlen(ans));
	}
}

static int start_locked(struct api *api, const char *id, int lock, struct husk_error *err)
{
	struct husk_state st;
	husk_state_load(&api->store, id, &st);
	enum husk_status status = st.status;
	bool removing = st.removing;
	husk_state_clear(&st);
	/* Exited, and its monitor removes it (--rm): a new monitor would run on in a container
	 * that is gone. dockerd's answer and message. */
	if (removing)
		return husk_error_set(err, -EBUSY,
				      "container is marked for removal and cannot be started");
	if (status == HUSK_PAUSED) /* dockerd's answer and message */
		return husk_error_set(err, -EBUSY,
				      "cannot start a paused container, try unpause instead");
	if (status == HUSK_RUNNING || status == HUSK_RESTARTING)
		return -EALREADY;

	struct pending *att[MAX_PENDING];
	size_t natt = pending_take(id, att, MAX_PENDING);
	int fds[MAX_PENDING + 1];
	char *argv[18 + 2 * MAX_PENDING];
	char attach_args[MAX_PENDING][32];
	size_t a = 0;
	argv[a++] = api->monitor_path;
	argv[a++] = "--id";
	argv[a++] = (char *)id;
	argv[a++] = "--data-dir";
	argv[a++] = api->store.data;
	argv[a++] = "--run-dir";
	argv[a++] = api->store.run;
	argv[a++] = "--sync-fd";
	argv[a++] = "3";
	char idmap[128];
	husk_idmap_format(&api->idmap, idmap, sizeof idmap);
	argv[a++] = "--idmap";
	argv[a++] = idmap;
	/* Under systemd, monitors get scopes of their own (their containers' cgroups are in
	 * them); elsewhere the configured cgroup root is where containers' cgroups go. */
	if (api->systemd) {
		argv[a++] = "--scope";
	} else if (api->cgroup_root) {
		argv[a++] = "--cgroup-root";
		argv[a++] = api->cgroup_root;
	}
	for (size_t i = 0; i < natt; i++) {
		unsigned f = att[i]->flags;
		fds[i] = att[i]->fd;
		snprintf(attach_args[i], sizeof attach_args[i], "%zu:%s%s%s%s", 4 + i,
			 f & ATT_STDIN ? "i" : "", f & ATT_STDOUT ? "o" : "",
			 f & ATT_STDERR ? "e" : "", f & ATT_LOGS ? "l" : "");
		argv[a++] = "--attach-fd";
		argv[a++] = attach_args[i];
	}
	/* The monitor holds the start lock with us until it has said how the start went: were we
	 * killed before that, another start would find the container not running yet and start
	 * it a second time. */
	char lock_arg[16];
	fds[natt] = lock;
	snprintf(lock_arg, sizeof lock_arg, "%zu", 4 + natt);
	argv[a++] = "--lock-fd";
	argv[a++] = lock_arg;
	argv[a] = NULL;

	int sync[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) {
		for (size_t i = 0; i < natt; i++)
			pending_release(att[i]);
		return husk_error_sys(err, -errno, "pipe");
	}
	pid_t pid = spawn(argv, sync[1], fds, natt + 1);
	int spawn_errno = errno;
	close(sync[1]);
	/* The monitor has its own copies of the attached connections now. */
	for (size_t i = 0; i < natt; i++)
		pending_release(att[i]);
	if (pid < 0) {
		close(sync[0]);
		return husk_error_sys(err, -spawn_errno, "cannot start husk-monitor");
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	json_t *hs = NULL;
	int r = read_handshake(id, sync[0], &hs);
	close(sync[0]);
	if (r < 0)
		return husk_error_set(err, -EIO,
				      "husk-monitor (%s) did not report the container's start: %s",
				      api->monitor_path, strerror(-r));
	if (!jbool(hs, "ok", false)) {
		int code = (int)jint(hs, "code", -EIO);
		/* Docker answers 400 for a command that cannot run, 500 otherwise. */
		if (code == -ENOENT || code == -EACCES)
			code = -EINVAL;
		r = husk_error_set(err, code < 0 ? code : -EIO,
				   "failed to create task for container: %s",
				   str_or(jstr(hs, "message"), "unknown error"));
		if (strstr(err->message, "exec: ") || strstr(err->message, "unable to find user"))
			snprintf(err->message, sizeof err->message,
				 "failed to create task for container: unable to start container "
				 "process: %s",
				 str_or(jstr(hs, "message"), ""));
	}
	json_decref(hs);
	return r;
}

int container_start(struct api *api, const char *id, struct husk_error *err)
{
	/* One start at a time per container, across API processes. */
	_cleanup_close_ int lock = husk_container_lock_start(&api->store, id, err);
	if (lock < 0)
		return lock;
	/* Removed while we waited for the lock (rm and prune hold it): nothing to start, and
	 * the run directory the lock made again goes. */
	_cleanup_free_ char *cfg = husk_store_data_path(&api->store, "containers/%s/config.json", id);
	if (access(cfg, F_OK) < 0) {
		_cleanup_free_ char *run = husk_container_run_dir(&api->store, id);
		rm_rf(run);
		return husk_error_set(err, -ENOENT, "No such container: %s", id);
	}
	return start_locked(api, id, lock, err);
}

static bool is_live(enum husk_status s)
{
	return s == HUSK_RUNNING || s == HUSK_PAUSED || s == HUSK_RESTARTING;
}

int container_stop(struct api *api, const struct husk_container *c, int sig, int timeout,
		   struct husk_error *err)
{
	if (!is_live(c->state.status))
		return -EALREADY;
	const json_t *cfg = jobj(c->config, "Config");
	if (sig <= 0) {
		sig = parse_signal(jstr(cfg, "StopSignal"));
		if (sig <= 0)
			sig = SIGTERM;
	}
	if (timeout < 0)
		timeout = (int)jint(cfg, "StopTimeout", 10);
	json_t *req = json_pack("{s:s, s:i, s:i}", "op", "stop", "signal", sig, "timeout", timeout);
	int wait_ms = timeout >= 0 ? (timeout + 30) * 1000 : -1;
	int r = husk_mon_call(&api->store, c->id, req, -1, NULL, wait_ms, err);
	json_decref(req);
	if (r == -ESRCH)
		return 0; /* the monitor is gone: the container with it */
	return r;
}

int container_kill(struct api *api, const struct husk_container *c, int sig,
		   struct husk_error *err)
{
	if (!is_live(c->state.status))
		return husk_error_set(err, -EBUSY,
				      "Cannot kill container: %s: Container %s is not running",
				      c->name, c->id);
	json_t *req = json_pack("{s:s, s:i}", "op", "kill", "signal", sig);
	int r = husk_mon_call(&api->store, c->id, req, -1, NULL, 10000, err);
	json_decref(req);
	if (r == -EBUSY || r == -ESRCH) /* exited, or its monitor is gone */
		return husk_error_set(err, -EBUSY,
				      "Cannot kill container: %s: Container %s is not running",
				      c->name, c->id);
	return r;
}

static int pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd;
}

int container_wait(struct api *api, const char *id, enum wait_condition cond, int client_fd,
		   int *exit_code, char *error, size_t error_len)
{
	_cleanup_free_ char *run = husk_store_run_path(&api->store, "containers/%s", id);
	_cleanup_free_ char *all = husk_store_data_path(&api->store, "containers");
	_cleanup_free_ char *cfg = husk_store_data_path(&api->store, "containers/%s/config.json", id);
	mkdir_p(run, 0700);
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino < 0)
		return -errno;
	/* State changes arrive as renames into the run dir; removal as a rename out of the
	 * containers dir. */
	inotify_add_watch(ino, run, IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF);
	inotify_add_watch(ino, all, IN_MOVED_FROM | IN_DELETE);

	struct husk_state st;
	husk_state_load(&api->store, id, &st);
	unsigned base = st.exit_count;
	*exit_code = st.exit_code;
	husk_state_clear(&st);
	_cleanup_close_ int pidfd = -1;
	pid_t watched = 0;
	bool seen_exit = false;
	for (;;) {
		bool exists = access(cfg, F_OK) == 0;
		husk_state_load(&api->store, id, &st);
		if (exists || st.exit_count > base) {
			*exit_code = st.exit_code;
			snprintf(error, error_len, "%s", st.error);
			seen_exit |= st.exit_count > base;
		}
		bool live = is_live(st.status) || (st.status == HUSK_EXITED && st.removing);
		unsigned exits = st.exit_count;
		pid_t mon = live ? st.monitor_pid : 0;
		husk_state_clear(&st);
		if (!exists) {
			/* Removed (--rm) before we saw its exit: the events log has it. The run dir
			 * made above for the watch goes again, if nothing is in it. */
			rmdir(run);
			int code = seen_exit ? -1 : husk_event_last_exit(&api->store, id);
			if (code >= 0)
				*exit_code = code;
			return 0;
		}
		if (cond == WAIT_NOT_RUNNING && !live)
			return 0;
		if (cond == WAIT_NEXT_EXIT && exits > base)
			return 0;
		if (mon != watched) {
			if (pidfd >= 0)
				close(pidfd);
			pidfd = mon > 0 ? pidfd_open(mon) : -1;
			watched = mon;
		}
		struct pollfd p[3] = {{.fd = ino, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN},
				      {.fd = client_fd, .events = POLLRDHUP}};
		int k = poll(p, 3, 5000);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return -ECONNRESET;
		if (p[0].revents & POLLIN) {
			char buf[4096];
			while (read(ino, buf, sizeof buf) > 0)
				;
			/* The run dir may have been removed and made again. */
			inotify_add_watch(ino, run, IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF);
		}
		if (p[1].revents & POLLIN) {
			close(pidfd);
			pidfd = -1;
		}
	}
}
