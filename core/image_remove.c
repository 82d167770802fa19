/* docker rmi: Docker's untag-then-delete rules and conflict messages, and the collection of
 * the layers and blobs no image needs any more.
 *
 * One deliberate difference: where Docker deletes an image that a stopped container uses when
 * forced (the container keeps its own reference to the layers), husk's containers mount the
 * image's layers directly, so a forced removal only untags such an image; its data goes when
 * the last container using it goes and the image is removed again. */
#include "image_internal.h"
#include "fs.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "reference.h"

enum conflict {
	CONFLICT_RUNNING = 1 << 0,   /* hard */
	CONFLICT_REFERENCE = 1 << 1, /* soft */
	CONFLICT_STOPPED = 1 << 2,   /* soft */
};
#define CONFLICT_HARD CONFLICT_RUNNING
#define CONFLICT_SOFT (CONFLICT_REFERENCE | CONFLICT_STOPPED)

struct removal {
	const struct husk_store *s;
	const char *id;
	json_t *idx;
	json_t *report;
	char **trash; /* hidden layer directories to remove after unlocking */
	int *locks;   /* their husk_dir_lock fds */
	size_t ntrash;
	struct husk_error *err;
};

static void short_id(const char *id, char out[13])
{
	const char *hex = str_startswith(id, "sha256:");
	snprintf(out, 13, "%s", hex ? hex : id);
}

/* The repository of an index key: "a/b:1" → "a/b", "a/b@sha256:..." → "a/b". */
static char *key_name(const char *key)
{
	const char *at = strchr(key, '@');
	if (at)
		return xstrndup(key, (size_t)(at - key));
	const char *slash = strrchr(key, '/');
	const char *colon = strrchr(slash ? slash : key, ':');
	return colon ? xstrndup(key, (size_t)(colon - key)) : xstrdup(key);
}

static char **refs_of(const json_t *idx, const char *id)
{
	char **v = xcalloc(1, sizeof(char *));
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)idx, key, val)
	{
		if (streq(json_string_value(val), id))
			v = strv_push(v, key);
	}
	return v;
}

/* Docker's isSingleReference: one tag (or none), plus digests of that same repository only. */
static bool single_reference(char *const *refs)
{
	size_t n = strv_length(refs);
	if (n <= 1)
		return n == 1;
	const char *tag = NULL;
	_cleanup_free_ char *canon = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strchr(refs[i], '@')) {
			if (tag)
				return false;
			tag = refs[i];
			continue;
		}
		_cleanup_free_ char *name = key_name(refs[i]);
		if (canon && !streq(canon, name))
			return false;
		if (!canon)
			canon = TAKE_PTR(name);
	}
	_cleanup_free_ char *single = key_name(tag ? tag : refs[0]);
	return canon && streq(canon, single);
}

static void report_add(json_t *report, const char *what, const char *value)
{
	json_array_append_new(report, json_pack("{s:s}", what, value));
}

static void untag(struct removal *rm, const char *key)
{
	report_add(rm->report, "Untagged", key);
	image_event(rm->s, "untag", rm->id, key);
	json_object_del(rm->idx, key);
}

/* After a tag went: digests of the same repository go too when no tag of it is left. */
static void untag_orphan_digests(struct removal *rm, const char *key)
{
	_cleanup_free_ char *name = key_name(key);
	_cleanup_strv_ char **refs = refs_of(rm->idx, rm->id);
	for (size_t i = 0; refs[i]; i++) {
		_cleanup_free_ char *n = key_name(refs[i]);
		if (!strchr(refs[i], '@') && streq(n, name))
			return;
	}
	for (size_t i = 0; refs[i]; i++) {
		_cleanup_free_ char *n = key_name(refs[i]);
		if (strchr(refs[i], '@') && streq(n, name))
			untag(rm, refs[i]);
	}
}

/* Docker's checkImageDeleteConflict; returns the message or NULL. *used: a container. */
static char *find_conflict(struct removal *rm, unsigned mask, bool *hard, bool *used)
{
	char first[HUSK_ID_LEN + 1], running[HUSK_ID_LEN + 1], c12[13];
	int users = image_users(rm->s, rm->id, first, running, sizeof first);
	*hard = *used = false;
	if ((mask & CONFLICT_RUNNING) && users > 0 && running[0]) {
		*hard = *used = true;
		short_id(running, c12);
		return xasprintf("image is being used by running container %s", c12);
	}
	_cleanup_strv_ char **refs = refs_of(rm->idx, rm->id);
	if ((mask & CONFLICT_REFERENCE) && refs[0])
		return xstrdup("image is referenced in multiple repositories");
	if ((mask & CONFLICT_STOPPED) && users > 0) {
		*used = true;
		short_id(first, c12);
		return xasprintf("image is being used by stopped container %s", c12);
	}
	return NULL;
}

