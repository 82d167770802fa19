#include "container.h"
#include "cgroup.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "userns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

char *husk_container_dir(const struct husk_store *s, const char *id)
{
	return husk_store_data_path(s, "containers/%s", id);
}

char *husk_container_run_dir(const struct husk_store *s, const char *id)
{
	return husk_store_run_path(s, "containers/%s", id);
}

int husk_container_lock_start(const struct husk_store *s, const char *id, struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_container_run_dir(s, id);
	mkdir_p(dir, 0700);
	_cleanup_free_ char *p = xasprintf("%s/start.lock", dir);
	int fd;
	/* A removal (rm, prune, --rm) may take the directory away in between: make it again. */
	for (int i = 0; (fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 && errno == ENOENT &&
			i < 100;
	     i++)
		mkdir_p(dir, 0700);
	if (fd < 0)
		return husk_error_sys(err, -errno, "cannot open %s", p);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = husk_error_sys(err, -errno, "cannot lock %s", p);
			close(fd);
			return r;
		}
	}
	return fd;
}

void husk_container_free(struct husk_container *c)
{
	if (!c)
		return;
	free(c->name);
	json_decref(c->config);
	husk_state_clear(&c->state);
	free(c);
}

static json_t *load_config(const struct husk_store *s, const char *id)
{
	_cleanup_free_ char *p = husk_store_data_path(s, "containers/%s/config.json", id);
	return json_load_path(p, 16 << 20, NULL);
}

int husk_container_load(const struct husk_store *s, const char *id, struct husk_container **out,
			struct husk_error *err)
{
	json_t *cfg = load_config(s, id);
	if (!cfg)
		return husk_error_set(err, -ENOENT, "No such container: %s", id);
	struct husk_container *c = xcalloc(1, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	const char *name = str_or(jstr(cfg, "Name"), "");
	c->name = xstrdup(name[0] == '/' ? name + 1 : name);
	c->config = cfg;
	husk_state_load(s, id, &c->state);
	*out = c;
	return 0;
}

int husk_container_list_ids(const struct husk_store *s, char ***ids)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "containers");
	DIR *d = opendir(dir);
	char **v = xcalloc(1, sizeof(char *));
	if (!d) {
		*ids = v;
		return errno == ENOENT ? 0 : -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (husk_is_full_id(e->d_name))
			v = strv_push(v, e->d_name);
	closedir(d);
	*ids = v;
	return 0;
}

static const char *config_name(const json_t *cfg)
{
	const char *n = str_or(jstr(cfg, "Name"), "");
	return n[0] == '/' ? n + 1 : n;
}

int husk_container_name_owner(const struct husk_store *s, const char *name,
			      char id[HUSK_ID_LEN + 1])
{
	_cleanup_strv_ char **ids = NULL;
	if (name[0] == '/')
		name++;
	int r = husk_container_list_ids(s, &ids);
	if (r < 0)
		return r;
	for (size_t i = 0; ids[i]; i++) {
		json_t *cfg = load_config(s, ids[i]);
		bool match = cfg && streq(config_name(cfg), name);
		json_decref(cfg);
		if (match) {
			snprintf(id, HUSK_ID_LEN + 1, "%s", ids[i]);
			return 1;
		}
	}
	return 0;
}

int husk_container_resolve_id(const struct husk_store *s, const char *ref,
			      char id[HUSK_ID_LEN + 1], struct husk_error *err)
{
	if (str_empty(ref))
		return husk_error_set(err, -ENOENT, "No such container: %s", str_or(ref, ""));
	if (husk_is_full_id(ref)) {
		_cleanup_free_ char *p = husk_store_data_path(s, "containers/%s/config.json", ref);
		if (access(p, F_OK) == 0) {
			snprintf(id, HUSK_ID_LEN + 1, "%s", ref);
			return 0;
		}
	}
	/* Docker's order: full id, then exact name, then unique id prefix. */
	if (husk_name_valid(ref) && husk_container_name_owner(s, ref, id) > 0)
		return 0;
	if (husk_is_hex(ref, 1, HUSK_ID_LEN)) {
		_cleanup_strv_ char **ids = NULL;
		int r = husk_container_list_ids(s, &ids);
		if (r < 0)
			return husk_error_sys(err, r, "list containers");
		int found = 0;
		for (size_t i = 0; ids[i]; i++) {
			if (strncmp(ids[i], ref, strlen(ref)) != 0)
				continue;
			if (found++)
				return husk_error_set(err, -EINVAL,
						      "multiple IDs found with provided prefix: %s",
						      ref);
			snprintf(id, HUSK_ID_LEN + 1, "%s", ids[i]);
		}
		if (found)
			return 0;
	}
	return husk_error_set(err, -ENOENT, "No such container: %s", ref);
}

int husk_container_find(const struct husk_store *s, const char *ref, struct husk_container **out,
			struct husk_error *err)
{
	char id[HUSK_ID_LEN + 1];
	int r = husk_container_resolve_id(s, ref, id, err);
	if (r < 0)
		return r;
	r = husk_container_load(s, id, out, err);
	if (r == -ENOENT) /* removed between resolve and load */
		return husk_error_set(err, -ENOENT, "No such container: %s", ref);
	return r;
}

int husk_container_save_config(const struct husk_store *s, const char *id, const json_t *config)
{
	_cleanup_free_ char *p = husk_store_data_path(s, "containers/%s/config.json", id);
	return json_store_path(p, config, true);
}

/* The container's own cgroup, where its monitor could not remove it (it was killed). Only a
 * cgroup of the two shapes monitors make is removed, and only once empty. */
static void remove_cgroup(const struct husk_store *s, const char *id)
{
	struct husk_state st;
	husk_state_load(s, id, &st);
	const char *base = strrchr(st.cgroup, '/');
	int r = base && (streq(base, "/container") || str_startswith(base, "/husk-"))
		    ? husk_cgroup_remove(st.cgroup, 1000)
		    : 0;
	if (r < 0 && r != -ENOENT)
		husk_log(LOG_WARNING, "cannot remove the cgroup %s of container %.12s", st.cgroup,
			 id);
	husk_state_clear(&st);
}

int husk_container_remove_files(const struct husk_store *s, const struct husk_idmap *m,
				const char *id, struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_container_dir(s, id);
	_cleanup_free_ char *trash = husk_store_data_path(s, "containers/" HUSK_REMOVING_PREFIX "%s",
							  id);
	_cleanup_free_ char *run = husk_container_run_dir(s, id);
	remove_cgroup(s, id);

	/* The rename makes the container vanish for every reader at once; what follows may
	 * take a while for a big upper dir. */
	if (rename(dir, trash) < 0 && errno != ENOENT)
		return husk_error_sys(err, -errno, "cannot remove %s", dir);
	rm_rf(run);
	/* Files made by the container belong to sub-ids. */
	return husk_userns_rm_rf(m, trash, err);
}

void husk_container_sweep(const struct husk_store *s, const struct husk_idmap *m)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "containers");
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!str_startswith(e->d_name, HUSK_CREATING_PREFIX) &&
		    !str_startswith(e->d_name, HUSK_REMOVING_PREFIX))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, e->d_name);
		husk_log(LOG_INFO, "removing %s, left behind by an interrupted create or rm", p);
		if (rm_rf(p) == 0)
			continue;
		husk_userns_rm_rf(m, p, NULL);
	}
	if (d)
		closedir(d);
}
