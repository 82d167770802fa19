/* Dockerfile instructions for docker import -c: a small part of BuildKit's dispatcher, with the
 * shell-word rules of its lexer (quotes, backslash escapes, variable expansion). */
#include "image_changes.h"
#include "json.h"

#include <ctype.h>
#include <strings.h>

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->s = xrealloc(b->s, b->cap);
	}
	b->s[b->n++] = c;
	b->s[b->n] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (s && *s)
		sb_putc(b, *s++);
}

static char *sb_take(struct sbuf *b)
{
	if (!b->s)
		return xstrdup("");
	char *s = b->s;
	b->s = NULL;
	b->n = b->cap = 0;
	return s;
}

/* The state the instructions of one change list share. */
struct changes {
	json_t *config;
	bool cmd_set; /* ENTRYPOINT resets Cmd unless CMD was given before it */
	struct husk_error *err;
};

static const char *env_lookup(const json_t *config, const char *name, size_t n)
{
	json_t *env = jarr(config, "Env"), *e;
	size_t i;
	const char *found = NULL;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			found = s + n + 1;
	}
	return found;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int read_word(struct changes *c, const char **pp, bool expand, bool in_braces,
		     struct sbuf *out);

/* After a "$": $NAME, ${NAME}, ${NAME:-word}, ${NAME:+word}. */
static int expand_var(struct changes *c, const char **pp, struct sbuf *out)
{
	const char *p = *pp;
	bool braces = *p == '{';
	if (braces)
		p++;
	const char *name = p;
	while (is_name_char(*p))
		p++;
	size_t n = (size_t)(p - name);
	if (n == 0) {
		if (braces)
			return husk_error_set(c->err, -EINVAL, "missing ':' in substitution");
		sb_putc(out, '$');
		*pp = p;
		return 0;
	}
	const char *val = env_lookup(c->config, name, n);
	if (braces && p[0] == ':' && (p[1] == '-' || p[1] == '+')) {
		char op = p[1];
		const char *w = p + 2;
		struct sbuf word = {0};
		int r = read_word(c, &w, true, true, &word);
		_cleanup_free_ char *alt = sb_take(&word);
		if (r < 0)
			return r;
		bool set = val && *val;
		sb_puts(out, op == '-' ? (set ? val : alt) : (set ? alt : ""));
		p = w;
	} else {
		sb_puts(out, val);
	}
	if (braces) {
		if (*p != '}')
			return husk_error_set(c->err, -EINVAL, "missing '}' in substitution");
		p++;
	}
	*pp = p;
	return 0;
}

/* A "$" expansion (when expanding) or one plain character. */
static int put_plain(struct changes *c, const char **pp, bool expand, struct sbuf *out)
{
	if (**pp == '$' && expand) {
		(*pp)++;
		return expand_var(c, pp, out);
	}
	sb_putc(out, *(*pp)++);
	return 0;
}

static int read_double_quoted(struct changes *c, const char **pp, bool expand, struct sbuf *out)
{
	const char *p = *pp;
	for (;;) {
		if (!*p)
			return husk_error_set(c->err, -EINVAL,
					      "unexpected end of statement while looking for "
					      "matching double-quote");
		if (*p == '"')
			break;
		if (*p == '\\' && (p[1] == '"' || p[1] == '$' || p[1] == '\\')) {
			sb_putc(out, p[1]);
			p += 2;
			continue;
		}
		int r = put_plain(c, &p, expand, out);
		if (r < 0)
			return r;
	}
	*pp = p + 1;
	return 0;
}

/* One shell word: stops at unquoted white space (or "}" inside ${...:-word}). */
static int read_word(struct changes *c, const char **pp, bool expand, bool in_braces,
		     struct sbuf *out)
{
	const char *p = *pp;
	while (*p && !isspace((unsigned char)*p) && !(in_braces && *p == '}')) {
		if (*p == '\\') {
			p++;
			if (*p)
				sb_putc(out, *p++);
		} else if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end)
				return husk_error_set(c->err, -EINVAL,
						      "unexpected end of statement while looking "
						      "for matching single-quote");
			for (p++; p < end; p++)
				sb_putc(out, *p);
			p++;
		} else {
			int r = *p == '"' ? (p++, read_double_quoted(c, &p, expand, out))
					  : put_plain(c, &p, expand, out);
			if (r < 0)
				return r;
		}
	}
	*pp = p;
	return 0;
}

static int split_words(struct changes *c, const char *s, bool expand, char ***out)
{
	char **v = xcalloc(1, sizeof(char *));
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		struct sbuf w = {0};
		int r = read_word(c, &s, expand, false, &w);
		_cleanup_free_ char *word = sb_take(&w);
		if (r < 0) {
			strv_free(v);
			return r;
		}
		v = strv_push(v, word);
	}
	*out = v;
	return 0;
}

