"""Fixtures for husk's integration tests.

The tests run as an unprivileged user with a subordinate id range (CI creates one). Each test
session gets its own husk: a data dir and a run dir under a temporary directory, and
contrib/husk-activate holding the socket and starting build/api/husk-api on demand, exactly as
systemd's husk.socket would. Clients talk to it through DOCKER_HOST.

Environment: HUSK_BUILD (default <repo>/build), HUSK_MONITOR (the husk-monitor the husks use,
default HUSK_BUILD/monitor/husk-monitor; tests/run passes the musl one where it builds it),
DOCKER (default /usr/local/bin/docker),
HUSK_TEST_CGROUP_ROOT (a cgroup v2 directory delegated to the test user: husks get it as their
--cgroup-root, so containers get cgroups of their own there; tests/run as root passes the one
tests/tools/test-user.sh makes).
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HUSK_BUILD", os.path.join(REPO, "build"))
MONITOR = os.environ.get("HUSK_MONITOR") or os.path.join(BUILD, "monitor", "husk-monitor")
DOCKER = os.environ.get("DOCKER", "/usr/local/bin/docker")
TEST_IMAGE = "husk-test/busybox:latest"
CGROUP_ROOT = os.environ.get("HUSK_TEST_CGROUP_ROOT") or None


def cgroup2_mount():
    """Where our cgroup v2 hierarchy is mounted, and the path of its root there ("/" unless a
    cgroup namespace hides the top); None when there is none."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4], fields[3]
    return None


def cgroup_of(pid):
    """The cgroup v2 directory of a process, as a path on this host, or None."""
    m = cgroup2_mount()
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            path = next((l[3:].rstrip("\n") for l in f if l.startswith("0::")), None)
    except OSError:
        return None
    if not m or path is None:
        return None
    point, root = m
    rel = path[len(root):] if root != "/" and path.startswith(root) else path
    return point + rel if rel != "/" else point


def container_cgroup(pid):
    """The container's own cgroup (what its monitor makes: <root>/husk-<id12>, or
    <scope>/container under systemd), or None where it has none."""
    d = cgroup_of(pid)
    base = os.path.basename(d or "")
    if re.fullmatch(r"husk-[0-9a-f]{12}", base) or base == "container":
        return d
    return None


