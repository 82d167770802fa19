/* api/router.c: the /v1.NN prefix and the route table's patterns, {} and greedy {*}. The file
 * is compiled in here so that its static matcher is reachable too; the handlers come from the
 * api library and are never called. */
#include "test.h"
#include "testutil.h"

#include "api/router.c"

static void check_strip(const char *url, const char *rest, const char *version)
{
	char v[16];
	memset(v, 'x', sizeof v);
	const char *r = route_strip_version(url, v, sizeof v);
	CHECK_STREQ(r, rest);
	CHECK_STREQ(v, version);
	if (streq(rest, url))
		CHECK(r == url);
}

static void test_strip_version(void)
{
	check_strip("/v1.44/containers/json", "/containers/json", "1.44");
	check_strip("/v1.44/x", "/x", "1.44");
	check_strip("/v1.44", "/", "1.44");
	check_strip("/v1.44/", "/", "1.44");
	check_strip("/v1.4/x", "/x", "1.4");
	check_strip("/v10.123/x?y", "/x?y", "10.123");
	check_strip("/v1.44//x", "//x", "1.44");
	/* not a version prefix: the path as it is */
	check_strip("/v1/x", "/v1/x", "");
	check_strip("/vx/..", "/vx/..", "");
	check_strip("/v/x", "/v/x", "");
	check_strip("/v1./x", "/v1./x", "");
	check_strip("/v.44/x", "/v.44/x", "");
	check_strip("/v1.44x/y", "/v1.44x/y", "");
	check_strip("/v1.44.1/x", "/v1.44.1/x", "");
	check_strip("/V1.44/x", "/V1.44/x", "");
	check_strip("/version", "/version", "");
	check_strip("/_ping", "/_ping", "");
	check_strip("v1.44/x", "v1.44/x", "");
	check_strip("/", "/", "");
	check_strip("", "", "");
	/* a version longer than the buffer is no version */
	char v[5];
	const char *url = "/v1.44/x";
	CHECK(route_strip_version(url, v, 4) == url);
	CHECK_STREQ(v, "");
	CHECK_STREQ(route_strip_version(url, v, 5), "/x");
	CHECK_STREQ(v, "1.44");
}

static void clear_params(char **params)
{
	for (int k = 0; k < REQ_MAX_PARAMS; k++) {
		free(params[k]);
		params[k] = NULL;
	}
}

/* route_match must find the route (method, pattern), or none when pattern is NULL, with the
 * captures in params ("|"-separated, "" for none). */
static void check_route(const char *method, const char *path, const char *pattern,
			const char *params)
{
	struct req r = {0};
	r.params[0] = xstrdup("stale");
	const struct route *rt = route_match(&r, method, path);
	if (!pattern) {
		if (rt) {
			fprintf(stderr, "  %s %s matched %s\n", method, path, rt->pattern);
			test_failures++;
		}
		CHECK_STREQ(r.params[0], "stale"); /* left alone */
	} else if (!rt || !streq(rt->method, method) || !streq(rt->pattern, pattern)) {
		fprintf(stderr, "  %s %s: %s, expected %s\n", method, path,
			rt ? rt->pattern : "no route", pattern);
		test_failures++;
	} else {
		char *got = test_join(r.params);
		CHECK_STREQ(got, params);
		free(got);
	}
	clear_params(r.params);
}

