#include "create.h"
#include "caps.h"
#include "container.h"
#include "fs.h"
#include "health.h"
#include "ids.h"
#include "image.h"
#include "json.h"
#include "resources.h"
#include "restart_policy.h"
#include "seccomp.h"
#include "spec.h"

#include <sys/stat.h>

enum ftype { T_STR, T_BOOL, T_INT, T_STRV, T_STRSLICE, T_MAPSTR, T_OBJ, T_ARR };

struct field {
	const char *path;
	enum ftype type;
};

/* The fields a client may send and the Go types Docker decodes them into. */
static const struct field fields[] = {
	{"Hostname", T_STR},
	{"Domainname", T_STR},
	{"User", T_STR},
	{"AttachStdin", T_BOOL},
	{"AttachStdout", T_BOOL},
	{"AttachStderr", T_BOOL},
	{"ExposedPorts", T_OBJ},
	{"Tty", T_BOOL},
	{"OpenStdin", T_BOOL},
	{"StdinOnce", T_BOOL},
	{"Env", T_STRV},
	{"Cmd", T_STRSLICE},
	{"Healthcheck", T_OBJ},
	{"Healthcheck.Test", T_STRV},
	{"Healthcheck.Interval", T_INT},
	{"Healthcheck.Timeout", T_INT},
	{"Healthcheck.StartPeriod", T_INT},
	{"Healthcheck.StartInterval", T_INT},
	{"Healthcheck.Retries", T_INT},
	{"ArgsEscaped", T_BOOL},
	{"Image", T_STR},
	{"Volumes", T_OBJ},
	{"WorkingDir", T_STR},
	{"Entrypoint", T_STRSLICE},
	{"NetworkDisabled", T_BOOL},
	{"MacAddress", T_STR},
	{"OnBuild", T_STRV},
	{"Labels", T_MAPSTR},
	{"StopSignal", T_STR},
	{"StopTimeout", T_INT},
	{"Shell", T_STRV},
	{"HostConfig", T_OBJ},
	{"NetworkingConfig", T_OBJ},
	{"HostConfig.Binds", T_STRV},
	{"HostConfig.ContainerIDFile", T_STR},
	{"HostConfig.LogConfig", T_OBJ},
	{"HostConfig.NetworkMode", T_STR},
	{"HostConfig.PortBindings", T_OBJ},
	{"HostConfig.RestartPolicy", T_OBJ},
	{"HostConfig.RestartPolicy.Name", T_STR},
	{"HostConfig.RestartPolicy.MaximumRetryCount", T_INT},
	{"HostConfig.AutoRemove", T_BOOL},
	{"HostConfig.VolumeDriver", T_STR},
	{"HostConfig.VolumesFrom", T_STRV},
	{"HostConfig.ConsoleSize", T_ARR},
	{"HostConfig.Annotations", T_MAPSTR},
	{"HostConfig.CapAdd", T_STRV},
	{"HostConfig.CapDrop", T_STRV},
	{"HostConfig.CgroupnsMode", T_STR},
	{"HostConfig.Dns", T_STRV},
	{"HostConfig.DnsOptions", T_STRV},
	{"HostConfig.DnsSearch", T_STRV},
	{"HostConfig.ExtraHosts", T_STRV},
	{"HostConfig.GroupAdd", T_STRV},
	{"HostConfig.IpcMode", T_STR},
	{"HostConfig.Cgroup", T_STR},
	{"HostConfig.Links", T_STRV},
	{"HostConfig.OomScoreAdj", T_INT},
	{"HostConfig.PidMode", T_STR},
	{"HostConfig.Privileged", T_BOOL},
	{"HostConfig.PublishAllPorts", T_BOOL},
	{"HostConfig.ReadonlyRootfs", T_BOOL},
	{"HostConfig.SecurityOpt", T_STRV},
	{"HostConfig.StorageOpt", T_MAPSTR},
	{"HostConfig.Tmpfs", T_MAPSTR},
	{"HostConfig.UTSMode", T_STR},
	{"HostConfig.UsernsMode", T_STR},
	{"HostConfig.ShmSize", T_INT},
	{"HostConfig.Sysctls", T_MAPSTR},
	{"HostConfig.Runtime", T_STR},
	{"HostConfig.Isolation", T_STR},
	{"HostConfig.CpuShares", T_INT},
	{"HostConfig.Memory", T_INT},
	{"HostConfig.NanoCpus", T_INT},
	{"HostConfig.CgroupParent", T_STR},
	{"HostConfig.MemorySwap", T_INT},
	{"HostConfig.PidsLimit", T_INT},
	{"HostConfig.Ulimits", T_ARR},
	{"HostConfig.Mounts", T_ARR},
	{"HostConfig.MaskedPaths", T_STRV},
	{"HostConfig.ReadonlyPaths", T_STRV},
	{"HostConfig.Init", T_BOOL},
	{"NetworkingConfig.EndpointsConfig", T_OBJ},
};

