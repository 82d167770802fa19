/* husk-helper's container commands: docker cp (archive-get, archive-put), docker export and
 * docker diff (changes). Their work happens inside the container's root file system
 * (core/rootfs.c), in a child process: this one stays outside, to answer and to log events. */
#include "helper.h"

#include "core/archive.h"
#include "core/changes.h"
#include "core/container.h"
#include "core/events.h"
#include "core/extract.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/rootfs.h"
#include "core/spec.h"

#include <archive.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>

static void event(const struct husk_store *s, const struct husk_container *c, const char *action)
{
	husk_event_emit(s, "container", action, c->id, husk_event_container_attrs(c->config));
}

static int not_found(const struct helper_args *a, struct husk_error *err)
{
	return husk_error_set(err, -ENOENT, "Could not find the file %s in container %s", a->path,
			      a->ref);
}

static int open_root(struct husk_error *err)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? husk_error_sys(err, -errno, "open the container's root") : fd;
}

static int load(const struct husk_store *s, const struct helper_args *a, struct husk_container **c,
		struct husk_error *err)
{
	int r = husk_container_load(s, str_or(a->id, ""), c, err);
	if (r < 0)
		husk_error_set(err, r, "No such container: %s", str_or(a->ref, a->id));
	return r;
}

/* What a command that streams a tar after its head line hands to its work inside. */
struct stream {
	const struct helper_args *a;
	bool *said; /* the head line went out: a failure can only cut the stream short */
};

/* Runs fn inside the container's root file system; the event action (NULL: none) on
 * success. */
static int streamed(const struct husk_store *s, const struct husk_idmap *m,
		    const struct helper_args *a,
		    int (*fn)(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err),
		    const char *action)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (load(s, a, &c, &err) < 0)
		return helper_fail(&err);
	/* Shared with the child that does the work. */
	bool *said =
	    mmap(NULL, sizeof(bool), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (said == MAP_FAILED)
		return helper_fail(&(struct husk_error){-EIO, "mmap failed"});
	*said = false;
	struct stream st = {.a = a, .said = said};
	int r = husk_rootfs_run(s, m, c, fn, &st, &err);
	bool out = *said;
	munmap(said, sizeof(bool));
	if (r < 0)
		return out ? 1 : helper_fail(&err);
	if (action)
		event(s, c, action);
	return 0;
}

/* --- archive-get: {"stat":{...},"header":BASE64} then the tar (not for HEAD) --- */

static void stat_line(const struct husk_path_stat *ps)
{
	json_t *stat = husk_path_stat_json(ps->name, &ps->st, ps->link_target);
	_cleanup_free_ char *compact = json_compact(stat);
	size_t n = strlen(compact);
	_cleanup_free_ char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)compact, (int)n);
	helper_line(json_pack("{s:o, s:s}", "stat", stat, "header", b64));
}

static int get_inside(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err)
{
	struct stream *g = arg;
	_cleanup_close_ int root = open_root(err);
	if (root < 0)
		return root;
	struct husk_path_stat ps;
	int r = husk_archive_stat(root, g->a->path, &ps);
	if (r == -ENOENT)
		r = not_found(g->a, err);
	else if (r < 0)
		r = husk_error_sys(err, r, "stat %s", g->a->path);
	if (r == 0) {
		stat_line(&ps);
		*g->said = true;
		if (!g->a->head_only)
			r = husk_archive_write(root, &ps, ps.name, HUSK_WALK_MOUNTS, STDOUT_FILENO,
					       err);
	}
	husk_path_stat_clear(&ps);
	return r;
}

int helper_archive_get(const struct husk_store *s, const struct husk_idmap *m,
		       const struct helper_args *a)
{
	return streamed(s, m, a, get_inside, a->head_only ? NULL : "archive-path");
}

/* --- archive-put: the tar on stdin; then {} or the failure --- */

struct put {
	const struct helper_args *a;
	struct archive *in;
};

static int put_inside(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err)
{
	struct put *p = arg;
	_cleanup_close_ int root = open_root(err);
	if (root < 0)
		return root;
	/* The extraction point: every symlink followed, the last one too (a symlink to a
	 * directory is a directory to extract into), inside the root. */
	_cleanup_free_ char *abs = husk_archive_abs_path(p->a->path);
	_cleanup_close_ int fd = openat2_in_root(root, abs, O_PATH);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return not_found(p->a, err);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_error_sys(err, fd < 0 ? fd : -errno, "stat %s", p->a->path);
	if (!S_ISDIR(st.st_mode))
		return husk_error_set(err, -EINVAL, "extraction point is not a directory");
	_cleanup_free_ char *dest = NULL;
	int r = husk_path_resolve(root, abs, &dest);
	if (r < 0)
		return husk_error_sys(err, r, "resolve %s", p->a->path);
	r = husk_extract_writable(ctx->spec, dest, err);
	if (r < 0)
		return r;
	struct husk_extract_opts o = {.no_overwrite_dir_non_dir = p->a->no_overwrite_dir_non_dir,
				      .copy_uid_gid = p->a->copy_uid_gid};
	return husk_extract(root, dest, p->in, &o, err);
}

