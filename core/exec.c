#include "exec.h"
#include "caps.h"
#include "fs.h"
#include "ids.h"
#include "json.h"
#include "spec.h"

#include <dirent.h>

static char *exec_dir(const struct husk_store *s, const char *cid)
{
	return husk_store_run_path(s, "containers/%s/exec", cid);
}

static char *exec_path(const struct husk_store *s, const char *cid, const char *id)
{
	return husk_store_run_path(s, "containers/%s/exec/%s.json", cid, id);
}

static const char *kind(const json_t *v)
{
	return json_is_string(v)    ? "string"
	       : json_is_boolean(v) ? "bool"
	       : json_is_array(v)   ? "array"
	       : json_is_object(v)  ? "object"
				    : "number";
}

/* Go's decoding errors for the fields of Docker's ExecOptions. */
static int check_types(const json_t *body, struct husk_error *err)
{
	static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr",
					    "Tty",	   "Privileged",   "Detach"};
	static const char *const strs[] = {"User", "WorkingDir", "DetachKeys"};
	const char *bad = NULL, *type = NULL;
	for (size_t i = 0; !bad && i < ARRAY_SIZE(bools); i++) {
		json_t *v = json_object_get(body, bools[i]);
		if (v && !json_is_null(v) && !json_is_boolean(v))
			bad = bools[i], type = "bool";
	}
	for (size_t i = 0; !bad && i < ARRAY_SIZE(strs); i++) {
		json_t *v = json_object_get(body, strs[i]);
		if (v && !json_is_null(v) && !json_is_string(v))
			bad = strs[i], type = "string";
	}
	json_t *cmd = json_object_get(body, "Cmd"), *env = json_object_get(body, "Env");
	if (!bad && cmd && !json_is_null(cmd) && !json_is_string(cmd) && !json_is_strings(cmd))
		bad = "Cmd", type = "[]string";
	if (!bad && env && !json_is_null(env) && !json_is_strings(env))
		bad = "Env", type = "[]string";
	if (bad)
		return husk_error_set(err, -EINVAL,
				      "json: cannot unmarshal %s into Go struct field "
				      "ExecOptions.%s of type %s",
				      kind(json_object_get(body, bad)), bad, type);
	json_t *cs = json_object_get(body, "ConsoleSize");
	size_t i;
	json_t *e;
	if (cs && !json_is_null(cs)) {
		if (!json_is_array(cs) || json_array_size(cs) != 2)
			return husk_error_set(err, -EINVAL,
					      "json: cannot unmarshal ConsoleSize: an array of "
					      "[height, width] is expected");
		json_array_foreach(cs, i, e)
		{
			if (!json_is_integer(e) || json_integer_value(e) < 0 ||
			    json_integer_value(e) > 65535)
				return husk_error_set(err, -EINVAL,
						      "json: cannot unmarshal ConsoleSize: sizes "
						      "are numbers from 0 to 65535");
		}
	}
	return 0;
}

int husk_exec_new(const json_t *body, const char *container_id, json_t **rec,
		  struct husk_error *err)
{
	*rec = NULL;
	int r = check_types(body, err);
	if (r < 0)
		return r;
	json_t *cmd = json_object_get(body, "Cmd");
	json_t *argv = json_is_string(cmd)  ? json_pack("[O]", cmd)
		       : json_is_array(cmd) ? json_copy(cmd)
					    : json_array();
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		return husk_error_set(err, -EINVAL, "No exec command specified");
	}
	char id[HUSK_ID_LEN + 1];
	husk_id_new(id);
	json_t *env = json_object_get(body, "Env");
	json_t *cs = json_object_get(body, "ConsoleSize");
	*rec = json_pack(
	    "{s:s, s:s, s:o, s:o, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:s, s:O, s:I, "
	    "s:b, s:b, s:i, s:n}",
	    "ID", id, "ContainerID", container_id, "Cmd", argv, "Env",
	    json_is_array(env) ? json_copy(env) : json_array(), "User",
	    str_or(jstr(body, "User"), ""), "WorkingDir", str_or(jstr(body, "WorkingDir"), ""),
	    "Tty", jbool(body, "Tty", false), "Privileged", jbool(body, "Privileged", false),
	    "AttachStdin", jbool(body, "AttachStdin", false), "AttachStdout",
	    jbool(body, "AttachStdout", false), "AttachStderr", jbool(body, "AttachStderr", false),
	    "DetachKeys", str_or(jstr(body, "DetachKeys"), ""), "ConsoleSize",
	    json_is_array(cs) ? cs : json_null(), "Created", (json_int_t)now_ns(), "Started", 0,
	    "Running", 0, "Pid", 0, "ExitCode");
	return 0;
}

