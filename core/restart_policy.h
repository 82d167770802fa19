/* Restart policies (HostConfig.RestartPolicy): Docker's validation, and its restart manager's
 * decision and back-off (moby restartmanager): the delay starts at 100 ms, doubles with each
 * restart up to a minute, and starts over once a run lasted 10 s. Pure functions: create and
 * update validate, the monitor decides after each exit, husk-api decides after a reboot. */
#pragma once

#include "error.h"
#include "state.h"

#include <jansson.h>

enum husk_restart_mode {
	HUSK_RESTART_NO,
	HUSK_RESTART_ALWAYS,
	HUSK_RESTART_UNLESS_STOPPED,
	HUSK_RESTART_ON_FAILURE,
};

struct husk_restart_policy {
	enum husk_restart_mode mode;
	int max_retries; /* on-failure only: 0 = no limit */
};

#define HUSK_RESTART_DELAY_FIRST_MS 100
#define HUSK_RESTART_DELAY_MAX_MS 60000
#define HUSK_RESTART_RESET_AFTER_MS 10000

/* rp is a RestartPolicy object ({Name, MaximumRetryCount}) or NULL. -EINVAL with Docker's
 * message ("invalid restart policy: ...") for an unknown name, a negative count, or a count
 * with a policy other than on-failure. An empty name is no policy, whatever the count (as
 * Docker accepts it from old clients). */
int husk_restart_policy_check(const json_t *rp, struct husk_error *err);
/* Same, plus Docker's create-time rule that AutoRemove takes no policy. hc is a HostConfig. */
int husk_restart_policy_check_host_config(const json_t *hc, struct husk_error *err);
/* The policy of a checked RestartPolicy object; NULL or anything unknown reads as "no". */
void husk_restart_policy_parse(const json_t *rp, struct husk_restart_policy *p);
bool husk_restart_policy_is_none(const struct husk_restart_policy *p);

/* Docker's decision after an exit: restart_count is the restarts done since the user started
 * the container, manually_stopped whether the user stopped or killed it (docker stop/kill),
 * ran_ms how long the run lasted. *delay_ms carries the back-off from one exit to the next
 * (start with 0); it is updated, and when the answer is true it is the wait before the
 * restart. */
bool husk_restart_next(const struct husk_restart_policy *p, int restart_count, int exit_code,
		       bool manually_stopped, int64_t ran_ms, int64_t *delay_ms);

/* What Docker's daemon does for its containers when it starts, for husk's first API of a
 * boot: a container that ran in an earlier boot (boot_id is this boot's) is started again
 * when its policy is "always", or "unless-stopped" and the user had not stopped it. */
bool husk_restart_at_boot(const struct husk_restart_policy *p, const struct husk_state *st,
			  const char *boot_id);
