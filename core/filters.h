/* Docker's ?filters= argument: {"label":{"a=b":true}} (map form, the CLI) or
 * {"label":["a=b"]} (list form, docker-py and compose). */
#pragma once

#include "error.h"

#include <jansson.h>

struct husk_filters {
	json_t *map; /* key → array of strings */
};

/* Parses and checks every key is in allowed (NULL-terminated). -EINVAL: "invalid filter
 * 'KEY'" or a JSON error. An empty or absent argument gives no filters. */
int husk_filters_parse(const char *arg, const char *const *allowed, struct husk_filters *f,
		       struct husk_error *err);
void husk_filters_clear(struct husk_filters *f);
/* The values given for key (a JSON array; NULL when the key is absent). */
json_t *husk_filters_get(const struct husk_filters *f, const char *key);
bool husk_filters_has(const struct husk_filters *f, const char *key);
/* Label filters: every "k" or "k=v" value must match labels (an object of strings). */
bool husk_filters_match_labels(const struct husk_filters *f, const char *key,
			       const json_t *labels);
