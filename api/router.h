/* The route table: method + path pattern → handler. Patterns use {} for one path segment and
 * {*} for one or more (image names hold slashes). */
#pragma once

#include "http.h"

enum body_mode {
	BODY_JSON,   /* buffered, at most 8 MiB, parsed by the handler */
	BODY_FILE,   /* streamed into a temporary file (archives, image tarballs) */
	BODY_IGNORE, /* read and dropped */
	BODY_HIJACK, /* answered as soon as the headers are in: the connection is taken over */
	/* Buffered as BODY_JSON, but answered as soon as it holds one whole JSON value, before
	 * the request ends: the connection is taken over after its body (exec start), and
	 * clients that keep it open for stdin never end a chunked body. */
	BODY_JSON_HIJACK,
};

struct route {
	const char *method;
	const char *pattern;
	enum MHD_Result (*handler)(struct req *r);
	enum body_mode body;
};

/* Matches path against the table; fills r->params. Unmatched paths are Docker's 404. */
const struct route *route_match(struct req *r, const char *method, const char *path);
/* Strips "/v1.NN" from the front of url into version; returns the rest of the path. */
const char *route_strip_version(const char *url, char *version, size_t n);

/* Handlers, by resource. */
enum MHD_Result h_ping(struct req *r);
enum MHD_Result h_version(struct req *r);
enum MHD_Result h_info(struct req *r);
enum MHD_Result h_events(struct req *r);

enum MHD_Result h_containers_create(struct req *r);
enum MHD_Result h_containers_list(struct req *r);
enum MHD_Result h_container_inspect(struct req *r);
enum MHD_Result h_container_start(struct req *r);
enum MHD_Result h_container_stop(struct req *r);
enum MHD_Result h_container_restart(struct req *r);
enum MHD_Result h_container_kill(struct req *r);
enum MHD_Result h_container_wait(struct req *r);
enum MHD_Result h_container_delete(struct req *r);
enum MHD_Result h_container_logs(struct req *r);
enum MHD_Result h_container_attach(struct req *r);
enum MHD_Result h_container_resize(struct req *r);
enum MHD_Result h_container_rename(struct req *r);
enum MHD_Result h_container_update(struct req *r);
enum MHD_Result h_containers_prune(struct req *r);
enum MHD_Result h_container_archive_head(struct req *r);
enum MHD_Result h_container_archive_get(struct req *r);
enum MHD_Result h_container_archive_put(struct req *r);
enum MHD_Result h_container_export(struct req *r);
enum MHD_Result h_container_changes(struct req *r);
enum MHD_Result h_container_exec(struct req *r);
enum MHD_Result h_container_top(struct req *r);
enum MHD_Result h_container_stats(struct req *r);
enum MHD_Result h_container_pause(struct req *r);
enum MHD_Result h_container_unpause(struct req *r);

enum MHD_Result h_exec_start(struct req *r);
enum MHD_Result h_exec_resize(struct req *r);
enum MHD_Result h_exec_inspect(struct req *r);

enum MHD_Result h_volumes_list(struct req *r);
enum MHD_Result h_volumes_create(struct req *r);
enum MHD_Result h_volumes_prune(struct req *r);
enum MHD_Result h_volume_inspect(struct req *r);
enum MHD_Result h_volume_delete(struct req *r);

enum MHD_Result h_images_create(struct req *r);
enum MHD_Result h_images_load(struct req *r);
enum MHD_Result h_images_list(struct req *r);
enum MHD_Result h_image_inspect(struct req *r);
enum MHD_Result h_image_tag(struct req *r);
enum MHD_Result h_image_delete(struct req *r);