static const char *const go_types[] = {
	[T_STR] = "string",	       [T_BOOL] = "bool",	   [T_INT] = "int64",
	[T_STRV] = "[]string",	       [T_STRSLICE] = "strslice.StrSlice",
	[T_MAPSTR] = "map[string]string", [T_OBJ] = "struct",	   [T_ARR] = "[]",
};

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	default:
		return "bool";
	}
}

static bool type_ok(const json_t *v, enum ftype t)
{
	if (json_is_null(v))
		return true;
	switch (t) {
	case T_STR:
		return json_is_string(v);
	case T_BOOL:
		return json_is_boolean(v);
	case T_INT:
		return json_is_integer(v);
	case T_STRV:
		return json_is_strings(v);
	case T_STRSLICE:
		return json_is_string(v) || json_is_strings(v);
	case T_MAPSTR: {
		if (!json_is_object(v))
			return false;
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
		{
			if (!json_is_string(e))
				return false;
		}
		return true;
	}
	case T_OBJ:
		return json_is_object(v);
	case T_ARR:
		return json_is_array(v);
	}
	return false;
}

int husk_check_create_types(const json_t *body, struct husk_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		json_t *v = jpath(body, fields[i].path);
		if (!v || type_ok(v, fields[i].type))
			continue;
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal %s into Go struct field "
				      "ContainerConfigWrapper.%s of type %s",
				      json_kind(v), fields[i].path, go_types[fields[i].type]);
	}
	return 0;
}

/* A strslice given as a string becomes a one-element array. */
static void normalize_strslice(json_t *cfg, const char *key)
{
	json_t *v = json_object_get(cfg, key);
	if (json_is_string(v))
		json_object_set_new(cfg, key, json_pack("[s]", json_string_value(v)));
}

static const char *env_key_end(const char *e)
{
	return e + strcspn(e, "=");
}

static bool env_has_key(const json_t *env, const char *entry)
{
	size_t klen = (size_t)(env_key_end(entry) - entry);
	size_t i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && (size_t)(env_key_end(s) - s) == klen && strncmp(s, entry, klen) == 0)
			return true;
	}
	return false;
}

static bool empty_array(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0);
}

static void merge_object(json_t *cfg, const json_t *img, const char *key)
{
	json_t *iv = jobj(img, key);
	if (!iv)
		return;
	json_t *uv = jobj(cfg, key);
	if (!uv) {
		json_object_set(cfg, key, iv);
		return;
	}
	const char *k;
	json_t *e;
	json_object_foreach(iv, k, e)
	{
		if (!json_object_get(uv, k))
			json_object_set(uv, k, e);
	}
}

static void inherit_string(json_t *cfg, const json_t *img, const char *key)
{
	const char *u = jstr(cfg, key);
	const char *i = jstr(img, key);
	if (str_empty(u) && !str_empty(i))
		json_object_set_new(cfg, key, json_string(i));
}


