/* What the image modules (image.c, image_remove.c, image_load.c, image_import.c) share: blobs,
 * the tag index, per-image records, and the commit that makes a new image exist. */
#pragma once

#include "digest.h"
#include "image.h"
#include "layer.h"

#define IMAGE_CONFIG_MAX (16u << 20)

/* images/blobs/sha256/<hex> */
char *image_blob_path(const struct husk_store *s, const char *digest);
/* images/blobs/sha256, created if missing. */
char *image_blob_dir(const struct husk_store *s);
/* Stores data as a blob (write-temp + rename; synced by image_commit). */
int image_blob_write(const struct husk_store *s, const void *data, size_t len,
		     char digest[HUSK_DIGEST_SIZE]);
/* Makes the file at path (same file system) the blob digest; no-op when it is there. */
int image_blob_link(const struct husk_store *s, const char *path, const char *digest);
/* The OCI media type of a layer blob, from its first bytes (fd is read with pread). */
const char *image_layer_media_type(int fd);

/* The tag index, {"familiar:tag": "sha256:<id>", "name@sha256:...": ...}. Saving needs the
 * store lock. */
json_t *image_index_load(const struct husk_store *s);
int image_index_save(const struct husk_store *s, const json_t *idx);
/* images/meta/<hex>.json, NULL when there is no such image. */
json_t *image_meta_load(const struct husk_store *s, const char *id);
int image_meta_save(const struct husk_store *s, const char *id, const json_t *meta);
char *image_meta_path(const struct husk_store *s, const char *id);

/* The layer chain ids ("sha256:...") of an image config's rootfs.diff_ids; -EINVAL when they
 * are not a list of digests. */
int image_config_chain(const json_t *config, char ***chain_ids, char ***diff_ids);

/* An OCI manifest for a config and its layer blobs. */
json_t *image_manifest_new(const char *config_digest, int64_t config_size, const json_t *layers);
json_t *image_layer_descriptor(const char *media_type, const char *digest, int64_t size);

/* Called for each tag of a committed image that belonged to another image before. */
typedef void (*image_retag_fn)(void *cls, const char *tag, const char *old_id);

/* Makes image id exist: its config and manifest blobs and all its layers are in place (this is
 * checked under the lock: a concurrent rmi may have removed a shared layer, -EAGAIN then).
 * tags are parsed references ("busybox:1"); tagged marks it as tagged now (LastTagTime). */
/* Records LastTagTime (when tagged) and points tags at id in the index; store lock held. */
int image_tag_locked(const struct husk_store *s, const char *id, char *const *tags, bool tagged,
		     image_retag_fn retag, void *cls, struct husk_error *err);
/* Docker's image events: Type "image", Actor.ID the image id, Attributes.name the reference. */
void image_event(const struct husk_store *s, const char *action, const char *id, const char *name);
int image_commit(const struct husk_store *s, const char *id, const char *manifest_digest,
		 char *const *tags, bool tagged, image_retag_fn retag, void *cls,
		 struct husk_error *err);

/* Docker's RepoTagReference: repo (which may carry a tag) and an optional tag, as the familiar
 * "name:tag" to store. -EINVAL with Docker's messages. */
int image_tag_reference(const char *repo, const char *tag, char **familiar, struct husk_error *err);

/* Containers whose config.json has ImageID image_id: returns how many, fills the first one's
 * id and the first running one's id ("" when none). */
int image_users(const struct husk_store *s, const char *image_id, char *first, char *running,
		size_t n);

/* The user's Go-style architecture name ("amd64", "arm64"). */
const char *image_host_arch(void);