static void test_route_match(void)
{
	check_route("GET", "/_ping", "/_ping", "");
	check_route("HEAD", "/_ping", "/_ping", "");
	check_route("POST", "/_ping", NULL, NULL);
	check_route("get", "/_ping", NULL, NULL);
	check_route("GET", "/version", "/version", "");
	check_route("GET", "/events", "/events", "");
	check_route("GET", "/containers/json", "/containers/json", "");
	check_route("GET", "/containers/json/", "/containers/json", ""); /* one trailing slash */
	check_route("GET", "/containers/json//", NULL, NULL);
	check_route("POST", "/containers/create", "/containers/create", "");
	check_route("GET", "/containers/abc/json", "/containers/{}/json", "abc");
	check_route("GET", "/containers/abc/json/", "/containers/{}/json", "abc");
	check_route("GET", "/containers/json/json", "/containers/{}/json", "json");
	check_route("POST", "/containers/a.b_c-d/start", "/containers/{}/start", "a.b_c-d");
	check_route("POST", "/containers/x/stop", "/containers/{}/stop", "x");
	check_route("POST", "/containers/x/attach", "/containers/{}/attach", "x");
	check_route("GET", "/containers/x/logs", "/containers/{}/logs", "x");
	check_route("HEAD", "/containers/x/archive", "/containers/{}/archive", "x");
	check_route("GET", "/containers/x/archive", "/containers/{}/archive", "x");
	check_route("PUT", "/containers/x/archive", "/containers/{}/archive", "x");
	check_route("POST", "/containers/x/archive", NULL, NULL);
	check_route("GET", "/containers/x/export", "/containers/{}/export", "x");
	check_route("GET", "/containers/x/changes", "/containers/{}/changes", "x");
	check_route("DELETE", "/containers/abc", "/containers/{}", "abc");
	check_route("DELETE", "/containers/create", "/containers/{}", "create");
	check_route("GET", "/containers/abc", NULL, NULL);
	check_route("GET", "/containers//json", NULL, NULL);
	check_route("GET", "/containers/a/b/json", NULL, NULL);
	check_route("GET", "/containers/abc/json/extra", NULL, NULL);
	check_route("POST", "/containers/abc/nope", NULL, NULL);
	check_route("GET", "/containers", NULL, NULL);
	check_route("GET", "/volumes", "/volumes", "");
	check_route("POST", "/volumes/create", "/volumes/create", "");
	check_route("POST", "/volumes/prune", "/volumes/prune", "");
	check_route("GET", "/volumes/v1", "/volumes/{}", "v1");
	check_route("DELETE", "/volumes/v1", "/volumes/{}", "v1");
	check_route("GET", "/volumes/prune", "/volumes/{}", "prune");
	check_route("POST", "/volumes/v1", NULL, NULL);
	check_route("GET", "/volumes/a/b", NULL, NULL);
	check_route("GET", "/nope", NULL, NULL);
	check_route("GET", "/", NULL, NULL);
	check_route("GET", "", NULL, NULL);
	check_route("GET", "/_pingx", NULL, NULL);
	check_route("GET", "_ping", NULL, NULL);
}

/* The matcher alone: pattern against path, captures "|"-separated, or NULL for no match. */
static void check_match(const char *pattern, const char *path, const char *want)
{
	char *params[REQ_MAX_PARAMS] = {0};
	bool m = match(pattern, path, params, 0);
	if (!want) {
		if (m) {
			fprintf(stderr, "  %s matched %s\n", pattern, path);
			test_failures++;
		}
		CHECK(params[0] == NULL); /* nothing is captured for a failed match */
	} else if (!m) {
		fprintf(stderr, "  %s did not match %s\n", pattern, path);
		test_failures++;
	} else {
		char *got = test_join(params);
		CHECK_STREQ(got, want);
		free(got);
	}
	clear_params(params);
}

static void test_greedy(void)
{
	check_match("/images/{*}/json", "/images/busybox/json", "busybox");
	check_match("/images/{*}/json", "/images/localhost:5000/a/b:1/json",
		    "localhost:5000/a/b:1");
	check_match("/images/{*}/json", "/images/a/json/json", "a/json"); /* the longest */
	check_match("/images/{*}/json", "/images/sha256:abc/json", "sha256:abc");
	check_match("/images/{*}/tag", "/images/a/b/tag", "a/b");
	check_match("/images/{*}", "/images/a/b:1", "a/b:1");
	check_match("/images/{*}", "/images/a", "a");
	check_match("/images/{*}/json", "/images/json", NULL);
	check_match("/images/{*}/json", "/images//json", NULL);
	check_match("/images/{*}/json", "/images/a/jso", NULL);
	check_match("/images/{*}/tag", "/images/a/b/json", NULL);
	check_match("/images/{*}", "/images/", NULL);
	check_match("/a/{}/b/{*}", "/a/x/b/y/z", "x|y/z");
	check_match("/a/{*}/b/{}", "/a/x/b/y/b/z", "x/b/y|z");
	check_match("/a/{}/{}", "/a/x/y", "x|y");
	check_match("/a/{}/{}", "/a/x/", NULL);
	check_match("/a/{}", "/a/x/y", NULL);
}

int main(void)
{
	RUN(test_strip_version);
	RUN(test_route_match);
	RUN(test_greedy);
	return test_result();
}