int husk_exec_save(const struct husk_store *s, const json_t *rec)
{
	const char *cid = jstr(rec, "ContainerID"), *id = jstr(rec, "ID");
	if (!cid || !id)
		return -EINVAL;
	_cleanup_free_ char *path = exec_path(s, cid, id);
	int r = json_store_path(path, rec, false);
	if (r == -ENOENT) {
		_cleanup_free_ char *dir = exec_dir(s, cid);
		mkdir_p(dir, 0700);
		r = json_store_path(path, rec, false);
	}
	return r;
}

json_t *husk_exec_load(const struct husk_store *s, const char *cid, const char *id)
{
	if (!husk_is_full_id(cid) || !husk_is_full_id(id))
		return NULL;
	_cleanup_free_ char *path = exec_path(s, cid, id);
	return json_load_path(path, 1 << 20, NULL);
}

int husk_exec_find(const struct husk_store *s, const char *id, json_t **rec, struct husk_error *err)
{
	*rec = NULL;
	/* Exec ids are only ever full: anything else (a path!) is no exec. */
	if (!husk_is_full_id(id))
		return husk_error_set(err, -ENOENT, "No such exec instance: %s", str_or(id, ""));
	_cleanup_free_ char *dir = husk_store_run_path(s, "containers");
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && !*rec && (de = readdir(d)))
		if (husk_is_full_id(de->d_name))
			*rec = husk_exec_load(s, de->d_name, id);
	if (d)
		closedir(d);
	return *rec ? 0 : husk_error_set(err, -ENOENT, "No such exec instance: %s", id);
}

void husk_exec_remove(const struct husk_store *s, const char *cid, const char *id)
{
	if (id) {
		_cleanup_free_ char *path = exec_path(s, cid, id);
		unlink(path);
		return;
	}
	_cleanup_free_ char *dir = exec_dir(s, cid);
	rm_rf(dir);
}

void husk_exec_spec(const struct husk_spec *spec, const json_t *config, const json_t *rec,
		    unsigned short rows, unsigned short cols, struct husk_spec *out)
{
	*out = *spec;
	json_to_strv(jarr(rec, "Cmd"), &out->argv);
	/* Docker merges the exec's Env after the container's, with the same rules. */
	_cleanup_strv_ char **env = NULL;
	json_to_strv(jarr(config, "Env"), &env);
	size_t i;
	json_t *e;
	json_array_foreach(jarr(rec, "Env"), i, e)
	{
		env = strv_push(env, json_string_value(e));
	}
	out->tty = jbool(rec, "Tty", false);
	out->env = husk_env_build(env, spec->hostname, out->tty);
	if (!str_empty(jstr(rec, "User")))
		out->user = (char *)jstr(rec, "User");
	if (!str_empty(jstr(rec, "WorkingDir")))
		out->cwd = (char *)jstr(rec, "WorkingDir");
	out->open_stdin = jbool(rec, "AttachStdin", false);
	out->rows = rows;
	out->cols = cols;
	if (jbool(rec, "Privileged", false)) {
		out->privileged = true;
		out->caps = husk_caps_all();
	}
}

void husk_exec_spec_free(struct husk_spec *out)
{
	strv_free(out->argv);
	strv_free(out->env);
	out->argv = out->env = NULL;
}