/* The whole rest as one word, white space kept (USER, WORKDIR, legacy ENV values). */
static int process_word(struct changes *c, const char *s, char **out)
{
	struct sbuf b = {0};
	while (*s) {
		if (isspace((unsigned char)*s)) {
			sb_putc(&b, *s++);
			continue;
		}
		int r = read_word(c, &s, true, false, &b);
		if (r < 0) {
			free(sb_take(&b));
			return r;
		}
	}
	*out = sb_take(&b);
	return 0;
}

/* exec form (a JSON array of strings) or NULL for the shell form. */
static json_t *parse_json_form(const char *rest)
{
	if (rest[0] != '[')
		return NULL;
	json_t *j = json_loads(rest, JSON_DECODE_ANY, NULL);
	char **v = NULL;
	if (!json_is_array(j) || json_to_strv(j, &v) < 0) {
		json_decref(j);
		return NULL;
	}
	strv_free(v);
	return j;
}

static json_t *command_form(const char *rest)
{
	json_t *j = parse_json_form(rest);
	return j ? j : json_pack("[s,s,s]", "/bin/sh", "-c", rest);
}

static int do_cmd(struct changes *c, const char *rest)
{
	json_object_set_new(c->config, "Cmd", command_form(rest));
	c->cmd_set = true;
	return 0;
}

static int do_entrypoint(struct changes *c, const char *rest)
{
	json_object_set_new(c->config, "Entrypoint", command_form(rest));
	if (!c->cmd_set)
		json_object_set_new(c->config, "Cmd", json_null());
	return 0;
}

/* Words "k=v" (or the legacy "k v" with one pair), expanded with the Env from before. */
static int parse_pairs(struct changes *c, const char *inst, const char *rest, char ***keys,
		       char ***vals)
{
	_cleanup_strv_ char **words = NULL;
	int r = split_words(c, rest, true, &words);
	if (r < 0)
		return r;
	if (!words[0])
		return husk_error_set(c->err, -EINVAL, "%s requires at least one argument", inst);
	*keys = xcalloc(1, sizeof(char *));
	*vals = xcalloc(1, sizeof(char *));
	if (!strchr(words[0], '=')) {
		/* Legacy "ENV name value...": the value is the rest of the line. */
		const char *p = rest;
		while (isspace((unsigned char)*p))
			p++;
		p += strcspn(p, " \t");
		while (isspace((unsigned char)*p))
			p++;
		_cleanup_free_ char *v = NULL;
		if (!*p)
			return husk_error_set(c->err, -EINVAL, "%s must have two arguments", inst);
		r = process_word(c, p, &v);
		if (r < 0)
			return r;
		*keys = strv_push(*keys, words[0]);
		*vals = strv_push(*vals, v);
		return 0;
	}
	for (size_t i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq)
			return husk_error_set(
			    c->err, -EINVAL,
			    "Syntax error - can't find = in \"%s\". Must be of the "
			    "form: name=value",
			    words[i]);
		*eq = 0;
		if (!*words[i])
			return husk_error_set(c->err, -EINVAL, "%s names can not be blank", inst);
		*keys = strv_push(*keys, words[i]);
		*vals = strv_push(*vals, eq + 1);
	}
	return 0;
}

static void env_set(json_t *config, const char *k, const char *v)
{
	json_t *env = jarr(config, "Env");
	if (!env) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	_cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
	size_t i, n = strlen(k);
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, k, n) == 0 && s[n] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static int do_env(struct changes *c, const char *rest)
{
	_cleanup_strv_ char **keys = NULL, **vals = NULL;
	int r = parse_pairs(c, "ENV", rest, &keys, &vals);
	for (size_t i = 0; r == 0 && keys[i]; i++)
		env_set(c->config, keys[i], vals[i]);
	return r;
}

static json_t *object_member(json_t *config, const char *key)
{
	json_t *o = jobj(config, key);
	if (!o) {
		o = json_object();
		json_object_set_new(config, key, o);
	}
	return o;
}

static int do_label(struct changes *c, const char *rest)
{
	_cleanup_strv_ char **keys = NULL, **vals = NULL;
	int r = parse_pairs(c, "LABEL", rest, &keys, &vals);
	json_t *labels = r == 0 ? object_member(c->config, "Labels") : NULL;
	for (size_t i = 0; r == 0 && keys[i]; i++)
		json_object_set_new(labels, keys[i], json_string(vals[i]));
	return r;
}

