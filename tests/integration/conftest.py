"""Fixtures for husk's integration tests.

The tests run as an unprivileged user with a subordinate id range (CI creates one). Each test
session gets its own husk: a data dir and a run dir under a temporary directory, and
contrib/husk-activate holding the socket and starting build/api/husk-api on demand, exactly as
systemd's husk.socket would. Clients talk to it through DOCKER_HOST.

Environment: HUSK_BUILD (default <repo>/build), DOCKER (default /usr/local/bin/docker).
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HUSK_BUILD", os.path.join(REPO, "build"))
DOCKER = os.environ.get("DOCKER", "/usr/local/bin/docker")
TEST_IMAGE = "husk-test/busybox:latest"


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
    def __init__(self, base):
        self.base = base
        self.data_dir = os.path.join(base, "data")
        # The run dir lives under XDG_RUNTIME_DIR like the real one; short, for sun_path.
        rt = os.environ.get("XDG_RUNTIME_DIR") or base
        self.run_dir = os.path.join(rt, f"husk-t{os.getpid()}")
        self.sock = os.path.join(self.run_dir, "api.sock")
        self.log_path = os.path.join(base, "husk.log")
        self.api_bin = os.path.join(BUILD, "api", "husk-api")
        self.monitor_bin = os.path.join(BUILD, "monitor", "husk-monitor")
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
        """Pids of husk-api processes serving this test session (not husk-activate, whose
        command line holds the same words)."""
        out = subprocess.run(["pgrep", "-f", f"^{self.api_bin} --data-dir {self.data_dir}"],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

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


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and "husk" in item.funcargs:
        rep.sections.append(("husk log (tail)", item.funcargs["husk"].log_tail()))
