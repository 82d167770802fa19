/* Image layers on disk: images/layers/<chain hex>/{diff/,layer.json}.
 *
 * A layer is unpacked once, inside the user namespace (so owners in the image land on the
 * user's sub-ids) and chrooted into its own directory (so no entry can write outside it),
 * into a temporary directory that is renamed into place when complete: readers never see a
 * half layer, and two processes unpacking the same layer both succeed with one result.
 * Whiteouts are converted for an overlay mount with "userxattr": ".wh.NAME" becomes a 0/0
 * character device, ".wh..wh..opq" the xattr user.overlay.opaque=y on its directory. */
#pragma once

#include "digest.h"
#include "error.h"
#include "store.h"
#include "userns.h"

struct husk_layer {
	char diff_id[HUSK_DIGEST_SIZE];	 /* sha256 of the uncompressed tar stream */
	char chain_id[HUSK_DIGEST_SIZE]; /* names the directory */
	int64_t size;			 /* bytes of regular files */
};

/* What the raw input was (the blob as stored: possibly compressed). */
struct husk_blob_info {
	char digest[HUSK_DIGEST_SIZE];
	int64_t size;
};

/* images/layers/<hex of chain_id> ("sha256:" prefix optional). */
char *husk_layer_path(const struct husk_store *s, const char *chain_id);
/* Reads layer.json; -ENOENT when the layer is not there (complete). */
int husk_layer_read(const struct husk_store *s, const char *chain_id, struct husk_layer *out);

/* Unpacks the tarball read from fd (plain or any compression libarchive detects) as the layer
 * above parent_chain (NULL for a bottom layer). expect_diff_id (may be NULL) is checked against
 * the stream: a mismatch is -EINVAL and leaves nothing behind. tee_fd >= 0 receives a copy of
 * the uncompressed tar stream. blob (may be NULL) gets the digest and size of the raw input.
 * Not an error when the layer exists already (a concurrent unpack won): out describes it. */
int husk_layer_unpack(const struct husk_store *s, const struct husk_idmap *m, int fd,
		      const char *parent_chain, const char *expect_diff_id, int tee_fd,
		      struct husk_layer *out, struct husk_blob_info *blob, struct husk_error *err);

/* A tar entry's path made relative and clean: "./a//b/" → "a/b", "/" or "" → "."; NULL when
 * it has a ".." (it could climb out of the directory it is extracted into). */
char *husk_tar_path_clean(const char *p);

/* Renames the layer out of sight (call with the store lock held); *trash gets the path to
 * pass to husk_tree_remove once the lock is released, *lock an fd holding it (see
 * husk_sweep) to close after that. 0 also when the layer was not there (*trash NULL then). */
int husk_layer_hide(const struct husk_store *s, const char *chain_id, char **trash, int *lock);
/* rm -rf of a tree whose files may belong to the user's sub-ids (done in the namespace). */
int husk_tree_remove(const struct husk_idmap *m, const char *path, struct husk_error *err);

/* Work directories (a layer being unpacked or removed, a load's spool) are flock()ed by
 * whoever works in them. Opens and locks one; -errno on failure. */
int husk_dir_lock(const char *path);
/* Removes what a crash left in dir: entries (files or directories) named prefix* that nobody
 * holds flock()ed and that are older than a minute (younger ones may not be locked yet). */
void husk_sweep(const struct husk_idmap *m, const char *dir, const char *prefix);
/* husk_sweep of the image store's work areas: half-unpacked and half-removed layers,
 * unfinished blobs, load spools. */
void husk_layer_sweep(const struct husk_store *s, const struct husk_idmap *m);
