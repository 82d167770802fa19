#include "mount_spec.h"
#include "json.h"
#include "volume.h"

#include <sys/mount.h>
#include <sys/stat.h>

void husk_mount_clear(struct husk_mount *m)
{
	free(m->source);
	free(m->target);
	free(m->options);
	free(m->mode);
	free(m->propagation);
	memset(m, 0, sizeof *m);
}

static bool clean_abs_path(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	for (const char *s = p; *s; s++)
		if (s[0] == '/' && s[1] == '.' && s[2] == '.' && (s[3] == '/' || !s[3]))
			return false;
	return true;
}

char *husk_path_clean(const char *path)
{
	char *out = xmalloc(strlen(path) + 2);
	size_t o = 0;
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		size_t k = strcspn(s, "/");
		if (k && !(k == 1 && s[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, s, k);
			o += k;
		}
		s += k;
	}
	if (!o)
		out[o++] = '/';
	out[o] = 0;
	return out;
}

/* What Go's path.Clean makes "/" of: slashes and "." segments only. */
static bool is_root_path(const char *p)
{
	if (*p != '/')
		return false;
	for (const char *s = p + 1; *s; s++)
		if (*s != '/' && !(*s == '.' && s[-1] == '/' && (s[1] == '/' || !s[1])))
			return false;
	return true;
}

static const char *const propagations[] = {"private", "rprivate", "shared", "rshared",
					   "slave",   "rslave",	  NULL};

struct mode_info {
	bool ro, recursive, nocopy;
};

/* Docker's linuxValidMountMode, with husk's bind/rbind: comma-separated, at most one word of
 * each kind. */
static bool parse_mode(const char *mode, struct mode_info *mi)
{
	static const char *const kinds[][7] = {
		{"ro", "rw", "ro-non-recursive", "ro-force-recursive", "rro"},
		{"z", "Z"},
		{"private", "rprivate", "shared", "rshared", "slave", "rslave"},
		{"nocopy"},
		{"consistent", "cached", "delegated"},
		{"bind", "rbind"},
	};
	unsigned seen[ARRAY_SIZE(kinds)] = {0};
	memset(mi, 0, sizeof *mi);
	mi->recursive = true;
	if (!*mode)
		return true;
	_cleanup_free_ char *m = xstrdup(mode);
	for (char *p = m, *t; (t = strsep(&p, ","));) {
		size_t k = 0;
		while (k < ARRAY_SIZE(kinds) && !strv_contains((char **)kinds[k], t))
			k++;
		if (k == ARRAY_SIZE(kinds) || seen[k]++)
			return false;
		mi->ro |= k == 0 && !streq(t, "rw");
		mi->recursive &= !streq(t, "bind");
		mi->nocopy |= k == 3;
	}
	return true;
}

/* The propagation word of a valid mode, or NULL. */
static const char *mode_propagation(const char *mode)
{
	_cleanup_free_ char *m = xstrdup(mode);
	for (char *p = m, *t; (t = strsep(&p, ","));)
		for (size_t i = 0; propagations[i]; i++)
			if (streq(t, propagations[i]))
				return propagations[i];
	return NULL;
}

/* Docker's checks of a mount target; NULL when it is fine, else the reason. */
static char *target_problem(const char *t)
{
	if (str_empty(t))
		return xstrdup("field Target must not be empty");
	if (is_root_path(t))
		return xstrdup("invalid specification: destination can't be '/'");
	if (!clean_abs_path(t)) /* ".." segments too: mount points stay where they say */
		return xasprintf("invalid mount path: '%s' mount path must be absolute", t);
	return NULL;
}

