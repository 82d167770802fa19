/* docker load: a `docker save` tarball, in Docker's layout (manifest.json) or OCI's (index.json),
 * docker 25 and later writing both into one tar.
 *
 * Entries come in any order, so the tarball is first spooled into a private directory on the
 * data file system, hashing every file as it is written; paths in the manifests are then
 * opened with openat2(RESOLVE_IN_ROOT), so neither a "../" nor a symlink in the archive can
 * reach outside the spool. Layer files become blobs by hard link, without a copy. */
#include "image_internal.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "reference.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct spooled {
	dev_t dev;
	ino_t ino;
	char *path;
	char digest[HUSK_DIGEST_SIZE];
	int64_t size;
};

/* One image to load, as the archive's manifests describe it (paths inside the spool). */
struct load_image {
	char *config;
	char **layers;
	char **tags;
	/* once prepared */
	char **familiar;
	char *text; /* the config */
	size_t len;
	char id[HUSK_DIGEST_SIZE], manifest[HUSK_DIGEST_SIZE];
};

struct load {
	const struct husk_store *s;
	const struct husk_idmap *m;
	bool quiet;
	void (*progress)(void *cls, json_t *msg);
	void *cls;
	struct husk_error *err;
	char *dir; /* the spool */
	int dfd;
	struct spooled *files;
	size_t nfiles;
	struct load_image *images;
	size_t nimages;
	json_t *followed; /* keys "path name": each index and manifest read, name maybe "" */
};

/* An index may list the same index many times over, each listing it again: each descriptor is
 * followed once per name, and only so many, or a small archive would make the load endless. */
#define OCI_FOLLOW_MAX 10000

/* Without openat2 (kernels before 5.6, valgrind): walk the components refusing symlinks, so
 * only an old docker save that links shared layers fails. */
static int open_in_nofollow(int root, const char *path, int flags)
{
	_cleanup_free_ char *p = husk_tar_path_clean(path); /* no ".." */
	if (!p)
		return -ENOENT;
	_cleanup_close_ int dir = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL, *c = strtok_r(p, "/", &save);
	while (dir >= 0 && c) {
		char *next = strtok_r(NULL, "/", &save);
		int f = next ? O_PATH | O_DIRECTORY : flags;
		int fd = openat(dir, c, f | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ELOOP ? -ENOENT : -errno;
		close(dir);
		dir = fd;
		c = next;
	}
	return dir < 0 ? -errno : TAKE_FD(dir);
}

static int open_in(int root, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		return open_in_nofollow(root, path, flags);
	return fd < 0 ? -errno : fd;
}

static void emit(struct load *ld, json_t *msg)
{
	if (ld->progress)
		ld->progress(ld->cls, msg);
	json_decref(msg);
}

static void emit_stream(struct load *ld, char *line /* freed */)
{
	emit(ld, json_pack("{s:s}", "stream", line));
	free(line);
}

static void emit_layer(struct load *ld, const char *diff_id, int64_t current, int64_t total)
{
	if (ld->quiet)
		return;
	char id[13];
	snprintf(id, sizeof id, "%s", husk_digest_hex(diff_id));
	emit(ld, json_pack("{s:s, s:{s:I, s:I}, s:s}", "status", "Loading layer", "progressDetail",
			   "current", (json_int_t)current, "total", (json_int_t)total, "id", id));
}

/* --- spooling --- */

/* The directory path inside the spool, made when create is set. */
static int open_dir(int root, const char *path, bool create)
{
	int fd = open_in(root, path, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT || !create)
		return fd;
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	_cleanup_close_ int pfd = open_dir(root, parent, true);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* -ENOTSUP for a sparse file: docker save writes none, and its holes, written out as zeros,
 * would make a few bytes of archive fill the disk. */
static int spool_data(struct archive *a, struct archive_entry *e, int fd, struct spooled *f)
{
	struct husk_sha256 h;
	husk_sha256_init(&h);
	int r = 0;
	for (;;) {
		const void *buf;
		size_t n;
		la_int64_t off;
		int k = archive_read_data_block(a, &buf, &n, &off);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN)
			r = -EINVAL;
		else if (off != (la_int64_t)h.bytes)
			r = -ENOTSUP;
		else if (n > 0) {
			husk_sha256_update(&h, buf, n);
			r = write_all(fd, buf, n);
		}
		if (r < 0)
			break;
	}
	if (r == 0 && h.bytes != archive_entry_size(e))
		r = -ENOTSUP; /* a hole at the end */
	f->size = h.bytes;
	if (r == 0)
		husk_sha256_final(&h, f->digest);
	husk_sha256_free(&h);
	return r;
}

static int spool_file(struct load *ld, struct archive *a, struct archive_entry *e, int pfd,
		      const char *base, const char *path)
{
	unlinkat(pfd, base, 0);
	_cleanup_close_ int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_error_sys(ld->err, -errno, "spool %s", path);
	struct spooled f = {.path = xstrdup(path)};
	int r = spool_data(a, e, fd, &f);
	struct stat st;
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r < 0) {
		free(f.path);
		if (r == -EINVAL)
			return husk_error_set(ld->err, -EINVAL, "invalid tar archive: %s: %s", path,
					      archive_error_string(a));
		if (r == -ENOTSUP)
			return husk_error_set(ld->err, -EINVAL,
					      "invalid tar archive: %s is a sparse file (docker save "
					      "writes none)",
					      path);
		return husk_error_sys(ld->err, r, "spool %s", path);
	}
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	ld->files = xrealloc(ld->files, (ld->nfiles + 1) * sizeof *ld->files);
	ld->files[ld->nfiles++] = f;
	return 0;
}

