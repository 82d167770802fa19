/* Image references as Docker normalises them: "busybox" is docker.io/library/busybox:latest,
 * shown in its familiar form "busybox:latest". */
#pragma once

#include "error.h"

struct husk_ref {
	char *domain;  /* "docker.io", "localhost:5000" */
	char *path;    /* "library/busybox" */
	char *tag;     /* "latest"; NULL when only a digest was given */
	char *digest;  /* "sha256:..." or NULL */
};

/* Parses and normalises; a missing tag (and no digest) becomes "latest". -EINVAL with Docker's
 * message ("invalid reference format", "invalid reference format: repository name (X) must be
 * lowercase") for malformed input. */
int husk_ref_parse(const char *s, struct husk_ref *ref, struct husk_error *err);
void husk_ref_clear(struct husk_ref *ref);
/* "busybox:latest", "localhost:5000/x:1", "busybox@sha256:..." */
char *husk_ref_familiar(const struct husk_ref *ref);
/* The familiar repository name without tag or digest: "busybox", "localhost:5000/x". */
char *husk_ref_familiar_name(const struct husk_ref *ref);
/* "docker.io/library/busybox:latest" */
char *husk_ref_full(const struct husk_ref *ref);
/* Docker's rule for tags: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool husk_tag_valid(const char *tag);
