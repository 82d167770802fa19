/* Seccomp filters from Docker-format profiles (moby's profiles/seccomp/default.json format),
 * loaded with libseccomp. Docker's default profile is built in. */
#pragma once

#include "error.h"

/* Builds the filter for the calling process and loads it. profile_json is a profile's JSON
 * text, or NULL for Docker's default profile. caps is the container process's effective
 * capability set as a bit mask (bit n = capability n): rules whose "includes"/"excludes" name
 * capabilities apply as moby applies them. The caller has set no_new_privs. */
int husk_seccomp_load(const char *profile_json, uint64_t caps, struct husk_error *err);

/* Parses and checks a profile without loading it (create-time validation of
 * --security-opt seccomp=...). -EINVAL with a clear message. */
int husk_seccomp_validate(const char *profile_json, struct husk_error *err);
