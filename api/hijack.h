/* Taking over a client connection (attach, exec start), as Docker does: 101 UPGRADED when
 * the client asked to upgrade, else a 200 whose body is the raw stream until the connection
 * closes. Either way the handler gets the socket right after the request headers and never
 * waits for the request body to end (clients keep their side open for stdin). */
#pragma once

#include "http.h"

/* Called with the taken-over connection; it must eventually call hijack_release. Called with
 * fd -1 when the connection could not be taken over: only cls is to be released then. */
typedef void (*hijack_fn)(struct api *api, int fd, struct MHD_UpgradeResponseHandle *urh,
			  void *cls);

enum MHD_Result reply_hijack(struct req *r, const char *content_type, hijack_fn fn, void *cls);
/* Gives the connection back to be closed (after the monitor has its own copy). */
void hijack_release(int fd, struct MHD_UpgradeResponseHandle *urh);
