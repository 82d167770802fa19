/* Unpacked layers in the store: paths, records, locks, hiding and removal. Unpacking, which
 * needs libarchive and libcrypto, is in layer_unpack.c. */
#include "layer.h"
#include "fs.h"
#include "json.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

char *husk_layer_path(const struct husk_store *s, const char *chain_id)
{
	const char *hex = str_startswith(chain_id, "sha256:");
	return husk_store_data_path(s, "images/layers/%s", hex ? hex : chain_id);
}

int husk_layer_read(const struct husk_store *s, const char *chain_id, struct husk_layer *out)
{
	_cleanup_free_ char *dir = husk_layer_path(s, chain_id);
	_cleanup_free_ char *p = xasprintf("%s/layer.json", dir);
	json_t *j = json_load_path(p, 1 << 16, NULL);
	if (!j)
		return path_exists(p) ? -EIO : -ENOENT;
	const char *diff = jstr(j, "DiffID"), *chain = jstr(j, "ChainID");
	int r = diff && chain && husk_digest_valid(diff) && husk_digest_valid(chain) ? 0 : -EIO;
	if (r == 0) {
		snprintf(out->diff_id, sizeof out->diff_id, "%s", diff);
		snprintf(out->chain_id, sizeof out->chain_id, "%s", chain);
		out->size = jint(j, "Size", 0);
	}
	json_decref(j);
	return r;
}

int husk_dir_lock(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static bool abandoned(int fd)
{
	struct stat st;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0)
		return false;
	return st.st_mtime < time(NULL) - 60;
}

void husk_sweep(const struct husk_idmap *m, const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!str_startswith(e->d_name, prefix))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
		_cleanup_close_ int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || !abandoned(fd))
			continue;
		husk_log(LOG_INFO, "removing %s, left behind by an interrupted operation", p);
		husk_tree_remove(m, p, NULL);
	}
	if (d)
		closedir(d);
}

void husk_layer_sweep(const struct husk_store *s, const struct husk_idmap *m)
{
	_cleanup_free_ char *layers = husk_store_data_path(s, "images/layers");
	_cleanup_free_ char *blobs = husk_store_data_path(s, "images/blobs/sha256");
	_cleanup_free_ char *tmp = husk_store_data_path(s, "tmp");
	husk_sweep(m, layers, ".tmp-");
	husk_sweep(m, layers, ".removing-");
	husk_sweep(m, blobs, ".tmp-");
	husk_sweep(m, tmp, "load-");
}

int husk_layer_hide(const struct husk_store *s, const char *chain_id, char **trash, int *lock)
{
	_cleanup_free_ char *dir = husk_layer_path(s, chain_id);
	_cleanup_free_ char *layers = husk_store_data_path(s, "images/layers");
	char *t = xasprintf("%s/.removing-XXXXXX", layers);
	*trash = NULL;
	*lock = -1;
	/* mkdtemp gives a unique name; rename replaces the empty directory atomically. */
	if (!mkdtemp(t)) {
		int r = -errno;
		free(t);
		return r;
	}
	if (rename(dir, t) < 0) {
		int r = errno == ENOENT ? 0 : -errno;
		rmdir(t);
		free(t);
		return r;
	}
	*trash = t;
	*lock = husk_dir_lock(t);
	return 0;
}

static int rm_child(void *arg, struct husk_error *err)
{
	int r = rm_rf(arg);
	return r < 0 ? husk_error_sys(err, r, "remove %s", (char *)arg) : 0;
}

int husk_tree_remove(const struct husk_idmap *m, const char *path, struct husk_error *err)
{
	/* Unpacked files belong to sub-ids: only root of the namespace may remove them all. */
	return husk_userns_run(m, rm_child, (void *)path, err);
}
