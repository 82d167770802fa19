/* Healthchecks: validation, the merge with the image's, probe commands and timing, the
 * bookkeeping of results, and Go's duration format. */
#include "test.h"

#include "core/health.h"
#include "core/json.h"

#define MS 1000000LL
#define S 1000000000LL

static void check_err(const char *hc_json, const char *message)
{
	struct husk_error err = {0};
	json_t *hc = json_loads(hc_json, 0, NULL);
	CHECK(husk_health_check(hc, &err) == -EINVAL);
	CHECK_STREQ(err.message, message);
	json_decref(hc);
}

static void test_validation(void)
{
	json_t *ok = json_loads("{\"Interval\":1000000,\"Timeout\":0,\"Retries\":0}", 0, NULL);
	CHECK(husk_health_check(ok, NULL) == 0);
	CHECK(husk_health_check(NULL, NULL) == 0);
	json_decref(ok);
	check_err("{\"Interval\":999999}", "Interval in Healthcheck cannot be less than 1ms");
	check_err("{\"Interval\":-10000000}", "Interval in Healthcheck cannot be less than 1ms");
	check_err("{\"Timeout\":5}", "Timeout in Healthcheck cannot be less than 1ms");
	check_err("{\"StartPeriod\":5}", "StartPeriod in Healthcheck cannot be less than 1ms");
	check_err("{\"StartInterval\":5}", "StartInterval in Healthcheck cannot be less than 1ms");
	check_err("{\"Retries\":-1}", "Retries in Healthcheck cannot be negative");
}

static char *merged(const char *config, const char *image)
{
	json_t *c = json_loads(config, 0, NULL), *i = json_loads(image, 0, NULL);
	husk_health_merge(c, i);
	char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	json_decref(i);
	return s;
}

static void test_merge(void)
{
	char *s = merged("{}", "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Retries\":2}}");
	CHECK_STREQ(s, "{\"Healthcheck\":{\"Retries\":2,\"Test\":[\"CMD\",\"true\"]}}");
	free(s);
	s = merged("{\"Healthcheck\":{\"Interval\":200000000}}",
		   "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":5,\"Retries\":2}}");
	CHECK_STREQ(s, "{\"Healthcheck\":{\"Interval\":200000000,\"Retries\":2,"
		       "\"Test\":[\"CMD\",\"true\"]}}");
	free(s);
	s = merged("{\"Healthcheck\":{\"Test\":[\"NONE\"]}}",
		   "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"]}}");
	CHECK_STREQ(s, "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}");
	free(s);
	s = merged("{}", "{}");
	CHECK_STREQ(s, "{}");
	free(s);
	/* docker-py sends every field; Docker's are omitempty: inspect shows what was set. */
	static const char py[] = "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],"
				 "\"Interval\":null,\"Timeout\":0,\"Retries\":null,"
				 "\"StartPeriod\":300000000,\"StartInterval\":null}}";
	s = merged(py, "{}");
	CHECK_STREQ(s, "{\"Healthcheck\":{\"StartPeriod\":300000000,\"Test\":[\"CMD\",\"true\"]}}");
	free(s);
	s = merged(py, "null");
	CHECK_STREQ(s, "{\"Healthcheck\":{\"StartPeriod\":300000000,\"Test\":[\"CMD\",\"true\"]}}");
	free(s);
	s = merged("{\"Healthcheck\":{\"Test\":[],\"Retries\":0}}", "{}");
	CHECK_STREQ(s, "{\"Healthcheck\":{}}");
	free(s);
}

static int config_get(const char *config, struct husk_health_config *hc)
{
	json_t *c = json_loads(config, 0, NULL);
	int r = husk_health_config_get(c, hc);
	json_decref(c);
	return r;
}

static void test_config(void)
{
	struct husk_health_config hc;
	CHECK(config_get("{}", &hc) == 0);
	CHECK(config_get("{\"Healthcheck\":{\"Test\":[]}}", &hc) == 0);
	CHECK(config_get("{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", &hc) == 0);
	CHECK(config_get("{\"Healthcheck\":{\"Test\":[\"WHAT\",\"x\"]}}", &hc) == 0);
	CHECK(config_get("{\"Healthcheck\":{\"Test\":[\"CMD\"]}}", &hc) == 0);

	CHECK(config_get("{\"Healthcheck\":{\"Test\":[\"CMD\",\"curl\",\"-f\"]}}", &hc) == 1);
	CHECK(strv_length(hc.argv) == 2);
	CHECK_STREQ(hc.argv[0], "curl");
	CHECK(hc.interval_ns == 30 * S && hc.timeout_ns == 30 * S && hc.retries == 3);
	CHECK(hc.start_period_ns == 0 && hc.start_interval_ns == 5 * S);
	husk_health_config_clear(&hc);

	CHECK(config_get("{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"exit 1\"],"
			 "\"Interval\":200000000,\"Retries\":1}}",
			 &hc) == 1);
	CHECK(strv_length(hc.argv) == 3);
	CHECK_STREQ(hc.argv[0], "/bin/sh");
	CHECK_STREQ(hc.argv[1], "-c");
	CHECK_STREQ(hc.argv[2], "exit 1");
	CHECK(hc.interval_ns == 200 * MS && hc.retries == 1);
	husk_health_config_clear(&hc);

	/* SHELL of the image (or config) is the shell of CMD-SHELL. */
	CHECK(config_get("{\"Shell\":[\"/bin/ash\",\"-ec\"],"
			 "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"]}}",
			 &hc) == 1);
	CHECK_STREQ(hc.argv[0], "/bin/ash");
	CHECK_STREQ(hc.argv[1], "-ec");
	husk_health_config_clear(&hc);
}