static int spool_entry(struct load *ld, struct archive *a, struct archive_entry *e)
{
	_cleanup_free_ char *path = husk_tar_path_clean(archive_entry_pathname(e));
	if (!path)
		return husk_error_set(ld->err, -EINVAL, "invalid tar archive: path %s has \"..\"",
				      archive_entry_pathname(e));
	mode_t type = archive_entry_filetype(e);
	if (streq(path, ".") || (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK))
		return 0;
	if (type == AE_IFDIR) {
		int fd = open_dir(ld->dfd, path, true);
		if (fd < 0)
			return husk_error_sys(ld->err, fd, "spool %s", path);
		close(fd);
		return 0;
	}
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	_cleanup_close_ int pfd = open_dir(ld->dfd, parent, true);
	if (pfd < 0)
		return husk_error_sys(ld->err, pfd, "spool %s", path);
	if (type == AE_IFREG && !archive_entry_hardlink(e))
		return spool_file(ld, a, e, pfd, base, path);
	if (type == AE_IFLNK && archive_entry_symlink(e)) {
		/* Old docker save links a layer shared by two images; resolved in the root. */
		unlinkat(pfd, base, 0);
		if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
			return husk_error_sys(ld->err, -errno, "spool %s", path);
	}
	return 0;
}

static int spool(struct load *ld, int fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		r = husk_error_set(ld->err, -EINVAL, "invalid tar archive: %s",
				   archive_error_string(a));
	while (r == 0) {
		struct archive_entry *e;
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN)
			r = husk_error_set(ld->err, -EINVAL,
					   "invalid tar archive: %s (docker load takes what docker "
					   "save writes)",
					   archive_error_string(a));
		else
			r = spool_entry(ld, a, e);
	}
	archive_read_free(a);
	return r;
}

static const struct spooled *spooled_of(struct load *ld, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	for (size_t i = 0; i < ld->nfiles; i++)
		if (ld->files[i].dev == st.st_dev && ld->files[i].ino == st.st_ino)
			return &ld->files[i];
	return NULL;
}

/* Reads a whole file opened in the spool (the path given to read_file is the fd's own). */
static int read_fd(int fd, char **buf, size_t *len)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	int r = read_file(p, buf, len, IMAGE_CONFIG_MAX);
	close(fd);
	return r;
}

