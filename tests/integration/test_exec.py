"""docker exec through the docker CLI, docker-py and raw API clients (dockerode's way)."""
import concurrent.futures
import json
import os
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest

from conftest import DOCKER, run_in_pty


def name():
    return "x" + uuid.uuid4().hex[:10]


@pytest.fixture
def ctr(husk, image):
    """A running container, removed afterwards."""
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "1000")
    yield n
    husk.docker("rm", "-f", n, check=False)


def status_of(husk, ctr, pid="self"):
    p = husk.docker("exec", ctr, "cat", f"/proc/{pid}/status")
    return dict(line.split(":\t", 1) for line in p.stdout.splitlines() if ":\t" in line)


def raw_request(husk, method, path, body=b"", headers=None, chunked=False):
    """A raw connection: the request is sent and the socket returned, never half-closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(husk.sock)
    s.settimeout(30)
    h = {"Host": "localhost", "Content-Type": "application/json", **(headers or {})}
    if chunked:
        h["Transfer-Encoding"] = "chunked"
    else:
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    data = head.encode() + b"\r\n"
    if chunked:
        data += b"%x\r\n%s\r\n" % (len(body), body) if body else b""
    else:
        data += body
    s.sendall(data)
    return s


def read_all(s, timeout=30):
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            return out, True
        out += chunk
    return out, False


def demux(data):
    """stdcopy frames → {1: stdout, 2: stderr}."""
    out = {1: b"", 2: b""}
    while len(data) >= 8:
        stream, n = data[0], struct.unpack(">I", data[4:8])[0]
        out[stream] = out.get(stream, b"") + data[8:8 + n]
        data = data[8 + n:]
    assert data == b""
    return out


def exec_create(husk, ctr, cmd, **kw):
    body = {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True, **kw}
    r = husk.api("POST", f"/containers/{ctr}/exec", body=body)
    assert r.status == 201, r
    return r.json()["Id"]


# --- the docker CLI ---------------------------------------------------------------------

def test_exec_plain(husk, ctr):
    p = husk.docker("exec", ctr, "sh", "-c", "echo out; echo err >&2")
    assert p.stdout == "out\n"
    assert p.stderr == "err\n"


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exec_exit_code(husk, ctr, code):
    p = husk.docker("exec", ctr, "sh", "-c", f"exit {code}", check=False)
    assert p.returncode == code


def test_exec_killed_by_a_signal(husk, ctr):
    p = husk.docker("exec", ctr, "sh", "-c", "kill -9 $$", check=False)
    assert p.returncode == 137


def test_exec_stdin(husk, ctr):
    p = husk.docker("exec", "-i", ctr, "sh", "-c", "tr a-z A-Z; echo done",
                    input="hello\nworld\n")
    assert p.stdout == "HELLO\nWORLD\ndone\n"


def test_exec_stdin_large(husk, ctr):
    data = os.urandom(3 << 20)
    p = subprocess.run([DOCKER, "exec", "-i", ctr, "sh", "-c", "cat > /tmp/big; md5sum /tmp/big"],
                       input=data, capture_output=True, env=husk.env, timeout=60)
    assert p.returncode == 0, p.stderr
    import hashlib
    assert p.stdout.split()[0].decode() == hashlib.md5(data).hexdigest()


def test_exec_output_to_a_slow_reader(husk, ctr):
    """Nothing is dropped when the client reads slowly: the process waits for it."""
    p = subprocess.Popen([DOCKER, "exec", ctr, "sh", "-c", "head -c 20000000 /dev/zero; exit 4"],
                         stdout=subprocess.PIPE, env=husk.env)
    time.sleep(3)  # longer than the wait for output after the exit
    assert len(p.stdout.read()) == 20000000
    assert p.wait(timeout=30) == 4


def test_exec_without_i_has_no_stdin(husk, ctr):
    p = husk.docker("exec", ctr, "sh", "-c", "cat; echo end", input="ignored\n")
    assert p.stdout == "end\n"


def test_exec_tty(husk, ctr):
    code, text = run_in_pty(husk, ["exec", "-t", ctr, "sh", "-c", "tty; stty size; echo $TERM"],
                            rows=31, cols=97)
    assert code == 0, text
    assert "/dev/pts/" in text
    assert "31 97\r" in text
    assert "xterm\r" in text


def test_exec_interactive_tty(husk, ctr):
    code, text = run_in_pty(husk, ["exec", "-it", ctr, "sh"], send=b"echo $((6*7)); exit 3\n")
    assert "42" in text, text
    assert code == 3


def test_exec_user_workdir_env(husk, ctr):
    p = husk.docker("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "A=1", "-e", "PATH=/bin",
                    ctr, "sh", "-c", "id -u; id -g; pwd; echo $A $PATH $HOME")
    assert p.stdout.split("\n")[:4] == ["1000", "1000", "/tmp", "1 /bin /home/husk"]


def test_exec_user_by_name(husk, ctr):
    p = husk.docker("exec", "-u", "nobody", ctr, "sh", "-c", "id -u; echo $HOME")
    assert p.stdout.split() == ["65534", "/nonexistent"]


def test_exec_inherits_container_env(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "-e", "FROMRUN=yes", image, "sleep", "1000")
    try:
        p = husk.docker("exec", "-e", "EXTRA=2", n, "sh", "-c", "echo $FROMRUN $EXTRA $HOSTNAME")
        a, b, h = p.stdout.split()
        assert (a, b, len(h)) == ("yes", "2", 12)
    finally:
        husk.docker("rm", "-f", n)


def test_exec_privileged_has_every_capability(husk, ctr):
    with open("/proc/sys/kernel/cap_last_cap") as f:
        full = (1 << (int(f.read()) + 1)) - 1
    st = dict(l.split(":\t") for l in husk.docker(
        "exec", "--privileged", ctr, "grep", "-E", "^(CapEff|Seccomp):",
        "/proc/self/status").stdout.splitlines())
    assert int(st["CapEff"], 16) == full
    assert st["Seccomp"] == "0"


def test_exec_same_confinement_as_the_container(husk, ctr):
    keys = ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "Seccomp", "NoNewPrivs"]
    mine = status_of(husk, ctr)
    init = status_of(husk, ctr, 1)
    for k in keys:
        assert mine[k] == init[k], k
    assert mine["CapEff"] == "00000000a80425fb"
    assert mine["Seccomp"] == "2" and mine["NoNewPrivs"] == "1"


def test_exec_in_the_container_namespaces(husk, ctr):
    # Seen from the host: a pid here and one in the container's pid namespace.
    eid = exec_create(husk, ctr, ["sleep", "5"])
    assert husk.api("POST", f"/exec/{eid}/start", body={"Detach": True}).status == 200
    pid = husk.api("GET", f"/exec/{eid}/json").json()["Pid"]
    with open(f"/proc/{pid}/status") as f:
        st = dict(line.split(":\t", 1) for line in f if ":\t" in line)
    nspid = st["NSpid"].split()
    assert len(nspid) == 2 and nspid[0] == str(pid) and int(nspid[1]) > 1
    assert st["NSpid"] == st["NStgid"]
    p = husk.docker("exec", ctr, "sh", "-c",
                    "ls /proc | grep -c '^[0-9]'; hostname; cat /etc/hostname; ls /sys/class/net")
    n, host, etc, *net = p.stdout.split()
    assert int(n) <= 5  # sleep, sleep 5, sh, ls, grep: nothing of the host
    assert host == etc and net == ["lo"]
    for ns in ("mnt", "pid", "uts", "ipc", "net", "user", "cgroup"):
        mine = husk.docker("exec", ctr, "readlink", f"/proc/self/ns/{ns}").stdout
        theirs = husk.docker("exec", ctr, "readlink", f"/proc/1/ns/{ns}").stdout
        assert mine == theirs, ns


def test_exec_defaults_are_the_containers(husk, image):
    """User and working directory of the container, unless the exec names its own; a container
    on the host's network shares it with its execs."""
    n = name()
    husk.docker("run", "-d", "--name", n, "-u", "1000", "-w", "/tmp", "--network", "host",
                image, "sleep", "1000")
    try:
        p = husk.docker("exec", n, "sh", "-c", "id -u; pwd; readlink /proc/self/ns/net")
        uid, pwd, netns = p.stdout.split()
        assert (uid, pwd) == ("1000", "/tmp")
        assert netns == os.readlink("/proc/self/ns/net")
        assert husk.docker("exec", "-u", "0", n, "id", "-u").stdout == "0\n"
    finally:
        husk.docker("rm", "-f", n)


