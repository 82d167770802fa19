"""System endpoints: /_ping, /version, /info, errors, the owner check, and real clients."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import UnixHTTPConnection

PREFIXES = ["", "/v1.44", "/v1.24", "/v1.41"]


def api_version_tuple(v):
    major, minor = v.split(".")
    return int(major), int(minor)


def assert_common_headers(r):
    assert r.headers.get("api-version"), r.headers
    api_version_tuple(r.headers["api-version"])  # it parses as N.M
    assert r.headers.get("ostype") == "linux"
    assert r.headers.get("server"), r.headers


def json_body(r, status):
    """The JSON body of a response that must have this status, Docker's headers and exactly
    `Content-Type: application/json`."""
    assert r.status == status, r
    assert_common_headers(r)
    assert r.headers["content-type"] == "application/json"  # exactly, no charset
    return r.json()


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_ping(husk, method, prefix):
    r = husk.api(method, f"{prefix}/_ping")
    assert r.status == 200, r
    assert_common_headers(r)
    assert r.body == (b"OK" if method == "GET" else b"")
    assert r.headers.get("cache-control") == "no-cache, no-store, must-revalidate"
    assert r.headers.get("pragma") == "no-cache"


def test_ping_api_version_matches_version(husk):
    ping = husk.api("GET", "/_ping")
    v = husk.api("GET", "/version").json()
    assert ping.headers["api-version"] == v["ApiVersion"]


@pytest.mark.parametrize("prefix", ["", "/v1.44"])
def test_version(husk, prefix):
    v = json_body(husk.api("GET", f"{prefix}/version"), 200)
    for key in ("Version", "ApiVersion", "MinAPIVersion", "Os", "Arch", "KernelVersion"):
        assert isinstance(v.get(key), str) and v[key], (key, v)
    assert v["Os"] == "linux"
    assert v["KernelVersion"] == os.uname().release
    assert api_version_tuple(v["MinAPIVersion"]) <= (1, 24)
    assert api_version_tuple(v["ApiVersion"]) >= (1, 44)
    assert api_version_tuple(v["MinAPIVersion"]) <= api_version_tuple(v["ApiVersion"])
    engines = [c for c in v.get("Components", []) if c.get("Name") == "Engine"]
    assert engines and engines[0]["Version"] == v["Version"], v


@pytest.mark.parametrize("prefix", ["", "/v1.44"])
def test_info(husk, prefix):
    info = json_body(husk.api("GET", f"{prefix}/info"), 200)
    assert info["OSType"] == "linux"
    assert info["Architecture"] == os.uname().machine
    assert info["KernelVersion"] == os.uname().release
    assert isinstance(info["NCPU"], int) and info["NCPU"] >= 1
    assert isinstance(info["MemTotal"], int) and info["MemTotal"] > 0
    for key in ("Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped"):
        assert isinstance(info[key], int) and info[key] >= 0, key
    assert info["Containers"] == (info["ContainersRunning"] + info["ContainersPaused"]
                                  + info["ContainersStopped"])
    assert info["ServerVersion"] == husk.api("GET", "/version").json()["Version"]
    assert info["Name"] == os.uname().nodename
    assert isinstance(info["Warnings"], list)
    assert any("rootless" in s for s in info["SecurityOptions"]), info["SecurityOptions"]
    assert info["DockerRootDir"] and info["Driver"]


@pytest.mark.parametrize("path", ["/nonexistent", "/v1.44/nonexistent", "/containers/x/nope",
                                  "/v1.44/_pingx", "/v1.44"])
def test_unknown_route_is_404_json(husk, path):
    body = json_body(husk.api("GET", path), 404)
    assert isinstance(body.get("message"), str) and body["message"], body


# Error messages quote ids and query values: bytes that are not UTF-8 (or a message cut inside a
# character) must not leave the answer without its message.
@pytest.mark.parametrize("path,status", [("/containers/%FF/json", 404),
                                         ("/events?since=%FF", 400),
                                         ("/containers/" + "%C3%A9" * 600 + "/json", 404),
                                         ("/containers/x" + "%C3%A9" * 600 + "/json", 404)])
def test_error_message_with_invalid_utf8_is_json(husk, path, status):
    body = json_body(husk.api("GET", path), status)
    assert isinstance(body.get("message"), str) and body["message"], body


@pytest.mark.parametrize("version", ["1.12", "1.23", "0.9"])
def test_too_old_api_version_is_400(husk, version):
    msg = json_body(husk.api("GET", f"/v{version}/version"), 400)["message"]
    assert "too old" in msg and version in msg, msg


def test_keep_alive_serves_several_requests(husk):
    conn = UnixHTTPConnection(husk.sock, timeout=30)
    try:
        for path in ("/_ping", "/version", "/v1.44/_ping", "/nonexistent", "/info"):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            assert r.status in (200, 404), (path, r.status)
    finally:
        conn.close()


def test_docker_version_cli(husk):
    p = husk.docker("version", "--format", "{{json .}}")
    v = json.loads(p.stdout)
    server = v["Server"]
    assert server["Os"] == "linux"
    assert server["ApiVersion"] == husk.api("GET", "/version").json()["ApiVersion"]
    # the CLI negotiated down to what husk speaks
    assert api_version_tuple(v["Client"]["ApiVersion"]) <= api_version_tuple(server["ApiVersion"])


def test_docker_version_plain_cli(husk):
    p = husk.docker("version")
    assert "Server:" in p.stdout and "Engine:" in p.stdout, p.stdout


def test_docker_info_cli(husk):
    p = husk.docker("info", "--format", "{{json .}}")
    info = json.loads(p.stdout)
    assert info["OSType"] == "linux"
    assert info["NCPU"] >= 1
    assert not info.get("ServerErrors"), info.get("ServerErrors")
    p = husk.docker("info")
    assert "Server Version:" in p.stdout, p.stdout


def test_docker_py_version_and_ping(husk):
    client = husk.client()
    try:
        assert client.ping() is True
        v = client.version()
        assert v["Os"] == "linux"
        assert v["ApiVersion"] == husk.api("GET", "/version").json()["ApiVersion"]
        info = client.info()
        assert info["OSType"] == "linux"
    finally:
        client.close()


def test_docker_py_auto_version(husk):
    import docker
    client = docker.DockerClient(base_url=f"unix://{husk.sock}", version="auto", timeout=30)
    try:
        assert client.api.api_version == husk.api("GET", "/version").json()["ApiVersion"]
        assert client.ping() is True
    finally:
        client.close()


# --- the owner check ---------------------------------------------------------------------------

# Connects to the socket in argv[1] and prints the status line and body of GET /_ping.
_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode(errors="replace"))
"""


