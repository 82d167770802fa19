/* Seccomp filters from Docker-format profiles (moby's profiles/seccomp/default.json format),
 * loaded with libseccomp. Docker's default profile is built in. */
#pragma once

#include "error.h"

/* Builds the filter for the calling process and loads it. profile_json is a profile's JSON
 * text, or NULL for Docker's default profile. caps is the container process's effective
 * capability set as a bit mask (bit n = capability n): rules whose "includes"/"excludes" name
 * capabilities apply as moby applies them. The caller has set no_new_privs. */
int husk_seccomp_load(const char *profile_json, uint64_t caps, struct husk_error *err);

/* The same in two steps, for a filter built once and loaded by many processes (a container's
 * exec'd processes): build parses and compiles, apply only loads (and may run in a forked
 * child). *out is NULL when the profile disables filtering; apply(NULL) does nothing. */
struct husk_seccomp_filter;
int husk_seccomp_build(const char *profile_json, uint64_t caps, struct husk_seccomp_filter **out,
		       struct husk_error *err);
int husk_seccomp_apply(const struct husk_seccomp_filter *f, struct husk_error *err);
void husk_seccomp_filter_free(struct husk_seccomp_filter *f);

/* Parses and checks a profile without loading it (create-time validation of
 * --security-opt seccomp=...). -EINVAL with a clear message. */
int husk_seccomp_validate(const char *profile_json, struct husk_error *err);
