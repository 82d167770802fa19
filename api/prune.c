/* POST /containers/prune (docker container prune): removes every container that is not
 * running (created, exited, dead), as Docker does, with its filters: until (created before a
 * time, or a duration ago) and label / label! . */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/events.h"
#include "core/filters.h"
#include "core/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char *const prune_filters[] = {"until", "label", "label!", NULL};

/* Docker's until: a Go duration before now, an RFC 3339 time, or unix seconds. */
static int parse_until(const struct husk_filters *f, int64_t *until, struct husk_error *err)
{
	json_t *v = husk_filters_get(f, "until");
	*until = INT64_MAX;
	if (!v)
		return 0;
	if (json_array_size(v) > 1)
		return husk_error_set(err, -EINVAL, "more than one until filter specified");
	const char *s = json_string_value(json_array_get(v, 0));
	int64_t d;
	if (parse_go_duration(s, &d) == 0)
		*until = now_ns() - d;
	else if (parse_timestamp_arg(s, until) < 0)
		return husk_error_set(err, -EINVAL,
				      "failed to parse value as time or duration: \"%s\"", s);
	return 0;
}

static bool prunable(const struct husk_container *c, const struct husk_filters *f, int64_t until)
{
	enum husk_status st = c->state.status;
	if (st == HUSK_RUNNING || st == HUSK_PAUSED || st == HUSK_RESTARTING || c->state.removing)
		return false;
	if (jint(c->config, "Created", 0) >= until)
		return false;
	const json_t *labels = jobj(jobj(c->config, "Config"), "Labels");
	if (!husk_filters_match_labels(f, "label", labels))
		return false;
	return !husk_filters_has(f, "label!") || !husk_filters_match_labels(f, "label!", labels);
}

/* What removing the container frees: its writable layer. */
static int64_t upper_size(const struct husk_store *s, const char *id)
{
	_cleanup_free_ char *upper = husk_store_data_path(s, "containers/%s/upper", id);
	int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? 0 : tree_size(fd);
}

/* Removes one container if it still may be; 1 when it was removed. */
static int prune_one(struct api *api, const char *id, const struct husk_filters *f, int64_t until,
		     int64_t *freed)
{
	/* The start lock first, as rm: a start between our look at the state and the removal
	 * would leave a monitor running a container that is gone. */
	_cleanup_close_ int start_lock = husk_container_lock_start(&api->store, id, NULL);
	_cleanup_store_lock_ int lock = husk_store_lock(&api->store);
	_cleanup_container_ struct husk_container *c = NULL;
	if (start_lock < 0 || lock < 0)
		return 0;
	if (husk_container_load(&api->store, id, &c, NULL) < 0) {
		/* Removed meanwhile: the run directory the lock made again goes too. */
		_cleanup_free_ char *run = husk_container_run_dir(&api->store, id);
		rm_rf(run);
		return 0;
	}
	if (!prunable(c, f, until))
		return 0;
	int64_t size = upper_size(&api->store, id);
	struct husk_error err = {0};
	if (husk_container_remove_files(&api->store, &api->idmap, id, &err) < 0) {
		husk_log(LOG_WARNING, "prune: cannot remove %.12s: %s", id, err.message);
		return 0;
	}
	husk_event_emit(&api->store, "container", "destroy", id,
			husk_event_container_attrs(c->config));
	*freed += size;
	return 1;
}

enum MHD_Result h_containers_prune(struct req *r)
{
	struct husk_error err = {0};
	struct husk_filters f;
	int64_t until;
	if (husk_filters_parse(query(r, "filters"), prune_filters, &f, &err) < 0 ||
	    parse_until(&f, &until, &err) < 0) {
		husk_filters_clear(&f);
		return reply_error(r, &err);
	}
	_cleanup_strv_ char **ids = NULL;
	husk_container_list_ids(&r->api->store, &ids);
	json_t *deleted = json_array();
	int64_t freed = 0;
	for (size_t i = 0; ids && ids[i]; i++)
		if (prune_one(r->api, ids[i], &f, until, &freed) > 0)
			json_array_append_new(deleted, json_string(ids[i]));
	husk_filters_clear(&f);
	char reclaimed[24];
	snprintf(reclaimed, sizeof reclaimed, "%lld", (long long)freed);
	husk_event_emit(&r->api->store, "container", "prune", "",
			json_pack("{s:s}", "reclaimed", reclaimed));
	/* Docker's report has null, not [], when nothing was deleted. */
	json_t *out = json_pack("{s:o, s:I}", "ContainersDeleted",
				json_array_size(deleted) ? deleted : json_null(), "SpaceReclaimed",
				(json_int_t)freed);
	if (!json_array_size(deleted))
		json_decref(deleted);
	return reply_json(r, MHD_HTTP_OK, out);
}
