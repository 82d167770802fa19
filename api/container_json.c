/* Docker's JSON for containers: GET /containers/{id}/json and the summaries of
 * GET /containers/json, from the stored record and state, with Docker's defaults filled in. */
#include "container_json.h"

#include "core/health.h"
#include "core/json.h"
#include "core/runtime.h"
#include "core/spec.h"

static void set_default(json_t *o, const char *key, json_t *v)
{
	if (!json_object_get(o, key))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

static json_t *strv_default(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *host_config(const struct husk_container *c)
{
	json_t *hc = json_deep_copy(jobj(c->config, "HostConfig"));
	if (!hc)
		hc = json_object();
	bool priv = jbool(hc, "Privileged", false);
	set_default(hc, "Binds", json_null());
	set_default(hc, "ContainerIDFile", json_string(""));
	if (!jobj(hc, "LogConfig") || str_empty(jstr(jobj(hc, "LogConfig"), "Type")))
		json_object_set_new(hc, "LogConfig",
				    json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));
	set_default(hc, "NetworkMode", json_string("bridge"));
	set_default(hc, "PortBindings", json_object());
	json_t *rp = jobj(hc, "RestartPolicy");
	if (!rp || str_empty(jstr(rp, "Name")))
		json_object_set_new(hc, "RestartPolicy",
				    json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
	static const char *const false_keys[] = {"AutoRemove", "Privileged", "PublishAllPorts",
						 "ReadonlyRootfs"};
	for (size_t i = 0; i < ARRAY_SIZE(false_keys); i++)
		set_default(hc, false_keys[i], json_false());
	static const char *const empty_str[] = {"VolumeDriver", "Cgroup", "PidMode", "UTSMode",
						"UsernsMode", "Isolation", "CgroupParent",
						"CpusetCpus", "CpusetMems"};
	for (size_t i = 0; i < ARRAY_SIZE(empty_str); i++)
		set_default(hc, empty_str[i], json_string(""));
	static const char *const null_keys[] = {"VolumesFrom", "CapAdd",	 "CapDrop",
						"ExtraHosts",  "GroupAdd",	 "Links",
						"SecurityOpt", "DeviceCgroupRules", "DeviceRequests",
						"MemorySwappiness", "OomKillDisable", "PidsLimit"};
	for (size_t i = 0; i < ARRAY_SIZE(null_keys); i++)
		set_default(hc, null_keys[i], json_null());
	static const char *const zero_keys[] = {
		"OomScoreAdj", "CpuShares",	    "Memory",		 "NanoCpus",
		"BlkioWeight", "CpuPeriod",	    "CpuQuota",		 "CpuRealtimePeriod",
		"CpuRealtimeRuntime", "MemoryReservation", "MemorySwap", "CpuCount",
		"CpuPercent",  "IOMaximumIOps",	    "IOMaximumBandwidth"};
	for (size_t i = 0; i < ARRAY_SIZE(zero_keys); i++)
		set_default(hc, zero_keys[i], json_integer(0));
	static const char *const empty_arr[] = {"Dns",
						"DnsOptions",
						"DnsSearch",
						"BlkioWeightDevice",
						"BlkioDeviceReadBps",
						"BlkioDeviceWriteBps",
						"BlkioDeviceReadIOps",
						"BlkioDeviceWriteIOps",
						"Devices",
						"Ulimits"};
	for (size_t i = 0; i < ARRAY_SIZE(empty_arr); i++)
		set_default(hc, empty_arr[i], json_array());
	set_default(hc, "ConsoleSize", json_pack("[i,i]", 0, 0));
	set_default(hc, "CgroupnsMode", json_string("private"));
	set_default(hc, "IpcMode", json_string("private"));
	int64_t shm = jint(hc, "ShmSize", 0);
	json_object_set_new(hc, "ShmSize", json_integer(shm > 0 ? shm : 64 << 20));
	set_default(hc, "Runtime", json_string("husk"));
	set_default(hc, "MaskedPaths",
		    priv ? json_array() : strv_default(husk_default_masked_paths));
	set_default(hc, "ReadonlyPaths",
		    priv ? json_array() : strv_default(husk_default_readonly_paths));
	return hc;
}

static json_t *config(const struct husk_container *c)
{
	json_t *cfg = json_deep_copy(jobj(c->config, "Config"));
	if (!cfg)
		cfg = json_object();
	static const char *const str_keys[] = {"Hostname", "Domainname", "User", "WorkingDir",
					       "Image"};
	for (size_t i = 0; i < ARRAY_SIZE(str_keys); i++)
		set_default(cfg, str_keys[i], json_string(""));
	static const char *const bool_keys[] = {"AttachStdin", "AttachStdout", "AttachStderr",
						"Tty", "OpenStdin", "StdinOnce"};
	for (size_t i = 0; i < ARRAY_SIZE(bool_keys); i++)
		set_default(cfg, bool_keys[i], json_false());
	static const char *const null_keys[] = {"Env", "Cmd", "Volumes", "Entrypoint", "OnBuild"};
	for (size_t i = 0; i < ARRAY_SIZE(null_keys); i++)
		set_default(cfg, null_keys[i], json_null());
	if (!jobj(cfg, "Labels"))
		json_object_set_new(cfg, "Labels", json_object());
	json_object_del(cfg, "HostConfig");
	json_object_del(cfg, "NetworkingConfig");
	return cfg;
}

static json_t *state(const struct husk_container *c)
{
	const struct husk_state *st = &c->state;
	char started[40], finished[40];
	format_time_ns(st->started_ns, started);
	format_time_ns(st->status == HUSK_RUNNING || st->status == HUSK_PAUSED ? 0
										 : st->finished_ns,
		       finished);
	/* As Docker, a restarting container is still "running" (for stop, kill and rm). */
	json_t *s = json_pack(
		"{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status",
		husk_status_name(st->status), "Running",
		st->status == HUSK_RUNNING || st->status == HUSK_PAUSED ||
			st->status == HUSK_RESTARTING,
		"Paused",
		st->status == HUSK_PAUSED, "Restarting", st->status == HUSK_RESTARTING, "OOMKilled",
		st->oom_killed, "Dead", st->status == HUSK_DEAD, "Pid",
		st->status == HUSK_RUNNING || st->status == HUSK_PAUSED ? (int)st->pid : 0,
		"ExitCode", st->exit_code, "Error", st->error, "StartedAt", started, "FinishedAt",
		finished);
	if (st->health)
		json_object_set(s, "Health", st->health);
	return s;
}

static json_t *network_settings(const struct husk_container *c, const json_t *hc)
{
	const char *mode = str_or(jstr(hc, "NetworkMode"), "bridge");
	bool running = c->state.status == HUSK_RUNNING || c->state.status == HUSK_PAUSED;
	_cleanup_free_ char *sandbox =
		running && !streq(mode, "host") ? xasprintf("/proc/%d/ns/net", (int)c->state.pid)
						: xstrdup("");
	json_t *endpoint = json_pack(
		"{s:n, s:n, s:n, s:s, s:n, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:n}",
		"IPAMConfig", "Links", "Aliases", "MacAddress", "", "DriverOpts", "GwPriority", 0,
		"NetworkID", "", "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
		"IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
	json_t *nets = json_object();
	json_object_set_new(nets, mode, endpoint);
	json_t *ns = json_pack("{s:s, s:s, s:s, s:{}, s:b, s:s, s:i, s:n, s:n, s:s, s:s, s:s, "
			       "s:i, s:s, s:i, s:s, s:s}",
			       "Bridge", "", "SandboxID", "", "SandboxKey", sandbox, "Ports",
			       "HairpinMode", 0, "LinkLocalIPv6Address", "",
			       "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses",
			       "SecondaryIPv6Addresses", "EndpointID", "", "Gateway", "",
			       "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "",
			       "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "");
	json_object_set_new(ns, "Networks", nets);
	return ns;
}

/* Docker's Mounts: the mount points recorded at create (a container of an older husk has only
 * its Binds). */
static json_t *mounts(const json_t *doc)
{
	json_t *a = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(jarr(doc, "MountPoints"), i, e)
		json_array_append_new(a, husk_mount_point_public(e));
	if (jarr(doc, "MountPoints"))
		return a;
	json_array_foreach(jarr(jobj(doc, "HostConfig"), "Binds"), i, e)
	{
		struct husk_mount m;
		if (husk_parse_bind(json_string_value(e), &m, NULL) < 0 || m.kind != HUSK_MOUNT_BIND) {
			husk_mount_clear(&m);
			continue;
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind",
						   "Source", m.source, "Destination", m.target,
						   "Mode", m.mode, "RW", !m.readonly,
						   "Propagation", m.propagation));
		husk_mount_clear(&m);
	}
	return a;
}

json_t *container_inspect_json(const struct husk_store *s, const struct husk_container *c)
{
	json_t *cfg = config(c);
	json_t *hc = host_config(c);
	_cleanup_strv_ char **argv = husk_config_argv(cfg);
	char created[40];
	format_time_ns(jint(c->config, "Created", 0), created);
	_cleanup_free_ char *dir = husk_store_data_path(s, "containers/%s", c->id);
	_cleanup_free_ char *name = xasprintf("/%s", c->name);

	json_t *args = json_array();
	for (size_t i = 1; argv && argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_t *lower = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(jarr(c->config, "Layers"), i, e)
	{
		_cleanup_free_ char *l = husk_store_data_path(s, "images/layers/%s/diff",
							      json_string_value(e));
		json_array_insert_new(lower, 0, json_string(l));
	}
	_cleanup_free_ char *lowerdir = NULL;
	for (i = 0; i < json_array_size(lower); i++) {
		char *n = xasprintf("%s%s%s", lowerdir ? lowerdir : "", lowerdir ? ":" : "",
				    json_string_value(json_array_get(lower, i)));
		free(lowerdir);
		lowerdir = n;
	}
	json_decref(lower);

	json_t *j = json_object();
	json_object_set_new(j, "Id", json_string(c->id));
	json_object_set_new(j, "Created", json_string(created));
	json_object_set_new(j, "Path", json_string(argv ? argv[0] : ""));
	json_object_set_new(j, "Args", args);
	json_object_set_new(j, "State", state(c));
	json_object_set_new(j, "Image", json_string(str_or(jstr(c->config, "ImageID"), "")));
	json_object_set_new(j, "ResolvConfPath", json_sprintf("%s/resolv.conf", dir));
	json_object_set_new(j, "HostnamePath", json_sprintf("%s/hostname", dir));
	json_object_set_new(j, "HostsPath", json_sprintf("%s/hosts", dir));
	json_object_set_new(j, "LogPath", json_sprintf("%s/container.log", dir));
	json_object_set_new(j, "Name", json_string(name));
	json_object_set_new(j, "RestartCount", json_integer(c->state.restart_count));
	json_object_set_new(j, "Driver", json_string("overlay"));
	json_object_set_new(j, "Platform", json_string("linux"));
	json_object_set_new(j, "MountLabel", json_string(""));
	json_object_set_new(j, "ProcessLabel", json_string(""));
	json_object_set_new(j, "AppArmorProfile", json_string(""));
	json_object_set_new(j, "ExecIDs", json_null());
	json_object_set_new(j, "HostConfig", hc);
	json_object_set_new(
		j, "GraphDriver",
		json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "Name", "overlay", "Data", "LowerDir",
			  str_or(lowerdir, ""), "UpperDir", "", "WorkDir", "", "MergedDir", ""));
	json_t *gd = jobj(jobj(j, "GraphDriver"), "Data");
	json_object_set_new(gd, "UpperDir", json_sprintf("%s/upper", dir));
	json_object_set_new(gd, "WorkDir", json_sprintf("%s/work", dir));
	json_object_set_new(gd, "MergedDir", json_sprintf("%s/rootfs", dir));
	json_object_set_new(j, "Mounts", mounts(c->config));
	json_object_set_new(j, "Config", cfg);
	json_object_set_new(j, "NetworkSettings", network_settings(c, hc));
	return j;
}

/* go-units HumanDuration, which docker ps prints. */
static void human_duration(int64_t ns, char *buf, size_t n)
{
	int64_t sec = ns / 1000000000;
	int64_t min = sec / 60;
	int64_t hours = (int64_t)((double)sec / 3600.0 + 0.5);
	if (sec < 1)
		snprintf(buf, n, "Less than a second");
	else if (sec == 1)
		snprintf(buf, n, "1 second");
	else if (sec < 60)
		snprintf(buf, n, "%lld seconds", (long long)sec);
	else if (min == 1)
		snprintf(buf, n, "About a minute");
	else if (min < 60)
		snprintf(buf, n, "%lld minutes", (long long)min);
	else if (hours == 1)
		snprintf(buf, n, "About an hour");
	else if (hours < 48)
		snprintf(buf, n, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, n, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, n, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, n, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(buf, n, "%lld years", (long long)(sec / 3600 / 24 / 365));
}

char *container_status_text(const struct husk_state *st)
{
	char d[64];
	int64_t now = now_ns();
	switch (st->status) {
	case HUSK_RUNNING: {
		human_duration(now - st->started_ns, d, sizeof d);
		const char *h = husk_health_status(st->health);
		if (!h)
			return xasprintf("Up %s", d);
		return xasprintf("Up %s (%s%s)", d, streq(h, "starting") ? "health: " : "", h);
	}
	case HUSK_PAUSED:
		human_duration(now - st->started_ns, d, sizeof d);
		return xasprintf("Up %s (Paused)", d);
	case HUSK_RESTARTING:
		human_duration(now - st->finished_ns, d, sizeof d);
		return xasprintf("Restarting (%d) %s ago", st->exit_code, d);
	case HUSK_EXITED:
		human_duration(now - st->finished_ns, d, sizeof d);
		return xasprintf("Exited (%d) %s ago", st->exit_code, d);
	case HUSK_REMOVING:
		return xstrdup("Removal In Progress");
	case HUSK_DEAD:
		return xstrdup("Dead");
	case HUSK_CREATED:
	default:
		return xstrdup("Created");
	}
}

json_t *container_summary_json(const struct husk_container *c)
{
	const json_t *cfg = jobj(c->config, "Config");
	const json_t *hc = jobj(c->config, "HostConfig");
	_cleanup_strv_ char **argv = husk_config_argv(cfg);
	_cleanup_free_ char *cmd = xstrdup("");
	for (size_t i = 0; argv && argv[i]; i++) {
		char *n = xasprintf("%s%s%s", cmd, i ? " " : "", argv[i]);
		free(cmd);
		cmd = n;
	}
	_cleanup_free_ char *name = xasprintf("/%s", c->name);
	_cleanup_free_ char *status = container_status_text(&c->state);
	json_t *labels = jobj(cfg, "Labels") ? json_deep_copy(jobj(cfg, "Labels")) : json_object();
	const char *mode = str_or(jstr(hc, "NetworkMode"), "bridge");
	json_t *nets = json_object();
	json_object_set_new(nets, mode,
			    json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "NetworkID", "",
				      "EndpointID", "", "Gateway", "", "IPAddress", "",
				      "IPPrefixLen", 0, "MacAddress", ""));
	json_t *j = json_object();
	json_object_set_new(j, "Id", json_string(c->id));
	json_object_set_new(j, "Names", json_pack("[s]", name));
	json_object_set_new(j, "Image", json_string(str_or(jstr(c->config, "Image"), "")));
	json_object_set_new(j, "ImageID", json_string(str_or(jstr(c->config, "ImageID"), "")));
	json_object_set_new(j, "Command", json_string(cmd));
	json_object_set_new(j, "Created", json_integer(jint(c->config, "Created", 0) / 1000000000));
	json_object_set_new(j, "Ports", json_array());
	json_object_set_new(j, "Labels", labels);
	json_object_set_new(j, "State", json_string(husk_status_name(c->state.status)));
	json_object_set_new(j, "Status", json_string(status));
	json_object_set_new(j, "HostConfig", json_pack("{s:s}", "NetworkMode", mode));
	json_object_set_new(j, "NetworkSettings", json_pack("{s:o}", "Networks", nets));
	json_object_set_new(j, "Mounts", mounts(c->config));
	return j;
}
