/* The user's id mapping and running code inside a user namespace with it.
 *
 * Container root is the user; ids 1..N map to the user's range in /etc/subuid and /etc/subgid
 * (applied by the setuid newuidmap/newgidmap). Without a range, only root is mapped. */
#pragma once

#include "error.h"

#include <sys/types.h>

struct husk_idmap {
	uid_t uid;
	gid_t gid;
	uid_t subuid_start;
	uint32_t subuid_count; /* 0: no range */
	gid_t subgid_start;
	uint32_t subgid_count;
};

/* The container-side ids we map above root: up to 65536 (nobody = 65534 needs them). */
#define HUSK_MAX_SUBIDS 65536u

/* Reads the caller's ranges from /etc/subuid and /etc/subgid (by name or by uid). */
int husk_idmap_load(struct husk_idmap *m);
/* Same, from explicit files (for tests). */
int husk_idmap_load_from(struct husk_idmap *m, const char *subuid, const char *subgid,
			 const char *user);
bool husk_idmap_has_range(const struct husk_idmap *m);
/* The mapping as "uid:gid:subuid_start:subuid_count:subgid_start:subgid_count", the form in
 * which husk-api hands it to husk-monitor. */
int husk_idmap_format(const struct husk_idmap *m, char *buf, size_t n);
int husk_idmap_parse(const char *s, struct husk_idmap *m);
/* Maps the user namespace of pid. */
int husk_idmap_apply(const struct husk_idmap *m, pid_t pid, struct husk_error *err);
/* The host uid that container uid cuid maps to, or (uid_t)-1. */
uid_t husk_idmap_host_uid(const struct husk_idmap *m, uid_t cuid);
gid_t husk_idmap_host_gid(const struct husk_idmap *m, gid_t cgid);

/* Runs fn(arg) in a forked child that is root in a new user namespace with the mapping (and
 * in a new mount namespace). The child's error, if any, comes back in err. Returns fn's
 * result. */
int husk_userns_run(const struct husk_idmap *m, int (*fn)(void *arg, struct husk_error *err),
		    void *arg, struct husk_error *err);
/* rm -rf of a tree the user's containers wrote: as ourselves first (cheap when everything is
 * ours), then as root of the user namespace for what sub-ids own (m NULL: only the first). */
int husk_userns_rm_rf(const struct husk_idmap *m, const char *path, struct husk_error *err);
