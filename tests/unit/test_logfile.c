/* core/logfile.c: the CRI-format container log, written and read back, tail, half-written
 * lines. */
#include "test.h"
#include "testutil.h"

#include "core/logfile.h"

#include <fcntl.h>

#define T0 INT64_C(1700000000000000000) /* 2023-11-14T22:13:20Z */
#define TS0 "2023-11-14T22:13:20.000000000Z"

static char *dir;

/* The next entry must be (stream, partial, content). */
static void check_next(struct husk_logr *r, int stream, bool partial, const char *content,
		       int64_t ts)
{
	struct husk_log_entry e = {0};
	int k = husk_logr_next(r, &e);
	CHECK_EQ(k, 1);
	if (k != 1)
		return;
	CHECK_EQ(e.stream, stream);
	CHECK_EQ(e.partial, partial);
	CHECK_EQ(e.len, strlen(content));
	if (e.len == strlen(content) && memcmp(e.content, content, e.len) != 0) {
		fprintf(stderr, "  content \"%.*s\", expected \"%s\"\n", (int)e.len, e.content,
			content);
		test_failures++;
	}
	CHECK_EQ(e.ts_ns, ts);
	CHECK_EQ(r->at_line_start, !partial);
}

static void check_end(struct husk_logr *r)
{
	struct husk_log_entry e;
	CHECK_EQ(husk_logr_next(r, &e), 0);
	CHECK_EQ(husk_logr_next(r, &e), 0); /* and again: EOF is not sticky */
}

static void test_timestamp(void)
{
	char buf[40];
	CHECK(husk_log_timestamp(0, buf) == buf);
	CHECK_STREQ(buf, "1970-01-01T00:00:00.000000000Z");
	CHECK_STREQ(husk_log_timestamp(T0, buf), TS0);
	CHECK_STREQ(husk_log_timestamp(T0 + 5, buf), "2023-11-14T22:13:20.000000005Z");
	CHECK_STREQ(husk_log_timestamp(T0 + 500000000, buf), "2023-11-14T22:13:20.500000000Z");
	CHECK_STREQ(husk_log_timestamp(T0 + 123456789, buf), "2023-11-14T22:13:20.123456789Z");
	CHECK_STREQ(husk_log_timestamp(INT64_MAX, buf), "2262-04-11T23:47:16.854775807Z");
}

static void test_round_trip(void)
{
	_cleanup_free_ char *path = xasprintf("%s/rt.log", dir);
	struct husk_logw w;
	CHECK_EQ(husk_logw_open(&w, path), 0);
	CHECK_EQ(husk_logw_write(&w, HUSK_STDOUT, "hello\n", 6, T0), 0);
	/* several lines in one chunk, the last one open */
	CHECK_EQ(husk_logw_write(&w, HUSK_STDERR, "a\nb\n\nc", 6, T0 + 1), 0);
	CHECK_EQ(husk_logw_write(&w, HUSK_STDERR, "", 0, T0 + 2), 0); /* nothing */
	CHECK_EQ(husk_logw_write(&w, HUSK_STDERR, "d\n", 2, T0 + 3), 0);
	CHECK_EQ(husk_logw_write(&w, HUSK_STDOUT, "\n", 1, T0 + 4), 0);
	CHECK_EQ(husk_logw_write(&w, 7, "x\n", 2, T0 + 5), 0); /* anything else is stdout */
	CHECK_EQ(husk_logw_write(&w, HUSK_STDOUT, "bin\0ary\n", 8, T0 + 6), 0);
	husk_logw_close(&w);
	CHECK_EQ(w.fd, -1);
	CHECK_EQ(husk_logw_write(&w, HUSK_STDOUT, "lost\n", 5, T0), 0); /* closed: dropped */
	husk_logw_close(&w);

	_cleanup_free_ char *text = test_read_file(path);
	CHECK_STREQ(text, TS0 " stdout F hello\n"
			      "2023-11-14T22:13:20.000000001Z stderr F a\n"
			      "2023-11-14T22:13:20.000000001Z stderr F b\n"
			      "2023-11-14T22:13:20.000000001Z stderr F \n"
			      "2023-11-14T22:13:20.000000001Z stderr P c\n"
			      "2023-11-14T22:13:20.000000003Z stderr F d\n"
			      "2023-11-14T22:13:20.000000004Z stdout F \n"
			      "2023-11-14T22:13:20.000000005Z stdout F x\n"
			      "2023-11-14T22:13:20.000000006Z stdout F bin");

	struct husk_logr r;
	CHECK_EQ(husk_logr_open(&r, path), 0);
	CHECK(r.at_line_start);
	check_next(&r, HUSK_STDOUT, false, "hello", T0);
	check_next(&r, HUSK_STDERR, false, "a", T0 + 1);
	check_next(&r, HUSK_STDERR, false, "b", T0 + 1);
	check_next(&r, HUSK_STDERR, false, "", T0 + 1);
	check_next(&r, HUSK_STDERR, true, "c", T0 + 1);
	check_next(&r, HUSK_STDERR, false, "d", T0 + 3);
	check_next(&r, HUSK_STDOUT, false, "", T0 + 4);
	check_next(&r, HUSK_STDOUT, false, "x", T0 + 5);
	struct husk_log_entry e;
	CHECK_EQ(husk_logr_next(&r, &e), 1); /* a NUL in the content stays in it */
	CHECK_EQ(e.len, 7);
	CHECK(memcmp(e.content, "bin\0ary", 7) == 0);
	check_end(&r);
	husk_logr_close(&r);
	CHECK(r.f == NULL && r.line == NULL);

	_cleanup_free_ char *missing = xasprintf("%s/no/such.log", dir);
	CHECK_EQ(husk_logw_open(&w, missing), -ENOENT);
	CHECK_EQ(husk_logr_open(&r, missing), -ENOENT);
	husk_logr_close(&r);
}

