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
 * and the exit status 1. */
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

static int fail(const struct husk_error *err)
{
	json_t *e = json_pack("{s:{s:i, s:s}, s:s}", "errorDetail", "code",
			      (int)http_status_for(err->code), "message", err->message, "error",
			      err->message);
	emit(NULL, e);
	json_decref(e);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data-dir", required_argument, NULL, 'd'}, {"run-dir", required_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},	    {"repo", required_argument, NULL, 'p'},
		{"message", required_argument, NULL, 'm'},  {"change", required_argument, NULL, 'c'},
		{0},
	};
	const char *data = NULL, *run = NULL, *repo = NULL, *message = NULL;
	bool quiet = false;
	_cleanup_strv_ char **changes = xcalloc(1, sizeof(char *));
	if (argc < 2) {
		fputs("usage: husk-helper load|import --data-dir D --run-dir R ...\n"
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
		default:
			return 2;
		}
	}
	husk_log_init("husk-helper", getenv("HUSK_DEBUG") != NULL);
	signal(SIGPIPE, SIG_IGN);
	struct husk_error err = {0};
	struct husk_store store;
	if (husk_store_open(&store, data, run, &err) < 0)
		return fail(&err);
	struct husk_idmap idmap;
	husk_idmap_load(&idmap);

	if (streq(cmd, "load")) {
		if (husk_image_load(&store, &idmap, 0, quiet, emit, NULL, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (streq(cmd, "import")) {
		char id[72];
		if (husk_image_import(&store, &idmap, 0, repo, changes, message, id, &err) < 0)
			return fail(&err);
		json_t *msg = json_pack("{s:s}", "status", id);
		emit(NULL, msg);
		json_decref(msg);
		return 0;
	}
	husk_error_set(&err, -EINVAL, "unknown husk-helper command \"%s\"", cmd);
	return fail(&err);
}
