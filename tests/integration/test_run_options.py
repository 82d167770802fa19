"""docker run options end to end with the docker CLI, docker-py and the raw API: --init,
--ulimit, --stop-signal and --stop-timeout, --env-file, --read-only with a volume and tmpfs,
--hostname and --entrypoint "" (issue 4)."""
import json
import os
import resource
import time
import uuid

import pytest


def name():
    return "r" + uuid.uuid4().hex[:10]


def procs(text):
    """'pid ppid comm state' lines (from /proc/*/stat) as a list of tuples."""
    out = []
    for line in text.splitlines():
        pid, comm, state, ppid = line.split()[:4]
        out.append((int(pid), int(ppid), comm.strip("()"), state))
    return out


PROCS = "for f in /proc/[0-9]*/stat; do cut -d' ' -f1-4 $f; done 2>/dev/null"


# --- --init -------------------------------------------------------------------------------

def test_init_is_pid_1(husk, image):
    p = husk.docker("run", "--rm", "--init", image, "ps")
    lines = p.stdout.splitlines()
    assert lines[1].split()[0] == "1" and lines[1].endswith("/sbin/docker-init -- ps")
    assert lines[2].split()[0] != "1" and lines[2].endswith("ps")
    # without it the command is PID 1
    p = husk.docker("run", "--rm", image, "ps")
    assert p.stdout.splitlines()[1].split()[:1] == ["1"]
    assert p.stdout.splitlines()[1].endswith("ps")


def test_init_inspect_and_mount(husk, image):
    n = name()
    husk.docker("run", "--name", n, "--init", image, "sh", "-c",
                "grep ' /sbin/docker-init ' /proc/mounts; test -x /sbin/docker-init && "
                "! touch /sbin/docker-init 2>/dev/null && echo readonly")
    out = husk.docker("logs", n).stdout
    assert " ro," in out and out.endswith("readonly\n")
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["HostConfig"]["Init"] is True
    assert info["Path"] == "sh"  # the user's command, as Docker shows it
    husk.docker("rm", n)


def test_init_reaps_orphans(husk, image):
    """An orphan is re-parented to PID 1, husk-init, which reaps it once it exits: no zombie."""
    p = husk.docker("run", "--rm", "--init", image, "sh", "-c",
                    f"(sleep 0.5 &); sleep 0.2; {PROCS}; echo --; sleep 1; {PROCS}")
    before, after = p.stdout.split("--\n")
    orphans = [x for x in procs(before) if x[2] == "sleep" and x[1] == 1]
    assert orphans, before  # the backgrounded sleep now belongs to husk-init
    assert [x for x in procs(after) if x[3] == "Z"] == []
    assert orphans[0][0] not in [x[0] for x in procs(after)]


def test_init_exit_codes(husk, image):
    assert husk.docker("run", "--rm", "--init", image, "sh", "-c", "exit 7",
                       check=False).returncode == 7
    # killed by a signal: 128 + the signal, as Docker's init reports it
    assert husk.docker("run", "--rm", "--init", image, "sh", "-c", "kill -USR2 $$",
                       check=False).returncode == 128 + 12
    p = husk.docker("run", "--rm", "--init", image, "nosuchcommand", check=False)
    assert p.returncode == 127 and "nosuchcommand" in p.stderr


def test_init_forwards_stop(husk, image):
    """docker stop of `--init sleep 100`: SIGTERM reaches sleep (which, as PID 1, would ignore
    it) and the container is gone at once, not after the 10 s timeout."""
    n = name()
    husk.docker("run", "-d", "--name", n, "--init", image, "sleep", "100")
    t = time.monotonic()
    husk.docker("stop", n)
    assert time.monotonic() - t < 2
    assert husk.docker("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip() == "143"
    husk.docker("rm", n)


def test_init_forwards_other_signals(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--init", image, "sh", "-c",
                "trap 'echo got HUP' HUP; echo ready; while :; do sleep 0.1; done")
    for _ in range(50):
        if husk.docker("logs", n).stdout == "ready\n":
            break
        time.sleep(0.1)
    husk.docker("kill", "-s", "HUP", n)
    for _ in range(50):
        if "got HUP" in husk.docker("logs", n).stdout:
            break
        time.sleep(0.1)
    assert husk.docker("logs", n).stdout == "ready\ngot HUP\n"
    husk.docker("rm", "-f", n)


def test_init_dockerpy(husk, image):
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"], init=True,
                           remove=True)
    assert out == b"/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr '\\0' ' ' "


