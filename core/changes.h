/* docker diff: what a container changed, read from its overlay upper directory against the
 * image's layers (GET /containers/{id}/changes).
 *
 * In the upper directory, a 0/0 character device is a whiteout (the path was deleted); a
 * directory marked user.overlay.opaque=y replaced the one below (what the layers had in it
 * and it no longer has was deleted); anything else was modified when the layers have the
 * path, added otherwise. A directory the layers have is reported modified when its size,
 * mode or mtime differ, or when something directly in it was added or deleted (Docker's
 * rule); the root never is. Paths come in the order of a walk by name, as Docker's. */
#pragma once

#include "error.h"

#include <jansson.h>

struct husk_spec;

enum husk_change_kind { HUSK_CHANGE_MODIFY = 0, HUSK_CHANGE_ADD = 1, HUSK_CHANGE_DELETE = 2 };

/* upper: the upper directory's fd; lowers: the layers' directory fds, bottom first. ignore
 * (may be NULL): absolute paths left out when the layers do not have them (the mount points
 * husk makes for a container: /proc, /etc/hosts, ...). *out: a JSON array of
 * {"Path","Kind"}, or JSON null when nothing changed, as Docker answers. */
int husk_changes(int upper, const int *lowers, size_t n_lowers, char *const *ignore, json_t **out,
		 struct husk_error *err);

/* The mount points husk makes in a container's root when its image lacks them (/proc, /dev,
 * /sys, the /etc files, the targets of the container's mounts): husk_changes' ignore list. */
char **husk_changes_mount_points(const struct husk_spec *spec);
