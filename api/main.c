/* husk-api: the Docker Engine API for one user, started on demand, gone when idle. */
#include "activation.h"
#include "api.h"
#include "autostart.h"
#include "server.h"

#include "core/fs.h"
#include "husk-config.h"

#include <fcntl.h>
#include <malloc.h>
#include <getopt.h>
#include <pthread.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static void usage(FILE *f)
{
	fputs("usage: husk-api [--listen unix:PATH] [--idle-timeout SECONDS] [--data-dir DIR]\n"
	      "                [--run-dir DIR] [--cgroup-root DIR] [--verbose]\n"
	      "\n"
	      "Serves the Docker Engine API on the socket passed by a socket activator\n"
	      "(LISTEN_FDS), or on --listen (default $XDG_RUNTIME_DIR/husk/husk.sock).\n"
	      "  --idle-timeout N  exit after N seconds without connections (0 = never;\n"
	      "                    default 10 when activated, else 0)\n"
	      "  --cgroup-root DIR a cgroup v2 directory delegated to this user, where each\n"
	      "                    container gets a cgroup of its own (for resource limits)\n"
	      "                    when husk-api is not run by systemd (default:\n"
	      "                    $HUSK_CGROUP_ROOT; under systemd, containers get scopes)\n",
	      f);
}

static int listen_unix(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		int r = mkdir_p(dir, 0700);
		if (r < 0) {
			husk_log(LOG_ERR, "cannot create %s: %s", dir, strerror(-r));
			return -1;
		}
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		husk_log(LOG_ERR, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A stale socket from an earlier run is replaced; a live one is not stolen. */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			husk_log(LOG_ERR, "%s: another husk-api is listening there", path);
			close(fd);
			return -1;
		}
		unlink(path);
	}
	/* Bound and listening under a temporary name, then renamed into place: a client that
	 * waits for the path to appear never connects before the listen (ECONNREFUSED). */
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int n = snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.%d", path, (int)getpid());
	bool renamed = n > 0 && (size_t)n < sizeof tmp.sun_path;
	const struct sockaddr_un *at = renamed ? &tmp : &sa;
	if (renamed)
		unlink(tmp.sun_path);
	mode_t old = umask(0177);
	int r = bind(fd, (const struct sockaddr *)at, sizeof *at);
	umask(old);
	if (r < 0 || chmod(at->sun_path, 0600) < 0 || listen(fd, 128) < 0 ||
	    (renamed && rename(tmp.sun_path, path) < 0)) {
		husk_log(LOG_ERR, "cannot listen on %s: %m", path);
		if (r == 0)
			unlink(at->sun_path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Connections are accepted here, not by MHD: the thread that decides that husk-api is idle is
 * the one that takes them in, so none can be accepted between that decision and the exit (one
 * accepted there was cut when the process ended). What waits in the backlog then is for the
 * next activation. */
static void accept_waiting(struct api *api, struct MHD_Daemon *d, int lfd)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof sa;
		int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				husk_log(LOG_WARNING, "accept: %m");
			return;
		}
		atomic_fetch_add(&api->connections, 1);
		if (MHD_add_connection(d, fd, (struct sockaddr *)&sa, len) != MHD_YES) {
			husk_log(LOG_WARNING, "cannot serve a connection: %m");
			atomic_store(&api->last_activity_ms, mono_ms());
			atomic_fetch_sub(&api->connections, 1);
		}
	}
}

