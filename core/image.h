/* The image store (data/images): OCI-layout blobs, the tag index, and unpacked layers.
 *
 *   images/blobs/sha256/<hex>      configs, manifests and layer tarballs (content-addressed)
 *   images/repositories.json       {"busybox:latest": "sha256:<config digest>", ...}
 *   images/layers/<chain-hex>/     one directory per layer: diff/ (unpacked, overlay
 *                                  whiteouts, owned through the user's id mapping) and
 *                                  layer.json {"DiffID","ChainID","Parent","Size"}
 *   images/meta/<id-hex>.json      one per image: {"Manifest": "sha256:...", "LastTagTime"};
 *                                  its presence is what makes an image exist (written last)
 *
 * An image's id is the sha256 digest of its config blob. Mutations take the store lock. */
#pragma once

#include "error.h"
#include "store.h"
#include "userns.h"

#include <jansson.h>

struct husk_image {
	char id[72];	   /* "sha256:<64 hex>" */
	json_t *config;	   /* the image config blob (Docker/OCI image config) */
	char **repo_tags;  /* familiar "name:tag", sorted; never NULL */
	char **repo_digests; /* familiar "name@sha256:..."; never NULL */
	char **layers;	   /* chain ids (64 hex), bottom layer first; never NULL */
	int64_t size;	   /* bytes of all layers, unpacked */
	int64_t created_ns;
	int64_t last_tag_ns; /* when last tagged here (Metadata.LastTagTime); 0: never */
};

void husk_image_free(struct husk_image *img);
static inline void husk_image_freep(struct husk_image **img)
{
	husk_image_free(*img);
}
#define _cleanup_image_ _cleanup_(husk_image_freep)

/* By reference ("busybox", "busybox:1", "x@sha256:..."), full id ("sha256:<hex>" or "<hex>"),
 * or unique id prefix (hex, at least 1 character... as Docker). -ENOENT "No such image: X"
 * (with X normalised to its familiar name:tag form when it parses as a reference). */
int husk_image_find(const struct husk_store *s, const char *ref, struct husk_image **out,
		    struct husk_error *err);
/* All images (one entry per image id). */
int husk_image_list(const struct husk_store *s, struct husk_image ***out, size_t *n);
void husk_image_list_free(struct husk_image **v, size_t n);
int husk_image_count(const struct husk_store *s);

/* Tags src (any reference husk_image_find takes) as repo[:tag] (tag defaults to "latest").
 * -ENOENT for an unknown src, -EINVAL for a bad repo or tag. */
int husk_image_tag(const struct husk_store *s, const char *src, const char *repo, const char *tag,
		   struct husk_error *err);

/* Docker's DELETE /images/{name}: untags, and deletes when no tag is left and no container
 * uses the image. Appends {"Untagged": ...} / {"Deleted": ...} objects to report. Conflicts
 * are -EEXIST with Docker's messages ("conflict: unable to remove repository reference ... (must
 * force) - container <id12> is using its referenced image <id12>", "conflict: unable to delete
 * <id12> (must be forced) - image is referenced in multiple repositories"). */
int husk_image_remove(const struct husk_store *s, const struct husk_idmap *m, const char *ref,
		      bool force, bool noprune, json_t *report, struct husk_error *err);

/* The directory to use as an overlay lower dir for a layer. */
char *husk_image_layer_dir(const struct husk_store *s, const char *chain_id);

/* docker import: a rootfs tarball (plain, gzip, bzip2, xz or zstd) read from fd becomes a
 * one-layer image. repo_tag may be NULL (untagged). changes are Dockerfile instructions
 * ("CMD ["sh"]", "ENV A=b", "ENTRYPOINT", "WORKDIR", "USER", "EXPOSE", "LABEL", "VOLUME",
 * "STOPSIGNAL"); message becomes the history comment. Writes the new image id to id_out. */
int husk_image_import(const struct husk_store *s, const struct husk_idmap *m, int fd,
		      const char *repo_tag, char *const *changes, const char *message,
		      char id_out[72], struct husk_error *err);

/* docker load: a `docker save` tarball (Docker layout with manifest.json, and/or OCI layout
 * with index.json) read from fd. progress(cls, line) is called with each JSON progress object
 * to stream (e.g. {"stream":"Loaded image: busybox:latest\n"}). */
int husk_image_load(const struct husk_store *s, const struct husk_idmap *m, int fd, bool quiet,
		    void (*progress)(void *cls, json_t *msg), void *cls, struct husk_error *err);

/* Whether any container in the store uses image id (for rm and prune). Fills the first such
 * container id when asked. */
bool husk_image_in_use(const struct husk_store *s, const char *image_id, char *container_id,
		       size_t n);
