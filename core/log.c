#include "log.h"

#include <stdarg.h>
#include <time.h>

static struct {
	const char *ident;
	bool journal;
	bool verbose;
} log_config = {"husk", false, false};

void husk_log_init(const char *ident, bool verbose)
{
	log_config.ident = ident;
	log_config.verbose = verbose;
	/* Where journald runs, its syslog socket takes our messages with their priority and
	 * identifier (syslog(3) keeps libsystemd out of the monitor, which must stay small);
	 * elsewhere, stderr. */
	log_config.journal = access("/run/systemd/journal/dev-log", W_OK) == 0 &&
			     !getenv("HUSK_LOG_STDERR");
	if (log_config.journal)
		openlog(ident, LOG_PID, LOG_USER);
}

void husk_log(int prio, const char *fmt, ...)
{
	if (prio >= LOG_DEBUG && !log_config.verbose)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (log_config.journal) {
		syslog(prio, "%s", msg);
		return;
	}
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	char ts[40];
	format_time_ns(now_ns(), ts);
	fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_config.ident, (int)getpid(),
		names[prio & 7], msg);
}
