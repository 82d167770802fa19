/* GET /events: the events log, replayed from ?since= and followed until ?until= or until the
 * client leaves. Events that monitors recorded while no API ran are in the same log. */
#include "api.h"
#include "router.h"

#include "core/events.h"
#include "core/filters.h"
#include "core/json.h"

#include <poll.h>
#include <sys/inotify.h>

struct events {
	struct api *api;
	struct husk_events_reader reader;
	struct husk_filters filters;
	int64_t since, until;
	bool follow;
	int client_fd;
	int ino;
	char *pending;
	size_t plen, poff;
};

static void events_free(void *cls)
{
	struct events *e = cls;
	husk_events_close(&e->reader);
	husk_filters_clear(&e->filters);
	if (e->ino >= 0)
		close(e->ino);
	free(e->pending);
	free(e);
}

static bool any_equal(json_t *want, const char *a, const char *b)
{
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w)
	{
		const char *s = json_string_value(w);
		if ((a && streq(s, a)) || (b && streq(s, b)))
			return true;
	}
	return false;
}

static bool action_matches(json_t *want, const char *action)
{
	/* "health_status" matches "health_status: healthy", as in Docker. */
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w)
	{
		const char *s = json_string_value(w);
		size_t n = strlen(s);
		if (strncmp(action, s, n) == 0 && (action[n] == 0 || action[n] == ':'))
			return true;
	}
	return false;
}

static bool id_matches(json_t *want, const char *id, const char *name)
{
	size_t i;
	json_t *w;
	json_array_foreach(want, i, w)
	{
		const char *s = json_string_value(w);
		if ((name && streq(s, name)) || (id && *s && str_startswith(id, s)))
			return true;
	}
	return false;
}

static bool event_matches(const struct events *e, json_t *ev)
{
	const char *type = str_or(jstr(ev, "Type"), "");
	const char *action = str_or(jstr(ev, "Action"), "");
	json_t *actor = jobj(ev, "Actor");
	json_t *attrs = jobj(actor, "Attributes");
	const char *id = jstr(actor, "ID");
	json_t *w;
	if ((w = husk_filters_get(&e->filters, "type")) && !any_equal(w, type, NULL))
		return false;
	if ((w = husk_filters_get(&e->filters, "event")) && !action_matches(w, action))
		return false;
	if ((w = husk_filters_get(&e->filters, "container")) &&
	    (!streq(type, "container") || !id_matches(w, id, jstr(attrs, "name"))))
		return false;
	if ((w = husk_filters_get(&e->filters, "image"))) {
		bool img = streq(type, "image") && id_matches(w, id, jstr(attrs, "name"));
		bool ctr = streq(type, "container") && any_equal(w, jstr(attrs, "image"), NULL);
		if (!img && !ctr)
			return false;
	}
	if ((w = husk_filters_get(&e->filters, "volume")) &&
	    (!streq(type, "volume") || !any_equal(w, id, NULL)))
		return false;
	if ((w = husk_filters_get(&e->filters, "network")) &&
	    (!streq(type, "network") || !id_matches(w, id, jstr(attrs, "name"))))
		return false;
	return husk_filters_match_labels(&e->filters, "label", attrs);
}

/* Next matching event into pending; 1 found, 0 none now, -1 past until. */
static int next_event(struct events *e)
{
	json_t *ev;
	while (husk_events_next(&e->reader, &ev) > 0) {
		int64_t t = jint(ev, "timeNano", 0);
		if (e->until && t > e->until) {
			json_decref(ev);
			return -1;
		}
		if (t < e->since || !event_matches(e, ev)) {
			json_decref(ev);
			continue;
		}
		char *s = json_compact(ev);
		json_decref(ev);
		size_t n = strlen(s);
		free(e->pending);
		e->pending = xrealloc(s, n + 2);
		e->pending[n] = '\n';
		e->plen = n + 1;
		e->poff = 0;
		return 1;
	}
	return 0;
}

static ssize_t events_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct events *e = cls;
	for (;;) {
		if (e->poff < e->plen) {
			size_t n = e->plen - e->poff < max ? e->plen - e->poff : max;
			memcpy(buf, e->pending + e->poff, n);
			e->poff += n;
			return (ssize_t)n;
		}
		int k = next_event(e);
		if (k > 0)
			continue;
		if (k < 0 || !e->follow || (e->until && now_ns() > e->until))
			return MHD_CONTENT_READER_END_OF_STREAM;
		int timeout = 1000;
		if (e->until) {
			int64_t left = (e->until - now_ns()) / 1000000 + 1;
			if (left < timeout)
				timeout = (int)left;
		}
		struct pollfd p[2] = {{.fd = e->ino, .events = POLLIN},
				      {.fd = e->client_fd, .events = POLLRDHUP}};
		if (poll(p, 2, timeout) > 0) {
			if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
				return MHD_CONTENT_READER_END_WITH_ERROR;
			char drain[4096];
			while (read(e->ino, drain, sizeof drain) > 0)
				;
		}
	}
}

static const char *const event_filters[] = {"container", "daemon", "event", "image", "label",
					    "network", "plugin", "scope", "type", "volume",
					    "node", "service", "secret", "config", NULL};

enum MHD_Result h_events(struct req *r)
{
	struct husk_error err = {0};
	struct events *e = xcalloc(1, sizeof *e);
	e->api = r->api;
	e->ino = -1;
	e->client_fd = req_socket(r);
	const char *since = query(r, "since"), *until = query(r, "until");
	int k = husk_filters_parse(query(r, "filters"), event_filters, &e->filters, &err);
	if (k == 0 && !str_empty(since) && parse_timestamp_arg(since, &e->since) < 0)
		k = husk_error_set(&err, -EINVAL, "invalid value for since: %s", since);
	if (k == 0 && !str_empty(until) && parse_timestamp_arg(until, &e->until) < 0)
		k = husk_error_set(&err, -EINVAL, "invalid value for until: %s", until);
	if (k == 0 && husk_events_open(&e->reader, &r->api->store) < 0)
		k = husk_error_set(&err, -EIO, "cannot read the events log");
	if (k < 0) {
		events_free(e);
		return reply_error(r, &err);
	}
	/* Without since, only what happens from now on. */
	if (str_empty(since)) {
		e->since = now_ns();
		husk_events_seek_end(&e->reader);
	}
	/* Until in the past: a replay that ends. */
	e->follow = !e->until || e->until > now_ns();
	if (e->follow) {
		e->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		inotify_add_watch(e->ino, r->api->store.data, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
	}
	return reply_stream(r, MHD_HTTP_OK, "application/json", events_body, e, events_free);
}
