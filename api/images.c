/* /images: list, inspect, tag, delete, import (POST /images/create?fromSrc=-) and load.
 *
 * Import and load run in husk-helper, a process of their own that writes JSON lines into a
 * pipe: the handler waits for the first line, so an error found before anything was said (not
 * a tar, bad changes) is a plain HTTP error, and one found later goes into the 200 stream as
 * Docker's errorDetail. */
#include "api.h"
#include "job.h"
#include "router.h"

#include "core/image.h"
#include "core/reference.h"

#include <fnmatch.h>
#include <poll.h>
#include <strings.h>


/* --- streamed jobs (import, load), done by husk-helper --- */

/* Runs husk-helper on the request body and answers: an HTTP error when it failed before
 * saying anything, else the stream of its lines (a later failure is in the stream, as Docker
 * sends it). */
static enum MHD_Result job_run(struct req *r, char **argv)
{
	struct husk_error err = {0};
	struct job *j = job_start(argv, r->upload_fd, &err);
	if (!j)
		return reply_error(r, &err);
	enum MHD_Result ret;
	json_t *head = job_head(r, j, &ret);
	if (!head)
		return ret;
	json_decref(head);
	return reply_stream(r, MHD_HTTP_OK, "application/json", job_read, j, job_release);
}

/* Both take a tarball body; an empty one is a client mistake worth saying plainly. */
static bool need_body(struct req *r, const char *what)
{
	if (r->upload_fd >= 0 && r->body_len > 0)
		return true;
	reply_errorf(r, -EINVAL, "%s: the request body is empty (send a tar archive)", what);
	return false;
}

/* --- POST /images/load --- */

enum MHD_Result h_images_load(struct req *r)
{
	struct husk_error err = {0};
	bool quiet;
	if (query_bool_strict(r, "quiet", true, &quiet, &err) < 0)
		return reply_error(r, &err);
	if (!need_body(r, "load"))
		return MHD_YES;
	_cleanup_strv_ char **argv = job_argv(r, "load");
	if (quiet)
		argv = strv_push(argv, "--quiet");
	return job_run(r, argv);
}

/* --- POST /images/create --- */

/* A stream of one prepared line, newline included (cls: a char ** holding it), sent in as many
 * blocks as it takes: an imported URL is the client's, of any length. */
