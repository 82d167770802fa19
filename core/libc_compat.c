/* See libc_compat.h. */
#include "libc_compat.h"

#ifndef __GLIBC__
#include <signal.h>
#include <stddef.h>

const char *sigabbrev_np(int sig)
{
	/* glibc's names (its siglist.h) for Linux's numbers, on every architecture: SIGPOLL's
	 * "POLL" (not "IO"), SIGABRT's "ABRT" (not "IOT"), none for real-time signals. */
	static const char *const names[] = {
		[SIGHUP] = "HUP",	[SIGINT] = "INT",	[SIGQUIT] = "QUIT",
		[SIGILL] = "ILL",	[SIGTRAP] = "TRAP",	[SIGABRT] = "ABRT",
		[SIGBUS] = "BUS",	[SIGFPE] = "FPE",	[SIGKILL] = "KILL",
		[SIGUSR1] = "USR1",	[SIGSEGV] = "SEGV",	[SIGUSR2] = "USR2",
		[SIGPIPE] = "PIPE",	[SIGALRM] = "ALRM",	[SIGTERM] = "TERM",
#ifdef SIGSTKFLT
		[SIGSTKFLT] = "STKFLT",
#endif
		[SIGCHLD] = "CHLD",	[SIGCONT] = "CONT",	[SIGSTOP] = "STOP",
		[SIGTSTP] = "TSTP",	[SIGTTIN] = "TTIN",	[SIGTTOU] = "TTOU",
		[SIGURG] = "URG",	[SIGXCPU] = "XCPU",	[SIGXFSZ] = "XFSZ",
		[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",	[SIGWINCH] = "WINCH",
		[SIGPOLL] = "POLL",	[SIGPWR] = "PWR",	[SIGSYS] = "SYS",
	};
	if (sig <= 0 || (size_t)sig >= sizeof names / sizeof names[0])
		return NULL;
	return names[sig];
}
#endif
