/* The image store: blobs, the tag index, per-image records; lookup, listing and tagging. */
#include "image_internal.h"
#include "container.h"
#include "events.h"
#include "fs.h"
#include "ids.h"
#include "json.h"
#include "reference.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

const char *image_host_arch(void)
{
	static const struct {
		const char *uname, *go;
	} map[] = {{"x86_64", "amd64"},	  {"aarch64", "arm64"},	  {"armv7l", "arm"},
		   {"i686", "386"},	  {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
		   {"riscv64", "riscv64"}};
	static _Thread_local struct utsname u;
	if (!u.machine[0])
		uname(&u);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(u.machine, map[i].uname))
			return map[i].go;
	return u.machine;
}

/* --- blobs --- */

char *image_blob_path(const struct husk_store *s, const char *digest)
{
	return husk_store_data_path(s, "images/blobs/sha256/%s", husk_digest_hex(digest));
}

char *image_blob_dir(const struct husk_store *s)
{
	char *dir = husk_store_data_path(s, "images/blobs/sha256");
	mkdir_p(dir, 0700);
	return dir;
}

int image_blob_link(const struct husk_store *s, const char *path, const char *digest)
{
	_cleanup_free_ char *dir = image_blob_dir(s);
	_cleanup_free_ char *blob = image_blob_path(s, digest);
	if (link(path, blob) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *image_layer_media_type(int fd)
{
	unsigned char m[4] = {0};
	ssize_t n = pread(fd, m, sizeof m, 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

json_t *image_layer_descriptor(const char *media_type, const char *digest, int64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
			 (json_int_t)size);
}

json_t *image_manifest_new(const char *config_digest, int64_t config_size, const json_t *layers)
{
	return json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType",
			 "application/vnd.oci.image.manifest.v1+json", "config",
			 image_layer_descriptor("application/vnd.oci.image.config.v1+json",
						config_digest, config_size),
			 "layers", layers);
}

/* --- the tag index and the per-image records --- */

json_t *image_index_load(const struct husk_store *s)
{
	_cleanup_free_ char *p = husk_store_data_path(s, "images/repositories.json");
	struct husk_error err = {0};
	json_t *j = json_load_path(p, 64u << 20, &err);
	if (!j && err.code == -ENOENT)
		return json_object();
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int image_index_save(const struct husk_store *s, const json_t *idx)
{
	_cleanup_free_ char *p = husk_store_data_path(s, "images/repositories.json");
	return json_store_path(p, idx, true);
}

char *image_meta_path(const struct husk_store *s, const char *id)
{
	return husk_store_data_path(s, "images/meta/%s.json", husk_digest_hex(id));
}

json_t *image_meta_load(const struct husk_store *s, const char *id)
{
	if (!husk_digest_valid(id))
		return NULL;
	_cleanup_free_ char *p = image_meta_path(s, id);
	json_t *j = json_load_path(p, 1 << 20, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int image_meta_save(const struct husk_store *s, const char *id, const json_t *meta)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "images/meta");
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = image_meta_path(s, id);
	return json_store_path(p, meta, true);
}

/* --- lookup --- */

void husk_image_free(struct husk_image *img)
{
	if (!img)
		return;
	json_decref(img->config);
	strv_free(img->repo_tags);
	strv_free(img->repo_digests);
	strv_free(img->layers);
	free(img);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fill_refs(struct husk_image *img, const json_t *idx)
{
	const char *key;
	json_t *v;
	img->repo_tags = xcalloc(1, sizeof(char *));
	img->repo_digests = xcalloc(1, sizeof(char *));
	json_object_foreach((json_t *)idx, key, v)
	{
		if (!streq(json_string_value(v), img->id))
			continue;
		if (strchr(key, '@'))
			img->repo_digests = strv_push(img->repo_digests, key);
		else
			img->repo_tags = strv_push(img->repo_tags, key);
	}
	qsort(img->repo_tags, strv_length(img->repo_tags), sizeof(char *), cmp_str);
	qsort(img->repo_digests, strv_length(img->repo_digests), sizeof(char *), cmp_str);
}

static void fill_layers(const struct husk_store *s, struct husk_image *img, const json_t *meta)
{
	_cleanup_strv_ char **chain = NULL;
	img->layers = xcalloc(1, sizeof(char *));
	if (json_to_strv(jarr(meta, "Layers"), &chain) < 0)
		return;
	for (size_t i = 0; chain[i]; i++) {
		if (!husk_digest_valid(chain[i]))
			continue;
		struct husk_layer l;
		img->layers = strv_push(img->layers, husk_digest_hex(chain[i]));
		if (husk_layer_read(s, chain[i], &l) == 0)
			img->size += l.size;
	}
}

/* Loads image id ("sha256:<hex>") with idx giving its references. */
static int image_open(const struct husk_store *s, const char *id, const json_t *idx,
		      struct husk_image **out)
{
	json_t *meta = image_meta_load(s, id);
	if (!meta)
		return -ENOENT;
	_cleanup_free_ char *p = image_blob_path(s, id);
	json_t *config = json_load_path(p, IMAGE_CONFIG_MAX, NULL);
	if (!json_is_object(config)) {
		json_decref(meta);
		json_decref(config);
		return -EIO;
	}
	struct husk_image *img = xcalloc(1, sizeof *img);
	snprintf(img->id, sizeof img->id, "%s", id);
	img->config = config;
	img->last_tag_ns = jint(meta, "LastTagTime", 0);
	fill_refs(img, idx);
	fill_layers(s, img, meta);
	json_decref(meta);
	const char *created = jstr(config, "created");
	if (!created || parse_time_ns(created, &img->created_ns) < 0)
		img->created_ns = 0;
	*out = img;
	return 0;
}

/* Ids of all images ("sha256:<hex>"). */
static char **image_ids(const struct husk_store *s)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "images/meta");
	char **v = xcalloc(1, sizeof(char *));
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n != 64 + 5 || !str_endswith(e->d_name, ".json"))
			continue;
		char id[HUSK_DIGEST_SIZE];
		snprintf(id, sizeof id, "sha256:%.64s", e->d_name);
		if (husk_digest_valid(id))
			v = strv_push(v, id);
	}
	if (d)
		closedir(d);
	return v;
}

