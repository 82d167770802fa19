/* docker exec in the monitor. An exec'd process is our child (husk_runtime_exec puts it in the
 * container's namespaces), its stdio is ours, and so is the client's connection, which husk-api
 * hands over: output goes to the client framed as attach frames it (raw when the start asked
 * for a TTY stream), the client's input goes to the process. The exit is written into the exec's
 * record before the stream is closed: the docker CLI reads the record right after EOF. */
#include "monitor.h"

#include "core/events.h"
#include "core/exec.h"
#include "core/json.h"
#include "core/log.h"
#include "core/monitor_proto.h"
#include "core/seccomp.h"
#include "core/stdcopy.h"

#include <malloc.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

/* After the exit, output still in the pipes (or held by the process's children) is waited for
 * this long, as Docker does. */
#define DRAIN_MS 2000
/* Finished records are kept for inspection this long, and at most this many. */
#define KEEP_FINISHED_NS (300 * 1000000000LL)
#define KEEP_FINISHED_MAX 512
/* Input not yet taken by the process: past this, the client is not read until it is. */
#define STDIN_HIGH (1u << 20)
/* Output not yet taken by the client: past this, the process's output is not read until it
 * is (the process waits on its pipe, as it would for a slow reader of its own). */
#define OUT_HIGH (1u << 20)

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct exec;

/* The client connection, with io.c's output buffering. */
struct exec_client {
	struct client c;
	struct exec *e;
};

struct exec {
	char id[65];
	json_t *rec;
	pid_t pid;
	bool frame; /* stdcopy frames on the stream */
	bool tty;   /* a terminal: out is its master, and input goes there */
	bool in_attached, out_attached, err_attached;
	struct watch sync;	   /* the process's setup reports, until it execs */
	struct watch out, err, in; /* in: the stdin pipe (no TTY) */
	char *in_buf;
	size_t in_len, in_cap;
	bool in_eof;		    /* the client ended its input */
	struct exec_client *client; /* NULL: detached, or the client left */
	int waiter;		    /* detached start: the control connection to answer */
	unsigned short rows, cols;  /* a resize that came before the terminal */
	bool out_paused;	    /* output not read: the client is behind */
	bool exited;
	struct watch timer; /* armed at the exit while output is still open */
	struct exec *next;
};

struct finished {
	char id[65];
	int64_t at;
	struct finished *next;
};

struct execs {
	struct exec *list;
	/* Let go of during this batch of events: a later event of the batch may still name
	 * them (with their fds closed: -1), so they are freed after it (exec_collect). */
	void **dead;
	size_t n_dead;
	int pidfd;	/* of the container's pid 1 */
	pid_t pidfd_of; /* which pid 1: a restart makes another */
	struct husk_exec_filters filters;
	struct finished *done, *done_tail;
	size_t n_done;
};

static void answer(int fd, json_t *msg)
{
	husk_mon_send(fd, msg, -1);
	json_decref(msg);
}

static void bury(struct monitor *m, void *p)
{
	struct execs *x = m->execs;
	x->dead = xrealloc(x->dead, (x->n_dead + 1) * sizeof *x->dead);
	x->dead[x->n_dead++] = p;
}

void exec_collect(struct monitor *m)
{
	struct execs *x = m->execs;
	for (size_t i = 0; x && i < x->n_dead; i++)
		free(x->dead[i]);
	if (x)
		x->n_dead = 0;
}

static void close_watch(struct monitor *m, struct watch *w)
{
	if (w->fd < 0)
		return;
	watch_del(m, w);
	close(w->fd);
	w->fd = -1;
}

void exec_init(struct monitor *m)
{
	m->execs = xcalloc(1, sizeof *m->execs);
	m->execs->pidfd = -1;
	/* Records of the container's earlier runs name processes that are gone. */
	husk_exec_remove(&m->store, m->id, NULL);
}

static struct exec *find(struct monitor *m, const char *id, pid_t pid)
{
	for (struct exec *e = m->execs->list; e; e = e->next)
		if ((id && streq(e->id, id)) || (pid > 0 && e->pid == pid))
			return e;
	return NULL;
}