# --- --ulimit -----------------------------------------------------------------------------

def test_ulimit(husk, image):
    p = husk.docker("run", "--rm", "--ulimit", "nofile=1024:2048", "--ulimit", "core=0",
                    image, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c")
    assert p.stdout == "1024\n2048\n0\n"
    n = name()
    husk.docker("create", "--name", n, "--ulimit", "nproc=500:600", image, "true")
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["HostConfig"]["Ulimits"] == [{"Name": "nproc", "Soft": 500, "Hard": 600}]
    husk.docker("rm", n)


def test_ulimit_dockerpy(husk, image):
    import docker
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", "ulimit -n; ulimit -Hn"], remove=True,
                           ulimits=[docker.types.Ulimit(name="nofile", soft=100, hard=200)])
    assert out == b"100\n200\n"


@pytest.mark.parametrize("ulimits,text", [
    ([{"Name": "bogus", "Soft": 1, "Hard": 1}], "invalid ulimit type: bogus"),
    ([{"Name": "nofile", "Soft": 2048, "Hard": 1024}],
     "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"),
    ([{"Name": "nofile", "Soft": "1", "Hard": 1}],
     "json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft"),
    (["nofile=1"], "json: cannot unmarshal string"),
    ({"Name": "nofile"}, "json: cannot unmarshal object"),
])
def test_ulimit_bad_input(husk, image, ulimits, text):
    def ls():
        d = os.path.join(husk.data_dir, "containers")
        return sorted(x for x in os.listdir(d) if not x.startswith(".removing-"))
    before = ls()
    r = husk.api("POST", "/containers/create",
                 {"Image": image, "Cmd": ["true"], "HostConfig": {"Ulimits": ulimits}})
    assert r.status == 400, r
    assert text in r.json()["message"]
    assert ls() == before


def test_ulimit_cli_checks(husk, image):
    p = husk.docker("run", "--rm", "--ulimit", "bogus=1", image, "true", check=False)
    assert p.returncode == 125 and "invalid ulimit type: bogus" in p.stderr