int husk_parse_bind(const char *spec, struct husk_mount *m, struct husk_error *err)
{
	memset(m, 0, sizeof *m);
	const char *raw = str_or(spec, "");
	_cleanup_free_ char *s = xstrdup(raw);
	/* Docker's ParseMountRaw: strings.SplitN(spec, ":", 4), every colon splits. */
	char *parts[4] = {0};
	size_t n = 0;
	for (char *p = s; p && n < 4;)
		parts[n++] = strsep(&p, ":");
	struct mode_info mi;
	/* "/dst:rw" is a destination with a mode: no valid spec. */
	if (!parts[0][0] || n == 4 || (n == 2 && parse_mode(parts[1], &mi)))
		return husk_error_set(err, -EINVAL, "invalid volume specification: '%s'", raw);
	const char *source = n == 1 ? "" : parts[0];
	const char *target = n == 1 ? parts[0] : parts[1];
	const char *mode = n == 3 ? parts[2] : "";
	if (!parse_mode(mode, &mi))
		return husk_error_set(err, -EINVAL, "invalid mode: %s", mode);
	const char *prop = mode_propagation(mode);
	bool bind = source[0] == '/';
	_cleanup_free_ char *why = target_problem(target);
	if (!why && bind && mi.nocopy)
		why = xstrdup("field VolumeOptions must not be specified");
	if (!why && !bind && prop)
		why = xstrdup("field BindOptions must not be specified");
	if (!why && !*source && mi.ro)
		why = xstrdup("must not set ReadOnly mode when using anonymous volumes");
	if (why)
		return husk_error_set(err, -EINVAL,
				      "invalid volume specification: '%s': invalid mount config for "
				      "type \"%s\": %s",
				      raw, bind ? "bind" : "volume", why);
	m->kind = bind ? HUSK_MOUNT_BIND : HUSK_MOUNT_VOLUME;
	m->readonly = mi.ro;
	m->recursive = mi.recursive;
	m->source = !*source ? NULL : bind ? husk_path_clean(source) : xstrdup(source);
	m->target = husk_path_clean(target);
	m->mode = xstrdup(mode);
	m->propagation = xstrdup(bind ? str_or(prop, "rprivate") : "");
	m->create_source = bind; /* as docker run -v does */
	m->copy_up = !bind && !mi.nocopy;
	return 0;
}

/* The tmpfs options with a value, and values the kernel takes: size and the counts a number
 * with an optional k/m/g (size also %), mode octal, uid and gid decimal. Checked here so that
 * a typo is a bad request at create, not a failed mount at start. */
static bool tmpfs_value_ok(const char *t)
{
	static const struct {
		const char *key, *digits, *suffixes;
	} opts[] = {
	    {"size=", "0123456789", "kKmMgG%"}, {"nr_blocks=", "0123456789", "kKmMgG"},
	    {"nr_inodes=", "0123456789", "kKmMgG"}, {"mode=", "01234567", ""},
	    {"uid=", "0123456789", ""}, {"gid=", "0123456789", ""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		const char *v = str_startswith(t, opts[i].key);
		if (!v)
			continue;
		size_t n = strspn(v, opts[i].digits);
		if (n == 0 || n > 19)
			return false;
		return !v[n] || (!v[n + 1] && strchr(opts[i].suffixes, v[n]));
	}
	return false;
}

int husk_parse_tmpfs(const char *path, const char *options, struct husk_mount *m,
		     struct husk_error *err)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} flags[] = {
		{"ro", MS_RDONLY, 0},	   {"rw", 0, MS_RDONLY},	 {"noexec", MS_NOEXEC, 0},
		{"exec", 0, MS_NOEXEC},	   {"nosuid", MS_NOSUID, 0},	 {"suid", 0, MS_NOSUID},
		{"nodev", MS_NODEV, 0},	   {"dev", 0, MS_NODEV},	 {"relatime", MS_RELATIME, 0},
		{"noatime", MS_NOATIME, 0}, {"strictatime", MS_STRICTATIME, 0},
	};
	memset(m, 0, sizeof *m);
	if (!clean_abs_path(path) || is_root_path(path))
		return husk_error_set(err, -EINVAL,
				      "invalid tmpfs mount point \"%s\": mount path must be absolute",
				      str_or(path, ""));
	/* Docker's defaults for --tmpfs. */
	m->flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	_cleanup_free_ char *data = xcalloc(1, strlen(str_or(options, "")) + 1);
	_cleanup_free_ char *o = xstrdup(str_or(options, ""));
	char *save = NULL;
	for (char *t = strtok_r(o, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			if (streq(t, flags[i].name)) {
				m->flags = (m->flags | flags[i].set) & ~flags[i].clear;
				known = true;
			}
		}
		if (known)
			continue;
		if (!tmpfs_value_ok(t))
			return husk_error_set(err, -EINVAL, "invalid tmpfs option \"%s\"", t);
		if (*data)
			strcat(data, ",");
		strcat(data, t);
	}
	m->kind = HUSK_MOUNT_TMPFS;
	m->readonly = (m->flags & MS_RDONLY) != 0;
	m->flags &= ~MS_RDONLY;
	m->target = xstrdup(path);
	m->options = TAKE_PTR(data);
	return 0;
}

