/* /containers/...: thin handlers over core/ and lifecycle.c. */
#include "api.h"
#include "container_json.h"
#include "lifecycle.h"
#include "router.h"

#include "core/create.h"
#include "core/delegation.h"
#include "core/events.h"
#include "core/filters.h"
#include "core/health.h"
#include "core/fs.h"
#include "core/image.h"
#include "core/monitor_proto.h"
#include "core/volume.h"

#include <regex.h>
#include <signal.h>

static void emit(struct api *api, const struct husk_container *c, const char *action,
		 const char *key, const char *value)
{
	json_t *attrs = husk_event_container_attrs(c->config);
	if (key)
		json_object_set_new(attrs, key, json_string(value));
	husk_event_emit(&api->store, "container", action, c->id, attrs);
}

static int find(struct req *r, struct husk_container **c, struct husk_error *err)
{
	return husk_container_find(&r->api->store, r->params[0], c, err);
}

enum MHD_Result h_containers_create(struct req *r)
{
	struct husk_error err = {0};
	json_t *body = req_json_body(r, &err);
	if (!body)
		return reply_error(r, &err);
	char id[65];
	json_t *warnings = json_array();
	const char *name = query(r, "name");
	struct husk_delegation cg;
	api_delegation(r->api, &cg);
	int k = husk_create_container(&r->api->store, &r->api->idmap, &cg, body,
				      str_empty(name) ? NULL : name, id, warnings, &err);
	husk_delegation_clear(&cg);
	json_decref(body);
	if (k < 0) {
		json_decref(warnings);
		return reply_error(r, &err);
	}
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_load(&r->api->store, id, &c, NULL) == 0)
		emit(r->api, c, "create", NULL, NULL);
	return reply_json(r, MHD_HTTP_CREATED,
			  json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings));
}

static const char *const list_filters[] = {"label",  "name",  "id",	 "status", "exited",
					   "ancestor", "before", "since", "health", "network",
					   "volume", "is-task", "publish", "expose", NULL};

static bool match_any(json_t *vals, bool (*fn)(const char *want, const struct husk_container *c,
					       const void *ctx),
		      const struct husk_container *c, const void *ctx)
{
	if (!vals)
		return true;
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e)
	{
		if (fn(json_string_value(e), c, ctx))
			return true;
	}
	return false;
}

