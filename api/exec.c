/* docker exec: POST /containers/{id}/exec writes the exec's record (core/exec.h); POST
 * /exec/{id}/start hands the client's connection to the container's monitor, which starts the
 * process as its own child and streams to the client directly (husk-api is out of the data
 * path, and the exec outlives it); resize and inspect go to the monitor and the record. */
#include "api.h"
#include "hijack.h"
#include "router.h"

#include "core/container.h"
#include "core/events.h"
#include "core/exec.h"
#include "core/logfile.h"
#include "core/json.h"
#include "core/monitor_proto.h"
#include "core/stdcopy.h"

/* Docker's refusals for a container that cannot run an exec now (409s). */
static int check_container(const char *ref, const char *id, enum husk_status st,
			   struct husk_error *err)
{
	if (st == HUSK_PAUSED)
		return husk_error_set(
		    err, -EBUSY, "Container %s is paused, unpause the container before exec", ref);
	if (st == HUSK_RESTARTING)
		return husk_error_set(
		    err, -EBUSY, "Container %s is restarting, wait until the container is running",
		    id);
	if (st != HUSK_RUNNING)
		return husk_error_set(err, -EBUSY, "Container %s is not running", id);
	return 0;
}

/* Docker's action text: "exec_create: sh -c echo hi". */
static void emit(struct api *api, const json_t *rec, const char *what)
{
	_cleanup_container_ struct husk_container *c = NULL;
	const char *cid = jstr(rec, "ContainerID");
	if (husk_container_load(&api->store, cid, &c, NULL) < 0)
		return;
	size_t len = strlen(what) + 3, i;
	json_t *e;
	json_array_foreach(jarr(rec, "Cmd"), i, e)
	{
		len += strlen(json_string_value(e)) + 1;
	}
	_cleanup_free_ char *action = xmalloc(len);
	char *p = action + sprintf(action, "%s:", what);
	json_array_foreach(jarr(rec, "Cmd"), i, e)
	{
		p += sprintf(p, " %s", json_string_value(e));
	}
	json_t *attrs = husk_event_container_attrs(c->config);
	json_object_set_new(attrs, "execID", json_string(jstr(rec, "ID")));
	husk_event_emit(&api->store, "container", action, cid, attrs);
}

/* Recorded under the store lock, while the container is still there: an rm in between would
 * leave the exec's record (and the run dir it makes) behind a container that is gone. */
static int save_exec(struct api *api, const char *cid, const json_t *rec)
{
	_cleanup_store_lock_ int lock = husk_store_lock(&api->store);
	if (lock < 0)
		return lock;
	_cleanup_free_ char *cfg =
	    husk_store_data_path(&api->store, "containers/%s/config.json", cid);
	if (access(cfg, F_OK) < 0)
		return -ENOENT;
	return husk_exec_save(&api->store, rec);
}

enum MHD_Result h_container_exec(struct req *r)
{
	struct husk_error err = {0};
	json_t *body = req_json_body(r, &err);
	if (!body)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	json_t *rec = NULL;
	int k = husk_container_find(&r->api->store, r->params[0], &c, &err);
	if (k == 0)
		k = check_container(r->params[0], c->id, c->state.status, &err);
	if (k == 0)
		k = husk_exec_new(body, c->id, &rec, &err);
	json_decref(body);
	if (k < 0)
		return reply_error(r, &err);
	k = save_exec(r->api, c->id, rec);
	if (k == -ENOENT) {
		json_decref(rec);
		return reply_errorf(r, -ENOENT, "No such container: %s", r->params[0]);
	}
	if (k < 0) {
		json_decref(rec);
		return reply_errorf(r, -EIO, "cannot record the exec: %s", strerror(-k));
	}
	emit(r->api, rec, "exec_create");
	json_t *out = json_pack("{s:s}", "Id", jstr(rec, "ID"));
	json_decref(rec);
	return reply_json(r, MHD_HTTP_CREATED, out);
}

/* The exec's record and its container's state; the start's checks, as Docker orders them. */
static int find_startable(struct api *api, const char *id, json_t **rec, struct husk_error *err)
{
	int k = husk_exec_find(&api->store, id, rec, err);
	if (k < 0)
		return k;
	const char *cid = jstr(*rec, "ContainerID");
	struct husk_state st;
	husk_state_load(&api->store, cid, &st);
	k = check_container(cid, cid, st.status, err);
	husk_state_clear(&st);
	if (k == 0 && jbool(*rec, "Started", false))
		k = husk_error_set(err, -EBUSY,
				   jbool(*rec, "Running", false)
				       ? "Error: Exec command %s is already running"
				       : "Error: Exec command %s has already run",
				   id);
	if (k < 0) {
		json_decref(*rec);
		*rec = NULL;
	}
	return k;
}

