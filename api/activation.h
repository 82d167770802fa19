/* The two halves of systemd's socket activation protocol husk-api speaks, without
 * libsystemd (which would cost every activation its load time and a megabyte of memory):
 * sd_listen_fds(3) and sd_notify(3). */
#pragma once

#include <stdbool.h>

/* The first passed descriptor, as SD_LISTEN_FDS_START. */
#define ACTIVATION_FDS_START 3

/* How many sockets the activator passed, from LISTEN_PID and LISTEN_FDS: 0 when none were
 * passed to this process, -EINVAL when the variables are malformed. The passed descriptors
 * get FD_CLOEXEC; LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are unset either way, so they
 * reach no child. */
int activation_listen_fds(void);

/* Sends state (e.g. "READY=1") to the service manager's NOTIFY_SOCKET, a path or an
 * abstract name ("@…"), and unsets NOTIFY_SOCKET. 0 when there is no manager to tell, 1
 * when sent, -errno when it could not be. */
int activation_notify(const char *state);
