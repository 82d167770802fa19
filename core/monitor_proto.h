/* The husk-api ⇄ husk-monitor protocol.
 *
 * Each container's monitor listens on run/containers/<id>/monitor.sock (SOCK_SEQPACKET). A
 * client connects, sends one request — a JSON object, optionally with one fd by SCM_RIGHTS —
 * and reads one JSON answer: {"ok":true,...} or {"ok":false,"code":-errno,"message":"..."}.
 *
 *   {"op":"kill","signal":N}                       signal the container's process; a kill
 *                                                  by the user also counts for the restart
 *                                                  policy (no restart after SIGKILL or the
 *                                                  stop signal; while restarting it ends the
 *                                                  container)
 *   {"op":"stop","signal":N,"timeout":T}           signal, SIGKILL after T s (T<0: never);
 *                                                  no restart follows; answered once the
 *                                                  exit is recorded: {"ok":true,"exitCode":N}
 *   {"op":"attach","stdin":b,"stdout":b,"stderr":b,"logs":b,"detachKeys":"..."} + fd
 *                                                  the fd (a hijacked client connection) is
 *                                                  the monitor's from now on
 *   {"op":"resize","h":H,"w":W}                    the TTY's window size
 *   {"op":"update","restartPolicy":{"Name":"always","MaximumRetryCount":0},
 *    "resources":{"Memory":N,"MemorySwap":N,"NanoCpus":N,"PidsLimit":N,...}}
 *                                                  docker update; config.json is husk-api's.
 *                                                  Either member may be left out.
 *                                                  restartPolicy: the policy for the next
 *                                                  exits. resources: the container's limits as
 *                                                  they now are (HostConfig's fields, merged
 *                                                  by husk-api), written into its cgroup; fails
 *                                                  (-EOPNOTSUPP) when it has none of its own
 *   {"op":"exec","exec":EID,"tty":b[,"h":H,"w":W]} [+ fd]
 *                                                  start exec EID (its record, core/exec.h,
 *                                                  says what); tty: the stream is raw, not
 *                                                  framed; h, w: the start's console size.
 *                                                  With the fd (the client's connection, the
 *                                                  monitor's from now on) the answer comes at
 *                                                  once, {"ok":true,"pid":P}, and a failure
 *                                                  to run the command goes into the stream;
 *                                                  without (detached) it comes once the
 *                                                  process runs, or as the failure
 *   {"op":"exec-resize","exec":EID,"h":H,"w":W}    an exec's terminal size
 *   {"op":"pause"}, {"op":"unpause"}              freeze or thaw the container (and record
 *                                                  "paused" in state.json); -EBUSY when it
 *                                                  is not running, already paused, not paused
 *
 * Starting: husk-api runs `husk-monitor --id ID --data-dir D --run-dir R --sync-fd N
 * [--attach-fd FD:FLAGS]... [--scope | --cgroup-root DIR]`; the monitor writes one JSON line
 * on the sync fd when the container runs ({"ok":true,"pid":P}) or could not start
 * ({"ok":false,"code":C, "message":"...","exitCode":127}), then closes it. With --scope it
 * first asks for its systemd scope ({"scope":PID}, answered "ok" or why not); its container's
 * cgroup is then <scope>/container (the monitor moves to <scope>/monitor). With --cgroup-root
 * it is DIR/husk-<id12> (core/delegation.h). The monitor records that cgroup in state.json
 * ("Cgroup") and removes it at its end. */
#pragma once

#include "error.h"
#include "store.h"

#include <jansson.h>

#define HUSK_MON_MSG_MAX 65536

int husk_mon_send(int sock, const json_t *msg, int fd);
/* 1 with a message (and *fd when one came, else -1), 0 on EOF, -ETIMEDOUT, or -errno. */
int husk_mon_recv(int sock, json_t **msg, int *fd, int timeout_ms);
/* One request/answer round trip. -ESRCH when no monitor listens (the container is not
 * running). The answer's failure is returned as its code with its message in err. */
int husk_mon_call(const struct husk_store *s, const char *id, const json_t *req, int fd,
		  json_t **reply, int timeout_ms, struct husk_error *err);
char *husk_mon_socket_path(const struct husk_store *s, const char *id);
/* Answers for the monitor side. */
json_t *husk_mon_ok(void);
json_t *husk_mon_fail(const struct husk_error *err);