static int conflict_error(struct removal *rm, bool hard, const char *msg)
{
	char i12[13];
	short_id(rm->id, i12);
	return husk_error_set(rm->err, -EEXIST, "conflict: unable to delete %s (%s) - %s", i12,
			      hard ? "cannot be forced" : "must be forced", msg);
}

/* Chain ids and blob digests every other image needs. */
static void others_need(struct removal *rm, char ***chains, char ***blobs)
{
	struct husk_image **imgs;
	size_t n;
	*chains = xcalloc(1, sizeof(char *));
	*blobs = xcalloc(1, sizeof(char *));
	if (husk_image_list(rm->s, &imgs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (streq(imgs[i]->id, rm->id))
			continue;
		for (size_t k = 0; imgs[i]->layers[k]; k++)
			*chains = strv_push(*chains, imgs[i]->layers[k]);
		json_t *meta = image_meta_load(rm->s, imgs[i]->id);
		const char *manifest = jstr(meta, "Manifest");
		if (manifest) {
			_cleanup_free_ char *p = image_blob_path(rm->s, manifest);
			json_t *m = json_load_path(p, IMAGE_CONFIG_MAX, NULL);
			json_t *layers = jarr(m, "layers"), *l;
			size_t k;
			json_array_foreach(layers, k, l)
			{
				if (jstr(l, "digest"))
					*blobs = strv_push(*blobs, jstr(l, "digest"));
			}
			*blobs = strv_push(*blobs, manifest);
			json_decref(m);
		}
		json_decref(meta);
	}
	husk_image_list_free(imgs, n);
}

static void remove_blob(struct removal *rm, const char *digest, char *const *needed)
{
	if (!husk_digest_valid(digest) || strv_contains(needed, digest))
		return;
	_cleanup_free_ char *p = image_blob_path(rm->s, digest);
	if (unlink(p) < 0 && errno != ENOENT)
		husk_log(LOG_WARNING, "remove blob %s: %m", p);
}

static void collect_blobs(struct removal *rm, const char *manifest, char *const *needed)
{
	if (!manifest)
		return;
	_cleanup_free_ char *p = image_blob_path(rm->s, manifest);
	json_t *m = json_load_path(p, IMAGE_CONFIG_MAX, NULL);
	json_t *layers = jarr(m, "layers"), *l;
	size_t i;
	json_array_foreach(layers, i, l)
	{
		remove_blob(rm, str_or(jstr(l, "digest"), ""), needed);
	}
	json_decref(m);
	remove_blob(rm, manifest, needed);
}

/* The image is gone from the index: remove its record, then what nobody else needs. */
static int delete_image(struct removal *rm, char *const *chain)
{
	json_t *meta = image_meta_load(rm->s, rm->id);
	_cleanup_free_ char *manifest = xstrdup(str_or(jstr(meta, "Manifest"), ""));
	json_decref(meta);
	_cleanup_free_ char *mp = image_meta_path(rm->s, rm->id);
	if (unlink(mp) < 0 && errno != ENOENT)
		return husk_error_sys(rm->err, -errno, "remove %s", mp);
	report_add(rm->report, "Deleted", rm->id);
	image_event(rm->s, "delete", rm->id, NULL);

	_cleanup_strv_ char **chains = NULL, **blobs = NULL;
	others_need(rm, &chains, &blobs);
	for (size_t i = strv_length(chain); i-- > 0;) {
		if (strv_contains(chains, husk_digest_hex(chain[i])))
			continue;
		char *trash = NULL;
		int lock;
		if (husk_layer_hide(rm->s, chain[i], &trash, &lock) < 0)
			continue;
		if (trash) {
			rm->trash = strv_push(rm->trash, trash);
			rm->locks = xrealloc(rm->locks, (rm->ntrash + 1) * sizeof(int));
			rm->locks[rm->ntrash++] = lock;
		}
		free(trash);
		report_add(rm->report, "Deleted", chain[i]);
	}
	collect_blobs(rm, *manifest ? manifest : NULL, blobs);
	remove_blob(rm, rm->id, blobs);
	return 0;
}

/* Docker's imageDeleteHelper. quiet: a tag was just removed; a conflict then only means the
 * image stays, untagged. */
static int delete_helper(struct removal *rm, bool force, bool quiet, char *const *chain)
{
	bool hard, used;
	_cleanup_free_ char *msg =
	    find_conflict(rm, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT), &hard, &used);
	_cleanup_strv_ char **refs = refs_of(rm->idx, rm->id);
	if (msg) {
		if (quiet && (refs[0] || used))
			return 0;
		return conflict_error(rm, hard, msg);
	}
	for (size_t i = 0; refs[i]; i++)
		untag(rm, refs[i]);
	/* Forced past a stopped container: keep the data it mounts (see the top). */
	if (husk_image_in_use(rm->s, rm->id, NULL, 0))
		return 0;
	return delete_image(rm, chain);
}

