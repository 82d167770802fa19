/* Reference parsing against the cases distribution/reference's own tests pin down. */
#include "test.h"

#include "core/reference.h"

static const char *const HEX = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Parses s and checks its familiar and full forms. */
static void check_ok(const char *s, const char *familiar, const char *full)
{
	struct husk_ref ref;
	struct husk_error err = {0};
	int r = husk_ref_parse(s, &ref, &err);
	if (r < 0) {
		fprintf(stderr, "  parse(\"%s\") failed: %s\n", s, err.message);
		CHECK(r == 0);
		return;
	}
	char *f = husk_ref_familiar(&ref), *u = husk_ref_full(&ref);
	CHECK_STREQ(f, familiar);
	CHECK_STREQ(u, full);
	free(f);
	free(u);
	husk_ref_clear(&ref);
}

static void check_err(const char *s, const char *message)
{
	struct husk_ref ref;
	struct husk_error err = {0};
	int r = husk_ref_parse(s, &ref, &err);
	CHECK(r == -EINVAL);
	if (r == 0) {
		fprintf(stderr, "  parse(\"%s\") unexpectedly succeeded\n", s);
		husk_ref_clear(&ref);
		return;
	}
	CHECK_STREQ(err.message, message);
}

static void test_normalise(void)
{
	check_ok("busybox", "busybox:latest", "docker.io/library/busybox:latest");
	check_ok("busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36");
	check_ok("library/busybox", "busybox:latest", "docker.io/library/busybox:latest");
	check_ok("docker.io/busybox", "busybox:latest", "docker.io/library/busybox:latest");
	check_ok("docker.io/library/busybox:x", "busybox:x", "docker.io/library/busybox:x");
	check_ok("index.docker.io/foo/bar", "foo/bar:latest", "docker.io/foo/bar:latest");
	check_ok("husk-test/busybox", "husk-test/busybox:latest",
		 "docker.io/husk-test/busybox:latest");
	check_ok("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest");
	check_ok("localhost/x:1", "localhost/x:1", "localhost/x:1");
	check_ok("localhost:5000", "localhost:5000", "docker.io/library/localhost:5000");
	check_ok("quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1");
	check_ok("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest");
	check_ok("Foo/bar", "Foo/bar:latest", "Foo/bar:latest");
	check_ok("a__b/c-----d/e.f_g", "a__b/c-----d/e.f_g:latest",
		 "docker.io/a__b/c-----d/e.f_g:latest");
}

static void test_digests(void)
{
	char in[256], fam[256], full[256];
	snprintf(in, sizeof in, "busybox@sha256:%s", HEX);
	snprintf(fam, sizeof fam, "busybox@sha256:%s", HEX);
	snprintf(full, sizeof full, "docker.io/library/busybox@sha256:%s", HEX);
	check_ok(in, fam, full);

	snprintf(in, sizeof in, "x/y:1@sha256:%s", HEX);
	snprintf(fam, sizeof fam, "x/y:1@sha256:%s", HEX);
	snprintf(full, sizeof full, "docker.io/x/y:1@sha256:%s", HEX);
	check_ok(in, fam, full);

	struct husk_ref ref;
	snprintf(in, sizeof in, "busybox@sha256:%s", HEX);
	CHECK(husk_ref_parse(in, &ref, NULL) == 0);
	CHECK(ref.tag == NULL);
	CHECK(ref.digest && strncmp(ref.digest, "sha256:", 7) == 0);
	husk_ref_clear(&ref);

	snprintf(in, sizeof in, "busybox@sha256:%s0", HEX);
	check_err(in, "invalid checksum digest length");
	snprintf(in, sizeof in, "busybox@sha256:%.63sA", HEX);
	check_err(in, "invalid checksum digest format");
	snprintf(in, sizeof in, "busybox@md5:%.32s", HEX);
	check_err(in, "unsupported digest algorithm");
	check_err("busybox@sha256:abc", "invalid reference format");
}

static void test_errors(void)
{
	check_err("", "repository name must have at least one component");
	check_err("Busybox", "invalid reference format: repository name (library/Busybox) must "
			     "be lowercase");
	check_err("localhost:5000/Foo",
		  "invalid reference format: repository name (Foo) must be lowercase");
	check_err("busybox:", "invalid reference format");
	check_err(":latest", "invalid reference format");
	check_err("a b", "invalid reference format");
	check_err("a___b", "invalid reference format");
	check_err("-a", "invalid reference format");
	check_err("a.", "invalid reference format");
	check_err("a..b", "invalid reference format");
	check_err("a//b", "invalid reference format");
	check_err("busybox:-x", "invalid reference format");
	check_err("busybox:a:b", "invalid reference format");
	check_err("host:port/x", "invalid reference format");
	check_err("-host.com/x", "invalid reference format");
	char in[300];
	snprintf(in, sizeof in, "%s", HEX);
	check_err(in, "invalid repository name (0123456789abcdef0123456789abcdef0123456789abcdef"
		      "0123456789abcdef), cannot specify 64-byte hexadecimal strings");
	memset(in, 'a', 260);
	in[260] = 0;
	check_err(in, "repository name must not be more than 255 characters");
}

static void test_familiar_name(void)
{
	struct husk_ref ref;
	CHECK(husk_ref_parse("busybox:1", &ref, NULL) == 0);
	char *n = husk_ref_familiar_name(&ref);
	CHECK_STREQ(n, "busybox");
	free(n);
	husk_ref_clear(&ref);
	CHECK(husk_ref_parse("localhost:5000/a/b:2", &ref, NULL) == 0);
	n = husk_ref_familiar_name(&ref);
	CHECK_STREQ(n, "localhost:5000/a/b");
	CHECK_STREQ(ref.path, "a/b");
	CHECK_STREQ(ref.tag, "2");
	free(n);
	husk_ref_clear(&ref);
	CHECK(husk_ref_parse("docker.io/library/x/y", &ref, NULL) == 0);
	n = husk_ref_familiar_name(&ref);
	CHECK_STREQ(n, "library/x/y");
	free(n);
	husk_ref_clear(&ref);
}

static void test_tags(void)
{
	char t[200];
	CHECK(husk_tag_valid("latest"));
	CHECK(husk_tag_valid("_x"));
	CHECK(husk_tag_valid("V1.0-RC_2"));
	CHECK(!husk_tag_valid(""));
	CHECK(!husk_tag_valid(NULL));
	CHECK(!husk_tag_valid(".x"));
	CHECK(!husk_tag_valid("-x"));
	CHECK(!husk_tag_valid("a/b"));
	CHECK(!husk_tag_valid("a:b"));
	memset(t, 'a', 128);
	t[128] = 0;
	CHECK(husk_tag_valid(t));
	t[128] = 'a';
	t[129] = 0;
	CHECK(!husk_tag_valid(t));
}

int main(void)
{
	RUN(test_normalise);
	RUN(test_digests);
	RUN(test_errors);
	RUN(test_familiar_name);
	RUN(test_tags);
	return TEST_EXIT();
}
