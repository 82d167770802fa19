/* Docker's User field resolved against the image's /etc/passwd and /etc/group. */
#pragma once

#include "error.h"

#include <sys/types.h>

struct husk_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[64]; /* supplementary groups */
	size_t n_groups;
	char home[256];
};

/* spec: "", "name", "uid", "name:group", "uid:gid", "name:gid", ... Numeric ids need no entry;
 * names must exist ("unable to find user X: no matching entries in passwd file"). extra:
 * --group-add names or ids. Paths are the container's passwd and group files. */
int husk_user_resolve(const char *spec, char *const *extra, const char *passwd_path,
		      const char *group_path, struct husk_user *u, struct husk_error *err);