static void drop_client(struct monitor *m, struct exec *e)
{
	struct exec_client *c = e->client;
	if (!c)
		return;
	close_watch(m, &c->c.w);
	free(c->c.buf);
	c->c.buf = NULL;
	bury(m, c);
	e->client = NULL;
}

static void save(struct monitor *m, struct exec *e)
{
	int r = husk_exec_save(&m->store, e->rec);
	if (r < 0)
		husk_log(LOG_ERR, "cannot record exec %.12s: %s", e->id, strerror(-r));
}

static void prune_finished(struct monitor *m, const char *id)
{
	struct execs *x = m->execs;
	struct finished *f = xcalloc(1, sizeof *f);
	snprintf(f->id, sizeof f->id, "%s", id);
	f->at = now_ns();
	if (x->done_tail)
		x->done_tail->next = f;
	else
		x->done = f;
	x->done_tail = f;
	x->n_done++;
	while (x->done &&
	       (x->n_done > KEEP_FINISHED_MAX || f->at - x->done->at > KEEP_FINISHED_NS)) {
		struct finished *old = x->done;
		husk_exec_remove(&m->store, m->id, old->id);
		x->done = old->next;
		if (!x->done)
			x->done_tail = NULL;
		x->n_done--;
		free(old);
	}
}

static void exec_free(struct monitor *m, struct exec *e)
{
	for (struct exec **p = &m->execs->list; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	drop_client(m, e);
	close_watch(m, &e->sync);
	close_watch(m, &e->out);
	close_watch(m, &e->err);
	close_watch(m, &e->in);
	close_watch(m, &e->timer);
	if (e->waiter >= 0)
		close(e->waiter);
	if (e->exited)
		prune_finished(m, e->id);
	json_decref(e->rec);
	free(e->in_buf);
	bury(m, e);
}

/* The stream to the client: framed, or raw with a TTY stream. */
static void send_out(struct monitor *m, struct exec *e, int stream, const char *data, size_t n)
{
	struct client *c = e->client ? &e->client->c : NULL;
	if (!c)
		return;
	unsigned char hdr[8];
	husk_stdcopy_header(hdr, stream, n);
	if ((e->frame && !client_queue(c, hdr, sizeof hdr)) || !client_queue(c, data, n) ||
	    !client_flush(m, c)) {
		husk_log(LOG_DEBUG, "exec %.12s: dropping its client", e->id);
		drop_client(m, e);
	}
}

static int stdin_fd(const struct exec *e)
{
	return e->tty ? e->out.fd : e->in.fd;
}

static uint32_t output_events(const struct exec *e)
{
	return e->out_paused ? 0 : EPOLLIN;
}

/* The watches of the process's fds, for what is to be read and written now. */
static void arm(struct monitor *m, struct exec *e)
{
	uint32_t in_ev = e->in_len ? EPOLLOUT : 0;
	if (e->out.fd >= 0)
		watch_mod(m, &e->out, output_events(e) | (e->tty ? in_ev : 0));
	if (e->err.fd >= 0)
		watch_mod(m, &e->err, output_events(e));
	if (!e->tty && e->in.fd >= 0)
		watch_mod(m, &e->in, in_ev);
}

/* Writes what the process takes; ends its input once the client has ended its own. */
static void stdin_flush(struct monitor *m, struct exec *e)
{
	while (e->in_len && stdin_fd(e) >= 0) {
		ssize_t n = write(stdin_fd(e), e->in_buf, e->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			e->in_len = 0; /* the reader is gone */
			break;
		}
		memmove(e->in_buf, e->in_buf + n, e->in_len - (size_t)n);
		e->in_len -= (size_t)n;
	}
	if (!e->in_len && e->in_eof && !e->tty)
		close_watch(m, &e->in);
	arm(m, e);
	/* The client is read again once the process has taken most of what it sent. */
	if (e->client && e->client->c.in_paused && e->in_len < STDIN_HIGH / 2) {
		e->client->c.in_paused = false;
		client_flush(m, &e->client->c);
	}
}

static void on_stdin_writable(struct monitor *m, struct watch *w, uint32_t events)
{
	if (w->fd < 0)
		return; /* closed earlier in this batch of events */
	stdin_flush(m, container_of(w, struct exec, in));
}

static void check_done(struct monitor *m, struct exec *e);

static void on_output(struct monitor *m, struct exec *e, struct watch *w, uint32_t events)
{
	char buf[65536];
	if (w->fd < 0)
		return;
	if ((events & EPOLLOUT) && e->tty)
		stdin_flush(m, e);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(w->fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or EIO on a terminal's master once the process is gone. */
		close_watch(m, w);
		check_done(m, e);
		return;
	}
	bool err = w == &e->err;
	if (e->tty || (err ? e->err_attached : e->out_attached))
		send_out(m, e, err ? HUSK_STDERR : HUSK_STDOUT, buf, (size_t)n);
	if (e->client && e->client->c.len >= OUT_HIGH) {
		e->out_paused = true;
		arm(m, e);
	}
}

static void on_out(struct monitor *m, struct watch *w, uint32_t events)
{
	on_output(m, container_of(w, struct exec, out), w, events);
}

static void on_err(struct monitor *m, struct watch *w, uint32_t events)
{
	on_output(m, container_of(w, struct exec, err), w, events);
}

static void client_gone(struct monitor *m, struct exec *e)
{
	drop_client(m, e);
	if (e->out_paused) {
		e->out_paused = false; /* read on, into nothing: the process must not block */
		arm(m, e);
	}
	check_done(m, e);
}

static void on_client(struct monitor *m, struct watch *w, uint32_t events)
{
	if (w->fd < 0)
		return;
	struct exec_client *ec = container_of(w, struct exec_client, c.w);
	struct exec *e = ec->e;
	struct client *c = &ec->c;
	char buf[65536];
	int n = client_read(c, events, buf, sizeof buf);
	/* Input that comes before the terminal is kept for it. */
	if (n > 0 && e->in_attached && !e->exited && (e->tty || e->in.fd >= 0)) {
		if (e->in_len + (size_t)n > e->in_cap) {
			e->in_cap = (e->in_len + (size_t)n) * 2;
			e->in_buf = xrealloc(e->in_buf, e->in_cap);
		}
		memcpy(e->in_buf + e->in_len, buf, (size_t)n);
		e->in_len += (size_t)n;
		c->in_paused = e->in_len >= STDIN_HIGH;
		stdin_flush(m, e);
	}
	if (n < 0) {
		e->in_eof = true;
		stdin_flush(m, e);
	}
	if (n == CLIENT_GONE || !client_flush(m, c)) {
		client_gone(m, e);
		return;
	}
	if (e->out_paused && c->len < OUT_HIGH / 2) {
		e->out_paused = false;
		arm(m, e);
	}
}

/* Once the process has exited and its output is read (or the wait for it is over: on_timer),
 * the client's stream ends with what is queued for it, and the exec is done. */
static void check_done(struct monitor *m, struct exec *e)
{
	if (!e->exited || e->out.fd >= 0 || e->err.fd >= 0)
		return;
	close_watch(m, &e->in);
	close_watch(m, &e->timer);
	if (e->client) {
		e->client->c.closing = true;
		if (client_flush(m, &e->client->c))
			return; /* on_client finishes once the rest is written */
		drop_client(m, e);
	}
	exec_free(m, e);
}

static void set_drain_timer(int fd)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = DRAIN_MS / 1000, .tv_nsec = (DRAIN_MS % 1000) * 1000000L}};
	timerfd_settime(fd, 0, &its, NULL);
}