void husk_merge_image_config(json_t *config, const json_t *img)
{
	if (!img)
		return;
	inherit_string(config, img, "User");
	inherit_string(config, img, "WorkingDir");
	inherit_string(config, img, "StopSignal");

	json_t *uenv = jarr(config, "Env");
	json_t *ienv = jarr(img, "Env");
	if (empty_array(uenv)) {
		if (ienv)
			json_object_set(config, "Env", ienv);
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(ienv, i, e)
		{
			if (json_is_string(e) && !env_has_key(uenv, json_string_value(e)))
				json_array_append(uenv, e);
		}
	}
	merge_object(config, img, "Labels");
	merge_object(config, img, "ExposedPorts");
	merge_object(config, img, "Volumes");

	/* Docker: an entrypoint given by the user drops the image's Cmd; `--entrypoint ""`
	 * (sent as [""]) means no entrypoint at all. */
	json_t *uep = json_object_get(config, "Entrypoint");
	bool cleared = json_is_array(uep) && json_array_size(uep) == 1 &&
		       streq(json_string_value(json_array_get(uep, 0)), "");
	if (cleared) {
		json_object_set_new(config, "Entrypoint", json_null());
	} else if (empty_array(uep)) {
		if (empty_array(json_object_get(config, "Cmd")) && jarr(img, "Cmd"))
			json_object_set(config, "Cmd", jarr(img, "Cmd"));
		if (!uep || json_is_null(uep)) {
			json_t *iep = jarr(img, "Entrypoint");
			json_object_set(config, "Entrypoint", iep ? iep : json_null());
		}
	}
	husk_health_merge(config, img);
	if (empty_array(json_object_get(config, "OnBuild")) && jarr(img, "OnBuild"))
		json_object_set(config, "OnBuild", jarr(img, "OnBuild"));
	if (empty_array(json_object_get(config, "Shell")) && jarr(img, "Shell"))
		json_object_set(config, "Shell", jarr(img, "Shell"));
}

/* The Config part of the request: the top-level members other than HostConfig and
 * NetworkingConfig. */
static json_t *split_config(const json_t *body)
{
	json_t *cfg = json_deep_copy(body);
	json_object_del(cfg, "HostConfig");
	json_object_del(cfg, "NetworkingConfig");
	normalize_strslice(cfg, "Cmd");
	normalize_strslice(cfg, "Entrypoint");
	return cfg;
}

