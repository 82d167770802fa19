/* Restart policies: Docker's validation messages, the restart manager's decisions and
 * back-off, and the start after a reboot. */
#include "test.h"

#include "core/restart_policy.h"

static void check_err(const char *policy_json, const char *message)
{
	struct husk_error err = {0};
	json_t *rp = json_loads(policy_json, 0, NULL);
	CHECK(husk_restart_policy_check(rp, &err) == -EINVAL);
	CHECK_STREQ(err.message, message);
	json_decref(rp);
}

static void check_ok(const char *policy_json)
{
	struct husk_error err = {0};
	json_t *rp = json_loads(policy_json, 0, NULL);
	CHECK(husk_restart_policy_check(rp, &err) == 0);
	json_decref(rp);
}

static void test_validation(void)
{
	check_ok("{}");
	check_ok("{\"Name\":\"\",\"MaximumRetryCount\":-3}"); /* old clients: no policy */
	check_ok("{\"Name\":\"no\"}");
	check_ok("{\"Name\":\"always\",\"MaximumRetryCount\":0}");
	check_ok("{\"Name\":\"unless-stopped\"}");
	check_ok("{\"Name\":\"on-failure\",\"MaximumRetryCount\":5}");
	CHECK(husk_restart_policy_check(NULL, NULL) == 0);
	check_err("{\"Name\":\"sometimes\"}",
		  "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
		  "'on-failure', or 'unless-stopped'");
	check_err("{\"Name\":\"on-failure\",\"MaximumRetryCount\":-1}",
		  "invalid restart policy: maximum retry count cannot be negative");
	check_err("{\"Name\":\"always\",\"MaximumRetryCount\":3}",
		  "invalid restart policy: maximum retry count can only be used with 'on-failure'");
	check_err("{\"Name\":\"no\",\"MaximumRetryCount\":-1}",
		  "invalid restart policy: maximum retry count can only be used with 'on-failure' "
		  "and cannot be negative");

	struct husk_error err = {0};
	json_t *hc =
	    json_loads("{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}", 0, NULL);
	CHECK(husk_restart_policy_check_host_config(hc, &err) == -EINVAL);
	CHECK_STREQ(err.message, "can't create 'AutoRemove' container with restart policy");
	json_decref(hc);
	hc = json_loads("{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"no\"}}", 0, NULL);
	CHECK(husk_restart_policy_check_host_config(hc, &err) == 0);
	json_decref(hc);
}

static struct husk_restart_policy policy(const char *json)
{
	struct husk_restart_policy p;
	json_t *rp = json_loads(json, 0, NULL);
	husk_restart_policy_parse(rp, &p);
	json_decref(rp);
	return p;
}

static void test_decisions(void)
{
	struct husk_restart_policy no = policy("{\"Name\":\"no\"}");
	struct husk_restart_policy always = policy("{\"Name\":\"always\"}");
	struct husk_restart_policy unless = policy("{\"Name\":\"unless-stopped\"}");
	struct husk_restart_policy fail3 =
	    policy("{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}");
	struct husk_restart_policy fail = policy("{\"Name\":\"on-failure\"}");
	int64_t d = 0;
	CHECK(!husk_restart_next(&no, 0, 1, false, 0, &d));
	CHECK(husk_restart_next(&always, 0, 0, false, 0, &d));
	CHECK(husk_restart_next(&always, 0, 0, true, 0, &d)); /* Docker: always is always */
	CHECK(husk_restart_next(&unless, 0, 0, false, 0, &d));
	CHECK(!husk_restart_next(&unless, 0, 0, true, 0, &d));
	CHECK(!husk_restart_next(&fail3, 0, 0, false, 0, &d));
	CHECK(husk_restart_next(&fail3, 2, 1, false, 0, &d));
	CHECK(!husk_restart_next(&fail3, 3, 1, false, 0, &d));
	CHECK(husk_restart_next(&fail, 1000, 137, false, 0, &d));
	/* Anything unknown reads as no policy. */
	struct husk_restart_policy bad = policy("{\"Name\":\"sometimes\"}");
	CHECK(husk_restart_policy_is_none(&bad));
}

static void test_backoff(void)
{
	struct husk_restart_policy always = policy("{\"Name\":\"always\"}");
	int64_t d = 0;
	int64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		CHECK(husk_restart_next(&always, (int)i, 1, false, 50, &d));
		CHECK(d == want[i]);
	}
	/* A run of 10 s starts it over. */
	CHECK(husk_restart_next(&always, 12, 1, false, 10000, &d));
	CHECK(d == 100);
	CHECK(husk_restart_next(&always, 13, 1, false, 9999, &d));
	CHECK(d == 200);
}

static void test_boot(void)
{
	struct husk_restart_policy always = policy("{\"Name\":\"always\"}");
	struct husk_restart_policy unless = policy("{\"Name\":\"unless-stopped\"}");
	struct husk_restart_policy fail = policy("{\"Name\":\"on-failure\"}");
	struct husk_state st;
	husk_state_init(&st);
	strcpy(st.boot_id, "old");
	st.started_ns = 1;
	CHECK(husk_restart_at_boot(&always, &st, "new"));
	CHECK(husk_restart_at_boot(&unless, &st, "new"));
	CHECK(!husk_restart_at_boot(&fail, &st, "new"));
	CHECK(!husk_restart_at_boot(&always, &st, "old")); /* this boot: not ours to start */
	st.manually_stopped = true;
	CHECK(husk_restart_at_boot(&always, &st, "new"));
	CHECK(!husk_restart_at_boot(&unless, &st, "new"));
	st.started_ns = 0; /* never started */
	CHECK(!husk_restart_at_boot(&always, &st, "new"));
}

int main(void)
{
	RUN(test_validation);
	RUN(test_decisions);
	RUN(test_backoff);
	RUN(test_boot);
	return TEST_EXIT();
}
