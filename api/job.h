/* Work husk-api hands to husk-helper: the helper runs with the request body (or /dev/null) on
 * stdin and answers on a pipe. Its first line (JSON) is read before anything is answered: a
 * failure there is a plain HTTP error ({"errorDetail":{"code":HTTP,"message":M}}), otherwise
 * the line is the answer's head and what follows is the body to stream. */
#pragma once

#include "http.h"

#include <sys/types.h>

struct job {
	int rfd;
	pid_t pid;
	char *head; /* the first line, read before answering */
	size_t head_len, head_off;
	/* The body ends in an error (the connection is cut) unless the helper exits 0: for a
	 * tar, whose end would otherwise look complete. */
	bool check_exit;
};

/* The helper's command line: HELPER CMD --data-dir D --run-dir R; callers push the rest. */
char **job_argv(struct req *r, const char *cmd);
/* Starts argv with in_fd (-1: /dev/null) as stdin and reads the first line. NULL with -EIO
 * when it cannot run. */
struct job *job_start(char **argv, int in_fd, struct husk_error *err);
/* The first line as JSON ({} when it is no JSON). When it reports a failure (or is missing),
 * answers the HTTP error, releases the job and returns NULL: the caller is done. */
json_t *job_head(struct req *r, struct job *j, enum MHD_Result *ret);

/* MHD's content reader over what follows (the first line too, from head_off) and its
 * release, which reaps the helper. */
ssize_t job_read(void *cls, uint64_t pos, char *buf, size_t max);
void job_release(void *cls);
