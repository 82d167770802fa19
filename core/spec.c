#include "spec.h"
#include "caps.h"
#include "json.h"

#include <sys/mount.h>

char **husk_config_argv(const json_t *config)
{
	char **argv = xcalloc(1, sizeof(char *));
	static const char *const keys[] = {"Entrypoint", "Cmd"};
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *a = jarr(config, keys[k]);
		size_t i;
		json_t *e;
		json_array_foreach(a, i, e)
		{
			if (json_is_string(e))
				argv = strv_push(argv, json_string_value(e));
		}
	}
	if (!argv[0]) {
		free(argv);
		return NULL;
	}
	return argv;
}

char **husk_env_set(char **env, const char *entry)
{
	size_t klen = strcspn(entry, "=");
	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], entry, klen) == 0 && (env[i][klen] == '=' || !env[i][klen])) {
			free(env[i]);
			env[i] = xstrdup(entry);
			return env;
		}
	}
	return strv_push(env, entry);
}

char **husk_env_build(char *const *config_env, const char *hostname, bool tty)
{
	char **env = xcalloc(1, sizeof(char *));
	env = strv_push(env, "PATH=" HUSK_DEFAULT_PATH);
	_cleanup_free_ char *h = xasprintf("HOSTNAME=%s", str_or(hostname, ""));
	env = strv_push(env, h);
	if (tty)
		env = strv_push(env, "TERM=xterm");
	for (size_t i = 0; config_env && config_env[i]; i++) {
		/* "NAME" without "=" unsets in Docker's merge; an empty name is ignored. */
		if (!config_env[i][0] || config_env[i][0] == '=')
			continue;
		if (!strchr(config_env[i], '=')) {
			size_t klen = strlen(config_env[i]);
			for (size_t k = 0; env[k]; k++) {
				if (strncmp(env[k], config_env[i], klen) == 0 && env[k][klen] == '=') {
					free(env[k]);
					memmove(&env[k], &env[k + 1],
						(strv_length(env) - k) * sizeof(char *));
					break;
				}
			}
			continue;
		}
		env = husk_env_set(env, config_env[i]);
	}
	return env;
}

char **husk_env_finish(char *const *env, const char *home)
{
	char **out = xcalloc(1, sizeof(char *));
	bool have_home = false;
	for (size_t i = 0; env && env[i]; i++) {
		have_home |= str_startswith(env[i], "HOME=") != NULL;
		out = strv_push(out, env[i]);
	}
	if (!have_home) {
		_cleanup_free_ char *h = xasprintf("HOME=%s", str_or(home, "/"));
		out = strv_push(out, h);
	}
	return out;
}

static int security_opts(const json_t *hc, struct husk_spec *spec, struct husk_error *err)
{
	size_t i;
	json_t *e;
	spec->no_new_privs = true;
	json_array_foreach(jarr(hc, "SecurityOpt"), i, e)
	{
		const char *o = json_string_value(e);
		const char *v;
		if (!o)
			continue;
		if ((v = str_startswith(o, "seccomp=")) || (v = str_startswith(o, "seccomp:"))) {
			free(spec->seccomp_profile);
			spec->seccomp_profile = xstrdup(v);
		} else if (streq(o, "no-new-privileges") || streq(o, "no-new-privileges=true") ||
			   streq(o, "no-new-privileges:true")) {
			spec->no_new_privs = true;
		} else if (streq(o, "no-new-privileges=false") ||
			   streq(o, "no-new-privileges:false")) {
			spec->no_new_privs = false;
		}
	}
	return 0;
}

static char **paths_or_default(const json_t *hc, const char *key, const char *const *dflt)
{
	json_t *a = jarr(hc, key);
	char **v = NULL;
	if (a) {
		json_to_strv(a, &v);
		return v;
	}
	v = xcalloc(1, sizeof(char *));
	for (size_t i = 0; dflt[i]; i++)
		v = strv_push(v, dflt[i]);
	return v;
}

static int capabilities(const json_t *hc, struct husk_spec *spec, struct husk_error *err)
{
	if (spec->privileged) {
		spec->caps = husk_caps_all();
		return 0;
	}
	_cleanup_strv_ char **add = NULL;
	_cleanup_strv_ char **drop = NULL;
	json_to_strv(jarr(hc, "CapAdd"), &add);
	json_to_strv(jarr(hc, "CapDrop"), &drop);
	return husk_caps_adjust(HUSK_DEFAULT_CAPS, add, drop, &spec->caps, err);
}

