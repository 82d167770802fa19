/* core/monitor_proto.c: one JSON message per SEQPACKET datagram, optionally with an fd;
 * EOF, timeouts and garbage; a whole call against a listening socket. */
#include "test.h"
#include "testutil.h"

#include "core/json.h"
#include "core/fs.h"
#include "core/monitor_proto.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static int sp[2];

static void pair(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		perror("socketpair");
		abort();
	}
}

static void unpair(void)
{
	close(sp[0]);
	close(sp[1]);
}

static void test_round_trip(void)
{
	pair();
	json_t *m = test_json("{'op':'kill','signal':15,'s':'\\u00e9\\n\\'','a':[1,null,true]}");
	CHECK_EQ(husk_mon_send(sp[0], m, -1), 0);
	json_t *got = NULL;
	int fd = 1234;
	CHECK_EQ(husk_mon_recv(sp[1], &got, &fd, 1000), 1);
	CHECK_EQ(fd, -1);
	CHECK(json_equal(got, m));
	json_decref(got);
	/* messages stay apart */
	CHECK_EQ(husk_mon_send(sp[0], m, -1), 0);
	json_t *ok = husk_mon_ok();
	CHECK_EQ(husk_mon_send(sp[0], ok, -1), 0);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, -1), 1);
	CHECK(json_equal(got, m));
	json_decref(got);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 0), 1);
	CHECK_JSON(got, "{'ok':true}");
	json_decref(got);
	json_decref(ok);
	json_decref(m);
	/* the biggest message there may be, and one byte more */
	_cleanup_free_ char *big = xmalloc(HUSK_MON_MSG_MAX);
	memset(big, 'x', HUSK_MON_MSG_MAX);
	size_t room = HUSK_MON_MSG_MAX - strlen("{\"s\":\"\"}");
	m = json_pack("{s:s%}", "s", big, room);
	CHECK_EQ(husk_mon_send(sp[0], m, -1), 0);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 1000), 1);
	CHECK_EQ(json_string_length(json_object_get(got, "s")), room);
	json_decref(got);
	json_decref(m);
	m = json_pack("{s:s%}", "s", big, room + 1);
	CHECK_EQ(husk_mon_send(sp[0], m, -1), -EMSGSIZE);
	json_decref(m);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 0), -ETIMEDOUT); /* nothing was sent */
	unpair();
}

static void test_fd_passing(void)
{
	pair();
	int p[2];
	CHECK_OK(pipe2(p, O_CLOEXEC));
	json_t *m = test_json("{'op':'attach'}");
	CHECK_EQ(husk_mon_send(sp[0], m, p[1]), 0);
	close(p[1]);
	json_t *got = NULL;
	int fd = -1;
	CHECK_EQ(husk_mon_recv(sp[1], &got, &fd, 1000), 1);
	CHECK_JSON(got, "{'op':'attach'}");
	json_decref(got);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		CHECK_EQ(write(fd, "hi", 2), 2); /* the same pipe */
		close(fd);
		char buf[4] = {0};
		CHECK_EQ(read(p[0], buf, sizeof buf), 2);
		CHECK_STREQ(buf, "hi");
	}
	/* an fd nobody asked for is closed, not leaked */
	CHECK_EQ(husk_mon_send(sp[0], m, p[0]), 0);
	struct stat before;
	CHECK_OK(fstat(p[0], &before));
	int probe = dup(0);
	close(probe); /* the lowest free descriptor */
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 1000), 1);
	json_decref(got);
	int again = dup(0);
	CHECK_EQ(again, probe);
	close(again);
	/* garbage with an fd: -EBADMSG, and the fd is closed */
	const char junk[] = "{not json";
	struct iovec iov = {.iov_base = (void *)junk, .iov_len = sizeof junk - 1};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	CHECK_EQ(sendmsg(sp[0], &mh, 0), (ssize_t)iov.iov_len);
	fd = 1234;
	CHECK_EQ(husk_mon_recv(sp[1], &got, &fd, 1000), -EBADMSG);
	CHECK_EQ(fd, -1);
	CHECK(got == NULL);
	again = dup(0);
	CHECK_EQ(again, probe);
	close(again);
	close(p[0]);
	json_decref(m);
	unpair();
}

static void send_raw(const char *s, size_t n)
{
	CHECK_EQ(send(sp[0], s, n, 0), (ssize_t)n);
}

