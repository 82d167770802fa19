"""The shipped user units under a real systemd --user (issue 3).

husk.socket and husk.service as built (build/contrib/husk.service, contrib/systemd/husk.socket)
go into ~/.config/systemd/user, with a drop-in that only points ExecStart at the build tree, a
data dir of the test's own and a 1 s idle timeout. Then: activation by the first request,
READY=1 (Type=notify reaches "active"), idle exit back to a listening socket, re-activation,
no LISTEN_*/NOTIFY_SOCKET in monitors or containers, each monitor in a transient scope of its
own so that stopping or killing husk.service leaves containers running, and stopping a scope
stops its container as docker stop would.

Hosts without systemd as PID 1 (CI) get a systemd --user from tests/run (tests/tools/test-user.sh
systemd-start); without one these tests are skipped, and say why.
"""
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import (BUILD, MONITOR, REPO, TEST_IMAGE, Husk, cgroup_of, pid_alive, proc_environ,
                      wait_until)

IDLE = 1
ACTIVATION_VARS = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET")

pytestmark = pytest.mark.skipif(
    os.environ.get("HUSK_TEST_SYSTEMD_USER") != "1",
    reason="no systemd --user for the tests: " + os.environ.get(
        "HUSK_TEST_SYSTEMD_USER_WHY",
        "run tests/run as root (it starts one), or set HUSK_TEST_SYSTEMD_USER=1 with one running"))


def systemctl(*args, check=True):
    p = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"systemctl --user {' '.join(args)}: {p.returncode}\n{p.stderr}")
    return p