def test_ulimit_above_the_users_hard_limit(husk, image):
    """Raising a hard limit takes CAP_SYS_RESOURCE in the host's namespace: a clear error at
    start, and the container stays created."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    n = name()
    husk.docker("create", "--name", n, "--ulimit", f"nofile=64:{hard + 1}", image, "true")
    p = husk.docker("start", n, check=False)
    assert p.returncode != 0
    assert (f"cannot set ulimit nofile: its hard limit {hard + 1} is above {hard}, the hard "
            "limit of the user running husk") in p.stderr
    assert husk.docker("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "created"
    # at or below it: fine
    assert husk.docker("run", "--rm", "--ulimit", f"nofile=64:{hard}", image, "sh", "-c",
                       "ulimit -Hn").stdout.strip() == str(hard)
    husk.docker("rm", n)


# --- --stop-signal, --stop-timeout --------------------------------------------------------

def wait_for_log(husk, n, text, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in husk.docker("logs", n).stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log of {n}")


def test_stop_signal(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--stop-signal", "SIGUSR1", image, "sh", "-c",
                "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.1; done")
    wait_for_log(husk, n, "ready")
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["Config"]["StopSignal"] == "SIGUSR1"
    t = time.monotonic()
    husk.docker("stop", n)
    assert time.monotonic() - t < 5
    assert husk.docker("logs", n).stdout == "ready\ngot USR1\n"
    assert husk.docker("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip() == "3"
    # docker stop -s overrides it
    husk.docker("start", n)
    wait_for_log(husk, n, "ready\ngot USR1\nready")
    husk.docker("stop", "-s", "KILL", n)
    assert husk.docker("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip() == "137"
    husk.docker("rm", n)


def test_stop_timeout(husk, image):
    """sleep as PID 1 ignores SIGTERM: docker stop waits the container's StopTimeout, then
    kills."""
    n = name()
    husk.docker("run", "-d", "--name", n, "--stop-timeout", "1", image, "sleep", "100")
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["Config"]["StopTimeout"] == 1
    t = time.monotonic()
    husk.docker("stop", n)
    took = time.monotonic() - t
    assert 0.9 < took < 5, took
    assert husk.docker("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip() == "137"
    # -t wins over it
    husk.docker("start", n)
    t = time.monotonic()
    husk.docker("stop", "-t", "0", n)
    assert time.monotonic() - t < 1
    husk.docker("rm", n)


def test_stop_signal_dockerpy(husk, image):
    c = husk.client()
    ctr = c.containers.run(image, ["sh", "-c", "trap 'exit 9' HUP; while :; do sleep 0.1; done"],
                           detach=True, stop_signal="SIGHUP")
    try:
        time.sleep(0.3)
        ctr.stop(timeout=5)
        assert ctr.wait()["StatusCode"] == 9
    finally:
        ctr.remove(force=True)


@pytest.mark.parametrize("cfg,text", [
    ({"StopSignal": "SIGNOPE"}, "Invalid signal: SIGNOPE"),
    ({"StopSignal": "99"}, "Invalid signal: 99"),
    ({"StopTimeout": -2}, "invalid StopTimeout"),
])
def test_stop_bad_input(husk, image, cfg, text):
    body = {"Image": image, "Cmd": ["true"]}
    body.update(cfg)
    r = husk.api("POST", "/containers/create", body)
    assert r.status == 400, r
    assert text in r.json()["message"]


# --- --env-file, --read-only, --hostname, --entrypoint "" ---------------------------------

def test_env_file(husk, image, tmp_path):
    f = tmp_path / "env"
    f.write_text("# a comment\n\nA=1\nB=two words\nC=\nFROM_HOST\nA_QUOTE=\"q\"\n")
    p = husk.docker("run", "--rm", "--env-file", str(f), "-e", "B=overridden", image, "sh", "-c",
                    "echo \"$A|$B|${C-unset}|$FROM_HOST|$A_QUOTE\"",
                    env={"FROM_HOST": "passed"})
    assert p.stdout == "1|overridden||passed|\"q\"\n"


def test_read_only_with_volume_and_tmpfs(husk, image):
    n = "ro" + uuid.uuid4().hex[:8]
    p = husk.docker("run", "--rm", "--read-only", "-v", f"{n}:/data", "--tmpfs", "/tmp",
                    "--mount", "type=tmpfs,target=/run/t", image, "sh", "-c",
                    "touch /data/a /tmp/b /run/t/c && echo writable; "
                    "touch /etc/x 2>&1; touch /home/husk/y 2>&1; true")
    lines = p.stdout.splitlines()
    assert lines[0] == "writable"
    assert all("Read-only file system" in x for x in lines[1:]) and len(lines) == 3
    assert os.path.exists(os.path.join(husk.data_dir, "volumes", n, "_data", "a"))
    husk.docker("volume", "rm", n)


def test_read_only_with_a_new_working_dir(husk, image):
    """Docker makes a missing WorkingDir in the writable layer: a read-only root gets it."""
    p = husk.docker("run", "--rm", "--read-only", "-w", "/new/wd", image, "sh", "-c",
                    "pwd; touch x 2>&1; true")
    assert p.stdout.splitlines()[0] == "/new/wd"
    assert "Read-only file system" in p.stdout.splitlines()[1]
    c = husk.client()
    assert c.containers.run(image, "pwd", remove=True, read_only=True,
                            working_dir="/other/wd").strip() == b"/other/wd"


def test_hostname(husk, image):
    p = husk.docker("run", "--rm", "--hostname", "box.example", image, "sh", "-c",
                    "hostname; cat /etc/hostname; echo $HOSTNAME")
    assert p.stdout == "box.example\nbox.example\nbox.example\n"


def test_empty_entrypoint(husk, image, image_tars):
    img = "husk-test/withentry:" + uuid.uuid4().hex[:6]
    husk.docker("import", "-c", 'ENTRYPOINT ["/bin/echo", "from-entrypoint"]', "-c",
                'CMD ["cmd"]', image_tars["rootfs"], img)
    assert husk.docker("run", "--rm", img).stdout == "from-entrypoint cmd\n"
    assert husk.docker("run", "--rm", img, "x").stdout == "from-entrypoint x\n"
    # --entrypoint "" drops the image's entrypoint (and its Cmd goes with it)
    p = husk.docker("run", "--rm", "--entrypoint", "", img, "sh", "-c", "echo plain")
    assert p.stdout == "plain\n"
    n = name()
    husk.docker("create", "--name", n, "--entrypoint", "", img, "echo", "x")
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["Config"]["Entrypoint"] is None and info["Path"] == "echo"
    husk.docker("rm", n)
    # --entrypoint "" with no command: nothing to run
    p = husk.docker("run", "--rm", "--entrypoint", "", img, check=False)
    assert p.returncode == 125 and "No command specified" in p.stderr
    husk.docker("rmi", img)


@pytest.mark.parametrize("args,text", [
    (["-p", "8080:80"], "publishing ports (-p 80/tcp)"),
    (["-P", "--expose", "80"], "publishing ports (-P)"),
    (["--sysctl", "net.ipv4.ip_forward=1"], "--sysctl is not supported"),
    (["--device", "/dev/null:/dev/xnull"], "--device is not supported"),
    (["--pid", "host"], "--pid host is not supported"),
    (["--ipc", "host"], "--ipc host is not supported"),
    (["--uts", "host"], "--uts host is not supported"),
    (["--userns", "host"], "--userns host is not supported"),
    (["--log-driver", "syslog"], 'logging driver "syslog" is not supported'),
    (["--log-driver", "nosuchdriver"], "logger: no log driver named 'nosuchdriver' is "
                                       "registered"),
    (["--ipc", "bogus"], "invalid IPC mode: bogus"),
    (["--tmpfs", "/t:size=-1"], 'invalid tmpfs option "size=-1"'),
    (["--runtime", "kata"], "unknown or invalid runtime name: kata"),
    (["--oom-score-adj", "-500"], "lowering it needs privileges"),
    (["--oom-score-adj", "5000"], "range for oom score adj is [-1000, 1000]"),
])
def test_what_husk_cannot_do_is_refused(husk, image, args, text):
    """Never accepted and ignored: a clear error, and no container."""
    before = husk.docker("ps", "-aq").stdout.split()
    p = husk.docker("run", "--rm", *args, image, "true", check=False)
    assert p.returncode != 0
    assert text in p.stderr, p.stderr
    assert husk.docker("ps", "-aq").stdout.split() == before


def test_links(husk, image):
    """--link as dockerd checks it: recorded with --network none (compose links one-off
    containers to a running service that way), Docker's conflict with host, refused on the
    default network (only lo: no address to link to), 404 for a container that is not there."""
    target = "lk" + uuid.uuid4().hex[:8]
    husk.docker("run", "-d", "--name", target, "--network", "none", image, "sleep", "30")
    try:
        p = husk.docker("run", "--rm", "--network", "none", "--link", f"{target}:t", image,
                        "echo", "linked")
        assert p.stdout.strip() == "linked"
        r = husk.client().containers.run(image, ["echo", "py"], remove=True,
                                         network_mode="none", links={target: "t"})
        assert r.strip() == b"py"
        before = husk.docker("ps", "-aq").stdout.split()
        for args, text in [
            (["--network", "host", "--link", target], "host type networking can't be used "
                                                      "with links"),
            (["--link", target], "--link is not supported by husk yet on network bridge"),
            (["--network", "none", "--link", "nosuch:x"],
             "could not get container for nosuch: No such container: nosuch"),
            (["--network", "none", "--link", "a:b:c"], "bad format for links: a:b:c"),
        ]:
            p = husk.docker("run", "--rm", *args, image, "true", check=False)
            assert p.returncode != 0 and text in p.stderr, (args, p.stderr)
        assert husk.docker("ps", "-aq").stdout.split() == before
        r = husk.api("POST", "/containers/create", {"Image": image, "Cmd": ["true"], "HostConfig": {
            "NetworkMode": "none", "Links": ["nosuch"]}})
        assert r.status == 404
    finally:
        husk.docker("rm", "-f", target, check=False)


@pytest.mark.parametrize("hc,status,message", [
    ({"PidMode": "private"}, 400, "invalid PID mode: private"),
    ({"UTSMode": "x"}, 400, "invalid UTS mode: x"),
    ({"UsernsMode": "x"}, 400, "invalid userns mode: x"),
    ({"CgroupnsMode": "x"}, 400, "invalid cgroup namespace mode: x"),
    ({"IpcMode": "container:"}, 400, "invalid IPC mode: container:"),
    ({"PidMode": "container:other"}, 501, "--pid container:other is not supported"),
    ({"LogConfig": {"Type": "AAAA"}}, 400, "logger: no log driver named 'AAAA' is registered"),
    ({"MemorySwappiness": 1.5}, 400, "json: cannot unmarshal"),
])
def test_invalid_modes_are_bad_requests(husk, image, hc, status, message):
    """dockerd's 400 for values it does not know; 501 only for what husk cannot do."""
    r = husk.api("POST", "/containers/create", {"Image": image, "Cmd": ["true"],
                                                "HostConfig": hc})
    assert r.status == status and message in r.json()["message"], r.json()
    assert r.headers["content-type"] == "application/json"


