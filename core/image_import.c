/* docker import: a root file system tarball becomes a one-layer image, with a config as
 * Docker's ImportImage writes it (no default Env: Docker sets none on import). */
#include "image_changes.h"
#include "image_internal.h"
#include "fs.h"
#include "json.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

/* The uncompressed stream is kept as the layer's blob: its digest is then the diff id. */
static int open_tee(const struct husk_store *s, char **tmp, struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "images/blobs/sha256");
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return husk_error_sys(err, r, "create %s", dir);
	*tmp = xasprintf("%s/.tmp-XXXXXX", dir);
	int fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0)
		return husk_error_sys(err, -errno, "create a file in %s", dir);
	flock(fd, LOCK_EX); /* alive, for husk_sweep */
	return fd;
}

static json_t *import_config(json_t *cfg, const struct husk_layer *l, const char *comment)
{
	char created[40];
	format_time_ns(now_ns(), created);
	return json_pack("{s:s, s:s, s:O, s:s, s:[{s:s, s:s}], s:s, s:{s:s, s:[s]}}",
			 "architecture", image_host_arch(), "comment", comment, "config", cfg,
			 "created", created, "history", "created", created, "comment", comment,
			 "os", "linux", "rootfs", "type", "layers", "diff_ids", l->diff_id);
}

/* Stores config and manifest blobs for the new image; id is the config's digest. */
static int store_image_blobs(const struct husk_store *s, json_t *config, const char *layer_digest,
			     int64_t layer_size, char id[HUSK_DIGEST_SIZE],
			     char manifest_digest[HUSK_DIGEST_SIZE], struct husk_error *err)
{
	_cleanup_free_ char *text = json_compact(config);
	int r = image_blob_write(s, text, strlen(text), id);
	if (r < 0)
		return husk_error_sys(err, r, "write the image config");
	json_t *layers =
	    json_pack("[o]", image_layer_descriptor("application/vnd.oci.image.layer.v1.tar",
						    layer_digest, layer_size));
	json_t *manifest = image_manifest_new(id, (int64_t)strlen(text), layers);
	json_decref(layers);
	_cleanup_free_ char *mtext = json_compact(manifest);
	json_decref(manifest);
	r = image_blob_write(s, mtext, strlen(mtext), manifest_digest);
	return r < 0 ? husk_error_sys(err, r, "write the image manifest") : 0;
}

/* Unpacks the tarball, keeping its uncompressed stream as the layer blob. */
static int import_layer(const struct husk_store *s, const struct husk_idmap *m, int fd,
			struct husk_layer *layer, int64_t *blob_size, struct husk_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int tee = open_tee(s, &tmp, err);
	if (tee < 0)
		return tee;
	int r = husk_layer_unpack(s, m, fd, NULL, NULL, tee, layer, NULL, err);
	struct stat st;
	if (r == 0 && fstat(tee, &st) < 0)
		r = husk_error_sys(err, -errno, "stat %s", tmp);
	if (r == 0) {
		*blob_size = st.st_size;
		_cleanup_free_ char *blob = image_blob_path(s, layer->diff_id);
		if (rename(tmp, blob) < 0)
			r = husk_error_sys(err, -errno, "rename %s", blob);
	}
	if (r < 0)
		unlink(tmp);
	return r;
}

static int import_once(const struct husk_store *s, const struct husk_idmap *m, int fd,
		       const char *tag, char *const *changes, const char *message, char id_out[72],
		       struct husk_error *err)
{
	json_t *cfg = json_object();
	int r = husk_image_apply_changes(cfg, changes, err);
	struct husk_layer layer;
	int64_t blob_size = 0;
	if (r == 0)
		r = import_layer(s, m, fd, &layer, &blob_size, err);
	json_t *config =
	    r == 0 ? import_config(cfg, &layer, str_or(message, "Imported from -")) : NULL;
	json_decref(cfg);
	char id[HUSK_DIGEST_SIZE], manifest[HUSK_DIGEST_SIZE];
	if (r == 0)
		r = store_image_blobs(s, config, layer.diff_id, blob_size, id, manifest, err);
	json_decref(config);
	if (r < 0)
		return r;
	char *tags[] = {(char *)tag, NULL};
	r = image_commit(s, id, manifest, tags, tag != NULL, NULL, NULL, err);
	if (r == 0) {
		snprintf(id_out, 72, "%s", id);
		image_event(s, "import", id, tag);
	}
	return r;
}

int husk_image_import(const struct husk_store *s, const struct husk_idmap *m, int fd,
		      const char *repo_tag, char *const *changes, const char *message,
		      char id_out[72], struct husk_error *err)
{
	_cleanup_free_ char *tag = NULL;
	int r = repo_tag ? image_tag_reference(repo_tag, NULL, &tag, err) : 0;
	if (r < 0)
		return r;
	husk_layer_sweep(s, m);
	/* -EAGAIN: a concurrent rmi took a layer of the same content between unpacking and
	 * committing; again, as load does. */
	for (int attempt = 0; attempt < 3; attempt++) {
		r = import_once(s, m, fd, tag, changes, message, id_out, err);
		if (r != -EAGAIN || lseek(fd, 0, SEEK_SET) < 0)
			break;
	}
	return r;
}
