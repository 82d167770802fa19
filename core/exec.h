/* docker exec instances: their records, shared by husk-api (creates them, answers inspect) and
 * the container's monitor (starts them, records the start and the exit).
 *
 * run/containers/<cid>/exec/<eid>.json, written whole with write-temp + rename:
 *   {"ID", "ContainerID", "Cmd":[...], "Env":[...], "User", "WorkingDir", "Tty",
 *    "Privileged", "AttachStdin", "AttachStdout", "AttachStderr", "DetachKeys",
 *    "ConsoleSize":[h,w] or null, "Created":ns,
 *    "Started":bool, "Running":bool, "Pid":host pid, "ExitCode":int or null}
 * Until the start only husk-api writes it; from then on only the monitor. The records live as
 * long as the container's run directory (removal, reboot); the monitor clears them when the
 * container starts again and prunes finished ones. */
#pragma once

#include "error.h"
#include "store.h"

#include <jansson.h>

/* A new record from a POST /containers/{id}/exec body: Docker's 400s for a bad body. */
int husk_exec_new(const json_t *body, const char *container_id, json_t **rec,
		  struct husk_error *err);
/* Writes rec to its place (from its ID and ContainerID). */
int husk_exec_save(const struct husk_store *s, const json_t *rec);
/* The record of exec id, wherever its container: -ENOENT "No such exec instance: ID". */
int husk_exec_find(const struct husk_store *s, const char *id, json_t **rec,
		   struct husk_error *err);
/* The record of exec id of container cid; NULL when there is none. */
json_t *husk_exec_load(const struct husk_store *s, const char *cid, const char *id);
/* Removes one record, or (id NULL) all of a container's. */
void husk_exec_remove(const struct husk_store *s, const char *cid, const char *id);

struct husk_spec;
/* The process of exec rec in the container whose spec and Config (config.json's) are given:
 * Docker's exec environment (the container's, built for the exec's TTY, then the exec's Env),
 * command, user and working directory (the container's unless the exec names its own),
 * terminal (rows, cols: 0 for none) and privileges (--privileged: every capability, no
 * seccomp). A shallow copy of spec: only argv and env are its own (husk_exec_spec_free). */
void husk_exec_spec(const struct husk_spec *spec, const json_t *config, const json_t *rec,
		    unsigned short rows, unsigned short cols, struct husk_spec *out);
void husk_exec_spec_free(struct husk_spec *out);
