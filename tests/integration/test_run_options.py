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


def test_oom_score_adj(husk, image):
    p = husk.docker("run", "--rm", "--oom-score-adj", "500", image, "cat",
                    "/proc/self/oom_score_adj")
    assert p.stdout.strip() == "500"