def wait_until(pred, timeout=10.0, step=0.01):
    """pred()'s first true value, or its last false one at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def pid_alive(pid):
    """The process exists and is not a zombie (a pid 1 that is no init may not reap orphans,
    such as monitors whose container ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def proc_environ(pid):
    """A process's environment as the kernel shows it (as it was at exec)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.decode(errors="replace").split("=", 1)
                    for e in f.read().split(b"\0") if b"=" in e)


def sparse_tar_entry(name, realsize):
    """The tar blocks of one PAX 1.0 sparse file (tarfile writes none), no end-of-archive
    blocks: realsize bytes, all a hole but the last byte, "x", in 2.5 KB."""
    def record(k, v):
        rec = f" {k}={v}\n"
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n:
            n += 1
        return f"{n}{rec}".encode()
    pax = b"".join(record(k, v) for k, v in [
        ("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", name),
        ("GNU.sparse.realsize", str(realsize))])
    head = tarfile.TarInfo("PaxHeader/sparse")
    head.type, head.size = tarfile.XHDTYPE, len(pax)
    body = tarfile.TarInfo("GNUSparseFile.0/sparse")
    body.size = 512 + 1
    sparse_map = f"1\n{realsize - 1}\n1\n".encode().ljust(512, b"\0")
    return (head.tobuf(tarfile.USTAR_FORMAT) + pax.ljust(-(-len(pax) // 512) * 512, b"\0") +
            body.tobuf(tarfile.USTAR_FORMAT) + sparse_map + b"x".ljust(512, b"\0"))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Husk:
    def __init__(self, base, run_name=None, cgroup_root=CGROUP_ROOT):
        self.base = base
        self.cgroup_root = cgroup_root
        self.data_dir = os.path.join(base, "data")
        # The run dir lives under XDG_RUNTIME_DIR like the real one; short, for sun_path.
        rt = os.environ.get("XDG_RUNTIME_DIR") or base
        self.run_dir = os.path.join(rt, run_name or f"husk-t{os.getpid()}")
        self.sock = os.path.join(self.run_dir, "api.sock")
        self.log_path = os.path.join(base, "husk.log")
        self.api_bin = os.path.join(BUILD, "api", "husk-api")
        self.monitor_bin = MONITOR
        self.activator = None
        self.env = dict(os.environ)
        self.env["DOCKER_HOST"] = f"unix://{self.sock}"
        self.env.pop("DOCKER_CONTEXT", None)
        self.env["DOCKER_CONFIG"] = os.path.join(base, "docker-config")
        os.makedirs(self.env["DOCKER_CONFIG"], exist_ok=True)

    def api_args(self, idle_timeout=None):
        args = [self.api_bin, "--data-dir", self.data_dir, "--run-dir", self.run_dir]
        if idle_timeout is not None:
            args += ["--idle-timeout", str(idle_timeout)]
        return args

    def start(self, idle_timeout=None):
        os.makedirs(self.run_dir, mode=0o700, exist_ok=True)
        env = dict(os.environ, HUSK_MONITOR=self.monitor_bin, HUSK_LOG_STDERR="1")
        env.pop("HUSK_CGROUP_ROOT", None)
        if self.cgroup_root:
            env["HUSK_CGROUP_ROOT"] = self.cgroup_root
        self.logf = open(self.log_path, "ab")
        self.activator = subprocess.Popen(
            [sys.executable, os.path.join(REPO, "contrib", "husk-activate"),
             "--socket", self.sock, "--"] + self.api_args(idle_timeout),
            env=env, stdout=self.logf, stderr=self.logf, start_new_session=True)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.01)
        raise RuntimeError("husk-activate did not create its socket")

    def stop(self):
        if self.activator:
            self.activator.send_signal(signal.SIGTERM)
            self.activator.wait(timeout=10)
            self.activator = None

    def api_pids(self):
        """Pids of the live husk-api processes on this husk's data dir (not husk-activate,
        whose command line holds husk-api's; not zombies)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{d}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if (os.path.basename(argv[0]) == b"husk-api" and state not in ("Z", "X")
                    and self.data_dir.encode() in argv[1:]):
                pids.append(int(d))
        return pids

    def kill_api(self, sig=signal.SIGKILL):
        for pid in self.api_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def docker(self, *args, input=None, check=True, timeout=60, env=None):
        e = dict(self.env, **(env or {}))
        p = subprocess.run([DOCKER, *args], input=input, capture_output=True, timeout=timeout,
                           env=e, text=isinstance(input, str) or input is None)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({p.returncode}):\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def api(self, method, path, body=None, headers=None, timeout=60):
        conn = UnixHTTPConnection(self.sock, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    def client(self):
        import docker
        return docker.DockerClient(base_url=f"unix://{self.sock}", timeout=60)

    def activations(self):
        """(pid, exit code) of every husk-api that husk-activate started and saw exit."""
        out = []
        try:
            with open(self.log_path, "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    w = line.split()
                    if len(w) >= 7 and w[0].startswith("husk-activate[") and w[1:3] == [
                            "husk-api", "pid"] and w[4:6] == ["exited", "with"]:
                        out.append((int(w[3]), int(w[6])))
        except FileNotFoundError:
            pass
        return out

    def wait_api_gone(self, timeout=10):
        """Waits until no husk-api of this husk runs (idle exit); False on the deadline."""
        return wait_until(lambda: not self.api_pids(), timeout, 0.02)

    def remove_all(self):
        """Removes every container of this husk (they are the user's processes)."""
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False, timeout=120)

    def close(self):
        """Leaves nothing behind: containers removed, activator stopped, run dir gone."""
        try:
            self.remove_all()
        finally:
            self.stop()
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except FileNotFoundError:
            return ""


@pytest.fixture(scope="session")
def husk(tmp_path_factory):
    h = Husk(str(tmp_path_factory.mktemp("husk")))
    h.start()
    yield h
    # Leave no container behind: they are the user's processes.
    try:
        ids = h.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            h.docker("rm", "-f", *ids, check=False, timeout=120)
    finally:
        h.stop()
        shutil.rmtree(h.run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def image_tars(tmp_path_factory):
    """rootfs.tar (for docker import) and image.tar (docker save format) of a busybox image
    built by the project's own script from Debian's busybox-static."""
    out = str(tmp_path_factory.mktemp("image"))
    subprocess.run([os.path.join(REPO, "tests", "image", "mk-test-image.sh"), out], check=True,
                   capture_output=True)
    return {"rootfs": os.path.join(out, "rootfs.tar"), "image": os.path.join(out, "image.tar")}


@pytest.fixture(scope="session")
def image(husk, image_tars):
    """The test image, loaded into the session's husk with docker load."""
    husk.docker("load", "-i", image_tars["image"])
    return TEST_IMAGE


@pytest.fixture(scope="module")
def lone_husk(tmp_path_factory, image_tars):
    """A husk of the test module's own, its husk-api exiting after 1 s without connections,
    with the test image loaded: for tests that kill, stop or outwait husk-api, which the
    session's husk should not see. Its containers are removed and its activator stopped at the
    end of the module."""
    h = Husk(str(tmp_path_factory.mktemp("lone")), run_name=f"husk-l{os.getpid()}")
    h.start(idle_timeout=1)
    try:
        h.docker("load", "-i", image_tars["image"])
        yield h
    finally:
        h.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and "husk" in item.funcargs:
        rep.sections.append(("husk log (tail)", item.funcargs["husk"].log_tail()))
    if rep.failed and "lone_husk" in item.funcargs:
        rep.sections.append(("lone husk log (tail)", item.funcargs["lone_husk"].log_tail()))


def run_in_pty(husk, args, send=None, rows=24, cols=80, timeout=30):
    """The docker CLI with these arguments under a pseudo-terminal of rows x cols, until it
    exits; send is typed once a prompt (#) shows. Returns (exit code, output)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(DOCKER, [DOCKER, *args], husk.env)
    out = b""
    deadline = time.time() + timeout
    sent = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if send and not sent and b"#" in out:
            os.write(fd, send)
            sent = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
