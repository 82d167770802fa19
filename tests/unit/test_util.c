/* core/util.c: number, boolean and time parsing as Go does it, strings and string vectors,
 * whole reads and writes. */
#include "test.h"
#include "testutil.h"

#include "core/fs.h"
#include "core/util.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define SENTINEL INT64_C(-4242)

static void check_int64(const char *s, int want_r, int64_t want)
{
	int64_t v = SENTINEL;
	int r = parse_int64(s, &v);
	if (r != want_r || v != want) {
		fprintf(stderr, "  parse_int64(\"%s\") = %d, %lld; expected %d, %lld\n",
			s ? s : "(null)", r, (long long)v, want_r, (long long)want);
		test_failures++;
	}
}

static void test_parse_int64(void)
{
	check_int64("0", 0, 0);
	check_int64("-1", 0, -1);
	check_int64("+7", 0, 7); /* Go's ParseInt takes a sign */
	check_int64("007", 0, 7);
	check_int64("9223372036854775807", 0, INT64_MAX);
	check_int64("-9223372036854775808", 0, INT64_MIN);
	/* failures leave the output alone */
	check_int64("9223372036854775808", -ERANGE, SENTINEL);
	check_int64("-9223372036854775809", -ERANGE, SENTINEL);
	check_int64("99999999999999999999999", -ERANGE, SENTINEL);
	check_int64(NULL, -EINVAL, SENTINEL);
	check_int64("", -EINVAL, SENTINEL);
	check_int64("-", -EINVAL, SENTINEL);
	check_int64("+", -EINVAL, SENTINEL);
	check_int64("12a", -EINVAL, SENTINEL);
	check_int64("a12", -EINVAL, SENTINEL);
	check_int64("0x10", -EINVAL, SENTINEL);
	check_int64("1e3", -EINVAL, SENTINEL);
	check_int64("1.0", -EINVAL, SENTINEL);
	check_int64("1 ", -EINVAL, SENTINEL);
	/* Go rejects white space on either side */
	check_int64(" 1", -EINVAL, SENTINEL);
	check_int64("\t1", -EINVAL, SENTINEL);
	check_int64("\n-1", -EINVAL, SENTINEL);
	check_int64(" ", -EINVAL, SENTINEL);
}

static void test_parse_bool(void)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	static const char *const bad[] = {"",	   "2",	 "tRUE",  "truE", "TRue", "yes",
					  "no",	   "on", "off",	  "y",	  "n",	  " true",
					  "true ", "01", "fAlse", "-1"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		bool b = false;
		CHECK_EQ(parse_bool(yes[i], &b), 0);
		CHECK(b == true);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		bool b = true;
		CHECK_EQ(parse_bool(no[i], &b), 0);
		CHECK(b == false);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		bool b = true;
		if (parse_bool(bad[i], &b) != -EINVAL || !b) {
			fprintf(stderr, "  parse_bool(\"%s\") accepted\n", bad[i]);
			test_failures++;
		}
	}
	bool b = true;
	CHECK_EQ(parse_bool(NULL, &b), -EINVAL);
	CHECK(b);
}

static void check_format(int64_t ns, const char *want)
{
	char buf[40];
	memset(buf, 'x', sizeof buf);
	CHECK(format_time_ns(ns, buf) == buf);
	CHECK_STREQ(buf, want);
}

