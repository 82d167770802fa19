/* coldstart — cold activation as a service manager does it: fork a small process, hand it
 * the listening socket as fd 3 with LISTEN_FDS=1 and LISTEN_PID (sd_listen_fds(3)), exec the
 * server; then connect and time until the first /_ping is answered. The server is stopped
 * (SIGTERM) after each run. A Python activator would add its own fork of a large process to
 * every figure; this measures what systemd's socket activation costs the server.
 *
 *   coldstart -n RUNS -s SOCKET -- SERVER ARGS...     prints "median=MS min=MS p90=MS" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double one_run(int lfd, const struct sockaddr_un *sa, char **argv)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		char spid[16];
		snprintf(spid, sizeof spid, "%d", (int)getpid());
		setpgid(0, 0); /* a group of its own: whatever it forks is stopped with it */
		if (lfd != 3 && dup2(lfd, 3) < 0)
			_exit(127);
		fcntl(3, F_SETFD, 0);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", spid, 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid); /* as the child does: whichever runs first */
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	double dt = -1;
	static const char req[] = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	if (connect(c, (const struct sockaddr *)sa, sizeof *sa) == 0 &&
	    write(c, req, sizeof req - 1) == (ssize_t)(sizeof req - 1) &&
	    read(c, buf, sizeof buf) > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
		dt = now_ms() - t0;
	close(c);
	/* The whole group: a server that re-executes itself (podman does, into its user
	 * namespace) would otherwise keep serving the socket, and the next run would time an
	 * answer from a warm process. */
	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (int i = 0; kill(-pid, 0) == 0; i++) {
		if (i == 200)
			kill(-pid, SIGKILL);
		usleep(10000);
	}
	return dt;
}

int main(int argc, char **argv)
{
	int runs = 10, opt;
	const char *path = NULL;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 's')
			path = optarg;
		else
			return 2;
	}
	if (!path || optind >= argc || runs < 1) {
		fprintf(stderr, "usage: coldstart -n RUNS -s SOCKET -- SERVER ARGS...\n");
		return 2;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return 2;
	strcpy(sa.sun_path, path);
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) {
		perror("coldstart: listen");
		return 1;
	}
	double *t = calloc((size_t)runs, sizeof *t);
	one_run(lfd, &sa, argv + optind); /* warm-up: page cache */
	for (int i = 0; i < runs; i++) {
		t[i] = one_run(lfd, &sa, argv + optind);
		if (t[i] < 0) {
			fprintf(stderr, "coldstart: no answer to /_ping\n");
			return 1;
		}
	}
	qsort(t, (size_t)runs, sizeof *t, cmp);
	printf("median=%.2f min=%.2f p90=%.2f\n", t[runs / 2], t[0], t[runs * 9 / 10]);
	unlink(path);
	return 0;
}
