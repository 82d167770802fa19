#include "monitor_proto.h"
#include "fs.h"
#include "json.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

char *husk_mon_socket_path(const struct husk_store *s, const char *id)
{
	return husk_store_run_path(s, "containers/%s/monitor.sock", id);
}

int husk_mon_send(int sock, const json_t *msg, int fd)
{
	_cleanup_free_ char *s = json_compact(msg);
	size_t n = strlen(s);
	if (n > HUSK_MON_MSG_MAX)
		return -EMSGSIZE;
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = s, .iov_len = n};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	ssize_t k;
	do {
		k = sendmsg(sock, &m, MSG_NOSIGNAL);
	} while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : 0;
}

int husk_mon_recv(int sock, json_t **msg, int *fd, int timeout_ms)
{
	*msg = NULL;
	if (fd)
		*fd = -1;
	if (timeout_ms >= 0) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int k;
		do {
			k = poll(&p, 1, timeout_ms);
		} while (k < 0 && errno == EINTR);
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
	}
	_cleanup_free_ char *buf = xmalloc(HUSK_MON_MSG_MAX + 1);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = HUSK_MON_MSG_MAX};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof cbuf};
	ssize_t n;
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof got);
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	if (n == 0)
		return 0;
	json_t *j = json_loadb(buf, (size_t)n, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -EBADMSG;
	}
	*msg = j;
	return 1;
}

int husk_mon_call(const struct husk_store *s, const char *id, const json_t *req, int fd,
		  json_t **reply, int timeout_ms, struct husk_error *err)
{
	_cleanup_free_ char *path = husk_mon_socket_path(s, id);
	struct sockaddr_un sa;
	_cleanup_close_ int dirfd = -1;
	if (reply)
		*reply = NULL;
	int r = unix_socket_addr(path, &sa, &dirfd);
	if (r == -ENOENT)
		return husk_error_set(err, -ESRCH, "container %.12s is not running", id);
	if (r < 0)
		return husk_error_sys(err, r, "monitor socket %s", path);
	_cleanup_close_ int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return husk_error_sys(err, -errno, "socket");
	if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return husk_error_set(err, -ESRCH, "container %.12s is not running", id);
		return husk_error_sys(err, -errno, "cannot reach the monitor of %.12s", id);
	}
	/* A reset: the monitor ended with our request unread (it was exiting, or killed), which
	 * is the same as having found it gone. */
	r = husk_mon_send(sock, req, fd);
	if (r == -ECONNRESET || r == -EPIPE)
		return husk_error_set(err, -ESRCH, "the monitor of %.12s went away", id);
	if (r < 0)
		return husk_error_sys(err, r, "cannot talk to the monitor of %.12s", id);
	json_t *ans = NULL;
	r = husk_mon_recv(sock, &ans, NULL, timeout_ms);
	if (r == 0 || r == -ECONNRESET)
		return husk_error_set(err, -ESRCH, "the monitor of %.12s went away", id);
	if (r < 0)
		return husk_error_sys(err, r, "no answer from the monitor of %.12s", id);
	if (!jbool(ans, "ok", false)) {
		int code = (int)jint(ans, "code", -EIO);
		r = husk_error_set(err, code < 0 ? code : -EIO, "%s",
				   str_or(jstr(ans, "message"), "monitor request failed"));
		json_decref(ans);
		return r;
	}
	if (reply)
		*reply = ans;
	else
		json_decref(ans);
	return 0;
}

json_t *husk_mon_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

json_t *husk_mon_fail(const struct husk_error *err)
{
	return json_pack("{s:b, s:i, s:s}", "ok", 0, "code", err->code, "message", err->message);
}