/* The archive, read once through before anything is written (when it is a file, as husk-api
 * hands it): an entry that would leave the directory refuses it all. Then the reader to
 * extract with, opened here: a decompressor libarchive runs as a program is the host's. */
static struct archive *put_reader(const char *path, struct husk_error *err)
{
	if (lseek(STDIN_FILENO, 0, SEEK_CUR) >= 0) {
		struct archive *check = husk_extract_reader(STDIN_FILENO, err);
		if (!check)
			return NULL;
		_cleanup_free_ char *abs = husk_archive_abs_path(path);
		int r = husk_extract_check(check, abs, err);
		archive_read_free(check);
		if (r < 0 || lseek(STDIN_FILENO, 0, SEEK_SET) < 0)
			return NULL;
	}
	return husk_extract_reader(STDIN_FILENO, err);
}

int helper_archive_put(const struct husk_store *s, const struct husk_idmap *m,
		       const struct helper_args *a)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (load(s, a, &c, &err) < 0)
		return helper_fail(&err);
	struct put p = {.a = a, .in = put_reader(a->path, &err)};
	if (!p.in)
		return helper_fail(&err);
	int r = husk_rootfs_run(s, m, c, put_inside, &p, &err);
	archive_read_free(p.in);
	if (r < 0)
		return helper_fail(&err);
	event(s, c, "extract-to-dir");
	helper_line(json_object());
	return 0;
}

/* --- export: {} then the tar of the root file system --- */

static int export_inside(const struct husk_rootfs_ctx *ctx, void *arg, struct husk_error *err)
{
	bool *said = ((struct stream *)arg)->said;
	_cleanup_close_ int root = open_root(err);
	if (root < 0)
		return root;
	struct husk_path_stat ps;
	int r = husk_archive_stat(root, "/", &ps);
	if (r < 0)
		r = husk_error_sys(err, r, "stat /");
	if (r == 0) {
		helper_line(json_object());
		*said = true;
		r = husk_archive_write(root, &ps, NULL, HUSK_WALK_XDEV, STDOUT_FILENO, err);
	}
	husk_path_stat_clear(&ps);
	return r;
}

int helper_export(const struct husk_store *s, const struct husk_idmap *m,
		  const struct helper_args *a)
{
	return streamed(s, m, a, export_inside, "export");
}

/* --- changes: {"changes":[{"Path","Kind"},...] or null} --- */

static int changes_inside(void *arg, struct husk_error *err)
{
	const struct husk_spec *spec = arg;
	_cleanup_close_ int upper = open(spec->upperdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int layers = open(spec->layers_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (upper < 0 || layers < 0)
		return husk_error_sys(err, -errno, "open %s",
				      upper < 0 ? spec->upperdir : spec->layers_dir);
	size_t n = strv_length(spec->lowerdirs);
	_cleanup_free_ int *lowers = xcalloc(n + 1, sizeof(int));
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		lowers[i] = openat(layers, spec->lowerdirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lowers[i] < 0 && r == 0)
			r = husk_error_sys(err, -errno, "open layer %s", spec->lowerdirs[i]);
	}
	_cleanup_strv_ char **ignore = husk_changes_mount_points(spec);
	json_t *changes = NULL;
	if (r == 0)
		r = husk_changes(upper, lowers, n, ignore, &changes, err);
	if (r == 0)
		helper_line(json_pack("{s:o}", "changes", changes));
	for (size_t i = 0; i < n; i++)
		if (lowers[i] >= 0)
			close(lowers[i]);
	return r;
}

int helper_changes(const struct husk_store *s, const struct husk_idmap *m,
		   const struct helper_args *a)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (load(s, a, &c, &err) < 0)
		return helper_fail(&err);
	struct husk_spec spec;
	int r = husk_spec_from_config(s, c->config, &spec, &err);
	/* The upper directory's files belong to the user's sub-ids: read as the namespace's
	 * root. */
	if (r == 0)
		r = husk_userns_run(m, changes_inside, &spec, &err);
	husk_spec_free(&spec);
	return r < 0 ? helper_fail(&err) : 0;
}
