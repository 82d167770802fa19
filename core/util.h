/* Small helpers every module uses: cleanup attributes, ownership transfer, strings. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_ _cleanup_(strv_freep)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

static inline bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static inline bool str_empty(const char *s)
{
	return !s || !*s;
}

static inline const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* Returns the rest of s after prefix, or NULL if s does not start with it. */
const char *str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);

/* asprintf that aborts on allocation failure: out-of-memory is not an error we report. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);

size_t strv_length(char *const *v);
/* Appends a copy of s; v may be NULL. */
char **strv_push(char **v, const char *s);
bool strv_contains(char *const *v, const char *s);

/* Parses a decimal integer with range check; returns -EINVAL / -ERANGE. */
int parse_int64(const char *s, int64_t *out);
/* Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False. */
int parse_bool(const char *s, bool *out);

/* A signal by name ("SIGHUP", "HUP", "hup") or number; -EINVAL when unknown. */
int parse_signal(const char *s);

/* Current time in nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t now_ns(void);
/* Monotonic milliseconds. */
int64_t mono_ms(void);
/* RFC 3339 with nanoseconds in UTC, as Go prints time.Time: "2006-01-02T15:04:05.999999999Z".
 * buf must hold 40 bytes. A zero time prints Go's zero value "0001-01-01T00:00:00Z". */
char *format_time_ns(int64_t ns, char buf[static 40]);
/* Parses RFC 3339 as Go does (optional fraction; zone "Z" or "±hh:mm") into ns; -EINVAL when
 * malformed, -ERANGE outside what int64 nanoseconds hold (years 1677 to 2262). */
int parse_time_ns(const char *s, int64_t *out);
/* Go's time.ParseDuration for non-negative durations: "1m30s", "500ms", "1.5h" (-EINVAL). */
int parse_go_duration(const char *s, int64_t *ns);
/* Docker's since/until query values: unix "seconds[.nanoseconds]" (what the CLI sends after
 * converting relative times), or RFC 3339. */
int parse_timestamp_arg(const char *s, int64_t *out);

/* Writes all of buf, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or EOF. Returns bytes read or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* Runs argv (looked up in PATH; stdin /dev/null) and captures its stdout and stderr, each up to
 * max bytes (NUL-terminated; the caller frees both). *status is waitpid's. posix_spawn: safe
 * in a threaded process. -errno when it cannot be run. */
int run_capture(char *const argv[], size_t max, char **out, char **errout, int *status);
