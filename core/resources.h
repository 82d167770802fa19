/* Resource limits (the Resources part of HostConfig, and of docker update's body): they need a
 * delegated cgroup, which husk does not manage yet, so any limit is refused with a clear error
 * instead of being silently ignored. */
#pragma once

#include "error.h"

#include <jansson.h>

/* res: an object with Resources fields. Zero, empty and "no limit" values (-1 where Docker
 * allows it) pass; a negative value is -EINVAL, a limit -EOPNOTSUPP. */
int husk_resources_check(const json_t *res, struct husk_error *err);
