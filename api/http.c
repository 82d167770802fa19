#include "http.h"
#include "api.h"
#include "core/log.h"

#include "husk-config.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>

void http_add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Api-Version", HUSK_API_VERSION);
	MHD_add_response_header(resp, "Ostype", "linux");
	MHD_add_response_header(resp, "Server", "husk/" HUSK_VERSION " (linux)");
	MHD_add_response_header(resp, "Docker-Experimental", "false");
}

int req_take_socket(struct req *r)
{
	int cfd = req_socket(r);
	int fd = cfd >= 0 ? fcntl(cfd, F_DUPFD_CLOEXEC, 3) : -1;
	int sp[2];
	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return e;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	dup3(sp[0], cfd, O_CLOEXEC);
	close(sp[0]);
	close(sp[1]);
	return fd;
}

int http_head(char *buf, size_t n, unsigned status, const char *extra)
{
	return snprintf(buf, n,
			"HTTP/1.1 %u %s\r\n%sApi-Version: " HUSK_API_VERSION
			"\r\nOstype: linux\r\nServer: husk/" HUSK_VERSION
			" (linux)\r\nDocker-Experimental: false\r\n\r\n",
			status,
			status == MHD_HTTP_SWITCHING_PROTOCOLS ? "UPGRADED"
							       : MHD_get_reason_phrase_for(status),
			extra);
}

/* MHD cannot queue a response while it still reads the body (BODY_JSON_HIJACK answering a
 * chunked body that never ends): the answer is written on the socket, which is then closed. */
