/* Healthchecks (Config.Healthcheck, State.Health): Docker's validation, the merge with the
 * image's HEALTHCHECK, the probe command and timing with Docker's defaults, and the
 * bookkeeping of results (moby daemon/health.go). Pure functions; the monitor runs the
 * probes (monitor/health.c). */
#pragma once

#include "error.h"

#include <jansson.h>

#define HUSK_HEALTH_MAX_OUTPUT 4096 /* bytes of a probe's output kept */
#define HUSK_HEALTH_MAX_LOG 5	    /* results kept in State.Health.Log */
#define HUSK_HEALTH_MIN_NS 1000000  /* 1 ms: the shortest duration Docker accepts */

struct husk_health_config {
	char **argv; /* the probe: CMD's arguments, or the shell and CMD-SHELL's command */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries;
};

/* A request's Healthcheck (NULL: none): durations of 0 or at least 1 ms, retries >= 0.
 * -EINVAL with Docker's message ("Interval in Healthcheck cannot be less than 1ms"). */
int husk_health_check(const json_t *hc, struct husk_error *err);
/* Docker's merge of the image's Healthcheck into a container's Config: the image's when the
 * container has none, else each unset (empty or zero) field from the image; then null, zero
 * and empty members are left out, as Docker's omitempty fields. */
void husk_health_merge(json_t *config, const json_t *image_config);
/* The probe of a container's Config with Docker's defaults (interval 30 s, timeout 30 s,
 * retries 3, start period 0, start interval 5 s): 1 when there is one, 0 when there is none
 * (no Healthcheck, an empty Test, NONE, or a type other than CMD and CMD-SHELL). */
int husk_health_config_get(const json_t *config, struct husk_health_config *hc);
void husk_health_config_clear(struct husk_health_config *hc);
/* The wait before the next probe, since_start_ns after the container started. */
int64_t husk_health_next_ns(const struct husk_health_config *hc, int64_t since_start_ns,
			    const json_t *health);

/* State.Health at a (re)start: "starting", no failing streak, the log kept. health may be
 * NULL (a new object is returned) and is otherwise updated and returned. */
json_t *husk_health_starting(json_t *health);
/* When the container stops: "unhealthy", as Docker reports a container it no longer probes. */
void husk_health_stopped(json_t *health);
/* Records one result. start_ns/end_ns bound the probe, started_ns is the container's start
 * (failures in the start period do not count while "starting"). Returns the new status when
 * it changed, else NULL. */
const char *husk_health_record(json_t *health, const struct husk_health_config *hc,
			       int64_t started_ns, int64_t start_ns, int64_t end_ns, int exit_code,
			       const char *output);
/* "starting", "healthy", "unhealthy"; NULL without health. */
const char *husk_health_status(const json_t *health);

/* Go's time.Duration.String(), as Docker prints durations: "200ms", "1.5s", "1m30s". */
char *husk_go_duration(int64_t ns, char buf[static 40]);