static void on_timer(struct monitor *m, struct watch *w, uint32_t events)
{
	if (w->fd < 0)
		return;
	struct exec *e = container_of(w, struct exec, timer);
	uint64_t expired;
	(void)!read(w->fd, &expired, sizeof expired);
	if (e->out_paused) {
		/* The output is held up by a slow client, not by the process: wait for it. */
		set_drain_timer(w->fd);
		return;
	}
	close_watch(m, &e->out);
	close_watch(m, &e->err);
	check_done(m, e);
}

/* Where Docker puts a failure to start after the hijack: into the stream, as output. */
static void report_failure(struct monitor *m, struct exec *e, const struct husk_error *err)
{
	husk_log(LOG_DEBUG, "exec %.12s: %s", e->id, err->message);
	if (e->waiter >= 0) {
		answer(e->waiter, husk_mon_fail(err));
		close(e->waiter);
		e->waiter = -1;
		return;
	}
	_cleanup_free_ char *msg =
	    xasprintf("exec failed: unable to start container process: %s\r\n", err->message);
	send_out(m, e, HUSK_STDOUT, msg, strlen(msg));
}

static void set_winsize(struct exec *e)
{
	if (!e->tty || e->out.fd < 0 || !e->rows || !e->cols)
		return;
	struct winsize ws = {.ws_row = e->rows, .ws_col = e->cols};
	ioctl(e->out.fd, TIOCSWINSZ, &ws);
}

