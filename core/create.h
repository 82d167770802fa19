/* Creating a container: validate the request, merge the image's configuration as Docker does,
 * and write the record (config.json, the overlay dirs, /etc files) under the store lock. */
#pragma once

#include "error.h"
#include "store.h"
#include "userns.h"

#include <jansson.h>

struct husk_delegation;

/* body: the POST /containers/create request (Config fields at the top level, HostConfig,
 * NetworkingConfig). name: the ?name= value or NULL. cg: what cgroups containers get here
 * (resource limits are refused where they cannot be honoured; NULL: none). On success writes
 * the new id and appends warnings (strings) to the array. */
int husk_create_container(const struct husk_store *s, const struct husk_idmap *m,
			  const struct husk_delegation *cg, const json_t *body, const char *name,
			  char id_out[65], json_t *warnings, struct husk_error *err);

/* Docker's merge of an image's config into a container's Config (daemon/commit.go merge). */
void husk_merge_image_config(json_t *config, const json_t *image_config);

/* Type checks of the request against the fields Docker knows: Go's decoding errors, as 400. */
int husk_check_create_types(const json_t *body, struct husk_error *err);