struct start {
	json_t *rec;
	json_t *mon_req;
	bool tty;
};

static json_t *monitor_request(const json_t *rec, const json_t *body)
{
	json_t *q = json_pack("{s:s, s:s, s:b}", "op", "exec", "exec", jstr(rec, "ID"), "tty",
			      jbool(body, "Tty", false));
	json_t *cs = jarr(body, "ConsoleSize");
	if (json_array_size(cs) == 2) {
		json_object_set(q, "h", json_array_get(cs, 0));
		json_object_set(q, "w", json_array_get(cs, 1));
	}
	return q;
}

/* The connection is the monitor's from here; a failure to start is told in the stream, as
 * Docker does once it has hijacked. */
static void hand_over(struct api *api, int fd, struct MHD_UpgradeResponseHandle *urh, void *cls)
{
	struct start *s = cls;
	struct husk_error err = {0};
	const char *cid = jstr(s->rec, "ContainerID");
	if (fd < 0) {
		json_decref(s->rec);
		json_decref(s->mon_req);
		free(s);
		return;
	}
	if (husk_mon_call(&api->store, cid, s->mon_req, fd, NULL, 10000, &err) == 0) {
		emit(api, s->rec, "exec_start");
	} else {
		if (err.code == -ESRCH)
			snprintf(err.message, sizeof err.message, "Container %s is not running",
				 cid);
		_cleanup_free_ char *msg = xasprintf("%s\r\n", err.message);
		unsigned char hdr[8];
		husk_stdcopy_header(hdr, HUSK_STDOUT, strlen(msg));
		if (s->tty || write_all(fd, hdr, sizeof hdr) == 0)
			write_all(fd, msg, strlen(msg));
	}
	hijack_release(fd, urh);
	json_decref(s->rec);
	json_decref(s->mon_req);
	free(s);
}

static int check_start_body(const json_t *body, struct husk_error *err)
{
	static const char *const bools[] = {"Detach", "Tty"};
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
		json_t *v = json_object_get(body, bools[i]);
		if (v && !json_is_null(v) && !json_is_boolean(v))
			return husk_error_set(err, -EINVAL,
					      "json: cannot unmarshal %s into Go struct field "
					      "ExecStartOptions.%s of type bool",
					      json_is_string(v) ? "string" : "number", bools[i]);
	}
	json_t *cs = json_object_get(body, "ConsoleSize");
	if (cs && !json_is_null(cs) &&
	    (!json_is_array(cs) || json_array_size(cs) != 2 ||
	     !json_is_integer(json_array_get(cs, 0)) || !json_is_integer(json_array_get(cs, 1)) ||
	     json_integer_value(json_array_get(cs, 0)) < 0 ||
	     json_integer_value(json_array_get(cs, 1)) < 0))
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal ConsoleSize: an array of [height, "
				      "width] is expected");
	return 0;
}

/* The body is all there is before the takeover: clients that keep the request open for stdin
 * (dockerode) never end it, so it is taken as soon as it holds one whole JSON value (see
 * BODY_JSON_HIJACK). */
static json_t *start_body(struct req *r, struct husk_error *err)
{
	if (r->body_error == -EFBIG) {
		husk_error_set(err, -EINVAL, "request body is too large");
		return NULL;
	}
	size_t skip = 0;
	while (skip < r->body_len && r->body[skip] && strchr(" \t\r\n", r->body[skip]))
		skip++;
	if (skip == r->body_len)
		return json_object();
	json_error_t je;
	json_t *j = json_loadb(r->body + skip, r->body_len - skip, JSON_DISABLE_EOF_CHECK, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		husk_error_set(err, -EINVAL, "invalid JSON: %s",
			       j ? "the body must be an object" : je.text);
		return NULL;
	}
	if ((size_t)je.position < r->body_len - skip)
		husk_log(LOG_DEBUG, "exec start: %zu bytes after the body are dropped",
			 r->body_len - skip - (size_t)je.position);
	return j;
}