/* Docker's digest-set lookup: a unique id prefix (ambiguous is not found, as Docker). */
static int find_by_prefix(const struct husk_store *s, const char *prefix, char id[HUSK_DIGEST_SIZE])
{
	_cleanup_strv_ char **ids = image_ids(s);
	int found = 0;
	for (size_t i = 0; ids[i]; i++) {
		if (!str_startswith(husk_digest_hex(ids[i]), prefix))
			continue;
		if (found++)
			return -ENOENT;
		snprintf(id, HUSK_DIGEST_SIZE, "%s", ids[i]);
	}
	return found ? 0 : -ENOENT;
}

static int open_by_id(const struct husk_store *s, const char *id, const json_t *idx,
		      struct husk_image **out, struct husk_error *err)
{
	int r = image_open(s, id, idx, out);
	if (r == -ENOENT)
		return husk_error_set(err, -ENOENT, "No such image: %s", id);
	if (r < 0)
		return husk_error_sys(err, r, "image %s", id);
	return 0;
}

/* The index key of a parsed reference: "name:tag", or "name@digest" when it has a digest. */
static char *index_key(const struct husk_ref *ref)
{
	if (!ref->digest)
		return husk_ref_familiar(ref);
	_cleanup_free_ char *name = husk_ref_familiar_name(ref);
	return xasprintf("%s@%s", name, ref->digest);
}

int husk_image_find(const struct husk_store *s, const char *ref, struct husk_image **out,
		    struct husk_error *err)
{
	json_t *idx = image_index_load(s);
	if (!idx)
		return husk_error_set(err, -EIO, "images/repositories.json is corrupt");
	char id[HUSK_DIGEST_SIZE];
	int r;
	snprintf(id, sizeof id, "sha256:%s", str_or(ref, ""));
	if (husk_digest_valid(id) || husk_digest_valid(ref)) {
		r = open_by_id(s, husk_digest_valid(id) ? id : ref, idx, out, err);
		json_decref(idx);
		return r;
	}
	struct husk_ref parsed;
	r = husk_ref_parse(ref, &parsed, err);
	if (r < 0) {
		json_decref(idx);
		return r;
	}
	_cleanup_free_ char *key = index_key(&parsed);
	_cleanup_free_ char *familiar = husk_ref_familiar(&parsed);
	husk_ref_clear(&parsed);
	const char *tagged = jstr(idx, key);
	if (tagged)
		r = open_by_id(s, tagged, idx, out, err);
	else if (husk_is_hex(ref, 1, 64) && find_by_prefix(s, ref, id) == 0)
		r = open_by_id(s, id, idx, out, err);
	else
		r = husk_error_set(err, -ENOENT, "No such image: %s", familiar);
	json_decref(idx);
	return r;
}

int husk_image_list(const struct husk_store *s, struct husk_image ***out, size_t *n)
{
	json_t *idx = image_index_load(s);
	if (!idx)
		return -EIO;
	_cleanup_strv_ char **ids = image_ids(s);
	struct husk_image **v = xcalloc(strv_length(ids) + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; ids[i]; i++)
		if (image_open(s, ids[i], idx, &v[k]) == 0)
			k++;
	json_decref(idx);
	*out = v;
	*n = k;
	return 0;
}

void husk_image_list_free(struct husk_image **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		husk_image_free(v[i]);
	free(v);
}

int husk_image_count(const struct husk_store *s)
{
	_cleanup_strv_ char **ids = image_ids(s);
	return (int)strv_length(ids);
}

