/* jansson helpers: typed getters that tolerate absent or null members, file load/store. */
#pragma once

#include "error.h"

#include <jansson.h>

/* Members by key; NULL (or the default) when absent, null, or of another type. */
const char *jstr(const json_t *o, const char *key);
json_t *jobj(const json_t *o, const char *key);
json_t *jarr(const json_t *o, const char *key);
int64_t jint(const json_t *o, const char *key, int64_t dflt);
bool jbool(const json_t *o, const char *key, bool dflt);
/* Dotted path lookup for readability in handlers: jpath(o, "HostConfig.AutoRemove"). */
json_t *jpath(const json_t *o, const char *path);

/* Sets key to a string, or to null when s is NULL. */
void jset_str(json_t *o, const char *key, const char *s);
/* A JSON array of strings from a NULL-terminated vector (or null when v is NULL). */
json_t *json_strv(char *const *v);
/* Whether a is an array of strings only. */
bool json_is_strings(const json_t *a);
/* A vector from a JSON array of strings; non-strings make it fail with -EINVAL. */
int json_to_strv(const json_t *a, char ***out);

/* The Go types Docker decodes request members into, and Go's error for a member of another
 * type: "json: cannot unmarshal KIND into Go struct field STRUCT.PATH of type T" (-EINVAL).
 * Paths are dotted (jpath); null and absent members pass. */
enum json_go_type { GO_STR, GO_BOOL, GO_INT, GO_STRV, GO_STRSLICE, GO_MAPSTR, GO_OBJ, GO_ARR };
struct json_go_field {
	const char *path;
	enum json_go_type type;
};
int json_check_go_types(const json_t *o, const struct json_go_field *fields, size_t n,
			const char *go_struct, struct husk_error *err);
/* The JSON kind Go's messages name: "object", "array", "string", "number", "bool". */
const char *json_go_kind(const json_t *v);

json_t *json_load_path(const char *path, size_t max, struct husk_error *err);
int json_store_path(const char *path, const json_t *j, bool sync);
/* A JSON string of s, with what is not UTF-8 replaced by U+FFFD byte by byte, as Go's
 * encoding/json does (file names are bytes). */
json_t *json_string_lossy(const char *s);
/* Compact one-line dump (caller frees). */
char *json_compact(const json_t *j);
