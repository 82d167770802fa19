/* husk-helper: the work on tar archives that husk-api hands to a process of its own, so that
 * husk-api links neither libarchive nor libcrypto (it starts faster and stays small) and a
 * hostile archive can at worst crash this short-lived process.
 *
 *   husk-helper load   --data-dir D --run-dir R [--quiet]          docker load
 *   husk-helper import --data-dir D --run-dir R [--repo NAME[:TAG]] [--message M]
 *                      [--change INSTRUCTION]...                    docker import
 *
 * The archive comes on stdin. stdout carries Docker's progress stream, one JSON object per
 * line; a failure is the last line, {"errorDetail":{"code":HTTP,"message":M},"error":M},
 * and the exit status 1.
 *
 * The container commands take --data-dir D --run-dir R --id ID --ref NAME (the container's
 * full id, and the name the client used, for Docker's messages):
 *
 *   archive-get --path P [--head]                  GET and HEAD /containers/{id}/archive
 *   archive-put --path P [--no-overwrite-dir-non-dir] [--copy-uid-gid]   (the tar on stdin)
 *   export                                         GET /containers/{id}/export
 *   changes                                        GET /containers/{id}/changes
 *
 * Their stdout starts with one JSON line: the failure line above when they fail before any
 * answer (exit status 1; the code is the HTTP status to answer with), otherwise the answer's
 * head: {"stat":{...},"header":BASE64} (archive-get: the path's stat, and the value of the
 * X-Docker-Container-Path-Stat header), {} (archive-put, once extracted; export), or
 * {"changes":[...]|null}. A tar follows the head of archive-get (unless --head) and export; a
 * failure while it is written cuts it short and exits 1. */
#include "helper.h"
#include "http.h"

#include "core/image.h"
#include "core/log.h"
#include "core/store.h"

#include <getopt.h>
#include <signal.h>

static void emit(void *cls, json_t *msg)
{
	(void)cls;
	_cleanup_free_ char *s = json_compact(msg);
	printf("%s\n", s);
	fflush(stdout);
}

void helper_line(json_t *msg)
{
	emit(NULL, msg);
	json_decref(msg);
}

int helper_fail(const struct husk_error *err)
{
	/* Messages may quote paths from the client: bytes, maybe no UTF-8. */
	helper_line(json_pack("{s:{s:i, s:o}, s:o}", "errorDetail", "code",
			      (int)http_status_for(err->code), "message",
			      json_string_lossy(err->message), "error",
			      json_string_lossy(err->message)));
	return 1;
}

static const struct {
	const char *name;
	int (*run)(const struct husk_store *s, const struct husk_idmap *m,
		   const struct helper_args *a);
} container_cmds[] = {
	{"archive-get", helper_archive_get},
	{"archive-put", helper_archive_put},
	{"export", helper_export},
	{"changes", helper_changes},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, 'd'}, {"run-dir", required_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},	    {"repo", required_argument, NULL, 'p'},
		{"message", required_argument, NULL, 'm'},  {"change", required_argument, NULL, 'c'},
		{"id", required_argument, NULL, 'i'},	    {"ref", required_argument, NULL, 'n'},
		{"path", required_argument, NULL, 'P'},	    {"head", no_argument, NULL, 'H'},
		{"no-overwrite-dir-non-dir", no_argument, NULL, 'O'},
		{"copy-uid-gid", no_argument, NULL, 'U'},
		{0},
	};
	struct helper_args args = {0};
	const char *data = NULL, *run = NULL, *repo = NULL, *message = NULL;
	bool quiet = false;
	_cleanup_strv_ char **changes = xcalloc(1, sizeof(char *));
	if (argc < 2) {
		fputs("usage: husk-helper load|import|archive-get|archive-put|export|changes "
		      "--data-dir D --run-dir R ...\n"
		      "husk-helper is run by husk-api.\n",
		      stderr);
		return 2;
	}
	const char *cmd = argv[1];
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'r':
			run = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'p':
			repo = optarg;
			break;
		case 'm':
			message = optarg;
			break;
		case 'c':
			changes = strv_push(changes, optarg);
			break;
		case 'i':
			args.id = optarg;
			break;
		case 'n':
			args.ref = optarg;
			break;
		case 'P':
			args.path = optarg;
			break;
		case 'H':
			args.head_only = true;
			break;
		case 'O':
			args.no_overwrite_dir_non_dir = true;
			break;
		case 'U':
			args.copy_uid_gid = true;
			break;
		default:
			return 2;
		}
	}
	husk_log_init("husk-helper", getenv("HUSK_DEBUG") != NULL);
	signal(SIGPIPE, SIG_IGN);
	struct husk_error err = {0};
	_cleanup_(husk_store_close) struct husk_store store;
	if (husk_store_open(&store, data, run, &err) < 0)
		return helper_fail(&err);
	struct husk_idmap idmap;
	husk_idmap_load(&idmap);

	if (streq(cmd, "load")) {
		if (husk_image_load(&store, &idmap, 0, quiet, emit, NULL, &err) < 0)
			return helper_fail(&err);
		return 0;
	}
	if (streq(cmd, "import")) {
		char id[72];
		if (husk_image_import(&store, &idmap, 0, repo, changes, message, id, &err) < 0)
			return helper_fail(&err);
		helper_line(json_pack("{s:s}", "status", id));
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(container_cmds); i++) {
		if (streq(cmd, container_cmds[i].name)) {
			return container_cmds[i].run(&store, &idmap, &args);
		}
	}
	husk_error_set(&err, -EINVAL, "unknown husk-helper command \"%s\"", cmd);
	return helper_fail(&err);
}