def test_oom_score_adj(husk, image):
    p = husk.docker("run", "--rm", "--oom-score-adj", "500", image, "cat",
                    "/proc/self/oom_score_adj")
    assert p.stdout.strip() == "500"


# --- --cap-add, --cap-drop, --privileged, --security-opt ----------------------------------

DEFAULT_CAPS = 0xa80425fb  # Docker's default set
CAP = {"CHOWN": 0, "NET_ADMIN": 12, "NET_RAW": 13, "SYS_ADMIN": 21, "SYS_PTRACE": 19}
STATUS_SH = "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status"


def all_caps():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return (1 << (int(f.read()) + 1)) - 1


def status_lines(text):
    """{key: value} of the /proc/self/status lines in the text; other lines ignored."""
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_cap_add_and_drop(husk, image):
    # Without NET_ADMIN no interface can be changed; with it, lo (of the container's own
    # network namespace) can. Without CHOWN root cannot give a file away.
    probe = ("ip link set lo mtu 1300 2>/dev/null && echo net:yes || echo net:no; "
             "touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown:yes || echo chown:no; "
             + STATUS_SH)
    p = husk.docker("run", "--rm", image, "sh", "-c", probe)
    assert p.stdout.splitlines()[:2] == ["net:no", "chown:yes"]
    p = husk.docker("run", "--rm", "--cap-add", "NET_ADMIN", "--cap-drop", "chown", image,
                    "sh", "-c", probe)
    assert p.stdout.splitlines()[:2] == ["net:yes", "chown:no"]
    st = status_lines(p.stdout)
    want = (DEFAULT_CAPS | 1 << CAP["NET_ADMIN"]) & ~(1 << CAP["CHOWN"])
    assert int(st["CapEff"], 16) == want and int(st["CapBnd"], 16) == want
    assert st["Seccomp"] == "2"
    # CAP_ prefixes and any case, as Docker takes them; inspect keeps what was asked
    n = name()
    husk.docker("create", "--name", n, "--cap-add", "CAP_SYS_PTRACE", "--cap-drop", "NET_RAW",
                image, "true")
    hc = json.loads(husk.docker("inspect", n).stdout)[0]["HostConfig"]
    assert hc["CapAdd"] == ["CAP_SYS_PTRACE"] and hc["CapDrop"] == ["CAP_NET_RAW"]
    husk.docker("rm", n)


