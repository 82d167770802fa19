/* /volumes/...: thin handlers over core/volume.c. */
#include "api.h"
#include "router.h"

#include "core/events.h"
#include "core/filters.h"
#include "core/volume.h"

#include <regex.h>

enum MHD_Result h_volumes_create(struct req *r)
{
	static const struct json_go_field fields[] = {
		{"Name", GO_STR}, {"Driver", GO_STR}, {"DriverOpts", GO_MAPSTR}, {"Labels", GO_MAPSTR}};
	struct husk_error err = {0};
	json_t *body = req_json_body(r, &err);
	if (!body)
		return reply_error(r, &err);
	int k = json_check_go_types(body, fields, ARRAY_SIZE(fields), "CreateOptions", &err);
	_cleanup_volume_ struct husk_volume *v = NULL;
	if (k == 0) {
		_cleanup_store_lock_ int lock = husk_store_lock(&r->api->store);
		bool created;
		k = lock < 0 ? husk_error_sys(&err, lock, "cannot lock the store")
			     : husk_volume_create(&r->api->store, jstr(body, "Name"),
						  jstr(body, "Driver"), jobj(body, "Labels"),
						  jobj(body, "DriverOpts"), &v, &created, &err);
	}
	json_decref(body);
	if (k < 0)
		return reply_error(r, &err);
	/* Docker answers 201 for an existing volume of that name too. */
	return reply_json(r, MHD_HTTP_CREATED, husk_volume_json(v));
}

/* Go's filters.GetBoolOrDefault: one of 1/true or 0/false, not both. */
static int filter_bool(const struct husk_filters *f, const char *key, bool *out,
		       struct husk_error *err)
{
	json_t *vals = husk_filters_get(f, key);
	bool yes = false, no = false;
	size_t i;
	json_t *e;
	_cleanup_free_ char *all = xstrdup("");
	json_array_foreach(vals, i, e)
	{
		const char *s = json_string_value(e);
		yes |= streq(s, "1") || streq(s, "true");
		no |= streq(s, "0") || streq(s, "false");
		char *n = xasprintf("%s%s%s", all, i ? "," : "", s);
		free(all);
		all = n;
	}
	if (vals && yes == no)
		return husk_error_set(err, -EINVAL, "invalid filter '%s=%s'", key, all);
	*out = yes;
	return 0;
}

