/* Unpacking a layer tarball into the store, inside the user namespace. */
#include "layer.h"
#include "fs.h"
#include "json.h"
#include "log.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OPAQUE_XATTR "user.overlay.opaque"

/* The child's findings, in a shared page: the child is a forked process. */
struct unpack_result {
	char diff_id[HUSK_DIGEST_SIZE];
	struct husk_blob_info blob;
	int64_t size;
	unsigned devices_skipped;
	char first_device[256]; /* logged by the parent: the child of a threaded process
				   should not take locks such as the log's */
};

struct unpack {
	int in_fd, tee_fd, root_fd;
	struct unpack_result *res;
	/* child-only */
	struct husk_sha256 raw, diff;
	struct archive *outer;
	char *rbuf, *tbuf;
};

#define BUF_SIZE (128 * 1024)

/* libarchive reads the raw blob through here: it is hashed as it goes by. */
static la_ssize_t raw_read(struct archive *a, void *cls, const void **buf)
{
	struct unpack *u = cls;
	ssize_t n;
	do
		n = read(u->in_fd, u->rbuf, BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read");
		return -1;
	}
	husk_sha256_update(&u->raw, u->rbuf, (size_t)n);
	*buf = u->rbuf;
	return n;
}

/* The tar reader reads the decompressed stream through here: hashed into the diff id. */
static la_ssize_t tar_read(struct archive *a, void *cls, const void **buf)
{
	struct unpack *u = cls;
	la_ssize_t n = archive_read_data(u->outer, u->tbuf, BUF_SIZE);
	if (n < 0) {
		archive_set_error(a, archive_errno(u->outer), "%s", archive_error_string(u->outer));
		return -1;
	}
	husk_sha256_update(&u->diff, u->tbuf, (size_t)n);
	if (u->tee_fd >= 0 && n > 0 && write_all(u->tee_fd, u->tbuf, (size_t)n) < 0) {
		archive_set_error(a, errno, "write the layer blob");
		return -1;
	}
	*buf = u->tbuf;
	return n;
}

/* The digests cover the whole streams, also what follows the tar's end-of-archive blocks. */
static int drain(struct unpack *u, struct archive *tar)
{
	const void *buf;
	la_ssize_t n;
	while ((n = tar_read(tar, u, &buf)) > 0)
		;
	if (n < 0)
		return -EIO;
	while ((n = raw_read(tar, u, &buf)) > 0)
		;
	return n < 0 ? -EIO : 0;
}

char *husk_tar_path_clean(const char *p)
{
	_cleanup_free_ char *s = xstrdup(p ? p : "");
	char *out = xcalloc(1, strlen(s) + 2), *save = NULL;
	for (char *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (streq(c, "."))
			continue;
		if (streq(c, "..")) {
			free(out);
			return NULL;
		}
		if (*out)
			strcat(out, "/");
		strcat(out, c);
	}
	if (!*out)
		strcpy(out, ".");
	return out;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

static int whiteout(const char *path, const char *base, struct husk_error *err)
{
	_cleanup_free_ char *dir = parent_of(path);
	if (!streq(dir, ".")) {
		int r = mkdir_p(dir, 0755);
		if (r < 0)
			return husk_error_sys(err, r, "layer: mkdir %s", dir);
	}
	if (streq(base, ".wh..wh..opq")) {
		if (setxattr(dir, OPAQUE_XATTR, "y", 1, 0) < 0)
			return husk_error_sys(err, -errno, "layer: mark %s opaque", dir);
		return 0;
	}
	const char *name = base + 4;
	/* ".wh..wh.*" other than opq is aufs bookkeeping, not a deletion. */
	if (str_startswith(base, ".wh..wh.") || !*name || streq(name, ".") || streq(name, ".."))
		return 0;
	_cleanup_free_ char *target = xasprintf("%s/%s", dir, name);
	rm_rf(target);
	if (mknod(target, S_IFCHR, makedev(0, 0)) < 0)
		return husk_error_sys(err, -errno, "layer: whiteout %s", target);
	return 0;
}

/* Overlay interprets these xattrs; an image must not smuggle its own in. */
static void drop_overlay_xattrs(struct archive_entry *e)
{
	if (archive_entry_xattr_reset(e) == 0)
		return;
	struct keep {
		char *name;
		void *value;
		size_t size;
	} *keep = xcalloc((size_t)archive_entry_xattr_count(e), sizeof *keep);
	size_t n = 0;
	bool dropped = false;
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (str_startswith(name, "user.overlay.") ||
		    str_startswith(name, "trusted.overlay.")) {
			dropped = true;
			continue;
		}
		keep[n].name = xstrdup(name);
		keep[n].value = xmalloc(size);
		memcpy(keep[n].value, value, size);
		keep[n++].size = size;
	}
	if (dropped) {
		archive_entry_xattr_clear(e);
		for (size_t i = 0; i < n; i++)
			archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
	}
	for (size_t i = 0; i < n; i++) {
		free(keep[i].name);
		free(keep[i].value);
	}
	free(keep);
}

