/* Container records in the store: config.json (the normalised create request) plus the state.
 * Lookup by full id, name, or unique id prefix, as Docker resolves them everywhere. */
#pragma once

#include "ids.h"
#include "state.h"
#include "store.h"
#include "userns.h"

#include <jansson.h>

struct husk_container {
	char id[HUSK_ID_LEN + 1];
	char *name;	 /* without the leading "/" */
	json_t *config;	 /* the whole config.json document */
	struct husk_state state;
};

void husk_container_free(struct husk_container *c);
static inline void husk_container_freep(struct husk_container **c)
{
	husk_container_free(*c);
}
#define _cleanup_container_ _cleanup_(husk_container_freep)

/* Loads one container by its full id (config and state). */
int husk_container_load(const struct husk_store *s, const char *id, struct husk_container **out,
			struct husk_error *err);
/* Resolves a name ("x" or "/x"), a full id or a unique id prefix. -ENOENT "No such container:
 * X"; an ambiguous prefix is -EINVAL like Docker's "multiple IDs found with provided prefix". */
int husk_container_find(const struct husk_store *s, const char *ref, struct husk_container **out,
			struct husk_error *err);
/* Like find, but only resolves to the id (no state load). */
int husk_container_resolve_id(const struct husk_store *s, const char *ref,
			      char id[HUSK_ID_LEN + 1], struct husk_error *err);

/* All container ids in the store (order unspecified). */
int husk_container_list_ids(const struct husk_store *s, char ***ids);
/* The id of the container with this name, if any (store lock held by the caller). */
int husk_container_name_owner(const struct husk_store *s, const char *name,
			      char id[HUSK_ID_LEN + 1]);

/* Writes config.json (fsync'd). */
int husk_container_save_config(const struct husk_store *s, const char *id, const json_t *config);

/* Removes every trace of a container: the record disappears at once (renamed aside), the
 * tree (owned by the user's sub-ids) is removed through the user namespace. With the store
 * lock held (see husk_container_sweep). */
int husk_container_remove_files(const struct husk_store *s, const struct husk_idmap *m,
				const char *id, struct husk_error *err);

/* Work directories in containers/: a container being made, one being removed. */
#define HUSK_CREATING_PREFIX ".creating-"
#define HUSK_REMOVING_PREFIX ".removing-"

/* Removes the work directories that an interrupted create or rm (a killed process) left in
 * containers/. Only with the store lock held: every create and rm works under it, so what is
 * there then belongs to nobody. */
void husk_container_sweep(const struct husk_store *s, const struct husk_idmap *m);

/* Paths. */
char *husk_container_dir(const struct husk_store *s, const char *id);
char *husk_container_run_dir(const struct husk_store *s, const char *id);

/* The container's start lock (run/containers/<id>/start.lock), taken (flock, waiting): one
 * start at a time, and nobody mounting a stopped container's overlay while it starts. Returns
 * the fd that holds it (close to release). */
int husk_container_lock_start(const struct husk_store *s, const char *id, struct husk_error *err);
