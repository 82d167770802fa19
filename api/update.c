/* POST /containers/{id}/update (docker update): the restart policy goes into config.json
 * (under the store lock, written atomically) and to the container's monitor, which applies it
 * from the next exit on. Resource limits need a delegated cgroup, which husk does not manage
 * yet: they are refused, never silently dropped. */
#include "api.h"
#include "router.h"

#include "core/container.h"
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

/* The new policy into config.json; 1 when it changed something, 0 when there was none. */
static int store_policy(struct api *api, const char *id, const json_t *rp, struct husk_error *err)
{
	if (str_empty(jstr(rp, "Name")))
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
	k = husk_container_save_config(&api->store, id, c->config);
	if (k < 0)
		return husk_error_sys(err, k, "Cannot update container %s", id);
	return 1;
}

static int tell_monitor(struct api *api, const char *id, const json_t *rp, struct husk_error *err)
{
	json_t *req = json_pack("{s:s, s:O}", "op", "update", "restartPolicy", (json_t *)rp);
	int k = husk_mon_call(&api->store, id, req, -1, NULL, 5000, err);
	json_decref(req);
	/* Not running: the policy is read from config.json at its next start. */
	return k == -ESRCH ? 0 : k;
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
	if (k == 0 && (k = husk_resources_check(body, &err)) < 0)
		husk_error_prefix(&err, "Cannot update container %s", id);
	if (k == 0)
		k = store_policy(r->api, id, rp, &err);
	if (k > 0)
		k = tell_monitor(r->api, id, rp, &err);
	json_decref(body);
	if (k < 0)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_load(&r->api->store, id, &c, NULL) == 0)
		husk_event_emit(&r->api->store, "container", "update", id,
				husk_event_container_attrs(c->config));
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:[]}", "Warnings"));
}