def test_cap_drop_all_and_add_all(husk, image):
    p = husk.docker("run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", image,
                    "sh", "-c", STATUS_SH)
    st = status_lines(p.stdout)
    assert int(st["CapEff"], 16) == 1 << CAP["CHOWN"]
    assert int(st["CapBnd"], 16) == 1 << CAP["CHOWN"]
    p = husk.docker("run", "--rm", "--cap-drop", "ALL", image, "sh", "-c",
                    "touch /tmp/f; chown 1000 /tmp/f 2>&1; " + STATUS_SH)
    assert "Operation not permitted" in p.stdout
    assert status_lines(p.stdout)["CapEff"] == "0000000000000000"
    # ALL added: every capability there is, still under the default seccomp profile
    p = husk.docker("run", "--rm", "--cap-add", "ALL", image, "sh", "-c", STATUS_SH)
    st = status_lines(p.stdout)
    assert int(st["CapEff"], 16) == all_caps() and st["Seccomp"] == "2"


def test_cap_bad_input(husk, image):
    before = husk.docker("ps", "-aq").stdout.split()
    p = husk.docker("run", "--rm", "--cap-add", "NOT_A_CAP", image, "true", check=False)
    assert p.returncode == 125 and "unknown capability" in p.stderr, p.stderr
    p = husk.docker("run", "--rm", "--cap-drop", "BOGUS", image, "true", check=False)
    assert p.returncode == 125 and "unknown capability" in p.stderr, p.stderr
    assert husk.docker("ps", "-aq").stdout.split() == before


