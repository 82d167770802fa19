/* Process logging: journald when it is there, else stderr. Never a container's streams. */
#pragma once

#include "util.h"

#include <syslog.h>

/* ident names the process in the log ("husk-api", "husk-monitor"). */
void husk_log_init(const char *ident, bool verbose);
void husk_log(int prio, const char *fmt, ...) _printf_(2, 3);