static void on_sync(struct monitor *m, struct watch *w, uint32_t events)
{
	if (w->fd < 0)
		return;
	struct exec *e = container_of(w, struct exec, sync);
	struct husk_error err = {0};
	int pty;
	int k = husk_runtime_report(w->fd, &pty, &err);
	if (k == 1) {
		if (e->out.fd >= 0) {
			close(pty);
			return;
		}
		e->out.fd = pty;
		fcntl(pty, F_SETFL, O_NONBLOCK);
		watch_add(m, &e->out, EPOLLIN);
		set_winsize(e);
		stdin_flush(m, e);
		return;
	}
	close_watch(m, w);
	if (k < 0) {
		report_failure(m, e, &err);
	} else if (e->waiter >= 0) {
		answer(e->waiter, json_pack("{s:b, s:i}", "ok", 1, "pid", (int)e->pid));
		close(e->waiter);
		e->waiter = -1;
	}
}

void exec_reap(struct monitor *m, pid_t pid, int status)
{
	struct exec *e = find(m, NULL, pid);
	if (!e)
		return;
	/* A failure it reported just before going is still to be read. */
	while (e->sync.fd >= 0)
		on_sync(m, &e->sync, EPOLLIN);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	e->exited = true;
	json_object_set_new(e->rec, "Running", json_false());
	json_object_set_new(e->rec, "ExitCode", json_integer(code));
	save(m, e);
	char num[16];
	snprintf(num, sizeof num, "%d", code);
	json_t *attrs = husk_event_container_attrs(m->doc);
	json_object_set_new(attrs, "execID", json_string(e->id));
	json_object_set_new(attrs, "exitCode", json_string(num));
	husk_event_emit(&m->store, "container", "exec_die", m->id, attrs);
	if (e->out.fd >= 0 || e->err.fd >= 0) {
		e->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		e->timer.fn = on_timer;
		if (e->timer.fd >= 0) {
			set_drain_timer(e->timer.fd);
			watch_add(m, &e->timer, EPOLLIN);
		} else {
			close_watch(m, &e->out);
			close_watch(m, &e->err);
		}
	}
	check_done(m, e);
}

const struct husk_exec_filters *exec_filters(struct monitor *m)
{
	struct husk_exec_filters *f = &m->execs->filters;
	if (f->built || m->spec.privileged || streq(m->spec.seccomp_profile, "unconfined"))
		return f;
	/* Compiled once for every exec of this container; if it fails, each process builds
	 * its own and reports the error. */
	struct husk_error err = {0};
	if (husk_seccomp_build(m->spec.seccomp_profile, 0, &f->f[0], &err) == 0 &&
	    husk_seccomp_build(m->spec.seccomp_profile, m->spec.caps, &f->f[1], &err) == 0)
		f->built = true;
	/* Building parsed the profile and ran libseccomp: ~250 KB of heap, freed, which malloc
	 * would keep resident for the container's whole life. This gives back about 100 KB of
	 * it; the rest is fragments between what stays (the two BPF programs among them).
	 * glibc only: musl's allocator (mallocng) has no malloc_trim and needs none, it returns
	 * freed groups of chunks to the kernel as they empty. */
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	return f;
}

