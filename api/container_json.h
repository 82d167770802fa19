/* Docker's JSON shapes for containers. */
#pragma once

#include "core/container.h"

json_t *container_inspect_json(const struct husk_store *s, const struct husk_container *c);
json_t *container_summary_json(const struct husk_container *c);
/* "Up 5 seconds", "Exited (0) 3 seconds ago", "Created", ... as docker ps prints. */
char *container_status_text(const struct husk_state *st);
