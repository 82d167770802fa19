/* The container's stdio. Output goes to the log file first, then to every attached client
 * (framed as Docker's stdcopy without a TTY); input from clients goes to the container. A
 * slow client is given a bounded buffer and then dropped: it never stalls the container. */
#include "monitor.h"

#include "core/log.h"
#include "core/stdcopy.h"

#include <fcntl.h>
#include <sys/socket.h>

#define CLIENT_BUF_MAX (8u << 20)

static void client_free(struct monitor *m, struct client *c)
{
	watch_del(m, &c->w);
	close(c->w.fd);
	free(c->buf);
	free(c);
}

static void client_unlink(struct monitor *m, struct client *c)
{
	for (struct client **p = &m->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	client_free(m, c);
}

static uint32_t client_events(const struct client *c)
{
	uint32_t ev = 0;
	if (!c->in_done && !c->in_paused)
		ev |= EPOLLIN;
	if (c->len)
		ev |= EPOLLOUT;
	return ev;
}

/* Writes what can be written; false when the client is gone. */
bool client_flush(struct monitor *m, struct client *c)
{
	while (c->len) {
		ssize_t n = send(c->w.fd, c->buf, c->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return false;
		}
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
	}
	if (!c->len && c->closing)
		return false;
	watch_mod(m, &c->w, client_events(c));
	return true;
}

bool client_queue(struct client *c, const void *data, size_t n)
{
	if (c->len + n > CLIENT_BUF_MAX)
		return false;
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	return true;
}

/* Docker's stdcopy frame: stream byte, three zero bytes, big-endian length. */
static bool client_send(struct monitor *m, struct client *c, int stream, const char *data,
			size_t n)
{
	if (!m->spec.tty) {
		unsigned char hdr[8];
		husk_stdcopy_header(hdr, stream, n);
		if (!client_queue(c, hdr, sizeof hdr))
			return false;
	}
	return client_queue(c, data, n);
}

static void broadcast(struct monitor *m, int stream, const char *data, size_t n)
{
	struct client *next;
	for (struct client *c = m->clients; c; c = next) {
		next = c->next;
		bool wants = m->spec.tty || (stream == HUSK_STDOUT ? c->out : c->err);
		if (!wants)
			continue;
		if (!client_send(m, c, stream, data, n) || !client_flush(m, c)) {
			husk_log(LOG_DEBUG, "dropping an attached client of %.12s", m->id);
			client_unlink(m, c);
		}
	}
}

bool io_output_open(const struct monitor *m)
{
	return m->out.fd >= 0 || m->err.fd >= 0;
}

void io_on_output(struct monitor *m, struct watch *w, uint32_t events)
{
	char buf[65536];
	int stream = w == &m->err ? HUSK_STDERR : HUSK_STDOUT;
	/* With a TTY, the master is both output and input: one watch serves both. */
	if ((events & EPOLLOUT) && w->fd == m->in.fd)
		io_on_stdin_writable(m, &m->in, EPOLLOUT);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = read(w->fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or EIO on a pty master once the last slave is closed. */
		watch_del(m, w);
		if (w == &m->out && m->in.fd == w->fd) {
			watch_del(m, &m->in);
			m->in.fd = -1;
		}
		close(w->fd);
		w->fd = -1;
		return;
	}
	husk_logw_write(&m->log, stream, buf, (size_t)n, now_ns());
	broadcast(m, stream, buf, (size_t)n);
}

static void stdin_queue(struct monitor *m, const char *data, size_t n)
{
	if (m->in.fd < 0)
		return;
	if (m->in_len + n > CLIENT_BUF_MAX)
		return; /* the container does not read its input: drop, as a full pipe would */
	if (m->in_len + n > m->in_cap) {
		m->in_cap = (m->in_len + n) * 2;
		m->in_buf = xrealloc(m->in_buf, m->in_cap);
	}
	memcpy(m->in_buf + m->in_len, data, n);
	m->in_len += n;
	io_on_stdin_writable(m, &m->in, EPOLLOUT);
}

void io_on_stdin_writable(struct monitor *m, struct watch *w, uint32_t events)
{
	while (m->in_len && m->in.fd >= 0) {
		ssize_t n = write(m->in.fd, m->in_buf, m->in_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			m->in_len = 0; /* the reader is gone */
			break;
		}
		memmove(m->in_buf, m->in_buf + n, m->in_len - (size_t)n);
		m->in_len -= (size_t)n;
	}
	/* The pty master is watched for output already; only a stdin pipe gets its own watch. */
	if (m->in.fd >= 0 && m->in.fd == m->out.fd)
		watch_mod(m, &m->out, EPOLLIN | (m->in_len ? EPOLLOUT : 0));
	else if (m->in.fd >= 0)
		watch_mod(m, &m->in, m->in_len ? EPOLLOUT : 0);
}

void io_close_stdin(struct monitor *m)
{
	if (m->in.fd < 0 || m->spec.tty)
		return;
	io_on_stdin_writable(m, &m->in, EPOLLOUT);
	watch_del(m, &m->in);
	close(m->in.fd);
	m->in.fd = -1;
}

int client_read(struct client *c, uint32_t events, char *buf, size_t cap)
{
	if (events & EPOLLIN) {
		ssize_t n = recv(c->w.fd, buf, cap, MSG_DONTWAIT);
		if (n > 0)
			return (int)n;
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* A half-close is the end of the client's input, not of the session. */
			c->in_done = true;
			return n == 0 ? CLIENT_INPUT_END : CLIENT_GONE;
		}
		return 0;
	}
	return events & (EPOLLERR | EPOLLHUP) ? CLIENT_GONE : 0;
}

static void on_client(struct monitor *m, struct watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;
	char buf[65536];
	int n = client_read(c, events, buf, sizeof buf);
	if (n > 0 && c->in)
		stdin_queue(m, buf, (size_t)n);
	if (n < 0 && c->in && m->stdin_once)
		io_close_stdin(m);
	if (n == CLIENT_GONE || !client_flush(m, c))
		client_unlink(m, c);
}

static void replay_logs(struct monitor *m, struct client *c)
{
	_cleanup_free_ char *path = husk_store_data_path(&m->store, "containers/%s/container.log",
							 m->id);
	struct husk_logr r;
	if (husk_logr_open(&r, path) < 0)
		return;
	struct husk_log_entry e;
	while (husk_logr_next(&r, &e) > 0) {
		if (!(e.stream == HUSK_STDOUT ? c->out : c->err))
			continue;
		client_send(m, c, e.stream, e.content, e.len);
		if (!e.partial)
			client_send(m, c, e.stream, "\n", 1);
	}
	husk_logr_close(&r);
}

int io_attach(struct monitor *m, int fd, bool in, bool out, bool err, bool logs)
{
	struct client *c = xcalloc(1, sizeof *c);
	c->w.fd = fd;
	c->w.fn = on_client;
	c->in = in && m->spec.open_stdin;
	c->out = out;
	c->err = err;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (logs)
		replay_logs(m, c);
	c->next = m->clients;
	m->clients = c;
	if (m->phase == PHASE_DONE)
		c->closing = true;
	watch_add(m, &c->w, client_events(c));
	if (!client_flush(m, c))
		client_unlink(m, c);
	return 0;
}

bool io_clients_flushed(const struct monitor *m)
{
	for (const struct client *c = m->clients; c; c = c->next)
		if (c->len)
			return false;
	return true;
}

void io_close_clients(struct monitor *m)
{
	while (m->clients) {
		struct client *c = m->clients;
		m->clients = c->next;
		client_free(m, c);
	}
}
