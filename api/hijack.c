#include "hijack.h"
#include "api.h"

#include "husk-config.h"

#include <fcntl.h>
#include <sys/socket.h>

struct upgrade_ctx {
	struct api *api;
	hijack_fn fn;
	void *cls;
};

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
			const char *extra_in, size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct upgrade_ctx *u = cls;
	if (extra_in_size)
		husk_log(LOG_DEBUG, "hijack: %zu bytes came before the upgrade and are dropped",
			 extra_in_size);
	u->fn(u->api, sock, urh, u->cls);
	free(u);
}

void hijack_release(int fd, struct MHD_UpgradeResponseHandle *urh)
{
	if (urh)
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	else if (fd >= 0)
		close(fd);
}

static bool wants_upgrade(struct req *r)
{
	const char *up = header(r, "Upgrade");
	const char *conn = header(r, "Connection");
	return up && conn && strcasestr(conn, "upgrade");
}

/* Answers on the socket ourselves and keeps it. */
static enum MHD_Result take_over(struct req *r, bool upgrade, const char *content_type,
				 hijack_fn fn, void *cls)
{
	int fd = req_take_socket(r);
	if (fd < 0) {
		fn(r->api, -1, NULL, cls);
		return reply_errorf(r, -EIO, "cannot take over the connection: %s", strerror(-fd));
	}
	char extra[256], head[1024];
	snprintf(extra, sizeof extra, "Content-Type: %s\r\n%s", content_type,
		 upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "");
	unsigned status = upgrade ? MHD_HTTP_SWITCHING_PROTOCOLS : MHD_HTTP_OK;
	int n = http_head(head, sizeof head, status, extra);
	r->answered = true;
	r->status = status;
	if (write_all(fd, head, (size_t)n) < 0) {
		close(fd);
		fn(r->api, -1, NULL, cls);
		return MHD_NO;
	}
	fn(r->api, fd, NULL, cls);
	return MHD_NO;
}

enum MHD_Result reply_hijack(struct req *r, const char *content_type, hijack_fn fn, void *cls)
{
	bool upgrade = wants_upgrade(r);
	/* MHD upgrades only a request whose body it has read; one answered while the body still
	 * comes (r->mid_body) is taken over like a request without Upgrade (dockerode's,
	 * testcontainers'). */
	if (!upgrade || r->mid_body)
		return take_over(r, upgrade, content_type, fn, cls);
	struct upgrade_ctx *u = xcalloc(1, sizeof *u);
	u->api = r->api;
	u->fn = fn;
	u->cls = cls;
	struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, u);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
	enum MHD_Result ret = reply_response(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	if (ret != MHD_YES) {
		fn(r->api, -1, NULL, cls);
		free(u);
	}
	return ret;
}
