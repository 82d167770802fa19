/* A container's files: docker cp (HEAD, GET and PUT /containers/{id}/archive), docker export
 * and docker diff (GET /containers/{id}/changes).
 *
 * The work is husk-helper's (archive-get, archive-put, export, changes: see api/helper.c for
 * their framing): it enters the container's file system, which a threaded husk-api cannot, and
 * it links libarchive, which husk-api does not. These handlers check the request, name the
 * container, and answer from the helper's first line. */
#include "api.h"
#include "job.h"
#include "router.h"

#include "core/container.h"

#define STAT_HEADER "X-Docker-Container-Path-Stat"

/* Docker's archive form check comes before the container's lookup. */
static const char *archive_path(struct req *r)
{
	const char *path = query(r, "path");
	if (str_empty(path)) {
		/* Docker's words, its missing space included. */
		reply_errorf(r, -EINVAL, "bad parameter: pathcannot be empty");
		return NULL;
	}
	return path;
}

/* Runs the helper for the container of the route, with its id and the name the client used;
 * its first line, or NULL when the answer was given (*ret) already. */
static json_t *start(struct req *r, const char *cmd, char **extra, int in_fd, struct job **jp,
		     enum MHD_Result *ret)
{
	struct husk_error err = {0};
	char id[HUSK_ID_LEN + 1];
	if (husk_container_resolve_id(&r->api->store, r->params[0], id, &err) < 0) {
		*ret = reply_error(r, &err);
		return NULL;
	}
	_cleanup_strv_ char **argv = job_argv(r, cmd);
	argv = strv_push(argv, "--id");
	argv = strv_push(argv, id);
	argv = strv_push(argv, "--ref");
	argv = strv_push(argv, r->params[0]);
	for (size_t i = 0; extra && extra[i]; i++)
		argv = strv_push(argv, extra[i]);
	*jp = job_start(argv, in_fd, &err);
	if (!*jp) {
		*ret = reply_error(r, &err);
		return NULL;
	}
	return job_head(r, *jp, ret);
}

/* The body after the helper's first line: a tar, cut short if the helper fails. */
static struct MHD_Response *tar_body(struct job *j)
{
	j->head_off = j->head_len;
	j->check_exit = true;
	return stream_response("application/x-tar", job_read, j, job_release);
}

static enum MHD_Result archive_get(struct req *r, bool head_only)
{
	const char *path = archive_path(r);
	if (!path)
		return MHD_YES;
	char *extra[] = {"--path", (char *)path, head_only ? "--head" : NULL, NULL};
	enum MHD_Result ret;
	struct job *j;
	json_t *head = start(r, "archive-get", extra, -1, &j, &ret);
	if (!head)
		return ret;
	struct MHD_Response *resp;
	if (head_only) {
		job_release(j);
		resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	} else {
		resp = tar_body(j);
	}
	if (resp)
		MHD_add_response_header(resp, STAT_HEADER, str_or(jstr(head, "header"), ""));
	json_decref(head);
	return resp ? reply_response(r, MHD_HTTP_OK, resp) : MHD_NO;
}

enum MHD_Result h_container_archive_head(struct req *r)
{
	return archive_get(r, true);
}

enum MHD_Result h_container_archive_get(struct req *r)
{
	return archive_get(r, false);
}

enum MHD_Result h_container_archive_put(struct req *r)
{
	const char *path = archive_path(r);
	if (!path)
		return MHD_YES;
	if (r->body_error == -EFBIG)
		return reply_errorf(r, -EINVAL, "request body is too large");
	char *extra[5] = {"--path", (char *)path};
	size_t n = 2;
	if (query_flag(r, "noOverwriteDirNonDir"))
		extra[n++] = "--no-overwrite-dir-non-dir";
	if (query_flag(r, "copyUIDGID"))
		extra[n++] = "--copy-uid-gid";
	enum MHD_Result ret;
	struct job *j;
	json_t *head = start(r, "archive-put", extra, r->upload_fd, &j, &ret);
	if (!head)
		return ret;
	json_decref(head);
	job_release(j);
	return reply_empty(r, MHD_HTTP_OK);
}

enum MHD_Result h_container_export(struct req *r)
{
	enum MHD_Result ret;
	struct job *j;
	json_t *head = start(r, "export", NULL, -1, &j, &ret);
	if (!head)
		return ret;
	json_decref(head);
	struct MHD_Response *resp = tar_body(j);
	return resp ? reply_response(r, MHD_HTTP_OK, resp) : MHD_NO;
}

enum MHD_Result h_container_changes(struct req *r)
{
	enum MHD_Result ret;
	struct job *j;
	json_t *head = start(r, "changes", NULL, -1, &j, &ret);
	if (!head)
		return ret;
	json_t *changes = json_object_get(head, "changes");
	ret = reply_json(r, MHD_HTTP_OK, changes ? json_incref(changes) : json_null());
	json_decref(head);
	job_release(j);
	return ret;
}
