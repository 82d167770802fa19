/* GET /containers/{id}/stats: samples from core/stats (the container's delegated cgroup v2, or
 * else /proc of its processes: see core/stats.h for what each number is then) shaped as
 * Docker's StatsResponse.
 *
 * stream=1 (the default): one object per line, at once and then every second, until the
 * client leaves or the container stops; the first has no precpu, as Docker's. stream=0: one
 * object, whose precpu comes from a sample taken a second before, as Docker primes it (so the
 * docker CLI's --no-stream shows a CPU %); with one-shot=1 at once, without precpu. A container
 * that is not running gives Docker's empty stats: zeros, with its name and id. */
#include "api.h"
#include "router.h"

#include "core/container.h"
#include "core/stats.h"

#include <poll.h>

#define INTERVAL_MS 1000

struct stats_ctx {
	struct api *api;
	char id[65];
	char *name;
	bool stream, one_shot, networks;
	int client_fd;
	unsigned sent;
	bool done;
	struct husk_stats pre;
	bool have_pre;
	char *out; /* the rendered object not yet handed to MHD */
	size_t len, off;
};

static void ctx_free(void *cls)
{
	struct stats_ctx *c = cls;
	husk_stats_clear(&c->pre);
	free(c->name);
	free(c->out);
	free(c);
}

static json_t *cpu_json(const struct husk_stats *s)
{
	json_t *o = json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "cpu_usage", "total_usage",
			      (json_int_t)(s ? s->cpu_total : 0), "usage_in_kernelmode",
			      (json_int_t)(s ? s->cpu_kernel : 0), "usage_in_usermode",
			      (json_int_t)(s ? s->cpu_user : 0), "throttling_data", "periods",
			      (json_int_t)(s ? s->periods : 0), "throttled_periods",
			      (json_int_t)(s ? s->throttled_periods : 0), "throttled_time",
			      (json_int_t)(s ? s->throttled_time : 0));
	if (s) {
		json_object_set_new(o, "system_cpu_usage", json_integer((json_int_t)s->system_cpu));
		json_object_set_new(o, "online_cpus", json_integer(s->online_cpus));
	}
	return o;
}

static json_t *blkio_json(const struct husk_stats *s)
{
	static const char *const keys[] = {"io_serviced_recursive",	"io_queue_recursive",
					   "io_service_time_recursive", "io_wait_time_recursive",
					   "io_merged_recursive",	"io_time_recursive",
					   "sectors_recursive"};
	json_t *o = json_object();
	json_object_set(o, "io_service_bytes_recursive", s && s->blkio ? s->blkio : json_null());
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		json_object_set_new(o, keys[i], json_null());
	return o;
}

/* Docker's StatsResponse; s NULL gives the empty one of a container that is not running. */
static json_t *render(const struct stats_ctx *c, const struct husk_stats *s,
		      const struct husk_stats *pre)
{
	char read[40], preread[40];
	format_time_ns(s ? s->read_ns : 0, read);
	format_time_ns(pre ? pre->read_ns : 0, preread);
	_cleanup_free_ char *name = xasprintf("/%s", c->name);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:{}, s:o, s:o}", "name", name, "id",
		      c->id, "read", read, "preread", preread, "pids_stats",
		      s ? json_pack("{s:I}", "current", (json_int_t)s->pids) : json_object(),
		      "blkio_stats", blkio_json(s), "num_procs", 0, "storage_stats", "cpu_stats",
		      cpu_json(s), "precpu_stats", cpu_json(pre));
	json_object_set_new(o, "memory_stats",
			    s ? json_pack("{s:I, s:O, s:I}", "usage", (json_int_t)s->mem_usage,
					  "stats", s->mem_stats, "limit", (json_int_t)s->mem_limit)
			      : json_object());
	if (s && s->networks)
		json_object_set(o, "networks", s->networks);
	return o;
}

/* Waits for the next sample's time; false when the client has gone meanwhile. */
static bool wait_interval(const struct stats_ctx *c)
{
	struct pollfd p = {.fd = c->client_fd, .events = POLLRDHUP};
	int k = poll(&p, 1, INTERVAL_MS);
	return !(k > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

/* The container's pid 1 and monitor while it runs. */
static bool running(const struct stats_ctx *c, pid_t *init, pid_t *monitor)
{
	struct husk_state st;
	husk_state_load(&c->api->store, c->id, &st);
	bool live = st.status == HUSK_RUNNING || st.status == HUSK_PAUSED;
	*init = st.pid;
	*monitor = st.monitor_pid;
	husk_state_clear(&st);
	return live && *init > 0;
}

/* The next object to send, or NULL at the end. */
static json_t *next(struct stats_ctx *c)
{
	pid_t init, monitor;
	if (c->sent && (!c->stream || !wait_interval(c)))
		return NULL;
	if (!running(c, &init, &monitor))
		return c->sent ? NULL : render(c, NULL, NULL);
	if (!c->stream && !c->one_shot && !c->have_pre) {
		c->have_pre = husk_stats_sample(init, monitor, c->networks, &c->pre) == 0;
		if (!wait_interval(c) || !running(c, &init, &monitor))
			return NULL;
	}
	struct husk_stats s;
	if (husk_stats_sample(init, monitor, c->networks, &s) < 0)
		return c->sent ? NULL : render(c, NULL, NULL);
	json_t *o = render(c, &s, c->have_pre ? &c->pre : NULL);
	husk_stats_clear(&c->pre);
	c->pre = s;
	c->have_pre = true;
	return o;
}

static ssize_t stats_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stats_ctx *c = cls;
	if (c->off == c->len) {
		json_t *o = c->done ? NULL : next(c);
		if (!o)
			return MHD_CONTENT_READER_END_OF_STREAM;
		free(c->out);
		c->out = json_compact(o);
		json_decref(o);
		c->len = strlen(c->out);
		c->out = xrealloc(c->out, c->len + 2);
		c->out[c->len++] = '\n';
		c->off = 0;
		c->sent++;
		c->done = !c->stream;
	}
	size_t n = c->len - c->off < max ? c->len - c->off : max;
	memcpy(buf, c->out + c->off, n);
	c->off += n;
	return (ssize_t)n;
}

enum MHD_Result h_container_stats(struct req *r)
{
	struct husk_error err = {0};
	bool stream, one_shot;
	if (query_bool_strict(r, "stream", true, &stream, &err) < 0 ||
	    query_bool_strict(r, "one-shot", false, &one_shot, &err) < 0)
		return reply_error(r, &err);
	if (stream && one_shot)
		return reply_errorf(r, -EINVAL, "cannot have stream=true and one-shot=true");
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(&r->api->store, r->params[0], &c, &err) < 0)
		return reply_error(r, &err);
	struct stats_ctx *x = xcalloc(1, sizeof *x);
	x->api = r->api;
	memcpy(x->id, c->id, sizeof x->id);
	x->name = xstrdup(c->name);
	x->stream = stream;
	x->one_shot = one_shot;
	/* --network host: the interfaces are the user's, not the container's (Docker has none). */
	x->networks = !streq(jstr(jobj(c->config, "HostConfig"), "NetworkMode"), "host");
	x->client_fd = req_socket(r);
	return reply_stream(r, MHD_HTTP_OK, "application/json", stats_body, x, ctx_free);
}