static json_t *read_json(struct load *ld, const char *path)
{
	int fd = open_in(ld->dfd, path, O_RDONLY);
	if (fd < 0) {
		husk_error_set(ld->err, fd == -ENOENT ? -EINVAL : -EIO, "invalid archive: %s: %s",
			       path, strerror(-fd));
		return NULL;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_fd(fd, &buf, &len);
	json_error_t je;
	json_t *j = r == 0 ? json_loadb(buf, len, 0, &je) : NULL;
	if (!j)
		husk_error_set(ld->err, -EINVAL, "invalid archive: %s: %s", path,
			       r < 0 ? strerror(-r) : je.text);
	return j;
}

/* --- the archive's layouts --- */

static void add_image(struct load *ld, const char *config, char **layers, char **tags)
{
	ld->images = xrealloc(ld->images, (ld->nimages + 1) * sizeof *ld->images);
	ld->images[ld->nimages++] =
	    (struct load_image){.config = xstrdup(config), .layers = layers, .tags = tags};
}

/* manifest.json: [{"Config": path, "RepoTags": [...], "Layers": [paths]}] */
static int docker_layout(struct load *ld, json_t *manifest)
{
	json_t *item;
	size_t i;
	if (!json_is_array(manifest))
		return husk_error_set(ld->err, -EINVAL,
				      "invalid archive: manifest.json is not a list");
	json_array_foreach(manifest, i, item)
	{
		char **layers = NULL, **tags = NULL;
		const char *config = jstr(item, "Config");
		if (!config || json_to_strv(json_object_get(item, "Layers"), &layers) < 0 ||
		    json_to_strv(json_object_get(item, "RepoTags"), &tags) < 0) {
			strv_free(layers);
			strv_free(tags);
			return husk_error_set(ld->err, -EINVAL,
					      "invalid archive: manifest.json entry %zu", i);
		}
		add_image(ld, config, layers, tags);
	}
	return 0;
}

static char *blob_in_spool(struct load *ld, const char *digest)
{
	if (!digest || !husk_digest_valid(digest)) {
		husk_error_set(ld->err, -EINVAL, "invalid archive: unsupported digest %s",
			       str_or(digest, "(none)"));
		return NULL;
	}
	return xasprintf("blobs/sha256/%s", husk_digest_hex(digest));
}

/* The name an OCI index gives a manifest: containerd's full name, or a full reference in
 * ref.name (a bare tag there names nothing by itself). */
static const char *oci_name(const json_t *desc)
{
	json_t *ann = jobj(desc, "annotations");
	const char *n = jstr(ann, "io.containerd.image.name");
	if (n)
		return n;
	n = jstr(ann, "org.opencontainers.image.ref.name");
	return n && strpbrk(n, "/:") ? n : NULL;
}

static bool platform_ok(const json_t *desc)
{
	json_t *p = jobj(desc, "platform");
	if (jstr(jobj(desc, "annotations"), "vnd.docker.reference.type"))
		return false; /* attestations */
	return !p ||
	       (streq(jstr(p, "os"), "linux") && streq(jstr(p, "architecture"), image_host_arch()));
}

static int oci_manifest(struct load *ld, const char *path, const char *name)
{
	json_t *m = read_json(ld, path);
	if (!m)
		return ld->err->code;
	_cleanup_free_ char *config = blob_in_spool(ld, jstr(jobj(m, "config"), "digest"));
	char **layers = xcalloc(1, sizeof(char *));
	json_t *l;
	size_t i;
	int r = config ? 0 : -EINVAL;
	json_array_foreach(jarr(m, "layers"), i, l)
	{
		_cleanup_free_ char *p = r == 0 ? blob_in_spool(ld, jstr(l, "digest")) : NULL;
		if (!p)
			r = -EINVAL;
		else
			layers = strv_push(layers, p);
	}
	json_decref(m);
	if (r < 0) {
		strv_free(layers);
		return r;
	}
	char **tags = xcalloc(1, sizeof(char *));
	if (name)
		tags = strv_push(tags, name);
	add_image(ld, config, layers, tags);
	return 0;
}

static int oci_index(struct load *ld, const json_t *index, const char *name, int depth)
{
	json_t *d;
	size_t i;
	if (depth > 4)
		return husk_error_set(ld->err, -EINVAL, "invalid archive: indexes nest too deep");
	json_array_foreach(jarr(index, "manifests"), i, d)
	{
		const char *mt = str_or(jstr(d, "mediaType"), "");
		const char *n = oci_name(d) ? oci_name(d) : name;
		_cleanup_free_ char *path =
		    platform_ok(d) ? blob_in_spool(ld, jstr(d, "digest")) : NULL;
		int fd = path ? open_in(ld->dfd, path, O_RDONLY) : -ENOENT;
		if (fd < 0)
			continue; /* not for this platform, or not exported */
		close(fd);
		_cleanup_free_ char *key = xasprintf("%s %s", path, str_or(n, ""));
		if (json_object_get(ld->followed, key))
			continue;
		if (json_object_size(ld->followed) >= OCI_FOLLOW_MAX)
			return husk_error_set(ld->err, -EINVAL,
					      "invalid archive: its indexes list more than %d manifests",
					      OCI_FOLLOW_MAX);
		json_object_set_new(ld->followed, key, json_true());
		int r = 0;
		if (strstr(mt, "index") || strstr(mt, "manifest.list")) {
			json_t *sub = read_json(ld, path);
			r = sub ? oci_index(ld, sub, n, depth + 1) : ld->err->code;
			json_decref(sub);
		} else if (strstr(mt, "manifest")) {
			r = oci_manifest(ld, path, n);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_layout(struct load *ld)
{
	json_t *j = NULL;
	int r;
	int fd = open_in(ld->dfd, "manifest.json", O_RDONLY);
	if (fd >= 0) {
		close(fd);
		j = read_json(ld, "manifest.json");
		r = j ? docker_layout(ld, j) : ld->err->code;
	} else if ((fd = open_in(ld->dfd, "index.json", O_RDONLY)) >= 0) {
		close(fd);
		j = read_json(ld, "index.json");
		r = j ? oci_index(ld, j, NULL, 0) : ld->err->code;
	} else {
		r = husk_error_set(ld->err, -EINVAL,
				   "invalid archive: it has neither manifest.json nor index.json "
				   "(docker load takes what docker save writes)");
	}
	json_decref(j);
	if (r == 0 && ld->nimages == 0)
		r = husk_error_set(ld->err, -EINVAL, "invalid archive: no image in it for linux/%s",
				   image_host_arch());
	return r;
}

/* --- loading one image --- */

static int load_layer(struct load *ld, const char *path, const char *parent, const char *diff,
		      const char *chain, json_t *descriptors)
{
	_cleanup_close_ int fd = open_in(ld->dfd, path, O_RDONLY);
	const struct spooled *f = fd >= 0 ? spooled_of(ld, fd) : NULL;
	if (!f)
		return husk_error_set(ld->err, -EINVAL, "invalid archive: layer %s is missing",
				      path);
	struct husk_layer l;
	if (husk_layer_read(ld->s, chain, &l) < 0) {
		emit_layer(ld, diff, 0, f->size);
		int r = husk_layer_unpack(ld->s, ld->m, fd, parent, diff, -1, &l, NULL, ld->err);
		if (r < 0)
			return r;
		emit_layer(ld, diff, f->size, f->size);
	}
	_cleanup_free_ char *abs = xasprintf("%s/%s", ld->dir, f->path);
	int r = image_blob_link(ld->s, abs, f->digest);
	if (r < 0)
		return husk_error_sys(ld->err, r, "store layer blob %s", f->digest);
	json_array_append_new(
	    descriptors, image_layer_descriptor(image_layer_media_type(fd), f->digest, f->size));
	return 0;
}

/* The layers in place, the config and manifest stored: returns the manifest digest. */
static int load_content(struct load *ld, const struct load_image *li, const char *text, size_t len,
			char manifest[HUSK_DIGEST_SIZE])
{
	json_t *config = json_loadb(text, len, 0, NULL);
	_cleanup_strv_ char **chain = NULL, **diffs = NULL;
	int r = json_is_object(config) ? image_config_chain(config, &chain, &diffs) : -EINVAL;
	json_decref(config);
	if (r < 0)
		return husk_error_set(ld->err, -EINVAL, "invalid image config %s", li->config);
	if (strv_length(chain) != strv_length(li->layers))
		return husk_error_set(ld->err, -EINVAL,
				      "invalid manifest, layers length mismatch: expected %zu, got "
				      "%zu",
				      strv_length(chain), strv_length(li->layers));
	json_t *descriptors = json_array();
	for (size_t i = 0; r == 0 && chain[i]; i++)
		r = load_layer(ld, li->layers[i], i ? chain[i - 1] : NULL, diffs[i], chain[i],
			       descriptors);
	char id[HUSK_DIGEST_SIZE];
	if (r == 0 && (r = image_blob_write(ld->s, text, len, id)) < 0)
		husk_error_sys(ld->err, r, "write the image config");
	json_t *m = r == 0 ? image_manifest_new(id, (int64_t)len, descriptors) : NULL;
	json_decref(descriptors);
	_cleanup_free_ char *mtext = m ? json_compact(m) : NULL;
	json_decref(m);
	if (r == 0 && (r = image_blob_write(ld->s, mtext, strlen(mtext), manifest)) < 0)
		husk_error_sys(ld->err, r, "write the image manifest");
	return r;
}

static int familiar_tags(struct load *ld, char *const *tags, char ***out)
{
	*out = xcalloc(1, sizeof(char *));
	for (size_t i = 0; tags && tags[i]; i++) {
		struct husk_ref ref;
		int r = husk_ref_parse(tags[i], &ref, ld->err);
		if (r == 0 && ref.digest) {
			husk_ref_clear(&ref);
			r = husk_error_set(ld->err, -EINVAL, "invalid tag \"%s\"", tags[i]);
		}
		if (r < 0)
			return r;
		char *f = husk_ref_familiar(&ref);
		*out = strv_push(*out, f);
		free(f);
		husk_ref_clear(&ref);
	}
	return 0;
}

static void on_retag(void *cls, const char *tag, const char *old_id)
{
	emit_stream(cls, xasprintf("The image %s already exists, renaming the old one with ID %s "
				   "to empty string\n",
				   tag, old_id));
}

/* Tags checked, layers unpacked, config and manifest stored: all but the record and tags. */
static int prepare_one(struct load *ld, struct load_image *li)
{
	int r = familiar_tags(ld, li->tags, &li->familiar);
	if (r < 0)
		return r;
	int fd = open_in(ld->dfd, li->config, O_RDONLY);
	if (fd < 0)
		return husk_error_set(ld->err, -EINVAL, "invalid archive: config %s is missing",
				      li->config);
	r = read_fd(fd, &li->text, &li->len);
	if (r < 0)
		return husk_error_set(ld->err, -EINVAL, "invalid archive: %s: %s", li->config,
				      strerror(-r));
	husk_sha256_buf(li->text, li->len, li->id);
	return load_content(ld, li, li->text, li->len, li->manifest);
}

static int commit_one(struct load *ld, struct load_image *li)
{
	int r = 0;
	/* A concurrent rmi may take a shared layer between unpacking and committing. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0)
			r = load_content(ld, li, li->text, li->len, li->manifest);
		if (r == 0)
			r = image_commit(ld->s, li->id, li->manifest, li->familiar, false, on_retag,
					 ld, ld->err);
		if (r != -EAGAIN)
			break;
	}
	if (r < 0)
		return r;
	char *const *tags = li->familiar;
	for (size_t i = 0; tags[i]; i++) {
		image_event(ld->s, "load", li->id, tags[i]);
		emit_stream(ld, xasprintf("Loaded image: %s\n", tags[i]));
	}
	if (!tags[0]) {
		image_event(ld->s, "load", li->id, NULL);
		emit_stream(ld, xasprintf("Loaded image ID: %s\n", li->id));
	}
	return 0;
}

static void load_clear(struct load *ld)
{
	for (size_t i = 0; i < ld->nfiles; i++)
		free(ld->files[i].path);
	free(ld->files);
	for (size_t i = 0; i < ld->nimages; i++) {
		free(ld->images[i].config);
		strv_free(ld->images[i].layers);
		strv_free(ld->images[i].tags);
		strv_free(ld->images[i].familiar);
		free(ld->images[i].text);
	}
	free(ld->images);
	json_decref(ld->followed);
	if (ld->dir) {
		rm_rf(ld->dir);
		free(ld->dir);
	}
	if (ld->dfd >= 0)
		close(ld->dfd);
}

static int make_spool(struct load *ld)
{
	_cleanup_free_ char *tmp = husk_store_data_path(ld->s, "tmp");
	int r = mkdir_p(tmp, 0700);
	if (r < 0)
		return husk_error_sys(ld->err, r, "create %s", tmp);
	ld->dir = xasprintf("%s/load-XXXXXX", tmp);
	if (!mkdtemp(ld->dir)) {
		r = husk_error_sys(ld->err, -errno, "create a directory in %s", tmp);
		free(ld->dir);
		ld->dir = NULL;
		return r;
	}
	/* The lock tells husk_sweep that this spool is alive. */
	ld->dfd = husk_dir_lock(ld->dir);
	return ld->dfd < 0 ? husk_error_sys(ld->err, ld->dfd, "open %s", ld->dir) : 0;
}

int husk_image_load(const struct husk_store *s, const struct husk_idmap *m, int fd, bool quiet,
		    void (*progress)(void *cls, json_t *msg), void *cls, struct husk_error *err)
{
	struct load ld = {.s = s,
			  .m = m,
			  .quiet = quiet,
			  .progress = progress,
			  .cls = cls,
			  .err = err,
			  .dfd = -1,
			  .followed = json_object()};
	husk_layer_sweep(s, m);
	int r = make_spool(&ld);
	if (r == 0)
		r = spool(&ld, fd);
	if (r == 0)
		r = read_layout(&ld);
	/* Every image's content is in place before any is registered: an archive that fails
	 * half-way loads no image. */
	for (size_t i = 0; r == 0 && i < ld.nimages; i++)
		r = prepare_one(&ld, &ld.images[i]);
	for (size_t i = 0; r == 0 && i < ld.nimages; i++)
		r = commit_one(&ld, &ld.images[i]);
	load_clear(&ld);
	return r;
}
