/* POST /containers/{id}/update (docker update): the restart policy and the resource limits go
 * into config.json (under the store lock, written atomically) and to the container's monitor,
 * which applies the policy from the next exit on and writes the limits into the container's
 * cgroup at once. Limits are merged as Docker merges them and refused where the container's
 * cgroup cannot have them (core/resources.h); when the monitor cannot apply them, config.json
 * is put back. */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/delegation.h"
#include "core/events.h"
#include "core/monitor_proto.h"
#include "core/resources.h"
#include "core/restart_policy.h"

static int check_policy_types(const json_t *body, struct husk_error *err)
{
	const json_t *rp = json_object_get(body, "RestartPolicy");
	const json_t *name = json_object_get(rp, "Name");
	const json_t *count = json_object_get(rp, "MaximumRetryCount");
	const char *field = NULL, *type = NULL;
	if (rp && !json_is_null(rp) && !json_is_object(rp))
		field = "RestartPolicy", type = "container.RestartPolicy";
	else if (name && !json_is_null(name) && !json_is_string(name))
		field = "RestartPolicy.Name", type = "container.RestartPolicyMode";
	else if (count && !json_is_null(count) && !json_is_integer(count))
		field = "RestartPolicy.MaximumRetryCount", type = "int";
	if (!field)
		return 0;
	return husk_error_set(
	    err, -EINVAL, "json: cannot unmarshal into Go struct field UpdateConfig.%s of type %s",
	    field, type);
}

static const char *const resource_fields[] = {"Memory",	  "MemorySwap", "MemoryReservation",
					      "NanoCpus", "CpuShares",	"CpuPeriod",
					      "CpuQuota", "CpusetCpus", "CpusetMems"};

/* Whether the update changes resource limits: Docker's "0 (or empty) leaves it as it is". */
static bool has_resources(const json_t *body)
{
	for (size_t i = 0; i < ARRAY_SIZE(resource_fields); i++) {
		const json_t *v = json_object_get(body, resource_fields[i]);
		if ((json_is_integer(v) && json_integer_value(v)) ||
		    (json_is_string(v) && *json_string_value(v)))
			return true;
	}
	return json_is_integer(json_object_get(body, "PidsLimit"));
}

struct change {
	json_t *old_hc;	   /* HostConfig before, to put back when the monitor fails */
	json_t *resources; /* the limits now, for the monitor; NULL: unchanged */
	bool policy;	   /* the restart policy changed */
};

static void change_clear(struct change *c)
{
	json_decref(c->old_hc);
	json_decref(c->resources);
	memset(c, 0, sizeof *c);
}

static int update_policy(json_t *hc, const json_t *rp, const char *id, struct husk_error *err)
{
	struct husk_restart_policy p;
	husk_restart_policy_parse(rp, &p);
	if (!husk_restart_policy_is_none(&p) && jbool(hc, "AutoRemove", false))
		return husk_error_set(
		    err, -EEXIST,
		    "Cannot update container %s: Restart policy cannot be updated "
		    "because AutoRemove is enabled for the container",
		    id);
	json_object_set_new(hc, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", jstr(rp, "Name"), "MaximumRetryCount",
				      (json_int_t)jint(rp, "MaximumRetryCount", 0)));
	return 0;
}

/* The container's limits merged with the update's, as Docker merges them, checked against what
 * its cgroup can have here. */
static int update_resources(struct api *api, json_t *hc, const json_t *body, const char *id,
			    json_t **out, struct husk_error *err)
{
	struct husk_resources cur;
	struct husk_delegation cg;
	int k = husk_resources_parse(hc, &cur, err);
	if (k < 0)
		return k;
	api_delegation(api, &cg);
	k = husk_resources_update(&cur, body, &cg, err);
	husk_delegation_clear(&cg);
	if (k == 0) {
		husk_resources_store(&cur, hc);
		*out = json_object();
		husk_resources_store(&cur, *out);
		/* "No limit" is null in HostConfig; to the monitor, a limit lifted is -1 (pids.max
		 * "max"), not one left as it is. */
		if (cur.pids_set && cur.pids_limit <= 0)
			json_object_set_new(*out, "PidsLimit", json_integer(-1));
	} else {
		husk_error_prefix(err, "Cannot update container %s", id);
	}
	husk_resources_clear(&cur);
	return k;
}

