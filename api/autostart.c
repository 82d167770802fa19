/* The first husk-api of a boot starts the containers Docker's daemon would start at its own
 * start. Monitors record the boot id in each container's persistent state.json; a container
 * whose last state comes from another boot did not run since the machine came up. The lock
 * and the marker make it happen once per boot, however many APIs start at once. */
#include "autostart.h"
#include "lifecycle.h"

#include "core/container.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/restart_policy.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>

struct autostart {
	struct api *api;
	char **ids;
};

static void *run(void *arg)
{
	struct autostart *a = arg;
	for (size_t i = 0; a->ids[i]; i++) {
		struct husk_error err = {0};
		int r = container_start(a->api, a->ids[i], &err);
		if (r < 0 && r != -EALREADY)
			husk_log(LOG_WARNING, "cannot start %.12s after the reboot: %s", a->ids[i],
				 err.message);
		else
			husk_log(LOG_INFO, "started %.12s after the reboot", a->ids[i]);
	}
	atomic_store(&a->api->last_activity_ms, mono_ms());
	atomic_fetch_sub(&a->api->connections, 1);
	strv_free(a->ids);
	free(a);
	return NULL;
}

/* The containers to start, or NULL when this boot had its turn (the marker is then set). */
static char **to_start(struct api *api, const char *boot)
{
	_cleanup_free_ char *lockp = husk_store_run_path(&api->store, "autostart.lock");
	_cleanup_free_ char *marker = husk_store_run_path(&api->store, "autostart.boot");
	_cleanup_close_ int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return NULL;
	_cleanup_free_ char *done = NULL;
	if (read_file(marker, &done, NULL, 128) == 0 && streq(done, boot))
		return NULL;
	if (write_file_atomic(marker, boot, strlen(boot), 0600, false) < 0)
		return NULL; /* better none than again at every start */
	_cleanup_strv_ char **ids = NULL;
	char **start = NULL;
	husk_container_list_ids(&api->store, &ids);
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_container_ struct husk_container *c = NULL;
		if (husk_container_load(&api->store, ids[i], &c, NULL) < 0)
			continue;
		struct husk_restart_policy p;
		husk_restart_policy_parse(jobj(jobj(c->config, "HostConfig"), "RestartPolicy"), &p);
		if (husk_restart_at_boot(&p, &c->state, boot))
			start = strv_push(start, ids[i]);
	}
	return start;
}

void autostart_after_boot(struct api *api)
{
	char boot[40];
	husk_boot_id(boot);
	if (!boot[0])
		return;
	char **ids = to_start(api, boot);
	if (!ids)
		return;
	struct autostart *a = xcalloc(1, sizeof *a);
	a->api = api;
	a->ids = ids;
	/* Counted as a connection: the API does not go idle before the containers run. */
	atomic_fetch_add(&api->connections, 1);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, run, a) != 0) {
		atomic_fetch_sub(&api->connections, 1);
		strv_free(a->ids);
		free(a);
	}
	pthread_attr_destroy(&attr);
}
