/* From a container's stored configuration to what the runtime needs: the command line as
 * Docker combines Entrypoint and Cmd, the environment as Docker builds it, and the whole
 * husk_spec the monitor starts. Pure functions where they can be (unit-tested). */
#pragma once

#include "mount_spec.h"
#include "runtime.h"
#include "store.h"

#include <jansson.h>

#define HUSK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Entrypoint + Cmd of a Config object; NULL when both are empty. */
char **husk_config_argv(const json_t *config);
/* Docker's container environment: PATH, HOSTNAME (and TERM=xterm with a TTY) first, then the
 * Config.Env entries replacing or appending by name. */
char **husk_env_build(char *const *config_env, const char *hostname, bool tty);
/* Adds HOME (from the user's passwd entry) unless the environment has it. */
char **husk_env_finish(char *const *env, const char *home);
/* Replace-or-append by variable name; returns the new vector (old one consumed). */
char **husk_env_set(char **env, const char *entry);

/* The runtime spec of a stored container (config.json document). */
int husk_spec_from_config(const struct husk_store *s, const json_t *doc, struct husk_spec *spec,
			  struct husk_error *err);

/* HostConfig.Ulimits ([{Name, Soft, Hard}]) with Docker's names and messages; a negative
 * limit is none. */
/* One HostConfig.SecurityOpt entry, as dockerd parses it: "no-new-privileges[=BOOL]",
 * "seccomp=PROFILE|unconfined", "label=…", "apparmor=…", "writable-cgroups=false" (":"
 * for "=" is Docker's deprecated form). Sets *no_new_privs (-1 untouched) and *seccomp (a
 * pointer into o, NULL untouched); -EINVAL with Docker's message for anything else,
 * -EOPNOTSUPP for writable-cgroups=true. */
int husk_parse_security_opt(const char *o, int *no_new_privs, const char **seccomp,
			    struct husk_error *err);
int husk_parse_ulimits(const json_t *ulimits, struct husk_rlimit **out, size_t *n,
		       struct husk_error *err);
/* "nofile" for RLIMIT_NOFILE, ... */
const char *husk_rlimit_name(int resource);