int exec_container_pidfd(struct monitor *m)
{
	struct execs *x = m->execs;
	if (x->pidfd >= 0 && x->pidfd_of != m->pid) {
		close(x->pidfd);
		x->pidfd = -1;
	}
	if (x->pidfd < 0) {
		x->pidfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
		x->pidfd_of = m->pid;
	}
	return x->pidfd;
}

/* The exec's stdio: pipes for what is attached, /dev/null for the rest (a terminal is made
 * by the process itself, in the container's devpts). */
static int open_stdio(struct exec *e, bool tty, struct husk_stdio *io)
{
	int p[2];
	io->in = io->out = io->err = -1;
	if (tty)
		return 0;
	if (e->in_attached) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		io->in = p[0];
		e->in.fd = p[1];
		fcntl(p[1], F_SETFL, O_NONBLOCK);
	}
	bool attached[2] = {e->out_attached, e->err_attached};
	int *mine[2] = {&e->out.fd, &e->err.fd}, *theirs[2] = {&io->out, &io->err};
	for (int i = 0; i < 2; i++) {
		if (attached[i] && e->client) {
			if (pipe2(p, O_CLOEXEC) < 0)
				return -errno;
			*mine[i] = p[0];
			*theirs[i] = p[1];
			fcntl(p[0], F_SETFL, O_NONBLOCK);
		} else if ((*theirs[i] = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
			return -errno;
		}
	}
	return 0;
}

static void close_stdio(struct husk_stdio *io)
{
	int *fds[] = {&io->in, &io->out, &io->err};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

static int check_startable(struct monitor *m, const json_t *rec, const char *id,
			   struct husk_error *err)
{
	if (m->phase != PHASE_RUNNING || m->pid <= 0)
		return husk_error_set(err, -EBUSY, "Container %s is not running", m->id);
	if (m->state.status == HUSK_PAUSED)
		return husk_error_set(err, -EBUSY,
				      "Container %s is paused, unpause the container before exec",
				      m->id);
	if (!rec)
		return husk_error_set(err, -ENOENT, "No such exec instance: %s", id);
	if (jbool(rec, "Running", false))
		return husk_error_set(err, -EBUSY, "Error: Exec command %s is already running", id);
	if (jbool(rec, "Started", false))
		return husk_error_set(err, -EBUSY, "Error: Exec command %s has already run", id);
	return 0;
}

static struct exec *exec_new(json_t *rec, const json_t *req, int conn)
{
	struct exec *e = xcalloc(1, sizeof *e);
	snprintf(e->id, sizeof e->id, "%s", jstr(rec, "ID"));
	e->rec = rec;
	e->frame = !jbool(req, "tty", false);
	e->tty = jbool(rec, "Tty", false);
	e->in_attached = jbool(rec, "AttachStdin", false);
	e->out_attached = jbool(rec, "AttachStdout", false);
	e->err_attached = jbool(rec, "AttachStderr", false);
	e->sync.fd = e->out.fd = e->err.fd = e->in.fd = e->timer.fd = e->waiter = -1;
	e->sync.fn = on_sync;
	e->out.fn = on_out;
	e->err.fn = on_err;
	e->in.fn = on_stdin_writable;
	if (conn >= 0) {
		e->client = xcalloc(1, sizeof *e->client);
		e->client->e = e;
		e->client->c.w.fd = conn;
		e->client->c.w.fn = on_client;
		e->client->c.in = e->in_attached;
		fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK);
	}
	/* Docker: the start's size, else the create's. */
	json_t *cs = jarr(rec, "ConsoleSize");
	e->rows = (unsigned short)jint(req, "h", json_integer_value(json_array_get(cs, 0)));
	e->cols = (unsigned short)jint(req, "w", json_integer_value(json_array_get(cs, 1)));
	return e;
}

