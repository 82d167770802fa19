#include "volume.h"
#include "container.h"
#include "events.h"
#include "fs.h"
#include "ids.h"
#include "json.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

void husk_volume_free(struct husk_volume *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->mountpoint);
	json_decref(v->labels);
	json_decref(v->options);
	free(v);
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (!first && (c == '_' || c == '.' || c == '-'));
}

bool husk_volume_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 2 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i], i == 0))
			return false;
	return true;
}

/* Docker's local driver options (volume/local/local_unix.go validateOpts). */
static int check_options(const char *op, const json_t *options, struct husk_error *err)
{
	static const char *const valid[] = {"type", "o", "device", "size", NULL};
	/* key, then what it needs (in a fixed order, so the message is too) */
	static const char *const needs[][3] = {
		{"device", "type"}, {"type", "device"}, {"o", "device", "type"}};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)options, k, v)
	{
		if (!strv_contains((char **)valid, k))
			return husk_error_set(err, -EINVAL, "%s: invalid option: \"%s\"", op, k);
	}
	if (json_object_get(options, "size"))
		return husk_error_set(err, -EINVAL, "%s: quota size requested but no quota support",
				      op);
	for (size_t i = 0; i < ARRAY_SIZE(needs); i++) {
		if (!json_object_get(options, needs[i][0]))
			continue;
		for (size_t j = 1; j < 3 && needs[i][j]; j++)
			if (!json_object_get(options, needs[i][j]))
				return husk_error_set(err, -EINVAL,
						      "%s: missing required option: \"%s\"", op,
						      needs[i][j]);
	}
	if (json_object_size(options))
		return husk_error_set(err, -EOPNOTSUPP,
				      "%s: volumes that mount a file system (type, device, o) are not "
				      "supported by rootless husk",
				      op);
	return 0;
}

int husk_volume_check(const char *name, const char *driver, const json_t *options,
		      struct husk_error *err)
{
	/* Docker's OpErr: "create NAME: ...", or "create: ..." without a name. */
	_cleanup_free_ char *op = str_empty(name) ? xstrdup("create") : xasprintf("create %s", name);
	if (!str_empty(driver) && !streq(driver, "local"))
		return husk_error_set(err, -ENOENT,
				      "%s: error looking up volume plugin %s: plugin \"%s\" not found",
				      op, driver, driver);
	if (!str_empty(name) && !husk_volume_name_valid(name))
		return husk_error_set(err, -EINVAL,
				      "%s: \"%s\" includes invalid characters for a local volume "
				      "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
				      "intended to pass a host directory, use absolute path",
				      op, name);
	return check_options(op, options, err);
}

int husk_volume_load(const struct husk_store *s, const char *name, struct husk_volume **out,
		     struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_volume_name_valid(name)
					   ? husk_store_data_path(s, "volumes/%s", name)
					   : NULL;
	struct stat st;
	if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_error_set(err, -ENOENT, "get %s: no such volume", str_or(name, ""));
	_cleanup_free_ char *rec = xasprintf("%s/volume.json", dir);
	json_t *j = json_load_path(rec, 1 << 20, NULL);
	struct husk_volume *v = xcalloc(1, sizeof *v);
	v->name = xstrdup(name);
	v->mountpoint = xasprintf("%s/_data", dir);
	/* A directory without its record (made by hand, or an older husk): Docker's local driver
	 * takes any directory, dated by its change time. */
	v->created_ns = jint(j, "CreatedAt", (int64_t)st.st_ctim.tv_sec * 1000000000 +
						     st.st_ctim.tv_nsec);
	v->labels = jobj(j, "Labels") ? json_incref(jobj(j, "Labels")) : json_object();
	v->options = json_object_size(jobj(j, "Options")) ? json_incref(jobj(j, "Options"))
							   : NULL;
	json_decref(j);
	*out = v;
	return 0;
}

bool husk_volume_anonymous(const struct husk_volume *v)
{
	return json_object_get(v->labels, HUSK_VOLUME_ANONYMOUS_LABEL) != NULL;
}

static void emit(const struct husk_store *s, const char *action, const char *name, json_t *attrs)
{
	if (!attrs)
		attrs = json_object();
	json_object_set_new(attrs, "driver", json_string("local"));
	husk_event_emit(s, "volume", action, name, attrs);
}

/* The directory made under a temporary name and renamed into place: a volume is there whole or
 * not at all. */