def _subid_start():
    """First id of this user's subordinate uid range, or None."""
    import pwd
    name = pwd.getpwuid(os.getuid()).pw_name
    try:
        with open("/etc/subuid") as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (name, str(os.getuid())) and int(parts[2]) > 1:
                    return int(parts[1])
    except OSError:
        pass
    return None


def _as_other_uid_cmd():
    """A command prefix that runs a program under a uid other than ours, and that uid."""
    if os.getuid() == 0:
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], 65534
    start = _subid_start()
    if start is None:
        pytest.skip("no other uid to connect as: not root and no subordinate uid range")
    if not (shutil.which("unshare") and shutil.which("newuidmap")):
        pytest.skip("no other uid to connect as: unshare or newuidmap (uidmap) missing")
    # Our range mapped at 1..: uid 1 inside is uid START outside, which is not us.
    return ["unshare", "--map-root-user", "--map-auto", "setpriv", "--reuid=1", "--regid=1",
            "--clear-groups"], start


@pytest.fixture
def shared_socket_husk(tmp_path):
    """A husk-api of our own on a socket that every user may connect to (the check must hold
    even when the file permissions would let a stranger in)."""
    top = tempfile.mkdtemp(prefix="husk-403-")  # not under pytest's 0700 tmp dir
    os.chmod(top, 0o755)
    sock = os.path.join(top, "api.sock")
    api_bin = os.path.join(os.environ.get("HUSK_BUILD") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build"),
        "api", "husk-api")
    log = open(tmp_path / "husk-403.log", "wb")
    p = subprocess.Popen([api_bin, "--listen", f"unix://{sock}", "--data-dir",
                          str(tmp_path / "data"), "--run-dir", str(tmp_path / "run")],
                         stdout=log, stderr=log, start_new_session=True)
    try:
        for _ in range(500):
            if os.path.exists(sock) or p.poll() is not None:
                break
            time.sleep(0.01)
        assert os.path.exists(sock), f"husk-api did not listen: {(tmp_path / 'husk-403.log').read_text()}"
        os.chmod(sock, 0o666)
        yield sock, tmp_path / "husk-403.log"
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(top, ignore_errors=True)


def test_other_uid_is_refused_with_403(shared_socket_husk):
    sock, log = shared_socket_husk
    prefix, other_uid = _as_other_uid_cmd()
    # bytes, not text: the CRLFs matter
    p = subprocess.run(prefix + [sys.executable, "-c", _CLIENT, sock], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, f"client as uid {other_uid} failed: {p.stderr!r}"
    out = p.stdout.decode(errors="replace")
    head, _, body = out.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 403"), out
    headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/json", head
    assert json.loads(body)["message"], body
    assert f"uid {other_uid}" in log.read_text(), "husk-api did not log the refusal"
    # and the owner still gets in through the same socket
    own = subprocess.run([sys.executable, "-c", _CLIENT, sock], capture_output=True, timeout=60)
    assert own.stdout.startswith(b"HTTP/1.1 200"), own.stdout