def test_caps_dockerpy(husk, image):
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", STATUS_SH], remove=True,
                           cap_drop=["ALL"], cap_add=["NET_ADMIN", "SYS_ADMIN"]).decode()
    want = 1 << CAP["NET_ADMIN"] | 1 << CAP["SYS_ADMIN"]
    assert int(status_lines(out)["CapEff"], 16) == want
    out = c.containers.run(image, ["sh", "-c", "ip link set lo mtu 1300 && echo ok"],
                           remove=True, cap_add=["NET_ADMIN"])
    assert out == b"ok\n"


MASKED_SH = ("grep -c -E ' /proc/(acpi|asound|kcore|keys|latency_stats|timer_list|scsi) ' "
             "/proc/mounts; "
             "unshare -U true 2>/dev/null && echo unshare:yes || echo unshare:no; " + STATUS_SH)


def test_privileged(husk, image):
    """--privileged: every capability the user namespace has, no seccomp, no masked paths."""
    p = husk.docker("run", "--rm", image, "sh", "-c", MASKED_SH)
    lines = p.stdout.splitlines()
    assert int(lines[0]) >= 1 and lines[1] == "unshare:no"
    p = husk.docker("run", "--rm", "--privileged", image, "sh", "-c", MASKED_SH)
    lines = p.stdout.splitlines()
    assert lines[0] == "0" and lines[1] == "unshare:yes", p.stdout
    st = status_lines(p.stdout)
    assert int(st["CapEff"], 16) == all_caps() and int(st["CapBnd"], 16) == all_caps()
    assert st["Seccomp"] == "0"
    n = name()
    husk.docker("create", "--name", n, "--privileged", image, "true")
    assert json.loads(husk.docker("inspect", n).stdout)[0]["HostConfig"]["Privileged"] is True
    husk.docker("rm", n)


def test_privileged_dockerpy(husk, image):
    out = husk.client().containers.run(image, ["sh", "-c", MASKED_SH], privileged=True,
                                       remove=True).decode()
    assert out.splitlines()[:2] == ["0", "unshare:yes"]
    st = status_lines(out)
    assert int(st["CapEff"], 16) == all_caps() and st["Seccomp"] == "0"


# A profile of one's own: everything allowed but mkdir, which fails with EPERM.
NO_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
SECCOMP_SH = ("mkdir /tmp/d 2>/dev/null && echo mkdir:yes || echo mkdir:no; "
              "unshare -U true 2>/dev/null && echo unshare:yes || echo unshare:no; " + STATUS_SH)