def test_exec_missing_command(husk, ctr):
    p = husk.docker("exec", ctr, "nosuchcmd", check=False)
    assert p.returncode == 127
    assert "executable file not found" in p.stdout + p.stderr
    p = husk.docker("exec", ctr, "/etc/passwd", check=False)
    assert p.returncode == 126


def test_exec_unknown_user(husk, ctr):
    p = husk.docker("exec", "-u", "nosuchuser", ctr, "true", check=False)
    assert p.returncode == 126
    assert "unable to find user nosuchuser" in p.stdout + p.stderr


def test_exec_in_stopped_container(husk, image):
    n = name()
    husk.docker("create", "--name", n, image, "true")
    try:
        p = husk.docker("exec", n, "true", check=False)
        assert p.returncode != 0 and "is not running" in p.stderr
    finally:
        husk.docker("rm", "-f", n)


def test_exec_detached(husk, ctr):
    husk.docker("exec", "-d", ctr, "sh", "-c", "echo hi > /tmp/detached")
    for _ in range(50):
        p = husk.docker("exec", ctr, "cat", "/tmp/detached", check=False)
        if p.stdout == "hi\n":
            break
        time.sleep(0.1)
    assert p.stdout == "hi\n"


def test_exec_ends_when_the_process_ends(husk, ctr):
    """A background child holding stdout does not keep the stream open past Docker's grace."""
    t0 = time.time()
    p = husk.docker("exec", ctr, "sh", "-c", "sleep 30 & echo started")
    assert p.stdout == "started\n"
    assert time.time() - t0 < 10