static int copy_data(struct archive *in, struct archive *out, const char *path,
		     struct husk_error *err)
{
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return husk_error_set(err, -EINVAL, "invalid tar archive: %s: %s", path,
					      archive_error_string(in));
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
			return husk_error_set(err, -EIO, "layer: write %s: %s", path,
					      archive_error_string(out));
	}
}

/* Devices other than a whiteout cannot be made in a user namespace; Docker's rootless mode
 * skips them too. */
static bool skip_device(struct unpack *u, struct archive_entry *e, const char *path)
{
	mode_t t = archive_entry_filetype(e);
	if (t != AE_IFBLK && !(t == AE_IFCHR && archive_entry_rdev(e) != 0))
		return false;
	if (u->res->devices_skipped++ == 0)
		snprintf(u->res->first_device, sizeof u->res->first_device, "/%s", path);
	return true;
}

static int extract_entry(struct unpack *u, struct archive *in, struct archive *out,
			 struct archive_entry *e, struct husk_error *err)
{
	_cleanup_free_ char *path = husk_tar_path_clean(archive_entry_pathname(e));
	if (!path)
		return husk_error_set(err, -EINVAL, "invalid tar archive: path %s leaves the layer",
				      archive_entry_pathname(e));
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (str_startswith(base, ".wh."))
		return whiteout(path, base, err);
	if (skip_device(u, e, path))
		return 0;
	archive_entry_set_pathname(e, path);
	if (archive_entry_hardlink(e)) {
		_cleanup_free_ char *target = husk_tar_path_clean(archive_entry_hardlink(e));
		if (!target)
			return husk_error_set(
			    err, -EINVAL, "invalid tar archive: link %s leaves the layer", path);
		archive_entry_set_hardlink(e, target);
	}
	drop_overlay_xattrs(e);
	/* Warnings are owners outside the id mapping, xattrs the kernel refuses: the file is
	 * there, as Docker's rootless unpacking leaves it. */
	int r = archive_write_header(out, e);
	if (r < ARCHIVE_WARN)
		return husk_error_set(err, -EIO, "layer: %s: %s", path, archive_error_string(out));
	if (archive_entry_size(e) > 0) {
		r = copy_data(in, out, path, err);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(out) < ARCHIVE_WARN)
		return husk_error_set(err, -EIO, "layer: %s: %s", path, archive_error_string(out));
	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
		u->res->size += archive_entry_size(e);
	return 0;
}