/* Docker's ConvertTmpfsOptions: TmpfsOptions as mount data ("ro,mode=1770,size=64m,exec"). */
static char *tmpfs_data(const json_t *to, bool ro, char **why)
{
	_cleanup_free_ char *d = xstrdup(ro ? "ro" : "");
	int64_t mode = jint(to, "Mode", 0), size = jint(to, "SizeBytes", 0);
	char *n;
	if (mode < 0 || mode > 07777) {
		*why = xasprintf("invalid tmpfs mode: %lld", (long long)mode);
		return NULL;
	}
	if (size < 0) {
		*why = xasprintf("invalid tmpfs size: %lld", (long long)size);
		return NULL;
	}
	if (mode) {
		n = xasprintf("%s%smode=%llo", d, *d ? "," : "", (unsigned long long)mode);
		free(d);
		d = n;
	}
	if (size) {
		/* The largest unit that divides the size, as Docker writes it. */
		static const struct {
			const char *suffix;
			int64_t div;
		} units[] = {{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"", 1}};
		size_t u = 0;
		while (size % units[u].div)
			u++;
		n = xasprintf("%s%ssize=%lld%s", d, *d ? "," : "", (long long)(size / units[u].div),
			      units[u].suffix);
		free(d);
		d = n;
	}
	size_t i;
	json_t *opt;
	json_array_foreach(jarr(to, "Options"), i, opt)
	{
		size_t len = json_array_size(opt);
		const char *k = json_string_value(json_array_get(opt, 0));
		const char *v = json_string_value(json_array_get(opt, 1));
		if (!json_is_array(opt) || len < 1 || len > 2 || !k || (len == 2 && !v)) {
			*why = xstrdup("invalid option array length");
			return NULL;
		}
		if (!streq(k, "exec") && !streq(k, "noexec")) {
			*why = xasprintf("invalid option: %s", k);
			return NULL;
		}
		n = len == 2 ? xasprintf("%s%s%s=%s", d, *d ? "," : "", k, v)
			     : xasprintf("%s%s%s", d, *d ? "," : "", k);
		free(d);
		d = n;
	}
	return TAKE_PTR(d);
}

static const struct json_go_field mount_fields[] = {
	{"Type", GO_STR},
	{"Source", GO_STR},
	{"Target", GO_STR},
	{"ReadOnly", GO_BOOL},
	{"Consistency", GO_STR},
	{"BindOptions", GO_OBJ},
	{"BindOptions.Propagation", GO_STR},
	{"BindOptions.NonRecursive", GO_BOOL},
	{"BindOptions.CreateMountpoint", GO_BOOL},
	{"VolumeOptions", GO_OBJ},
	{"VolumeOptions.NoCopy", GO_BOOL},
	{"VolumeOptions.Labels", GO_MAPSTR},
	{"VolumeOptions.DriverConfig", GO_OBJ},
	{"VolumeOptions.DriverConfig.Name", GO_STR},
	{"VolumeOptions.DriverConfig.Options", GO_MAPSTR},
	{"VolumeOptions.Subpath", GO_STR},
	{"TmpfsOptions", GO_OBJ},
	{"TmpfsOptions.SizeBytes", GO_INT},
	{"TmpfsOptions.Mode", GO_INT},
	{"TmpfsOptions.Options", GO_ARR},
};