static void append(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write_all(fd, s, strlen(s)), 0);
	close(fd);
}

static void test_half_written(void)
{
	_cleanup_free_ char *path = xasprintf("%s/half.log", dir);
	append(path, TS0 " stdout F one\n" TS0 " stdout F tw");
	struct husk_logr r;
	CHECK_EQ(husk_logr_open(&r, path), 0);
	check_next(&r, HUSK_STDOUT, false, "one", T0);
	check_end(&r); /* no newline yet */
	append(path, "o");
	check_end(&r);
	append(path, "\n" TS0 " stderr P thr");
	check_next(&r, HUSK_STDOUT, false, "two", T0);
	check_end(&r);
	append(path, "ee\n");
	check_next(&r, HUSK_STDERR, true, "three", T0);
	check_end(&r);
	husk_logr_close(&r);
}

static void test_malformed_skipped(void)
{
	_cleanup_free_ char *path = xasprintf("%s/bad.log", dir);
	append(path, "garbage\n"
		     "\n" TS0 " stdout F ok1\n" TS0 " stdin F no\n" TS0 " stdout X no\n"
		     "2023-13-14T22:13:20Z stdout F no\n" TS0 " stdout F ok2\n");
	struct husk_logr r;
	CHECK_EQ(husk_logr_open(&r, path), 0);
	check_next(&r, HUSK_STDOUT, false, "ok1", T0);
	check_next(&r, HUSK_STDOUT, false, "ok2", T0);
	check_end(&r);
	husk_logr_close(&r);
}

/* Parses s with an exact-size heap copy: a read past len is an error under ASan. */
static int parse(const char *s, struct husk_log_entry *e)
{
	size_t n = strlen(s);
	char *copy = xmalloc(n ? n : 1);
	memcpy(copy, s, n);
	int r = husk_log_parse_line(copy, n, e);
	if (r == 0) /* content points into copy: keep a stable copy for the checks */
		e->content = s + (e->content - copy);
	free(copy);
	return r;
}

static void test_parse_line(void)
{
	struct husk_log_entry e;
	CHECK_EQ(parse(TS0 " stdout F hello world", &e), 0);
	CHECK_EQ(e.ts_ns, T0);
	CHECK_EQ(e.stream, HUSK_STDOUT);
	CHECK(!e.partial);
	CHECK_EQ(e.len, 11);
	CHECK(memcmp(e.content, "hello world", 11) == 0);
	CHECK_EQ(parse(TS0 " stderr P  x ", &e), 0);
	CHECK_EQ(e.stream, HUSK_STDERR);
	CHECK(e.partial);
	CHECK_EQ(e.len, 3);
	CHECK(memcmp(e.content, " x ", 3) == 0);
	CHECK_EQ(parse(TS0 " stdout F ", &e), 0);
	CHECK_EQ(e.len, 0);
	CHECK_EQ(parse("2023-11-14T22:13:20Z stdout F z", &e), 0); /* any RFC 3339 */
	CHECK_EQ(e.ts_ns, T0);
	CHECK_EQ(parse("2023-11-14T23:13:20.5+01:00 stdout F z", &e), 0);
	CHECK_EQ(e.ts_ns, T0 + 500000000);

	static const char *const bad[] = {
	    "",
	    " ",
	    "x",
	    TS0,
	    TS0 " ",
	    TS0 " stdout",
	    TS0 " stdout ",
	    TS0 " stdout F", /* the space after F is required */
	    TS0 " stdout Fx",
	    TS0 " stdout f x",
	    TS0 " stdout  F x",
	    TS0 "  stdout F x",
	    TS0 " stdin F x",
	    TS0 " STDOUT F x",
	    TS0 " stdoutF x",
	    TS0 " stdout\tF x",
	    "2023-11-14T22:13:20.000000000 stdout F x",
	    "2023-11-14 22:13:20Z stdout F x",
	    "1700000000 stdout F x",
	    "2023-11-14T22:13:20.0000000000000000000000000Z stdout F x", /* 40+ before ' ' */
	    " stdout F x",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(bad[i], &e) != -EINVAL) {
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
			test_failures++;
		}
	}
	/* len bounds the line: what follows is not looked at */
	const char *line = TS0 " stdout F hello";
	CHECK_EQ(husk_log_parse_line(line, strlen(line) - 3, &e), 0);
	CHECK_EQ(e.len, 2);
	CHECK_EQ(husk_log_parse_line(line, strlen(TS0) + 9, &e), -EINVAL);
	CHECK_EQ(husk_log_parse_line(line, strlen(TS0) + 10, &e), 0);
	CHECK_EQ(e.len, 0);
}