static ssize_t one_line(void *cls, uint64_t pos, char *buf, size_t max)
{
	char **line = cls;
	size_t n = strlen(*line);
	if (pos >= n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t k = n - pos < max ? n - pos : max;
	memcpy(buf, *line + pos, k);
	return (ssize_t)k;
}

static void free_line(void *cls)
{
	char **line = cls;
	free(*line);
	free(line);
}

/* A 200 stream of one JSON line, msg (taken). */
static enum MHD_Result reply_one_line(struct req *r, json_t *msg)
{
	_cleanup_free_ char *s = json_compact(msg);
	json_decref(msg);
	char **line = xcalloc(1, sizeof(char *));
	*line = xasprintf("%s\n", s);
	return reply_stream(r, MHD_HTTP_OK, "application/json", one_line, line, free_line);
}

static enum MHD_Result import_image(struct req *r, const char *src)
{
	if (!streq(src, "-")) {
		_cleanup_free_ char *text = xasprintf(
		    "importing from a URL is not supported by husk (it fetches nothing from the "
		    "network): download %s and run docker import FILE",
		    src);
		/* The URL is the client's: maybe not UTF-8 (fromSrc=%FF), which json_pack's "s"
		 * refuses. */
		json_t *t = json_string_lossy(text);
		return reply_one_line(r, json_pack("{s:{s:O}, s:o}", "errorDetail", "message", t,
						   "error", t));
	}
	if (!need_body(r, "import"))
		return MHD_YES;
	const char *repo = query(r, "repo"), *tag = query(r, "tag");
	const char *msg = query(r, "message");
	_cleanup_strv_ char **argv = job_argv(r, "import");
	if (!str_empty(repo)) {
		_cleanup_free_ char *rt = str_empty(tag) ? xstrdup(repo) : xasprintf("%s:%s", repo, tag);
		argv = strv_push(argv, "--repo");
		argv = strv_push(argv, rt);
	}
	argv = strv_push(argv, "--message");
	argv = strv_push(argv, str_empty(msg) ? "Imported from -" : msg);
	_cleanup_strv_ char **changes = query_all(r, "changes");
	for (size_t i = 0; changes[i]; i++) {
		argv = strv_push(argv, "--change");
		argv = strv_push(argv, changes[i]);
	}
	return job_run(r, argv);
}

/* Pulling needs a registry client husk does not have yet. The answer is an HTTP error before
 * any stream, so `docker pull` and `docker run` of a missing image print it plainly. */
static enum MHD_Result pull_image(struct req *r, const char *from)
{
	const char *tag = query(r, "tag");
	_cleanup_free_ char *name =
	    str_empty(tag) || strchr(from, '@') ? xstrdup(from) : xasprintf("%s:%s", from, tag);
	struct husk_ref ref;
	struct husk_error err = {0};
	if (husk_ref_parse(name, &ref, &err) < 0)
		return reply_error(r, &err);
	_cleanup_free_ char *full = husk_ref_full(&ref);
	_cleanup_free_ char *familiar = husk_ref_familiar(&ref);
	husk_ref_clear(&ref);
	/* What is here already is used as it is, and said so (not "up to date": no registry
	 * was asked). The docker CLI pulls after any 404 of a create, e.g. an unknown network:
	 * it then creates again and shows the real error. */
	_cleanup_image_ struct husk_image *img = NULL;
	if (husk_image_find(&r->api->store, familiar, &img, NULL) == 0) {
		json_t *msg = json_pack("{s:s}", "status", "");
		json_object_set_new(msg, "status",
				    json_sprintf("husk does not reach registries: %s is the local image "
						 "(%.19s), used as it is",
						 familiar, img->id));
		return reply_one_line(r, msg);
	}
	return reply_errorf(r, -EOPNOTSUPP,
			    "husk cannot pull %s: pulling from registries is not implemented yet; "
			    "load the image with docker load (a docker save archive) or docker "
			    "import",
			    full);
}

enum MHD_Result h_images_create(struct req *r)
{
	const char *from = query(r, "fromImage"), *src = query(r, "fromSrc");
	if (!str_empty(from))
		return pull_image(r, from);
	if (!str_empty(src))
		return import_image(r, src);
	return reply_errorf(r, -EINVAL, "either fromImage or fromSrc is required");
}

/* --- GET /images/json --- */

struct filters {
	char **reference, **label, **dangling;
	int64_t before_ns, since_ns, until_ns; /* 0: not set */
};

static void filters_clear(struct filters *f)
{
	strv_free(f->reference);
	strv_free(f->label);
	strv_free(f->dangling);
}

/* The values of one filter key, map form {"v":true} or list form ["v"]. */
static int filter_values(json_t *v, char ***out)
{
	if (json_is_array(v))
		return json_to_strv(v, out);
	if (!json_is_object(v))
		return -EINVAL;
	char **s = xcalloc(1, sizeof(char *));
	const char *k;
	json_t *b;
	json_object_foreach(v, k, b)
	{
		if (json_is_true(b))
			s = strv_push(s, k);
	}
	*out = s;
	return 0;
}

static int image_time_filter(struct req *r, char **values, int64_t *out, struct husk_error *err)
{
	for (size_t i = 0; values[i]; i++) {
		_cleanup_image_ struct husk_image *img = NULL;
		int k = husk_image_find(&r->api->store, values[i], &img, err);
		if (k < 0)
			return k;
		*out = img->created_ns;
	}
	return 0;
}

static int filter_key(struct req *r, struct filters *f, const char *key, char **values,
		      struct husk_error *err)
{
	if (streq(key, "reference") || streq(key, "label") || streq(key, "dangling")) {
		char ***dst = streq(key, "reference") ? &f->reference
			      : streq(key, "label")   ? &f->label
						      : &f->dangling;
		for (size_t i = 0; values[i]; i++)
			*dst = strv_push(*dst, values[i]);
		return 0;
	}
	if (streq(key, "before"))
		return image_time_filter(r, values, &f->before_ns, err);
	if (streq(key, "since"))
		return image_time_filter(r, values, &f->since_ns, err);
	if (streq(key, "until")) {
		for (size_t i = 0; values[i]; i++)
			if (parse_timestamp_arg(values[i], &f->until_ns) < 0)
				return husk_error_set(err, -EINVAL, "invalid filter 'until=%s'",
						      values[i]);
		return 0;
	}
	return husk_error_set(err, -EINVAL, "invalid filter '%s'", key);
}

static int parse_filters(struct req *r, struct filters *f, struct husk_error *err)
{
	const char *s = query(r, "filters");
	if (str_empty(s))
		return 0;
	json_t *j = json_loads(s, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return husk_error_set(err, -EINVAL, "invalid filter: %s", s);
	}
	const char *key;
	json_t *v;
	int k = 0;
	json_object_foreach(j, key, v)
	{
		_cleanup_strv_ char **values = NULL;
		k = filter_values(v, &values);
		if (k < 0) {
			k = husk_error_set(err, -EINVAL, "invalid filter: %s", s);
			break;
		}
		k = filter_key(r, f, key, values, err);
		if (k < 0)
			break;
	}
	json_decref(j);
	return k;
}

/* dangling=true|false (Docker takes 1/0 too); NULL when not filtered. */
static int dangling_filter(const struct filters *f, const bool **out, bool *val,
			   struct husk_error *err)
{
	*out = NULL;
	for (size_t i = 0; f->dangling && f->dangling[i]; i++) {
		const char *v = f->dangling[i];
		if (strcasecmp(v, "true") == 0 || streq(v, "1"))
			*val = true;
		else if (strcasecmp(v, "false") == 0 || streq(v, "0"))
			*val = false;
		else
			return husk_error_set(err, -EINVAL, "invalid filter 'dangling=%s'", v);
		*out = val;
	}
	return 0;
}

static json_t *image_labels(const struct husk_image *img)
{
	json_t *l = jobj(jobj(img->config, "config"), "Labels");
	return l ? json_deep_copy(l) : json_object();
}

static bool label_match(const struct husk_image *img, char *const *labels)
{
	json_t *l = jobj(jobj(img->config, "config"), "Labels");
	for (size_t i = 0; labels && labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		_cleanup_free_ char *k =
		    eq ? xstrndup(labels[i], (size_t)(eq - labels[i])) : xstrdup(labels[i]);
		const char *v = jstr(l, k);
		if (!v || (eq && !streq(v, eq + 1)))
			return false;
	}
	return true;
}

/* Docker's FamiliarMatch: the pattern against "name:tag", then against "name". */
static bool reference_match(char *const *patterns, const char *ref)
{
	_cleanup_free_ char *name = xstrdup(ref);
	char *slash = strrchr(name, '/'), *cut = strchr(slash ? slash : name, '@');
	if (!cut)
		cut = strrchr(slash ? slash : name, ':');
	if (cut)
		*cut = 0;
	for (size_t i = 0; patterns[i]; i++)
		if (fnmatch(patterns[i], ref, FNM_PATHNAME) == 0 ||
		    fnmatch(patterns[i], name, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static json_t *matching_refs(char *const *refs, char *const *patterns)
{
	json_t *a = json_array();
	for (size_t i = 0; refs[i]; i++)
		if (!patterns || reference_match(patterns, refs[i]))
			json_array_append_new(a, json_string(refs[i]));
	return a;
}

/* The ImageSummary of img, or NULL when the filters leave it out. */
static json_t *summary(struct req *r, const struct husk_image *img, const struct filters *f,
		       const bool *dangling)
{
	if ((f->before_ns && img->created_ns >= f->before_ns) ||
	    (f->since_ns && img->created_ns <= f->since_ns) ||
	    (f->until_ns && img->created_ns > f->until_ns) || !label_match(img, f->label))
		return NULL;
	json_t *tags = matching_refs(img->repo_tags, f->reference);
	json_t *digests = matching_refs(img->repo_digests, f->reference);
	bool untagged = !json_array_size(tags) && !json_array_size(digests);
	if ((untagged && (f->reference || (dangling && !*dangling))) ||
	    (dangling && *dangling && json_array_size(tags))) {
		json_decref(tags);
		json_decref(digests);
		return NULL;
	}
	if (untagged && req_api_before(r, 43)) {
		json_array_append_new(tags, json_string("<none>:<none>"));
		json_array_append_new(digests, json_string("<none>@<none>"));
	}
	json_t *s =
	    json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:i, s:o, s:i}", "Id", img->id, "ParentId",
		      "", "RepoTags", tags, "RepoDigests", digests, "Created",
		      (json_int_t)(img->created_ns / 1000000000), "Size", (json_int_t)img->size,
		      "SharedSize", -1, "Labels", image_labels(img), "Containers", -1);
	if (req_api_before(r, 44))
		json_object_set_new(s, "VirtualSize", json_integer(img->size));
	return s;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct husk_image *x = *(struct husk_image *const *)a;
	const struct husk_image *y = *(struct husk_image *const *)b;
	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? 1 : -1;
	return strcmp(x->id, y->id);
}

enum MHD_Result h_images_list(struct req *r)
{
	struct husk_error err = {0};
	struct filters f = {0};
	bool dval;
	const bool *dangling;
	if (parse_filters(r, &f, &err) < 0 || dangling_filter(&f, &dangling, &dval, &err) < 0) {
		filters_clear(&f);
		return reply_error(r, &err);
	}
	struct husk_image **imgs;
	size_t n;
	if (husk_image_list(&r->api->store, &imgs, &n) < 0) {
		filters_clear(&f);
		return reply_errorf(r, -EIO, "cannot read the image store");
	}
	qsort(imgs, n, sizeof *imgs, by_created_desc);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s = summary(r, imgs[i], &f, dangling);
		if (s)
			json_array_append_new(out, s);
	}
	husk_image_list_free(imgs, n);
	filters_clear(&f);
	return reply_json(r, MHD_HTTP_OK, out);
}

/* --- GET /images/{name}/json --- */

/* container.Config members Docker printed (zero or null) before API 1.50 trimmed them. */
static json_t *legacy_config(void)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:n, s:s, "
			 "s:n, s:n, s:n}",
			 "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0,
			 "AttachStdout", 0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0,
			 "StdinOnce", 0, "Env", "Cmd", "Image", "", "Volumes", "WorkingDir", "",
			 "Entrypoint", "OnBuild", "Labels");
}

