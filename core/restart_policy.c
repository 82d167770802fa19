#include "restart_policy.h"
#include "json.h"

static const struct {
	const char *name;
	enum husk_restart_mode mode;
} modes[] = {
    {"no", HUSK_RESTART_NO},
    {"always", HUSK_RESTART_ALWAYS},
    {"unless-stopped", HUSK_RESTART_UNLESS_STOPPED},
    {"on-failure", HUSK_RESTART_ON_FAILURE},
};

static int mode_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (streq(name, modes[i].name))
			return (int)modes[i].mode;
	return -1;
}

int husk_restart_policy_check(const json_t *rp, struct husk_error *err)
{
	const char *name = str_or(jstr(rp, "Name"), "");
	int64_t count = jint(rp, "MaximumRetryCount", 0);
	if (!*name)
		return 0;
	int mode = mode_of(name);
	if (mode < 0)
		return husk_error_set(
		    err, -EINVAL,
		    "invalid restart policy: unknown policy '%s'; use one of 'no', "
		    "'always', 'on-failure', or 'unless-stopped'",
		    name);
	if (mode == HUSK_RESTART_ON_FAILURE) {
		if (count < 0)
			return husk_error_set(err, -EINVAL,
					      "invalid restart policy: maximum retry "
					      "count cannot be negative");
		if (count > INT32_MAX)
			return husk_error_set(err, -EINVAL,
					      "invalid restart policy: maximum retry count %lld is "
					      "too large",
					      (long long)count);
		return 0;
	}
	if (count != 0)
		return husk_error_set(
		    err, -EINVAL,
		    "invalid restart policy: maximum retry count can only be used "
		    "with 'on-failure'%s",
		    count < 0 ? " and cannot be negative" : "");
	return 0;
}

int husk_restart_policy_check_host_config(const json_t *hc, struct husk_error *err)
{
	const json_t *rp = jobj(hc, "RestartPolicy");
	int r = husk_restart_policy_check(rp, err);
	if (r < 0)
		return r;
	struct husk_restart_policy p;
	husk_restart_policy_parse(rp, &p);
	if (jbool(hc, "AutoRemove", false) && !husk_restart_policy_is_none(&p))
		return husk_error_set(err, -EINVAL,
				      "can't create 'AutoRemove' container with restart policy");
	return 0;
}

void husk_restart_policy_parse(const json_t *rp, struct husk_restart_policy *p)
{
	int mode = mode_of(jstr(rp, "Name"));
	int64_t count = jint(rp, "MaximumRetryCount", 0);
	p->mode = mode < 0 ? HUSK_RESTART_NO : (enum husk_restart_mode)mode;
	p->max_retries =
	    p->mode == HUSK_RESTART_ON_FAILURE && count > 0 && count <= INT32_MAX ? (int)count : 0;
}

bool husk_restart_policy_is_none(const struct husk_restart_policy *p)
{
	return p->mode == HUSK_RESTART_NO;
}

bool husk_restart_next(const struct husk_restart_policy *p, int restart_count, int exit_code,
		       bool manually_stopped, int64_t ran_ms, int64_t *delay_ms)
{
	if (husk_restart_policy_is_none(p))
		return false;
	/* The back-off grows with every exit, and a run of 10 s or more starts it over. */
	if (ran_ms >= HUSK_RESTART_RESET_AFTER_MS)
		*delay_ms = 0;
	if (*delay_ms <= 0)
		*delay_ms = HUSK_RESTART_DELAY_FIRST_MS;
	else if (*delay_ms < HUSK_RESTART_DELAY_MAX_MS)
		*delay_ms *= 2;
	if (*delay_ms > HUSK_RESTART_DELAY_MAX_MS)
		*delay_ms = HUSK_RESTART_DELAY_MAX_MS;

	switch (p->mode) {
	case HUSK_RESTART_ALWAYS:
		return true;
	case HUSK_RESTART_UNLESS_STOPPED:
		return !manually_stopped;
	case HUSK_RESTART_ON_FAILURE:
		return exit_code != 0 && (p->max_retries == 0 || restart_count < p->max_retries);
	case HUSK_RESTART_NO:
		break;
	}
	return false;
}

bool husk_restart_at_boot(const struct husk_restart_policy *p, const struct husk_state *st,
			  const char *boot_id)
{
	if (!st->started_ns || str_empty(st->boot_id) || streq(st->boot_id, boot_id))
		return false;
	return p->mode == HUSK_RESTART_ALWAYS ||
	       (p->mode == HUSK_RESTART_UNLESS_STOPPED && !st->manually_stopped);
}
