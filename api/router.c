#include "router.h"

#include <ctype.h>

static const struct route routes[] = {
	{"GET", "/_ping", h_ping, BODY_IGNORE},
	{"HEAD", "/_ping", h_ping, BODY_IGNORE},
	{"GET", "/version", h_version, BODY_IGNORE},
	{"GET", "/info", h_info, BODY_IGNORE},
	{"GET", "/events", h_events, BODY_IGNORE},
	{"POST", "/images/create", h_images_create, BODY_FILE},
	{"POST", "/images/load", h_images_load, BODY_FILE},
	{"GET", "/images/json", h_images_list, BODY_IGNORE},
	{"GET", "/images/{*}/json", h_image_inspect, BODY_IGNORE},
	{"POST", "/images/{*}/tag", h_image_tag, BODY_IGNORE},
	{"DELETE", "/images/{*}", h_image_delete, BODY_IGNORE},

	{"POST", "/containers/create", h_containers_create, BODY_JSON},
	{"POST", "/containers/prune", h_containers_prune, BODY_IGNORE},
	{"GET", "/containers/json", h_containers_list, BODY_IGNORE},
	{"GET", "/containers/{}/json", h_container_inspect, BODY_IGNORE},
	{"POST", "/containers/{}/start", h_container_start, BODY_IGNORE},
	{"POST", "/containers/{}/stop", h_container_stop, BODY_IGNORE},
	{"POST", "/containers/{}/restart", h_container_restart, BODY_IGNORE},
	{"POST", "/containers/{}/kill", h_container_kill, BODY_IGNORE},
	{"POST", "/containers/{}/wait", h_container_wait, BODY_IGNORE},
	{"DELETE", "/containers/{}", h_container_delete, BODY_IGNORE},
	{"GET", "/containers/{}/logs", h_container_logs, BODY_IGNORE},
	{"POST", "/containers/{}/attach", h_container_attach, BODY_HIJACK},
	{"POST", "/containers/{}/resize", h_container_resize, BODY_IGNORE},
	{"POST", "/containers/{}/rename", h_container_rename, BODY_IGNORE},
	{"POST", "/containers/{}/update", h_container_update, BODY_JSON},
	{"HEAD", "/containers/{}/archive", h_container_archive_head, BODY_IGNORE},
	{"GET", "/containers/{}/archive", h_container_archive_get, BODY_IGNORE},
	{"PUT", "/containers/{}/archive", h_container_archive_put, BODY_FILE},
	{"GET", "/containers/{}/export", h_container_export, BODY_IGNORE},
	{"GET", "/containers/{}/changes", h_container_changes, BODY_IGNORE},
	{"POST", "/containers/{}/exec", h_container_exec, BODY_JSON},
	{"GET", "/containers/{}/top", h_container_top, BODY_IGNORE},
	{"GET", "/containers/{}/stats", h_container_stats, BODY_IGNORE},
	{"POST", "/containers/{}/pause", h_container_pause, BODY_IGNORE},
	{"POST", "/containers/{}/unpause", h_container_unpause, BODY_IGNORE},

	{"POST", "/exec/{}/start", h_exec_start, BODY_JSON_HIJACK},
	{"POST", "/exec/{}/resize", h_exec_resize, BODY_IGNORE},
	{"GET", "/exec/{}/json", h_exec_inspect, BODY_IGNORE},

	{"GET", "/volumes", h_volumes_list, BODY_IGNORE},
	{"POST", "/volumes/create", h_volumes_create, BODY_JSON},
	{"POST", "/volumes/prune", h_volumes_prune, BODY_IGNORE},
	{"GET", "/volumes/{}", h_volume_inspect, BODY_IGNORE},
	{"DELETE", "/volumes/{}", h_volume_delete, BODY_IGNORE},

};

const char *route_strip_version(const char *url, char *version, size_t n)
{
	version[0] = 0;
	if (url[0] != '/' || url[1] != 'v' || !isdigit((unsigned char)url[2]))
		return url;
	const char *p = url + 2;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p != '.' || !isdigit((unsigned char)p[1]))
		return url;
	p++;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p != '/' && *p != 0)
		return url;
	size_t len = (size_t)(p - url - 2);
	if (len >= n)
		return url;
	memcpy(version, url + 2, len);
	version[len] = 0;
	return *p ? p : "/";
}

/* Segment-wise match; pattern and path both start after a '/'. */
static bool match(const char *pat, const char *path, char **params, int nparam)
{
	for (;;) {
		if (!*pat)
			return !*path;
		if (pat[0] == '{' && pat[1] == '*' && pat[2] == '}') {
			const char *rest = pat + 3; /* "" or "/..." */
			/* Greedy: try the longest capture whose remainder matches. */
			size_t len = strlen(path);
			for (size_t k = len; k > 0; k--) {
				if (path[k] != 0 && path[k] != '/')
					continue;
				if (k == 0)
					break;
				if (match(rest, path + k, params, nparam + 1)) {
					if (nparam < REQ_MAX_PARAMS)
						params[nparam] = xstrndup(path, k);
					return true;
				}
			}
			return false;
		}
		if (pat[0] == '{' && pat[1] == '}') {
			size_t k = strcspn(path, "/");
			if (k == 0)
				return false;
			if (!match(pat + 2, path + k, params, nparam + 1))
				return false;
			if (nparam < REQ_MAX_PARAMS)
				params[nparam] = xstrndup(path, k);
			return true;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
}

const struct route *route_match(struct req *r, const char *method, const char *path)
{
	size_t n = strlen(path);
	/* A trailing slash is tolerated, as by Go's router for these paths. */
	_cleanup_free_ char *p = xstrdup(path);
	if (n > 1 && p[n - 1] == '/')
		p[n - 1] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		char *params[REQ_MAX_PARAMS] = {0};
		if (!match(routes[i].pattern, p, params, 0)) {
			for (int k = 0; k < REQ_MAX_PARAMS; k++)
				free(params[k]);
			continue;
		}
		if (!streq(routes[i].method, method)) {
			for (int k = 0; k < REQ_MAX_PARAMS; k++)
				free(params[k]);
			continue;
		}
		for (int k = 0; k < REQ_MAX_PARAMS; k++) {
			free(r->params[k]);
			r->params[k] = params[k];
		}
		return &routes[i];
	}
	return NULL;
}
