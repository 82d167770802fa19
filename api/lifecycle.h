/* Container life-cycle operations that several handlers share: starting a monitor, stopping,
 * waiting for a condition, and the attach connections held for containers not yet started. */
#pragma once

#include "api.h"
#include "core/container.h"

#include <microhttpd.h>

enum attach_flags { ATT_STDIN = 1, ATT_STDOUT = 2, ATT_STDERR = 4, ATT_LOGS = 8 };

/* A hijacked connection waiting for its container to start. Reserved before the attach
 * answers (so a start that follows at once waits for it), filled when the connection is
 * ours: urh is MHD's handle when it was upgraded (closed once the monitor has its copy),
 * NULL for a raw takeover. Cancelled when the answer could not be sent. */
struct pending;
struct pending *pending_attach_reserve(const char *id, unsigned flags);
void pending_attach_fill(struct pending *p, int fd, struct MHD_UpgradeResponseHandle *urh);
void pending_attach_cancel(struct pending *p);

/* Starts the container's monitor and waits for its handshake. -EALREADY when running. */
int container_start(struct api *api, const char *id, struct husk_error *err);
/* Stops (signal, then SIGKILL after timeout seconds; timeout < 0 uses the container's
 * StopTimeout or 10). -EALREADY when it was not running. */
int container_stop(struct api *api, const struct husk_container *c, int signal, int timeout,
		   struct husk_error *err);

enum wait_condition { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED };

/* Blocks until the condition holds (or the client goes away: -ECONNRESET). Fills the exit
 * code and error text. client_fd is watched for hang-up (-1: none). */
int container_wait(struct api *api, const char *id, enum wait_condition cond, int client_fd,
		   int *exit_code, char *error, size_t error_len);
/* Kill through the monitor, or directly when the monitor is gone. */
int container_kill(struct api *api, const struct husk_container *c, int sig,
		   struct husk_error *err);
