/* Transient systemd scopes for monitors. */
#pragma once

#include "core/error.h"

#include <sys/types.h>

/* Moves pid into a new transient scope husk-<id12>.scope (Delegate=yes) of the user's
 * systemd, and waits until it is there. */
int scope_create(const char *id, pid_t pid, struct husk_error *err);
