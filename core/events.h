/* The events log: data/events.log, one Docker event message (JSON) per line, appended by
 * husk-api and by monitors (so events that happen while no API runs are kept), rotated to
 * events.log.1 past a size bound. GET /events reads it. */
#pragma once

#include "store.h"

#include <jansson.h>

#define HUSK_EVENTS_MAX_BYTES (4u << 20)

/* Appends one event. attrs (stolen; may be NULL) becomes Actor.Attributes. Never fails the
 * caller's operation: a write error is logged. */
void husk_event_emit(const struct husk_store *s, const char *type, const char *action,
		     const char *id, json_t *attrs);
/* Attributes Docker gives container events: image, name, and the labels. */
json_t *husk_event_container_attrs(const json_t *config_doc);

struct husk_events_reader {
	const struct husk_store *store;
	FILE *f;
	bool on_rotated; /* reading events.log.1, then events.log */
	ino_t ino;	 /* of events.log, to notice a rotation while following */
	char *line;
	size_t cap;
};

int husk_events_open(struct husk_events_reader *r, const struct husk_store *s);
/* Skips what is recorded so far: the reader returns only events written from now on. */
int husk_events_seek_end(struct husk_events_reader *r);
/* 1 with an event (caller decrefs), 0 at the current end. */
int husk_events_next(struct husk_events_reader *r, json_t **event);
void husk_events_close(struct husk_events_reader *r);

/* The exit code of the last "die" event of container id, or -1. */
int husk_event_last_exit(const struct husk_store *s, const char *id);