char *husk_image_layer_dir(const struct husk_store *s, const char *chain_id)
{
	_cleanup_free_ char *dir = husk_layer_path(s, chain_id);
	return xasprintf("%s/diff", dir);
}

/* --- tagging --- */

int image_tag_reference(const char *repo, const char *tag, char **familiar, struct husk_error *err)
{
	struct husk_ref ref;
	if (str_empty(repo))
		return husk_error_set(err, -EINVAL,
				      "repository name must have at least one component");
	int r = husk_ref_parse(repo, &ref, err);
	if (r < 0)
		return r;
	if (ref.digest) {
		husk_ref_clear(&ref);
		return husk_error_set(err, -EINVAL, "cannot import digest reference");
	}
	if (!str_empty(tag)) {
		if (!husk_tag_valid(tag)) {
			husk_ref_clear(&ref);
			return husk_error_set(err, -EINVAL, "invalid tag format");
		}
		free(ref.tag);
		ref.tag = xstrdup(tag);
	}
	_cleanup_free_ char *name = husk_ref_familiar_name(&ref);
	if (streq(name, "sha256")) {
		husk_ref_clear(&ref);
		return husk_error_set(err, -EINVAL,
				      "refusing to create an ambiguous tag using digest algorithm "
				      "as name");
	}
	*familiar = husk_ref_familiar(&ref);
	husk_ref_clear(&ref);
	return 0;
}

int image_tag_locked(const struct husk_store *s, const char *id, char *const *tags, bool tagged,
		     image_retag_fn retag, void *cls, struct husk_error *err)
{
	if (tagged) {
		json_t *meta = image_meta_load(s, id);
		if (!meta)
			return husk_error_set(err, -ENOENT, "No such image: %s", id);
		json_object_set_new(meta, "LastTagTime", json_integer(now_ns()));
		int r = image_meta_save(s, id, meta);
		json_decref(meta);
		if (r < 0)
			return husk_error_sys(err, r, "write the image record");
	}
	if (!tags || !tags[0])
		return 0;
	json_t *idx = image_index_load(s);
	if (!idx)
		return husk_error_set(err, -EIO, "images/repositories.json is corrupt");
	for (size_t i = 0; tags[i]; i++) {
		const char *old = jstr(idx, tags[i]);
		if (old && !streq(old, id) && retag)
			retag(cls, tags[i], old);
		json_object_set_new(idx, tags[i], json_string(id));
	}
	int r = image_index_save(s, idx);
	json_decref(idx);
	return r < 0 ? husk_error_sys(err, r, "write images/repositories.json") : 0;
}

void image_event(const struct husk_store *s, const char *action, const char *id, const char *name)
{
	husk_event_emit(s, "image", action, id, json_pack("{s:s}", "name", name ? name : id));
}

int husk_image_tag(const struct husk_store *s, const char *src, const char *repo, const char *tag,
		   struct husk_error *err)
{
	_cleanup_free_ char *familiar = NULL;
	int r = image_tag_reference(repo, tag, &familiar, err);
	if (r < 0)
		return r;
	_cleanup_image_ struct husk_image *img = NULL;
	r = husk_image_find(s, src, &img, err);
	if (r < 0)
		return r;
	_cleanup_store_lock_ int lock = husk_store_lock(s);
	if (lock < 0)
		return husk_error_sys(err, lock, "lock the store");
	char *tags[] = {familiar, NULL};
	r = image_tag_locked(s, img->id, tags, true, NULL, NULL, err);
	if (r == 0)
		image_event(s, "tag", img->id, familiar);
	return r;
}

/* --- users --- */

int image_users(const struct husk_store *s, const char *image_id, char *first, char *running,
		size_t n)
{
	_cleanup_strv_ char **ids = NULL;
	int r = husk_container_list_ids(s, &ids);
	if (r < 0)
		return r;
	int users = 0;
	if (first && n)
		first[0] = 0;
	if (running && n)
		running[0] = 0;
	for (size_t i = 0; ids[i]; i++) {
		_cleanup_free_ char *p =
		    husk_store_data_path(s, "containers/%s/config.json", ids[i]);
		json_t *cfg = json_load_path(p, 16u << 20, NULL);
		bool uses = streq(jstr(cfg, "ImageID"), image_id);
		json_decref(cfg);
		if (!uses)
			continue;
		if (users++ == 0 && first && n)
			snprintf(first, n, "%s", ids[i]);
		if (!running || !n || running[0])
			continue;
		struct husk_state st;
		husk_state_load(s, ids[i], &st);
		if (st.status == HUSK_RUNNING || st.status == HUSK_PAUSED ||
		    st.status == HUSK_RESTARTING)
			snprintf(running, n, "%s", ids[i]);
		husk_state_clear(&st);
	}
	return users;
}

bool husk_image_in_use(const struct husk_store *s, const char *image_id, char *container_id,
		       size_t n)
{
	return image_users(s, image_id, container_id, NULL, n) > 0;
}