def test_security_opt_seccomp(husk, image, tmp_path):
    p = husk.docker("run", "--rm", image, "sh", "-c", SECCOMP_SH)
    assert p.stdout.splitlines()[:2] == ["mkdir:yes", "unshare:no"]
    # unconfined: no filter at all; the capabilities stay Docker's
    p = husk.docker("run", "--rm", "--security-opt", "seccomp=unconfined", image, "sh", "-c",
                    SECCOMP_SH)
    assert p.stdout.splitlines()[:2] == ["mkdir:yes", "unshare:yes"]
    st = status_lines(p.stdout)
    assert st["Seccomp"] == "0" and int(st["CapEff"], 16) == DEFAULT_CAPS
    # a profile file: the CLI sends its content, which replaces Docker's default
    prof = tmp_path / "no-mkdir.json"
    prof.write_text(json.dumps(NO_MKDIR))
    n = name()
    husk.docker("run", "--name", n, "--security-opt", f"seccomp={prof}", image, "sh", "-c",
                SECCOMP_SH)
    out = husk.docker("logs", n).stdout
    assert out.splitlines()[:2] == ["mkdir:no", "unshare:yes"]
    assert status_lines(out)["Seccomp"] == "2"
    opts = json.loads(husk.docker("inspect", n).stdout)[0]["HostConfig"]["SecurityOpt"]
    assert len(opts) == 1 and opts[0].startswith("seccomp=")
    assert json.loads(opts[0][len("seccomp="):]) == NO_MKDIR
    husk.docker("rm", n)


def test_security_opt_seccomp_dockerpy(husk, image):
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", SECCOMP_SH], remove=True,
                           security_opt=["seccomp=" + json.dumps(NO_MKDIR)]).decode()
    assert out.splitlines()[:2] == ["mkdir:no", "unshare:yes"]
    out = c.containers.run(image, ["sh", "-c", SECCOMP_SH], remove=True,
                           security_opt=["seccomp=unconfined"]).decode()
    assert status_lines(out)["Seccomp"] == "0"


def test_security_opt_bad_profiles(husk, image, tmp_path):
    before = husk.docker("ps", "-aq").stdout.split()
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    p = husk.docker("run", "--rm", "--security-opt", f"seccomp={bad}", image, "true",
                    check=False)
    assert p.returncode != 0 and "seccomp" in p.stderr.lower(), p.stderr
    p = husk.docker("run", "--rm", "--security-opt", "no-new-privileges=maybe", image, "true",
                    check=False)
    assert p.returncode != 0 and "no-new-privileges" in p.stderr, p.stderr
    assert husk.docker("ps", "-aq").stdout.split() == before


@pytest.mark.parametrize("opt", ["no-new-privileges", "no-new-privileges=true",
                                 "no-new-privileges:true"])
def test_security_opt_no_new_privileges(husk, image, opt):
    n = name()
    husk.docker("run", "--name", n, "--security-opt", opt, image, "sh", "-c", STATUS_SH)
    assert status_lines(husk.docker("logs", n).stdout)["NoNewPrivs"] == "1"
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["HostConfig"]["SecurityOpt"] == [opt]
    husk.docker("rm", n)
    out = husk.client().containers.run(image, ["sh", "-c", STATUS_SH], remove=True,
                                       security_opt=[opt]).decode()
    assert status_lines(out)["NoNewPrivs"] == "1"


# --- --shm-size, --tmpfs PATH:OPTIONS ------------------------------------------------------

SHM_SH = ("grep ' /dev/shm ' /proc/mounts; "
          "dd if=/dev/zero of=/dev/shm/f bs=1k count=3072 2>&1; true")