static char *bind_problem(const json_t *mnt, const char *source)
{
	const json_t *bo = jobj(mnt, "BindOptions");
	const char *prop = jstr(bo, "Propagation");
	if (!*source)
		return xstrdup("field Source must not be empty");
	if (!str_empty(prop) && !strv_contains((char **)propagations, prop))
		return xasprintf("invalid propagation mode: %s", prop);
	if (jobj(mnt, "VolumeOptions"))
		return xstrdup("field VolumeOptions must not be specified");
	if (source[0] != '/')
		return xasprintf("invalid mount path: '%s' mount path must be absolute", source);
	struct stat st;
	if (stat(source, &st) < 0) {
		if (errno != ENOENT)
			return xasprintf("stat %s: %s", source, strerror(errno));
		if (!jbool(bo, "CreateMountpoint", false))
			return xasprintf("bind source path does not exist: %s", source);
	}
	return NULL;
}

int husk_parse_mount(const json_t *mnt, struct husk_mount *m, struct husk_error *err)
{
	memset(m, 0, sizeof *m);
	if (!json_is_object(mnt))
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal %s into Go struct field "
				      "HostConfig.HostConfig.Mounts of type mount.Mount",
				      json_go_kind(mnt));
	int r = json_check_go_types(mnt, mount_fields, ARRAY_SIZE(mount_fields),
				    "Mount.HostConfig.Mounts", err);
	if (r < 0)
		return r;
	const char *type = str_or(jstr(mnt, "Type"), "");
	const char *source = str_or(jstr(mnt, "Source"), "");
	const char *target = str_or(jstr(mnt, "Target"), "");
	const json_t *vo = jobj(mnt, "VolumeOptions");
	bool ro = jbool(mnt, "ReadOnly", false);
	_cleanup_free_ char *why = target_problem(target);
	_cleanup_free_ char *data = NULL;
	if (why) {
		/* Docker checks the target whatever the type. */
	} else if (streq(type, "bind")) {
		why = bind_problem(mnt, source);
	} else if (streq(type, "volume")) {
		if (jobj(mnt, "BindOptions"))
			why = xstrdup("field BindOptions must not be specified");
		else if (!str_empty(jstr(vo, "Subpath")))
			return husk_error_set(err, -EOPNOTSUPP,
					      "VolumeOptions.Subpath is not supported by this version "
					      "of husk");
		else if (ro && !*source)
			why = xstrdup("must not set ReadOnly mode when using anonymous volumes");
	} else if (streq(type, "tmpfs")) {
		if (jobj(mnt, "BindOptions"))
			why = xstrdup("field BindOptions must not be specified");
		else if (*source)
			why = xstrdup("field Source must not be specified");
		else
			data = tmpfs_data(jobj(mnt, "TmpfsOptions"), ro, &why);
	} else if (streq(type, "image")) {
		return husk_error_set(err, -EOPNOTSUPP,
				      "mounts of type \"image\" are not supported by this version of "
				      "husk");
	} else {
		why = xstrdup("mount type unknown");
	}
	if (why)
		return husk_error_set(err, -EINVAL, "invalid mount config for type \"%s\": %s", type,
				      why);
	if (data) {
		_cleanup_free_ char *clean = husk_path_clean(target);
		return husk_parse_tmpfs(clean, data, m, err);
	}
	const json_t *bo = jobj(mnt, "BindOptions");
	bool bind = streq(type, "bind");
	m->kind = bind ? HUSK_MOUNT_BIND : HUSK_MOUNT_VOLUME;
	m->readonly = ro;
	m->recursive = !jbool(bo, "NonRecursive", false);
	m->source = !*source ? NULL : bind ? husk_path_clean(source) : xstrdup(source);
	m->target = husk_path_clean(target);
	m->mode = xstrdup("");
	const char *prop = jstr(bo, "Propagation");
	m->propagation = xstrdup(!bind ? "" : str_empty(prop) ? "rprivate" : prop);
	m->create_source = bind && jbool(bo, "CreateMountpoint", false);
	m->copy_up = !bind && !jbool(vo, "NoCopy", false);
	return 0;
}