static void test_format_time(void)
{
	check_format(0, "0001-01-01T00:00:00Z"); /* Go's zero time */
	check_format(-1, "0001-01-01T00:00:00Z");
	check_format(INT64_MIN, "0001-01-01T00:00:00Z");
	check_format(1, "1970-01-01T00:00:00.000000001Z");
	check_format(1000000000, "1970-01-01T00:00:01Z");
	check_format(INT64_C(1700000000000000000), "2023-11-14T22:13:20Z");
	check_format(INT64_C(1700000000500000000), "2023-11-14T22:13:20.5Z");
	check_format(INT64_C(1700000000120000000), "2023-11-14T22:13:20.12Z");
	check_format(INT64_C(1700000000000001000), "2023-11-14T22:13:20.000001Z");
	check_format(INT64_C(1700000000123456789), "2023-11-14T22:13:20.123456789Z");
	check_format(INT64_C(1709164800000000000), "2024-02-29T00:00:00Z");
	check_format(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
}

static void check_time(const char *s, int want_r, int64_t want)
{
	/* a heap copy of the exact size: reading past its end is an error under ASan */
	char *copy = xstrdup(s);
	int64_t v = SENTINEL;
	int r = parse_time_ns(copy, &v);
	if (r != want_r || v != want) {
		fprintf(stderr, "  parse_time_ns(\"%s\") = %d, %lld; expected %d, %lld\n", s, r,
			(long long)v, want_r, (long long)want);
		test_failures++;
	}
	free(copy);
}

#define T0 INT64_C(1700000000000000000) /* 2023-11-14T22:13:20Z */

static void test_parse_time(void)
{
	check_time("2023-11-14T22:13:20Z", 0, T0);
	check_time("2023-11-14T22:13:20.5Z", 0, T0 + 500000000);
	check_time("2023-11-14T22:13:20.000000001Z", 0, T0 + 1);
	check_time("2023-11-14T22:13:20.123456789Z", 0, T0 + 123456789);
	check_time("2023-11-14T22:13:20.1234567899Z", 0, T0 + 123456789); /* Go truncates */
	check_time("2023-11-14T23:13:20+01:00", 0, T0);
	check_time("2023-11-14T16:43:20.25-05:30", 0, T0 + 250000000);
	check_time("2023-11-14T22:13:20+00:00", 0, T0);
	check_time("2023-11-14T22:13:20-00:00", 0, T0);
	check_time("2023-11-15T21:59:20+23:46", 0, T0);
	check_time("1970-01-01T00:00:00Z", 0, 0);
	check_time("1969-12-31T23:59:59Z", 0, -1000000000);
	check_time("2024-02-29T00:00:00Z", 0, INT64_C(1709164800000000000));
	check_time("2000-02-29T00:00:00Z", 0, INT64_C(951782400000000000));
	check_time("2262-04-11T23:47:16.854775807Z", 0, INT64_MAX);
	check_time("1677-09-21T00:12:43.145224192Z", 0, INT64_MIN);
	/* outside what int64 nanoseconds hold */
	check_time("2262-04-11T23:47:16.854775808Z", -ERANGE, SENTINEL);
	check_time("2262-04-11T23:47:17Z", -ERANGE, SENTINEL);
	check_time("1677-09-21T00:12:43.145224191Z", -ERANGE, SENTINEL);
	check_time("0001-01-01T00:00:00Z", -ERANGE, SENTINEL);
	check_time("9999-12-31T23:59:59.999999999Z", -ERANGE, SENTINEL);

	static const char *const bad[] = {
	    "",
	    "2023",
	    "2023-11-14",
	    "2023-11-14T22:13",
	    "2023-11-14T22:13:20", /* no zone */
	    "2023-11-14 22:13:20Z",
	    "2023-11-14t22:13:20Z",
	    "2023-11-14T22:13:20z",
	    "2023-11-14T22:13:20.Z", /* a dot without digits */
	    "2023-11-14T22:13:20.5",
	    "2023-11-14T22:13:20Zjunk",
	    "2023-11-14T22:13:20Z ",
	    " 2023-11-14T22:13:20Z",
	    "2023-1-14T22:13:20Z", /* fields have a fixed width */
	    "2023-11-4T22:13:20Z",
	    "2023-11-14T2:13:20Z",
	    "2023-11-14T22:3:20Z",
	    "2023-11-14T22:13:2Z",
	    "23-11-14T22:13:20Z",
	    "+2023-11-14T22:13:20Z",
	    "2023-00-14T22:13:20Z", /* ranges */
	    "2023-13-14T22:13:20Z",
	    "2023-11-00T22:13:20Z",
	    "2023-11-31T22:13:20Z",
	    "2023-02-29T00:00:00Z", /* not a leap year */
	    "1900-02-29T00:00:00Z",
	    "2023-11-14T24:00:00Z",
	    "2023-11-14T22:60:20Z",
	    "2023-11-14T22:13:60Z",
	    "2023-11-14T22:13:20+01", /* offsets are ±hh:mm exactly */
	    "2023-11-14T22:13:20+0100",
	    "2023-11-14T22:13:20+1:00",
	    "2023-11-14T22:13:20+01:0",
	    "2023-11-14T22:13:20+1:2",
	    "2023-11-14T22:13:20+-1:00",
	    "2023-11-14T22:13:20+ 1:00",
	    "2023-11-14T22:13:20+24:00",
	    "2023-11-14T22:13:20+01:60",
	    "2023-11-14T22:13:20+01:00Z",
	    "2023-11-14T22:13:20+01:00:00",
	    "2023-11-14T22:13:20Z+01:00",
	    "1700000000",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		check_time(bad[i], -EINVAL, SENTINEL);

	/* every second of a day, and fractions, survive format → parse */
	for (int64_t ns = T0; ns < T0 + INT64_C(86400) * 1000000000;
	     ns += INT64_C(997) * 1000000007) {
		char buf[40];
		int64_t back = SENTINEL;
		CHECK_EQ(parse_time_ns(format_time_ns(ns, buf), &back), 0);
		CHECK_EQ(back, ns);
	}
}

static void check_ts(const char *s, int want_r, int64_t want)
{
	char *copy = s ? xstrdup(s) : NULL;
	int64_t v = SENTINEL;
	int r = parse_timestamp_arg(copy, &v);
	if (r != want_r || v != want) {
		fprintf(stderr, "  parse_timestamp_arg(\"%s\") = %d, %lld; expected %d, %lld\n",
			s ? s : "(null)", r, (long long)v, want_r, (long long)want);
		test_failures++;
	}
	free(copy);
}

static void test_parse_timestamp_arg(void)
{
	check_ts("1700000000", 0, T0);
	check_ts("1700000000.5", 0, T0 + 500000000);
	check_ts("1700000000.000000001", 0, T0 + 1);
	check_ts("1700000000.123456789", 0, T0 + 123456789);
	check_ts("1700000000.1234567899", 0, T0 + 123456789);
	check_ts("0", 0, 0);
	check_ts("0.25", 0, 250000000);
	check_ts("9223372035", 0, INT64_C(9223372035000000000));
	check_ts("2023-11-14T22:13:20Z", 0, T0);
	check_ts("2023-11-14T23:13:20.5+01:00", 0, T0 + 500000000);
	/* negative times are refused */
	check_ts("-1", -EINVAL, SENTINEL);
	check_ts("-1.5", -EINVAL, SENTINEL);
	check_ts("-1700000000", -EINVAL, SENTINEL);
	/* past what nanoseconds in an int64 hold */
	check_ts("9223372036", -ERANGE, SENTINEL);
	check_ts("99999999999999999999", -EINVAL, SENTINEL);
	check_ts(NULL, -EINVAL, SENTINEL);
	check_ts("", -EINVAL, SENTINEL);
	check_ts("abc", -EINVAL, SENTINEL);
	check_ts(".5", -EINVAL, SENTINEL);
	check_ts("17x", -EINVAL, SENTINEL);
	check_ts("1700000000.5x", -EINVAL, SENTINEL);
	check_ts("1700000000.x", -EINVAL, SENTINEL);
	check_ts("1700000000.5.5", -EINVAL, SENTINEL);
	check_ts("1700000000,5", -EINVAL, SENTINEL);
	check_ts("1e9", -EINVAL, SENTINEL);
	check_ts("2023-11-14T22:13:20", -EINVAL, SENTINEL);
	check_ts("2023-11-14", -EINVAL, SENTINEL);
}

static void test_strings(void)
{
	const char *s = "abc";
	CHECK(str_startswith(s, "ab") == s + 2);
	CHECK(str_startswith(s, "abc") == s + 3);
	CHECK(str_startswith(s, "") == s);
	CHECK(str_startswith(s, "abcd") == NULL);
	CHECK(str_startswith(s, "b") == NULL);
	CHECK(str_startswith(s, "ABC") == NULL);
	CHECK(str_startswith(NULL, "a") == NULL);
	CHECK(str_endswith(s, "bc"));
	CHECK(str_endswith(s, "abc"));
	CHECK(str_endswith(s, ""));
	CHECK(!str_endswith(s, "ab"));
	CHECK(!str_endswith(s, "zabc"));
	CHECK(!str_endswith("", "a"));
	CHECK(str_endswith("", ""));
	CHECK(streq("a", "a") && !streq("a", "b") && !streq(NULL, "a") && !streq(NULL, NULL));
	CHECK(str_empty(NULL) && str_empty("") && !str_empty(" "));
	CHECK_STREQ(str_or(NULL, "d"), "d");
	CHECK_STREQ(str_or("", "d"), "");
}

static void test_strv(void)
{
	char **v = NULL;
	CHECK_EQ(strv_length(v), 0);
	CHECK(!strv_contains(v, "a"));
	char item[] = "one";
	v = strv_push(v, item);
	item[0] = 'X'; /* a copy was pushed */
	v = strv_push(v, "two");
	v = strv_push(v, "");
	CHECK_EQ(strv_length(v), 3);
	CHECK_STREQ(v[0], "one");
	CHECK_STREQ(v[1], "two");
	CHECK_STREQ(v[2], "");
	CHECK(v[3] == NULL);
	CHECK(strv_contains(v, "one"));
	CHECK(strv_contains(v, ""));
	CHECK(!strv_contains(v, "Xne"));
	CHECK(!strv_contains(v, "tw"));
	CHECK(!strv_contains(v, NULL));
	strv_free(v);
	strv_free(NULL);
	_cleanup_strv_ char **w = strv_push(NULL, "x");
	CHECK_EQ(strv_length(w), 1);
}

static void test_read_write(void)
{
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_EQ(write_all(p[1], "hello", 5), 0);
	CHECK_EQ(write_all(p[1], "", 0), 0);
	close(p[1]);
	char buf[16] = {0};
	CHECK_EQ(read_full(p[0], buf, sizeof buf), 5); /* short at EOF */
	CHECK_STREQ(buf, "hello");
	CHECK_EQ(read_full(p[0], buf, sizeof buf), 0);
	close(p[0]);
	CHECK_EQ(read_full(-1, buf, sizeof buf), -EBADF);
	CHECK_EQ(write_all(-1, "x", 1), -EBADF);
	CHECK_OK(pipe(p));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_EQ(write_all(p[1], "x", 1), -EPIPE);
	close(p[1]);
}

static void test_parse_signal(void)
{
	CHECK_EQ(parse_signal("SIGTERM"), SIGTERM);
	CHECK_EQ(parse_signal("TERM"), SIGTERM);
	CHECK_EQ(parse_signal("sigusr1"), SIGUSR1);
	CHECK_EQ(parse_signal("hup"), SIGHUP);
	CHECK_EQ(parse_signal("9"), SIGKILL);
	CHECK_EQ(parse_signal("64"), 64);
	static const char *const bad[] = {NULL, "", "0", "-1", "65", "SIG", "SIGNOPE", "9x", " 9"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(parse_signal(bad[i]), -EINVAL);
}

/* A tree 3000 levels deep, as a container makes with mkdir -p: removed in a thread with
 * husk-api's 256 KB of stack, and beyond 1024 open files. */
#define DEEP 3000

static void *rm_deep(void *path)
{
	return (void *)(intptr_t)rm_rf(path);
}

static void test_rm_rf_deep(void)
{
	char *tmp = test_tmpdir();
	_cleanup_free_ char *top = xasprintf("%s/top", tmp);
	CHECK_OK(mkdir(top, 0755));
	int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	for (int i = 0; i < DEEP && fd >= 0; i++) {
		CHECK_OK(mkdirat(fd, "d", 0755));
		if (i % 100 == 0) {
			int f = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			CHECK(f >= 0);
			close(f);
			CHECK_OK(mkdirat(fd, "locked", 0));
		}
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	if (fd >= 0)
		close(fd);
	struct rlimit lim, low = {512, 512};
	getrlimit(RLIMIT_NOFILE, &lim);
	setrlimit(RLIMIT_NOFILE, &low);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_t t;
	void *ret = (void *)-1;
	CHECK_EQ(pthread_create(&t, &attr, rm_deep, top), 0);
	pthread_join(t, &ret);
	pthread_attr_destroy(&attr);
	setrlimit(RLIMIT_NOFILE, &lim);
	CHECK_EQ((int)(intptr_t)ret, 0);
	CHECK(access(top, F_OK) < 0 && errno == ENOENT);
	CHECK_EQ(rm_rf(top), 0); /* gone already */
	test_tmpdir_remove(tmp);
}

int main(void)
{
	RUN(test_parse_int64);
	RUN(test_parse_bool);
	RUN(test_format_time);
	RUN(test_parse_time);
	RUN(test_parse_timestamp_arg);
	RUN(test_strings);
	RUN(test_strv);
	RUN(test_read_write);
	RUN(test_parse_signal);
	RUN(test_rm_rf_deep);
	return test_result();
}