/* Docker's name filter: the name itself, or a regular expression found in it. */
static bool name_matches(const json_t *want, const char *name)
{
	if (!want)
		return true;
	size_t i;
	json_t *e;
	json_array_foreach(want, i, e)
	{
		const char *w = json_string_value(e);
		regex_t re;
		if (streq(w, name))
			return true;
		if (regcomp(&re, w, REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		bool ok = regexec(&re, name, 0, NULL, 0) == 0;
		regfree(&re);
		if (ok)
			return true;
	}
	return false;
}

static bool driver_matches(const json_t *want)
{
	size_t i;
	json_t *e;
	json_array_foreach(want, i, e)
	{
		if (streq(json_string_value(e), "local"))
			return true;
	}
	return !want;
}

enum MHD_Result h_volumes_list(struct req *r)
{
	static const char *const allowed[] = {"dangling", "name", "driver", "label", NULL};
	struct husk_error err = {0};
	struct husk_filters f;
	bool dangling = false;
	if (husk_filters_parse(query(r, "filters"), allowed, &f, &err) < 0 ||
	    filter_bool(&f, "dangling", &dangling, &err) < 0) {
		husk_filters_clear(&f);
		return reply_error(r, &err);
	}
	bool by_use = husk_filters_has(&f, "dangling");
	json_t *users = by_use ? husk_volume_users(&r->api->store) : NULL;
	_cleanup_strv_ char **names = NULL;
	husk_volume_list(&r->api->store, &names);
	json_t *out = json_array();
	for (size_t i = 0; names[i]; i++) {
		_cleanup_volume_ struct husk_volume *v = NULL;
		if (husk_volume_load(&r->api->store, names[i], &v, NULL) < 0)
			continue;
		bool used = json_object_get(users, v->name) != NULL;
		if ((!by_use || used != dangling) && name_matches(husk_filters_get(&f, "name"), v->name) &&
		    driver_matches(husk_filters_get(&f, "driver")) &&
		    husk_filters_match_labels(&f, "label", v->labels))
			json_array_append_new(out, husk_volume_json(v));
	}
	json_decref(users);
	husk_filters_clear(&f);
	return reply_json(r, MHD_HTTP_OK, json_pack("{s:o, s:n}", "Volumes", out, "Warnings"));
}

enum MHD_Result h_volume_inspect(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_volume_ struct husk_volume *v = NULL;
	if (husk_volume_load(&r->api->store, r->params[0], &v, &err) < 0)
		return reply_error(r, &err);
	return reply_json(r, MHD_HTTP_OK, husk_volume_json(v));
}

enum MHD_Result h_volume_delete(struct req *r)
{
	struct husk_error err = {0};
	bool force;
	if (query_bool_strict(r, "force", false, &force, &err) < 0)
		return reply_error(r, &err);
	_cleanup_store_lock_ int lock = husk_store_lock(&r->api->store);
	if (lock < 0)
		return reply_errorf(r, -EIO, "cannot lock the store: %s", strerror(-lock));
	if (husk_volume_remove(&r->api->store, &r->api->idmap, r->params[0], force, NULL, &err) < 0)
		return reply_error(r, &err);
	return reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* Prune's "all": at most one value, Go's ParseBool. */
static int prune_all(struct req *r, const struct husk_filters *f, bool *all,
		     struct husk_error *err)
{
	json_t *vals = husk_filters_get(f, "all");
	/* Before API 1.42 prune took every unused volume, not only anonymous ones. */
	*all = req_api_before(r, 42);
	if (!vals)
		return 0;
	if (json_array_size(vals) > 1) {
		_cleanup_free_ char *list = xstrdup("");
		size_t i;
		json_t *e;
		json_array_foreach(vals, i, e)
		{
			char *n = xasprintf("%s%s%s", list, i ? " " : "", json_string_value(e));
			free(list);
			list = n;
		}
		return husk_error_set(err, -EINVAL,
				      "invalid filter 'all=[%s]': only one value is expected", list);
	}
	const char *v = json_string_value(json_array_get(vals, 0));
	if (parse_bool(v, all) < 0)
		return husk_error_set(err, -EINVAL,
				      "invalid filter 'all': strconv.ParseBool: parsing \"%s\": "
				      "invalid syntax",
				      v);
	return 0;
}

enum MHD_Result h_volumes_prune(struct req *r)
{
	static const char *const allowed[] = {"label", "label!", "all", NULL};
	struct husk_error err = {0};
	struct husk_filters f;
	bool all;
	if (husk_filters_parse(query(r, "filters"), allowed, &f, &err) < 0 ||
	    prune_all(r, &f, &all, &err) < 0) {
		husk_filters_clear(&f);
		return reply_error(r, &err);
	}
	_cleanup_store_lock_ int lock = husk_store_lock(&r->api->store);
	if (lock < 0) {
		husk_filters_clear(&f);
		return reply_errorf(r, -EIO, "cannot lock the store: %s", strerror(-lock));
	}
	json_t *users = husk_volume_users(&r->api->store);
	_cleanup_strv_ char **names = NULL;
	husk_volume_list(&r->api->store, &names);
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	for (size_t i = 0; names[i]; i++) {
		_cleanup_volume_ struct husk_volume *v = NULL;
		if (json_object_get(users, names[i]) ||
		    husk_volume_load(&r->api->store, names[i], &v, NULL) < 0 ||
		    (!all && !husk_volume_anonymous(v)) ||
		    !husk_filters_match_labels(&f, "label", v->labels) ||
		    (husk_filters_has(&f, "label!") &&
		     husk_filters_match_labels(&f, "label!", v->labels)))
			continue;
		int64_t size = 0;
		if (husk_volume_remove(&r->api->store, &r->api->idmap, names[i], false, &size,
				       &err) < 0) {
			husk_log(LOG_WARNING, "prune: %s", err.message);
			continue;
		}
		reclaimed += size;
		json_array_append_new(deleted, json_string(names[i]));
	}
	json_decref(users);
	husk_filters_clear(&f);
	char n[32];
	snprintf(n, sizeof n, "%lld", (long long)reclaimed);
	husk_event_emit(&r->api->store, "volume", "prune", "", json_pack("{s:s}", "reclaimed", n));
	return reply_json(r, MHD_HTTP_OK,
			  json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
				    (json_int_t)reclaimed));
}