static void test_bad_input(void)
{
	pair();
	json_t *got = (json_t *)1;
	int fd = 99;
	/* timeout */
	CHECK_EQ(husk_mon_recv(sp[1], &got, &fd, 20), -ETIMEDOUT);
	CHECK(got == NULL);
	CHECK_EQ(fd, -1);
	/* garbage: not JSON, not an object, cut short */
	static const char *const bad[] = {"{", "hello", "[1,2]", "\"s\"", "null", "{\"a\":1}x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		send_raw(bad[i], strlen(bad[i]));
		got = (json_t *)1;
		int r = husk_mon_recv(sp[1], &got, NULL, 1000);
		if (r != -EBADMSG || got != NULL) {
			fprintf(stderr, "  \"%s\": %d\n", bad[i], r);
			test_failures++;
		}
	}
	send_raw("{\"a\":1}\0junk", 12); /* a NUL inside the datagram */
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 1000), -EBADMSG);
	/* an oversized datagram is cut at the limit: not a whole message */
	_cleanup_free_ char *big = xmalloc(HUSK_MON_MSG_MAX + 10);
	memset(big, ' ', HUSK_MON_MSG_MAX + 10);
	big[0] = '{';
	big[HUSK_MON_MSG_MAX + 9] = '}';
	send_raw(big, HUSK_MON_MSG_MAX + 10);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, 1000), -EBADMSG);
	/* a bad socket */
	json_t *ok = husk_mon_ok();
	CHECK_EQ(husk_mon_recv(-1, &got, NULL, -1), -EBADF);
	CHECK_EQ(husk_mon_send(-1, ok, -1), -EBADF);
	/* EOF */
	close(sp[0]);
	CHECK_EQ(husk_mon_recv(sp[1], &got, &fd, 1000), 0);
	CHECK(got == NULL);
	CHECK_EQ(fd, -1);
	CHECK_EQ(husk_mon_recv(sp[1], &got, NULL, -1), 0);
	/* sending to a closed peer */
	CHECK_EQ(husk_mon_send(sp[1], ok, -1), -EPIPE);
	close(sp[1]);
	json_decref(ok);
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A monitor stand-in: answers each request as it says ({"op":"answer","with":{...}}), closes
 * at once ("close"), stays silent until the client leaves ("silent"), or exits ("quit"). */
_Noreturn static void serve(int ls)
{
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			_exit(1);
		json_t *req = NULL;
		int fd = -1;
		if (husk_mon_recv(c, &req, &fd, 5000) == 1) {
			const char *op = jstr(req, "op");
			if (streq(op, "quit"))
				_exit(0);
			json_t *with = json_object_get(req, "with");
			if (streq(op, "answer")) {
				json_object_set_new(with, "fd", json_boolean(fd >= 0));
				husk_mon_send(c, with, -1);
			} else if (streq(op, "silent")) {
				char b;
				while (read(c, &b, 1) > 0)
					;
			}
		}
		if (fd >= 0)
			close(fd);
		json_decref(req);
		close(c);
	}
}

static int call(const struct husk_store *s, const char *req, int fd, json_t **reply, int timeout_ms,
		struct husk_error *err)
{
	json_t *r = test_json(req);
	int k = husk_mon_call(s, ID, r, fd, reply, timeout_ms, err);
	json_decref(r);
	return k;
}