static int make(const struct husk_store *s, const char *name, const json_t *labels,
		const json_t *options, struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "volumes/%s", name);
	/* Not named after the volume: a name of 255 characters leaves no room for a prefix. */
	char rnd[HUSK_ID_LEN + 1];
	husk_id_new(rnd);
	_cleanup_free_ char *tmp = husk_store_data_path(s, "volumes/.creating-%.16s", rnd);
	_cleanup_free_ char *data = xasprintf("%s/_data", tmp);
	_cleanup_free_ char *rec = xasprintf("%s/volume.json", tmp);
	json_t *j = json_pack("{s:s, s:s, s:I, s:O}", "Name", name, "Driver", "local", "CreatedAt",
			      (json_int_t)now_ns(), "Labels", labels);
	if (json_object_size(options))
		json_object_set(j, "Options", (json_t *)options);
	int r = 0;
	if (mkdir(tmp, 0700) < 0 || mkdir(data, 0755) < 0)
		r = -errno;
	if (r == 0)
		r = json_store_path(rec, j, true);
	if (r == 0 && rename(tmp, dir) < 0)
		r = -errno;
	json_decref(j);
	if (r < 0) {
		rm_rf(tmp);
		return husk_error_sys(err, r, "cannot create the volume %s", name);
	}
	_cleanup_free_ char *parent = husk_store_data_path(s, "volumes");
	fsync_dir(parent);
	return 0;
}

