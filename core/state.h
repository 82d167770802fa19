/* A container's run state: written by its monitor (write-temp + rename), read by anyone.
 *
 * The live copy is run/containers/<id>/state.json (tmpfs, gone at reboot); the monitor also
 * writes data/containers/<id>/state.json at start and at exit (fsync'd), so the last state
 * survives a reboot. husk_state_load merges the two and checks the monitor is alive: a
 * container whose monitor is gone is reported exited, never running. */
#pragma once

#include "store.h"

#include <jansson.h>
#include <sys/types.h>

enum husk_status {
	HUSK_CREATED,
	HUSK_RUNNING,
	HUSK_PAUSED,
	HUSK_RESTARTING,
	HUSK_REMOVING,
	HUSK_EXITED,
	HUSK_DEAD,
};

struct husk_state {
	enum husk_status status;
	pid_t pid;		  /* the container's pid 1, as the host sees it */
	uint64_t pid_start;	  /* its start time (clock ticks), against pid reuse */
	pid_t monitor_pid;
	uint64_t monitor_start;	  /* the monitor's start time (clock ticks), against pid reuse */
	char boot_id[40];
	int exit_code;
	bool oom_killed;
	int64_t started_ns;
	int64_t finished_ns;
	char error[512];
	int restart_count;
	unsigned exit_count;	  /* exits recorded so far: wait?condition=next-exit counts them */
	bool removing;		  /* AutoRemove in progress */
	bool manually_stopped;	  /* stopped or killed by the user since its last start */
	json_t *health;		  /* State.Health, or NULL */
	char cgroup[512];	  /* the container's own cgroup (its monitor made it), or "" */
};

const char *husk_status_name(enum husk_status s);
void husk_state_init(struct husk_state *st);
void husk_state_clear(struct husk_state *st);

json_t *husk_state_to_json(const struct husk_state *st);
int husk_state_from_json(const json_t *j, struct husk_state *st);

/* Writes the live state (and, when persist, the data copy, fsync'd). */
int husk_state_save(const struct husk_store *s, const char *id, const struct husk_state *st,
		    bool persist);
/* Loads the merged state and resolves a dead monitor to "exited". */
int husk_state_load(const struct husk_store *s, const char *id, struct husk_state *st);

/* Whether pid is alive and started at start_ticks (0 = don't check). */
bool husk_pid_alive(pid_t pid, uint64_t start_ticks);
/* The start time of pid in clock ticks since boot (field 22 of /proc/pid/stat); 0 on error. */
uint64_t husk_pid_start_time(pid_t pid);
/* The kernel's boot id. */
void husk_boot_id(char out[40]);
