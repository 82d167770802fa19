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
#include "volume.h"

#include <sys/stat.h>

/* The fields a client may send and the Go types Docker decodes them into. */
static const struct json_go_field fields[] = {
	{"Hostname", GO_STR},
	{"Domainname", GO_STR},
	{"User", GO_STR},
	{"AttachStdin", GO_BOOL},
	{"AttachStdout", GO_BOOL},
	{"AttachStderr", GO_BOOL},
	{"ExposedPorts", GO_OBJ},
	{"Tty", GO_BOOL},
	{"OpenStdin", GO_BOOL},
	{"StdinOnce", GO_BOOL},
	{"Env", GO_STRV},
	{"Cmd", GO_STRSLICE},
	{"Healthcheck", GO_OBJ},
	{"Healthcheck.Test", GO_STRV},
	{"Healthcheck.Interval", GO_INT},
	{"Healthcheck.Timeout", GO_INT},
	{"Healthcheck.StartPeriod", GO_INT},
	{"Healthcheck.StartInterval", GO_INT},
	{"Healthcheck.Retries", GO_INT},
	{"ArgsEscaped", GO_BOOL},
	{"Image", GO_STR},
	{"Volumes", GO_OBJ},
	{"WorkingDir", GO_STR},
	{"Entrypoint", GO_STRSLICE},
	{"NetworkDisabled", GO_BOOL},
	{"MacAddress", GO_STR},
	{"OnBuild", GO_STRV},
	{"Labels", GO_MAPSTR},
	{"StopSignal", GO_STR},
	{"StopTimeout", GO_INT},
	{"Shell", GO_STRV},
	{"HostConfig", GO_OBJ},
	{"NetworkingConfig", GO_OBJ},
	{"HostConfig.Binds", GO_STRV},
	{"HostConfig.ContainerIDFile", GO_STR},
	{"HostConfig.LogConfig", GO_OBJ},
	{"HostConfig.NetworkMode", GO_STR},
	{"HostConfig.PortBindings", GO_OBJ},
	{"HostConfig.RestartPolicy", GO_OBJ},
	{"HostConfig.RestartPolicy.Name", GO_STR},
	{"HostConfig.RestartPolicy.MaximumRetryCount", GO_INT},
	{"HostConfig.AutoRemove", GO_BOOL},
	{"HostConfig.VolumeDriver", GO_STR},
	{"HostConfig.VolumesFrom", GO_STRV},
	{"HostConfig.ConsoleSize", GO_ARR},
	{"HostConfig.Annotations", GO_MAPSTR},
	{"HostConfig.CapAdd", GO_STRV},
	{"HostConfig.CapDrop", GO_STRV},
	{"HostConfig.CgroupnsMode", GO_STR},
	{"HostConfig.Dns", GO_STRV},
	{"HostConfig.DnsOptions", GO_STRV},
	{"HostConfig.DnsSearch", GO_STRV},
	{"HostConfig.ExtraHosts", GO_STRV},
	{"HostConfig.GroupAdd", GO_STRV},
	{"HostConfig.IpcMode", GO_STR},
	{"HostConfig.Cgroup", GO_STR},
	{"HostConfig.Links", GO_STRV},
	{"HostConfig.OomScoreAdj", GO_INT},
	{"HostConfig.PidMode", GO_STR},
	{"HostConfig.Privileged", GO_BOOL},
	{"HostConfig.PublishAllPorts", GO_BOOL},
	{"HostConfig.ReadonlyRootfs", GO_BOOL},
	{"HostConfig.SecurityOpt", GO_STRV},
	{"HostConfig.StorageOpt", GO_MAPSTR},
	{"HostConfig.Tmpfs", GO_MAPSTR},
	{"HostConfig.UTSMode", GO_STR},
	{"HostConfig.UsernsMode", GO_STR},
	{"HostConfig.ShmSize", GO_INT},
	{"HostConfig.Sysctls", GO_MAPSTR},
	{"HostConfig.Runtime", GO_STR},
	{"HostConfig.Isolation", GO_STR},
	{"HostConfig.CpuShares", GO_INT},
	{"HostConfig.Memory", GO_INT},
	{"HostConfig.NanoCpus", GO_INT},
	{"HostConfig.CgroupParent", GO_STR},
	{"HostConfig.MemorySwap", GO_INT},
	{"HostConfig.PidsLimit", GO_INT},
	{"HostConfig.Ulimits", GO_ARR},
	{"HostConfig.Mounts", GO_ARR},
	{"HostConfig.MaskedPaths", GO_STRV},
	{"HostConfig.ReadonlyPaths", GO_STRV},
	{"HostConfig.Init", GO_BOOL},
	{"NetworkingConfig.EndpointsConfig", GO_OBJ},
};

