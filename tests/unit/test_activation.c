/* api/activation.c: the sd_listen_fds(3) and sd_notify(3) protocols, as systemd and
 * husk-activate speak them. */
#include "test.h"
#include "testutil.h"

#include "api/activation.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void setenv_int(const char *name, long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%ld", v);
	setenv(name, buf, 1);
}

static bool listen_vars_gone(void)
{
	return !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
}

static void test_listen_fds(void)
{
	/* Two passed sockets at 3 and 4, as an activator leaves them: no FD_CLOEXEC. */
	int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
	CHECK(dup2(a, 3) == 3 && dup2(b, 4) == 4);
	fcntl(3, F_SETFD, 0);
	fcntl(4, F_SETFD, 0);
	setenv_int("LISTEN_PID", getpid());
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "husk.socket:x", 1);
	CHECK_EQ(activation_listen_fds(), 2);
	CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(4, F_GETFD) & FD_CLOEXEC);
	CHECK(listen_vars_gone());

	/* Meant for another process (a parent that did not unset them): none for us. */
	setenv_int("LISTEN_PID", getpid() + 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_EQ(activation_listen_fds(), 0);
	CHECK(listen_vars_gone());

	/* Nothing passed. */
	CHECK_EQ(activation_listen_fds(), 0);
	setenv("LISTEN_FDS", "1", 1); /* without LISTEN_PID */
	CHECK_EQ(activation_listen_fds(), 0);
	CHECK(listen_vars_gone());

	static const char *const bad[][2] = {{"x", "1"}, {"1x", "1"}, {"0", "1"}, {"-5", "1"},
					     {"self", "-1"}, {"self", "two"}, {"self", ""},
					     {"self", "99999"}};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (strcmp(bad[i][0], "self") == 0)
			setenv_int("LISTEN_PID", getpid());
		else
			setenv("LISTEN_PID", bad[i][0], 1);
		setenv("LISTEN_FDS", bad[i][1], 1);
		CHECK_EQ(activation_listen_fds(), -EINVAL);
		CHECK(listen_vars_gone());
	}
	close(3);
	close(4);
	close(a);
	close(b);
}

/* A datagram socket bound to name (a path, or "@abstract"), as the service manager's. */
static int manager_socket(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + len) < 0)
		return -1;
	return fd;
}

static void expect_message(int fd, const char *want)
{
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	CHECK(n >= 0);
	buf[n < 0 ? 0 : n] = 0;
	CHECK_STREQ(buf, want);
}

/* activation_notify(state) with NOTIFY_SOCKET=name reaches a manager listening there. */
static void notify_through(const char *name, const char *state)
{
	int fd = manager_socket(name);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_EQ(activation_notify(state), 1);
	expect_message(fd, state);
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
	close(fd);
}

static void test_notify(void)
{
	/* No manager: nothing to do. */
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ(activation_notify("READY=1"), 0);

	char dir[] = "/tmp/husk-test-notify.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/notify", dir);
	notify_through(path, "READY=1");
	unlink(path);
	rmdir(dir);

	char abstract[64];
	snprintf(abstract, sizeof abstract, "@husk-test-notify-%d", (int)getpid());
	notify_through(abstract, "READY=1\nSTATUS=serving");

	/* A manager that is gone, and addresses husk-api cannot use: errors, and unset. */
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	CHECK_EQ(activation_notify("READY=1"), -ENOENT);
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	CHECK_EQ(activation_notify("READY=1"), -EAFNOSUPPORT);
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
}

int main(void)
{
	RUN(test_listen_fds);
	RUN(test_notify);
	return test_result();
}