int husk_volume_create(const struct husk_store *s, const char *name, const char *driver,
		       const json_t *labels, const json_t *options, struct husk_volume **out,
		       bool *created, struct husk_error *err)
{
	int r = husk_volume_check(name, driver, options, err);
	if (r < 0)
		return r;
	*created = false;
	char id[HUSK_ID_LEN + 1];
	if (str_empty(name)) {
		husk_id_new(id);
		name = id;
	} else if (husk_volume_load(s, name, out, NULL) == 0) {
		return 0;
	}
	json_t *l = labels ? json_deep_copy(labels) : json_object();
	if (name == id)
		json_object_set_new(l, HUSK_VOLUME_ANONYMOUS_LABEL, json_string(""));
	r = make(s, name, l, options, err);
	json_decref(l);
	if (r < 0)
		return r;
	emit(s, "create", name, NULL);
	*created = true;
	return husk_volume_load(s, name, out, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_volume_list(const struct husk_store *s, char ***names)
{
	_cleanup_free_ char *dir = husk_store_data_path(s, "volumes");
	char **v = xcalloc(1, sizeof(char *));
	*names = v;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	while ((e = readdir(d)))
		if (husk_volume_name_valid(e->d_name) && e->d_type != DT_REG)
			v = strv_push(v, e->d_name);
	closedir(d);
	qsort(v, strv_length(v), sizeof *v, cmp_str);
	*names = v;
	return 0;
}

json_t *husk_volume_json(const struct husk_volume *v)
{
	/* Go's time.RFC3339: seconds, no fraction. */
	char created[64];
	time_t t = (time_t)(v->created_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *j = json_pack("{s:s, s:s, s:O, s:s, s:s, s:s}", "CreatedAt", created, "Driver",
			      "local", "Labels", v->labels, "Mountpoint", v->mountpoint, "Name",
			      v->name, "Scope", "local");
	json_object_set(j, "Options", v->options ? v->options : json_null());
	return j;
}

/* The name of a mount point that is a volume's; NULL for others. */
static const char *volume_of(const json_t *mp)
{
	const char *name = jstr(mp, "Name");
	return streq(jstr(mp, "Type"), "volume") && !str_empty(name) ? name : NULL;
}

json_t *husk_volume_users(const struct husk_store *s)
{
	json_t *users = json_object();
	_cleanup_strv_ char **ids = NULL;
	husk_container_list_ids(s, &ids);
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_free_ char *p = husk_store_data_path(s, "containers/%s/config.json", ids[i]);
		json_t *doc = json_load_path(p, 16 << 20, NULL);
		size_t k;
		json_t *mp;
		json_array_foreach(jarr(doc, "MountPoints"), k, mp)
		{
			const char *name = volume_of(mp);
			if (!name)
				continue;
			json_t *a = json_object_get(users, name);
			if (!a)
				json_object_set_new(users, name, a = json_array());
			json_array_append_new(a, json_string(ids[i]));
		}
		json_decref(doc);
	}
	return users;
}

/* The containers other than except that use the volume, as Docker lists them; NULL if none. */
static char *users_of(const struct husk_store *s, const char *name, const char *except)
{
	json_t *users = husk_volume_users(s);
	size_t i;
	json_t *e;
	char *list = NULL;
	json_array_foreach(json_object_get(users, name), i, e)
	{
		if (streq(json_string_value(e), except))
			continue;
		char *l = xasprintf("%s%s%s", list ? list : "", list ? ", " : "",
				    json_string_value(e));
		free(list);
		list = l;
	}
	json_decref(users);
	return list;
}

static int remove_volume(const struct husk_store *s, const struct husk_idmap *m,
			 const char *name, bool force, int64_t *size, const char *except,
			 struct husk_error *err)
{
	_cleanup_volume_ struct husk_volume *v = NULL;
	int r = husk_volume_load(s, name, &v, err);
	if (r < 0)
		return force && r == -ENOENT ? 0 : r;
	_cleanup_free_ char *users = users_of(s, name, except);
	if (users)
		return husk_error_set(err, -EBUSY, "remove %s: volume is in use - [%s]", name, users);
	_cleanup_free_ char *dir = husk_store_data_path(s, "volumes/%s", name);
	char rnd[HUSK_ID_LEN + 1];
	husk_id_new(rnd);
	_cleanup_free_ char *trash = husk_store_data_path(s, "volumes/.removing-%.16s", rnd);
	if (size) {
		int fd = open(v->mountpoint, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*size = fd >= 0 ? tree_size(fd) : 0;
	}
	/* The rename makes the volume vanish at once; its data may take a while. */
	if (rename(dir, trash) < 0)
		return husk_error_sys(err, -errno, "remove %s", name);
	r = husk_userns_rm_rf(m, trash, err);
	if (r < 0)
		husk_log(LOG_WARNING, "volume %s: %s", name, err ? err->message : "not removed");
	emit(s, "destroy", name, NULL);
	return 0;
}

int husk_volume_remove(const struct husk_store *s, const struct husk_idmap *m, const char *name,
		       bool force, int64_t *size, struct husk_error *err)
{
	return remove_volume(s, m, name, force, size, NULL, err);
}

int husk_volumes_attach(const struct husk_store *s, json_t *points, json_t *created,
			struct husk_error *err)
{
	size_t i;
	json_t *mp;
	json_array_foreach(points, i, mp)
	{
		if (!streq(jstr(mp, "Type"), "volume"))
			continue;
		_cleanup_volume_ struct husk_volume *v = NULL;
		bool made;
		int r = husk_volume_create(s, jstr(mp, "Name"), jstr(mp, "Driver"),
					   jobj(mp, "VolumeLabels"), jobj(mp, "VolumeDriverOpts"),
					   &v, &made, err);
		if (r < 0)
			return r;
		if (made)
			json_array_append_new(created, json_string(v->name));
		json_object_set_new(mp, "Name", json_string(v->name));
		json_object_set_new(mp, "Source", json_string(v->mountpoint));
		json_object_set_new(mp, "Driver", json_string("local"));
		json_object_del(mp, "VolumeLabels");
		json_object_del(mp, "VolumeDriverOpts");
	}
	return 0;
}

void husk_volumes_remove_anonymous(const struct husk_store *s, const struct husk_idmap *m,
				   const json_t *doc)
{
	size_t i;
	json_t *mp;
	json_array_foreach(jarr(doc, "MountPoints"), i, mp)
	{
		const char *name = volume_of(mp);
		if (!name || !jbool(mp, "Anonymous", false))
			continue;
		struct husk_error err = {0};
		/* Still used by another container: not an error. */
		int r = remove_volume(s, m, name, true, NULL, jstr(doc, "Id"), &err);
		if (r < 0 && r != -EBUSY)
			husk_log(LOG_WARNING, "cannot remove volume %s: %s", name, err.message);
	}
}

void husk_volume_mount_events(const struct husk_store *s, const json_t *doc, const char *action)
{
	size_t i;
	json_t *mp;
	json_array_foreach(jarr(doc, "MountPoints"), i, mp)
	{
		const char *name = volume_of(mp);
		if (!name)
			continue;
		json_t *attrs = json_pack("{s:s}", "container", str_or(jstr(doc, "Id"), ""));
		if (streq(action, "mount")) {
			json_object_set_new(attrs, "destination",
					    json_string(str_or(jstr(mp, "Destination"), "")));
			json_object_set_new(attrs, "propagation", json_string(""));
			json_object_set_new(attrs, "read/write",
					    json_string(jbool(mp, "RW", true) ? "true" : "false"));
		}
		emit(s, action, name, attrs);
	}
}