static void test_intervals(void)
{
	struct husk_health_config hc = {
	    .interval_ns = 10 * S, .start_period_ns = 30 * S, .start_interval_ns = 1 * S};
	json_t *h = husk_health_starting(NULL);
	CHECK(husk_health_next_ns(&hc, 0, h) == 1 * S);
	CHECK(husk_health_next_ns(&hc, 25 * S, h) == 5 * S); /* the period's end comes first */
	CHECK(husk_health_next_ns(&hc, 30 * S, h) == 10 * S);
	json_object_set_new(h, "Status", json_string("healthy"));
	CHECK(husk_health_next_ns(&hc, 0, h) == 10 * S);
	json_decref(h);
	hc.start_period_ns = 0;
	CHECK(husk_health_next_ns(&hc, 0, NULL) == 10 * S);
}

static void test_record(void)
{
	struct husk_health_config hc = {.retries = 2, .start_period_ns = 10 * S};
	json_t *h = husk_health_starting(NULL);
	CHECK_STREQ(husk_health_status(h), "starting");
	/* Failures in the start period do not count while starting. */
	CHECK(husk_health_record(h, &hc, 0, 1 * S, 2 * S, 1, "no") == NULL);
	CHECK(jint(h, "FailingStreak", -1) == 0);
	CHECK_STREQ(husk_health_record(h, &hc, 0, 2 * S, 3 * S, 0, "ok"), "healthy");
	CHECK(husk_health_record(h, &hc, 0, 3 * S, 4 * S, 1, "no") == NULL);
	CHECK(jint(h, "FailingStreak", -1) == 1);
	CHECK_STREQ(husk_health_record(h, &hc, 0, 4 * S, 5 * S, -1, "timeout"), "unhealthy");
	CHECK(jint(h, "FailingStreak", -1) == 2);
	CHECK(husk_health_record(h, &hc, 0, 5 * S, 6 * S, 1, "no") == NULL);
	/* Five results are kept, oldest first. */
	CHECK(json_array_size(jarr(h, "Log")) == 5);
	CHECK_STREQ(jstr(json_array_get(jarr(h, "Log"), 0), "Output"), "no");
	CHECK_STREQ(jstr(json_array_get(jarr(h, "Log"), 4), "Output"), "no");
	CHECK(jint(json_array_get(jarr(h, "Log"), 3), "ExitCode", 0) == -1);
	CHECK_STREQ(jstr(json_array_get(jarr(h, "Log"), 4), "Start"), "1970-01-01T00:00:05Z");
	/* A restart starts over, with the log kept; a stop is unhealthy. */
	h = husk_health_starting(h);
	CHECK_STREQ(husk_health_status(h), "starting");
	CHECK(jint(h, "FailingStreak", -1) == 0);
	CHECK(json_array_size(jarr(h, "Log")) == 5);
	husk_health_stopped(h);
	CHECK_STREQ(husk_health_status(h), "unhealthy");
	json_decref(h);
}

static void test_go_duration(void)
{
	char b[40];
	CHECK_STREQ(husk_go_duration(0, b), "0s");
	CHECK_STREQ(husk_go_duration(999, b), "999ns");
	CHECK_STREQ(husk_go_duration(1500, b), "1.5\xc2\xb5s");
	CHECK_STREQ(husk_go_duration(200 * MS, b), "200ms");
	CHECK_STREQ(husk_go_duration(1 * MS, b), "1ms");
	CHECK_STREQ(husk_go_duration(1500 * MS, b), "1.5s");
	CHECK_STREQ(husk_go_duration(30 * S, b), "30s");
	CHECK_STREQ(husk_go_duration(90 * S, b), "1m30s");
	CHECK_STREQ(husk_go_duration(3600 * S, b), "1h0m0s");
	CHECK_STREQ(husk_go_duration(-2 * S, b), "-2s");
}

int main(void)
{
	RUN(test_validation);
	RUN(test_merge);
	RUN(test_config);
	RUN(test_intervals);
	RUN(test_record);
	RUN(test_go_duration);
	return TEST_EXIT();
}
