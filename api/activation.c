/* sd_listen_fds(3) and sd_notify(3), as systemd documents them, for husk-api's one socket
 * and its READY=1. */
#include "activation.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int activation_listen_fds(void)
{
	const char *spid = getenv("LISTEN_PID"), *sfds = getenv("LISTEN_FDS");
	int n = 0;
	if (spid && sfds) {
		int64_t pid, fds;
		if (parse_int64(spid, &pid) < 0 || parse_int64(sfds, &fds) < 0 || pid <= 0 ||
		    fds < 0 || fds > 4096)
			n = -EINVAL;
		else if (pid == getpid()) /* else they were meant for another process */
			n = (int)fds;
	}
	for (int i = 0; i < n; i++)
		if (fcntl(ACTIVATION_FDS_START + i, F_SETFD, FD_CLOEXEC) < 0) {
			n = -errno;
			break;
		}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}

int activation_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	int r = 0;
	if (str_empty(path))
		goto out;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
		r = -EAFNOSUPPORT; /* e.g. vsock:, which a user service is not given */
		goto out;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* an abstract name */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		r = -errno;
	else
		r = 1;
	close(fd);
out:
	unsetenv("NOTIFY_SOCKET");
	return r;
}