static json_t *inspect_config(struct req *r, const json_t *cfg)
{
	json_t *c = req_api_before(r, 50) ? legacy_config()
				      : json_pack("{s:n, s:n, s:n, s:n, s:n, s:s, s:n, s:s}", "Cmd",
						  "Entrypoint", "Env", "Labels", "OnBuild", "User",
						  "", "Volumes", "WorkingDir", "");
	if (json_is_object(cfg))
		json_object_update(c, (json_t *)cfg);
	return c;
}

static json_t *graph_driver(struct req *r, const struct husk_image *img)
{
	json_t *data = json_object();
	size_t n = strv_length(img->layers);
	if (n > 0) {
		_cleanup_free_ char *upper =
		    husk_image_layer_dir(&r->api->store, img->layers[n - 1]);
		json_object_set_new(data, "UpperDir", json_string(upper));
	}
	if (n > 1) {
		_cleanup_free_ char *lower = NULL;
		for (size_t i = n - 1; i-- > 0;) {
			_cleanup_free_ char *d =
			    husk_image_layer_dir(&r->api->store, img->layers[i]);
			char *l = lower ? xasprintf("%s:%s", lower, d) : xstrdup(d);
			free(lower);
			lower = l;
		}
		json_object_set_new(data, "LowerDir", json_string(lower));
	}
	return json_pack("{s:s, s:o}", "Name", "overlay", "Data", data);
}

