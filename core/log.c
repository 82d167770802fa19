#include "log.h"

#include <stdarg.h>
#include <systemd/sd-journal.h>
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
	/* journald's socket is there only where journald runs; stderr otherwise (a service
	 * under systemd without journald, or a plain shell). */
	log_config.journal = access("/run/systemd/journal/socket", W_OK) == 0 &&
			     !getenv("HUSK_LOG_STDERR");
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
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s",
				log_config.ident, NULL);
		return;
	}
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	char ts[40];
	format_time_ns(now_ns(), ts);
	fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_config.ident, (int)getpid(),
		names[prio & 7], msg);
}
