#include "changes.h"
#include "json.h"
#include "archive.h"
#include "runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OPAQUE_XATTR "user.overlay.opaque"

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd)
{
	char v[2];
	return fgetxattr(dirfd, OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

/* path (absolute, clean) in one layer: 1 found (*st), 0 not there (look below), -1 hidden from
 * the layers below (a whiteout, a non-directory on the way, or an opaque directory without
 * it). */
static int layer_find(int layer, const char *path, struct stat *st)
{
	_cleanup_close_ int dir = fcntl(layer, F_DUPFD_CLOEXEC, 3);
	_cleanup_free_ char *copy = xstrdup(path);
	bool hides = false;
	char *save = NULL;
	char *c = strtok_r(copy, "/", &save);
	while (c && dir >= 0) {
		char *next = strtok_r(NULL, "/", &save);
		if (fstatat(dir, c, st, AT_SYMLINK_NOFOLLOW) < 0)
			return hides ? -1 : 0;
		if (is_whiteout(st))
			return -1;
		if (!next)
			return 1;
		if (!S_ISDIR(st->st_mode))
			return -1;
		int sub = openat(dir, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		dir = sub;
		hides = hides || (dir >= 0 && is_opaque(dir));
		c = next;
	}
	return dir < 0 ? 0 : -1; /* "/" itself is not looked up */
}

/* Whether the merged layers have path; its stat in *st. */
static bool lower_find(const int *lowers, size_t n, const char *path, struct stat *st)
{
	for (size_t i = n; i-- > 0;) {
		int k = layer_find(lowers[i], path, st);
		if (k != 0)
			return k > 0;
	}
	return false;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	/* Docker's sameFsTime: tars keep seconds only. */
	return (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec) ||
	       (a->tv_sec == b->tv_sec && (a->tv_nsec == 0 || b->tv_nsec == 0));
}

struct walk {
	const int *lowers;
	size_t n;
	char *const *ignore;
	json_t *list;
	json_t *changed_dirs; /* a set: the directories reported (keys are bytes: _nocheck) */
	struct husk_error *err;
};

static void add(struct walk *w, const char *path, enum husk_change_kind kind)
{
	json_array_append_new(
	    w->list, json_pack("{s:o, s:i}", "Path", json_string_lossy(path), "Kind", (int)kind));
}

/* Docker's rule: an added or deleted entry's directory is reported modified (once). */
static void parent_changed(struct walk *w, const char *path)
{
	_cleanup_free_ char *parent = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if (!*parent || json_object_get(w->changed_dirs, parent))
		return;
	add(w, parent, HUSK_CHANGE_MODIFY);
	json_object_set_new_nocheck(w->changed_dirs, parent, json_true());
}

static bool ignored(struct walk *w, const char *path)
{
	return strv_contains(w->ignore, path);
}

/* An ancestor of an ignored path: its mtime and size moved when husk made the mount point. */
static bool holds_ignored(struct walk *w, const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; w->ignore && w->ignore[i]; i++)
		if (strncmp(w->ignore[i], path, n) == 0 && w->ignore[i][n] == '/')
			return true;
	return false;
}

static int walk_dir(struct walk *w, int dirfd, const char *dpath, bool opaque);

/* One entry of the upper directory. */
static int visit(struct walk *w, int dirfd, const char *name, const char *path)
{
	struct stat st, low;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : husk_error_sys(w->err, -errno, "stat %s", path);
	bool in_lower = lower_find(w->lowers, w->n, path, &low);
	if (!in_lower && ignored(w, path))
		return 0;
	int fd = -1;
	bool opaque = false;
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return husk_error_sys(w->err, -errno, "open %s", path);
		opaque = is_opaque(fd);
	}
	enum husk_change_kind kind = HUSK_CHANGE_ADD;
	bool report = true;
	if (is_whiteout(&st)) {
		kind = HUSK_CHANGE_DELETE;
	} else if (in_lower) {
		kind = HUSK_CHANGE_MODIFY;
		if (S_ISDIR(st.st_mode) && S_ISDIR(low.st_mode) && !opaque &&
		    st.st_mode == low.st_mode &&
		    (holds_ignored(w, path) ||
		     (st.st_size == low.st_size && same_time(&st.st_mtim, &low.st_mtim))))
			report = false;
	}
	if (report) {
		if (S_ISDIR(st.st_mode))
			json_object_set_new_nocheck(w->changed_dirs, path, json_true());
		if (kind != HUSK_CHANGE_MODIFY)
			parent_changed(w, path);
		add(w, path, kind);
	}
	int r = 0;
	if (fd >= 0) {
		r = walk_dir(w, fd, path, opaque && in_lower);
		close(fd);
	}
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_names(int dirfd, char ***names)
{
	int fd = dirfd >= 0 ? openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    !strv_contains(*names, de->d_name))
			*names = strv_push(*names, de->d_name);
	closedir(d);
}

/* dir inside a layer, through no symlink. */
static int open_in_layer(int layer, const char *dir)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	return (int)syscall(SYS_openat2, layer, *dir ? dir + 1 : ".", &how, sizeof how);
}

