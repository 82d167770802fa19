"""husk without a daemon (issue 3): husk-api comes and goes, containers stay.

husk-api is started by an activator (husk-activate here, systemd's husk.socket in
test_systemd_units.py) or with --listen, and exits when idle; it may also be stopped or killed
at any moment. Containers belong to their husk-monitor processes and everything else is on disk,
so containers keep running, logging and exiting while no API runs, and the next husk-api sees
all of it. Most tests use `lone_husk` (conftest.py): a husk of this module's own whose husk-api
exits after 1 s without connections.
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import (BUILD, DOCKER, MONITOR, REPO, TEST_IMAGE, Husk, UnixHTTPConnection, pid_alive,
                      proc_environ, wait_until)

IDLE = 1  # lone_husk's --idle-timeout
ACTIVATION_VARS = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET")


def name():
    return "d" + uuid.uuid4().hex[:10]


def argv_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


def procs(basename, *args):
    """Live pids whose argv[0] ends in basename and whose argv holds every one of args."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            argv = argv_of(d)
            if argv and os.path.basename(argv[0]) == basename and all(a in argv for a in args) \
                    and pid_alive(d):
                out.append(int(d))
    return out


def cid_of(h, ref):
    return h.docker("inspect", "-f", "{{.Id}}", ref).stdout.strip()