def test_shm_size(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c", SHM_SH)
    assert "size=65536k" in p.stdout.splitlines()[0]  # Docker's default, 64 MB
    n = name()
    husk.docker("run", "--name", n, "--shm-size", "2m", image, "sh", "-c", SHM_SH)
    out = husk.docker("logs", n).stdout
    assert "size=2048k" in out.splitlines()[0]
    assert "No space left on device" in out  # the limit holds: 3 MB do not fit
    assert json.loads(husk.docker("inspect", n).stdout)[0]["HostConfig"]["ShmSize"] == 2 << 20
    husk.docker("rm", n)


def test_shm_size_dockerpy(husk, image):
    out = husk.client().containers.run(image, ["grep", " /dev/shm ", "/proc/mounts"],
                                       shm_size="8m", remove=True)
    assert b"size=8192k" in out


def test_tmpfs_with_options(husk, image):
    p = husk.docker("run", "--rm", "--tmpfs", "/scratch:size=1m,mode=1770,uid=1000", image,
                    "sh", "-c", "grep ' /scratch ' /proc/mounts; stat -c '%a %u' /scratch; "
                    "dd if=/dev/zero of=/scratch/f bs=1k count=2048 2>&1; true")
    lines = p.stdout.splitlines()
    assert lines[0].startswith("tmpfs /scratch tmpfs ") and "size=1024k" in lines[0]
    assert lines[1] == "1770 1000"
    assert "No space left on device" in p.stdout
    # Docker's defaults for a --tmpfs without options: noexec, nosuid, nodev, rw
    p = husk.docker("run", "--rm", "--tmpfs", "/plain", image, "grep", " /plain ",
                    "/proc/mounts")
    opts = p.stdout.split()[3].split(",")
    assert {"rw", "nosuid", "nodev", "noexec"} <= set(opts), opts
    # exec asked for
    p = husk.docker("run", "--rm", "--tmpfs", "/x:exec", image, "sh", "-c",
                    "cp /bin/busybox /x/echo && /x/echo ran")
    assert p.stdout == "ran\n"


def test_tmpfs_dockerpy(husk, image):
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t"],
                           tmpfs={"/t": "size=3m,mode=700"}, remove=True).decode()
    line, mode = out.splitlines()
    assert "size=3072k" in line and mode == "700"


# --- the other flags through docker-py -------------------------------------------------------

def test_run_options_dockerpy(husk, image):
    """-e, -w, -u, --entrypoint, --hostname, --label, --read-only, --stop-timeout, --rm
    (AutoRemove, done by husk, not docker-py) as docker-py sends them."""
    c = husk.client()
    out = c.containers.run(
        image, ["-c", "echo $A $B; pwd; id -u; id -g; hostname; touch /f 2>&1; true"],
        entrypoint=["sh"], environment={"A": "1", "B": "two words"}, working_dir="/tmp",
        user="1000:1001", hostname="pybox", read_only=True, remove=True).decode()
    lines = out.splitlines()
    assert lines[:5] == ["1 two words", "/tmp", "1000", "1001", "pybox"]
    assert "Read-only file system" in lines[5]
    # a working directory the image lacks is made
    out = c.containers.run(image, ["pwd"], working_dir="/new/wd", remove=True)
    assert out == b"/new/wd\n"
    # (docker-py's containers.run has no stop_timeout: its low-level create has)
    cid = c.api.create_container(image, ["sleep", "100"], stop_timeout=1, labels={"k": "v"},
                                 host_config=c.api.create_host_config(auto_remove=True))["Id"]
    try:
        c.api.start(cid)
        ctr = c.containers.get(cid)
        ctr.reload()
        assert ctr.attrs["HostConfig"]["AutoRemove"] is True
        assert ctr.attrs["Config"]["StopTimeout"] == 1 and ctr.labels == {"k": "v"}
        t = time.monotonic()
        ctr.stop()  # sleep ignores SIGTERM: killed after the container's 1 s
        assert 0.9 < time.monotonic() - t < 5
        # auto-removed by husk once it exited
        for _ in range(100):
            if husk.api("GET", f"/containers/{cid}/json").status == 404:
                break
            time.sleep(0.05)
        assert husk.api("GET", f"/containers/{cid}/json").status == 404
    finally:
        husk.docker("rm", "-f", cid, check=False)
