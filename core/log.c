#include "log.h"

#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static struct {
	const char *ident;
	int journal; /* a datagram socket to journald, or -1 */
	bool verbose;
} log_config = {"husk", -1, false};

void husk_log_init(const char *ident, bool verbose)
{
	log_config.ident = ident;
	log_config.verbose = verbose;
	/* journald's native socket is there only where journald runs; stderr otherwise. */
	if (access(JOURNAL_SOCKET, W_OK) == 0 && !getenv("HUSK_LOG_STDERR"))
		log_config.journal = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* journald's native protocol, as sd_journal_send() speaks it: one datagram of FIELD=value
 * lines. Done here rather than through libsystemd so that the statically linked monitor needs
 * none; our messages are single lines. */
static bool send_journal(int prio, const char *msg)
{
	static const struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET};
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nSYSLOG_PID=%d\nMESSAGE=",
			 prio, log_config.ident, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof buf)
		return false;
	size_t len = (size_t)n;
	for (const char *p = msg; *p && len < sizeof buf - 2; p++)
		buf[len++] = *p == '\n' ? ' ' : *p;
	buf[len++] = '\n';
	return sendto(log_config.journal, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
		      sizeof sa) == (ssize_t)len;
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
	if (log_config.journal >= 0 && send_journal(prio, msg))
		return;
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	char ts[40];
	format_time_ns(now_ns(), ts);
	fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_config.ident, (int)getpid(),
		names[prio & 7], msg);
}