int husk_check_create_types(const json_t *body, struct husk_error *err)
{
	return json_check_go_types(body, fields, ARRAY_SIZE(fields), "ContainerConfigWrapper", err);
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
	if (!img) {
		husk_health_merge(config, NULL); /* its omitempty clean-up still */
		return;
	}
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

static bool nonempty(const json_t *v)
{
	return (json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v));
}

/* What husk cannot do yet is refused, never accepted and ignored: a container that silently
 * lacks what was asked (a published port, a device, a sysctl) is worse than an error. */
static int check_unsupported(const json_t *hc, struct husk_error *err)
{
	const json_t *pb = jobj(hc, "PortBindings");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)pb, key, v)
	{
		if (nonempty(v))
			return husk_error_set(err, -EOPNOTSUPP,
					      "publishing ports (-p %s) needs the network support this "
					      "version of husk does not have yet: containers get only a "
					      "loopback interface",
					      key);
	}
	if (jbool(hc, "PublishAllPorts", false))
		return husk_error_set(err, -EOPNOTSUPP,
				      "publishing ports (-P) needs the network support this version "
				      "of husk does not have yet");
	static const struct {
		const char *key, *flag;
	} lists[] = {{"Sysctls", "--sysctl"},	   {"Devices", "--device"},
		     {"VolumesFrom", "--volumes-from"},
		     {"StorageOpt", "--storage-opt"}, {"DeviceRequests", "--gpus"},
		     {"DeviceCgroupRules", "--device-cgroup-rule"}};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if (nonempty(json_object_get(hc, lists[i].key)))
			return husk_error_set(err, -EOPNOTSUPP, "%s is not supported by husk yet",
					      lists[i].flag);
	/* Namespace modes: dockerd's validation (400 "invalid IPC mode: x" for what it does not
	 * know), then what husk cannot do: each container has namespaces of its own. */
	static const struct {
		const char *key, *flag, *what, *valid[4];
		bool container; /* container:NAME is valid */
	} modes[] = {
	    {"PidMode", "--pid", "PID", {"host"}, true},
	    {"IpcMode", "--ipc", "IPC", {"host", "private", "shareable", "none"}, true},
	    {"UTSMode", "--uts", "UTS", {"host"}, false},
	    {"UsernsMode", "--userns", "userns", {"host"}, false},
	    {"CgroupnsMode", "--cgroupns", "cgroup namespace", {"host", "private"}, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		const char *m = jstr(hc, modes[i].key);
		if (str_empty(m))
			continue;
		bool valid = modes[i].container && str_startswith(m, "container:") && m[10];
		for (size_t k = 0; k < ARRAY_SIZE(modes[i].valid) && modes[i].valid[k]; k++)
			valid |= streq(m, modes[i].valid[k]);
		if (!valid)
			return husk_error_set(err, -EINVAL, "invalid %s mode: %s", modes[i].what, m);
		if (streq(m, "private") || streq(m, "shareable"))
			continue; /* what every husk container has */
		return husk_error_set(err, -EOPNOTSUPP, "%s %s is not supported by husk yet: each "
							"container has namespaces of its own",
				      modes[i].flag, m);
	}
	const char *log = jstr(jobj(hc, "LogConfig"), "Type");
	/* dockerd's built-in drivers: an unknown name is a bad request there, these are valid
	 * but not husk's. */
	static const char *const drivers[] = {"none",	 "syslog", "journald", "gelf",
					      "fluentd", "awslogs", "splunk",	"etwlogs",
					      "gcplogs"};
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		known |= streq(log, drivers[i]);
	if (!str_empty(log) && !streq(log, "json-file") && !streq(log, "local") && !known)
		return husk_error_set(err, -EINVAL, "logger: no log driver named '%s' is registered",
				      log);
	if (!str_empty(log) && !streq(log, "json-file") && !streq(log, "local"))
		return husk_error_set(err, -EOPNOTSUPP,
				      "logging driver \"%s\" is not supported: husk keeps each "
				      "container's log in a file of its own (docker logs reads it)",
				      log);
	const char *rt = jstr(hc, "Runtime");
	if (!str_empty(rt) && !streq(rt, "husk") && !streq(rt, "runc"))
		return husk_error_set(err, -EINVAL, "unknown or invalid runtime name: %s", rt);
	const char *iso = jstr(hc, "Isolation");
	if (!str_empty(iso) && !streq(iso, "default"))
		return husk_error_set(err, -EINVAL, "invalid isolation: %s", iso);
	int64_t oom = jint(hc, "OomScoreAdj", 0);
	if (oom < -1000 || oom > 1000)
		return husk_error_set(err, -EINVAL,
				      "Invalid value %lld, range for oom score adj is [-1000, 1000]",
				      (long long)oom);
	if (oom < 0)
		return husk_error_set(err, -EOPNOTSUPP,
				      "--oom-score-adj %lld: lowering it needs privileges a rootless "
				      "container does not have",
				      (long long)oom);
	return 0;
}

