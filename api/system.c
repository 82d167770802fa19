/* /_ping, /version, /info. */
#include "api.h"
#include "router.h"

#include "core/cgroup.h"
#include "core/container.h"
#include "core/delegation.h"
#include "core/image.h"
#include "husk-config.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>

enum MHD_Result h_ping(struct req *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(2, "OK", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Builder-Version", "1");
	MHD_add_response_header(resp, "Swarm", "inactive");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
	MHD_add_response_header(resp, "Pragma", "no-cache");
	return reply_response(r, MHD_HTTP_OK, resp);
}

static const char *go_arch(void)
{
	static struct utsname u;
	if (!u.machine[0])
		uname(&u);
	if (streq(u.machine, "x86_64"))
		return "amd64";
	if (streq(u.machine, "aarch64"))
		return "arm64";
	if (streq(u.machine, "armv7l"))
		return "arm";
	return u.machine;
}

enum MHD_Result h_version(struct req *r)
{
	struct utsname u;
	uname(&u);
	json_t *details = json_pack("{s:s, s:s, s:s}", "ApiVersion", HUSK_API_VERSION,
				    "MinAPIVersion", HUSK_MIN_API_VERSION, "Os", "linux");
	json_t *engine = json_pack("{s:s, s:s, s:o}", "Name", "Engine", "Version", HUSK_VERSION,
				   "Details", details);
	json_t *v = json_pack("{s:{s:s}, s:[o], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "Platform", "Name", "husk", "Components", engine, "Version",
			      HUSK_VERSION, "ApiVersion", HUSK_API_VERSION, "MinAPIVersion",
			      HUSK_MIN_API_VERSION, "GitCommit", "", "GoVersion", "", "Os", "linux",
			      "Arch", go_arch(), "KernelVersion", u.release);
	return reply_json(r, MHD_HTTP_OK, v);
}

static char *os_pretty_name(void)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		const char *v = str_startswith(line, "PRETTY_NAME=");
		if (!v)
			continue;
		char *s = xstrdup(v[0] == '"' ? v + 1 : v);
		s[strcspn(s, "\"\n")] = 0;
		return s;
	}
	return xstrdup("Linux");
}

void api_delegation(const struct api *api, struct husk_delegation *d)
{
	husk_delegation_detect(api->cgroup_root, api->systemd, d);
}

/* The cgroup version containers use: 2 where they get cgroups of their own (husk uses v2
 * only); elsewhere the host's: "2" when the unified hierarchy is mounted at /sys/fs/cgroup,
 * "1" on v1 or hybrid hosts. */
static const char *cgroup_version(const struct husk_delegation *d)
{
	if (d->driver != HUSK_CGROUP_NONE)
		return "2";
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1";
}

/* What limits containers can have here, in Docker's fields, and Docker's warnings for what
 * they cannot (with husk's reason). */
static void cgroup_info(struct api *api, json_t *info, json_t *warnings)
{
	struct husk_delegation d;
	api_delegation(api, &d);
	bool on = d.driver != HUSK_CGROUP_NONE;
	bool mem = on && (d.controllers & HUSK_CG_MEMORY), cpu = on && (d.controllers & HUSK_CG_CPU);
	bool cpuset = on && (d.controllers & HUSK_CG_CPUSET);
	bool pids = on && (d.controllers & HUSK_CG_PIDS);
	json_object_set_new(info, "MemoryLimit", json_boolean(mem));
	json_object_set_new(info, "SwapLimit", json_boolean(mem && d.swap));
	json_object_set_new(info, "CpuCfsPeriod", json_boolean(cpu));
	json_object_set_new(info, "CpuCfsQuota", json_boolean(cpu));
	json_object_set_new(info, "CPUShares", json_boolean(cpu));
	json_object_set_new(info, "CPUSet", json_boolean(cpuset));
	json_object_set_new(info, "PidsLimit", json_boolean(pids));
	json_object_set_new(info, "CgroupDriver", json_string(husk_cgroup_driver_name(d.driver)));
	json_object_set_new(info, "CgroupVersion", json_string(cgroup_version(&d)));
	if (!on) {
		char *w = xasprintf("WARNING: no cgroup v2 is delegated to husk (%s): resource limits "
				    "(--memory, --cpus, --pids-limit, ...) are refused, and containers "
				    "share their monitor's cgroup",
				    d.why);
		json_array_append_new(warnings, json_string(w));
		free(w);
	} else {
		static const struct {
			unsigned ctrl;
			const char *what;
		} limits[] = {{HUSK_CG_MEMORY, "memory limits"},
			      {HUSK_CG_CPU, "CPU limits and shares"},
			      {HUSK_CG_CPUSET, "cpusets"},
			      {HUSK_CG_PIDS, "pids limits"}};
		for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
			if (d.controllers & limits[i].ctrl)
				continue;
			char why[768];
			husk_delegation_why_not(&d, limits[i].ctrl, why, sizeof why);
			char *w = xasprintf("WARNING: no %s: %s", limits[i].what, why);
			json_array_append_new(warnings, json_string(w));
			free(w);
		}
	}
	/* Docker's own words, which scripts look for. */
	static const char *const docker[] = {
	    "WARNING: No memory limit support",	   "WARNING: No swap limit support",
	    "WARNING: No cpu cfs quota support",   "WARNING: No cpu cfs period support",
	    "WARNING: No cpu shares support",	   "WARNING: No cpuset support",
	    "WARNING: No pids limit support"};
	bool ok[ARRAY_SIZE(docker)] = {mem, mem && d.swap, cpu, cpu, cpu, cpuset, pids};
	for (size_t i = 0; i < ARRAY_SIZE(docker); i++)
		if (!ok[i])
			json_array_append_new(warnings, json_string(docker[i]));
	husk_delegation_clear(&d);
}

