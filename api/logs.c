/* GET /containers/{id}/logs, read from the log file alone (no monitor needed): framed as
 * stdcopy without a TTY, raw with one; follow ends when the container has exited. */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/json.h"
#include "core/logfile.h"
#include "core/stdcopy.h"

#include <poll.h>
#include <sys/inotify.h>

struct logs {
	struct api *api;
	char id[65];
	struct husk_logr reader;
	bool out, err, tty, timestamps, follow;
	int64_t since, until;
	int client_fd;
	int ino;
	char *pending; /* rendered output not yet handed to MHD */
	size_t plen, pcap, poff;
	bool line_start[3]; /* per stream: the next entry starts a line */
	bool ended;
};

static void logs_free(void *cls)
{
	struct logs *l = cls;
	husk_logr_close(&l->reader);
	if (l->ino >= 0)
		close(l->ino);
	free(l->pending);
	free(l);
}

static void append(struct logs *l, const void *data, size_t n)
{
	if (l->plen + n > l->pcap) {
		l->pcap = (l->plen + n) * 2;
		l->pending = xrealloc(l->pending, l->pcap);
	}
	memcpy(l->pending + l->plen, data, n);
	l->plen += n;
}

static void render(struct logs *l, const struct husk_log_entry *e)
{
	char ts[48] = "";
	size_t tlen = 0;
	if (l->timestamps && l->line_start[e->stream]) {
		husk_log_timestamp(e->ts_ns, ts);
		strcat(ts, " ");
		tlen = strlen(ts);
	}
	size_t n = tlen + e->len + (e->partial ? 0 : 1);
	if (!l->tty) {
		unsigned char hdr[8];
		husk_stdcopy_header(hdr, e->stream, n);
		append(l, hdr, sizeof hdr);
	}
	append(l, ts, tlen);
	append(l, e->content, e->len);
	if (!e->partial)
		append(l, "\n", 1);
	l->line_start[e->stream] = !e->partial;
}

static bool container_running(struct logs *l)
{
	struct husk_state st;
	husk_state_load(&l->api->store, l->id, &st);
	bool live = st.status == HUSK_RUNNING || st.status == HUSK_PAUSED ||
		    st.status == HUSK_RESTARTING;
	husk_state_clear(&st);
	return live;
}

/* Fills pending with the next entries; false at the end of what there is to send. */
static bool fill(struct logs *l)
{
	struct husk_log_entry e;
	while (l->plen < 32768) {
		int k = husk_logr_next(&l->reader, &e);
		if (k <= 0)
			return l->plen > 0;
		if (l->until && e.ts_ns > l->until) {
			l->ended = true;
			return l->plen > 0;
		}
		if (e.ts_ns < l->since || !(e.stream == HUSK_STDOUT ? l->out : l->err))
			continue;
		render(l, &e);
	}
	return true;
}

/* Blocks until the log grows, the container stops, or the client leaves. */
static int wait_more(struct logs *l)
{
	struct pollfd p[2] = {{.fd = l->ino, .events = POLLIN},
			      {.fd = l->client_fd, .events = POLLRDHUP}};
	int k = poll(p, 2, 1000);
	if (k > 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return -ECONNRESET;
	if (k > 0 && (p[0].revents & POLLIN)) {
		char buf[4096];
		while (read(l->ino, buf, sizeof buf) > 0)
			;
	}
	return 0;
}

static ssize_t logs_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct logs *l = cls;
	for (;;) {
		if (l->poff < l->plen) {
			size_t n = l->plen - l->poff < max ? l->plen - l->poff : max;
			memcpy(buf, l->pending + l->poff, n);
			l->poff += n;
			if (l->poff == l->plen)
				l->poff = l->plen = 0;
			return (ssize_t)n;
		}
		if (l->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (fill(l))
			continue;
		if (!l->follow)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* Everything written so far is out. The monitor logs the last output before it
		 * records the exit, so "not running" plus nothing left to read is the end. */
		if (!container_running(l)) {
			if (!fill(l))
				return MHD_CONTENT_READER_END_OF_STREAM;
			continue;
		}
		if (wait_more(l) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static int parse_tail(const char *s, int64_t *n)
{
	if (str_empty(s) || streq(s, "all")) {
		*n = -1;
		return 0;
	}
	if (parse_int64(s, n) < 0)
		return -EINVAL;
	if (*n < 0)
		*n = -1;
	return 0;
}

enum MHD_Result h_container_logs(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(&r->api->store, r->params[0], &c, &err) < 0)
		return reply_error(r, &err);
	struct logs *l = xcalloc(1, sizeof *l);
	l->api = r->api;
	l->ino = -1;
	memcpy(l->id, c->id, sizeof l->id);
	l->out = query_bool(r, "stdout", false);
	l->err = query_bool(r, "stderr", false);
	l->timestamps = query_bool(r, "timestamps", false);
	l->follow = query_bool(r, "follow", false);
	l->tty = jbool(jobj(c->config, "Config"), "Tty", false);
	l->client_fd = req_socket(r);
	for (int i = 0; i < 3; i++)
		l->line_start[i] = true;
	int64_t tail;
	const char *since = query(r, "since"), *until = query(r, "until");
	int k = 0;
	if (!l->out && !l->err)
		k = husk_error_set(&err, -EINVAL,
				   "Bad parameters: you must choose at least one stream");
	else if (parse_tail(query(r, "tail"), &tail) < 0)
		k = husk_error_set(&err, -EINVAL, "invalid value for tail: %s", query(r, "tail"));
	else if (!str_empty(since) && !streq(since, "0") &&
		 parse_timestamp_arg(since, &l->since) < 0)
		k = husk_error_set(&err, -EINVAL, "invalid value for since: %s", since);
	else if (!str_empty(until) && !streq(until, "0") &&
		 parse_timestamp_arg(until, &l->until) < 0)
		k = husk_error_set(&err, -EINVAL, "invalid value for until: %s", until);
	if (k < 0) {
		logs_free(l);
		return reply_error(r, &err);
	}
	_cleanup_free_ char *path = husk_store_data_path(&r->api->store,
							 "containers/%s/container.log", c->id);
	/* A container that never ran has no log yet: an empty one reads the same. */
	if (husk_logr_open(&l->reader, path) < 0) {
		FILE *f = fopen(path, "a");
		if (f)
			fclose(f);
		husk_logr_open(&l->reader, path);
	}
	if (!l->reader.f) {
		int e = errno;
		logs_free(l);
		/* Removed since we found it (its directory is gone, the log with it). */
		if (e == ENOENT)
			return reply_errorf(r, -ENOENT, "No such container: %s", r->params[0]);
		return reply_errorf(r, -EIO, "cannot open the log of %.12s", c->id);
	}
	husk_logr_tail(&l->reader, tail);
	if (l->follow) {
		l->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		_cleanup_free_ char *run = husk_store_run_path(&r->api->store, "containers/%s",
							       c->id);
		inotify_add_watch(l->ino, path, IN_MODIFY);
		inotify_add_watch(l->ino, run, IN_MOVED_TO);
	}
	const char *ctype = l->tty ? "application/vnd.docker.raw-stream"
				   : "application/vnd.docker.multiplexed-stream";
	return reply_stream(r, MHD_HTTP_OK, ctype, logs_body, l, logs_free);
}
