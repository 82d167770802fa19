/* POST /containers/{id}/pause and /unpause: the monitor freezes and thaws (monitor/pause.c)
 * and records the state; Docker's 409s for a container in the wrong state. */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/events.h"
#include "core/monitor_proto.h"

static int check(const struct husk_container *c, bool pause, struct husk_error *err)
{
	enum husk_status st = c->state.status;
	if (!pause)
		return st == HUSK_PAUSED
			   ? 0
			   : husk_error_set(err, -EBUSY, "Container %s is not paused", c->id);
	if (st == HUSK_PAUSED)
		return husk_error_set(err, -EBUSY, "Container %s is already paused", c->id);
	if (st == HUSK_RESTARTING)
		return husk_error_set(
		    err, -EBUSY, "Container %s is restarting, wait until the container is running",
		    c->id);
	if (st != HUSK_RUNNING)
		return husk_error_set(err, -EBUSY, "Container %s is not running", c->id);
	return 0;
}

static enum MHD_Result toggle(struct req *r, bool pause)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(&r->api->store, r->params[0], &c, &err) < 0 ||
	    check(c, pause, &err) < 0)
		return reply_error(r, &err);
	json_t *q = json_pack("{s:s}", "op", pause ? "pause" : "unpause");
	int k = husk_mon_call(&r->api->store, c->id, q, -1, NULL, 30000, &err);
	json_decref(q);
	if (k == -ESRCH)
		return reply_errorf(r, -EBUSY, "Container %s is not running", c->id);
	if (k < 0)
		return reply_error(r, &err);
	husk_event_emit(&r->api->store, "container", pause ? "pause" : "unpause", c->id,
			husk_event_container_attrs(c->config));
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_container_pause(struct req *r)
{
	return toggle(r, true);
}

enum MHD_Result h_container_unpause(struct req *r)
{
	return toggle(r, false);
}
