/* libmicrohttpd glue: per-request context, body intake, owner check, idle accounting. */
#include "server.h"
#include "api.h"
#include "router.h"

#include "core/fs.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define JSON_BODY_MAX (8u << 20)

/* The owner check's verdict, kept in MHD's socket context for the connection's life. */
enum peer_verdict { PEER_UNCHECKED = 0, PEER_OWNER, PEER_REFUSED };

static enum peer_verdict check_peer(struct api *api, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		/* Not a unix socket (a TCP listener passed by an activator): nothing to check
		 * against, and the socket's owner chose to expose it. */
		return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? PEER_OWNER : PEER_REFUSED;
	}
	if (cred.uid == api->owner)
		return PEER_OWNER;
	husk_log(LOG_WARNING, "refused connection from uid %u pid %d: only uid %u may use this socket",
		 (unsigned)cred.uid, (int)cred.pid, (unsigned)api->owner);
	return PEER_REFUSED;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct api *api = cls;
	/* Counted in by main.c's accept, out here. */
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = (void *)(uintptr_t)(ci ? check_peer(api, ci->connect_fd)
							 : PEER_REFUSED);
	} else {
		atomic_store(&api->last_activity_ms, mono_ms());
		/* What the connection's requests built (a list of 100 containers is a few MB of
		 * JSON) goes back to the system when the last connection ends. */
		if (atomic_fetch_sub(&api->connections, 1) == 1)
			malloc_trim(0);
	}
}

static enum peer_verdict peer_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? (enum peer_verdict)(uintptr_t)ci->socket_context : PEER_REFUSED;
}

static int open_upload(struct api *api, struct req *r)
{
	_cleanup_free_ char *dir = husk_store_data_path(&api->store, "tmp");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	_cleanup_free_ char *tmpl = xasprintf("%s/upload-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(tmpl);
	(void)r;
	return fd;
}

static void take_body(struct req *r, const char *data, size_t n)
{
	if (r->body_error)
		return;
	switch (r->route ? r->route->body : BODY_IGNORE) {
	case BODY_JSON:
	case BODY_JSON_HIJACK:
		if (r->body_len + n > JSON_BODY_MAX) {
			r->body_error = -EFBIG;
			free(r->body);
			r->body = NULL;
			r->body_len = r->body_cap = 0;
			return;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			r->body_cap = (r->body_len + n + 1) * 2;
			r->body = xrealloc(r->body, r->body_cap);
		}
		memcpy(r->body + r->body_len, data, n);
		r->body_len += n;
		r->body[r->body_len] = 0;
		break;
	case BODY_FILE:
		if (r->upload_fd < 0) {
			int fd = open_upload(r->api, r);
			if (fd < 0) {
				r->body_error = fd;
				return;
			}
			r->upload_fd = fd;
		}
		{
			int k = write_all(r->upload_fd, data, n);
			if (k < 0)
				r->body_error = k;
		}
		r->body_len += n;
		break;
	case BODY_IGNORE:
	case BODY_HIJACK:
		break;
	}
}

/* Whether the body so far is one whole JSON value (maybe followed by more), or cannot become
 * one: either way it can be answered now. */
static bool json_body_ready(const struct req *r)
{
	size_t i = 0;
	while (i < r->body_len && r->body[i] && strchr(" \t\r\n", r->body[i]))
		i++;
	if (r->body_error)
		return true;
	if (i == r->body_len)
		return false;
	json_error_t je;
	json_t *j = json_loadb(r->body + i, r->body_len - i, JSON_DISABLE_EOF_CHECK, &je);
	json_decref(j);
	return j || json_error_code(&je) != json_error_premature_end_of_input;
}

static bool version_too_old(const char *v)
{
	unsigned maj = 0, min = 0;
	if (sscanf(v, "%u.%u", &maj, &min) != 2)
		return false;
	return maj < 1 || (maj == 1 && min < 24);
}

static enum MHD_Result dispatch(struct api *api, struct req *r);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	struct req *r = *con_cls;
	if (!r) {
		r = xcalloc(1, sizeof *r);
		r->conn = conn;
		r->api = api;
		r->method = method;
		r->upload_fd = -1;
		r->path = route_strip_version(url, r->version, sizeof r->version);
		r->route = route_match(r, method, r->path);
		*con_cls = r;
		/* A hijacked request is answered before its body: clients keep the request open
		 * and send stdin through it. */
		if (!r->route || r->route->body != BODY_HIJACK)
			return MHD_YES;
		return dispatch(api, r);
	}
	if (*upload_data_size) {
		take_body(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		/* A Content-Length body ends by itself: MHD then calls us to answer. */
		if (r->route && r->route->body == BODY_JSON_HIJACK && !r->answered &&
		    !MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH) &&
		    json_body_ready(r)) {
			r->mid_body = true;
			return dispatch(api, r);
		}
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	return dispatch(api, r);
}

static enum MHD_Result dispatch(struct api *api, struct req *r)
{
	struct MHD_Connection *conn = r->conn;
	if (peer_of(conn) != PEER_OWNER)
		return reply_errorf(r, -EACCES,
				    "permission denied: this husk socket belongs to uid %u",
				    (unsigned)api->owner);
	if (r->version[0] && version_too_old(r->version))
		return reply_errorf(r, -EINVAL,
				    "client version %s is too old. Minimum supported API version is "
				    "%s, please upgrade your client to a newer version",
				    r->version, HUSK_MIN_API_VERSION);
	if (!r->route)
		return reply_errorf(r, -ENOENT, "page not found");
	if (r->body_error && r->body_error != -EFBIG)
		return reply_errorf(r, -EIO, "cannot store the request body: %s",
				    strerror(-r->body_error));
	if (r->upload_fd >= 0)
		lseek(r->upload_fd, 0, SEEK_SET);
	enum MHD_Result ret = r->route->handler(r);
	if (!r->answered && ret == MHD_YES)
		husk_log(LOG_ERR, "%s %s: handler gave no answer", r->method, r->path);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	if (!r)
		return;
	husk_log(LOG_DEBUG, "%s %s -> %u%s", r->method, r->path, r->status,
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	for (int i = 0; i < REQ_MAX_PARAMS; i++)
		free(r->params[i]);
	free(r->body);
	if (r->upload_fd >= 0)
		close(r->upload_fd);
	free(r);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	husk_log(LOG_DEBUG, "microhttpd: %s", msg);
}

struct MHD_Daemon *server_start(struct api *api)
{
	atomic_store(&api->last_activity_ms, mono_ms());
	/* One thread per connection: handlers may block (start waits for the monitor's
	 * handshake, wait/logs/events stream for as long as the client listens). TURBO keeps
	 * MHD from shutdown()ing sockets it closes, which matters for sockets we hand on. No
	 * listening socket: main.c accepts and hands connections in (MHD_add_connection). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_TURBO |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET |
			 MHD_USE_ITC;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
				on_mhd_log, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
				MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_THREAD_STACK_SIZE,
				(size_t)(256 * 1024), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)(128 * 1024), MHD_OPTION_END);
}
