/* Volumes of the "local" driver: data/volumes/<name>/_data holds the data, volume.json beside
 * it the record (name, creation time, labels, options). Containers reference volumes through
 * their MountPoints (core/mount_spec.h); a volume that any container references, running or
 * not, is in use. Mutations run under the store lock, held by the caller; they record Docker's
 * volume events (create, destroy, mount, unmount, prune). */
#pragma once

#include "store.h"
#include "userns.h"

#include <jansson.h>

/* The label Docker puts on the volumes it names itself. */
#define HUSK_VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

struct husk_volume {
	char *name;
	char *mountpoint; /* the _data directory */
	int64_t created_ns;
	json_t *labels;	  /* object */
	json_t *options;  /* object, or NULL */
};

void husk_volume_free(struct husk_volume *v);
static inline void husk_volume_freep(struct husk_volume **v)
{
	husk_volume_free(*v);
}
#define _cleanup_volume_ _cleanup_(husk_volume_freep)

/* Docker's rule for local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
bool husk_volume_name_valid(const char *name);
/* Docker's checks of a create (name, driver, driver options), without side effects. An empty
 * name is fine (a name is generated). */
int husk_volume_check(const char *name, const char *driver, const json_t *options,
		      struct husk_error *err);
/* Creates a volume, or finds the one of that name (*created false). An empty name makes an
 * anonymous volume: a generated 64-hex name and Docker's anonymous label. Checks first. */
int husk_volume_create(const struct husk_store *s, const char *name, const char *driver,
		       const json_t *labels, const json_t *options, struct husk_volume **out,
		       bool *created, struct husk_error *err);
/* -ENOENT "get NAME: no such volume". */
int husk_volume_load(const struct husk_store *s, const char *name, struct husk_volume **out,
		     struct husk_error *err);
/* The names of all volumes, sorted. */
int husk_volume_list(const struct husk_store *s, char ***names);
/* Docker's Volume object. */
json_t *husk_volume_json(const struct husk_volume *v);
bool husk_volume_anonymous(const struct husk_volume *v);

/* Which container records reference which volume: {"name": ["container id", ...]}. */
json_t *husk_volume_users(const struct husk_store *s);
/* Removes a volume no container references: -EBUSY "remove NAME: volume is in use - [ids]";
 * -ENOENT "get NAME: no such volume" unless force. Data owned by sub-ids goes through the user
 * namespace. size: bytes of the files removed (may be NULL). */
int husk_volume_remove(const struct husk_store *s, const struct husk_idmap *m, const char *name,
		       bool force, int64_t *size, struct husk_error *err);

/* For a container's MountPoints: creates or finds the volumes they name and fills in Name,
 * Source and Driver; the names of the volumes it made are appended to created. */
int husk_volumes_attach(const struct husk_store *s, json_t *points, json_t *created,
			struct husk_error *err);
/* docker rm -v and --rm: the anonymous volumes of a container being removed that no other
 * container references (called before its record goes, so that they are gone when waiters
 * for the removal wake up). */
void husk_volumes_remove_anonymous(const struct husk_store *s, const struct husk_idmap *m,
				   const json_t *container_doc);
/* "mount" (at start) or "unmount" (at exit) events for a container's volumes. */
void husk_volume_mount_events(const struct husk_store *s, const json_t *container_doc,
			      const char *action);
