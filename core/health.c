#include "health.h"
#include "json.h"

#define DEFAULT_INTERVAL_NS (30 * 1000000000LL)
#define DEFAULT_TIMEOUT_NS (30 * 1000000000LL)
#define DEFAULT_START_INTERVAL_NS (5 * 1000000000LL)
#define DEFAULT_RETRIES 3

static const char *const durations[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};

int husk_health_check(const json_t *hc, struct husk_error *err)
{
	if (!hc)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
		int64_t v = jint(hc, durations[i], 0);
		if (v != 0 && v < HUSK_HEALTH_MIN_NS)
			return husk_error_set(err, -EINVAL,
					      "%s in Healthcheck cannot be less than 1ms",
					      durations[i]);
	}
	if (jint(hc, "Retries", 0) < 0)
		return husk_error_set(err, -EINVAL, "Retries in Healthcheck cannot be negative");
	return 0;
}

/* HealthConfig's fields are omitempty in Docker: what a client sent as null or 0 (docker-py
 * sends every one) is not there in inspect. */
static void omit_empty(json_t *hc)
{
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(hc, tmp, key, v)
	{
		if (json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
		    (json_is_array(v) && json_array_size(v) == 0))
			json_object_del(hc, key);
	}
}

void husk_health_merge(json_t *config, const json_t *image_config)
{
	json_t *img = jobj(image_config, "Healthcheck");
	json_t *own = jobj(config, "Healthcheck");
	if (img && !own) {
		json_object_set_new(config, "Healthcheck", json_deep_copy(img));
	} else if (img) {
		if (json_array_size(jarr(own, "Test")) == 0 && jarr(img, "Test"))
			json_object_set(own, "Test", jarr(img, "Test"));
		static const char *const numbers[] = {"Interval", "Timeout", "StartPeriod",
						      "StartInterval", "Retries"};
		for (size_t i = 0; i < ARRAY_SIZE(numbers); i++)
			if (jint(own, numbers[i], 0) == 0 && jint(img, numbers[i], 0) != 0)
				json_object_set_new(own, numbers[i],
						    json_integer(jint(img, numbers[i], 0)));
	}
	if ((own = jobj(config, "Healthcheck")))
		omit_empty(own);
}

static int64_t or_default(const json_t *hc, const char *key, int64_t dflt)
{
	int64_t v = jint(hc, key, 0);
	return v > 0 ? v : dflt;
}

