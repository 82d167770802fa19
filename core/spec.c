#include "spec.h"
#include "caps.h"
#include "fs.h"
#include "json.h"

#include <sys/resource.h>

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

int husk_parse_security_opt(const char *o, int *no_new_privs, const char **seccomp,
			    struct husk_error *err)
{
	if (!o)
		return husk_error_set(err, -EINVAL, "invalid --security-opt: not a string");
	if (streq(o, "no-new-privileges")) {
		*no_new_privs = 1;
		return 0;
	}
	if (streq(o, "disable")) /* label=disable, SELinux's: there is none here */
		return 0;
	const char *sep = strchr(o, '=');
	if (!sep)
		sep = strchr(o, ':');
	if (!sep)
		return husk_error_set(err, -EINVAL, "invalid --security-opt 1: \"%s\"", o);
	size_t klen = (size_t)(sep - o);
	const char *v = sep + 1;
	bool b;
#define KEY(k) (klen == strlen(k) && strncmp(o, k, klen) == 0)
	if (KEY("label") || KEY("apparmor")) /* no SELinux or AppArmor in a user namespace */
		return 0;
	if (KEY("seccomp")) {
		*seccomp = v;
		return 0;
	}
	if (KEY("no-new-privileges") && parse_bool(v, &b) == 0) {
		*no_new_privs = b;
		return 0;
	}
	if (KEY("writable-cgroups") && parse_bool(v, &b) == 0) {
		if (b)
			return husk_error_set(err, -EOPNOTSUPP,
					      "--security-opt writable-cgroups=true is not "
					      "supported by husk");
		return 0;
	}
#undef KEY
	return husk_error_set(err, -EINVAL, "invalid --security-opt 2: \"%s\"", o);
}

