/* husk-init: the process --init puts first in a container (at /sbin/docker-init, as Docker
 * does with its own).
 *
 * As PID 1 it starts the command as its only child, in a process group of its own and in the
 * foreground of the terminal if there is one; passes on to it every signal it gets (docker
 * stop's SIGTERM, which a command running as PID 1 would not get without a handler); reaps
 * whatever process ends up its child (orphans are given to PID 1); and exits as the command
 * did: its exit code, or 128 + the signal that killed it.
 *
 * Small and static: it runs in images without a C library. No husk code, no allocations.
 *
 * usage: husk-init [--] COMMAND [ARG]... */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Signals that report a fault of this process itself: never blocked. */
static const int synchronous[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS};

_Noreturn static void run_child(char **argv, const sigset_t *mask, const struct sigaction *ttin,
				const struct sigaction *ttou)
{
	/* Its own process group, given the terminal: ^C reaches the command and its children. */
	setpgid(0, 0);
	if (isatty(STDIN_FILENO))
		tcsetpgrp(STDIN_FILENO, getpgrp());
	sigaction(SIGTTIN, ttin, NULL);
	sigaction(SIGTTOU, ttou, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	int e = errno;
	fprintf(stderr, "husk-init: exec %s: %s\n", argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Reaps every child that has ended; returns 1 with *code once the command is among them. */
static int reap(pid_t child, int *code)
{
	int done = 0, status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != child)
			continue;
		done = 1;
		*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return done;
}

int main(int argc, char **argv)
{
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
	if (first >= argc) {
		fprintf(stderr, "usage: husk-init [--] COMMAND [ARG]...\n");
		return 2;
	}
	/* Not PID 1 (run by hand): orphans of the command come to us all the same. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	/* Every signal is taken with sigtimedwait, none by a handler; the child gets the mask
	 * and dispositions we were started with. */
	sigset_t all, old;
	sigfillset(&all);
	for (size_t i = 0; i < sizeof synchronous / sizeof *synchronous; i++)
		sigdelset(&all, synchronous[i]);
	sigprocmask(SIG_SETMASK, &all, &old);
	/* Giving the terminal to the child's group stops us with SIGTTOU otherwise. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, ttin, ttou;
	sigaction(SIGTTIN, &ign, &ttin);
	sigaction(SIGTTOU, &ign, &ttou);

	pid_t child = fork();
	if (child < 0) {
		perror("husk-init: fork");
		return 1;
	}
	if (child == 0)
		run_child(argv + first, &old, &ttin, &ttou);

	int code = 0;
	for (;;) {
		siginfo_t si;
		const struct timespec tick = {.tv_sec = 1};
		int sig = sigtimedwait(&all, &si, &tick);
		if (sig > 0 && sig != SIGCHLD && kill(child, sig) < 0 && errno != ESRCH)
			perror("husk-init: kill");
		/* A SIGCHLD can stand for several children; the tick catches any we missed. */
		if (reap(child, &code))
			return code;
	}
}