/* The update into config.json, under the store lock. */
static int store_update(struct api *api, const char *id, const json_t *body, const json_t *rp,
			struct change *ch, struct husk_error *err)
{
	bool policy = !str_empty(jstr(rp, "Name")), resources = has_resources(body);
	if (!policy && !resources)
		return 0;
	_cleanup_store_lock_ int lock = husk_store_lock(&api->store);
	if (lock < 0)
		return husk_error_sys(err, lock, "cannot lock the store");
	_cleanup_container_ struct husk_container *c = NULL;
	int k = husk_container_load(&api->store, id, &c, err);
	if (k < 0)
		return k;
	json_t *hc = jobj(c->config, "HostConfig");
	if (!hc) {
		hc = json_object();
		json_object_set_new(c->config, "HostConfig", hc);
	}
	ch->old_hc = json_deep_copy(hc);
	if (policy && (k = update_policy(hc, rp, id, err)) < 0)
		return k;
	if (resources && (k = update_resources(api, hc, body, id, &ch->resources, err)) < 0)
		return k;
	ch->policy = policy;
	k = husk_container_save_config(&api->store, id, c->config);
	if (k < 0)
		return husk_error_sys(err, k, "Cannot update container %s", id);
	return 0;
}

/* The monitor failed to apply it: the configuration is put back, as Docker does. */
static void restore_config(struct api *api, const char *id, const json_t *old_hc)
{
	_cleanup_store_lock_ int lock = husk_store_lock(&api->store);
	_cleanup_container_ struct husk_container *c = NULL;
	if (lock < 0 || husk_container_load(&api->store, id, &c, NULL) < 0)
		return;
	json_object_set(c->config, "HostConfig", (json_t *)old_hc);
	husk_container_save_config(&api->store, id, c->config);
}

static int tell_monitor(struct api *api, const char *id, const json_t *rp, const struct change *ch,
			struct husk_error *err)
{
	if (!ch->policy && !ch->resources)
		return 0;
	json_t *req = json_pack("{s:s}", "op", "update");
	if (ch->policy)
		json_object_set(req, "restartPolicy", (json_t *)rp);
	if (ch->resources)
		json_object_set(req, "resources", ch->resources);
	int k = husk_mon_call(&api->store, id, req, -1, NULL, 5000, err);
	json_decref(req);
	/* Not running: config.json is read at its next start. */
	if (k == -ESRCH)
		return 0;
	if (k < 0) {
		restore_config(api, id, ch->old_hc);
		husk_error_prefix(err, "Cannot update container %s", id);
	}
	return k;
}

enum MHD_Result h_container_update(struct req *r)
{
	struct husk_error err = {0};
	json_t *body = req_json_body(r, &err);
	if (!body)
		return reply_error(r, &err);
	const json_t *rp = jobj(body, "RestartPolicy");
	char id[65];
	/* As Docker: the request is checked before the container is looked up. */
	int k = check_policy_types(body, &err);
	if (k == 0)
		k = husk_restart_policy_check(rp, &err);
	if (k == 0)
		k = husk_container_resolve_id(&r->api->store, r->params[0], id, &err);
	struct husk_resources check;
	if (k == 0 && (k = husk_resources_parse(body, &check, &err)) < 0)
		husk_error_prefix(&err, "Cannot update container %s", id);
	if (k == 0)
		husk_resources_clear(&check);
	struct change ch = {0};
	if (k == 0)
		k = store_update(r->api, id, body, rp, &ch, &err);
	if (k == 0)
		k = tell_monitor(r->api, id, rp, &ch, &err);
	change_clear(&ch);
	json_decref(body);
	if (k < 0)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_load(&r->api->store, id, &c, NULL) == 0)
		husk_event_emit(&r->api->store, "container", "update", id,
				husk_event_container_attrs(c->config));
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:[]}", "Warnings"));
}