static void test_call(void)
{
	char *dir = test_tmpdir();
	struct husk_store store;
	test_store(&store, dir);
	/* a short run directory: sun_path holds 107 characters, and the socket's name alone
	 * (containers/<64 hex>/monitor.sock) takes 89 of them */
	char *run = xstrdup("/tmp/hmXXXXXX");
	CHECK(mkdtemp(run) != NULL);
	free(store.run);
	store.run = xstrdup(run);
	_cleanup_free_ char *rc = xasprintf("%s/containers", run);
	CHECK_OK(mkdir(rc, 0700));
	struct husk_error err = {0};
	json_t *reply = (json_t *)1;

	CHECK_EQ(call(&store, "{'op':'kill'}", -1, &reply, 1000, &err), -ESRCH);
	CHECK_STREQ(err.message, "container 0123456789ab is not running");
	CHECK(reply == NULL);

	_cleanup_free_ char *path = husk_mon_socket_path(&store, ID);
	_cleanup_free_ char *want = xasprintf("%s/containers/" ID "/monitor.sock", store.run);
	CHECK_STREQ(path, want);
	_cleanup_free_ char *rd = husk_store_run_path(&store, "containers/%s", ID);
	CHECK_OK(mkdir(rd, 0700));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK_OK(bind(ls, (struct sockaddr *)&sa, sizeof sa));
	/* bound, not listening: nobody there */
	CHECK_EQ(call(&store, "{'op':'kill'}", -1, NULL, 1000, &err), -ESRCH);
	CHECK_STREQ(err.message, "container 0123456789ab is not running");
	CHECK_OK(listen(ls, 8));
	fflush(NULL);
	pid_t server = fork();
	if (server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serve(ls);
	}
	close(ls);

	CHECK_EQ(
	    call(&store, "{'op':'answer','with':{'ok':true,'exitCode':3}}", -1, &reply, 5000, &err),
	    0);
	CHECK_JSON(reply, "{'ok':true,'exitCode':3,'fd':false}");
	json_decref(reply);
	CHECK_EQ(call(&store, "{'op':'answer','with':{'ok':true}}", 0, NULL, 5000, &err), 0);
	CHECK_EQ(call(&store, "{'op':'answer','with':{'ok':true}}", 0, &reply, 5000, &err), 0);
	CHECK_JSON(reply, "{'ok':true,'fd':true}");
	json_decref(reply);
	/* failures: the monitor's code and message */
	struct husk_error fail = {.code = -ENOENT};
	snprintf(fail.message, sizeof fail.message, "no such \"thing\"");
	json_t *f = husk_mon_fail(&fail);
	CHECK_JSON(f, "{'ok':false,'code':-2,'message':'no such \\'thing\\''}");
	json_t *req = json_pack("{s:s, s:O}", "op", "answer", "with", f);
	CHECK_EQ(husk_mon_call(&store, ID, req, -1, &reply, 5000, &err), -ENOENT);
	CHECK_EQ(err.code, -ENOENT);
	CHECK_STREQ(err.message, "no such \"thing\"");
	CHECK(reply == NULL);
	json_decref(req);
	json_decref(f);
	CHECK_EQ(call(&store, "{'op':'answer','with':{'ok':false}}", -1, &reply, 5000, &err), -EIO);
	CHECK_STREQ(err.message, "monitor request failed");
	CHECK_EQ(call(&store, "{'op':'answer','with':{'ok':false,'code':5,'message':'m'}}", -1,
		      &reply, 5000, &err),
		 -EIO);
	CHECK_STREQ(err.message, "m");
	CHECK_EQ(call(&store, "{'op':'answer','with':{'ok':'yes'}}", -1, &reply, 5000, &err), -EIO);
	/* no answer */
	CHECK_EQ(call(&store, "{'op':'close'}", -1, &reply, 5000, &err), -ESRCH);
	CHECK_STREQ(err.message, "the monitor of 0123456789ab went away");
	CHECK_EQ(call(&store, "{'op':'silent'}", -1, &reply, 30, &err), -EIO);
	CHECK_STREQ(err.message,
		    "no answer from the monitor of 0123456789ab: Connection timed out");
	CHECK(reply == NULL);

	CHECK_EQ(call(&store, "{'op':'quit'}", -1, NULL, 5000, &err), -ESRCH);
	int status;
	pid_t w = 0;
	for (int i = 0; i < 500 && (w = waitpid(server, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	if (w == 0) { /* the quit did not reach it */
		kill(server, SIGKILL);
		waitpid(server, &status, 0);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct husk_store deep;
	test_store(&deep, dir);
	free(deep.run);
	deep.run = xasprintf("%s/%0200d", dir, 0);
	/* A run dir too deep for sun_path: no monitor there reads as "not running", never as a
	 * path-length failure (long paths are reached through the directory's fd). */
	CHECK_EQ(call(&deep, "{'op':'kill'}", -1, &reply, 1000, &err), -ESRCH);
	CHECK(strstr(err.message, "is not running") != NULL);
	husk_store_close(&deep);
	husk_store_close(&store);
	test_tmpdir_remove(dir);
	test_tmpdir_remove(run);
}

/* unix_socket_addr: a socket deeper than sun_path binds and connects. */
static void test_long_socket_path(void)
{
	char *dir = test_tmpdir();
	_cleanup_free_ char *deep = xasprintf("%s/%0150d", dir, 0);
	CHECK_OK(mkdir(deep, 0700));
	_cleanup_free_ char *path = xasprintf("%s/monitor.sock", deep);
	CHECK(strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path));
	struct sockaddr_un sa;
	int dfd;
	CHECK_EQ(unix_socket_addr(path, &sa, &dfd), 0);
	CHECK(dfd >= 0);
	int srv = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK_OK(bind(srv, (struct sockaddr *)&sa, sizeof sa));
	CHECK_OK(listen(srv, 1));
	close(dfd);
	CHECK(access(path, F_OK) == 0);
	CHECK_EQ(unix_socket_addr(path, &sa, &dfd), 0);
	int cli = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK_OK(connect(cli, (struct sockaddr *)&sa, sizeof sa));
	close(dfd);
	close(cli);
	close(srv);
	_cleanup_free_ char *missing = xasprintf("%s/nodir/%0150d/x.sock", dir, 0);
	CHECK_EQ(unix_socket_addr(missing, &sa, &dfd), -ENOENT);
	test_tmpdir_remove(dir);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_long_socket_path);
	RUN(test_fd_passing);
	RUN(test_bad_input);
	RUN(test_call);
	return test_result();
}
