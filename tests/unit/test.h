/* A tiny assert header for unit tests: one executable per test file, registered with meson's
 * test(). A failed check prints where and why and is counted; main returns test_result(). */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

/* expr must fail with -1 and errno e. */
#define CHECK_ERRNO(expr, e)                                                                       \
	do {                                                                                       \
		errno = 0;                                                                         \
		long _r = (long)(expr);                                                            \
		int _e = errno;                                                                    \
		if (_r != -1 || _e != (e)) {                                                       \
			fprintf(                                                                   \
			    stderr, "%s:%d: %s = %ld, errno %d (%s); expected errno %d (%s)\n",    \
			    __FILE__, __LINE__, #expr, _r, _e, strerror(_e), (e), strerror(e));    \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

/* expr must not fail (return >= 0). */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		errno = 0;                                                                         \
		long _r = (long)(expr);                                                            \
		if (_r < 0) {                                                                      \
			fprintf(stderr, "%s:%d: %s = %ld, errno %d (%s)\n", __FILE__, __LINE__,    \
				#expr, _r, errno, strerror(errno));                                \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,           \
				_a ? _a : "(null)", _b ? _b : "(null)");                           \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

#define RUN(test)                                                                                  \
	do {                                                                                       \
		int _before = test_failures;                                                       \
		test();                                                                            \
		fprintf(stderr, "%s %s\n", test_failures == _before ? "ok" : "FAIL", #test);       \
	} while (0)

static inline int test_result(void)
{
	return test_failures ? 1 : 0;
}

#define TEST_EXIT() test_result()