static void set_str_or_empty(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(str_or(v, "")));
}

static json_t *inspect(struct req *r, const struct husk_image *img)
{
	const json_t *c = img->config;
	json_t *o = json_object();
	char t[40];
	json_object_set_new(o, "Id", json_string(img->id));
	json_object_set_new(o, "RepoTags", json_strv(img->repo_tags));
	json_object_set_new(o, "RepoDigests", json_strv(img->repo_digests));
	json_object_set_new(o, "Parent", json_string(""));
	set_str_or_empty(o, "Comment", jstr(c, "comment"));
	if (img->created_ns)
		json_object_set_new(o, "Created", json_string(format_time_ns(img->created_ns, t)));
	if (req_api_before(r, 45)) {
		set_str_or_empty(o, "Container", jstr(c, "container"));
		json_object_set_new(o, "ContainerConfig",
				    inspect_config(r, jobj(c, "container_config")));
	}
	set_str_or_empty(o, "DockerVersion", jstr(c, "docker_version"));
	set_str_or_empty(o, "Author", jstr(c, "author"));
	json_object_set_new(o, "Config", inspect_config(r, jobj(c, "config")));
	set_str_or_empty(o, "Architecture", jstr(c, "architecture"));
	if (!str_empty(jstr(c, "variant")))
		json_object_set_new(o, "Variant", json_string(jstr(c, "variant")));
	set_str_or_empty(o, "Os", jstr(c, "os"));
	if (!str_empty(jstr(c, "os.version")))
		json_object_set_new(o, "OsVersion", json_string(jstr(c, "os.version")));
	json_object_set_new(o, "Size", json_integer(img->size));
	if (req_api_before(r, 44))
		json_object_set_new(o, "VirtualSize", json_integer(img->size));
	json_object_set_new(o, "GraphDriver", graph_driver(r, img));
	json_t *diffs = jarr(jobj(c, "rootfs"), "diff_ids");
	json_object_set_new(o, "RootFS",
			    json_pack("{s:s, s:O}", "Type",
				      str_or(jstr(jobj(c, "rootfs"), "type"), "layers"), "Layers",
				      diffs ? diffs : json_array()));
	json_object_set_new(o, "Metadata",
			    json_pack("{s:s}", "LastTagTime", format_time_ns(img->last_tag_ns, t)));
	return o;
}

