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

enum MHD_Result reply_hijack(struct req *r, const char *content_type, hijack_fn fn, void *cls)
{
	if (wants_upgrade(r)) {
		struct upgrade_ctx *u = xcalloc(1, sizeof *u);
		u->api = r->api;
		u->fn = fn;
		u->cls = cls;
		struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, u);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
		enum MHD_Result ret = reply_response(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
		if (ret != MHD_YES)
			free(u);
		return ret;
	}
	/* No upgrade asked (dockerode, testcontainers): answer 200 ourselves and keep the
	 * socket. MHD gets a dummy in its place, so its shutdown() and close() of "its"
	 * connection cannot reach the client. */
	int cfd = req_socket(r);
	int fd = cfd >= 0 ? fcntl(cfd, F_DUPFD_CLOEXEC, 3) : -1;
	int sp[2];
	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		if (fd >= 0)
			close(fd);
		return reply_errorf(r, -EIO, "cannot take over the connection: %s", strerror(errno));
	}
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nApi-Version: " HUSK_API_VERSION
			 "\r\nOstype: linux\r\nServer: husk/" HUSK_VERSION
			 " (linux)\r\nDocker-Experimental: false\r\n\r\n",
			 content_type);
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	int w = write_all(fd, head, (size_t)n);
	dup3(sp[0], cfd, O_CLOEXEC);
	close(sp[0]);
	close(sp[1]);
	r->answered = true;
	r->status = MHD_HTTP_OK;
	if (w < 0) {
		close(fd);
		return MHD_NO;
	}
	fn(r->api, fd, NULL, cls);
	return MHD_NO;
}