int husk_health_config_get(const json_t *config, struct husk_health_config *hc)
{
	memset(hc, 0, sizeof *hc);
	const json_t *h = jobj(config, "Healthcheck");
	const json_t *test = jarr(h, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	char **argv = NULL;
	if (streq(kind, "CMD-SHELL")) {
		const json_t *shell = jarr(config, "Shell");
		if (json_array_size(shell) == 0 || json_to_strv(shell, &argv) < 0) {
			strv_free(argv);
			argv = strv_push(strv_push(NULL, "/bin/sh"), "-c");
		}
	} else if (!streq(kind, "CMD")) {
		return 0; /* none, NONE, or a type Docker ignores with a warning */
	}
	for (size_t i = 1; i < json_array_size(test); i++) {
		const char *a = json_string_value(json_array_get(test, i));
		if (a)
			argv = strv_push(argv, a);
	}
	if (!argv || !argv[0]) {
		strv_free(argv);
		return 0;
	}
	hc->argv = argv;
	hc->interval_ns = or_default(h, "Interval", DEFAULT_INTERVAL_NS);
	hc->timeout_ns = or_default(h, "Timeout", DEFAULT_TIMEOUT_NS);
	hc->start_period_ns = or_default(h, "StartPeriod", 0);
	hc->start_interval_ns = or_default(h, "StartInterval", DEFAULT_START_INTERVAL_NS);
	hc->retries = (int)or_default(h, "Retries", DEFAULT_RETRIES);
	return 1;
}

void husk_health_config_clear(struct husk_health_config *hc)
{
	strv_free(hc->argv);
	memset(hc, 0, sizeof *hc);
}

const char *husk_health_status(const json_t *health)
{
	return health ? str_or(jstr(health, "Status"), "unhealthy") : NULL;
}

int64_t husk_health_next_ns(const struct husk_health_config *hc, int64_t since_start_ns,
			    const json_t *health)
{
	/* moby: the first probe after the start period runs as soon as the period ends, and
	 * while "starting" within it the start interval applies. */
	if (since_start_ns >= hc->start_period_ns)
		return hc->interval_ns;
	int64_t left = hc->start_period_ns - since_start_ns;
	if (left < hc->interval_ns)
		return left;
	return streq(husk_health_status(health), "starting") ? hc->start_interval_ns
							     : hc->interval_ns;
}

json_t *husk_health_starting(json_t *health)
{
	if (!health)
		health = json_object();
	json_object_set_new(health, "Status", json_string("starting"));
	json_object_set_new(health, "FailingStreak", json_integer(0));
	if (!jarr(health, "Log"))
		json_object_set_new(health, "Log", json_array());
	return health;
}

void husk_health_stopped(json_t *health)
{
	if (health)
		json_object_set_new(health, "Status", json_string("unhealthy"));
}

const char *husk_health_record(json_t *health, const struct husk_health_config *hc,
			       int64_t started_ns, int64_t start_ns, int64_t end_ns, int exit_code,
			       const char *output)
{
	static const char *const names[] = {"starting", "healthy", "unhealthy"};
	char old[16], s[40], e[40];
	/* A copy: setting Status frees the string it points to. */
	snprintf(old, sizeof old, "%s", husk_health_status(health));
	json_t *log = jarr(health, "Log");
	if (!log) {
		log = json_array();
		json_object_set_new(health, "Log", log);
	}
	while (json_array_size(log) >= HUSK_HEALTH_MAX_LOG)
		json_array_remove(log, 0);
	json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:s}", "Start",
					     format_time_ns(start_ns, s), "End",
					     format_time_ns(end_ns, e), "ExitCode", exit_code,
					     "Output", output ? output : ""));

	const char *now = old;
	int64_t streak = jint(health, "FailingStreak", 0);
	if (exit_code == 0) {
		streak = 0;
		now = "healthy";
	} else if (!streq(old, "starting") || start_ns - started_ns >= hc->start_period_ns) {
		/* Failures within the start period do not count until a probe has passed. */
		if (++streak >= hc->retries)
			now = "unhealthy";
	}
	json_object_set_new(health, "FailingStreak", json_integer(streak));
	json_object_set_new(health, "Status", json_string(now));
	if (streq(now, old))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(names[i], now))
			return names[i];
	return NULL;
}

/* digits of frac (width places), trailing zeros dropped, after a '.'; "" when zero. */
static void fraction(uint64_t frac, int width, char *out, size_t n)
{
	char d[16];
	snprintf(d, sizeof d, "%0*llu", width, (unsigned long long)frac);
	size_t len = strlen(d);
	while (len && d[len - 1] == '0')
		d[--len] = 0;
	snprintf(out, n, "%s%s", len ? "." : "", d);
}

char *husk_go_duration(int64_t ns, char buf[static 40])
{
	uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	char frac[16];
	if (u == 0) {
		snprintf(buf, 40, "0s");
	} else if (u < 1000) {
		snprintf(buf, 40, "%s%lluns", sign, (unsigned long long)u);
	} else if (u < 1000000) {
		fraction(u % 1000, 3, frac, sizeof frac);
		snprintf(buf, 40, "%s%llu%s\xc2\xb5s", sign, (unsigned long long)(u / 1000), frac);
	} else if (u < 1000000000) {
		fraction(u % 1000000, 6, frac, sizeof frac);
		snprintf(buf, 40, "%s%llu%sms", sign, (unsigned long long)(u / 1000000), frac);
	} else {
		uint64_t h = u / 3600000000000ULL, m = u / 60000000000ULL % 60;
		uint64_t s = u / 1000000000ULL % 60;
		fraction(u % 1000000000ULL, 9, frac, sizeof frac);
		char hm[48] = "";
		if (h)
			snprintf(hm, sizeof hm, "%lluh%llum", (unsigned long long)h,
				 (unsigned long long)m);
		else if (m)
			snprintf(hm, sizeof hm, "%llum", (unsigned long long)m);
		snprintf(buf, 40, "%s%s%llu%ss", sign, hm, (unsigned long long)s, frac);
	}
	return buf;
}