static int check_host_config(json_t *hc, const json_t *cfg, const struct husk_delegation *cg,
			     json_t *warnings, struct husk_error *err)
{
	const char *nm = jstr(hc, "NetworkMode");
	if (str_empty(nm) || streq(nm, "default"))
		json_object_set_new(hc, "NetworkMode", json_string("bridge"));
	else if (!streq(nm, "bridge") && !streq(nm, "none") && !streq(nm, "host"))
		return husk_error_set(err, -ENOENT, "network %s not found", nm);

	int64_t shm = jint(hc, "ShmSize", 0);
	if (shm < 0)
		return husk_error_set(err, -EINVAL, "SHM size can not be less than 0");
	json_t *cs = jarr(hc, "ConsoleSize");
	if (cs) {
		json_t *h = json_array_get(cs, 0), *w = json_array_get(cs, 1);
		if (json_array_size(cs) != 2 || !json_is_integer(h) || !json_is_integer(w) ||
		    json_integer_value(h) < 0 || json_integer_value(w) < 0 ||
		    json_integer_value(h) > 65535 || json_integer_value(w) > 65535)
			return husk_error_set(err, -EINVAL,
					      "invalid ConsoleSize: want [height, width] in 0..65535");
	}
	int64_t st = jint(cfg, "StopTimeout", 0);
	if (st < -1 || st > 86400 * 365)
		return husk_error_set(err, -EINVAL, "invalid StopTimeout %lld",
				      (long long)st);

	int r = husk_resources_create(hc, cg, warnings, err);
	if (r < 0)
		return r;

	uint64_t caps;
	_cleanup_strv_ char **add = NULL;
	_cleanup_strv_ char **drop = NULL;
	json_to_strv(jarr(hc, "CapAdd"), &add);
	json_to_strv(jarr(hc, "CapDrop"), &drop);
	r = husk_caps_adjust(HUSK_DEFAULT_CAPS, add, drop, &caps, err);
	if (r < 0)
		return r;

	size_t i;
	json_t *e;
	json_array_foreach(jarr(hc, "SecurityOpt"), i, e)
	{
		const char *o = json_string_value(e);
		const char *v = str_startswith(o, "seccomp=");
		if (!v)
			v = str_startswith(o, "seccomp:");
		if (v) {
			if (!streq(v, "unconfined") && (r = husk_seccomp_validate(v, err)) < 0)
				return r;
			continue;
		}
		if (str_startswith(o, "no-new-privileges") || str_startswith(o, "label") ||
		    str_startswith(o, "apparmor") || str_startswith(o, "systempaths"))
			continue;
		return husk_error_set(err, -EINVAL, "invalid --security-opt: \"%s\"", o);
	}
	json_array_foreach(jarr(hc, "Binds"), i, e)
	{
		struct husk_mount m;
		r = husk_parse_bind(json_string_value(e), &m, err);
		if (r < 0)
			return r;
		husk_mount_clear(&m);
	}
	const char *k;
	json_object_foreach(jobj(hc, "Tmpfs"), k, e)
	{
		struct husk_mount m;
		r = husk_parse_tmpfs(k, json_string_value(e), &m, err);
		if (r < 0)
			return r;
		husk_mount_clear(&m);
	}
	if (json_array_size(jarr(hc, "Mounts")))
		return husk_error_set(err, -EOPNOTSUPP,
				      "--mount is not supported by this version of husk: use -v "
				      "HOST:CONTAINER or --tmpfs");
	(void)warnings;
	return 0;
}

