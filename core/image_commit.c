/* Making an image exist: its blobs, the layer chain, its record and its tags. Only the
 * writers of images (load, import: husk-helper) link this; it hashes with libcrypto. */
#include "image_internal.h"
#include "digest.h"
#include "fs.h"
#include "json.h"
#include "layer.h"

#include <fcntl.h>

int image_blob_write(const struct husk_store *s, const void *data, size_t len,
		     char digest[HUSK_DIGEST_SIZE])
{
	husk_sha256_buf(data, len, digest);
	_cleanup_free_ char *dir = image_blob_dir(s);
	_cleanup_free_ char *path = image_blob_path(s, digest);
	if (path_exists(path))
		return 0;
	return write_file_atomic(path, data, len, 0600, false);
}

int image_config_chain(const json_t *config, char ***chain_ids, char ***diff_ids)
{
	json_t *diffs = jpath(config, "rootfs.diff_ids"), *d;
	size_t i;
	if (!json_is_array(diffs) && diffs && !json_is_null(diffs))
		return -EINVAL;
	char **chain = xcalloc(1, sizeof(char *)), **diff = xcalloc(1, sizeof(char *));
	const char *parent = NULL;
	json_array_foreach(diffs, i, d)
	{
		const char *s = json_string_value(d);
		char c[HUSK_DIGEST_SIZE];
		if (!s || !husk_digest_valid(s)) {
			strv_free(chain);
			strv_free(diff);
			return -EINVAL;
		}
		husk_chain_id(parent, s, c);
		chain = strv_push(chain, c);
		diff = strv_push(diff, s);
		parent = chain[i];
	}
	*chain_ids = chain;
	if (diff_ids)
		*diff_ids = diff;
	else
		strv_free(diff);
	return 0;
}

static int check_layers(const struct husk_store *s, const char *id, struct husk_error *err)
{
	_cleanup_free_ char *p = image_blob_path(s, id);
	json_t *config = json_load_path(p, IMAGE_CONFIG_MAX, err);
	if (!config)
		return err ? err->code : -EIO;
	_cleanup_strv_ char **chain = NULL;
	int r = image_config_chain(config, &chain, NULL);
	json_decref(config);
	if (r < 0)
		return husk_error_set(err, -EINVAL, "image config %s: invalid rootfs.diff_ids", id);
	for (size_t i = 0; chain[i]; i++) {
		struct husk_layer l;
		if (husk_layer_read(s, chain[i], &l) < 0)
			return husk_error_set(err, -EAGAIN,
					      "layer %s was removed while the image was being "
					      "added; try again",
					      chain[i]);
	}
	return 0;
}

static int sync_data(const struct husk_store *s)
{
	_cleanup_close_ int fd = open(s->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		return -errno;
	return 0;
}

static int commit_locked(const struct husk_store *s, const char *id, const char *manifest,
			 char *const *tags, bool tagged, image_retag_fn retag, void *cls,
			 struct husk_error *err)
{
	int r = check_layers(s, id, err);
	if (r < 0)
		return r;
	json_t *meta = image_meta_load(s, id);
	if (!meta)
		meta = json_object();
	if (manifest)
		json_object_set_new(meta, "Manifest", json_string(manifest));
	/* The chain ids, so that readers of the store need no hashing. */
	_cleanup_strv_ char **chain = NULL;
	_cleanup_free_ char *cp = image_blob_path(s, id);
	json_t *config = json_load_path(cp, IMAGE_CONFIG_MAX, err);
	r = config ? image_config_chain(config, &chain, NULL) : -EIO;
	json_decref(config);
	if (r < 0) {
		json_decref(meta);
		return husk_error_set(err, -EIO, "image config %s: invalid rootfs.diff_ids", id);
	}
	json_object_set_new(meta, "Layers", json_strv(chain));
	r = image_meta_save(s, id, meta);
	json_decref(meta);
	if (r < 0)
		return husk_error_sys(err, r, "write the image record");
	return image_tag_locked(s, id, tags, tagged, retag, cls, err);
}

int image_commit(const struct husk_store *s, const char *id, const char *manifest_digest,
		 char *const *tags, bool tagged, image_retag_fn retag, void *cls,
		 struct husk_error *err)
{
	/* Blobs and layers were written without fsync each: one syncfs makes them durable
	 * before the record that points to them. */
	int r = sync_data(s);
	if (r < 0)
		return husk_error_sys(err, r, "syncfs %s", s->data);
	_cleanup_store_lock_ int lock = husk_store_lock(s);
	if (lock < 0)
		return husk_error_sys(err, lock, "lock the store");
	return commit_locked(s, id, manifest_digest, tags, tagged, retag, cls, err);
}

