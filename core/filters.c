#include "filters.h"
#include "json.h"

int husk_filters_parse(const char *arg, const char *const *allowed, struct husk_filters *f,
		       struct husk_error *err)
{
	f->map = json_object();
	if (str_empty(arg))
		return 0;
	json_error_t je;
	json_t *j = json_loads(arg, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return husk_error_set(err, -EINVAL, "invalid filter: %s",
				      je.text[0] ? je.text : "not a JSON object");
	}
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed && allowed[i]; i++)
			ok |= streq(allowed[i], key);
		if (!ok) {
			/* key lives in j: the message first. */
			int r = husk_error_set(err, -EINVAL, "invalid filter '%s'", key);
			json_decref(j);
			return r;
		}
		json_t *vals = json_array();
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (json_is_string(e))
					json_array_append(vals, e);
			}
		} else if (json_is_object(v)) {
			const char *k;
			json_t *b;
			json_object_foreach(v, k, b)
			{
				if (json_is_true(b))
					json_array_append_new(vals, json_string(k));
			}
		} else if (json_is_string(v)) {
			json_array_append(vals, v);
		} else {
			int r = husk_error_set(err, -EINVAL, "invalid filter '%s': bad value", key);
			json_decref(vals);
			json_decref(j);
			return r;
		}
		json_object_set_new(f->map, key, vals);
	}
	json_decref(j);
	return 0;
}

void husk_filters_clear(struct husk_filters *f)
{
	json_decref(f->map);
	f->map = NULL;
}

json_t *husk_filters_get(const struct husk_filters *f, const char *key)
{
	json_t *a = f->map ? json_object_get(f->map, key) : NULL;
	return json_array_size(a) ? a : NULL;
}

bool husk_filters_has(const struct husk_filters *f, const char *key)
{
	return husk_filters_get(f, key) != NULL;
}

bool husk_filters_match_labels(const struct husk_filters *f, const char *key,
			       const json_t *labels)
{
	json_t *want = husk_filters_get(f, key);
	size_t i;
	json_t *e;
	json_array_foreach(want, i, e)
	{
		const char *s = json_string_value(e);
		const char *eq = strchr(s, '=');
		_cleanup_free_ char *k = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
		const char *have = jstr(labels, k);
		if (!have || (eq && !streq(have, eq + 1)))
			return false;
	}
	return true;
}