/* Legacy links, as dockerd's registerLinks checks them. With NetworkMode none they are only
 * recorded (there is no network to link on; compose sends them for one-off containers of a
 * service that runs); on husk's default network, where a container has only lo, there is no
 * address to link to, so they are refused rather than silently missing. */
static int check_links(const struct husk_store *s, const json_t *hc, struct husk_error *err)
{
	const json_t *links = jarr(hc, "Links");
	if (!json_array_size(links))
		return 0;
	const char *nm = jstr(hc, "NetworkMode");
	if (streq(nm, "host"))
		return husk_error_set(err, -EINVAL,
				      "conflicting options: host type networking can't be used with "
				      "links. This would result in undefined behavior");
	if (!streq(nm, "none"))
		return husk_error_set(err, -EOPNOTSUPP,
				      "--link is not supported by husk yet on network %s: its "
				      "containers get only a loopback interface (links work with "
				      "--network none, where they are only recorded)",
				      nm);
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)links, i, e)
	{
		const char *l = json_string_value(e);
		if (str_empty(l)) /* opts.ParseLink's checks and messages */
			return husk_error_set(err, -EINVAL, "empty string specified for links");
		_cleanup_free_ char *child = xstrdup(l);
		char *colon = strchr(child, ':');
		if (colon) {
			*colon = 0;
			if (strchr(colon + 1, ':'))
				return husk_error_set(err, -EINVAL, "bad format for links: %s", l);
		}
		const char *name = colon && child[0] == '/' ? child + 1 : child;
		char id[65];
		int r = husk_container_resolve_id(s, name, id, err);
		if (r < 0) {
			husk_error_prefix(err, "could not get container for %s", name);
			return r;
		}
	}
	return 0;
}

static int check_host_config(json_t *hc, const json_t *cfg, const struct husk_delegation *cg,
			     json_t *warnings, struct husk_error *err)
{
	int bad = check_unsupported(hc, err);
	if (bad < 0)
		return bad;
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
	const char *stop = jstr(cfg, "StopSignal");
	if (!str_empty(stop) && parse_signal(stop) < 0)
		return husk_error_set(err, -EINVAL, "Invalid signal: %s", stop);
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
		const char *v = NULL;
		int nnp = -1;
		r = husk_parse_security_opt(json_string_value(e), &nnp, &v, err);
		if (r < 0)
			return r;
		if (v && !streq(v, "unconfined") && (r = husk_seccomp_validate(v, err)) < 0)
			return r;
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
	struct husk_rlimit *rl;
	size_t nrl;
	r = husk_parse_ulimits(jarr(hc, "Ulimits"), &rl, &nrl, err);
	free(rl);
	return r;
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

/* Nothing half-made stays behind: the container's directories and the volumes made for it
 * (new, so empty and ours). */
static void undo_create(const struct husk_store *s, const char *id, const json_t *volumes)
{
	_cleanup_free_ char *dir = husk_container_dir(s, id);
	_cleanup_free_ char *run = husk_container_run_dir(s, id);
	rm_rf(dir);
	rm_rf(run);
	size_t i;
	json_t *v;
	json_array_foreach(volumes, i, v)
		husk_volume_remove(s, NULL, json_string_value(v), true, NULL, NULL);
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
	json_t *points = NULL;
	r = check_host_config(hc, cfg, cg, warnings, err);
	if (r == 0)
		r = check_links(s, hc, err);
	if (r == 0)
		r = husk_mount_points_build(hc, cfg, &points, err);
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
	json_t *made = json_array();
	r = pick_name(s, name, &final_name, err);
	if (r == 0)
		r = husk_volumes_attach(s, points, made, err);
	if (r == 0) {
		_cleanup_free_ char *slashed = xasprintf("/%s", final_name);
		json_object_set_new(doc, "Name", json_string(slashed));
		json_object_set(doc, "MountPoints", points);
		r = make_container_dir(s, id, doc, err);
	}
	if (r < 0)
		undo_create(s, id, made);
	json_decref(made);
	json_decref(points);
	json_decref(doc);
	if (r < 0)
		return r;
	memcpy(id_out, id, sizeof id);
	return 0;
}