static int user_mounts(const json_t *hc, struct husk_spec *spec, struct husk_error *err)
{
	size_t n = json_array_size(jarr(hc, "Binds")) + json_object_size(jobj(hc, "Tmpfs"));
	spec->mounts = xcalloc(n ? n : 1, sizeof *spec->mounts);
	size_t i;
	json_t *e;
	int r;
	json_array_foreach(jarr(hc, "Binds"), i, e)
	{
		r = husk_parse_bind(json_string_value(e), &spec->mounts[spec->n_mounts], err);
		if (r < 0)
			return r;
		spec->n_mounts++;
	}
	const char *k;
	json_object_foreach(jobj(hc, "Tmpfs"), k, e)
	{
		r = husk_parse_tmpfs(k, json_string_value(e), &spec->mounts[spec->n_mounts], err);
		if (r < 0)
			return r;
		spec->n_mounts++;
	}
	return 0;
}

int husk_spec_from_config(const struct husk_store *s, const json_t *doc, struct husk_spec *spec,
			  struct husk_error *err)
{
	const json_t *cfg = jobj(doc, "Config");
	const json_t *hc = jobj(doc, "HostConfig");
	const char *id = jstr(doc, "Id");
	memset(spec, 0, sizeof *spec);
	if (!cfg || !id)
		return husk_error_set(err, -EINVAL, "container configuration is incomplete");
	snprintf(spec->id, sizeof spec->id, "%s", id);

	spec->argv = husk_config_argv(cfg);
	if (!spec->argv)
		return husk_error_set(err, -EINVAL, "no command specified");
	const char *hn = jstr(cfg, "Hostname");
	spec->hostname = str_empty(hn) ? xstrndup(id, 12) : xstrdup(hn);
	spec->domainname = xstrdup(str_or(jstr(cfg, "Domainname"), ""));
	spec->tty = jbool(cfg, "Tty", false);
	spec->open_stdin = jbool(cfg, "OpenStdin", false);
	_cleanup_strv_ char **cenv = NULL;
	json_to_strv(jarr(cfg, "Env"), &cenv);
	spec->env = husk_env_build(cenv, spec->hostname, spec->tty);
	spec->cwd = xstrdup(str_or(jstr(cfg, "WorkingDir"), ""));
	spec->user = xstrdup(str_or(jstr(cfg, "User"), ""));
	json_t *cs = jarr(hc, "ConsoleSize");
	if (json_array_size(cs) == 2) {
		spec->rows = (unsigned short)json_integer_value(json_array_get(cs, 0));
		spec->cols = (unsigned short)json_integer_value(json_array_get(cs, 1));
	}

	const char *nm = str_or(jstr(hc, "NetworkMode"), "default");
	spec->net = streq(nm, "host") ? HUSK_NET_HOST
		    : streq(nm, "none") ? HUSK_NET_NONE
					: HUSK_NET_PRIVATE;

