/* The monitor socket: one request per connection (see core/monitor_proto.h). */
#include "monitor.h"

#include "core/fs.h"
#include "core/json.h"
#include "core/log.h"
#include "core/monitor_proto.h"

#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

int control_listen(struct monitor *m)
{
	_cleanup_free_ char *path = husk_mon_socket_path(&m->store, m->id);
	struct sockaddr_un sa;
	_cleanup_close_ int dirfd = -1;
	int r = unix_socket_addr(path, &sa, &dirfd);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	m->ctl.fd = fd;
	m->ctl.fn = control_on_accept;
	watch_add(m, &m->ctl, EPOLLIN);
	return 0;
}

static void answer(int fd, json_t *msg)
{
	husk_mon_send(fd, msg, -1);
	json_decref(msg);
}

static json_t *fail(int code, const char *fmt, ...) _printf_(2, 3);
static json_t *fail(int code, const char *fmt, ...)
{
	struct husk_error e = {.code = code};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.message, sizeof e.message, fmt, ap);
	va_end(ap);
	return husk_mon_fail(&e);
}

/* Returns true when the connection was kept (a stop waiter). */
static bool handle(struct monitor *m, int fd, json_t *req, int passed_fd)
{
	const char *op = str_or(jstr(req, "op"), "");
	struct husk_error err = {0};
	if (streq(op, "kill")) {
		int sig = (int)jint(req, "signal", SIGKILL);
		/* Restarting: no process to signal, but the user's kill ends the restarts. */
		if (m->phase == PHASE_BACKOFF) {
			restart_user_stop(m, sig, false);
			answer(fd, husk_mon_ok());
			return false;
		}
		int r = monitor_kill(m, sig, &err);
		if (r == 0)
			restart_user_stop(m, sig, false);
		answer(fd, r < 0 ? husk_mon_fail(&err) : husk_mon_ok());
		return false;
	}
	if (streq(op, "stop")) {
		if (m->phase == PHASE_DONE || restart_user_stop(m, 0, true)) {
			answer(fd, json_pack("{s:b, s:i}", "ok", 1, "exitCode", m->state.exit_code));
			return false;
		}
		/* Running, or exited and draining: answered once the exit is recorded. */
		monitor_stop(m, (int)jint(req, "signal", SIGTERM), (int)jint(req, "timeout", 10));
		struct waiter *w = xcalloc(1, sizeof *w);
		w->fd = fd;
		w->next = m->waiters;
		m->waiters = w;
		return true;
	}
	if (streq(op, "attach")) {
		if (passed_fd < 0) {
			answer(fd, fail(-EINVAL, "%s", "attach needs a connection"));
			return false;
		}
		io_attach(m, passed_fd, jbool(req, "stdin", false), jbool(req, "stdout", false),
			  jbool(req, "stderr", false), jbool(req, "logs", false));
		answer(fd, husk_mon_ok());
		return false;
	}
	if (streq(op, "resize")) {
		if (m->spec.tty && m->out.fd >= 0) {
			struct winsize ws = {.ws_row = (unsigned short)jint(req, "h", 0),
					     .ws_col = (unsigned short)jint(req, "w", 0)};
			if (ioctl(m->out.fd, TIOCSWINSZ, &ws) < 0) {
				answer(fd, fail(-EIO, "resize: %s", strerror(errno)));
				return false;
			}
		}
		answer(fd, husk_mon_ok());
		return false;
	}
	if (streq(op, "update")) {
		const json_t *res = jobj(req, "resources");
		if (res && cgroup_update(m, res, &err) < 0) {
			answer(fd, husk_mon_fail(&err));
			return false;
		}
		if (jobj(req, "restartPolicy"))
			restart_set_policy(m, jobj(req, "restartPolicy"));
		answer(fd, husk_mon_ok());
		return false;
	}
	if (streq(op, "exec"))
		return exec_start(m, fd, req, passed_fd);
	if (streq(op, "pause") || streq(op, "unpause")) {
		pause_control(m, fd, streq(op, "pause"));
		return false;
	}
	if (streq(op, "exec-resize")) {
		exec_resize(m, fd, req);
		return false;
	}
	answer(fd, fail(-EINVAL, "unknown monitor request \"%s\"", op));
	return false;
}

void control_on_accept(struct monitor *m, struct watch *w, uint32_t events)
{
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* Only our own user may talk to us (the directory is 0700 too). */
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    cred.uid != getuid()) {
			close(fd);
			continue;
		}
		json_t *req = NULL;
		int passed = -1;
		/* Clients send their request right after connecting. */
		int r = husk_mon_recv(fd, &req, &passed, 2000);
		bool kept = false;
		if (r > 0)
			kept = handle(m, fd, req, passed);
		else if (passed >= 0)
			close(passed);
		json_decref(req);
		if (!kept)
			close(fd);
	}
}

void control_answer_waiters(struct monitor *m)
{
	while (m->waiters) {
		struct waiter *w = m->waiters;
		m->waiters = w->next;
		answer(w->fd, json_pack("{s:b, s:i}", "ok", 1, "exitCode", m->state.exit_code));
		close(w->fd);
		free(w);
	}
}