/* What the layers' directories at dpath hold, for an opaque directory that replaced them. */
static void lower_names(struct walk *w, const char *dpath, char ***names)
{
	for (size_t i = 0; i < w->n; i++) {
		_cleanup_close_ int fd = open_in_layer(w->lowers[i], dpath);
		list_names(fd, names);
	}
}

static int walk_dir(struct walk *w, int dirfd, const char *dpath, bool opaque)
{
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	_cleanup_strv_ char **gone = xcalloc(1, sizeof(char *));
	list_names(dirfd, &names);
	if (opaque) {
		/* Deleted: what the layers still show there and the upper directory has not. */
		_cleanup_strv_ char **below = xcalloc(1, sizeof(char *));
		lower_names(w, dpath, &below);
		for (size_t i = 0; below[i]; i++) {
			struct stat st;
			_cleanup_free_ char *p = xasprintf("%s/%s", dpath, below[i]);
			if (!strv_contains(names, below[i]) &&
			    lower_find(w->lowers, w->n, p, &st)) {
				names = strv_push(names, below[i]);
				gone = strv_push(gone, below[i]);
			}
		}
	}
	qsort(names, strv_length(names), sizeof *names, cmp_str);
	int r = 0;
	for (size_t i = 0; names[i] && r == 0; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dpath, names[i]);
		if (strv_contains(gone, names[i])) {
			parent_changed(w, path);
			add(w, path, HUSK_CHANGE_DELETE);
			continue;
		}
		r = visit(w, dirfd, names[i], path);
	}
	return r;
}

int husk_changes(int upper, const int *lowers, size_t n_lowers, char *const *ignore, json_t **out,
		 struct husk_error *err)
{
	struct walk w = {.lowers = lowers,
			 .n = n_lowers,
			 .ignore = ignore,
			 .err = err,
			 .list = json_array(),
			 .changed_dirs = json_object()};
	int r = walk_dir(&w, upper, "", false);
	json_decref(w.changed_dirs);
	if (r < 0) {
		json_decref(w.list);
		return r;
	}
	if (json_array_size(w.list) == 0) {
		json_decref(w.list);
		w.list = json_null();
	}
	*out = w.list;
	return 0;
}

char **husk_changes_mount_points(const struct husk_spec *spec)
{
	static const char *const fixed[] = {"/proc",	  "/dev",	   "/sys",
					    "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"};
	char **v = xcalloc(1, sizeof(char *));
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		v = strv_push(v, fixed[i]);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		_cleanup_free_ char *t = husk_path_clean_abs(spec->mounts[i].target);
		v = strv_push(v, t);
	}
	return v;
}