enum MHD_Result h_info(struct req *r)
{
	struct api *api = r->api;
	_cleanup_strv_ char **ids = NULL;
	husk_container_list_ids(&api->store, &ids);
	int running = 0, paused = 0, stopped = 0;
	for (size_t i = 0; ids && ids[i]; i++) {
		struct husk_state st;
		husk_state_load(&api->store, ids[i], &st);
		if (st.status == HUSK_RUNNING || st.status == HUSK_RESTARTING)
			running++;
		else if (st.status == HUSK_PAUSED)
			paused++;
		else
			stopped++;
		husk_state_clear(&st);
	}
	struct utsname u;
	uname(&u);
	struct sysinfo si;
	sysinfo(&si);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	_cleanup_free_ char *os = os_pretty_name();
	char now[40];
	format_time_ns(now_ns(), now);

	json_t *warnings = json_array();
	if (!husk_idmap_has_range(&api->idmap))
		json_array_append_new(
			warnings,
			json_string("WARNING: no subordinate id range for this user in /etc/subuid "
				    "and /etc/subgid: containers get a single-id user namespace "
				    "(only root inside; image files owned by other users are "
				    "given to root)"));
	json_t *info = json_object();
	cgroup_info(api, info, warnings);
	json_object_set_new(info, "ID", json_string(api->store.data));
	json_object_set_new(info, "Containers", json_integer((json_int_t)strv_length(ids)));
	json_object_set_new(info, "ContainersRunning", json_integer(running));
	json_object_set_new(info, "ContainersPaused", json_integer(paused));
	json_object_set_new(info, "ContainersStopped", json_integer(stopped));
	json_object_set_new(info, "Images", json_integer(husk_image_count(&api->store)));
	json_object_set_new(info, "Driver", json_string("overlay"));
	json_object_set_new(info, "DriverStatus",
			    json_pack("[[s,s],[s,s]]", "Backing Filesystem", "native overlayfs",
				      "Supports user namespaces", "true"));
	json_object_set_new(info, "DockerRootDir", json_string(api->store.data));
	json_object_set_new(info, "Plugins",
			    json_pack("{s:[s], s:[s,s], s:[], s:[s,s]}", "Volume", "local",
				      "Network", "none", "host", "Authorization", "Log",
				      "json-file", "local"));
	json_object_set_new(info, "IPv4Forwarding", json_false());
	json_object_set_new(info, "Debug", json_false());
	json_object_set_new(info, "NFd", json_integer(0));
	json_object_set_new(info, "NGoroutines", json_integer(0));
	json_object_set_new(info, "SystemTime", json_string(now));
	json_object_set_new(info, "LoggingDriver", json_string("json-file"));
	json_object_set_new(info, "NEventsListener", json_integer(0));
	json_object_set_new(info, "KernelVersion", json_string(u.release));
	json_object_set_new(info, "OperatingSystem", json_string(os));
	json_object_set_new(info, "OSVersion", json_string(""));
	json_object_set_new(info, "OSType", json_string("linux"));
	json_object_set_new(info, "Architecture", json_string(u.machine));
	json_object_set_new(info, "NCPU", json_integer(get_nprocs()));
	json_object_set_new(info, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
	json_object_set_new(info, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
	json_object_set_new(info, "RegistryConfig",
			    json_pack("{s:[], s:{}, s:[]}", "InsecureRegistryCIDRs",
				      "IndexConfigs", "Mirrors"));
	json_object_set_new(info, "HttpProxy", json_string(str_or(getenv("HTTP_PROXY"), "")));
	json_object_set_new(info, "HttpsProxy", json_string(str_or(getenv("HTTPS_PROXY"), "")));
	json_object_set_new(info, "NoProxy", json_string(str_or(getenv("NO_PROXY"), "")));
	json_object_set_new(info, "Name", json_string(host));
	json_object_set_new(info, "Labels", json_array());
	json_object_set_new(info, "ExperimentalBuild", json_false());
	json_object_set_new(info, "ServerVersion", json_string(HUSK_VERSION));
	json_object_set_new(info, "Runtimes",
			    json_pack("{s:{s:s}}", "husk", "path", api->monitor_path));
	json_object_set_new(info, "DefaultRuntime", json_string("husk"));
	json_object_set_new(info, "Swarm",
			    json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr",
				      "", "LocalNodeState", "inactive", "ControlAvailable", 0,
				      "Error", "", "RemoteManagers"));
	json_object_set_new(info, "LiveRestoreEnabled", json_true());
	json_object_set_new(info, "Isolation", json_string(""));
	json_object_set_new(info, "InitBinary", json_string(""));
	json_object_set_new(info, "SecurityOptions",
			    json_pack("[s,s,s]", "name=seccomp,profile=builtin", "name=rootless",
				      "name=cgroupns"));
	json_object_set_new(info, "Warnings", warnings);
	return reply_json(r, MHD_HTTP_OK, info);
}
