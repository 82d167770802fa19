/* GET /containers/{id}/top: what moby does (daemon/top_unix.go): the host's ps with the
 * client's ps_args, and only the lines of the container's processes kept. The container's
 * processes are those in the pid namespace of its pid 1 (core/procfs), exec'd ones included. */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/procfs.h"

#include <ctype.h>
#include <regex.h>
#include <sys/wait.h>

#define PS_OUTPUT_MAX (16u << 20)

/* moby's validatePSArgs: "-o user=PID" would rename the column we look for. */
static int check_ps_args(const char *args, struct husk_error *err)
{
	regex_t re;
	regmatch_t m[3];
	if (regcomp(&re, "[[:space:]]+([^[:space:]]*)=[[:space:]]*(PID[^[:space:]]*)",
		    REG_EXTENDED) != 0)
		return husk_error_set(err, -EIO, "regcomp");
	int r = 0;
	for (const char *p = args; r == 0 && regexec(&re, p, 3, m, 0) == 0; p += m[0].rm_eo) {
		_cleanup_free_ char *k =
		    xstrndup(p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
		_cleanup_free_ char *v =
		    xstrndup(p + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so));
		if (!streq(k, "pid"))
			r = husk_error_set(err, -EIO, "specifying \"%s=%s\" is not allowed", k, v);
	}
	regfree(&re);
	return r;
}

static char **split_fields(const char *line)
{
	char **v = xcalloc(1, sizeof(char *));
	for (const char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		if (!n)
			break;
		_cleanup_free_ char *f = xstrndup(p, n);
		v = strv_push(v, f);
		p += n;
	}
	return v;
}

/* ps [ps_args] [-q PIDS]: moby asks ps for the pids and, when that fails (some options can't
 * go with -q), asks again for everything and filters. */
static int run_ps(const char *ps_args, const pid_t *pids, size_t n, char **out,
		  struct husk_error *err)
{
	_cleanup_strv_ char **args = split_fields(ps_args);
	_cleanup_strv_ char **argv = strv_push(NULL, "ps");
	for (size_t i = 0; args[i]; i++)
		argv = strv_push(argv, args[i]);
	_cleanup_free_ char *q = xcalloc(1, 3 + n * 12);
	char *p = q + sprintf(q, "-q");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%d", i ? "," : "", (int)pids[i]);
	argv = strv_push(argv, q);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt == 1) {
			free(argv[strv_length(argv) - 1]);
			argv[strv_length(argv) - 1] = NULL;
		}
		_cleanup_free_ char *errout = NULL;
		int status = 0;
		free(*out);
		*out = NULL;
		int r = run_capture(argv, PS_OUTPUT_MAX, out, &errout, &status);
		if (r < 0)
			return husk_error_sys(err, r, "ps");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		if (attempt == 1) {
			errout[strcspn(errout, "\n")] = 0;
			return husk_error_set(err, -EIO, "ps: %s",
					      *errout ? errout : "exit status 1");
		}
	}
	return 0;
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* One row: as many fields as titles, the overhanging ones joined into the last (CMD). */
static json_t *row(char **f, size_t titles)
{
	json_t *a = json_array();
	size_t nf = strv_length(f);
	for (size_t i = 0; i < nf && i + 1 < titles; i++)
		json_array_append_new(a, json_string(f[i]));
	size_t len = 1;
	for (size_t i = titles - 1; i < nf; i++)
		len += strlen(f[i]) + 1;
	_cleanup_free_ char *last = xcalloc(1, len);
	for (size_t i = titles - 1; i < nf; i++) {
		if (i > titles - 1)
			strcat(last, " ");
		strcat(last, f[i]);
	}
	json_array_append_new(a, json_string(last));
	return a;
}

/* moby's parsePSOutput: lines whose PID is the container's; thread lines ("-" as PID, with
 * ps -m) follow the process they belong to. */
static int parse_ps(char *output, const pid_t *pids, size_t n, json_t **out, struct husk_error *err)
{
	char *save = NULL;
	char *line = strtok_r(output, "\n", &save);
	_cleanup_strv_ char **titles = split_fields(str_or(line, ""));
	size_t nt = strv_length(titles), pid_col = nt;
	for (size_t i = 0; i < nt && pid_col == nt; i++)
		if (streq(titles[i], "PID"))
			pid_col = i;
	if (pid_col == nt)
		return husk_error_set(err, -EIO, "Couldn't find PID field in ps output");
	json_t *procs = json_array();
	bool last_kept = false;
	while ((line = strtok_r(NULL, "\n", &save))) {
		_cleanup_strv_ char **f = split_fields(line);
		if (strv_length(f) <= pid_col)
			continue;
		if (streq(f[pid_col], "-")) {
			if (last_kept)
				json_array_append_new(procs, row(f, nt));
			continue;
		}
		char *end;
		long pid = strtol(f[pid_col], &end, 10);
		if (*end) {
			json_decref(procs);
			return husk_error_set(err, -EIO, "Unexpected pid '%s'", f[pid_col]);
		}
		last_kept = has_pid(pids, n, pid);
		if (last_kept)
			json_array_append_new(procs, row(f, nt));
	}
	*out = json_pack("{s:o, s:o}", "Titles", json_strv(titles), "Processes", procs);
	return 0;
}

enum MHD_Result h_container_top(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(&r->api->store, r->params[0], &c, &err) < 0)
		return reply_error(r, &err);
	enum husk_status st = c->state.status;
	if (st == HUSK_RESTARTING)
		return reply_errorf(
		    r, -EBUSY, "Container %s is restarting, wait until the container is running",
		    c->id);
	if (st != HUSK_RUNNING && st != HUSK_PAUSED)
		return reply_errorf(r, -EBUSY, "Container %s is not running", c->id);
	const char *ps_args = query(r, "ps_args");
	if (str_empty(ps_args))
		ps_args = "-ef";
	if (check_ps_args(ps_args, &err) < 0)
		return reply_error(r, &err);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int k = husk_proc_ns_pids(c->state.pid, &pids, &n);
	if (k < 0)
		return reply_errorf(r, -EIO, "cannot list the container's processes: %s",
				    strerror(-k));
	_cleanup_free_ char *out = NULL;
	json_t *body = NULL;
	if (run_ps(ps_args, pids, n, &out, &err) < 0 || parse_ps(out, pids, n, &body, &err) < 0)
		return reply_error(r, &err);
	return reply_json(r, MHD_HTTP_OK, body);
}
