/* The HTTP server: libmicrohttpd serving the connections that main.c accepts. */
#pragma once

#include <microhttpd.h>

struct api;

struct MHD_Daemon *server_start(struct api *api);
