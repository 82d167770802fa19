/* core/ids.c: random ids, hex checks, Docker's container-name rule, generated names. */
#include "test.h"
#include "testutil.h"

#include "core/ids.h"

#include <ctype.h>

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void test_id_new(void)
{
	/* (10/16)^12: about one draw in 280 starts with 12 digits and must be redrawn */
	enum { N = 3000 };
	static char ids[N][HUSK_ID_LEN + 1];
	for (int i = 0; i < N; i++) {
		memset(ids[i], 'x', sizeof ids[i]);
		husk_id_new(ids[i]);
		CHECK_EQ(strlen(ids[i]), HUSK_ID_LEN);
		CHECK(husk_is_full_id(ids[i]));
		CHECK(!all_digits(ids[i], 12));
		for (int k = 0; k < HUSK_ID_LEN; k++)
			CHECK(strchr("0123456789abcdef", ids[i][k]) && ids[i][k]);
	}
	for (int i = 1; i < N; i++)
		CHECK(strcmp(ids[i], ids[0]) != 0);
}

static void test_hex(void)
{
	const unsigned char b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof b + 1];
	memset(out, 'x', sizeof out);
	husk_hex(b, sizeof b, out);
	CHECK_STREQ(out, "00017f80abff");
	husk_hex(b, 0, out);
	CHECK_STREQ(out, "");

	CHECK(husk_is_hex("0123456789abcdef", 16, 16));
	CHECK(husk_is_hex("abc", 1, 3));
	CHECK(husk_is_hex("abc", 3, 64));
	CHECK(!husk_is_hex("abc", 4, 64)); /* too short */
	CHECK(!husk_is_hex("abcd", 1, 3)); /* too long */
	CHECK(husk_is_hex("", 0, 0));
	CHECK(!husk_is_hex("", 1, 64));
	CHECK(!husk_is_hex("ABC", 1, 3)); /* lower case only */
	CHECK(!husk_is_hex("aBc", 1, 3));
	CHECK(!husk_is_hex("abg", 1, 3));
	CHECK(!husk_is_hex("ab ", 1, 3));
	CHECK(!husk_is_hex("sha256:ab", 1, 64));
	const char *full = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	CHECK(husk_is_full_id(full));
	CHECK(!husk_is_full_id(full + 1));
	CHECK(
	    !husk_is_full_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
	CHECK(!husk_is_full_id("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
}

static void test_name_valid(void)
{
	static const char *const good[] = {
	    "ab",  "/ab", "a1",	 "1a",	"00",		"A_b",	"a.b",
	    "a-b", "a__", "a..", "a--", "web_1.prod-2", "/x.y",
	};
	static const char *const bad[] = {
	    "",		  "/",		 "a",	 "/a",	 "//ab",  "_ab",
	    ".ab",	  "-ab",	 "a b",	 "a/b",	 "ab/",	  "a:b",
	    "a@b",	  "a+b",	 "ab\n", "\tab", "a\x7f", "\xc3\xa9t\xc3\xa9",
	    "ab\xc3\xa9", "caf\xc3\xa9",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!husk_name_valid(good[i])) {
			fprintf(stderr, "  \"%s\" refused\n", good[i]);
			test_failures++;
		}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (husk_name_valid(bad[i])) {
			fprintf(stderr, "  \"%s\" accepted\n", bad[i]);
			test_failures++;
		}
	/* 255 characters at most, not counting the leading "/" */
	char name[300];
	memset(name, 'a', sizeof name);
	name[255] = 0;
	CHECK(husk_name_valid(name));
	name[255] = 'a';
	name[256] = 0;
	CHECK(!husk_name_valid(name));
	name[0] = '/';
	CHECK(husk_name_valid(name));
	name[256] = 'a';
	name[257] = 0;
	CHECK(!husk_name_valid(name));
}

/* "adjective_surname" then, when digit, one decimal digit. */
static bool generated_shape(const char *n, bool digit)
{
	size_t a = strspn(n, "abcdefghijklmnopqrstuvwxyz");
	if (a == 0 || n[a] != '_')
		return false;
	const char *s = n + a + 1;
	size_t b = strspn(s, "abcdefghijklmnopqrstuvwxyz");
	if (b == 0)
		return false;
	if (!digit)
		return s[b] == 0;
	return isdigit((unsigned char)s[b]) && s[b + 1] == 0;
}

static void test_name_generate(void)
{
	for (unsigned i = 0; i < 500; i++) {
		unsigned attempt = i % 3;
		char *n = husk_name_generate(attempt);
		if (!generated_shape(n, attempt > 0) || !husk_name_valid(n)) {
			fprintf(stderr, "  attempt %u: \"%s\"\n", attempt, n);
			test_failures++;
		}
		free(n);
	}
}

int main(void)
{
	RUN(test_id_new);
	RUN(test_hex);
	RUN(test_name_valid);
	RUN(test_name_generate);
	return test_result();
}
