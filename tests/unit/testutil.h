/* Helpers the unit tests share: exact-value checks, temporary directories and stores, small
 * files, JSON written with ' for " to stay readable. Include test.h before it. */
#pragma once

#include "core/store.h"

#include <jansson.h>
#include <stdint.h>

/* a and b (integers) must be equal; both are printed when they are not. */
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long _x = (long long)(a), _y = (long long)(b);                                \
		if (_x != _y) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,      \
				__LINE__, #a, _x, #b, _y);                                         \
			test_failures++;                                                           \
		}                                                                                  \
	} while (0)

/* A fresh private directory under $TMPDIR (or /tmp); test_tmpdir_remove deletes and frees. */
char *test_tmpdir(void);
void test_tmpdir_remove(char *dir);

/* dir/name with content (created or truncated); returns the path (caller frees). */
char *test_write_file(const char *dir, const char *name, const char *content);
/* The whole file as a string ("" when missing; caller frees). */
char *test_read_file(const char *path);

/* A store whose data and run directories are dir/data and dir/run (created, with
 * data/containers and run/containers). husk_store_close frees it. */
void test_store(struct husk_store *s, const char *dir);

/* A copy of s with every ' turned into " (caller frees). */
char *test_quotes(const char *s);
/* The JSON document s with every ' turned into "; aborts on invalid JSON. */
json_t *test_json(const char *s);
/* The compact form of j, keys sorted (caller frees). */
char *test_dump(const json_t *j);
/* j (compact, keys sorted) must equal the document s (written with '). */
#define CHECK_JSON(j, s)                                                                           \
	do {                                                                                       \
		char *_got = test_dump(j);                                                         \
		json_t *_w = test_json(s);                                                         \
		char *_want = test_dump(_w);                                                       \
		CHECK_STREQ(_got, _want);                                                          \
		free(_got);                                                                        \
		free(_want);                                                                       \
		json_decref(_w);                                                                   \
	} while (0)

/* A NULL-terminated vector joined by "|" for one-line comparisons (caller frees). */
char *test_join(char *const *v);
