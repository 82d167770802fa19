#include "json.h"
#include "fs.h"

const char *jstr(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *jobj(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_object(v) ? v : NULL;
}

json_t *jarr(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_array(v) ? v : NULL;
}

int64_t jint(const json_t *o, const char *key, int64_t dflt)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return dflt;
}

bool jbool(const json_t *o, const char *key, bool dflt)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

json_t *jpath(const json_t *o, const char *path)
{
	char key[256];
	const json_t *cur = o;
	while (cur && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof key || !json_is_object(cur))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		cur = json_object_get(cur, key);
		path += n + (dot ? 1 : 0);
	}
	return (json_t *)cur;
}

void jset_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, s ? json_string(s) : json_null());
}

json_t *json_strv(char *const *v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

bool json_is_strings(const json_t *a)
{
	size_t i;
	json_t *e;
	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, e)
	{
		if (!json_is_string(e))
			return false;
	}
	return true;
}

int json_to_strv(const json_t *a, char ***out)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t i;
	json_t *e;
	if (!json_is_array(a)) {
		*out = v;
		return json_is_null(a) || !a ? 0 : -EINVAL;
	}
	json_array_foreach(a, i, e)
	{
		if (!json_is_string(e)) {
			strv_free(v);
			return -EINVAL;
		}
		v = strv_push(v, json_string_value(e));
	}
	*out = v;
	return 0;
}

static const char *const go_type_names[] = {
	[GO_STR] = "string",	       [GO_BOOL] = "bool",	   [GO_INT] = "int64",
	[GO_STRV] = "[]string",	       [GO_STRSLICE] = "strslice.StrSlice",
	[GO_MAPSTR] = "map[string]string", [GO_OBJ] = "struct",	   [GO_ARR] = "[]",
};

const char *json_go_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	default:
		return "bool";
	}
}

static bool all_strings(const json_t *a)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		if (!json_is_string(e))
			return false;
	}
	return true;
}

static bool go_type_ok(const json_t *v, enum json_go_type t)
{
	if (json_is_null(v))
		return true;
	switch (t) {
	case GO_STR:
		return json_is_string(v);
	case GO_BOOL:
		return json_is_boolean(v);
	case GO_INT:
		return json_is_integer(v);
	case GO_STRV:
		return json_is_array(v) && all_strings(v);
	case GO_STRSLICE:
		return json_is_string(v) || (json_is_array(v) && all_strings(v));
	case GO_MAPSTR: {
		if (!json_is_object(v))
			return false;
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
		{
			if (!json_is_string(e))
				return false;
		}
		return true;
	}
	case GO_OBJ:
		return json_is_object(v);
	case GO_ARR:
		return json_is_array(v);
	}
	return false;
}

int json_check_go_types(const json_t *o, const struct json_go_field *fields, size_t n,
			const char *go_struct, struct husk_error *err)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = jpath(o, fields[i].path);
		if (!v || go_type_ok(v, fields[i].type))
			continue;
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
				      json_go_kind(v), go_struct, fields[i].path,
				      go_type_names[fields[i].type]);
	}
	return 0;
}

json_t *json_load_path(const char *path, size_t max, struct husk_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file(path, &buf, &len, max);
	if (r < 0) {
		if (r == -ENOENT)
			husk_error_set(err, r, "%s: not found", path);
		else
			husk_error_sys(err, r, "read %s", path);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);
	if (!j)
		husk_error_set(err, -EIO, "%s: invalid JSON: %s", path, je.text);
	return j;
}

int json_store_path(const char *path, const json_t *j, bool sync)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	return write_file_atomic(path, s, strlen(s), 0600, sync);
}

char *json_compact(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort();
	return s;
}

json_t *json_string_lossy(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	/* Each byte that starts no valid sequence (jansson judges) becomes U+FFFD. */
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		size_t len = 0;
		for (size_t k = 1; k <= 4 && i + k <= n && !len; k++) {
			json_t *t = json_stringn(s + i, k);
			if (t)
				len = k;
			json_decref(t);
		}
		if (len) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = 0;
	j = json_string(out);
	free(out);
	return j;
}