/* A mount point as config.json keeps it. image_volume: one of the Config's Volumes, which
 * Docker gives no mode. */
static json_t *point_json(const struct husk_mount *m, const char *driver, bool image_volume)
{
	switch (m->kind) {
	case HUSK_MOUNT_BIND:
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "Type", "bind", "Source",
				 m->source, "Destination", m->target, "Mode", m->mode, "RW",
				 !m->readonly, "Propagation", m->propagation, "Recursive",
				 m->recursive, "CreateSource", m->create_source);
	case HUSK_MOUNT_VOLUME:
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "Type",
				 "volume", "Name", str_or(m->source, ""), "Source", "",
				 "Destination", m->target, "Driver", driver, "Mode",
				 str_empty(m->mode) && !image_volume ? "z" : str_or(m->mode, ""),
				 "RW", !m->readonly, "Propagation", "", "CopyData", m->copy_up,
				 "Anonymous", m->source == NULL);
	case HUSK_MOUNT_TMPFS:
	default:
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I}", "Type", "tmpfs",
				 "Source", "", "Destination", m->target, "Mode", "", "RW",
				 !m->readonly, "Propagation", "", "Data", m->options, "Flags",
				 (json_int_t)m->flags);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds m at its destination unless something is mounted there already. */
static int add_point(json_t *points, json_t *dests, const char *shown_dest, json_t *point,
		     struct husk_error *err)
{
	const char *dest = jstr(point, "Destination");
	if (json_object_get(dests, dest)) {
		json_decref(point);
		return husk_error_set(err, -EINVAL, "Duplicate mount point: %s", shown_dest);
	}
	json_object_set_new(dests, dest, json_true());
	json_array_append_new(points, point);
	return 0;
}

