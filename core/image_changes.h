/* docker import/commit "changes": Dockerfile instructions applied to an image config.
 *
 * Supported as in Docker: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
 * STOPSIGNAL, USER, VOLUME, WORKDIR (any case), with Dockerfile quoting, exec (JSON) and
 * shell forms, and $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} expansion from the config's Env
 * where Docker expands. Pure: no I/O. */
#pragma once

#include "error.h"

#include <jansson.h>

/* Applies changes (NULL-terminated; NULL or empty is no change) to config, the "config"
 * member of an image config ({"Env": [...], "Cmd": [...], ...}). -EINVAL with Docker's message
 * for an unknown instruction ("run is not a valid change command") or a malformed one;
 * config may be partly changed then. */
int husk_image_apply_changes(json_t *config, char *const *changes, struct husk_error *err);