static int security_opts(const json_t *hc, struct husk_spec *spec, struct husk_error *err)
{
	size_t i;
	json_t *e;
	int nnp = 1; /* husk's default, as the design asks: see README */
	json_array_foreach(jarr(hc, "SecurityOpt"), i, e)
	{
		const char *seccomp = NULL;
		if (!json_is_string(e)) /* create refuses them; a record from elsewhere */
			continue;
		int r = husk_parse_security_opt(json_string_value(e), &nnp, &seccomp, err);
		if (r < 0)
			return r;
		if (seccomp) {
			free(spec->seccomp_profile);
			spec->seccomp_profile = xstrdup(seccomp);
		}
	}
	spec->no_new_privs = nnp;
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

/* The mount points recorded at create; a container of an older husk has only its Binds. */
static int user_mounts(const json_t *doc, const json_t *hc, struct husk_spec *spec,
		       struct husk_error *err)
{
	json_t *points = jarr(doc, "MountPoints");
	json_t *binds = points ? NULL : jarr(hc, "Binds");
	size_t n = json_array_size(points) + json_array_size(binds) +
		   json_object_size(jobj(hc, "Tmpfs"));
	spec->mounts = xcalloc(n ? n : 1, sizeof *spec->mounts);
	size_t i;
	json_t *e;
	int r;
	json_array_foreach(points, i, e)
	{
		r = husk_mount_from_point(e, &spec->mounts[spec->n_mounts], err);
		if (r < 0)
			return r;
		spec->n_mounts++;
	}
	json_array_foreach(binds, i, e)
	{
		struct husk_mount *m = &spec->mounts[spec->n_mounts];
		r = husk_parse_bind(json_string_value(e), m, err);
		if (r < 0)
			return r;
		spec->n_mounts++;
		if (m->kind != HUSK_MOUNT_BIND)
			return husk_error_set(err, -EINVAL,
					      "volume %s: this container was made by an older husk: "
					      "create it again",
					      str_or(m->source, m->target));
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

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{"core", RLIMIT_CORE},
	{"cpu", RLIMIT_CPU},
	{"data", RLIMIT_DATA},
	{"fsize", RLIMIT_FSIZE},
	{"locks", RLIMIT_LOCKS},
	{"memlock", RLIMIT_MEMLOCK},
	{"msgqueue", RLIMIT_MSGQUEUE},
	{"nice", RLIMIT_NICE},
	{"nofile", RLIMIT_NOFILE},
	{"nproc", RLIMIT_NPROC},
	{"rss", RLIMIT_RSS},
	{"rtprio", RLIMIT_RTPRIO},
	{"rttime", RLIMIT_RTTIME},
	{"sigpending", RLIMIT_SIGPENDING},
	{"stack", RLIMIT_STACK},
};

const char *husk_rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "unknown";
}

/* A negative limit is no limit (Go's int64 -1 is RLIM_INFINITY once the runtime makes it a
 * uint64). */
static uint64_t rlimit_value(int64_t v)
{
	return v < 0 ? (uint64_t)RLIM_INFINITY : (uint64_t)v;
}

int husk_parse_ulimits(const json_t *ulimits, struct husk_rlimit **out, size_t *n,
		       struct husk_error *err)
{
	static const struct json_go_field fields[] = {
		{"Name", GO_STR}, {"Soft", GO_INT}, {"Hard", GO_INT}};
	*out = xcalloc(json_array_size(ulimits) + 1, sizeof **out);
	*n = 0;
	size_t i;
	json_t *u;
	json_array_foreach(ulimits, i, u)
	{
		if (!json_is_object(u))
			return husk_error_set(err, -EINVAL,
					      "json: cannot unmarshal %s into Go struct field "
					      "HostConfig.HostConfig.Ulimits of type units.Ulimit",
					      json_go_kind(u));
		int r = json_check_go_types(u, fields, ARRAY_SIZE(fields),
					    "Ulimit.HostConfig.Ulimits", err);
		if (r < 0)
			return r;
		const char *name = str_or(jstr(u, "Name"), "");
		size_t k = 0;
		while (k < ARRAY_SIZE(rlimit_names) && !streq(rlimit_names[k].name, name))
			k++;
		if (k == ARRAY_SIZE(rlimit_names))
			return husk_error_set(err, -EINVAL, "invalid ulimit type: %s", name);
		int64_t soft = jint(u, "Soft", 0), hard = jint(u, "Hard", 0);
		if (rlimit_value(soft) > rlimit_value(hard))
			return husk_error_set(err, -EINVAL,
					      "ulimit soft limit must be less than or equal to hard "
					      "limit: %lld > %lld",
					      (long long)soft, (long long)hard);
		(*out)[(*n)++] = (struct husk_rlimit){rlimit_names[k].resource, rlimit_value(soft),
						      rlimit_value(hard)};
	}
	return 0;
}

/* --init: husk-init runs first, with the command as its arguments. */
static void use_init(struct husk_spec *spec)
{
	char **argv = xcalloc(strv_length(spec->argv) + 3, sizeof(char *));
	argv[0] = xstrdup(HUSK_INIT_TARGET);
	argv[1] = xstrdup("--");
	memcpy(argv + 2, spec->argv, strv_length(spec->argv) * sizeof(char *));
	free(spec->argv);
	spec->argv = argv;
	spec->init_path = husk_find_tool("husk-init", "HUSK_INIT");
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
	spec->oom_score_adj = (int)jint(hc, "OomScoreAdj", 0);
	int r = capabilities(hc, spec, err);
	if (r < 0)
		return r;
	r = security_opts(hc, spec, err);
	if (r < 0)
		return r;
	r = user_mounts(doc, hc, spec, err);
	if (r < 0)
		return r;
	r = husk_parse_ulimits(jarr(hc, "Ulimits"), &spec->rlimits, &spec->n_rlimits, err);
	if (r < 0)
		return r;
	if (jbool(hc, "Init", false))
		use_init(spec);
	spec->masked_paths = paths_or_default(hc, "MaskedPaths", husk_default_masked_paths);
	spec->readonly_paths = paths_or_default(hc, "ReadonlyPaths", husk_default_readonly_paths);
	json_to_strv(jarr(hc, "GroupAdd"), &spec->extra_groups);
	return 0;
}