static int binds_and_mounts(const json_t *hc, json_t *points, json_t *dests,
			    struct husk_error *err)
{
	const char *vdriver = str_or(jstr(hc, "VolumeDriver"), "");
	size_t i;
	json_t *e;
	int r;
	json_array_foreach(jarr(hc, "Binds"), i, e)
	{
		struct husk_mount m;
		r = husk_parse_bind(json_string_value(e), &m, err);
		if (r == 0)
			r = add_point(points, dests, m.target, point_json(&m, vdriver, false), err);
		husk_mount_clear(&m);
		if (r < 0)
			return r;
	}
	json_array_foreach(jarr(hc, "Mounts"), i, e)
	{
		struct husk_mount m;
		r = husk_parse_mount(e, &m, err);
		if (r < 0)
			return r;
		const json_t *vo = jobj(e, "VolumeOptions");
		json_t *p = point_json(&m, str_or(jstr(jobj(vo, "DriverConfig"), "Name"), ""), false);
		if (m.kind == HUSK_MOUNT_VOLUME && jobj(vo, "Labels"))
			json_object_set(p, "VolumeLabels", jobj(vo, "Labels"));
		if (m.kind == HUSK_MOUNT_VOLUME && jobj(jobj(vo, "DriverConfig"), "Options"))
			json_object_set(p, "VolumeDriverOpts",
					jobj(jobj(vo, "DriverConfig"), "Options"));
		husk_mount_clear(&m);
		r = add_point(points, dests, jstr(e, "Target"), p, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The Config's Volumes (the image's VOLUMEs and docker run -v /path): an anonymous volume
 * where nothing else is mounted. */
static int image_volumes(const json_t *hc, const json_t *cfg, json_t *points, json_t *dests,
			 struct husk_error *err)
{
	json_t *vols = jobj(cfg, "Volumes");
	size_t n = 0;
	const char **keys = xcalloc(json_object_size(vols) + 1, sizeof *keys);
	const char *k;
	json_t *e;
	json_object_foreach(vols, k, e)
		keys[n++] = k;
	qsort(keys, n, sizeof *keys, cmp_str);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *why = target_problem(keys[i]);
		if (why) {
			r = husk_error_set(err, -EINVAL,
					   "invalid volume specification: '%s': invalid mount config "
					   "for type \"volume\": %s",
					   keys[i], why);
			break;
		}
		_cleanup_free_ char *dest = husk_path_clean(keys[i]);
		if (json_object_get(dests, dest))
			continue;
		struct husk_mount m = {.kind = HUSK_MOUNT_VOLUME, .target = dest, .copy_up = true};
		json_object_set_new(dests, dest, json_true());
		json_array_append_new(points,
				      point_json(&m, str_or(jstr(hc, "VolumeDriver"), ""), true));
	}
	free(keys);
	return r;
}

int husk_mount_points_build(const json_t *hc, const json_t *cfg, json_t **out,
			    struct husk_error *err)
{
	json_t *points = json_array();
	json_t *dests = json_object();
	const char *k;
	json_t *e;
	json_object_foreach(jobj(hc, "Tmpfs"), k, e)
	{
		_cleanup_free_ char *c = husk_path_clean(k);
		json_object_set_new(dests, c, json_true());
	}
	int r = binds_and_mounts(hc, points, dests, err);
	if (r == 0)
		r = image_volumes(hc, cfg, points, dests, err);
	size_t i;
	json_array_foreach(points, i, e)
	{
		if (r == 0 && streq(jstr(e, "Type"), "volume"))
			r = husk_volume_check(jstr(e, "Name"), jstr(e, "Driver"),
					      jobj(e, "VolumeDriverOpts"), err);
	}
	json_decref(dests);
	if (r < 0) {
		json_decref(points);
		return r;
	}
	*out = points;
	return 0;
}

int husk_mount_from_point(const json_t *mp, struct husk_mount *m, struct husk_error *err)
{
	memset(m, 0, sizeof *m);
	const char *type = str_or(jstr(mp, "Type"), "");
	const char *dest = jstr(mp, "Destination");
	const char *src = jstr(mp, "Source");
	bool tmpfs = streq(type, "tmpfs");
	if (!clean_abs_path(dest) || (!tmpfs && str_empty(src)) ||
	    (!tmpfs && !streq(type, "bind") && !streq(type, "volume")))
		return husk_error_set(err, -EINVAL, "invalid mount point in the container's "
						    "configuration");
	m->target = xstrdup(dest);
	m->readonly = !jbool(mp, "RW", true);
	m->mode = xstrdup(str_or(jstr(mp, "Mode"), ""));
	m->propagation = xstrdup(str_or(jstr(mp, "Propagation"), ""));
	m->recursive = jbool(mp, "Recursive", true);
	if (tmpfs) {
		m->kind = HUSK_MOUNT_TMPFS;
		m->options = xstrdup(str_or(jstr(mp, "Data"), ""));
		m->flags = (unsigned long)jint(mp, "Flags", 0);
		return 0;
	}
	m->source = xstrdup(src);
	m->kind = streq(type, "bind") ? HUSK_MOUNT_BIND : HUSK_MOUNT_VOLUME;
	m->create_source = jbool(mp, "CreateSource", false);
	m->copy_up = jbool(mp, "CopyData", false);
	return 0;
}

json_t *husk_mount_point_public(const json_t *mp)
{
	static const char *const keys[] = {"Type", "Name",	"Source", "Destination",
					   "Driver", "Mode", "RW",	"Propagation"};
	json_t *o = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(mp, keys[i]);
		if (v)
			json_object_set(o, keys[i], v);
	}
	return o;
}
