#include "job.h"
#include "api.h"
#include "core/log.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

char **job_argv(struct req *r, const char *cmd)
{
	char **v = strv_push(NULL, r->api->helper_path);
	v = strv_push(v, cmd);
	v = strv_push(v, "--data-dir");
	v = strv_push(v, r->api->store.data);
	v = strv_push(v, "--run-dir");
	v = strv_push(v, r->api->store.run);
	return v;
}

/* The helper's exit status; -1 when it did not exit normally. */
static int reap(struct job *j)
{
	int status = -1;
	if (j->pid > 0)
		while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
			;
	j->pid = 0;
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void job_release(void *cls)
{
	struct job *j = cls;
	if (j->rfd >= 0)
		close(j->rfd);
	/* The helper finishes its work even when the client left: reap it. */
	reap(j);
	free(j->head);
	free(j);
}

ssize_t job_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct job *j = cls;
	if (j->head_off < j->head_len) {
		size_t n = j->head_len - j->head_off < max ? j->head_len - j->head_off : max;
		memcpy(buf, j->head + j->head_off, n);
		j->head_off += n;
		return (ssize_t)n;
	}
	ssize_t n;
	do
		n = read(j->rfd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n == 0 && (!j->check_exit || reap(j) == 0))
		return MHD_CONTENT_READER_END_OF_STREAM;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Reads up to the first newline (or EOF). */
static void read_head(struct job *j)
{
	size_t cap = 4096;
	j->head = xmalloc(cap);
	for (;;) {
		if (j->head_len == cap)
			j->head = xrealloc(j->head, cap *= 2);
		ssize_t n = read(j->rfd, j->head + j->head_len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		j->head_len++;
		if (j->head[j->head_len - 1] == '\n' || j->head_len > (1u << 20))
			break;
	}
}

struct job *job_start(char **argv, int in_fd, struct husk_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		husk_error_set(err, -EIO, "pipe: %s", strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	struct job *j = xcalloc(1, sizeof *j);
	j->rfd = p[0];
	int e = posix_spawn(&j->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e != 0) {
		j->pid = 0;
		job_release(j);
		husk_error_set(err, -EIO, "cannot run %s: %s", argv[0], strerror(e));
		return NULL;
	}
	read_head(j);
	return j;
}

json_t *job_head(struct req *r, struct job *j, enum MHD_Result *ret)
{
	json_t *first = json_loadb(j->head, j->head_len, JSON_DISABLE_EOF_CHECK, NULL);
	json_t *detail = jobj(first, "errorDetail");
	if (!detail && j->head_len)
		return first ? first : json_object();
	unsigned status = detail ? (unsigned)jint(detail, "code", 500) : 500;
	const char *msg = detail ? str_or(jstr(detail, "message"), "failed")
				 : "husk-helper ended without an answer";
	json_t *body = json_pack("{s:s}", "message", msg);
	if (status < 400 || status > 599)
		status = 500;
	if (status >= 500)
		husk_log(LOG_ERR, "%s %s: %s", r->method, r->path, msg);
	json_decref(first);
	*ret = reply_json(r, status, body);
	job_release(j);
	return NULL;
}