static struct archive *disk_writer(void)
{
	struct archive *w = archive_write_disk_new();
	/* No user lookup is set: owners are the numeric ids of the tar, as Docker keeps them. */
	archive_write_disk_set_options(
	    w, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
		   ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
		   ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	return w;
}

static int extract_all(struct unpack *u, struct archive *tar, struct husk_error *err)
{
	struct archive *out = disk_writer();
	int r = 0;
	for (;;) {
		struct archive_entry *e;
		int k = archive_read_next_header(tar, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = husk_error_set(err, -EINVAL, "invalid tar archive: %s",
					   archive_error_string(tar));
			break;
		}
		r = extract_entry(u, tar, out, e, err);
		if (r < 0)
			break;
	}
	archive_write_free(out);
	return r;
}

static struct archive *open_outer(struct unpack *u, struct husk_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	if (archive_read_open(a, u, NULL, raw_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		husk_error_set(err, -EINVAL, "invalid tar archive: %s",
			       str_or(archive_error_string(a), "empty input"));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int unpack_stream(struct unpack *u, struct husk_error *err)
{
	u->outer = open_outer(u, err);
	if (!u->outer)
		return err->code;
	struct archive *tar = archive_read_new();
	archive_read_support_format_tar(tar);
	int r = 0;
	if (archive_read_open(tar, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		r = husk_error_set(err, -EINVAL, "invalid tar archive: %s",
				   archive_error_string(tar));
	if (r == 0)
		r = extract_all(u, tar, err);
	if (r == 0 && drain(u, tar) < 0)
		r = husk_error_set(err, -EIO, "read layer: %s", archive_error_string(tar));
	archive_read_free(tar);
	archive_read_free(u->outer);
	return r;
}

/* In the user namespace, as its root. */
static int unpack_child(void *arg, struct husk_error *err)
{
	struct unpack *u = arg;
	if (fchdir(u->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return husk_error_sys(err, -errno, "layer: chroot");
	/* Entries get their own modes (ARCHIVE_EXTRACT_PERM ignores the umask); this is for the
	 * parents a tar does not list, which Docker makes 0755. */
	umask(022);
	u->rbuf = xmalloc(BUF_SIZE);
	u->tbuf = xmalloc(BUF_SIZE);
	husk_sha256_init(&u->raw);
	husk_sha256_init(&u->diff);
	int r = unpack_stream(u, err);
	if (r == 0 && syncfs(u->root_fd) < 0)
		r = husk_error_sys(err, -errno, "layer: syncfs");
	if (r == 0) {
		u->res->blob.size = u->raw.bytes;
		husk_sha256_final(&u->raw, u->res->blob.digest);
		husk_sha256_final(&u->diff, u->res->diff_id);
	}
	husk_sha256_free(&u->raw);
	husk_sha256_free(&u->diff);
	return r;
}

static int write_layer_json(const char *dir, const struct husk_layer *l, const char *parent)
{
	json_t *j = json_pack("{s:s, s:s, s:s?, s:I}", "DiffID", l->diff_id, "ChainID", l->chain_id,
			      "Parent", parent, "Size", (json_int_t)l->size);
	_cleanup_free_ char *p = xasprintf("%s/layer.json", dir);
	int r = json_store_path(p, j, true);
	json_decref(j);
	return r;
}

/* Checks what the child found, and moves the finished layer into place. */
static int commit_layer(const struct husk_store *s, const char *tmp, const char *parent,
			const char *expect, const struct unpack_result *res, struct husk_layer *out,
			struct husk_error *err)
{
	if (expect && !streq(expect, res->diff_id))
		return husk_error_set(err, -EINVAL,
				      "layer content does not match the image: expected diff id "
				      "%s, the tarball has %s",
				      expect, res->diff_id);
	snprintf(out->diff_id, sizeof out->diff_id, "%s", res->diff_id);
	husk_chain_id(parent, res->diff_id, out->chain_id);
	out->size = res->size;
	int r = write_layer_json(tmp, out, parent);
	if (r < 0)
		return husk_error_sys(err, r, "write %s/layer.json", tmp);
	_cleanup_free_ char *final = husk_layer_path(s, out->chain_id);
	if (rename(tmp, final) < 0) {
		if (errno != ENOTEMPTY && errno != EEXIST)
			return husk_error_sys(err, -errno, "rename %s", final);
		/* Someone else made the same layer first: theirs is as good as ours, unless it
		 * is broken (not made by us: every layer comes in complete by rename). */
		struct husk_layer l;
		if (husk_layer_read(s, out->chain_id, &l) == 0)
			return 1;
		_cleanup_free_ char *trash = NULL;
		_cleanup_close_ int lock = -1;
		husk_layer_hide(s, out->chain_id, &trash, &lock);
		if (rename(tmp, final) < 0)
			return husk_error_sys(err, -errno, "rename %s", final);
	}
	_cleanup_free_ char *layers = husk_store_data_path(s, "images/layers");
	fsync_dir(layers);
	return 0;
}

static int make_tmp_layer(const struct husk_store *s, char **tmp, int *root_fd, int *lock,
			  struct husk_error *err)
{
	_cleanup_free_ char *layers = husk_store_data_path(s, "images/layers");
	int r = mkdir_p(layers, 0700);
	if (r < 0)
		return husk_error_sys(err, r, "create %s", layers);
	char *t = xasprintf("%s/.tmp-XXXXXX", layers);
	if (!mkdtemp(t)) {
		r = husk_error_sys(err, -errno, "create a directory in %s", layers);
		free(t);
		return r;
	}
	*lock = husk_dir_lock(t);
	_cleanup_free_ char *diff = xasprintf("%s/diff", t);
	if (*lock < 0 || mkdir(diff, 0755) < 0 ||
	    (*root_fd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = husk_error_sys(err, *lock < 0 ? *lock : -errno, "create %s", diff);
		rmdir(diff);
		rmdir(t);
		free(t);
		return r;
	}
	*tmp = t;
	return 0;
}

int husk_layer_unpack(const struct husk_store *s, const struct husk_idmap *m, int fd,
		      const char *parent_chain, const char *expect_diff_id, int tee_fd,
		      struct husk_layer *out, struct husk_blob_info *blob, struct husk_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int root_fd = -1, lock = -1;
	int r = make_tmp_layer(s, &tmp, &root_fd, &lock, err);
	if (r < 0)
		return r;
	struct unpack_result *res =
	    mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		r = husk_error_sys(err, -errno, "mmap");
		husk_tree_remove(m, tmp, NULL);
		return r;
	}
	memset(res, 0, sizeof *res);
	struct unpack u = {.in_fd = fd, .tee_fd = tee_fd, .root_fd = root_fd, .res = res};
	r = husk_userns_run(m, unpack_child, &u, err);
	if (r == 0)
		r = commit_layer(s, tmp, parent_chain, expect_diff_id, res, out, err);
	if (r != 0)
		husk_tree_remove(m, tmp, NULL);
	if (r >= 0 && blob)
		*blob = res->blob;
	if (r >= 0 && res->devices_skipped)
		husk_log(LOG_INFO,
			 "layer %s: skipped %u device node(s) (%s, ...): they cannot be created in "
			 "a user namespace",
			 out->diff_id, res->devices_skipped, res->first_device);
	munmap(res, sizeof *res);
	return r < 0 ? r : 0;
}

