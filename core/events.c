#include "events.h"
#include "json.h"
#include "log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

json_t *husk_event_container_attrs(const json_t *doc)
{
	const json_t *cfg = jobj(doc, "Config");
	json_t *a = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(jobj(cfg, "Labels"), k, v)
	{
		if (json_is_string(v))
			json_object_set(a, k, v);
	}
	const char *name = str_or(jstr(doc, "Name"), "");
	json_object_set_new(a, "image", json_string(str_or(jstr(doc, "Image"), "")));
	json_object_set_new(a, "name", json_string(name[0] == '/' ? name + 1 : name));
	return a;
}

static void rotate(const struct husk_store *s, const char *path)
{
	_cleanup_free_ char *lockp = husk_store_data_path(s, "events.lock");
	_cleanup_close_ int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return;
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > (off_t)HUSK_EVENTS_MAX_BYTES) {
		_cleanup_free_ char *old = xasprintf("%s.1", path);
		rename(path, old);
	}
}

void husk_event_emit(const struct husk_store *s, const char *type, const char *action,
		     const char *id, json_t *attrs)
{
	int64_t now = now_ns();
	if (!attrs)
		attrs = json_object();
	json_t *e = json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action",
			      action, "Actor", "ID", id, "Attributes", attrs, "scope", "local",
			      "time", (json_int_t)(now / 1000000000), "timeNano", (json_int_t)now);
	if (streq(type, "container")) {
		/* The deprecated top-level fields the docker CLI still reads. */
		json_object_set_new(e, "status", json_string(action));
		json_object_set_new(e, "id", json_string(id));
		json_object_set_new(e, "from", json_string(str_or(jstr(attrs, "image"), "")));
	}
	_cleanup_free_ char *line = json_compact(e);
	json_decref(e);
	size_t n = strlen(line);
	line = xrealloc(line, n + 2);
	line[n++] = '\n';
	_cleanup_free_ char *path = husk_store_data_path(s, "events.log");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	/* One write with O_APPEND: lines from concurrent writers never interleave. */
	if (fd < 0 || write_all(fd, line, n) < 0) {
		husk_log(LOG_WARNING, "cannot record event %s %s: %m", type, action);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)HUSK_EVENTS_MAX_BYTES)
		rotate(s, path);
}

int husk_events_open(struct husk_events_reader *r, const struct husk_store *s)
{
	memset(r, 0, sizeof *r);
	r->store = s;
	_cleanup_free_ char *old = husk_store_data_path(s, "events.log.1");
	_cleanup_free_ char *cur = husk_store_data_path(s, "events.log");
	r->f = fopen(old, "re");
	if (r->f) {
		r->on_rotated = true;
	} else {
		r->f = fopen(cur, "a+e"); /* create it, so followers have something to watch */
		if (!r->f)
			return -errno;
		rewind(r->f);
	}
	struct stat st;
	if (stat(cur, &st) == 0)
		r->ino = st.st_ino;
	return 0;
}

static int switch_to_current(struct husk_events_reader *r)
{
	_cleanup_free_ char *cur = husk_store_data_path(r->store, "events.log");
	FILE *f = fopen(cur, "a+e");
	if (!f)
		return -errno;
	rewind(f);
	fclose(r->f);
	r->f = f;
	r->on_rotated = false;
	struct stat st;
	if (fstat(fileno(f), &st) == 0)
		r->ino = st.st_ino;
	return 0;
}

int husk_events_seek_end(struct husk_events_reader *r)
{
	if (r->on_rotated) {
		int k = switch_to_current(r);
		if (k < 0)
			return k;
	}
	return fseek(r->f, 0, SEEK_END) < 0 ? -errno : 0;
}

int husk_events_next(struct husk_events_reader *r, json_t **event)
{
	for (;;) {
		long pos = ftell(r->f);
		ssize_t n = getline(&r->line, &r->cap, r->f);
		if (n < 0 || (n > 0 && r->line[n - 1] != '\n')) {
			clearerr(r->f);
			if (n > 0)
				fseek(r->f, pos, SEEK_SET);
			if (r->on_rotated) {
				if (switch_to_current(r) < 0)
					return 0;
				continue;
			}
			/* Rotated under us: what we read became events.log.1; the new file
			 * holds what came after. */
			_cleanup_free_ char *cur = husk_store_data_path(r->store, "events.log");
			struct stat st;
			if (n <= 0 && stat(cur, &st) == 0 && st.st_ino != r->ino) {
				if (switch_to_current(r) < 0)
					return 0;
				continue;
			}
			return 0;
		}
		json_t *e = json_loadb(r->line, (size_t)n, 0, NULL);
		if (json_is_object(e)) {
			*event = e;
			return 1;
		}
		json_decref(e);
	}
}

void husk_events_close(struct husk_events_reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->line);
	memset(r, 0, sizeof *r);
}

int husk_event_last_exit(const struct husk_store *s, const char *id)
{
	struct husk_events_reader r;
	int code = -1;
	if (husk_events_open(&r, s) < 0)
		return -1;
	json_t *e;
	while (husk_events_next(&r, &e) > 0) {
		if (streq(jstr(e, "Action"), "die") && streq(jstr(jobj(e, "Actor"), "ID"), id)) {
			const char *c = jstr(jobj(jobj(e, "Actor"), "Attributes"), "exitCode");
			if (c)
				code = atoi(c);
		}
		json_decref(e);
	}
	husk_events_close(&r);
	return code;
}