def props(unit, *names):
    out = systemctl("show", unit, *(f"--property={n}" for n in names)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def cgroup(pid):
    """The process's cgroup v2 path (the 0:: line), or the name=systemd one on hybrid hosts."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = dict(line.rstrip("\n").split(":", 2)[1:] for line in f if line.count(":") >= 2)
    return lines.get("") if lines.get("", "/") != "/" else lines.get("name=systemd", "")


class Units:
    def __init__(self, base):
        cfg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.environ["HOME"], ".config")
        self.unit_dir = os.path.join(cfg, "systemd", "user")
        # The client side of a Husk; the run dir is husk-api's default, %t/husk, where the
        # socket unit puts husk.sock.
        self.husk = Husk(base, run_name="husk")
        self.husk.sock = os.path.join(self.husk.run_dir, "husk.sock")
        self.husk.env["DOCKER_HOST"] = f"unix://{self.husk.sock}"
        self.data_dir, self.run_dir, self.sock = self.husk.data_dir, self.husk.run_dir, \
            self.husk.sock
        self.docker = self.husk.docker

    def install(self):
        service = os.path.join(BUILD, "contrib", "husk.service")
        if not os.path.exists(service):
            pytest.fail(f"{service} was not built")
        ours = os.path.join(self.unit_dir, "husk.service.d", "50-test.conf")
        if os.path.exists(os.path.join(self.unit_dir, "husk.socket")) and not os.path.exists(ours):
            pytest.skip(f"{self.unit_dir} holds husk units of this user's own: not replacing them")
        os.makedirs(os.path.join(self.unit_dir, "husk.service.d"), exist_ok=True)
        shutil.copy(service, self.unit_dir)
        shutil.copy(os.path.join(REPO, "contrib", "systemd", "husk.socket"), self.unit_dir)
        with open(os.path.join(self.unit_dir, "husk.service.d", "50-test.conf"), "w") as f:
            f.write("[Service]\nExecStart=\n"
                    f"ExecStart={os.path.join(BUILD, 'api', 'husk-api')} --data-dir "
                    f"{self.data_dir} --idle-timeout {IDLE}\n"
                    f"Environment=HUSK_MONITOR={MONITOR}"
                    "\n")
        systemctl("daemon-reload")

    def uninstall(self):
        systemctl("stop", "husk.socket", "husk.service", check=False)
        for f in ("husk.service", "husk.socket"):
            try:
                os.unlink(os.path.join(self.unit_dir, f))
            except FileNotFoundError:
                pass
        shutil.rmtree(os.path.join(self.unit_dir, "husk.service.d"), ignore_errors=True)
        systemctl("daemon-reload", check=False)
        systemctl("reset-failed", check=False)

    def state(self, cid):
        with open(os.path.join(self.run_dir, "containers", cid, "state.json")) as f:
            return json.load(f)

    def service_gone(self):
        return props("husk.service", "ActiveState")["ActiveState"] in ("inactive", "failed")


def journal_hint():
    return systemctl("status", "husk.service", "husk.socket", "--no-pager", "-l",
                     check=False).stdout


@pytest.fixture(scope="module")
def units(tmp_path_factory, image_tars):
    p = subprocess.run(["systemctl", "--user", "show", "-p", "SystemState", "--value"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or p.stdout.strip() not in ("running", "degraded"):
        pytest.fail(f"HUSK_TEST_SYSTEMD_USER=1 but no systemd --user answers: {p.stderr}")
    u = Units(str(tmp_path_factory.mktemp("units")))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(u.sock)
        pytest.fail(f"something listens on {u.sock} already: another husk of this user is in "
                    "the way")
    except OSError:
        pass  # a stale file is replaced by systemd
    finally:
        probe.close()
    u.install()
    try:
        systemctl("start", "husk.socket")
        u.docker("load", "-i", image_tars["image"])
        yield u
    finally:
        try:
            u.husk.remove_all()
        finally:
            u.uninstall()


def name():
    return "u" + uuid.uuid4().hex[:10]


def test_units_as_shipped(units):
    s = props("husk.service", "Type", "NotifyAccess", "KillMode", "Delegate",
              "StartLimitIntervalUSec", "Requires", "TriggeredBy")
    assert (s["Type"], s["NotifyAccess"], s["KillMode"], s["Delegate"]) == \
        ("notify", "main", "process", "yes"), s
    assert s["StartLimitIntervalUSec"] in ("0", "infinity"), s
    assert "husk.socket" in s["TriggeredBy"]
    k = props("husk.socket", "Listen", "SocketMode", "DirectoryMode", "ActiveState", "SubState")
    assert k["Listen"] == f"{units.sock} (Stream)", k
    assert (k["SocketMode"], k["DirectoryMode"]) == ("0600", "0700"), k
    # "running" while husk.service runs (the image was just loaded), else "listening"
    assert k["ActiveState"] == "active" and k["SubState"] in ("listening", "running"), k
    assert oct(os.stat(units.sock).st_mode & 0o777) == oct(0o600)
    assert oct(os.stat(units.run_dir).st_mode & 0o777) == oct(0o700)


def test_activation_ready_idle_exit_and_again(units):
    assert wait_until(units.service_gone, IDLE + 5), journal_hint()
    assert units.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    s = props("husk.service", "ActiveState", "SubState", "MainPID")
    # Type=notify: "active" only after READY=1 (else "activating" until the start timeout)
    assert (s["ActiveState"], s["SubState"]) == ("active", "running"), s
    pid = int(s["MainPID"])
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert os.path.basename(f.read().split(b"\0")[0]) == b"husk-api"
    t0 = time.monotonic()
    assert wait_until(units.service_gone, IDLE + 5), "husk.service did not exit when idle"
    assert time.monotonic() - t0 >= IDLE - 0.3
    s = props("husk.service", "ActiveState", "SubState", "Result", "ExecMainStatus",
              "ExecMainCode")
    assert (s["ActiveState"], s["SubState"], s["Result"], s["ExecMainStatus"]) == \
        ("inactive", "dead", "success", "0"), s
    k = props("husk.socket", "ActiveState", "SubState")
    assert (k["ActiveState"], k["SubState"]) == ("active", "listening"), k
    # the next request activates it again
    units.docker("ps")
    again = int(props("husk.service", "MainPID")["MainPID"])
    assert again and again != pid


def test_nothing_of_the_activation_leaks(units):
    env = units.docker("run", "--rm", TEST_IMAGE, "env").stdout.splitlines()
    keys = {line.split("=", 1)[0] for line in env}
    assert not keys & set(ACTIVATION_VARS), env
    assert "INVOCATION_ID" not in keys, env
    n = name()
    cid = units.docker("run", "-d", "--name", n, TEST_IMAGE, "sleep", "60").stdout.strip()
    st = units.state(cid)
    for pid in (st["MonitorPid"], st["Pid"]):
        e = proc_environ(pid)
        assert "PATH" in e
        assert not [v for v in ACTIVATION_VARS if v in e], e
    units.docker("rm", "-f", n)


def test_containers_have_scopes_and_outlive_the_service(units):
    n = name()
    cid = units.docker("run", "-d", "--name", n, "--stop-timeout", "5", TEST_IMAGE, "sh", "-c",
                       "trap 'echo got TERM; exit 42' TERM; "
                       "while :; do echo tick; sleep 0.1; done").stdout.strip()
    scope = f"husk-{cid[:12]}.scope"
    st = units.state(cid)
    p = systemctl("status", scope, "--no-pager", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert props(scope, "ActiveState")["ActiveState"] == "active"
    # In the scope: the monitor in <scope>/monitor and the container in <scope>/container
    # where systemd runs in its unified mode (cgroup v2 has no processes in inner nodes);
    # in its hybrid mode (the name=systemd v1 hierarchy) both in the scope itself.
    for pid, leaf in ((st["MonitorPid"], "monitor"), (st["Pid"], "container")):
        cg = cgroup(pid)
        assert cg.endswith("/" + scope) or cg.endswith(f"/{scope}/{leaf}"), (pid, cg)
    api = int(props("husk.service", "MainPID")["MainPID"])
    assert api and not cgroup(api).endswith(scope)

    # stopped (SIGTERM to the service's cgroup, as KillMode=process leaves it: husk-api only)
    systemctl("stop", "husk.service")
    assert units.service_gone()
    assert pid_alive(st["MonitorPid"]) and pid_alive(st["Pid"])
    lines = len(units.docker("logs", n).stdout.splitlines())
    # killed
    assert props("husk.service", "ActiveState")["ActiveState"] == "active"
    systemctl("kill", "--signal=KILL", "husk.service")
    assert wait_until(units.service_gone, 5)
    assert pid_alive(st["MonitorPid"]) and pid_alive(st["Pid"])
    assert wait_until(lambda: len(units.docker("logs", n).stdout.splitlines()) > lines + 3, 5)
    assert json.loads(units.docker("inspect", "-f", "{{json .State}}", n).stdout)["Running"]

    # the scope stopped: its monitor stops the container and records the exit
    systemctl("stop", scope)
    assert wait_until(lambda: not pid_alive(st["MonitorPid"]), 10)
    s = json.loads(units.docker("inspect", "-f", "{{json .State}}", n).stdout)
    assert (s["Status"], s["ExitCode"]) == ("exited", 42), s
    assert units.docker("logs", "--tail", "1", n).stdout == "got TERM\n"
    units.docker("rm", n)


def manager_controllers():
    """What the user manager was given (its cgroup is the parent of the tests' own, under
    tests/run): what its Delegate=yes scopes can have."""
    own = cgroup_of(os.getpid())
    try:
        with open(os.path.join(os.path.dirname(own), "cgroup.controllers")) as f:
            return os.path.dirname(own), set(f.read().split())
    except (OSError, TypeError):
        return None, set()


def test_containers_get_cgroups_in_their_scopes(units):
    info = json.loads(units.docker("info", "--format", "{{json .}}").stdout)
    assert (info["CgroupDriver"], info["CgroupVersion"]) == ("systemd", "2"), info
    manager, offered = manager_controllers()
    n = name()
    flags = ["--pids-limit", "20"] if "pids" in offered else []
    cid = units.docker("run", "-d", "--name", n, *flags, TEST_IMAGE, "sleep", "600").stdout.strip()
    try:
        scope = f"husk-{cid[:12]}.scope"
        st = units.state(cid)
        ctr, mon = cgroup_of(st["Pid"]), cgroup_of(st["MonitorPid"])
        assert ctr.endswith(f"/{scope}/container") and mon.endswith(f"/{scope}/monitor"), \
            (ctr, mon)
        # (as systemd's mount namespace shows it, which may be another view of the tree)
        assert st["Cgroup"].endswith(f"/{scope}/container"), st
        if flags:
            with open(os.path.join(ctr, "pids.max")) as f:
                assert f.read().strip() == "20"
            units.docker("update", "--pids-limit", "25", n)
            with open(os.path.join(ctr, "pids.max")) as f:
                assert f.read().strip() == "25"
        units.docker("pause", n)
        with open(os.path.join(ctr, "cgroup.events")) as f:
            assert "frozen 1" in f.read().splitlines()
        units.docker("unpause", n)
    finally:
        units.docker("rm", "-f", n)
    assert wait_until(lambda: not os.path.exists(ctr), 5)
    if "pids" not in offered and manager:
        p = units.docker("run", "--rm", "--pids-limit", "20", TEST_IMAGE, "true", check=False)
        assert p.returncode == 125
        assert "the pids controller is not delegated to husk (" in p.stderr, p.stderr
        assert os.path.basename(manager) + " offers" in p.stderr, p.stderr