static int write_etc_files(const char *dir, const char *hostname, const json_t *hc)
{
	bool host_net = streq(jstr(hc, "NetworkMode"), "host");
	_cleanup_free_ char *hn = xasprintf("%s/hostname", dir);
	_cleanup_free_ char *hn_data = xasprintf("%s\n", hostname);
	int r = write_file_atomic(hn, hn_data, strlen(hn_data), 0644, false);
	if (r < 0)
		return r;

	_cleanup_free_ char *hosts = NULL;
	if (host_net) {
		read_file("/etc/hosts", &hosts, NULL, 1 << 20);
	}
	if (!hosts)
		hosts = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
				"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
				"ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
	size_t i;
	json_t *e;
	json_array_foreach(jarr(hc, "ExtraHosts"), i, e)
	{
		/* "name:ip" → "ip\tname" */
		const char *s = json_string_value(e);
		const char *c = s ? strchr(s, ':') : NULL;
		if (!c)
			continue;
		char *n = xasprintf("%s%s\t%.*s\n", hosts, c + 1, (int)(c - s), s);
		free(hosts);
		hosts = n;
	}
	_cleanup_free_ char *hp = xasprintf("%s/hosts", dir);
	r = write_file_atomic(hp, hosts, strlen(hosts), 0644, false);
	if (r < 0)
		return r;

	/* resolv.conf: the host's, without loopback resolvers a private network can't reach;
	 * --dns / --dns-search / --dns-option replace the corresponding lines. */
	_cleanup_free_ char *host_rc = NULL;
	read_file("/etc/resolv.conf", &host_rc, NULL, 1 << 20);
	size_t cap = (host_rc ? strlen(host_rc) : 0) + 4096;
	_cleanup_free_ char *rc = xcalloc(1, cap);
	bool have_ns = false;
	bool own_dns = json_array_size(jarr(hc, "Dns")) > 0;
	bool own_search = json_array_size(jarr(hc, "DnsSearch")) > 0;
	bool own_opts = json_array_size(jarr(hc, "DnsOptions")) > 0;
	char *save = NULL;
	for (char *l = host_rc ? strtok_r(host_rc, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *ns = str_startswith(l, "nameserver");
		if (ns) {
			while (*ns == ' ' || *ns == '\t')
				ns++;
			if (own_dns || (!host_net && (str_startswith(ns, "127.") ||
						       streq(ns, "::1"))))
				continue;
			have_ns = true;
		}
		if ((own_search && (str_startswith(l, "search") || str_startswith(l, "domain"))) ||
		    (own_opts && str_startswith(l, "options")))
			continue;
		if (strlen(rc) + strlen(l) + 2 < cap) {
			strcat(rc, l);
			strcat(rc, "\n");
		}
	}
	json_array_foreach(jarr(hc, "Dns"), i, e)
	{
		if (strlen(rc) + 64 < cap)
			sprintf(rc + strlen(rc), "nameserver %.40s\n", str_or(json_string_value(e), ""));
		have_ns = true;
	}
	if (own_search) {
		strcat(rc, "search");
		json_array_foreach(jarr(hc, "DnsSearch"), i, e)
		{
			if (strlen(rc) + 260 < cap)
				sprintf(rc + strlen(rc), " %.253s", str_or(json_string_value(e), ""));
		}
		strcat(rc, "\n");
	}
	if (own_opts) {
		strcat(rc, "options");
		json_array_foreach(jarr(hc, "DnsOptions"), i, e)
		{
			if (strlen(rc) + 260 < cap)
				sprintf(rc + strlen(rc), " %.253s", str_or(json_string_value(e), ""));
		}
		strcat(rc, "\n");
	}
	if (!have_ns) /* Docker's fallback */
		strcat(rc, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	_cleanup_free_ char *rp = xasprintf("%s/resolv.conf", dir);
	return write_file_atomic(rp, rc, strlen(rc), 0644, false);
}

/* Made under a dot name (never listed) and renamed into place whole, so that a process killed
 * midway leaves no half container: only a work directory that the next create sweeps away. */
static int make_container_dir(const struct husk_store *s, const char *id, const json_t *doc,
			      struct husk_error *err)
{
	_cleanup_free_ char *dir = husk_container_dir(s, id);
	_cleanup_free_ char *work = husk_store_data_path(s, "containers/" HUSK_CREATING_PREFIX "%s",
							 id);
	if (mkdir(work, 0700) < 0)
		return husk_error_sys(err, -errno, "cannot create %s", work);
	static const char *const sub[] = {"upper", "work", "rootfs"};
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(sub) && r == 0; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", work, sub[i]);
		/* upper is the container's root directory's future owner: keep it 0755. */
		if (mkdir(p, 0755) < 0)
			r = husk_error_sys(err, -errno, "cannot create %s", p);
	}
	const json_t *cfg = jobj(doc, "Config");
	if (r == 0 && (r = write_etc_files(work, jstr(cfg, "Hostname"), jobj(doc, "HostConfig"))) < 0)
		husk_error_sys(err, r, "cannot write the container's /etc files");
	_cleanup_free_ char *cfgp = xasprintf("%s/config.json", work);
	if (r == 0 && (r = json_store_path(cfgp, doc, true)) < 0)
		husk_error_sys(err, r, "cannot write the container's configuration");
	if (r == 0 && rename(work, dir) < 0)
		r = husk_error_sys(err, -errno, "cannot create %s", dir);
	if (r < 0) {
		rm_rf(work);
		return r;
	}
	_cleanup_free_ char *run = husk_container_run_dir(s, id);
	mkdir_p(run, 0700);
	return 0;
}

static int pick_name(const struct husk_store *s, const char *name, char **out,
		     struct husk_error *err)
{
	char owner[HUSK_ID_LEN + 1];
	if (name) {
		const char *n = name[0] == '/' ? name + 1 : name;
		if (husk_container_name_owner(s, n, owner) > 0)
			return husk_error_set(err, -EEXIST,
					      "Conflict. The container name \"/%s\" is already in use "
					      "by container \"%s\". You have to remove (or rename) that "
					      "container to be able to reuse that name.",
					      n, owner);
		*out = xstrdup(n);
		return 0;
	}
	for (unsigned attempt = 0; attempt < 20; attempt++) {
		char *n = husk_name_generate(attempt);
		if (husk_container_name_owner(s, n, owner) == 0) {
			*out = n;
			return 0;
		}
		free(n);
	}
	return husk_error_set(err, -EIO, "cannot generate a unique container name");
}

int husk_create_container(const struct husk_store *s, const struct husk_idmap *m,
			  const struct husk_delegation *cg, const json_t *body, const char *name,
			  char id_out[65], json_t *warnings, struct husk_error *err)
{
	if (!json_is_object(body) || json_object_size(body) == 0)
		return husk_error_set(err, -EINVAL,
				      "config cannot be empty in order to create a container");
	int r = husk_check_create_types(body, err);
	if (r < 0)
		return r;
	/* As Docker, the request is checked before its image is looked up. */
	r = husk_restart_policy_check_host_config(jobj(body, "HostConfig"), err);
	if (r == 0)
		r = husk_health_check(jobj(body, "Healthcheck"), err);
	if (r < 0)
		return r;
	const char *image_ref = jstr(body, "Image");
	if (str_empty(image_ref))
		return husk_error_set(err, -EINVAL, "no image specified: Config.Image is empty");
	if (name && !husk_name_valid(name))
		return husk_error_set(err, -EINVAL,
				      "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				      "are allowed",
				      name);

	_cleanup_image_ struct husk_image *img = NULL;
	r = husk_image_find(s, image_ref, &img, err);
	if (r < 0)
		return r;

	json_t *cfg = split_config(body);
	husk_merge_image_config(cfg, jobj(img->config, "config"));
	_cleanup_strv_ char **argv = husk_config_argv(cfg);
	if (!argv) {
		json_decref(cfg);
		return husk_error_set(err, -EINVAL, "No command specified");
	}
	json_t *hc = jobj(body, "HostConfig") ? json_deep_copy(jobj(body, "HostConfig"))
					      : json_object();
	r = check_host_config(hc, cfg, cg, warnings, err);
	if (r < 0) {
		json_decref(cfg);
		json_decref(hc);
		return r;
	}

	char id[HUSK_ID_LEN + 1];
	husk_id_new(id);
	if (str_empty(jstr(cfg, "Hostname")))
		json_object_set_new(cfg, "Hostname", json_stringn(id, 12));
	json_object_set_new(cfg, "Image", json_string(image_ref));

	json_t *doc = json_object();
	json_object_set_new(doc, "Id", json_string(id));
	json_object_set_new(doc, "Created", json_integer(now_ns()));
	json_object_set_new(doc, "Image", json_string(image_ref));
	json_object_set_new(doc, "ImageID", json_string(img->id));
	json_object_set_new(doc, "Layers", json_strv(img->layers));
	json_object_set_new(doc, "Config", cfg);
	json_object_set_new(doc, "HostConfig", hc);
	json_t *nc = jobj(body, "NetworkingConfig");
	json_object_set_new(doc, "NetworkingConfig", nc ? json_deep_copy(nc) : json_object());

	/* Name check and record creation under one lock: two creates can't take one name. */
	_cleanup_store_lock_ int lock = husk_store_lock(s);
	if (lock < 0) {
		json_decref(doc);
		return husk_error_sys(err, lock, "cannot lock the store");
	}
	husk_container_sweep(s, m);
	_cleanup_free_ char *final_name = NULL;
	r = pick_name(s, name, &final_name, err);
	if (r == 0) {
		_cleanup_free_ char *slashed = xasprintf("/%s", final_name);
		json_object_set_new(doc, "Name", json_string(slashed));
		r = make_container_dir(s, id, doc, err);
	}
	json_decref(doc);
	if (r < 0)
		return r;
	memcpy(id_out, id, sizeof id);
	return 0;
}