enum MHD_Result h_image_inspect(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_image_ struct husk_image *img = NULL;
	if (husk_image_find(&r->api->store, r->params[0], &img, &err) < 0)
		return reply_error(r, &err);
	return reply_json(r, MHD_HTTP_OK, inspect(r, img));
}

/* --- POST /images/{name}/tag, DELETE /images/{name} --- */

enum MHD_Result h_image_tag(struct req *r)
{
	struct husk_error err = {0};
	if (husk_image_tag(&r->api->store, r->params[0], query(r, "repo"), query(r, "tag"), &err) <
	    0)
		return reply_error(r, &err);
	return reply_empty(r, MHD_HTTP_CREATED);
}

enum MHD_Result h_image_delete(struct req *r)
{
	struct husk_error err = {0};
	bool force, noprune;
	if (query_bool_strict(r, "force", false, &force, &err) < 0 ||
	    query_bool_strict(r, "noprune", false, &noprune, &err) < 0)
		return reply_error(r, &err);
	json_t *report = json_array();
	if (husk_image_remove(&r->api->store, &r->api->idmap, r->params[0], force, noprune, report,
			      &err) < 0) {
		json_decref(report);
		return reply_error(r, &err);
	}
	return reply_json(r, MHD_HTTP_OK, report);
}