	spec->rootfs = husk_store_data_path(s, "containers/%s/rootfs", id);
	spec->upperdir = husk_store_data_path(s, "containers/%s/upper", id);
	spec->workdir = husk_store_data_path(s, "containers/%s/work", id);
	spec->layers_dir = husk_store_data_path(s, "images/layers");
	spec->lowerdirs = xcalloc(1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach(jarr(doc, "Layers"), i, e)
	{
		_cleanup_free_ char *d = xasprintf("%s/diff", str_or(json_string_value(e), ""));
		spec->lowerdirs = strv_push(spec->lowerdirs, d);
	}
	spec->readonly_rootfs = jbool(hc, "ReadonlyRootfs", false);
	spec->hosts_file = husk_store_data_path(s, "containers/%s/hosts", id);
	spec->hostname_file = husk_store_data_path(s, "containers/%s/hostname", id);
	spec->resolv_file = husk_store_data_path(s, "containers/%s/resolv.conf", id);
	int64_t shm = jint(hc, "ShmSize", 0);
	if (shm > 0)
		spec->shm_options = xasprintf("mode=1777,size=%lld", (long long)shm);

	spec->privileged = jbool(hc, "Privileged", false);
	int r = capabilities(hc, spec, err);
	if (r < 0)
		return r;
	r = security_opts(hc, spec, err);
	if (r < 0)
		return r;
	r = user_mounts(hc, spec, err);
	if (r < 0)
		return r;
	spec->masked_paths = paths_or_default(hc, "MaskedPaths", husk_default_masked_paths);
	spec->readonly_paths = paths_or_default(hc, "ReadonlyPaths", husk_default_readonly_paths);
	json_to_strv(jarr(hc, "GroupAdd"), &spec->extra_groups);
	return 0;
}

void husk_mount_clear(struct husk_mount *m)
{
	free(m->source);
	free(m->target);
	free(m->options);
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

/* Docker's linuxValidMountMode, with husk's bind/rbind: comma-separated, at most one of each
 * kind. */
static bool bind_mode(const char *mode, bool *ro, bool *recursive)
{
	static const char *const kinds[][7] = {
		{"ro", "rw"},
		{"z", "Z"},
		{"private", "rprivate", "shared", "rshared", "slave", "rslave"},
		{"consistent", "cached", "delegated"},
		{"bind", "rbind"},
	};
	unsigned seen[ARRAY_SIZE(kinds)] = {0};
	*ro = false;
	*recursive = true;
	if (!*mode)
		return true;
	_cleanup_free_ char *m = xstrdup(mode);
	for (char *p = m, *t; (t = strsep(&p, ","));) {
		size_t k = 0;
		while (k < ARRAY_SIZE(kinds) && !strv_contains((char **)kinds[k], t))
			k++;
		if (k == ARRAY_SIZE(kinds) || seen[k]++)
			return false;
		*ro |= streq(t, "ro");
		*recursive &= !streq(t, "bind");
	}
	return true;
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

int husk_parse_bind(const char *spec, struct husk_mount *m, struct husk_error *err)
{
	memset(m, 0, sizeof *m);
	_cleanup_free_ char *s = xstrdup(str_or(spec, ""));
	/* Docker's ParseMountRaw: strings.SplitN(spec, ":", 4), every colon splits. */
	char *parts[4] = {0};
	size_t n = 0;
	for (char *p = s; p && n < 4;)
		parts[n++] = strsep(&p, ":");
	bool ro, recursive;
	/* "/dst:rw" is a volume with a mode, not a bind. */
	if (!parts[0][0] || n == 1 || n == 4 || (n == 2 && bind_mode(parts[1], &ro, &recursive)))
		return husk_error_set(err, -EINVAL, "invalid volume specification: '%s'",
				      str_or(spec, ""));
	const char *mode = n == 3 ? parts[2] : "";
	if (!bind_mode(mode, &ro, &recursive))
		return husk_error_set(err, -EINVAL, "invalid mode: %s", mode);
	if (parts[0][0] != '/')
		return husk_error_set(err, -EOPNOTSUPP,
				      "named volumes (\"%s\") are not supported by this version of "
				      "husk: bind a host path",
				      parts[0]);
	const char *t = parts[1];
	_cleanup_free_ char *why = NULL;
	if (!*t)
		why = xstrdup("field Target must not be empty");
	else if (is_root_path(t))
		why = xstrdup("invalid specification: destination can't be '/'");
	else if (!clean_abs_path(t)) /* ".." segments too: mount points stay where they say */
		why = xasprintf("invalid mount path: '%s' mount path must be absolute", t);
	if (why)
		return husk_error_set(err, -EINVAL,
				      "invalid volume specification: '%s': invalid mount config for "
				      "type \"bind\": %s",
				      spec, why);
	m->kind = HUSK_MOUNT_BIND;
	m->readonly = ro;
	m->recursive = recursive;
	m->source = xstrdup(parts[0]);
	m->target = xstrdup(t);
	return 0;
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
	if (!clean_abs_path(path) || streq(path, "/"))
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
		if (!str_startswith(t, "size=") && !str_startswith(t, "mode=") &&
		    !str_startswith(t, "uid=") && !str_startswith(t, "gid=") &&
		    !str_startswith(t, "nr_inodes=") && !str_startswith(t, "nr_blocks="))
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
