#include "util.h"
#include "libc_compat.h"

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <inttypes.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

const char *str_startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!s || strncmp(s, prefix, n) != 0)
		return NULL;
	return s + n;
}

bool str_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

_noreturn_ static void oom(void)
{
	fputs("husk: out of memory\n", stderr);
	abort();
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (!r)
		oom();
	return r;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);
	if (!r)
		oom();
	return r;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *r = realloc(p, n ? n : 1);
	if (!r)
		oom();
	return r;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_push(char **v, const char *s)
{
	size_t n = strv_length(v);
	v = xrealloc(v, (n + 2) * sizeof(char *));
	v[n] = xstrdup(s);
	v[n + 1] = NULL;
	return v;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

int parse_int64(const char *s, int64_t *out)
{
	char *end;
	/* strtoll skips leading white space; Go's ParseInt does not. */
	if (str_empty(s) || !(isdigit((unsigned char)s[0]) || s[0] == '+' || s[0] == '-'))
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (streq(s, t[i])) {
			*out = true;
			return 0;
		}
		if (streq(s, f[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *format_time_ns(int64_t ns, char buf[static 40])
{
	if (ns <= 0) {
		strcpy(buf, "0001-01-01T00:00:00Z");
		return buf;
	}
	time_t sec = ns / 1000000000;
	long frac = ns % 1000000000;
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac) {
		/* Go trims trailing zeros of the fraction. */
		char f[11];
		snprintf(f, sizeof f, ".%09ld", frac);
		size_t l = strlen(f);
		while (l > 1 && f[l - 1] == '0')
			f[--l] = 0;
		memcpy(buf + n, f, l + 1);
		n += l;
	}
	buf[n++] = 'Z';
	buf[n] = 0;
	return buf;
}

/* The n digits at s as a number in [lo, hi], or -1; stops at the first non-digit (the NUL). */
static int fixed_digits(const char *s, int n, int lo, int hi)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

int parse_time_ns(const char *s, int64_t *out)
{
	/* As Go's time.Parse(time.RFC3339Nano): fixed-width fields, each checked against its
	 * range. Each field is read only once the ones before it matched, so a short string is
	 * never read past its end. */
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (!s)
		return -EINVAL;
	int year = fixed_digits(s, 4, 0, 9999);
	int mon = year < 0 || s[4] != '-' ? -1 : fixed_digits(s + 5, 2, 1, 12);
	int day = mon < 0 || s[7] != '-' ? -1 : fixed_digits(s + 8, 2, 1, 31);
	int hour = day < 0 || s[10] != 'T' ? -1 : fixed_digits(s + 11, 2, 0, 23);
	int min = hour < 0 || s[13] != ':' ? -1 : fixed_digits(s + 14, 2, 0, 59);
	int sec = min < 0 || s[16] != ':' ? -1 : fixed_digits(s + 17, 2, 0, 59);
	if (sec < 0)
		return -EINVAL;
	bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	if (day > mdays[mon - 1] + (mon == 2 && leap))
		return -EINVAL;
	const char *p = s + 19;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (!digits)
			return -EINVAL;
		while (digits++ < 9)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh = fixed_digits(p + 1, 2, 0, 23);
		int mm = hh < 0 || p[3] != ':' ? -1 : fixed_digits(p + 4, 2, 0, 59);
		if (mm < 0)
			return -EINVAL;
		off = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mon - 1,
			.tm_mday = day,
			.tm_hour = hour,
			.tm_min = min,
			.tm_sec = sec};
	int64_t t = (int64_t)timegm(&tm) - off;
	/* Nanoseconds in an int64 span 1677-09-21T00:12:43.145224192Z to
	 * 2262-04-11T23:47:16.854775807Z. */
	const int64_t max_s = INT64_MAX / 1000000000, min_s = INT64_MIN / 1000000000 - 1;
	if (t > max_s || t < min_s || (t == max_s && frac > INT64_MAX % 1000000000) ||
	    (t == min_s && frac < 1000000000 + INT64_MIN % 1000000000))
		return -ERANGE;
	*out = t < 0 ? (t + 1) * 1000000000 + (frac - 1000000000) : t * 1000000000 + frac;
	return 0;
}

int parse_go_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"ns", 1},	 {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	double total = 0;
	if (streq(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s || v < 0)
			return -EINVAL;
		s = end;
		size_t best = 0, best_len = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, l) == 0 && l > best_len) {
				best = i;
				best_len = l;
			}
		}
		if (!best_len)
			return -EINVAL;
		total += v * units[best].mult;
		s += best_len;
	}
	*ns = (int64_t)total;
	return 0;
}

int parse_timestamp_arg(const char *s, int64_t *out)
{
	/* What clients send is "seconds[.nanoseconds]" (the CLI converts relative times and
	 * RFC 3339 before sending); RFC 3339 is accepted too for hand-written requests. */
	char *end;
	if (str_empty(s))
		return -EINVAL;
	if (parse_time_ns(s, out) == 0)
		return 0;
	errno = 0;
	long long sec = strtoll(s, &end, 10);
	if (errno || end == s || sec < 0)
		return -EINVAL;
	int64_t frac = 0;
	if (*end == '.') {
		const char *p = end + 1;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (*p)
			return -EINVAL;
		while (digits++ < 9)
			frac *= 10;
	} else if (*end) {
		return -EINVAL;
	}
	if (sec > INT64_MAX / 1000000000 - 1)
		return -ERANGE;
	*out = (int64_t)sec * 1000000000 + frac;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void capture_more(int *fd, char **buf, size_t *len, size_t max)
{
	char chunk[16384];
	ssize_t n = read(*fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	size_t keep = *len + (size_t)n > max ? max - *len : (size_t)n;
	*buf = xrealloc(*buf, *len + keep + 1);
	memcpy(*buf + *len, chunk, keep);
	*len += keep;
	(*buf)[*len] = 0;
}

int run_capture(char *const argv[], size_t max, char **out, char **errout, int *status)
{
	int po[2], pe[2];
	*out = xcalloc(1, 1);
	*errout = xcalloc(1, 1);
	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		int r = -errno;
		close(po[0]);
		close(po[1]);
		return r;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	pid_t child;
	int r = posix_spawnp(&child, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	int fds[2] = {po[0], pe[0]};
	size_t lens[2] = {0, 0};
	char **bufs[2] = {out, errout};
	while (r == 0 && (fds[0] >= 0 || fds[1] >= 0)) {
		struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN},
				      {.fd = fds[1], .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (p[i].revents)
				capture_more(&fds[i], bufs[i], &lens[i], max);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r != 0)
		return -r;
	while (waitpid(child, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int parse_signal(const char *s)
{
	if (str_empty(s))
		return -EINVAL;
	int64_t n;
	if (parse_int64(s, &n) == 0)
		return n > 0 && n < NSIG ? (int)n : -EINVAL;
	const char *name = s;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && strcasecmp(abbrev, name) == 0)
			return i;
	}
	return -EINVAL;
}
