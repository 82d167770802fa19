/* POST /containers/{id}/attach: the connection is handed to the container's monitor (or,
 * before the container starts, held until its monitor is started with it), so the data
 * flows between client and monitor without husk-api. */
#include "api.h"
#include "hijack.h"
#include "lifecycle.h"
#include "router.h"

#include "core/container.h"
#include "core/json.h"
#include "core/logfile.h"
#include "core/monitor_proto.h"
#include "core/stdcopy.h"

struct attach {
	char id[65];
	unsigned flags;
	bool stream;
	bool tty;
	bool pending; /* the container has not started yet */
	struct pending *slot; /* where its start finds this connection */
};

/* attach?logs=1&stream=0: the past output, then the end. */
static void write_logs(struct api *api, const struct attach *a, int fd)
{
	_cleanup_free_ char *path = husk_store_data_path(&api->store,
							 "containers/%s/container.log", a->id);
	struct husk_logr lr;
	if (husk_logr_open(&lr, path) < 0)
		return;
	struct husk_log_entry e;
	while (husk_logr_next(&lr, &e) > 0) {
		if (!(a->flags & (e.stream == HUSK_STDOUT ? ATT_STDOUT : ATT_STDERR)))
			continue;
		size_t n = e.len + (e.partial ? 0 : 1);
		unsigned char hdr[8];
		husk_stdcopy_header(hdr, e.stream, n);
		if ((!a->tty && write_all(fd, hdr, sizeof hdr) < 0) ||
		    write_all(fd, e.content, e.len) < 0 ||
		    (!e.partial && write_all(fd, "\n", 1) < 0))
			break;
	}
	husk_logr_close(&lr);
}

static void hand_over(struct api *api, int fd, struct MHD_UpgradeResponseHandle *urh, void *cls)
{
	struct attach *a = cls;
	if (!a->stream) {
		write_logs(api, a, fd);
		hijack_release(fd, urh);
		free(a);
		return;
	}
	if (a->pending) {
		/* Kept until start passes it to the new monitor (docker run attaches first). */
		pending_attach_fill(a->slot, fd, urh);
		free(a);
		return;
	}
	struct husk_error err = {0};
	json_t *req = json_pack("{s:s, s:b, s:b, s:b, s:b}", "op", "attach", "stdin",
				(a->flags & ATT_STDIN) != 0, "stdout", (a->flags & ATT_STDOUT) != 0,
				"stderr", (a->flags & ATT_STDERR) != 0, "logs",
				(a->flags & ATT_LOGS) != 0);
	if (husk_mon_call(&api->store, a->id, req, fd, NULL, 5000, &err) < 0)
		husk_log(LOG_WARNING, "attach %.12s: %s", a->id, err.message);
	json_decref(req);
	hijack_release(fd, urh);
	free(a);
}

enum MHD_Result h_container_attach(struct req *r)
{
	struct husk_error err = {0};
	_cleanup_container_ struct husk_container *c = NULL;
	if (husk_container_find(&r->api->store, r->params[0], &c, &err) < 0)
		return reply_error(r, &err);
	struct attach *a = xcalloc(1, sizeof *a);
	memcpy(a->id, c->id, sizeof a->id);
	a->stream = query_bool(r, "stream", false);
	a->flags = (query_bool(r, "stdin", false) ? ATT_STDIN : 0) |
		   (query_bool(r, "stdout", false) ? ATT_STDOUT : 0) |
		   (query_bool(r, "stderr", false) ? ATT_STDERR : 0) |
		   (query_bool(r, "logs", false) ? ATT_LOGS : 0);
	a->tty = jbool(jobj(c->config, "Config"), "Tty", false);
	enum husk_status st = c->state.status;
	/* As Docker's daemon, attaching to a container that is not running waits for its next
	 * start (docker start -a attaches first); only the docker CLI's own attach command
	 * refuses stopped containers. */
	if (st == HUSK_RESTARTING) {
		free(a);
		return reply_errorf(r, -EBUSY, "cannot attach to a restarting container");
	}
	if (st == HUSK_PAUSED) {
		free(a);
		return reply_errorf(r, -EBUSY,
				    "container is paused, unpause the container before attach");
	}
	a->pending = st != HUSK_RUNNING;
	if (a->pending && a->stream)
		a->slot = pending_attach_reserve(a->id, a->flags);
	const char *ctype = a->tty ? "application/vnd.docker.raw-stream"
				   : "application/vnd.docker.multiplexed-stream";
	return reply_hijack(r, ctype, hand_over, a);
}
