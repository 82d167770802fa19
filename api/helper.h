/* husk-helper's commands and its framing (see helper.c). */
#pragma once

#include "core/error.h"
#include "core/store.h"
#include "core/userns.h"

#include <jansson.h>

/* Writes msg (stolen) as one line of stdout, flushed. */
void helper_line(json_t *msg);
/* The failure line {"errorDetail":{"code":HTTP,"message":M},"error":M}; returns 1 (the exit
 * status). */
int helper_fail(const struct husk_error *err);

struct helper_args {
	const char *id;	  /* a container's full id */
	const char *ref;  /* how the client named it (for Docker's messages) */
	const char *path; /* archive: the client's path */
	bool head_only;	  /* archive-get: the stat alone (HEAD) */
	bool no_overwrite_dir_non_dir, copy_uid_gid;
};

/* The container commands (helper_archive.c); each returns the exit status. */
int helper_archive_get(const struct husk_store *s, const struct husk_idmap *m,
		       const struct helper_args *a);
int helper_archive_put(const struct husk_store *s, const struct husk_idmap *m,
		       const struct helper_args *a);
int helper_export(const struct husk_store *s, const struct husk_idmap *m,
		  const struct helper_args *a);
int helper_changes(const struct husk_store *s, const struct husk_idmap *m,
		   const struct helper_args *a);