static int wait_until_idle(struct api *api, struct MHD_Daemon *d, int lfd, int sfd)
{
	for (;;) {
		int timeout = -1;
		bool idle = false;
		if (api->idle_timeout) {
			int64_t idle_ms = (int64_t)api->idle_timeout * 1000;
			int64_t since = mono_ms() - atomic_load(&api->last_activity_ms);
			idle = atomic_load(&api->connections) == 0 && since >= idle_ms;
			timeout = idle ? 0
				       : atomic_load(&api->connections) > 0 ? 1000
									   : (int)(idle_ms - since) + 1;
		}
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
		int n = poll(p, 2, timeout);
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				husk_log(LOG_INFO, "signal %u, exiting", si.ssi_signo);
				return 0;
			}
		}
		if (n > 0 && (p[1].revents & POLLIN)) {
			accept_waiting(api, d, lfd);
			continue;
		}
		if (idle && n == 0) {
			husk_log(LOG_INFO, "idle for %us, exiting", api->idle_timeout);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"idle-timeout", required_argument, NULL, 't'},
		{"data-dir", required_argument, NULL, 'd'},
		{"run-dir", required_argument, NULL, 'r'},
		{"cgroup-root", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* One malloc arena for all the connection threads: a thread's own arena keeps what its
	 * requests freed, and husk-api's footprint would grow with every connection. */
	mallopt(M_ARENA_MAX, 1);
	const char *listen_arg = NULL, *data = NULL, *run = NULL;
	const char *cgroup_root = getenv("HUSK_CGROUP_ROOT");
	int64_t idle = -1;
	bool verbose = false;
	int c;
	while ((c = getopt_long(argc, argv, "l:t:d:r:c:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_arg = optarg;
			break;
		case 't':
			if (parse_int64(optarg, &idle) < 0 || idle < 0 || idle > 86400 * 365) {
				fprintf(stderr, "husk-api: invalid --idle-timeout: %s\n", optarg);
				return 2;
			}
			break;
		case 'd':
			data = optarg;
			break;
		case 'r':
			run = optarg;
			break;
		case 'c':
			cgroup_root = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("husk-api %s (API %s)\n", HUSK_VERSION, HUSK_API_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	husk_log_init("husk-api", verbose || getenv("HUSK_DEBUG"));

	static struct api api;
	api.owner = getuid();
	/* systemd sets INVOCATION_ID for the processes of its units: ours get scopes. */
	api.systemd = getenv("INVOCATION_ID") != NULL;
	api.cgroup_root = str_empty(cgroup_root) ? NULL : xstrdup(cgroup_root);
	if (api.systemd && api.cgroup_root)
		husk_log(LOG_WARNING,
			 "cgroup root %s not used: under systemd each container's cgroup is in its "
			 "monitor's scope",
			 api.cgroup_root);
	struct husk_error err = {0};
	if (husk_store_open(&api.store, data, run, &err) < 0) {
		husk_log(LOG_ERR, "%s", err.message);
		return 1;
	}
	husk_idmap_load(&api.idmap);
	api.monitor_path = husk_find_tool("husk-monitor", "HUSK_MONITOR");
	api.helper_path = husk_find_tool("husk-helper", "HUSK_HELPER");

	/* Blocked before the socket appears: a SIGTERM once a client can see it must reach the
	 * exit that removes it, not kill us with the socket left behind. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);

	int listen_fd = -1;
	_cleanup_free_ char *listen_path = NULL; /* ours to remove at exit */
	int n = activation_listen_fds(); /* also unsets LISTEN_*: nothing leaks to children */
	if (n < 0) {
		husk_log(LOG_ERR, "malformed LISTEN_PID or LISTEN_FDS from the activator");
		return 1;
	}
	if (n > 1) {
		husk_log(LOG_ERR, "expected one socket from the activator, got %d", n);
		return 1;
	}
	if (n == 1 && !listen_arg) {
		listen_fd = ACTIVATION_FDS_START;
		api.activated = true;
		int fl = fcntl(listen_fd, F_GETFL);
		fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
		fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	} else {
		_cleanup_free_ char *dflt = xasprintf("%s/husk.sock", api.store.run);
		const char *path = listen_arg ? listen_arg : dflt;
		const char *p = str_startswith(path, "unix://");
		if (!p)
			p = str_startswith(path, "unix:");
		listen_fd = listen_unix(p ? p : path);
		if (listen_fd < 0)
			return 1;
		listen_path = xstrdup(p ? p : path);
	}
	api.idle_timeout = idle >= 0 ? (unsigned)idle : (api.activated ? 10 : 0);

	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	struct MHD_Daemon *d = server_start(&api);
	if (!d) {
		husk_log(LOG_ERR, "cannot start the HTTP server");
		return 1;
	}
	int nr = activation_notify("READY=1"); /* and unset NOTIFY_SOCKET */
	if (nr < 0)
		husk_log(LOG_WARNING, "cannot tell the service manager husk-api is ready: %s",
			 strerror(-nr));
	autostart_after_boot(&api);
	husk_log(LOG_DEBUG, "serving (idle timeout %us, monitor %s)", api.idle_timeout,
		 api.monitor_path);

	wait_until_idle(&api, d, listen_fd, sfd);
	/* Containers belong to their monitors: there is nothing to tear down but the server.
	 * Streams still open (only on a signal) are cut. */
	if (atomic_load(&api.connections) == 0)
		MHD_stop_daemon(d);
	if (listen_path)
		unlink(listen_path);
	return 0;
}
