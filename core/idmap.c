/* The calling user's id mapping, from /etc/subuid and /etc/subgid, which name users by name:
 * the one place that asks the user database (NSS). Kept apart so that the statically linked
 * husk-monitor, which gets its mapping from husk-api, never links NSS. */
#include "userns.h"

#include <pwd.h>

int husk_idmap_load(struct husk_idmap *m)
{
	struct passwd *pw = getpwuid(getuid());
	char name[64];
	snprintf(name, sizeof name, "%s", pw ? pw->pw_name : "");
	return husk_idmap_load_from(m, "/etc/subuid", "/etc/subgid", name);
}
