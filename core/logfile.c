#include "logfile.h"

#include <fcntl.h>
#include <time.h>

char *husk_log_timestamp(int64_t ns, char buf[static 40])
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 40 - n, ".%09lldZ", (long long)(ns % 1000000000));
	return buf;
}

int husk_logw_open(struct husk_logw *w, const char *path)
{
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return w->fd < 0 ? -errno : 0;
}

void husk_logw_close(struct husk_logw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

int husk_logw_write(struct husk_logw *w, int stream, const char *data, size_t n, int64_t ts_ns)
{
	if (w->fd < 0 || n == 0)
		return 0;
	char ts[40];
	husk_log_timestamp(ts_ns, ts);
	const char *sname = stream == HUSK_STDERR ? "stderr" : "stdout";
	/* One write for the whole chunk: entries of concurrent streams never interleave. */
	size_t cap = n + 64, len = 0;
	for (size_t i = 0; i < n; i++)
		cap += data[i] == '\n' ? 64 : 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	size_t start = 0;
	while (start < n) {
		const char *nl = memchr(data + start, '\n', n - start);
		size_t end = nl ? (size_t)(nl - data) : n;
		len += (size_t)sprintf(buf + len, "%s %s %c ", ts, sname, nl ? 'F' : 'P');
		memcpy(buf + len, data + start, end - start);
		len += end - start;
		buf[len++] = '\n';
		start = nl ? end + 1 : n;
	}
	return write_all(w->fd, buf, len);
}

int husk_logr_open(struct husk_logr *r, const char *path)
{
	memset(r, 0, sizeof *r);
	r->at_line_start = true;
	r->f = fopen(path, "re");
	return r->f ? 0 : -errno;
}

void husk_logr_close(struct husk_logr *r)
{
	if (r->f)
		fclose(r->f);
	free(r->line);
	memset(r, 0, sizeof *r);
}

int husk_log_parse_line(const char *line, size_t len, struct husk_log_entry *e)
{
	const char *sp1 = memchr(line, ' ', len);
	if (!sp1 || sp1 - line >= 40)
		return -EINVAL;
	char ts[40];
	memcpy(ts, line, (size_t)(sp1 - line));
	ts[sp1 - line] = 0;
	if (parse_time_ns(ts, &e->ts_ns) < 0)
		return -EINVAL;
	const char *p = sp1 + 1;
	size_t rest = len - (size_t)(p - line);
	if (rest >= 9 && memcmp(p, "stdout ", 7) == 0)
		e->stream = HUSK_STDOUT;
	else if (rest >= 9 && memcmp(p, "stderr ", 7) == 0)
		e->stream = HUSK_STDERR;
	else
		return -EINVAL;
	p += 7;
	if ((*p != 'F' && *p != 'P') || p[1] != ' ')
		return -EINVAL;
	e->partial = *p == 'P';
	e->content = p + 2;
	e->len = len - (size_t)(e->content - line);
	return 0;
}

int husk_logr_next(struct husk_logr *r, struct husk_log_entry *e)
{
	for (;;) {
		long pos = ftell(r->f);
		ssize_t n = getline(&r->line, &r->cap, r->f);
		if (n < 0) {
			clearerr(r->f);
			return 0;
		}
		if (r->line[n - 1] != '\n') {
			/* A line still being written: read it again when it is complete. */
			fseek(r->f, pos, SEEK_SET);
			return 0;
		}
		if (husk_log_parse_line(r->line, (size_t)n - 1, e) < 0)
			continue;
		r->at_line_start = !e->partial;
		return 1;
	}
}

int husk_logr_tail(struct husk_logr *r, int64_t n)
{
	if (n < 0)
		return 0;
	/* A ring of the offsets where the last n lines start. n comes from the client and may be
	 * huge: the ring grows with the lines actually there, up to n + 1. */
	uint64_t size = (uint64_t)n + 1;
	_cleanup_free_ long *ring = NULL;
	size_t cap = 0, count = 0;
	long start = ftell(r->f);
	bool line_open = false;
	struct husk_log_entry e;
	for (;;) {
		long pos = ftell(r->f);
		int k = husk_logr_next(r, &e);
		if (k <= 0)
			break;
		if (!line_open) {
			if (count < size && count == cap) {
				cap = cap ? 2 * cap : 64;
				if (cap > size)
					cap = (size_t)size;
				ring = xrealloc(ring, cap * sizeof *ring);
			}
			ring[count % size] = pos;
			count++;
		}
		line_open = e.partial;
	}
	/* An open line at the end counts as the last line. */
	long target;
	if (n == 0)
		target = ftell(r->f);
	else if (count <= (uint64_t)n)
		target = start;
	else
		target = ring[(count - (uint64_t)n) % size];
	r->at_line_start = true;
	return fseek(r->f, target, SEEK_SET) < 0 ? -errno : 0;
}
