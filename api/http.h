/* The request context and Docker-shaped responses: every handler answers through these, so
 * headers, error bodies and status mapping are decided in one place. */
#pragma once

#include "core/error.h"
#include "core/json.h"

#include <microhttpd.h>

struct api;

#define REQ_MAX_PARAMS 4

struct req {
	struct MHD_Connection *conn;
	struct api *api;
	const char *method;
	const char *path;	/* after any /v1.N prefix */
	char version[16];	/* "1.44" when the path had a prefix, else "" */
	char *params[REQ_MAX_PARAMS]; /* the {} captures of the route */
	const struct route *route;

	/* The request body: buffered for JSON, or streamed into upload_fd for archives. */
	char *body;
	size_t body_len, body_cap;
	int upload_fd;
	char *upload_path;
	int body_error; /* -EFBIG when too large, or -errno of the upload */

	bool mid_body; /* answered while MHD still reads the body: only a takeover can answer */
	bool answered;
	unsigned status; /* for the access log */
};

/* Responses. Each returns the MHD result to hand back to MHD. */
enum MHD_Result reply_json(struct req *r, unsigned status, json_t *body /* stolen */);
enum MHD_Result reply_empty(struct req *r, unsigned status);
enum MHD_Result reply_error(struct req *r, const struct husk_error *err);
enum MHD_Result reply_errorf(struct req *r, int code, const char *fmt, ...) _printf_(3, 4);
enum MHD_Result reply_text(struct req *r, unsigned status, const char *ctype, const char *text);
/* A streamed body produced by crc (MHD's content reader), chunked, headers sent at once. */
enum MHD_Result reply_stream(struct req *r, unsigned status, const char *ctype,
			     MHD_ContentReaderCallback crc, void *cls,
			     MHD_ContentReaderFreeCallback free_cb);
/* The response reply_stream sends, for callers that add headers (NULL: free_cb was called). */
struct MHD_Response *stream_response(const char *ctype, MHD_ContentReaderCallback crc, void *cls,
				     MHD_ContentReaderFreeCallback free_cb);
/* Queues a prepared response after adding the common headers. */
enum MHD_Result reply_response(struct req *r, unsigned status, struct MHD_Response *resp);

/* Maps an error kind to Docker's status code. */
unsigned http_status_for(int code);
/* The common headers Docker puts on every response. */
void http_add_common_headers(struct MHD_Response *resp);

/* Whether the request's API version is below 1.minor (no version prefix: ours). */
bool req_api_before(struct req *r, unsigned minor);

/* Query arguments. */
const char *query(struct req *r, const char *key);
/* Go's ParseBool for a query flag; absent or empty is dflt; malformed sets *bad. */
bool query_bool(struct req *r, const char *key, bool dflt);
int query_bool_strict(struct req *r, const char *key, bool dflt, bool *out, struct husk_error *err);
/* Docker's httputils.BoolValue: false for absent, "", "0", "no", "false", "none" (any case,
 * spaces trimmed), true for anything else. */
bool query_flag(struct req *r, const char *key);
int query_int(struct req *r, const char *key, int64_t dflt, int64_t *out, struct husk_error *err);
/* ?h=&w= of a resize: a terminal's size. */
int query_tty_size(struct req *r, int64_t *h, int64_t *w, struct husk_error *err);
/* All values of a repeated key (names=a&names=b); a NULL-terminated vector. */
char **query_all(struct req *r, const char *key);
const char *header(struct req *r, const char *name);

/* The request body parsed as a JSON object; an empty body gives an empty object. Errors are
 * Docker's 400s. */
json_t *req_json_body(struct req *r, struct husk_error *err);

/* Takes the client's socket from MHD: returns a blocking copy and puts a dead socket in its
 * place, so MHD's shutdown() and close() of "its" connection cannot reach the client. */
int req_take_socket(struct req *r);
/* The status line and Docker's common headers, extra (whole header lines) between them, and
 * the blank line: the head of a response written on a taken socket. */
int http_head(char *buf, size_t n, unsigned status, const char *extra);

/* The client's socket (for hang-up detection while a handler blocks). */
int req_socket(struct req *r);
/* True when the client has closed or reset the connection. */
bool client_gone(int fd);