static enum MHD_Result reply_raw(struct req *r, unsigned status, const char *ctype,
				 const char *body, size_t len)
{
	char extra[256], head[1024];
	int fd = req_take_socket(r);
	r->answered = true;
	r->status = status;
	if (fd < 0)
		return MHD_NO;
	snprintf(extra, sizeof extra, "%s%s%sContent-Length: %zu\r\nConnection: close\r\n",
		 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", len);
	int n = http_head(head, sizeof head, status, extra);
	if (write_all(fd, head, (size_t)n) == 0)
		write_all(fd, body, len);
	close(fd);
	return MHD_NO;
}

enum MHD_Result reply_response(struct req *r, unsigned status, struct MHD_Response *resp)
{
	http_add_common_headers(resp);
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	r->status = status;
	return ret;
}

enum MHD_Result reply_text(struct req *r, unsigned status, const char *ctype, const char *text)
{
	size_t n = strlen(text);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(n, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return reply_response(r, status, resp);
}

enum MHD_Result reply_json(struct req *r, unsigned status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!s)
		abort();
	size_t n = strlen(s);
	/* Docker ends JSON bodies with a newline (Go's json.Encoder). */
	s = xrealloc(s, n + 2);
	s[n++] = '\n';
	s[n] = 0;
	if (r->mid_body) {
		enum MHD_Result ret = reply_raw(r, status, "application/json", s, n);
		free(s);
		return ret;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return reply_response(r, status, resp);
}

enum MHD_Result reply_empty(struct req *r, unsigned status)
{
	if (r->mid_body)
		return reply_raw(r, status, NULL, "", 0);
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	return reply_response(r, status, resp);
}

enum MHD_Result reply_error(struct req *r, const struct husk_error *err)
{
	unsigned status = http_status_for(err->code);
	if (status == MHD_HTTP_NOT_MODIFIED)
		return reply_empty(r, status);
	if (status >= 500)
		husk_log(LOG_ERR, "%s %s: %s", r->method, r->path, err->message);
	/* The message may quote what the client sent (a %FF in an id or a query value) or be
	 * cut inside a character: jansson takes UTF-8 only, and would leave out the message. */
	json_t *j = json_object();
	json_object_set_new(j, "message", json_string_lossy(err->message));
	return reply_json(r, status, j);
}

enum MHD_Result reply_errorf(struct req *r, int code, const char *fmt, ...)
{
	struct husk_error err = {.code = code};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	return reply_error(r, &err);
}

struct MHD_Response *stream_response(const char *ctype, MHD_ContentReaderCallback crc, void *cls,
				     MHD_ContentReaderFreeCallback free_cb)
{
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, crc, cls, free_cb);
	if (!resp) {
		if (free_cb)
			free_cb(cls);
		return NULL;
	}
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return resp;
}

enum MHD_Result reply_stream(struct req *r, unsigned status, const char *ctype,
			     MHD_ContentReaderCallback crc, void *cls,
			     MHD_ContentReaderFreeCallback free_cb)
{
	struct MHD_Response *resp = stream_response(ctype, crc, cls, free_cb);
	return resp ? reply_response(r, status, resp) : MHD_NO;
}

bool req_api_before(struct req *r, unsigned minor)
{
	unsigned maj = 1, min = 0;
	if (sscanf(r->version[0] ? r->version : HUSK_API_VERSION, "%u.%u", &maj, &min) != 2)
		return false;
	return maj < 1 || (maj == 1 && min < minor);
}

const char *query(struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

bool query_bool(struct req *r, const char *key, bool dflt)
{
	bool v = dflt;
	query_bool_strict(r, key, dflt, &v, NULL);
	return v;
}

int query_bool_strict(struct req *r, const char *key, bool dflt, bool *out, struct husk_error *err)
{
	const char *s = query(r, key);
	*out = dflt;
	if (str_empty(s))
		return 0;
	if (parse_bool(s, out) < 0)
		return husk_error_set(err, -EINVAL,
				      "invalid value for %s: strconv.ParseBool: parsing \"%s\": "
				      "invalid syntax",
				      key, s);
	return 0;
}

bool query_flag(struct req *r, const char *key)
{
	_cleanup_free_ char *s = xstrdup(str_or(query(r, key), ""));
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = 0;
	static const char *const no[] = {"", "0", "no", "false", "none"};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (strcasecmp(p, no[i]) == 0)
			return false;
	return true;
}

int query_int(struct req *r, const char *key, int64_t dflt, int64_t *out, struct husk_error *err)
{
	const char *s = query(r, key);
	*out = dflt;
	if (str_empty(s))
		return 0;
	if (parse_int64(s, out) < 0)
		return husk_error_set(err, -EINVAL,
				      "invalid value for %s: strconv.Atoi: parsing \"%s\": invalid "
				      "syntax",
				      key, s);
	return 0;
}

int query_tty_size(struct req *r, int64_t *h, int64_t *w, struct husk_error *err)
{
	if (query_int(r, "h", 0, h, err) < 0 || query_int(r, "w", 0, w, err) < 0)
		return -EINVAL;
	if (*h < 0 || *w < 0 || *h > 65535 || *w > 65535)
		return husk_error_set(err, -EINVAL, "invalid terminal size %lldx%lld",
				      (long long)*h, (long long)*w);
	return 0;
}

struct collect {
	const char *key;
	char **v;
};

static enum MHD_Result collect_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct collect *c = cls;
	if (streq(key, c->key))
		c->v = strv_push(c->v, value ? value : "");
	return MHD_YES;
}

char **query_all(struct req *r, const char *key)
{
	struct collect c = {.key = key, .v = xcalloc(1, sizeof(char *))};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_cb, &c);
	return c.v;
}

const char *header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

json_t *req_json_body(struct req *r, struct husk_error *err)
{
	if (r->body_error == -EFBIG) {
		husk_error_set(err, -EINVAL, "request body is too large");
		return NULL;
	}
	if (r->body_len == 0)
		return json_object();
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		husk_error_set(err, -EINVAL, "invalid JSON: %s (line %d, column %d)", je.text,
			       je.line, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		husk_error_set(err, -EINVAL, "invalid JSON: the request body must be an object");
		return NULL;
	}
	return j;
}

int req_socket(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

bool client_gone(int fd)
{
	if (fd < 0)
		return false;
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