static enum MHD_Result start_detached(struct req *r, json_t *rec, json_t *mon_req)
{
	struct husk_error err = {0};
	const char *cid = jstr(rec, "ContainerID");
	int k = husk_mon_call(&r->api->store, cid, mon_req, -1, NULL, 60000, &err);
	json_decref(mon_req);
	if (k == 0)
		emit(r->api, rec, "exec_start");
	json_decref(rec);
	if (k == -ESRCH)
		return reply_errorf(r, -EBUSY, "Container %s is not running", cid);
	/* A command that cannot run is the client's mistake: 400, as for a container start. */
	if (k == -ENOENT || k == -EACCES)
		err.code = -EINVAL;
	return k < 0 ? reply_error(r, &err) : reply_empty(r, MHD_HTTP_OK);
}

enum MHD_Result h_exec_start(struct req *r)
{
	struct husk_error err = {0};
	json_t *rec = NULL;
	json_t *body = start_body(r, &err);
	if (!body || check_start_body(body, &err) < 0 ||
	    find_startable(r->api, r->params[0], &rec, &err) < 0) {
		json_decref(body);
		return reply_error(r, &err);
	}
	json_t *mon_req = monitor_request(rec, body);
	bool detach = jbool(body, "Detach", false), tty = jbool(body, "Tty", false);
	json_decref(body);
	if (detach)
		return start_detached(r, rec, mon_req);
	struct start *s = xcalloc(1, sizeof *s);
	s->rec = rec;
	s->mon_req = mon_req;
	s->tty = tty;
	return reply_hijack(r,
			    tty ? "application/vnd.docker.raw-stream"
				: "application/vnd.docker.multiplexed-stream",
			    hand_over, s);
}

enum MHD_Result h_exec_resize(struct req *r)
{
	struct husk_error err = {0};
	int64_t h, w;
	if (query_tty_size(r, &h, &w, &err) < 0)
		return reply_error(r, &err);
	json_t *rec = NULL;
	if (husk_exec_find(&r->api->store, r->params[0], &rec, &err) < 0)
		return reply_error(r, &err);
	const char *cid = jstr(rec, "ContainerID");
	json_t *q = json_pack("{s:s, s:s, s:I, s:I}", "op", "exec-resize", "exec", jstr(rec, "ID"),
			      "h", (json_int_t)h, "w", (json_int_t)w);
	int k = husk_mon_call(&r->api->store, cid, q, -1, NULL, 5000, &err);
	json_decref(q);
	if (k == -ESRCH)
		husk_error_set(&err, -EBUSY, "Container %s is not running", cid);
	json_decref(rec);
	return k < 0 ? reply_error(r, &err) : reply_empty(r, MHD_HTTP_OK);
}

enum MHD_Result h_exec_inspect(struct req *r)
{
	struct husk_error err = {0};
	json_t *rec = NULL;
	if (husk_exec_find(&r->api->store, r->params[0], &rec, &err) < 0)
		return reply_error(r, &err);
	/* A record left running by a monitor that is gone: its process went with it. */
	bool running = jbool(rec, "Running", false);
	if (running) {
		struct husk_state st;
		husk_state_load(&r->api->store, jstr(rec, "ContainerID"), &st);
		running = st.status == HUSK_RUNNING || st.status == HUSK_PAUSED;
		husk_state_clear(&st);
	}
	json_t *cmd = jarr(rec, "Cmd");
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	json_t *exit = json_object_get(rec, "ExitCode");
	json_t *out = json_pack(
	    "{s:s, s:b, s:O, s:{s:b, s:s, s:o, s:b, s:s}, s:b, s:b, s:b, s:b, s:s, s:s, s:I}", "ID",
	    jstr(rec, "ID"), "Running", running, "ExitCode",
	    json_is_integer(exit) ? exit : json_null(), "ProcessConfig", "tty",
	    jbool(rec, "Tty", false), "entrypoint",
	    str_or(json_string_value(json_array_get(cmd, 0)), ""), "arguments", args, "privileged",
	    jbool(rec, "Privileged", false), "user", str_or(jstr(rec, "User"), ""), "OpenStdin",
	    jbool(rec, "AttachStdin", false), "OpenStderr", jbool(rec, "AttachStderr", false),
	    "OpenStdout", jbool(rec, "AttachStdout", false), "CanRemove", false, "ContainerID",
	    jstr(rec, "ContainerID"), "DetachKeys", str_or(jstr(rec, "DetachKeys"), ""), "Pid",
	    (json_int_t)jint(rec, "Pid", 0));
	json_decref(rec);
	return reply_json(r, MHD_HTTP_OK, out);
}
