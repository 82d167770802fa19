/* The HTTP server over a listening socket. */
#pragma once

#include <microhttpd.h>

struct api;

struct MHD_Daemon *server_start(struct api *api, int listen_fd);