static bool is_id_prefix(const char *id, const char *ref)
{
	return str_startswith(id, ref) || str_startswith(husk_digest_hex(id), ref);
}

/* Removing by name: untag first; delete only when that was the last reference. */
static int remove_by_name(struct removal *rm, const char *ref, bool force, char *const *chain)
{
	_cleanup_strv_ char **refs = refs_of(rm->idx, rm->id);
	char first[HUSK_ID_LEN + 1], c12[13], i12[13];
	if (!force && single_reference(refs) &&
	    image_users(rm->s, rm->id, first, NULL, sizeof first) > 0) {
		short_id(first, c12);
		short_id(rm->id, i12);
		return husk_error_set(
		    rm->err, -EEXIST,
		    "conflict: unable to remove repository reference \"%s\" "
		    "(must force) - container %s is using its referenced image %s",
		    ref, c12, i12);
	}
	struct husk_ref parsed;
	int r = husk_ref_parse(ref, &parsed, rm->err);
	if (r < 0)
		return r;
	_cleanup_free_ char *key = parsed.digest ? NULL : husk_ref_familiar(&parsed);
	if (parsed.digest) {
		_cleanup_free_ char *name = husk_ref_familiar_name(&parsed);
		key = xasprintf("%s@%s", name, parsed.digest);
	}
	husk_ref_clear(&parsed);
	if (!jstr(rm->idx, key))
		return husk_error_set(rm->err, -ENOENT, "No such image: %s", key);
	untag(rm, key);
	if (!strchr(key, '@'))
		untag_orphan_digests(rm, key);
	_cleanup_strv_ char **left = refs_of(rm->idx, rm->id);
	if (left[0])
		return 0;
	return delete_helper(rm, force, true, chain);
}

static int remove_by_id(struct removal *rm, bool force, char *const *chain)
{
	_cleanup_strv_ char **refs = refs_of(rm->idx, rm->id);
	if (single_reference(refs)) {
		bool hard, used;
		unsigned mask = CONFLICT_HARD | (force ? 0 : CONFLICT_STOPPED);
		_cleanup_free_ char *msg = find_conflict(rm, mask, &hard, &used);
		if (msg)
			return conflict_error(rm, hard, msg);
		for (size_t i = 0; refs[i]; i++)
			untag(rm, refs[i]);
	}
	return delete_helper(rm, force, false, chain);
}

static int remove_locked(struct removal *rm, const char *ref, bool force, struct husk_image *img)
{
	/* The layers, as chain ids ("sha256:..."), as the record lists them. */
	_cleanup_strv_ char **chain = xcalloc(1, sizeof(char *));
	for (size_t i = 0; img->layers[i]; i++) {
		_cleanup_free_ char *c = xasprintf("sha256:%s", img->layers[i]);
		chain = strv_push(chain, c);
	}
	json_t *before = json_deep_copy(rm->idx);
	int r = is_id_prefix(img->id, ref) ? remove_by_id(rm, force, chain)
					   : remove_by_name(rm, ref, force, chain);
	if (!json_equal(before, rm->idx)) {
		int k = image_index_save(rm->s, rm->idx);
		if (k < 0 && r == 0)
			r = husk_error_sys(rm->err, k, "write images/repositories.json");
	}
	json_decref(before);
	return r;
}

int husk_image_remove(const struct husk_store *s, const struct husk_idmap *m, const char *ref,
		      bool force, bool noprune, json_t *report, struct husk_error *err)
{
	/* noprune is about parent images, which only builds make; husk has none. */
	(void)noprune;
	struct removal rm = {.s = s, .report = report, .err = err};
	_cleanup_store_lock_ int lock = husk_store_lock(s);
	if (lock < 0)
		return husk_error_sys(err, lock, "lock the store");
	_cleanup_image_ struct husk_image *img = NULL;
	int r = husk_image_find(s, ref, &img, err);
	if (r < 0)
		return r;
	rm.id = img->id;
	rm.idx = image_index_load(s);
	if (!rm.idx)
		return husk_error_set(err, -EIO, "images/repositories.json is corrupt");
	rm.trash = xcalloc(1, sizeof(char *));
	r = remove_locked(&rm, ref, force, img);
	json_decref(rm.idx);
	husk_store_unlock(TAKE_FD(lock));
	/* The layers are out of sight already; deleting their files may take a while. */
	for (size_t i = 0; rm.trash[i]; i++) {
		struct husk_error e = {0};
		if (husk_tree_remove(m, rm.trash[i], &e) < 0)
			husk_log(LOG_WARNING, "remove %s: %s", rm.trash[i], e.message);
		if (rm.locks[i] >= 0)
			close(rm.locks[i]);
	}
	strv_free(rm.trash);
	free(rm.locks);
	husk_layer_sweep(s, m);
	return r;
}