def live_state(h, cid):
    """The monitor's record in the run dir, read from disk (no API involved)."""
    try:
        with open(os.path.join(h.run_dir, "containers", cid, "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def state_of(h, ref):
    return json.loads(h.docker("inspect", "-f", "{{json .State}}", ref).stdout)


def activate(h):
    """Makes sure a husk-api runs (the activator starts one for a connection); its pid."""
    assert h.api("GET", "/_ping").status == 200
    pids = h.api_pids()
    assert len(pids) == 1, pids
    return pids[0]


def kill_api_and_wait(h, sig=signal.SIGKILL):
    pids = h.api_pids()
    assert pids, "no husk-api to kill"
    h.kill_api(sig)
    assert h.wait_api_gone(5), f"husk-api {pids} did not end on signal {sig}"


def iso_to_epoch(s):
    """Docker's RFC 3339 time with nanoseconds (UTC) as float seconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", s)
    assert m, s
    base = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return base + float("0." + (m.group(2) or "0"))


def api_at(sock, method, path, body=None, timeout=30):
    """One request on a given socket: (status, parsed JSON body or None)."""
    conn = UnixHTTPConnection(sock, timeout=timeout)
    headers = {}
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data


def create_at(sock, cmd):
    """A container created through the husk-api at sock; its id."""
    code, body = api_at(sock, "POST", f"/containers/create?name={name()}",
                        {"Image": TEST_IMAGE, "Cmd": cmd})
    assert code == 201, body
    return body["Id"]


def read_frames(s, want, timeout=10):
    """Reads stdcopy frames from a hijacked attach socket until want (bytes) is in stdout."""
    buf, out = b"", b""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while want not in out:
        if time.monotonic() > deadline:
            break
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            stream, size = buf[0], struct.unpack(">I", buf[4:8])[0]
            if len(buf) < 8 + size:
                break
            if stream == 1:
                out += buf[8:8 + size]
            buf = buf[8 + size:]
    return out


def request_head(sock, request, status, sent=None):
    """Sends a raw request and reads its answer's head, byte by byte so that nothing of the
    body or stream after it is taken; the connected socket. sent() is called in between."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(request.encode())
    if sent:
        sent()
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = s.recv(1)
        assert c, f"connection closed in the answer's head: {head!r}"
        head += c
    assert head.startswith(f"HTTP/1.1 {status}".encode()), head
    return s


def open_stream(sock, method, path, sent=None):
    """A request whose answer streams (its head comes at once); the socket, for the body."""
    return request_head(sock, f"{method} {path} HTTP/1.1\r\nHost: husk\r\nContent-Length: 0"
                        "\r\nConnection: close\r\n\r\n", 200, sent)


def read_to_end(s, timeout=10):
    """The rest of a stream, until the other side closes it (or resets it)."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                return out
            out += c
    except ConnectionResetError:
        return out


def wait_for_lock_waiter(path, timeout=10):
    """Until some process waits for the flock on path (as /proc/locks shows it)."""
    ino = os.stat(path).st_ino

    def waiting():
        with open("/proc/locks") as f:
            return any("->" in line and line.split()[6].endswith(f":{ino}")
                       for line in f if len(line.split()) > 6)
    return wait_until(waiting, timeout, 0.005)


@contextlib.contextmanager
def listening_apis(h, tmp_path, n):
    """n husk-apis of --listen on h's store, which stay (the activated one exits when idle):
    (their sockets, their processes), ended when done."""
    apis, logs, socks = [], [], []
    try:
        for i in range(n):
            socks.append(os.path.join(h.run_dir, f"api{i}.sock"))
            logs.append(open(tmp_path / f"api{i}.log", "wb"))
            apis.append(subprocess.Popen(h.api_args() + ["--listen", f"unix:{socks[i]}"],
                                         stdout=logs[i], stderr=logs[i],
                                         env=dict(os.environ, HUSK_LOG_STDERR="1"),
                                         start_new_session=True))
            assert wait_until(lambda: os.path.exists(socks[i]) or apis[i].poll() is not None,
                              10)
        yield socks, apis
    finally:
        for a in apis:
            if a.poll() is None:
                a.terminate()
                a.wait(timeout=10)
        for f in logs:
            f.close()


def attach_raw(sock, cid):
    """POST /attach with Upgrade: tcp, as the docker CLI sends it; the hijacked socket."""
    return request_head(sock, f"POST /v1.43/containers/{cid}/attach?stream=1&stdin=1&stdout=1"
                        "&stderr=1 HTTP/1.1\r\nHost: husk\r\nContent-Type: text/plain\r\n"
                        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n", 101)


# --- activation ----------------------------------------------------------------------------

def test_activation_protocol_ready_and_no_leak(tmp_path, image_tars):
    """Any activator that passes LISTEN_FDS works (here: this test, by hand). husk-api sends
    READY=1 to NOTIFY_SOCKET, and neither LISTEN_* nor NOTIFY_SOCKET reaches its children: not
    the monitors, not the containers.

    /proc/<husk-api>/environ is not checked: the kernel shows there the environment block as it
    was at exec, which unsetenv() cannot change; what husk-api hands on is its environ, and that
    is what its monitors show."""
    run = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or str(tmp_path), f"husk-a{os.getpid()}")
    os.makedirs(run, mode=0o700, exist_ok=True)
    sock_path = os.path.join(run, "a.sock")
    notify_path = str(tmp_path / "notify")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sock_path)
    lsock.listen(16)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    data = str(tmp_path / "data")
    argv = [os.path.join(BUILD, "api", "husk-api"), "--data-dir", data, "--run-dir", run,
            "--idle-timeout", str(IDLE)]
    env = dict(os.environ, HUSK_MONITOR=MONITOR,
               HUSK_LOG_STDERR="1", NOTIFY_SOCKET=notify_path)
    log = open(tmp_path / "api.log", "wb")
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(lsock.fileno(), 3)  # the duplicate is inheritable
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            env.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="husk.socket")
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    status = None
    dh = dict(os.environ, DOCKER_HOST=f"unix://{sock_path}",
              DOCKER_CONFIG=str(tmp_path / "docker-config"))

    def docker(*args):
        p = subprocess.run([DOCKER, *args], env=dh, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"docker {args}: {p.stderr}\n{(tmp_path / 'api.log').read_text()}"
        return p.stdout

    try:
        notify.settimeout(10)
        msg = notify.recv(4096).decode()
        assert "READY=1" in msg.split("\n"), msg
        docker("load", "-i", image_tars["image"])
        env_lines = docker("run", "--rm", TEST_IMAGE, "env").splitlines()
        for v in ACTIVATION_VARS:
            assert not any(line.startswith(v + "=") for line in env_lines), env_lines
        cid = docker("run", "-d", TEST_IMAGE, "sleep", "60").strip()
        with open(os.path.join(run, "containers", cid, "state.json")) as f:
            st = json.load(f)
        menv = proc_environ(st["MonitorPid"])
        assert "HOME" in menv  # readable, and it is an environment
        assert not [v for v in ACTIVATION_VARS if v in menv], menv
        # the container's process as the host sees it
        cenv = proc_environ(st["Pid"])
        assert "PATH" in cenv
        assert not [v for v in ACTIVATION_VARS if v in cenv], cenv
        docker("rm", "-f", cid)
        # idle: exits 0 on its own, with the listening socket still ours
        deadline = time.monotonic() + IDLE + 5
        while time.monotonic() < deadline:
            got, ws = os.waitpid(pid, os.WNOHANG)
            if got:
                status = os.waitstatus_to_exitcode(ws)
                break
            time.sleep(0.02)
        assert status == 0, f"husk-api did not exit 0 when idle: {status}\n" + \
            (tmp_path / "api.log").read_text()
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        lsock.close()
        notify.close()
        log.close()
        shutil.rmtree(run, ignore_errors=True)


def test_standalone_listen_and_idle_exit(tmp_path):
    """husk-api --listen without any activator: a 0600 socket it makes and removes again when
    it exits idle (status 0)."""
    run = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or str(tmp_path), f"husk-s{os.getpid()}")
    sock = os.path.join(run, "sub", "s.sock")
    log = open(tmp_path / "api.log", "wb")
    p = subprocess.Popen([os.path.join(BUILD, "api", "husk-api"), "--listen", f"unix://{sock}",
                          "--data-dir", str(tmp_path / "data"), "--run-dir", run,
                          "--idle-timeout", str(IDLE)], stdout=log, stderr=log,
                         env=dict(os.environ, HUSK_LOG_STDERR="1"), start_new_session=True)
    try:
        assert wait_until(lambda: os.path.exists(sock) or p.poll() is not None, 10)
        st = os.stat(sock)
        assert oct(st.st_mode & 0o777) == oct(0o600)
        assert oct(os.stat(os.path.dirname(sock)).st_mode & 0o777) == oct(0o700)
        status, v = api_at(sock, "GET", "/version")
        assert status == 200 and v["ApiVersion"], v
        t0 = time.monotonic()
        assert p.wait(timeout=IDLE + 5) == 0
        assert time.monotonic() - t0 >= IDLE - 0.2
        assert not os.path.exists(sock)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(run, ignore_errors=True)


def test_socket_appears_only_when_listening(tmp_path):
    """The socket path appears only once husk-api listens on it: a client that waits for the
    path and connects at once is never refused (it was bound, then listened: a window)."""
    run = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or str(tmp_path), f"husk-w{os.getpid()}")
    sock = os.path.join(run, "w.sock")
    try:
        for i in range(15):
            p = subprocess.Popen([os.path.join(BUILD, "api", "husk-api"), "--listen",
                                  f"unix:{sock}", "--data-dir", str(tmp_path / "data"),
                                  "--run-dir", run, "--idle-timeout", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                deadline = time.monotonic() + 10
                while not os.path.exists(sock) and p.poll() is None:
                    assert time.monotonic() < deadline
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock)  # ECONNREFUSED in the window
                s.close()
                assert [f for f in os.listdir(run) if f.startswith("w.sock.")] == []
            finally:
                p.terminate()
                p.wait()
            assert not os.path.exists(sock), i
    finally:
        shutil.rmtree(run, ignore_errors=True)


# --- idle exit ------------------------------------------------------------------------------

def test_idle_exit_and_reactivation(lone_husk):
    h = lone_husk
    pid = activate(h)
    t0 = time.monotonic()
    assert h.wait_api_gone(IDLE + 4), "husk-api did not exit when idle"
    took = time.monotonic() - t0
    assert took >= IDLE - 0.2, f"exited after {took:.2f}s, before its idle timeout"
    assert wait_until(lambda: (pid, 0) in h.activations(), 5), h.activations()
    # the next request starts a new one
    assert h.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    new = activate(h)
    assert new != pid


def test_request_in_flight_keeps_api(lone_husk):
    """A slow request (stop waiting out its timeout) holds husk-api past its idle timeout."""
    h = lone_husk
    n = name()
    h.docker("run", "-d", "--name", n, TEST_IMAGE, "sleep", "60")  # pid 1 ignores SIGTERM
    pid = activate(h)
    t0 = time.monotonic()
    h.docker("stop", "-t", str(IDLE + 1), n)
    assert time.monotonic() - t0 >= IDLE + 0.8
    assert h.api_pids() == [pid], "husk-api was replaced while a request was in flight"
    assert state_of(h, n)["ExitCode"] == 137
    h.docker("rm", n)


@pytest.mark.parametrize("stream", ["events", "logs-follow", "wait", "stats"])
def test_open_stream_keeps_api(lone_husk, stream):
    h = lone_husk
    n = name()
    cid = h.docker("run", "-d", "--name", n, TEST_IMAGE, "sh", "-c",
                   "echo hello; sleep 60").stdout.strip()
    method, path = {"events": ("GET", "/events"),
                    "logs-follow": ("GET", f"/containers/{cid}/logs?follow=1&stdout=1"),
                    "wait": ("POST", f"/containers/{cid}/wait"),
                    "stats": ("GET", f"/containers/{cid}/stats?stream=1")}[stream]
    pid = activate(h)
    s = open_stream(h.sock, method, path)
    try:
        time.sleep(2 * IDLE + 0.5)
        assert h.api_pids() == [pid], f"husk-api went away under an open {stream} stream"
        if stream == "events":
            s.close()
        else:
            h.docker("kill", n)
            body = read_to_end(s)
            want = {"wait": b'"StatusCode":137', "logs-follow": b"hello\n",
                    "stats": b'"cpu_stats"'}[stream]
            assert want in body, body
        # with the stream closed, idle again
        assert h.wait_api_gone(IDLE + 4), "husk-api did not exit after the stream ended"
    finally:
        s.close()
        h.docker("rm", "-f", n, check=False)


def test_a_request_at_the_idle_exit_is_not_lost(lone_husk, tmp_path):
    """A client that connects just as husk-api has decided to exit is served, by it or by the
    next activation: never accepted and then cut by the exit. strace holds husk-api's main
    thread in the log call that follows the decision (husk_log's getpid), and an events stream
    is opened then."""
    h = lone_husk
    pid = activate(h)
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: cannot hold husk-api at its exit")
    tracer = subprocess.Popen(["strace", "-qq", "-o", str(tmp_path / "strace.log"), "-p",
                               str(pid), "-e", "trace=getpid", "-e",
                               "inject=getpid:delay_enter=1500000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stopped():
        try:
            with open(f"/proc/{pid}/task/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "t"
        except OSError:
            return False

    def held():
        # strace stops the thread at every syscall (and at the attach) for a moment; only
        # the delayed getpid keeps it stopped for long
        t0 = time.monotonic()
        while stopped():
            if time.monotonic() - t0 > 0.1:
                return True
            time.sleep(0.002)
        return False
    s = None
    try:
        assert wait_until(held, IDLE + 5, 0.002), \
            "husk-api's main thread never stopped in getpid at its idle exit"
        # Once the request is sent, strace has done its part: SIGTERM makes it detach and
        # the exit goes on untraced. (LeakSanitizer's check at exit needs ptrace itself: under
        # strace an ASan build fails it and exits 1, after more delayed getpids of its own.)
        s = open_stream(h.sock, "GET", "/events", sent=tracer.terminate)
        tracer.wait(timeout=10)
        assert h.wait_api_gone(5) or h.api_pids() != [pid]
        # the stream is served and stays open: the next husk-api holds it
        s.settimeout(2 * IDLE + 0.5)
        try:
            got = s.recv(4096)
            assert got, "the events stream was cut"
        except socket.timeout:
            pass
        assert h.api_pids() and h.api_pids() != [pid]
        assert (pid, 0) in h.activations()
    finally:
        if s:
            s.close()
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()


def test_running_containers_do_not_keep_api(lone_husk):
    h = lone_husk
    n = name()
    h.docker("run", "-d", "--name", n, TEST_IMAGE, "sleep", "60")
    assert h.wait_api_gone(IDLE + 4), "husk-api stayed for a running container"
    cid = cid_of(h, n)
    assert live_state(h, cid)["Status"] == "running"
    assert state_of(h, n)["Running"] is True
    h.docker("rm", "-f", n)


def session_outlives_the_api(h, s, what):
    """On a hijacked socket to `while read l; do echo got $l; done`: a line answered, husk-api
    gone idle, and the next line still answered."""
    s.sendall(b"one\n")
    assert b"got one\n" in read_frames(s, b"got one\n")
    assert h.wait_api_gone(IDLE + 4), f"an {what} session kept husk-api alive"
    s.sendall(b"two\n")
    assert b"got two\n" in read_frames(s, b"got two\n")


def test_attach_session_is_handed_to_the_monitor(lone_husk):
    """A hijacked attach does not hold husk-api: it exits idle while the session goes on."""
    h = lone_husk
    n = name()
    cid = h.docker("run", "-d", "-i", "--name", n, TEST_IMAGE, "sh", "-c",
                   "while read l; do echo got $l; done").stdout.strip()
    s = attach_raw(h.sock, cid)
    try:
        session_outlives_the_api(h, s, "attach")
    finally:
        s.close()
    h.docker("rm", "-f", n)


def test_exec_session_is_handed_to_the_monitor(lone_husk):
    """A hijacked exec start does not hold husk-api either: it exits idle while the exec's
    stdin and stdout go on, and a new one reports the exit code."""
    h = lone_husk
    n = name()
    h.docker("run", "-d", "--name", n, TEST_IMAGE, "sleep", "60")
    status, body = api_at(h.sock, "POST", f"/containers/{n}/exec", {
        "Cmd": ["sh", "-c", "while read l; do echo got $l; done; exit 5"],
        "AttachStdin": True, "AttachStdout": True, "AttachStderr": True})
    assert status == 201, body
    eid = body["Id"]
    payload = b'{"Detach":false,"Tty":false}'
    s = request_head(h.sock, f"POST /v1.44/exec/{eid}/start HTTP/1.1\r\nHost: husk\r\n"
                     "Content-Type: application/json\r\nConnection: Upgrade\r\n"
                     f"Upgrade: tcp\r\nContent-Length: {len(payload)}\r\n\r\n"
                     + payload.decode(), 101)
    try:
        session_outlives_the_api(h, s, "exec")
        s.shutdown(socket.SHUT_WR)
        read_to_end(s)
    finally:
        s.close()
    assert wait_until(lambda: api_at(h.sock, "GET", f"/exec/{eid}/json")[1]["Running"] is False)
    assert api_at(h.sock, "GET", f"/exec/{eid}/json")[1]["ExitCode"] == 5
    h.docker("rm", "-f", n)


def test_docker_run_i_session_survives_the_api(lone_husk):
    """`docker run -i`: the attach goes on after husk-api is killed (the CLI only loses its
    wait request, and says so)."""
    h = lone_husk
    n = name()
    p = subprocess.Popen([DOCKER, "run", "-i", "--name", n, TEST_IMAGE, "sh", "-c",
                          "while read l; do echo got $l; done; echo bye"],
                         env=h.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"one\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"got one\n"
        kill_api_and_wait(h)
        p.stdin.write(b"two\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"got two\n"
        p.stdin.close()
        assert p.stdout.readline() == b"bye\n"
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert wait_until(lambda: state_of(h, n)["Status"] == "exited")
    assert state_of(h, n)["ExitCode"] == 0
    h.docker("rm", n)


# --- containers outlive husk-api -----------------------------------------------------------

@pytest.mark.parametrize("how", ["idle", "sigterm", "sigkill"])
def test_containers_outlive_the_api(lone_husk, how):
    """Whether husk-api exits idle, is stopped or is killed: the container runs on, logs, and
    its monitor records the exit code and time; a later husk-api serves all of it."""
    h = lone_husk
    n = name()
    lines = 25
    cid = h.docker("run", "-d", "--name", n, TEST_IMAGE, "sh", "-c",
                   f"i=0; while [ $i -lt {lines} ]; do echo line $i; i=$((i+1)); sleep 0.1; done;"
                   " exit 7").stdout.strip()
    if how == "idle":
        assert h.wait_api_gone(IDLE + 4)
    else:
        kill_api_and_wait(h, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    gone = time.time()
    assert live_state(h, cid)["Status"] == "running", "the container ended before the API"
    assert wait_until(lambda: (live_state(h, cid) or {}).get("Status") == "exited", 15)
    assert h.api_pids() == [], "something started a husk-api meanwhile"
    logs = h.docker("logs", "-t", n).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in logs] == [f"line {i}" for i in range(lines)]
    assert any(iso_to_epoch(line.split(" ", 1)[0]) > gone for line in logs), \
        "no line was logged while no API ran"
    st = state_of(h, n)
    assert (st["Status"], st["ExitCode"], st["Error"]) == ("exited", 7, "")
    assert iso_to_epoch(st["FinishedAt"]) > gone
    assert iso_to_epoch(st["FinishedAt"]) >= iso_to_epoch(st["StartedAt"])
    h.docker("rm", n)


# --- recovery -------------------------------------------------------------------------------

def test_view_rebuilt_from_disk(lone_husk):
    """Containers that ran on, exited and were auto-removed while no API ran: ps, inspect,
    logs, wait and rm of a new husk-api are right about each."""
    h = lone_husk
    a, b, c = name(), name(), name()
    h.docker("run", "-d", "--name", a, TEST_IMAGE, "sleep", "60")
    h.docker("run", "-d", "--name", b, TEST_IMAGE, "sh", "-c", "sleep 1; echo bye; exit 3")
    cid_c = h.docker("run", "-d", "--rm", "--name", c, TEST_IMAGE, "sh", "-c",
                     "sleep 1; exit 4").stdout.strip()
    ida, idb = cid_of(h, a), cid_of(h, b)
    kill_api_and_wait(h)
    cdir = os.path.join(h.data_dir, "containers")
    assert wait_until(lambda: (live_state(h, idb) or {}).get("Status") == "exited"
                      and not os.path.exists(os.path.join(cdir, cid_c)), 15)
    assert h.api_pids() == []
    ours = f"name=^/?({a}|{b}|{c})$"
    assert h.docker("ps", "--filter", ours, "--format", "{{.Names}}").stdout.split() == [a]
    assert sorted(h.docker("ps", "-a", "--filter", ours, "--format", "{{.Names}} {{.State}}")
                  .stdout.splitlines()) == sorted([f"{a} running", f"{b} exited"])
    sb = state_of(h, b)
    assert (sb["Status"], sb["ExitCode"], sb["Running"]) == ("exited", 3, False)
    assert h.docker("logs", b).stdout == "bye\n"
    p = h.docker("inspect", c, check=False)
    assert p.returncode != 0 and "No such" in p.stderr
    t0 = time.monotonic()
    assert h.docker("wait", b).stdout.strip() == "3"
    assert time.monotonic() - t0 < 2, "wait for an exited container did not return at once"
    for cmd in ("wait", "rm"):
        p = h.docker(cmd, c, check=False)
        assert p.returncode != 0 and "No such container" in p.stderr, (cmd, p)
    h.docker("rm", b)
    h.docker("rm", "-f", a)
    assert not os.path.exists(os.path.join(cdir, ida))


def test_sigkill_of_one_monitor(lone_husk):
    """A monitor killed: its container is reported exited (255, with the error) and its
    processes are gone; the other container does not notice; the first can start again."""
    h = lone_husk
    a, b = name(), name()
    ida = h.docker("run", "-d", "--name", a, TEST_IMAGE, "sh", "-c",
                   "sleep 60 & echo started; wait").stdout.strip()
    idb = h.docker("run", "-d", "--name", b, TEST_IMAGE, "sh", "-c",
                   "while :; do echo tick; sleep 0.1; done").stdout.strip()
    sa, sb = live_state(h, ida), live_state(h, idb)
    assert wait_until(lambda: h.docker("logs", a).stdout == "started\n", 5)
    with open(f"/proc/{sa['Pid']}/task/{sa['Pid']}/children") as f:
        procs_a = [sa["Pid"]] + [int(c) for c in f.read().split()]
    assert len(procs_a) == 2, procs_a
    os.kill(sa["MonitorPid"], signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(sa["MonitorPid"]), 5)
    st = state_of(h, a)
    assert (st["Status"], st["Running"], st["ExitCode"]) == ("exited", False, 255), st
    assert "monitor" in st["Error"], st
    assert wait_until(lambda: not any(pid_alive(p) for p in procs_a), 5), \
        "processes of the container live on"
    assert h.docker("ps", "--filter", f"name=^/?{a}$", "-q").stdout.strip() == ""
    assert h.docker("wait", a).stdout.strip() == "255"
    # the other one
    assert pid_alive(sb["MonitorPid"]) and pid_alive(sb["Pid"])
    assert state_of(h, b)["Running"] is True
    before = len(h.docker("logs", b).stdout.splitlines())
    assert wait_until(lambda: len(h.docker("logs", b).stdout.splitlines()) > before + 2, 5)
    # and a started again
    h.docker("start", a)
    assert state_of(h, a)["Running"] is True
    h.docker("rm", "-f", a, b)


def monitor_queue(pid):
    """Connections waiting in the listen queue of monitor pid's socket (ss), or None."""
    out = subprocess.run(["ss", "-xlp"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f"pid={pid}," in line and line.startswith("u_seq"):
            return int(line.split()[2])
    return None


@pytest.mark.parametrize("op,want", [("stop", 204), ("kill", 409), ("pause", 409),
                                     ("update", 200)])
def test_request_left_unread_by_a_monitor_that_ends(lone_husk, op, want):
    """A monitor that ends with a request of husk-api still in its queue (it was exiting, or
    was killed): the container is not running, and the answer is the one for a container
    without a monitor (stop done, kill and pause 409, update kept for the next start), not a
    500 "no answer from the monitor: Connection reset by peer"."""
    if not shutil.which("ss"):
        pytest.skip("no ss to see the monitor's listen queue")
    h = lone_husk
    cid = h.docker("run", "-d", "--name", name(), TEST_IMAGE, "sleep", "1000").stdout.strip()
    mon = live_state(h, cid)["MonitorPid"]
    body = {"RestartPolicy": {"Name": "always"}} if op == "update" else None
    out = {}
    os.kill(mon, signal.SIGSTOP)
    try:
        t = threading.Thread(target=lambda: out.update(
            r=h.api("POST", f"/containers/{cid}/{op}", body)))
        t.start()
        assert wait_until(lambda: monitor_queue(mon), 10), "the request never got queued"
    finally:
        os.kill(mon, signal.SIGKILL)
        os.kill(mon, signal.SIGCONT)
    t.join(30)
    assert out["r"].status == want, out["r"]
    st = state_of(h, cid)
    assert not st["Running"] and st["Status"] == "exited", st
    if op == "update":
        assert h.docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}",
                        cid).stdout.strip() == "always"
    h.docker("rm", "-f", cid)


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def test_pause_of_a_container_that_ends_meanwhile(lone_husk, tmp_path):
    """docker pause with signals (no cgroup of its own) while the container ends, an exec
    process in it: its pid 1, stopped by the pause and then killed, waits, exiting, for the
    monitor to reap the exec process (the monitor's child), so it never shows stopped. The
    pause answers "is not running"; it waited its 5 s for pid 1 to stop, the monitor deaf to
    everything meanwhile, and answered 500."""
    h = lone_husk
    # a husk-api of --listen without a cgroup root: the container pauses with SIGSTOP
    with listening_apis(h, tmp_path, 1) as (socks, _):
        cid = create_at(socks[0], ["sleep", "1000"])
        assert api_at(socks[0], "POST", f"/containers/{cid}/start")[0] == 204
        code, body = api_at(socks[0], "POST", f"/containers/{cid}/exec",
                            {"Cmd": ["sleep", "1000"]})
        assert api_at(socks[0], "POST", f"/exec/{body['Id']}/start", {"Detach": True})[0] \
            == 200
        st = live_state(h, cid)
        # the monitor's signals take 1 s on their way back: pid 1 is stopped and then
        # killed before the pause has looked at it again
        tracer = traced(st["MonitorPid"], "kill", 1000000, str(tmp_path / "strace.log"))
        out = {}
        try:
            t = threading.Thread(target=lambda: out.update(
                r=api_at(socks[0], "POST", f"/containers/{cid}/pause")))
            t.start()
            assert wait_until(lambda: proc_state(st["Pid"]) == "T", 10), "pid 1 never stopped"
            os.kill(st["Pid"], signal.SIGKILL)
            t0 = time.monotonic()
            t.join(30)
        finally:
            tracer.kill()
            tracer.wait()
        assert out["r"][0] == 409, out["r"]
        assert "is not running" in out["r"][1]["message"]
        assert time.monotonic() - t0 < 4.5
        assert wait_until(lambda: state_of(h, cid)["Status"] == "exited", 10)
        h.docker("rm", "-f", cid)


@pytest.mark.parametrize("how", ["run-dir-removed", "boot-id-changed"])
def test_reboot(lone_husk, how):
    """The machine went down with the container running: the run dir (tmpfs) is gone, or the
    recorded boot is not this one. The container reads as exited, and starts again."""
    h = lone_husk
    n = name()
    cid = h.docker("run", "-d", "--name", n, TEST_IMAGE, "sleep", "60").stdout.strip()
    st = live_state(h, cid)
    # Power off: the processes die without a word.
    os.kill(st["MonitorPid"], signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(st["Pid"]), 5)
    shutil.rmtree(os.path.join(h.run_dir, "containers", cid))
    if how == "boot-id-changed":
        keep = os.path.join(h.data_dir, "containers", cid, "state.json")
        with open(keep) as f:
            rec = json.load(f)
        assert rec["BootId"]
        rec["BootId"] = str(uuid.uuid4())
        with open(keep, "w") as f:
            json.dump(rec, f)
    s = state_of(h, n)
    assert (s["Status"], s["Running"], s["ExitCode"]) == ("exited", False, 255), s
    if how == "boot-id-changed":
        assert "shut down" in s["Error"], s
    assert h.docker("wait", n).stdout.strip() == "255"
    h.docker("start", n)
    assert state_of(h, n)["Running"] is True
    h.docker("rm", "-f", n)


# --- SIGKILL of husk-api at several points -------------------------------------------------

HEX64 = re.compile(r"[0-9a-f]{64}")


def assert_store_whole(h):
    """Every container in the store is whole (all its files) and the API lists exactly those;
    what is not a container is a work directory of a create or rm (a dot name, never listed)."""
    cdir = os.path.join(h.data_dir, "containers")
    ids = set()
    for e in os.listdir(cdir):
        p = os.path.join(cdir, e)
        if not HEX64.fullmatch(e):
            assert e.startswith("."), f"stray {p}"
            continue
        assert os.path.isfile(os.path.join(p, "config.json")), \
            f"half container {p}: {os.listdir(p)}"
        with open(os.path.join(p, "config.json")) as f:
            assert json.load(f)["Id"] == e
        for f in ("hosts", "hostname", "resolv.conf"):
            assert os.path.isfile(os.path.join(p, f)), f"half container {p}: no {f}"
        for d in ("upper", "work"):
            assert os.path.isdir(os.path.join(p, d)), f"half container {p}: no {d}"
        ids.add(e)
    assert set(h.docker("ps", "-aq", "--no-trunc").stdout.split()) == ids


def traced(pid, syscalls, delay_us, log):
    """strace -p PID delaying the given syscalls on their way out: a slow disk, so that a kill
    can land between two steps. Returns the strace process once it is attached."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: cannot hold husk-api between two steps")
    p = subprocess.Popen(["strace", "-f", "-qq", "-o", log, "-p", str(pid), "-e",
                          "trace=" + syscalls, "-e", f"inject={syscalls}:delay_exit={delay_us}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def attached():
        try:
            for t in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{t}/status") as f:
                    if "TracerPid:\t0\n" in f.read():
                        return False
            return True
        except OSError:
            return False
    if not wait_until(attached, 10):
        p.kill()
        pytest.skip(f"strace cannot attach to husk-api here: {p.communicate()[1]!r}")
    return p


FS_STEPS = "?mkdir,mkdirat,?rename,renameat,?renameat2"


@pytest.mark.parametrize("when", ["store-locked", "half-made", "made-not-answered"])
def test_sigkill_during_create(lone_husk, tmp_path, when):
    """husk-api killed while it creates a container: afterwards the container exists whole or
    not at all, and creating it again gives a container (or Docker's 409 if the first made it)."""
    h = lone_husk
    n = name()
    cdir = os.path.join(h.data_dir, "containers")
    before = set(os.listdir(cdir))
    pid = activate(h)
    lock = tracer = None
    if when == "store-locked":
        lock = open(os.path.join(h.data_dir, ".lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    else:
        tracer = traced(pid, FS_STEPS, 150000, str(tmp_path / "strace.log"))
    client = subprocess.Popen([DOCKER, "create", "--name", n, TEST_IMAGE, "true"], env=h.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def new_entries():
            return set(os.listdir(cdir)) - before

        def made():
            return [e for e in new_entries() if HEX64.fullmatch(e)
                    and os.path.exists(os.path.join(cdir, e, "config.json"))]
        if when == "store-locked":
            assert wait_for_lock_waiter(lock.name), "the create never waited for the store lock"
        elif when == "half-made":
            assert wait_until(new_entries, 10, 0.001), "create never began"
        else:
            assert wait_until(made, 10, 0.001), "create never finished its record"
        os.kill(pid, signal.SIGKILL)
        client.communicate(timeout=10)
        assert client.returncode != 0, "the create was answered before the kill"
    finally:
        if lock:
            lock.close()
        if tracer:
            tracer.wait(timeout=10)
        if client.poll() is None:
            client.kill()
            client.wait()
    assert h.wait_api_gone(5)
    assert_store_whole(h)
    p = h.docker("create", "--name", n, TEST_IMAGE, "true", check=False)
    if when == "made-not-answered":
        assert p.returncode != 0 and "is already in use" in p.stderr, p
    else:
        assert p.returncode == 0, p.stderr
    assert_store_whole(h)
    assert [e for e in os.listdir(cdir) if e.startswith(".")] == [], \
        "work directories of the killed create were left behind"
    assert len(h.docker("ps", "-aq", "--filter", f"name=^/?{n}$").stdout.split()) == 1
    assert h.docker("start", "-a", n).returncode == 0
    h.docker("rm", n)


@pytest.mark.parametrize("when", ["before-the-monitor", "monitor-spawned"])
def test_sigkill_during_start(lone_husk, when):
    """husk-api killed in a start: the start happened (one monitor, running) or it did not
    (created); either way docker start works again."""
    h = lone_husk
    n = name()
    cid = h.docker("create", "--name", n, TEST_IMAGE, "sh", "-c",
                   "echo started; sleep 60").stdout.strip()
    pid = activate(h)
    lock = None
    if when == "before-the-monitor":
        # starts of one container take this lock first, across API processes
        rdir = os.path.join(h.run_dir, "containers", cid)
        os.makedirs(rdir, exist_ok=True)
        lock = open(os.path.join(rdir, "start.lock"), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    client = subprocess.Popen([DOCKER, "start", n], env=h.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        if lock:
            assert wait_for_lock_waiter(lock.name), "the start never waited for its lock"
        else:
            assert wait_until(lambda: procs("husk-monitor", cid), 10, 0.001)
        os.kill(pid, signal.SIGKILL)
        client.communicate(timeout=10)
    finally:
        if lock:
            lock.close()
        if client.poll() is None:
            client.kill()
            client.wait()
    assert h.wait_api_gone(5)
    if when == "before-the-monitor":
        assert client.returncode != 0
        assert procs("husk-monitor", cid) == []
        assert state_of(h, n)["Status"] == "created"
    else:
        assert wait_until(lambda: (live_state(h, cid) or {}).get("Status") == "running", 10)
    h.docker("start", n)
    st = state_of(h, n)
    assert st["Running"] is True
    assert procs("husk-monitor", cid) == [live_state(h, cid)["MonitorPid"]]
    assert wait_until(lambda: h.docker("logs", n).stdout == "started\n", 5)
    h.docker("rm", "-f", n)


def test_start_through_another_api_while_a_killed_ones_monitor_starts(lone_husk, tmp_path):
    """husk-api killed while the monitor it spawned is still starting the container, and a
    start of it through another husk-api at once: that start waits for the monitor's verdict
    and finds the container running. It found it "created" (the killed one's start lock was
    gone with it) and started a second monitor on it; one of them then ran on after rm -f."""
    h = lone_husk
    cid = None
    with listening_apis(h, tmp_path, 2) as (socks, apis):
        try:
            cid = create_at(socks[1], ["sleep", "1000"])
            # under the first husk-api (and the monitor it spawns) every execve takes 2 s: the
            # monitor's own, then the container's, before which the monitor records nothing
            tracer = traced(apis[0].pid, "execve", 2000000, str(tmp_path / "strace.log"))
            try:
                first = threading.Thread(target=api_at, args=(socks[0], "POST",
                                                              f"/containers/{cid}/start"),
                                         kwargs={"timeout": 60})
                first.start()
                assert wait_until(lambda: procs("husk-monitor", cid), 10, 0.001)
                apis[0].kill()
                apis[0].wait()
                second = api_at(socks[1], "POST", f"/containers/{cid}/start", timeout=60)
                first.join(60)
            finally:
                tracer.kill()
                tracer.wait()
            assert second[0] in (204, 304), second
            assert wait_until(lambda: state_of(h, cid)["Running"], 10)
            assert wait_until(lambda: len(procs("husk-monitor", cid)) == 1, 5), \
                procs("husk-monitor", cid)
            assert procs("husk-monitor", cid) == [live_state(h, cid)["MonitorPid"]]
            h.docker("rm", "-f", cid)
            assert wait_until(lambda: not procs("husk-monitor", cid), 10), "a monitor ran on"
        finally:
            for pid in procs("husk-monitor", cid) if cid else []:
                os.kill(pid, signal.SIGKILL)
            if cid:
                h.docker("rm", "-f", cid, check=False)


@pytest.mark.parametrize("stream", ["wait", "logs-follow"])
def test_sigkill_during_a_stream(lone_husk, stream):
    """husk-api killed under a pending wait or logs -f: the client sees the end, the container
    runs on, and the same request later gets its answer."""
    h = lone_husk
    n = name()
    cid = h.docker("run", "-d", "--name", n, TEST_IMAGE, "sh", "-c",
                   "echo first; sleep 60").stdout.strip()
    s = open_stream(h.sock, *{"wait": ("POST", f"/containers/{cid}/wait"),
                              "logs-follow": ("GET", f"/containers/{cid}/logs?follow=1&stdout=1")
                              }[stream])
    try:
        kill_api_and_wait(h)
        t0 = time.monotonic()
        read_to_end(s)
        assert time.monotonic() - t0 < 5
    finally:
        s.close()
    st = live_state(h, cid)
    assert st["Status"] == "running" and pid_alive(st["Pid"])
    # again, through the docker CLI, to the end
    cmd = ["wait", n] if stream == "wait" else ["logs", "-f", n]
    again = subprocess.Popen([DOCKER, *cmd], env=h.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    h.docker("kill", n)
    out, err = again.communicate(timeout=10)
    assert out == ("137\n" if stream == "wait" else "first\n"), (out, err)
    h.docker("rm", n)


def test_sigkill_during_load(tmp_path, image_tars):
    """husk-api killed while it receives an image and while husk-helper unpacks it: the image
    is there whole or not at all, and loading it again works."""
    h = Husk(str(tmp_path), run_name=f"husk-ld{os.getpid()}")
    h.start(idle_timeout=IDLE)
    try:
        tar = image_tars["image"]
        size = os.path.getsize(tar)
        # 1. half the archive sent
        activate(h)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(h.sock)
        s.sendall(f"POST /images/load?quiet=1 HTTP/1.1\r\nHost: husk\r\nContent-Type: "
                  f"application/x-tar\r\nContent-Length: {size}\r\n\r\n".encode())
        with open(tar, "rb") as f:
            s.sendall(f.read(size // 2))
        time.sleep(0.2)
        kill_api_and_wait(h)
        s.close()
        assert h.docker("images", "-q").stdout.strip() == ""
        tmp = os.path.join(h.data_dir, "tmp")
        assert not os.path.isdir(tmp) or os.listdir(tmp) == []
        # 2. the archive received, husk-helper at work
        activate(h)
        client = subprocess.Popen([DOCKER, "load", "-i", tar], env=h.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert wait_until(lambda: procs("husk-helper", h.data_dir), 10, 0.001), \
                "husk-helper never ran"
            kill_api_and_wait(h)
            client.communicate(timeout=10)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        assert wait_until(lambda: not procs("husk-helper", h.data_dir), 30)
        images = h.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        assert images in ([], [TEST_IMAGE]), images
        if images:
            assert h.docker("run", "--rm", TEST_IMAGE, "cat", "/etc/layer2").returncode == 0
        # 3. again, to the end
        assert "Loaded image" in h.docker("load", "-i", tar).stdout
        assert h.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split() == \
            [TEST_IMAGE]
        h.docker("run", "--rm", TEST_IMAGE, "cat", "/etc/layer2")
    finally:
        h.close()


# --- two API processes on one store --------------------------------------------------------

def race(fn):
    """fn(0) and fn(1) in two threads let go at the same moment; their results."""
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        barrier.wait()
        results[i] = fn(i)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


def test_two_api_processes_race(lone_husk, tmp_path):
    """A husk-api started by hand with --listen beside the activated one, on the same store:
    the same name created through both at once gives one container and Docker's 409; removing
    it through both at once removes it once."""
    h = lone_husk
    sock2 = os.path.join(h.run_dir, "second.sock")
    log = open(tmp_path / "second.log", "wb")
    second = subprocess.Popen(h.api_args() + ["--listen", f"unix:{sock2}"], stdout=log,
                              stderr=log, env=dict(os.environ, HUSK_LOG_STDERR="1"),
                              start_new_session=True)
    try:
        assert wait_until(lambda: os.path.exists(sock2) or second.poll() is not None, 10)
        socks = [h.sock, sock2]
        since = time.time()
        for _ in range(10):
            n = name()
            results = race(lambda i: api_at(socks[i], "POST", f"/containers/create?name={n}",
                                            {"Image": TEST_IMAGE, "Cmd": ["true"]}))
            codes = sorted(r[0] for r in results)
            assert codes == [201, 409], results
            winner = next(r[1]["Id"] for r in results if r[0] == 201)
            loser = next(r[1] for r in results if r[0] == 409)
            assert f'The container name "/{n}" is already in use by container "{winner}"' \
                in loser["message"], loser
            assert h.docker("ps", "-aq", "--no-trunc", "--filter",
                            f"name=^/?{n}$").stdout.split() == [winner]
            results = race(lambda i: api_at(socks[i], "DELETE", f"/containers/{n}?force=1"))
            codes = sorted(r[0] for r in results)
            assert codes == [204, 404], results
            assert not os.path.exists(os.path.join(h.data_dir, "containers", winner))
        assert second.poll() is None, "the second husk-api died"
        assert_store_whole(h)
        # one create and one destroy event for each container
        ev = h.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                      "--filter", "type=container", "--format", "{{.Action}} {{.Actor.ID}}"
                      ).stdout.splitlines()
        for action in ("create", "destroy"):
            ids = [e.split()[1] for e in ev if e.split()[0] == action]
            assert len(ids) == 10 and len(set(ids)) == 10, ev
    finally:
        second.terminate()
        assert second.wait(timeout=10) == 0
        log.close()


def test_rm_during_a_start_through_another_api(lone_husk, tmp_path):
    """docker rm of a created container through one husk-api while a start of it runs through
    another: the rm waits for the start and finds the container running (409), or removes it
    first and the start finds nothing (404). Never both: the rm, which had seen it "created",
    removed it under its running monitor, which no list showed and no rm -f could end."""
    h = lone_husk
    cid = None
    # two of --listen: processes that stay, one to trace and one beside it
    with listening_apis(h, tmp_path, 2) as (socks, apis):
        try:
            cid = create_at(socks[1], ["sleep", "1000"])
            # the first's locks take 2 s: its rm has looked at the container and is on its way to
            # the removal when the start comes through the second
            tracer = traced(apis[0].pid, "flock", 2000000, str(tmp_path / "strace.log"))
            try:
                out = {}
                rm = threading.Thread(target=lambda: out.update(
                    rm=api_at(socks[0], "DELETE", f"/containers/{cid}", timeout=60)))
                rm.start()
                time.sleep(0.5)
                start = api_at(socks[1], "POST", f"/containers/{cid}/start", timeout=60)
                rm.join(60)
            finally:
                tracer.kill()
                tracer.wait()
            rm = out["rm"]
            monitors = procs("husk-monitor", cid)
            assert (rm[0], start[0]) in ((204, 404), (409, 204)), (rm, start)
            if rm[0] == 204:
                assert not monitors, f"monitor {monitors} runs a container that was removed"
                assert not os.path.exists(os.path.join(h.run_dir, "containers", cid))
            else:
                assert state_of(h, cid)["Running"]
            assert [a.poll() for a in apis] == [None, None], "a husk-api died"
        finally:
            for pid in procs("husk-monitor", cid) if cid else []:
                os.kill(pid, signal.SIGKILL)
            if cid:
                h.docker("rm", "-f", cid, check=False)


def test_start_of_a_container_its_monitor_removes(lone_husk):
    """docker start of a --rm container that has exited while its monitor is removing it:
    Docker's 409, and the container goes. The start spawned a second monitor, which ran on in
    the container the first one then removed."""
    h = lone_husk
    n = name()
    cid = h.docker("run", "-d", "--rm", "--name", n, TEST_IMAGE, "sleep", "0.5").stdout.strip()
    # the exited container's monitor waits for the store lock to remove it
    lock = open(os.path.join(h.data_dir, ".lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        assert wait_for_lock_waiter(lock.name), "the monitor never went to remove it"
        assert (live_state(h, cid) or {}).get("Removing") is True, live_state(h, cid)
        r = h.api("POST", f"/containers/{cid}/start")
        assert r.status == 409, r
        assert "marked for removal" in json.loads(r.body)["message"]
    finally:
        lock.close()
    assert wait_until(lambda: not procs("husk-monitor", cid), 10), \
        f"monitors {procs('husk-monitor', cid)} run on in a removed container"
    assert not os.path.exists(os.path.join(h.data_dir, "containers", cid))
    assert h.api("GET", f"/containers/{cid}/json").status == 404


def test_rm_of_a_container_its_monitor_removes(lone_husk):
    """docker rm of an exited --rm container while its monitor removes it: the monitor's
    removal is the one (one destroy event), and rm says it is done. rm removed it as well (two
    destroy events), or answered 404 for the container it was asked to remove."""
    h = lone_husk
    since = time.time()
    cid = h.docker("run", "-d", "--rm", "--name", name(), TEST_IMAGE, "sleep", "0.5"
                   ).stdout.strip()
    # the exited container's monitor waits for the store lock to remove it, and is held
    # there while the rm runs
    lock = open(os.path.join(h.data_dir, ".lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    out = {}
    mon = None
    try:
        assert wait_for_lock_waiter(lock.name), "the monitor never went to remove it"
        st = live_state(h, cid) or {}
        assert st.get("Removing") is True, st
        mon = st["MonitorPid"]
        os.kill(mon, signal.SIGSTOP)
        assert wait_until(lambda: proc_state(mon) == "T", 10)
        lock.close()
        t = threading.Thread(target=lambda: out.update(r=h.api("DELETE", f"/containers/{cid}")))
        t.start()
        time.sleep(0.5)  # the rm done, or waiting for the monitor's end
    finally:
        lock.close()
        if mon:
            os.kill(mon, signal.SIGCONT)
    t.join(30)
    assert out["r"].status == 204, out["r"]
    assert wait_until(lambda: not procs("husk-monitor", cid), 10)
    assert not os.path.exists(os.path.join(h.data_dir, "containers", cid))
    assert not os.path.exists(os.path.join(h.run_dir, "containers", cid))
    ev = h.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                  "--filter", f"container={cid}", "--format", "{{.Action}}").stdout.split()
    assert ev.count("destroy") == 1, ev


def test_logs_of_a_container_removed_meanwhile(lone_husk, tmp_path):
    """docker logs of a container that another husk-api removes between the look-up and the
    opening of its log: 404, as for any container that is gone, not 500 "cannot open the
    log"."""
    h = lone_husk
    with listening_apis(h, tmp_path, 2) as (socks, apis):
        cid = create_at(socks[1], ["true"])
        # the first's opens take 1 s: the container is removed while it reads its files
        tracer = traced(apis[0].pid, "openat", 1000000, str(tmp_path / "strace.log"))
        try:
            out = {}
            t = threading.Thread(target=lambda: out.update(
                r=api_at(socks[0], "GET", f"/containers/{cid}/logs?stdout=1", timeout=60)))
            t.start()
            time.sleep(0.5)
            assert api_at(socks[1], "DELETE", f"/containers/{cid}")[0] == 204
            t.join(60)
        finally:
            tracer.kill()
            tracer.wait()
        assert out["r"][0] == 404, out["r"]


def proc_tracer(pid):
    with open(f"/proc/{pid}/status") as f:
        return "TracerPid:\t0\n" not in f.read()


def test_two_rm_of_one_container_through_two_apis_at_the_lock(lone_husk, tmp_path):
    """docker rm of one container through two husk-apis, the second removing it while the
    first makes its way to the container's start lock: the first answers 404. The removal
    took the run directory away between the first's mkdir and open of the lock file, and the
    answer was 500 "cannot open .../start.lock"."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    h = lone_husk
    with listening_apis(h, tmp_path, 2) as (socks, apis):
        cid = create_at(socks[1], ["true"])
        rundir = os.path.join(h.run_dir, "containers", cid)
        log = str(tmp_path / "strace.log")
        # the first's opens wait 1 s before they happen: its rm has made the run directory
        # and is about to open the lock in it when the second removes the container
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", log, "-p", str(apis[0].pid),
                                   "-e", "trace=openat,mkdir", "-e",
                                   "inject=openat:delay_enter=1000000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_until(lambda: proc_tracer(apis[0].pid), 10)
            out = {}
            t = threading.Thread(target=lambda: out.update(
                r=api_at(socks[0], "DELETE", f"/containers/{cid}", timeout=60)))
            t.start()

            def made():
                with open(log) as f:
                    return f'mkdir("{rundir}"' in f.read()
            assert wait_until(made, 30), "the first rm never made the run directory"
            assert api_at(socks[1], "DELETE", f"/containers/{cid}")[0] == 204
            t.join(60)
        finally:
            tracer.kill()
            tracer.wait()
        assert out["r"][0] == 404, out["r"]


# --- events across restarts ----------------------------------------------------------------

def test_events_of_monitors_while_no_api_ran(lone_husk):
    h = lone_husk
    since = time.time()
    n = name()
    cid = h.docker("run", "-d", "--rm", "--name", n, TEST_IMAGE, "sh", "-c",
                   "sleep 1; exit 3").stdout.strip()
    kill_api_and_wait(h)
    # the monitor ends when it has removed the container and said so
    assert wait_until(lambda: not procs("husk-monitor", cid), 15)
    assert not os.path.exists(os.path.join(h.data_dir, "containers", cid))
    assert h.api_pids() == []
    out = h.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                   "--filter", f"container={cid}", "--format", "{{json .}}").stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["Action"] for e in events] == ["create", "start", "die", "destroy"], events
    die = events[2]
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["name"] == n
    # the API's raw answer agrees
    r = h.api("GET", f"/events?since={since:.3f}&until={time.time():.3f}&filters=" +
              urllib.parse.quote(json.dumps({"container": [cid]})))
    assert [json.loads(line)["Action"] for line in r.body.splitlines()] == \
        ["create", "start", "die", "destroy"]


def events_max_bytes():
    with open(os.path.join(REPO, "core", "events.h")) as f:
        m = re.search(r"#define HUSK_EVENTS_MAX_BYTES \((\d+)u << (\d+)\)", f.read())
    assert m, "HUSK_EVENTS_MAX_BYTES not found in core/events.h"
    return int(m.group(1)) << int(m.group(2))


def test_events_log_rotation_is_bounded(lone_husk):
    """A long history (written straight into the log, as earlier days would have) is rotated
    once to events.log.1 and then dropped: two files at most, and what is kept is served."""
    h = lone_husk
    limit = events_max_bytes()
    log = os.path.join(h.data_dir, "events.log")

    def fill(marker):
        line_of = lambda i: json.dumps({  # noqa: E731
            "Type": "container", "Action": "husk-test-fill", "Actor": {
                "ID": f"{marker}-{i}", "Attributes": {"pad": "x" * 200}},
            "scope": "local", "time": 1000, "timeNano": 1000 * 10**9 + i}) + "\n"
        with open(log, "a") as f:
            i = 0
            while os.path.getsize(log) <= limit:
                f.write("".join(line_of(i + k) for k in range(1000)))
                f.flush()
                i += 1000
        return i

    def rotate_by_an_event():
        n = name()
        h.docker("create", "--name", n, TEST_IMAGE, "true")
        h.docker("rm", n)

    def kept(marker):
        out = h.docker("events", "--since", "999", "--until", f"{time.time():.3f}", "--filter",
                       "event=husk-test-fill", "--format", "{{.Actor.ID}}", timeout=120).stdout
        return [x for x in out.split() if x.startswith(marker + "-")]

    n1 = fill("one")
    rotate_by_an_event()
    assert os.path.exists(log + ".1") and os.path.getsize(log + ".1") > limit
    assert not os.path.exists(log) or os.path.getsize(log) < limit // 2
    ones = kept("one")
    assert len(ones) == n1 and ones[-1] == f"one-{n1 - 1}"
    fill("two")
    rotate_by_an_event()
    assert kept("one") == [], "the oldest generation was kept"
    assert kept("two")
    files = [f for f in os.listdir(h.data_dir) if f.startswith("events.log")]
    assert sorted(files) in (["events.log", "events.log.1"], ["events.log.1"]), files
    total = sum(os.path.getsize(os.path.join(h.data_dir, f)) for f in files)
    assert total < 2 * limit + (1 << 20)
    # and live events still flow
    since = time.time()
    n = name()
    h.docker("create", "--name", n, TEST_IMAGE, "true")
    h.docker("rm", n)
    acts = h.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                    "--filter", f"container={n}", "--format", "{{.Action}}").stdout.split()
    assert acts == ["create", "destroy"], acts


# --- logging --------------------------------------------------------------------------------

def test_logs_go_to_stderr_never_into_containers(tmp_path, image_tars):
    """Without journald, husk-api and its monitors log to stderr (the activator's or the
    service's), never into a container's streams; a container gets stdio and nothing else."""
    run = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or str(tmp_path), f"husk-g{os.getpid()}")
    sock = os.path.join(run, "g.sock")
    logp = tmp_path / "api.log"
    log = open(logp, "wb")
    p = subprocess.Popen([os.path.join(BUILD, "api", "husk-api"), "--listen", f"unix:{sock}",
                          "--data-dir", str(tmp_path / "data"), "--run-dir", run, "--verbose"],
                         stdout=log, stderr=log, start_new_session=True,
                         env=dict(os.environ, HUSK_DEBUG="1", HUSK_LOG_STDERR="1"))
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}",
               DOCKER_CONFIG=str(tmp_path / "docker-config"))

    def docker(*args):
        r = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r
    try:
        assert wait_until(lambda: os.path.exists(sock) or p.poll() is not None, 10)
        docker("load", "-i", image_tars["image"])
        r = docker("run", "--rm", TEST_IMAGE, "sh", "-c",
                   "echo out; echo err >&2; ls /proc/self/fd")
        assert r.stderr == "err\n"
        out = r.stdout.splitlines()
        assert out[0] == "out" and set(out[1:]) <= {"0", "1", "2", "3"}, out
        cid = docker("run", "-d", TEST_IMAGE, "sh", "-c", "echo only this").stdout.strip()
        assert docker("wait", cid).stdout.strip() == "0"
        r = docker("logs", cid)
        assert (r.stdout, r.stderr) == ("only this\n", "")
        docker("rm", cid)
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.close()
        shutil.rmtree(run, ignore_errors=True)
    text = logp.read_text()
    assert re.search(r"husk-api\[\d+\] debug: ", text), text
    assert re.search(rf"husk-monitor\[\d+\] debug: container {cid[:12]}", text), text


_IN_NS = r"""
import os, subprocess, sys
jdir, argv = sys.argv[1], sys.argv[2:]
if not os.path.isdir("/run/systemd"):
    # a /run of our own to make it in (the test's paths are elsewhere)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.mkdir("/run/systemd")
# /run/systemd as this test's directory, holding journal/socket
subprocess.run(["mount", "--bind", jdir, "/run/systemd"], check=True)
os.execv(argv[0], argv)
"""


def journal_ns_cmd(jdir):
    """Runs a command in a user and mount namespace of our own where /run/systemd is jdir, so
    /run/systemd/journal/socket is ours; None where that cannot be done."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        return None
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", _IN_NS,
            jdir]


def test_logs_go_to_journald_when_there(tmp_path):
    """With a journal socket there, husk-api and husk-monitor send their messages to it (with
    their identifiers) and write nothing to stderr."""
    jdir = tmp_path / "systemd"
    (jdir / "journal").mkdir(parents=True)
    cmd = journal_ns_cmd(str(jdir))
    if cmd is None:
        pytest.skip("no user and mount namespace here to put a journal socket in")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(str(jdir / "journal" / "socket"))
    journal.settimeout(0.2)
    run, data = tmp_path / "run", tmp_path / "data"
    sock = str(tmp_path / "api.sock")
    env = {k: v for k, v in os.environ.items() if k != "HUSK_LOG_STDERR"}
    api = subprocess.run(cmd + [os.path.join(BUILD, "api", "husk-api"), "--listen",
                                f"unix:{sock}", "--data-dir", str(data), "--run-dir", str(run),
                                "--idle-timeout", "0", "--version"], capture_output=True)
    assert api.returncode == 0, api.stderr  # the namespace works
    p = subprocess.Popen(cmd + [os.path.join(BUILD, "api", "husk-api"), "--listen",
                                f"unix:{sock}", "--data-dir", str(data), "--run-dir", str(run),
                                "--idle-timeout", str(IDLE), "--verbose"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert wait_until(lambda: os.path.exists(sock) or p.poll() is not None, 10)
        assert api_at(sock, "GET", "/_ping")[0] == 200
        out, err = p.communicate(timeout=IDLE + 10)
        assert p.returncode == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    mon = subprocess.run(cmd + [MONITOR, "--id", "0" * 64,
                                "--data-dir", str(data), "--run-dir", str(run)],
                         capture_output=True, env=env, timeout=30)
    assert mon.returncode != 0
    msgs = []
    try:
        while True:
            msgs.append(journal.recv(65536).decode(errors="replace"))
    except socket.timeout:
        pass
    journal.close()

    def fields(m):
        return dict(line.split("=", 1) for line in m.split("\n") if "=" in line)
    api_msgs = [fields(m) for m in msgs if "SYSLOG_IDENTIFIER=husk-api\n" in m + "\n"]
    mon_msgs = [fields(m) for m in msgs if "SYSLOG_IDENTIFIER=husk-monitor\n" in m + "\n"]
    assert any(m["MESSAGE"] == f"idle for {IDLE}s, exiting" for m in api_msgs), msgs
    assert any(m["MESSAGE"].startswith("GET /_ping") for m in api_msgs), msgs
    assert any("000000000000" in m["MESSAGE"] and m["PRIORITY"] == "3" for m in mon_msgs), msgs
    assert (out, err) == (b"", b"")
    assert mon.stderr == b""
