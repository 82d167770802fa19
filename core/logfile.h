/* The container log: one file per container, one entry per line, readable without the
 * monitor:
 *
 *   2026-11-29T05:01:02.123456789Z stdout F hello
 *   2026-11-29T05:01:02.223456789Z stderr P partial output without newline
 *
 * F ends a line (the newline is implied), P is a piece of a line still open (the container
 * wrote no newline yet, e.g. a prompt). The content never holds a newline. This is the CRI
 * log format; `docker logs` needs since/until/tail/timestamps from it, nothing more. */
#pragma once

#include "error.h"

#include <stdio.h>

enum { HUSK_STDIN = 0, HUSK_STDOUT = 1, HUSK_STDERR = 2 };

struct husk_logw {
	int fd;
};

int husk_logw_open(struct husk_logw *w, const char *path);
void husk_logw_close(struct husk_logw *w);
/* Appends the output chunk, a line per entry; a trailing piece without newline becomes a P
 * entry at once so that followers see it. */
int husk_logw_write(struct husk_logw *w, int stream, const char *data, size_t n, int64_t ts_ns);

struct husk_log_entry {
	int64_t ts_ns;
	int stream;	 /* HUSK_STDOUT or HUSK_STDERR */
	bool partial;	 /* P: no newline after content */
	const char *content;
	size_t len;
};

struct husk_logr {
	FILE *f;
	char *line;
	size_t cap;
	bool at_line_start; /* the previous entry ended a line (F) */
};

int husk_logr_open(struct husk_logr *r, const char *path);
void husk_logr_close(struct husk_logr *r);
/* 1 with an entry, 0 at the current end of file (more may come later), <0 on error.
 * Malformed lines are skipped. */
int husk_logr_next(struct husk_logr *r, struct husk_log_entry *e);
/* Positions the reader so that the last n lines (F-terminated, with their P pieces) remain.
 * n < 0: everything. */
int husk_logr_tail(struct husk_logr *r, int64_t n);
/* Parses one line (without its newline); 0 or -EINVAL. */
int husk_log_parse_line(const char *line, size_t len, struct husk_log_entry *e);
/* Docker's --timestamps form: RFC 3339 with exactly nine fraction digits. buf: 40 bytes. */
char *husk_log_timestamp(int64_t ns, char buf[static 40]);
