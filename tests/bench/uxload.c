/* uxload: keep-alive HTTP/1.1 GET load over a unix socket, for the benchmark.
 *
 *   uxload -s SOCKET [-p PATH] [-c CONNECTIONS] [-d SECONDS] [-n MAX_REQUESTS]
 *
 * Each connection is a thread sending one request at a time and reading the whole response
 * (Content-Length or chunked). Stops after SECONDS or MAX_REQUESTS in all, whichever comes
 * first. Prints one line: requests=N errors=N non2xx=N rps=R p50_ms=X p99_ms=X.
 * Written in C so that it measures the server rather than itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static const char *req_path = "/_ping";
static double deadline;
static atomic_long budget;

struct conn {
	int fd;
	char buf[65536];
	size_t off, len;
};

struct worker {
	pthread_t th;
	long n, errors, non2xx;
	double *lat;
	size_t cap;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fill(struct conn *c)
{
	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof c->buf)
		return -1;
	ssize_t k = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
	if (k <= 0)
		return -1;
	c->len += (size_t)k;
	return 0;
}

/* One line without its CRLF, NUL-terminated in place; NULL on error. */
static char *line(struct conn *c)
{
	for (;;) {
		char *p = memmem(c->buf + c->off, c->len - c->off, "\r\n", 2);
		if (p) {
			char *l = c->buf + c->off;
			*p = 0;
			c->off = (size_t)(p - c->buf) + 2;
			return l;
		}
		if (fill(c) < 0)
			return NULL;
	}
}

static int skip(struct conn *c, size_t n)
{
	while (n > 0) {
		if (c->off == c->len && fill(c) < 0)
			return -1;
		size_t k = c->len - c->off < n ? c->len - c->off : n;
		c->off += k;
		n -= k;
	}
	return 0;
}

/* Reads one response; returns its status, or -1. *keep is cleared on "Connection: close". */
static int response(struct conn *c, int *keep)
{
	char *l = line(c);
	int status;
	if (!l || sscanf(l, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	long long clen = -1;
	int chunked = 0;
	*keep = 1;
	while ((l = line(c)) && *l) {
		if (!strncasecmp(l, "Content-Length:", 15))
			clen = atoll(l + 15);
		else if (!strncasecmp(l, "Transfer-Encoding:", 18) && strcasestr(l, "chunked"))
			chunked = 1;
		else if (!strncasecmp(l, "Connection:", 11) && strcasestr(l, "close"))
			*keep = 0;
	}
	if (!l)
		return -1;
	if (chunked) {
		for (;;) {
			if (!(l = line(c)))
				return -1;
			long long n = strtoll(l, NULL, 16);
			if (n == 0) {
				while ((l = line(c)) && *l)
					;
				return l ? status : -1;
			}
			if (skip(c, (size_t)n) < 0 || !line(c))
				return -1;
		}
	}
	if (clen < 0)
		return -1;
	return skip(c, (size_t)clen) < 0 ? -1 : status;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct conn *c = calloc(1, sizeof *c);
	char req[1024];
	int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", req_path);
	if (!c)
		return NULL;
	c->fd = -1;
	while (now() < deadline && atomic_fetch_sub(&budget, 1) > 0) {
		if (c->fd < 0 && (c->fd = dial()) < 0) {
			w->errors++;
			usleep(1000);
			continue;
		}
		double t0 = now();
		int keep = 0, st = -1;
		if (write(c->fd, req, (size_t)rl) == rl)
			st = response(c, &keep);
		double t1 = now();
		if (st < 0 || !keep) {
			close(c->fd);
			c->fd = -1;
			c->off = c->len = 0;
		}
		if (st < 0) {
			w->errors++;
			continue;
		}
		if (st < 200 || st > 299)
			w->non2xx++;
		if ((size_t)w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
			if (!w->lat)
				abort();
		}
		w->lat[w->n++] = t1 - t0;
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int conns = 1, o;
	double secs = 3;
	long max = 1000000000L;
	while ((o = getopt(argc, argv, "s:p:c:d:n:")) != -1) {
		switch (o) {
		case 's': sock_path = optarg; break;
		case 'p': req_path = optarg; break;
		case 'c': conns = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'n': max = atol(optarg); break;
		default: goto usage;
		}
	}
	if (!sock_path || conns < 1 || conns > 1024 || secs <= 0 || max < 1)
		goto usage;
	atomic_store(&budget, max);
	struct worker *ws = calloc((size_t)conns, sizeof *ws);
	if (!ws)
		return 1;
	double start = now();
	deadline = start + secs;
	for (int i = 0; i < conns; i++)
		if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0)
			return 1;
	long n = 0, errors = 0, non2xx = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(ws[i].th, NULL);
		n += ws[i].n;
		errors += ws[i].errors;
		non2xx += ws[i].non2xx;
	}
	double elapsed = now() - start;
	double *all = malloc((size_t)(n ? n : 1) * sizeof *all);
	if (!all)
		return 1;
	size_t k = 0;
	for (int i = 0; i < conns; i++) {
		if (ws[i].n)
			memcpy(all + k, ws[i].lat, (size_t)ws[i].n * sizeof *all);
		k += (size_t)ws[i].n;
		free(ws[i].lat);
	}
	qsort(all, (size_t)n, sizeof *all, cmp);
	printf("requests=%ld errors=%ld non2xx=%ld rps=%.1f p50_ms=%.3f p99_ms=%.3f\n", n, errors,
	       non2xx, n / elapsed, n ? all[(size_t)(0.50 * (double)(n - 1))] * 1e3 : 0.0,
	       n ? all[(size_t)(0.99 * (double)(n - 1))] * 1e3 : 0.0);
	free(all);
	free(ws);
	return n ? 0 : 1;
usage:
	fprintf(stderr, "usage: uxload -s SOCKET [-p PATH] [-c CONNS] [-d SECONDS] [-n MAX]\n");
	return 2;
}