static int spawn(struct monitor *m, struct exec *e, struct husk_error *err)
{
	struct husk_spec sp;
	struct husk_stdio io;
	struct husk_process proc;
	int r = open_stdio(e, e->tty, &io);
	if (r < 0) {
		close_stdio(&io);
		return husk_error_sys(err, r, "cannot create the exec's stdio");
	}
	int pidfd = exec_container_pidfd(m);
	if (pidfd < 0) {
		close_stdio(&io);
		return husk_error_sys(err, -errno, "pidfd_open");
	}
	husk_exec_spec(&m->spec, jobj(m->doc, "Config"), e->rec, e->rows, e->cols, &sp);
	r = husk_runtime_exec(&sp, pidfd, m->pid, exec_filters(m), &io, &proc, err);
	husk_exec_spec_free(&sp);
	close_stdio(&io);
	if (r < 0)
		return r;
	e->pid = proc.pid;
	e->sync.fd = proc.sync;
	watch_add(m, &e->sync, EPOLLIN);
	if (e->out.fd >= 0)
		watch_add(m, &e->out, EPOLLIN);
	if (e->err.fd >= 0)
		watch_add(m, &e->err, EPOLLIN);
	if (e->in.fd >= 0)
		watch_add(m, &e->in, 0);
	return 0;
}

bool exec_start(struct monitor *m, int ctl, const json_t *req, int conn)
{
	struct husk_error err = {0};
	const char *id = str_or(jstr(req, "exec"), "");
	json_t *rec = husk_exec_load(&m->store, m->id, id);
	int r = check_startable(m, rec, id, &err);
	if (r < 0) {
		json_decref(rec);
		if (conn >= 0)
			close(conn);
		answer(ctl, husk_mon_fail(&err));
		return false;
	}
	struct exec *e = exec_new(rec, req, conn);
	e->next = m->execs->list;
	m->execs->list = e;
	if ((r = spawn(m, e, &err)) < 0) {
		/* As Docker: an exec that could not start (a pids limit reached) exited with 126,
		 * which the docker CLI reads after the stream has told why. */
		json_object_set_new(e->rec, "ExitCode", json_integer(126));
		save(m, e);
		answer(ctl, husk_mon_fail(&err));
		exec_free(m, e);
		return false;
	}
	json_object_set_new(e->rec, "Started", json_true());
	json_object_set_new(e->rec, "Running", json_true());
	json_object_set_new(e->rec, "Pid", json_integer(e->pid));
	save(m, e);
	if (e->client)
		watch_add(m, &e->client->c.w, EPOLLIN);
	if (conn >= 0) {
		/* The client is streaming already: failures to start go into its stream. */
		answer(ctl, json_pack("{s:b, s:i}", "ok", 1, "pid", (int)e->pid));
		return false;
	}
	e->waiter = ctl; /* answered once the process runs, or could not */
	return true;
}

void exec_resize(struct monitor *m, int ctl, const json_t *req)
{
	struct exec *e = find(m, str_or(jstr(req, "exec"), ""), 0);
	if (e) {
		e->rows = (unsigned short)jint(req, "h", 0);
		e->cols = (unsigned short)jint(req, "w", 0);
		set_winsize(e);
	}
	answer(ctl, husk_mon_ok());
}

bool exec_busy(const struct monitor *m)
{
	return m->execs && m->execs->list;
}

void exec_close_all(struct monitor *m)
{
	if (!m->execs)
		return;
	while (m->execs->list) {
		struct exec *e = m->execs->list;
		if (!e->exited && e->pid > 0)
			kill(e->pid, SIGKILL);
		exec_free(m, e);
	}
	if (m->execs->pidfd >= 0)
		close(m->execs->pidfd);
	m->execs->pidfd = -1;
}