/* Lines: "one"; "two" in three pieces (P P F); "three"; "four" still open (P). */
static const char tail_log[] = TS0 " stdout F one\n" TS0 " stdout P t\n" TS0 " stderr P w\n" TS0
				   " stdout F o\n" TS0 " stdout F three\n" TS0 " stdout P four\n";

/* After tail(n), the reader must give the entries in want ("|"-separated contents). */
static void check_tail(const char *path, int64_t n, const char *want)
{
	struct husk_logr r;
	CHECK_EQ(husk_logr_open(&r, path), 0);
	CHECK_EQ(husk_logr_tail(&r, n), 0);
	CHECK(r.at_line_start);
	_cleanup_free_ char *got = xstrdup("");
	struct husk_log_entry e;
	while (husk_logr_next(&r, &e) == 1) {
		char *g = xasprintf("%s%s%.*s", got, *got ? "|" : "", (int)e.len, e.content);
		free(got);
		got = g;
	}
	if (!streq(got, want)) {
		fprintf(stderr, "  tail %lld: \"%s\", expected \"%s\"\n", (long long)n, got, want);
		test_failures++;
	}
	husk_logr_close(&r);
}

static void test_tail(void)
{
	_cleanup_free_ char *path = xasprintf("%s/tail.log", dir);
	append(path, tail_log);
	check_tail(path, -1, "one|t|w|o|three|four"); /* "all" */
	check_tail(path, 0, "");
	check_tail(path, 1, "four"); /* an open line at the end is the last line */
	check_tail(path, 2, "three|four");
	check_tail(path, 3, "t|w|o|three|four"); /* a line with all its pieces */
	check_tail(path, 4, "one|t|w|o|three|four");
	check_tail(path, 5, "one|t|w|o|three|four");
	check_tail(path, 1000000, "one|t|w|o|three|four");
	check_tail(path, INT64_C(1) << 40, "one|t|w|o|three|four");
	check_tail(path, INT64_MAX, "one|t|w|o|three|four");

	/* a half-written entry at the end is not a line yet; once complete, it is read */
	append(path, TS0 " stdout F fi");
	check_tail(path, 1, "four");
	struct husk_logr r;
	CHECK_EQ(husk_logr_open(&r, path), 0);
	CHECK_EQ(husk_logr_tail(&r, 1), 0);
	check_next(&r, HUSK_STDOUT, true, "four", T0);
	check_end(&r);
	append(path, "ve\n");
	check_next(&r, HUSK_STDOUT, false, "five", T0);
	check_end(&r);
	husk_logr_close(&r);
	/* "five" ended the line "four" left open */
	check_tail(path, 1, "four|five");
	check_tail(path, 2, "three|four|five");

	/* more lines than the reader's first ring holds */
	_cleanup_free_ char *many = xasprintf("%s/many.log", dir);
	for (int i = 0; i < 300; i++) {
		char line[64];
		snprintf(line, sizeof line, TS0 " stdout F %d\n", i);
		append(many, line);
	}
	static const int64_t ns[] = {1, 2, 63, 64, 65, 100, 127, 128, 129, 299, 300, 301, 5000};
	for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
		_cleanup_free_ char *want = xstrdup("");
		for (int64_t i = ns[k] < 300 ? 300 - ns[k] : 0; i < 300; i++) {
			char *w = xasprintf("%s%s%lld", want, *want ? "|" : "", (long long)i);
			free(want);
			want = w;
		}
		check_tail(many, ns[k], want);
	}

	_cleanup_free_ char *empty = xasprintf("%s/empty.log", dir);
	append(empty, "");
	check_tail(empty, 0, "");
	check_tail(empty, 3, "");
	check_tail(empty, -1, "");
}

int main(void)
{
	dir = test_tmpdir();
	RUN(test_timestamp);
	RUN(test_round_trip);
	RUN(test_half_written);
	RUN(test_malformed_skipped);
	RUN(test_parse_line);
	RUN(test_tail);
	test_tmpdir_remove(dir);
	return test_result();
}