static bool m_name(const char *want, const struct husk_container *c, const void *ctx)
{
	/* Docker matches names as a regular expression against "/name". */
	regex_t re;
	if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	_cleanup_free_ char *n = xasprintf("/%s", c->name);
	bool ok = regexec(&re, n, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static bool m_id(const char *want, const struct husk_container *c, const void *ctx)
{
	return str_startswith(c->id, want) != NULL;
}

static bool m_status(const char *want, const struct husk_container *c, const void *ctx)
{
	return streq(want, husk_status_name(c->state.status));
}

static bool m_exited(const char *want, const struct husk_container *c, const void *ctx)
{
	return c->state.status == HUSK_EXITED && atoi(want) == c->state.exit_code;
}

static bool m_health(const char *want, const struct husk_container *c, const void *ctx)
{
	return streq(want, str_or(husk_health_status(c->state.health), "none"));
}

static bool m_ancestor(const char *want, const struct husk_container *c, const void *ctx)
{
	const struct husk_store *s = ctx;
	_cleanup_image_ struct husk_image *img = NULL;
	if (husk_image_find(s, want, &img, NULL) < 0)
		return false;
	return streq(img->id, jstr(c->config, "ImageID"));
}

/* Docker's volume filter: a volume's name or a mount point's destination. */
static bool m_volume(const char *want, const struct husk_container *c, const void *ctx)
{
	size_t i;
	json_t *mp;
	json_array_foreach(jarr(c->config, "MountPoints"), i, mp)
	{
		if (streq(jstr(mp, "Name"), want) || streq(jstr(mp, "Destination"), want))
			return true;
	}
	return false;
}

/* The first value of a filter that is not one of ok (NULL-terminated), or NULL. */
static const char *bad_value(json_t *vals, const char *const *ok)
{
	size_t i;
	json_t *e;
	json_array_foreach(vals, i, e)
	{
		if (!strv_contains((char *const *)ok, json_string_value(e)))
			return json_string_value(e);
	}
	return NULL;
}

static int check_value_filters(const struct husk_filters *f, struct husk_error *err)
{
	static const char *const statuses[] = {"created", "restarting", "running", "removing",
					       "paused",  "exited",	"dead",	   NULL};
	static const char *const health[] = {"starting", "healthy", "unhealthy", "none", NULL};
	const char *bad = bad_value(husk_filters_get(f, "status"), statuses);
	if (bad)
		return husk_error_set(err, -EINVAL, "invalid filter 'status=%s'", bad);
	bad = bad_value(husk_filters_get(f, "health"), health);
	if (bad)
		return husk_error_set(err, -EINVAL, "Unrecognised filter value for health: %s",
				      bad);
	return 0;
}

static int cmp_created(const void *a, const void *b)
{
	const struct husk_container *x = *(struct husk_container *const *)a;
	const struct husk_container *y = *(struct husk_container *const *)b;
	int64_t cx = jint(x->config, "Created", 0), cy = jint(y->config, "Created", 0);
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

static int64_t created_of(const struct husk_store *s, const char *ref)
{
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(s, ref, &c, NULL) < 0)
		return -1;
	return jint(c->config, "Created", 0);
}

enum MHD_Result h_containers_list(struct req *r)
{
	struct husk_error err = {0};
	bool all;
	int64_t limit;
	if (query_bool_strict(r, "all", false, &all, &err) < 0 ||
	    query_int(r, "limit", -1, &limit, &err) < 0)
		return reply_error(r, &err);
	struct husk_filters f;
	if (husk_filters_parse(query(r, "filters"), list_filters, &f, &err) < 0 ||
	    check_value_filters(&f, &err) < 0) {
		husk_filters_clear(&f);
		return reply_error(r, &err);
	}
	/* A status filter looks at every container, as in Docker, and so does a limit: "the
	 * most recently created containers, including non-running ones". */
	all |= husk_filters_has(&f, "status") || husk_filters_has(&f, "exited") || limit > 0;
	int64_t before = INT64_MAX, since = -1;
	json_t *b = husk_filters_get(&f, "before"), *s = husk_filters_get(&f, "since");
	if (b && (before = created_of(&r->api->store, json_string_value(json_array_get(b, 0)))) < 0) {
		husk_filters_clear(&f);
		return reply_errorf(r, -ENOENT, "No such container: %s",
				    json_string_value(json_array_get(b, 0)));
	}
	if (s && (since = created_of(&r->api->store, json_string_value(json_array_get(s, 0)))) < 0) {
		husk_filters_clear(&f);
		return reply_errorf(r, -ENOENT, "No such container: %s",
				    json_string_value(json_array_get(s, 0)));
	}

	_cleanup_strv_ char **ids = NULL;
	husk_container_list_ids(&r->api->store, &ids);
	size_t n = strv_length(ids), kept = 0;
	struct husk_container **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		struct husk_container *c = NULL;
		if (husk_container_load(&r->api->store, ids[i], &c, NULL) < 0)
			continue;
		int64_t created = jint(c->config, "Created", 0);
		bool live = c->state.status == HUSK_RUNNING || c->state.status == HUSK_PAUSED ||
			    c->state.status == HUSK_RESTARTING;
		bool ok = (all || live) && created < before && created > since &&
			  husk_filters_match_labels(&f, "label",
						    jobj(jobj(c->config, "Config"), "Labels")) &&
			  match_any(husk_filters_get(&f, "name"), m_name, c, NULL) &&
			  match_any(husk_filters_get(&f, "id"), m_id, c, NULL) &&
			  match_any(husk_filters_get(&f, "status"), m_status, c, NULL) &&
			  match_any(husk_filters_get(&f, "exited"), m_exited, c, NULL) &&
			  match_any(husk_filters_get(&f, "health"), m_health, c, NULL) &&
			  match_any(husk_filters_get(&f, "ancestor"), m_ancestor, c,
				    &r->api->store) &&
			  match_any(husk_filters_get(&f, "volume"), m_volume, c, NULL);
		if (ok)
			v[kept++] = c;
		else
			husk_container_free(c);
	}
	husk_filters_clear(&f);
	qsort(v, kept, sizeof *v, cmp_created);
	json_t *out = json_array();
	for (size_t i = 0; i < kept; i++) {
		if (limit <= 0 || (int64_t)i < limit)
			json_array_append_new(out, container_summary_json(v[i]));
		husk_container_free(v[i]);
	}
	free(v);
	return reply_json(r, MHD_HTTP_OK, out);
}

enum MHD_Result h_container_inspect(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	return reply_json(r, MHD_HTTP_OK, container_inspect_json(&r->api->store, c));
}

enum MHD_Result h_container_start(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	int k = container_start(r->api, c->id, &err);
	if (k == -EALREADY)
		return reply_empty(r, MHD_HTTP_NOT_MODIFIED);
	if (k < 0)
		return reply_error(r, &err);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ?t= and ?signal= of stop and restart. */
static int stop_args(struct req *r, int *sig, int *timeout, struct husk_error *err)
{
	int64_t t;
	int k = query_int(r, "t", -1, &t, err);
	if (k < 0)
		return k;
	if (t < -1 || t > 86400 * 365)
		return husk_error_set(err, -EINVAL, "invalid value for t: %lld", (long long)t);
	*timeout = (int)t;
	*sig = 0;
	const char *s = query(r, "signal");
	if (!str_empty(s) && (*sig = parse_signal(s)) < 0)
		return husk_error_set(err, -EINVAL, "Invalid signal: %s", s);
	return 0;
}

enum MHD_Result h_container_stop(struct req *r)
{
	struct husk_error err = {0};
	int sig, timeout;
	if (stop_args(r, &sig, &timeout, &err) < 0)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	int k = container_stop(r->api, c, sig, timeout, &err);
	if (k == -EALREADY)
		return reply_empty(r, MHD_HTTP_NOT_MODIFIED);
	if (k < 0)
		return reply_error(r, &err);
	emit(r->api, c, "stop", NULL, NULL);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_container_restart(struct req *r)
{
	struct husk_error err = {0};
	int sig, timeout;
	if (stop_args(r, &sig, &timeout, &err) < 0)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	int k = container_stop(r->api, c, sig, timeout, &err);
	if (k < 0 && k != -EALREADY)
		return reply_error(r, &err);
	k = container_start(r->api, c->id, &err);
	if (k < 0 && k != -EALREADY)
		return reply_error(r, &err);
	emit(r->api, c, "restart", NULL, NULL);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_container_kill(struct req *r)
{
	struct husk_error err = {0};
	const char *s = query(r, "signal");
	int sig = str_empty(s) ? SIGKILL : parse_signal(s);
	if (sig < 0)
		return reply_errorf(r, -EINVAL, "Invalid signal: %s", s);
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	if (container_kill(r->api, c, sig, &err) < 0)
		return reply_error(r, &err);
	char num[16];
	snprintf(num, sizeof num, "%d", sig);
	emit(r->api, c, "kill", "signal", num);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

struct wait_ctx {
	struct api *api;
	char id[65];
	enum wait_condition cond;
	int client_fd;
	bool done;
};

static ssize_t wait_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct wait_ctx *w = cls;
	if (w->done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	int code = 0;
	char error[512] = "";
	int k = container_wait(w->api, w->id, w->cond, w->client_fd, &code, error, sizeof error);
	if (k < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	json_t *j = json_pack("{s:i}", "StatusCode", code);
	json_object_set_new(j, "Error",
			    error[0] ? json_pack("{s:s}", "Message", error) : json_null());
	_cleanup_free_ char *s = json_compact(j);
	json_decref(j);
	int n = snprintf(buf, max, "%s\n", s);
	w->done = true;
	return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

enum MHD_Result h_container_wait(struct req *r)
{
	struct husk_error err = {0};
	const char *cs = query(r, "condition");
	enum wait_condition cond;
	if (str_empty(cs) || streq(cs, "not-running"))
		cond = WAIT_NOT_RUNNING;
	else if (streq(cs, "next-exit"))
		cond = WAIT_NEXT_EXIT;
	else if (streq(cs, "removed"))
		cond = WAIT_REMOVED;
	else
		return reply_errorf(r, -EINVAL, "invalid condition: \"%s\"", cs);
	char id[65];
	if (husk_container_resolve_id(&r->api->store, r->params[0], id, &err) < 0)
		return reply_error(r, &err);
	struct wait_ctx *w = xcalloc(1, sizeof *w);
	w->api = r->api;
	memcpy(w->id, id, sizeof id);
	w->cond = cond;
	w->client_fd = req_socket(r);
	/* The 200 goes out at once and the body when the condition holds: docker run waits for
	 * these headers before it starts the container. */
	return reply_stream(r, MHD_HTTP_OK, "application/json", wait_body, w, free);
}

enum MHD_Result h_container_delete(struct req *r)
{
	struct husk_error err = {0};
	bool force, volumes;
	if (query_bool_strict(r, "force", false, &force, &err) < 0 ||
	    query_bool_strict(r, "v", false, &volumes, &err) < 0)
		return reply_error(r, &err);
	if (query_bool(r, "link", false))
		return reply_errorf(r, -EINVAL, "Conflict, cannot remove the default link name of "
						"the container");
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	/* No start of it until it is gone: a start (through another husk-api, too) between our
	 * look at its state and the removal would leave a monitor running a container that is
	 * gone. Its state is read again under the lock. */
	_cleanup_close_ int start_lock = husk_container_lock_start(&r->api->store, c->id, &err);
	if (start_lock < 0)
		return reply_error(r, &err);
	husk_state_clear(&c->state);
	husk_state_load(&r->api->store, c->id, &c->state);
	enum husk_status st = c->state.status;
	bool live = st == HUSK_RUNNING || st == HUSK_PAUSED || st == HUSK_RESTARTING;
	/* Exited, and its monitor is removing it (--rm): that removal is the one asked for. */
	bool removing = !live && c->state.removing;
	if (live && !force)
		return reply_errorf(r, -EEXIST,
				    "cannot remove container \"/%s\": container is running: stop the "
				    "container before removing or force remove",
				    c->name);
	if (live || removing) {
		int k = live ? container_stop(r->api, c, SIGKILL, 0, &err) : 0;
		if (k < 0 && k != -EALREADY)
			return reply_error(r, &err);
		/* The monitor records the exit (and removes it, --rm) and then goes: wait for it,
		 * so it does not write into what we are about to remove, nor remove it again. */
		for (int i = 0; i < 500 && husk_pid_alive(c->state.monitor_pid, c->state.monitor_start);
		     i++)
			usleep(10000);
	}
	_cleanup_store_lock_ int lock = husk_store_lock(&r->api->store);
	/* Gone while we waited for the lock: removed by its monitor (--rm, after our kill), as
	 * asked; or by another rm (another husk-api), which then was the one that removed it. */
	_cleanup_free_ char *cfg = husk_store_data_path(&r->api->store, "containers/%s/config.json",
							c->id);
	if (access(cfg, F_OK) < 0) {
		/* Its run directory went with it: what the start lock made again goes too. */
		_cleanup_free_ char *run = husk_container_run_dir(&r->api->store, c->id);
		rm_rf(run);
		if ((live || removing) && jbool(jobj(c->config, "HostConfig"), "AutoRemove", false))
			return reply_empty(r, MHD_HTTP_NO_CONTENT);
		return reply_errorf(r, -ENOENT, "No such container: %s", r->params[0]);
	}
	if (volumes)
		husk_volumes_remove_anonymous(&r->api->store, &r->api->idmap, c->config);
	if (husk_container_remove_files(&r->api->store, &r->api->idmap, c->id, &err) < 0)
		return reply_error(r, &err);
	emit(r->api, c, "destroy", NULL, NULL);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result h_container_resize(struct req *r)
{
	struct husk_error err = {0};
	int64_t h, w;
	if (query_tty_size(r, &h, &w, &err) < 0)
		return reply_error(r, &err);
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	if (c->state.status != HUSK_RUNNING && c->state.status != HUSK_PAUSED)
		return reply_errorf(r, -EBUSY, "Container %s is not running", c->id);
	json_t *req = json_pack("{s:s, s:I, s:I}", "op", "resize", "h", (json_int_t)h, "w",
				(json_int_t)w);
	int k = husk_mon_call(&r->api->store, c->id, req, -1, NULL, 5000, &err);
	json_decref(req);
	if (k == -ESRCH)
		return reply_errorf(r, -EBUSY, "Container %s is not running", c->id);
	if (k < 0)
		return reply_error(r, &err);
	return reply_empty(r, MHD_HTTP_OK);
}

enum MHD_Result h_container_rename(struct req *r)
{
	struct husk_error err = {0};
	const char *name = query(r, "name");
	if (str_empty(name))
		return reply_errorf(r, -EINVAL, "Neither old nor new names may be empty");
	if (!husk_name_valid(name))
		return reply_errorf(r, -EINVAL,
				    "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
				    "allowed",
				    name);
	if (name[0] == '/')
		name++;
	_cleanup_store_lock_ int lock = husk_store_lock(&r->api->store);
	_cleanup_container_ struct husk_container *c = NULL;
	if (find(r, &c, &err) < 0)
		return reply_error(r, &err);
	if (streq(c->name, name))
		return reply_errorf(r, -EINVAL, "Renaming a container with the same name as its "
						"current name");
	char owner[65];
	if (husk_container_name_owner(&r->api->store, name, owner) > 0)
		return reply_errorf(r, -EEXIST,
				    "Conflict. The container name \"/%s\" is already in use by "
				    "container \"%s\". You have to remove (or rename) that container "
				    "to be able to reuse that name.",
				    name, owner);
	_cleanup_free_ char *old = xasprintf("/%s", c->name);
	_cleanup_free_ char *slashed = xasprintf("/%s", name);
	json_object_set_new(c->config, "Name", json_string(slashed));
	int k = husk_container_save_config(&r->api->store, c->id, c->config);
	if (k < 0)
		return reply_errorf(r, -EIO, "cannot rename: %s", strerror(-k));
	emit(r->api, c, "rename", "oldName", old);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}