def test_exec_killed_with_the_container(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "1000")
    proc = subprocess.Popen([DOCKER, "exec", n, "sh", "-c", "echo up; sleep 1000"],
                            stdout=subprocess.PIPE, env=husk.env)
    assert proc.stdout.readline() == b"up\n"
    husk.docker("kill", n)
    assert proc.wait(timeout=15) == 137
    husk.docker("rm", "-f", n)


# --- the raw API --------------------------------------------------------------------------

def test_exec_inspect(husk, ctr):
    cid = husk.docker("inspect", "-f", "{{.Id}}", ctr).stdout.strip()
    eid = exec_create(husk, ctr, ["sh", "-c", "exit 3"], User="0", Tty=False)
    j = husk.api("GET", f"/exec/{eid}/json").json()
    assert j["ID"] == eid and j["ContainerID"] == cid
    assert j["Running"] is False and j["ExitCode"] is None
    assert j["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "exit 3"],
                                  "privileged": False, "user": "0"}
    assert j["OpenStdout"] and j["OpenStderr"] and not j["OpenStdin"]
    assert j["CanRemove"] is False and j["DetachKeys"] == "" and j["Pid"] == 0
    r = husk.api("POST", f"/exec/{eid}/start", body={"Detach": True})
    assert r.status == 200 and r.body == b""
    for _ in range(100):
        j = husk.api("GET", f"/exec/{eid}/json").json()
        if not j["Running"] and j["ExitCode"] is not None:
            break
        time.sleep(0.05)
    assert j["ExitCode"] == 3 and j["Pid"] > 0
    r = husk.api("POST", f"/exec/{eid}/start", body={"Detach": True})
    assert r.status == 409 and "has already run" in r.json()["message"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/exec/{}/json"), ("POST", "/exec/{}/start"), ("POST", "/exec/{}/resize?h=1&w=1")])
def test_unknown_exec(husk, method, path):
    for bad in ("nosuch", "0" * 64, ".."):
        r = husk.api(method, path.format(bad), body={} if method == "POST" else None)
        assert r.status == 404, r
        assert r.headers["content-type"] == "application/json"
        assert r.json()["message"].startswith("No such exec instance: ")


@pytest.mark.parametrize("body,text", [
    ({}, "No exec command specified"),
    ({"Cmd": []}, "No exec command specified"),
    ({"Cmd": [1]}, "cannot unmarshal"),
    ({"Cmd": ["true"], "Env": "A=1"}, "cannot unmarshal"),
    ({"Cmd": ["true"], "Tty": "yes"}, "cannot unmarshal"),
    ({"Cmd": ["true"], "ConsoleSize": [-1, 3]}, "ConsoleSize"),
])
def test_exec_create_bad_bodies(husk, ctr, body, text):
    r = husk.api("POST", f"/containers/{ctr}/exec", body=body)
    assert r.status == 400, r
    assert text in r.json()["message"]


def test_exec_create_errors(husk, image):
    r = husk.api("POST", "/containers/nosuch/exec", body={"Cmd": ["true"]})
    assert r.status == 404 and r.json()["message"] == "No such container: nosuch"
    n = name()
    cid = husk.docker("create", "--name", n, image, "true").stdout.strip()
    r = husk.api("POST", f"/containers/{n}/exec", body={"Cmd": ["true"]})
    assert r.status == 409 and r.json()["message"] == f"Container {cid} is not running"
    husk.docker("rm", n)


def test_exec_string_cmd(husk, ctr):
    eid = exec_create(husk, ctr, "true")
    assert husk.api("GET", f"/exec/{eid}/json").json()["ProcessConfig"]["entrypoint"] == "true"


def start_raw(husk, eid, body=b'{"Detach":false,"Tty":false}', upgrade=False, chunked=False):
    headers = {"Connection": "Upgrade", "Upgrade": "tcp"} if upgrade else {}
    s = raw_request(husk, "POST", f"/exec/{eid}/start", body, headers, chunked)
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        assert c, head
        head += c
    return s, head.decode()


def test_exec_start_without_upgrade(husk, ctr):
    """dockerode/testcontainers: Content-Length body, no Upgrade, the client never ends its
    side: a 200 and a raw stream, closed when the process ends; the exit code is recorded
    before the close."""
    eid = exec_create(husk, ctr, ["sh", "-c", "echo out; echo err >&2; exit 5"])
    s, head = start_raw(husk, eid, b'{"stdin":true,"Detach":false,"Tty":false}')
    assert head.startswith("HTTP/1.1 200 OK\r\n"), head
    assert "Content-Type: application/vnd.docker.multiplexed-stream" in head
    assert "Content-Length" not in head and "chunked" not in head
    data, closed = read_all(s)
    assert closed
    assert demux(data) == {1: b"out\n", 2: b"err\n"}
    j = husk.api("GET", f"/exec/{eid}/json").json()
    assert j["Running"] is False and j["ExitCode"] == 5
    s.close()


def test_exec_start_chunked_body_that_never_ends(husk, ctr):
    """dockerode with hijack: a chunked body and Upgrade, and the request never ended."""
    eid = exec_create(husk, ctr, ["sh", "-c", "read x; echo got $x"], AttachStdin=True)
    s, head = start_raw(husk, eid, b'{"Detach":false,"Tty":false}', upgrade=True, chunked=True)
    assert head.startswith("HTTP/1.1 101 UPGRADED\r\n"), head
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    data, closed = read_all(s)
    assert closed and demux(data)[1] == b"got hello\n"
    s.close()


def test_exec_start_errors_before_the_takeover(husk, ctr):
    eid = exec_create(husk, ctr, ["true"])
    s, head = start_raw(husk, eid, b'{"Tty":"no"}', chunked=True)
    assert head.startswith("HTTP/1.1 400"), head
    s.close()
    s, head = start_raw(husk, "0" * 64, b'{}', chunked=True)
    assert head.startswith("HTTP/1.1 404"), head
    s.close()


def test_exec_tty_stream_is_raw(husk, ctr):
    eid = exec_create(husk, ctr, ["sh", "-c", "echo hi"], Tty=True)
    s, head = start_raw(husk, eid, b'{"Tty":true}', upgrade=True)
    assert head.startswith("HTTP/1.1 101"), head
    assert "application/vnd.docker.raw-stream" in head
    data, closed = read_all(s)
    assert closed and data == b"hi\r\n"
    s.close()


def test_exec_resize(husk, ctr):
    # waits (5 s at most) for the size to change, so a slow machine cannot race the resize
    eid = exec_create(husk, ctr, ["sh", "-c", 'for i in $(seq 50); do '
                                  '[ "$(stty size)" = "17 43" ] && break; sleep 0.1; done; '
                                  'stty size'], Tty=True)
    s, head = start_raw(husk, eid, b'{"Tty":true}', upgrade=True)
    r = husk.api("POST", f"/exec/{eid}/resize?h=17&w=43")
    assert r.status == 200, r
    data, closed = read_all(s)
    assert data == b"17 43\r\n"
    s.close()
    r = husk.api("POST", f"/exec/{eid}/resize?h=x&w=43")
    assert r.status == 400


def test_many_concurrent_execs(husk, ctr):
    """testcontainers polls with three execs every 100 ms; 50 at once must all be right."""
    def one(i):
        p = subprocess.run([DOCKER, "exec", ctr, "sh", "-c", f"echo {i}; exit {i % 7}"],
                           capture_output=True, text=True, env=husk.env, timeout=60)
        return i, p.returncode, p.stdout
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    for i, code, out in results:
        assert (code, out) == (i % 7, f"{i}\n")
    assert time.time() - t0 < 30


def test_many_concurrent_raw_execs(husk, ctr):
    ids = [exec_create(husk, ctr, ["sh", "-c", f"echo {i}"]) for i in range(50)]
    socks = [start_raw(husk, eid)[0] for eid in ids]
    for i, s in enumerate(socks):
        data, closed = read_all(s)
        assert closed and demux(data)[1] == f"{i}\n".encode()
        s.close()
    for eid in ids:
        assert husk.api("GET", f"/exec/{eid}/json").json()["ExitCode"] == 0


def test_exec_survives_the_api(husk, ctr):
    eid = exec_create(husk, ctr, ["sh", "-c", "echo first; sleep 2; echo second; exit 4"])
    s, head = start_raw(husk, eid, upgrade=True)
    assert head.startswith("HTTP/1.1 101")
    first = s.recv(4096)
    assert demux(first)[1] == b"first\n"
    husk.kill_api()
    rest, closed = read_all(s)
    assert closed and demux(rest)[1] == b"second\n"
    s.close()
    # A new API (socket activation starts one) serves the record.
    j = husk.api("GET", f"/exec/{eid}/json").json()
    assert j["ExitCode"] == 4 and j["Running"] is False


def test_exec_records_go_with_the_container(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "1000")
    eid = exec_create(husk, n, ["true"])
    husk.docker("rm", "-f", n)
    assert husk.api("GET", f"/exec/{eid}/json").status == 404


# --- docker-py ---------------------------------------------------------------------------

def test_dockerpy_exec_run(husk, ctr):
    c = husk.client().containers.get(ctr)
    res = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"])
    assert res.exit_code == 2
    assert res.output == b"out\nerr\n"
    res = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert res.output == (b"out\n", b"err\n")
    res = c.exec_run("id -u", user="1000")
    assert res.output == b"1000\n"


def test_dockerpy_exec_stream(husk, ctr):
    c = husk.client().containers.get(ctr)
    res = c.exec_run(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"], stream=True)
    assert b"".join(res.output) == b"1\n2\n3\n"


def test_dockerpy_exec_tty(husk, ctr):
    c = husk.client().containers.get(ctr)
    res = c.exec_run(["sh", "-c", "tty"], tty=True)
    assert res.exit_code == 0 and res.output.startswith(b"/dev/pts/")


def test_exec_after_a_restart(husk, image):
    """A restart gives the container a new pid 1: exec must enter the new one."""
    n = "t" + uuid.uuid4().hex[:10]
    # The first run ends, the second stays: an exec between inspect and run never meets a
    # container in its back-off ("is restarting").
    husk.docker("run", "-d", "--name", n, "--restart", "always", image, "sh", "-c",
                "echo run >> /runs; [ $(wc -l < /runs) -gt 1 ] && exec sleep 600; sleep 1")
    deadline = time.time() + 20
    while time.time() < deadline:
        info = json.loads(husk.docker("inspect", n).stdout)[0]
        # (State.Running is true in the back-off too, as Docker's: the status tells)
        if info["RestartCount"] >= 1 and info["State"]["Status"] == "running":
            break
        time.sleep(0.1)
    assert info["RestartCount"] >= 1
    p = husk.docker("exec", n, "sh", "-c", "echo $$ inside; cat /runs | wc -l", check=False)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].endswith("inside") and int(lines[1]) >= 2
    husk.docker("rm", "-f", n)


def test_dockerpy_exec_workdir_env_privileged(husk, ctr):
    c = husk.client().containers.get(ctr)
    res = c.exec_run(["sh", "-c", "pwd; echo $A $B"], workdir="/etc",
                     environment={"A": "1", "B": "two"})
    assert res.exit_code == 0 and res.output == b"/etc\n1 two\n"
    res = c.exec_run(["sh", "-c", "echo $A"], environment=["A=as a list"])
    assert res.output == b"as a list\n"
    with open("/proc/sys/kernel/cap_last_cap") as f:
        full = (1 << (int(f.read()) + 1)) - 1
    res = c.exec_run(["grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"], privileged=True)
    st = dict(line.split(":\t") for line in res.output.decode().splitlines())
    assert int(st["CapEff"], 16) == full and st["Seccomp"] == "0"
    res = c.exec_run(["grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"])
    assert res.output == b"CapEff:\t00000000a80425fb\nSeccomp:\t2\n"


def test_dockerpy_exec_detach(husk, ctr):
    c = husk.client().containers.get(ctr)
    res = c.exec_run(["sh", "-c", "sleep 0.2; echo done > /tmp/pydetached"], detach=True)
    assert res.exit_code is None and not res.output
    for _ in range(100):
        if c.exec_run(["cat", "/tmp/pydetached"]).output == b"done\n":
            break
        time.sleep(0.05)
    assert c.exec_run(["cat", "/tmp/pydetached"]).output == b"done\n"


def test_dockerpy_exec_stdin(husk, ctr):
    """docker exec -i as docker-py does it: a socket of the hijacked start, half-closed."""
    api = husk.client().api
    eid = api.exec_create(ctr, ["sh", "-c", "tr a-z A-Z; echo end"], stdin=True)["Id"]
    sock = api.exec_start(eid, socket=True)
    raw = getattr(sock, "_sock", sock)
    raw.sendall(b"hello stdin\n")
    raw.shutdown(socket.SHUT_WR)
    data, closed = read_all(raw)
    sock.close()
    assert closed and demux(data)[1] == b"HELLO STDIN\nend\n"
    j = api.exec_inspect(eid)
    assert j["ExitCode"] == 0 and j["OpenStdin"] is True and j["Running"] is False


def test_dockerpy_exec_inspect_and_resize(husk, ctr):
    api = husk.client().api
    eid = api.exec_create(ctr, ["sh", "-c", "sleep 0.5; stty size; exit 5"], tty=True,
                          user="1000")["Id"]
    j = api.exec_inspect(eid)
    assert j["ProcessConfig"]["tty"] is True and j["ProcessConfig"]["user"] == "1000"
    assert j["Running"] is False and j["ExitCode"] is None
    out = []
    t = threading.Thread(target=lambda: out.append(api.exec_start(eid, tty=True)))
    t.start()
    for _ in range(100):
        if api.exec_inspect(eid)["Running"]:
            break
        time.sleep(0.02)
    api.exec_resize(eid, height=19, width=53)
    t.join(30)
    assert out == [b"19 53\r\n"]
    j = api.exec_inspect(eid)
    assert j["ExitCode"] == 5 and j["Running"] is False and j["Pid"] > 0


def test_dockerpy_many_concurrent_execs(husk, ctr):
    """50 execs at once through one docker-py client. The output waits a little: docker-py
    reads the hijacked stream from the raw socket, so bytes that came in with the 101 and sit
    in http.client's buffer (a client too slow to read the headers in time) are lost to it,
    whoever the server."""
    c = husk.client().containers.get(ctr)

    def one(i):
        res = c.exec_run(["sh", "-c", f"sleep 0.3; echo {i}; echo e{i} >&2; exit {i % 5}"],
                         demux=True)
        return i, res.exit_code, res.output
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    for i, code, out in results:
        assert (code, out) == (i % 5, (f"{i}\n".encode(), f"e{i}\n".encode()))