static int parse_port(const char *s, unsigned *out)
{
	int64_t v;
	if (parse_int64(s, &v) < 0 || v < 0 || v > 65535)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* "80", "80/udp", "8000-8002/tcp" → one "port/proto" key each, as Docker expands ranges. */
static int add_port_spec(struct changes *c, json_t *ports, const char *spec)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *proto = strchr(s, '/');
	if (proto)
		*proto++ = 0;
	for (char *p = proto; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!proto || !*proto)
		proto = "tcp";
	char *dash = strchr(s, '-');
	if (dash)
		*dash++ = 0;
	unsigned lo, hi;
	if (parse_port(s, &lo) < 0 || parse_port(dash ? dash : s, &hi) < 0 || hi < lo)
		return husk_error_set(c->err, -EINVAL, "invalid containerPort: %s", spec);
	if (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp"))
		return husk_error_set(c->err, -EINVAL, "invalid proto: %s", proto);
	for (unsigned p = lo; p <= hi; p++) {
		char key[32];
		snprintf(key, sizeof key, "%u/%s", p, proto);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

static int do_expose(struct changes *c, const char *rest)
{
	_cleanup_strv_ char **words = NULL;
	int r = split_words(c, rest, true, &words);
	if (r < 0)
		return r;
	if (!words[0])
		return husk_error_set(c->err, -EINVAL, "EXPOSE requires at least one argument");
	json_t *ports = object_member(c->config, "ExposedPorts");
	for (size_t i = 0; r == 0 && words[i]; i++)
		r = add_port_spec(c, ports, words[i]);
	return r;
}

static int do_volume(struct changes *c, const char *rest)
{
	_cleanup_strv_ char **paths = NULL;
	json_t *j = parse_json_form(rest);
	int r = j ? json_to_strv(j, &paths) : split_words(c, rest, true, &paths);
	json_decref(j);
	if (r < 0)
		return r;
	if (!paths[0])
		return husk_error_set(c->err, -EINVAL, "VOLUME requires at least one argument");
	json_t *vols = object_member(c->config, "Volumes");
	for (size_t i = 0; paths[i]; i++) {
		const char *p = paths[i];
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return husk_error_set(c->err, -EINVAL,
					      "VOLUME specified can not be an empty string");
		json_object_set_new(vols, paths[i], json_object());
	}
	return 0;
}

/* Go's path.Clean of an absolute path. */
static char *clean_abs(const char *path)
{
	_cleanup_free_ char *s = xstrdup(path);
	char **parts = xcalloc(strlen(path) + 1, sizeof(char *));
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (streq(t, "."))
			continue;
		if (streq(t, "..")) {
			if (n)
				n--;
			continue;
		}
		parts[n++] = t;
	}
	struct sbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		sb_putc(&b, '/');
		sb_puts(&b, parts[i]);
	}
	free(parts);
	if (!b.s)
		sb_putc(&b, '/');
	return sb_take(&b);
}

static int do_workdir(struct changes *c, const char *rest)
{
	_cleanup_free_ char *dir = NULL;
	int r = process_word(c, rest, &dir);
	if (r < 0)
		return r;
	if (!*dir)
		return husk_error_set(c->err, -EINVAL, "WORKDIR requires exactly one argument");
	_cleanup_free_ char *joined =
	    dir[0] == '/' ? xstrdup(dir)
			  : xasprintf("/%s/%s", str_or(jstr(c->config, "WorkingDir"), ""), dir);
	_cleanup_free_ char *clean = clean_abs(joined);
	json_object_set_new(c->config, "WorkingDir", json_string(clean));
	return 0;
}

static int do_single(struct changes *c, const char *key, const char *inst, const char *rest)
{
	_cleanup_free_ char *v = NULL;
	int r = process_word(c, rest, &v);
	if (r < 0)
		return r;
	if (!*v)
		return husk_error_set(c->err, -EINVAL, "%s requires exactly one argument", inst);
	json_object_set_new(c->config, key, json_string(v));
	return 0;
}

static int do_user(struct changes *c, const char *rest)
{
	return do_single(c, "User", "USER", rest);
}

static int do_stopsignal(struct changes *c, const char *rest)
{
	return do_single(c, "StopSignal", "STOPSIGNAL", rest);
}

static int do_onbuild(struct changes *c, const char *rest)
{
	size_t n = strcspn(rest, " \t");
	_cleanup_free_ char *trigger = xstrndup(rest, n);
	for (char *p = trigger; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (!*trigger)
		return husk_error_set(c->err, -EINVAL, "ONBUILD requires at least one argument");
	if (streq(trigger, "ONBUILD") || streq(trigger, "FROM") || streq(trigger, "MAINTAINER"))
		return husk_error_set(c->err, -EINVAL, "%s isn't allowed as an ONBUILD trigger",
				      trigger);
	json_t *ob = jarr(c->config, "OnBuild");
	if (!ob) {
		ob = json_array();
		json_object_set_new(c->config, "OnBuild", ob);
	}
	json_array_append_new(ob, json_string(rest));
	return 0;
}

static int healthcheck_option(struct changes *c, json_t *hc, const char *opt)
{
	static const struct {
		const char *flag, *key;
	} durations[] = {{"interval", "Interval"},
			 {"timeout", "Timeout"},
			 {"start-period", "StartPeriod"},
			 {"start-interval", "StartInterval"}};
	const char *eq = strchr(opt, '=');
	_cleanup_free_ char *name =
	    xstrndup(opt + 2, eq ? (size_t)(eq - opt - 2) : strlen(opt + 2));
	const char *val = eq ? eq + 1 : "";
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
		if (!streq(name, durations[i].flag))
			continue;
		int64_t ns;
		if (parse_go_duration(val, &ns) < 0)
			return husk_error_set(c->err, -EINVAL, "time: invalid duration \"%s\"",
					      val);
		json_object_set_new(hc, durations[i].key, json_integer(ns));
		return 0;
	}
	if (streq(name, "retries")) {
		int64_t n;
		if (parse_int64(val, &n) < 0 || n < 0)
			return husk_error_set(c->err, -EINVAL, "--retries must be a number: %s",
					      val);
		json_object_set_new(hc, "Retries", json_integer(n));
		return 0;
	}
	return husk_error_set(c->err, -EINVAL, "Unknown flag: %s", name);
}

static int do_healthcheck(struct changes *c, const char *rest)
{
	json_t *hc = json_object();
	const char *p = rest;
	int r = 0;
	while (r == 0 && p[0] == '-' && p[1] == '-') {
		size_t n = strcspn(p, " \t");
		_cleanup_free_ char *opt = xstrndup(p, n);
		r = healthcheck_option(c, hc, opt);
		p += n;
		while (isspace((unsigned char)*p))
			p++;
	}
	size_t n = strcspn(p, " \t");
	const char *args = p + n;
	while (isspace((unsigned char)*args))
		args++;
	if (r == 0 && n == 4 && strncasecmp(p, "NONE", 4) == 0 && !*args) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else if (r == 0 && n == 3 && strncasecmp(p, "CMD", 3) == 0 && *args) {
		json_t *exec = parse_json_form(args);
		if (exec)
			json_array_insert_new(exec, 0, json_string("CMD"));
		json_object_set_new(hc, "Test",
				    exec ? exec : json_pack("[s,s]", "CMD-SHELL", args));
	} else if (r == 0) {
		r = husk_error_set(c->err, -EINVAL,
				   "Unknown type \"%.*s\" in HEALTHCHECK (try CMD)", (int)n, p);
	}
	if (r == 0)
		json_object_set(c->config, "Healthcheck", hc);
	json_decref(hc);
	return r;
}

static const struct {
	const char *name;
	int (*fn)(struct changes *c, const char *rest);
} instructions[] = {
    {"cmd", do_cmd},	     {"entrypoint", do_entrypoint},   {"env", do_env},
    {"expose", do_expose},   {"healthcheck", do_healthcheck}, {"label", do_label},
    {"onbuild", do_onbuild}, {"stopsignal", do_stopsignal},   {"user", do_user},
    {"volume", do_volume},   {"workdir", do_workdir},
};

static int apply_one(struct changes *c, const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#')
		return 0;
	size_t n = strcspn(line, " \t");
	_cleanup_free_ char *inst = xstrndup(line, n);
	for (char *p = inst; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	_cleanup_free_ char *rest = xstrdup(line + n);
	char *start = rest;
	while (isspace((unsigned char)*start))
		start++;
	size_t len = strlen(start);
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		start[--len] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(instructions); i++)
		if (streq(inst, instructions[i].name))
			return instructions[i].fn(c, start);
	return husk_error_set(c->err, -EINVAL, "%s is not a valid change command", inst);
}

int husk_image_apply_changes(json_t *config, char *const *changes, struct husk_error *err)
{
	struct changes c = {.config = config, .err = err};
	for (size_t i = 0; changes && changes[i]; i++) {
		/* Docker joins the changes into one Dockerfile: a change may hold several
		 * lines. */
		_cleanup_free_ char *all = xstrdup(changes[i]);
		char *save = NULL;
		for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			int r = apply_one(&c, l);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
