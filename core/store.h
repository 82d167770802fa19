/* The store: where husk keeps everything, persistent (data) and volatile (run), and the lock
 * that serialises mutations between processes.
 *
 *   data/containers/<id>/   config.json, state.json (last known), upper/, work/, hosts,
 *                           hostname, resolv.conf, container.log
 *   data/images/            blobs/sha256/, repositories.json, layers/<chain-id>/
 *   data/volumes/<name>/    _data
 *   data/events.log
 *   run/containers/<id>/    state.json (live, from the monitor), monitor.sock
 */
#pragma once

#include "error.h"

#include <sys/types.h>

struct husk_store {
	char *data;
	char *run;
	uid_t uid;
	gid_t gid;
};

/* Resolves defaults ($XDG_DATA_HOME/husk or ~/.local/share/husk; $XDG_RUNTIME_DIR/husk) for
 * NULL arguments and creates the directories (0700). */
int husk_store_open(struct husk_store *s, const char *data, const char *run,
		    struct husk_error *err);
void husk_store_close(struct husk_store *s);

char *husk_store_data_path(const struct husk_store *s, const char *fmt, ...) _printf_(2, 3);
char *husk_store_run_path(const struct husk_store *s, const char *fmt, ...) _printf_(2, 3);

/* An exclusive lock on the store; returns the fd to pass to husk_store_unlock. */
int husk_store_lock(const struct husk_store *s);
void husk_store_unlock(int fd);
static inline void husk_store_unlockp(int *fd)
{
	if (*fd >= 0)
		husk_store_unlock(*fd);
}
#define _cleanup_store_lock_ _cleanup_(husk_store_unlockp)

/* The default run directory ($XDG_RUNTIME_DIR/husk); NULL when XDG_RUNTIME_DIR is unset. */
char *husk_default_run_dir(void);
char *husk_default_data_dir(void);
