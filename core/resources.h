/* Resource limits: the Resources part of HostConfig (and of docker update's body) as Docker
 * validates, defaults and merges them (moby's verifyPlatformContainerResources, its create-time
 * MemorySwap default and Container.UpdateContainer), and the cgroup v2 files they become.
 *
 * A limit is honoured where the container gets a cgroup of its own with the controller it
 * needs (core/delegation.h); where it cannot be, it is refused with the reason, never
 * silently dropped. Fields husk does not set at all (block I/O, real-time, swappiness, ...)
 * are refused as not supported. Pure functions but for husk_resources_apply. */
#pragma once

#include "error.h"

#include <jansson.h>

struct husk_delegation;

struct husk_resources {
	int64_t memory;		    /* bytes; 0: none */
	int64_t memory_swap;	    /* memory + swap; -1: unlimited swap; 0: not set */
	int64_t memory_reservation; /* memory.low */
	int64_t nano_cpus;	    /* CPUs * 1e9 */
	int64_t cpu_shares;	    /* cgroup v1 shares, 2..262144 */
	int64_t cpu_period;	    /* µs */
	int64_t cpu_quota;	    /* µs per period; <= 0: none */
	int64_t pids_limit;	    /* > 0: a limit; <= 0: none */
	bool pids_set;		    /* PidsLimit was given (docker update: changes it) */
	char *cpuset_cpus;	    /* "0-2,4" or NULL */
	char *cpuset_mems;
};

void husk_resources_clear(struct husk_resources *r);

/* The fields of obj (a HostConfig, or an update body). Go's decoding errors for wrong types,
 * "invalid X: V" for negative values Docker has no meaning for, and -EOPNOTSUPP for the
 * fields husk does not set. */
int husk_resources_parse(const json_t *obj, struct husk_resources *r, struct husk_error *err);

/* Docker's checks of r (update: of an update's fields only), and whether the cgroups husk gives
 * containers here (d; NULL: none) can honour it. Docker's messages for invalid values (-EINVAL);
 * a limit the host cannot honour: -EINVAL with why. Appends warnings (strings) where Docker
 * drops a default silently: no swap limit where there is no swap accounting. */
int husk_resources_verify(struct husk_resources *r, const struct husk_delegation *d, bool update,
			  json_t *warnings, struct husk_error *err);

/* At create: parse, verify, Docker's default (MemorySwap = 2 * Memory), and the values written
 * back into hc as inspect shows them. */
int husk_resources_create(json_t *hc, const struct husk_delegation *d, json_t *warnings,
			  struct husk_error *err);

/* docker update: the update's fields merged into cur (Docker's rules and messages), verified
 * against d. cur is left as it was on failure. */
int husk_resources_update(struct husk_resources *cur, const json_t *body,
			  const struct husk_delegation *d, struct husk_error *err);

/* Writes r's values into hc (HostConfig): Memory, MemorySwap, ..., PidsLimit (null: none). */
void husk_resources_store(const struct husk_resources *r, json_t *hc);

/* The controllers (HUSK_CG_*) r needs. */
unsigned husk_resources_controllers(const struct husk_resources *r);

/* The cgroup v2 files r sets and their values, in the order they are written. */
struct husk_cgroup_setting {
	const char *file;
	char value[128];
};
#define HUSK_CGROUP_SETTINGS_MAX 8
size_t husk_resources_settings(const struct husk_resources *r,
			       struct husk_cgroup_setting out[HUSK_CGROUP_SETTINGS_MAX]);

/* Writes r's settings into the cgroup dir. */
int husk_resources_apply(const char *dir, const struct husk_resources *r, struct husk_error *err);

/* cgroup v1 cpu.shares as cgroup v2 cpu.weight, as runc (since 1.3.2) and crun convert them:
 * 2 → 1, 1024 (the default) → 100, 262144 → 10000, log-quadratic in between; 0 stays 0. */
uint64_t husk_cpu_shares_to_weight(uint64_t shares);

/* A cpuset list ("0-3,7") as a bit set of its first 1024 members; -EINVAL when malformed. */
int husk_cpuset_parse(const char *s, uint64_t bits[16]);
