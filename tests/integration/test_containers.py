"""Containers through the real docker CLI and docker-py: the vertical slice of issue 2."""
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time
import uuid

import pytest

from conftest import DOCKER, run_in_pty


def name():
    return "t" + uuid.uuid4().hex[:10]


# --- docker run --------------------------------------------------------------------------

def test_run_rm_echo(husk, image):
    p = husk.docker("run", "--rm", image, "echo", "hello world")
    assert p.stdout == "hello world\n"
    assert p.stderr == ""


def test_run_rm_leaves_nothing(husk, image):
    n = name()
    husk.docker("run", "--rm", "--name", n, image, "true")
    assert husk.docker("ps", "-aq", "--filter", f"name={n}").stdout.strip() == ""
    assert not os.path.exists(os.path.join(husk.data_dir, "containers", n))


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_codes(husk, image, code):
    p = husk.docker("run", "--rm", image, "sh", "-c", f"exit {code}", check=False)
    assert p.returncode == code


def test_exit_code_of_a_signal(husk, image):
    # pid 1 can't be killed from inside its own namespace (as under Docker: this exits 0)...
    p = husk.docker("run", "--rm", image, "sh", "-c", "kill -9 $$", check=False)
    assert p.returncode == 0
    # ...but from outside it can, and the code is 128 + the signal.
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "100")
    husk.docker("kill", "-s", "KILL", n)
    assert husk.docker("wait", n).stdout.strip() == "137"
    husk.docker("rm", n)


def test_stdout_and_stderr_apart(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c", "echo out; echo err >&2; echo out2")
    assert p.stdout == "out\nout2\n"
    assert p.stderr == "err\n"


def test_large_output(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c", "seq 1 100000")
    lines = p.stdout.splitlines()
    assert len(lines) == 100000 and lines[-1] == "100000"


def test_stdin_with_i(husk, image):
    p = husk.docker("run", "--rm", "-i", image, "sh", "-c", "tr a-z A-Z; echo done",
                    input="hello\nworld\n")
    assert p.stdout == "HELLO\nWORLD\ndone\n"


def test_without_i_stdin_is_empty(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c", "cat; echo end", input="ignored\n")
    assert p.stdout == "end\n"


def test_tty(husk, image):
    """docker run -t under a real pseudo-terminal: the container sees a tty, output has CRLF."""
    # A terminal of 33x101: the CLI sends it as ConsoleSize and resizes to it.
    code, text = run_in_pty(husk, ["run", "--rm", "-t", image, "sh", "-c",
                                   "tty; stty size; echo done"], rows=33, cols=101)
    assert code == 0, text
    assert "/dev/pts/0" in text
    # The container's tty turns \n into \r\n (and the test's own pty adds one more \r).
    assert "done\r\r\n" in text
    assert "33 101\r\r\n" in text


def test_interactive_tty_session(husk, image):
    """docker run -it: type a command into the container's shell and read its answer."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, "run", "--rm", "-it", image, "sh"], husk.env)
    out = b""

    def read_until(token, timeout=20):
        nonlocal out
        deadline = time.time() + timeout
        while token not in out and time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    return
    read_until(b"#")
    os.write(fd, b"echo $((6*7))\n")
    read_until(b"42")
    os.write(fd, b"exit 5\n")
    read_until(b"\x00", timeout=5)
    _, status = os.waitpid(pid, 0)
    assert b"42" in out
    assert os.waitstatus_to_exitcode(status) == 5


# --- inside the container ----------------------------------------------------------------

def test_pid_1(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c", "echo $$; ps -o pid,comm | wc -l")
    pid, procs = p.stdout.split()
    assert pid == "1"
    assert int(procs) <= 4  # header, sh, ps, wc: nothing of the host


def test_capabilities_and_seccomp(husk, image):
    p = husk.docker("run", "--rm", image, "grep", "-E", "^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):",
                    "/proc/self/status")
    status = dict(line.split(":\t") for line in p.stdout.splitlines())
    assert status["CapEff"] == "00000000a80425fb"
    assert status["CapPrm"] == "00000000a80425fb"
    assert status["CapBnd"] == "00000000a80425fb"
    assert status["CapInh"] == "0000000000000000"
    assert status["CapAmb"] == "0000000000000000"
    assert status["Seccomp"] == "2"
    assert status["NoNewPrivs"] == "1"


def test_seccomp_denies_what_docker_denies(husk, image):
    # unshare(2) needs CAP_SYS_ADMIN, which Docker's default profile checks for.
    p = husk.docker("run", "--rm", image, "unshare", "-U", "true", check=False)
    assert p.returncode != 0
    assert "Operation not permitted" in p.stderr


def test_non_root_user_has_no_capabilities(husk, image):
    p = husk.docker("run", "--rm", "-u", "1000:1000", image, "sh", "-c",
                    "id -u; id -g; grep -E '^Cap(Eff|Bnd)' /proc/self/status")
    lines = p.stdout.split("\n")
    assert lines[0] == "1000" and lines[1] == "1000"
    assert "CapEff:\t0000000000000000" in p.stdout
    assert "CapBnd:\t00000000a80425fb" in p.stdout


def test_uid_map(husk, image):
    p = husk.docker("run", "--rm", image, "cat", "/proc/self/uid_map", "/proc/self/gid_map")
    rows = [r.split() for r in p.stdout.splitlines()]
    uid, gid = os.getuid(), os.getgid()
    assert rows[0] == ["0", str(uid), "1"]
    with open("/etc/subuid") as f:
        mine = [line.strip().split(":") for line in f
                if line.split(":")[0] in (os.environ.get("USER", ""), str(uid))]
    if mine:
        assert rows[1][0] == "1" and rows[1][1] == mine[0][1]
        assert int(rows[1][2]) == min(65536, int(mine[0][2]))


def test_hostname_is_the_short_id(husk, image):
    n = name()
    p = husk.docker("run", "--name", n, image, "hostname")
    cid = husk.docker("inspect", "-f", "{{.Id}}", n).stdout.strip()
    assert p.stdout.strip() == cid[:12]
    husk.docker("rm", n)


def test_hostname_option(husk, image):
    p = husk.docker("run", "--rm", "--hostname", "box", image, "sh", "-c",
                    "hostname; cat /etc/hostname")
    assert p.stdout == "box\nbox\n"


def test_network_none_has_only_lo(husk, image):
    p = husk.docker("run", "--rm", "--network", "none", image, "ls", "/sys/class/net")
    assert p.stdout.split() == ["lo"]


def test_env_workdir_user(husk, image):
    p = husk.docker("run", "--rm", "-e", "A=1", "-e", "PATH=/bin", "-w", "/tmp/new", image,
                    "sh", "-c", "echo $A $PATH $HOSTNAME $HOME; pwd")
    a, path, hostname, home, pwd = p.stdout.split()
    assert (a, path, home, pwd) == ("1", "/bin", "/root", "/tmp/new")
    assert len(hostname) == 12


def test_user_by_name(husk, image):
    p = husk.docker("run", "--rm", "-u", "nobody", image, "sh", "-c", "id -u; echo $HOME")
    assert p.stdout.split() == ["65534", "/nonexistent"]  # from the image's /etc/passwd


def test_unknown_user(husk, image):
    p = husk.docker("run", "--rm", "-u", "nosuchuser", image, "true", check=False)
    assert p.returncode != 0
    assert "unable to find user nosuchuser" in p.stderr


def test_entrypoint_and_cmd(husk, image):
    p = husk.docker("run", "--rm", "--entrypoint", "echo", image, "a", "b")
    assert p.stdout == "a b\n"


def test_command_not_found(husk, image):
    p = husk.docker("run", "--rm", image, "nosuchcmd", check=False)
    assert p.returncode == 127
    assert "executable file not found" in p.stderr


def test_command_not_executable(husk, image):
    p = husk.docker("run", "--rm", image, "/etc/passwd", check=False)
    assert p.returncode == 126
    assert "permission denied" in p.stderr


def test_readonly_proc_paths(husk, image):
    p = husk.docker("run", "--rm", image, "sh", "-c",
                    "echo 1 > /proc/sysrq-trigger; echo rc=$?", check=False)
    assert "rc=1" in p.stdout
    p = husk.docker("run", "--rm", image, "sh", "-c", "cat /proc/kcore /proc/keys | wc -c")
    assert p.stdout.strip() == "0"


def test_files_keep_image_ownership(husk, image):
    p = husk.docker("run", "--rm", image, "stat", "-c", "%u:%g", "/home/husk")
    assert p.stdout.strip() == "1000:1000"


def test_writes_stay_in_the_container(husk, image):
    n = name()
    husk.docker("run", "--name", n, image, "sh", "-c", "echo x > /root/f")
    p = husk.docker("run", "--rm", image, "sh", "-c", "cat /root/f 2>&1; true")
    assert "No such file" in p.stdout
    husk.docker("rm", n)


# --- detached life cycle -----------------------------------------------------------------

def test_detached_ps_logs_stop_rm(husk, image):
    n = name()
    cid = husk.docker("run", "-d", "--name", n, image, "sh", "-c",
                      "trap 'echo bye; exit 0' TERM; echo started; "
                      "while :; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64
    ps = husk.docker("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout
    assert f"{cid[:12]} {n} Up" in ps
    deadline = time.time() + 10
    while "started" not in husk.docker("logs", n).stdout and time.time() < deadline:
        time.sleep(0.1)
    assert husk.docker("logs", n).stdout == "started\n"
    t0 = time.time()
    husk.docker("stop", n)
    assert time.time() - t0 < 5  # the TERM trap ends it; no 10 s wait for SIGKILL
    assert husk.docker("logs", n).stdout == "started\nbye\n"
    ps = husk.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert f"{n} Exited (0)" in ps
    assert n not in husk.docker("ps", "--format", "{{.Names}}").stdout
    husk.docker("rm", n)
    assert n not in husk.docker("ps", "-a", "--format", "{{.Names}}").stdout


def test_stop_kills_after_timeout(husk, image):
    n = name()
    # pid 1 without a handler ignores SIGTERM: stop must end it with SIGKILL after -t.
    husk.docker("run", "-d", "--name", n, image, "sleep", "1000")
    t0 = time.time()
    husk.docker("stop", "-t", "1", n)
    assert 0.9 < time.time() - t0 < 8
    code = husk.docker("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip()
    assert code == "137"
    husk.docker("rm", n)


def test_rm_running_needs_force(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "1000")
    p = husk.docker("rm", n, check=False)
    assert p.returncode != 0
    assert "container is running" in p.stderr
    husk.docker("rm", "-f", n)
    assert n not in husk.docker("ps", "-a", "--format", "{{.Names}}").stdout


def test_kill(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sh", "-c",
                "trap 'exit 7' HUP; while :; do sleep 0.1; done")
    time.sleep(0.3)
    husk.docker("kill", "-s", "HUP", n)
    assert husk.docker("wait", n).stdout.strip() == "7"
    p = husk.docker("kill", n, check=False)
    assert p.returncode != 0 and "is not running" in p.stderr
    husk.docker("rm", n)


def test_start_an_exited_container_again(husk, image):
    n = name()
    husk.docker("run", "--name", n, image, "sh", "-c", "echo run")
    husk.docker("start", "-a", n)
    assert husk.docker("logs", n).stdout == "run\nrun\n"
    husk.docker("rm", n)


def test_create_then_start_attach(husk, image):
    n = name()
    husk.docker("create", "--name", n, image, "echo", "created")
    assert husk.docker("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "created"
    p = husk.docker("start", "-a", n)
    assert p.stdout == "created\n"
    husk.docker("rm", n)


def test_names_and_prefixes_resolve(husk, image):
    n = name()
    cid = husk.docker("create", "--name", n, image, "true").stdout.strip()
    for ref in (n, "/" + n, cid, cid[:12], cid[:5]):
        assert husk.docker("inspect", "-f", "{{.Id}}", ref).stdout.strip() == cid
    husk.docker("rm", cid[:8])


def test_inspect_fields(husk, image):
    n = name()
    cid = husk.docker("create", "--name", n, "-e", "X=1", "--label", "k=v", image,
                      "sh", "-c", "exit 0").stdout.strip()
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["Id"] == cid
    assert info["Name"] == "/" + n
    assert info["Path"] == "sh" and info["Args"] == ["-c", "exit 0"]
    assert info["State"]["Status"] == "created"
    assert info["State"]["Running"] is False
    assert info["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert info["Image"].startswith("sha256:")
    assert info["Config"]["Image"] == image
    assert "X=1" in info["Config"]["Env"]
    assert info["Config"]["Labels"]["k"] == "v"
    assert info["Config"]["Hostname"] == cid[:12]
    assert info["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert info["HostConfig"]["NetworkMode"] == "bridge"
    assert info["GraphDriver"]["Name"] == "overlay"
    assert "NetworkSettings" in info and "Networks" in info["NetworkSettings"]
    husk.docker("start", "-a", n)
    info = json.loads(husk.docker("inspect", n).stdout)[0]
    assert info["State"]["Status"] == "exited"
    assert info["State"]["ExitCode"] == 0
    assert info["State"]["FinishedAt"] >= info["State"]["StartedAt"] > "0001"
    husk.docker("rm", n)


def test_ps_filters(husk, image):
    a, b = name(), name()
    husk.docker("create", "--name", a, "--label", "grp=x", image, "true")
    husk.docker("create", "--name", b, "--label", "grp=y", image, "true")
    out = husk.docker("ps", "-a", "--filter", "label=grp=x", "--format", "{{.Names}}").stdout
    assert out.split() == [a]
    out = husk.docker("ps", "-a", "--filter", "label=grp", "--format", "{{.Names}}").stdout
    assert sorted(out.split()) == sorted([a, b])
    out = husk.docker("ps", "-a", "--filter", f"name={b}", "--filter", "status=created",
                      "--format", "{{.Names}}").stdout
    assert out.split() == [b]
    # list-form filters, as docker-py and compose send them
    r = husk.api("GET", "/containers/json?all=1&filters=" +
                 json.dumps({"label": ["grp=y"]}).replace(" ", ""))
    assert [c["Names"][0] for c in r.json()] == ["/" + b]
    husk.docker("rm", a, b)


def test_logs_options(husk, image):
    n = name()
    husk.docker("run", "--name", n, image, "sh", "-c",
                "for i in 1 2 3 4 5; do echo line$i; done; echo err >&2")
    assert husk.docker("logs", "--tail", "2", n).stdout == "line5\n"
    p = husk.docker("logs", "--tail", "2", n)
    assert p.stdout + p.stderr == "line5\nerr\n"
    ts = husk.docker("logs", "-t", n).stdout.splitlines()
    assert ts[0].endswith(" line1") and ts[0][4] == "-" and ts[0][29] == "Z"
    p = husk.docker("logs", "--since", "2000-01-01T00:00:00Z", "--until",
                    "2000-01-02T00:00:00Z", n)
    assert p.stdout == ""
    husk.docker("rm", n)


def test_logs_follow_ends_at_exit(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sh", "-c",
                "echo a; sleep 1; echo b")
    p = husk.docker("logs", "-f", n, timeout=20)
    assert p.stdout == "a\nb\n"
    husk.docker("rm", n)


def test_wait_returns_the_code(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sh", "-c", "sleep 0.5; exit 9")
    assert husk.docker("wait", n).stdout.strip() == "9"
    # already exited: at once
    assert husk.docker("wait", n).stdout.strip() == "9"
    husk.docker("rm", n)


def test_attach_to_running(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sh", "-c",
                "sleep 1; echo late; exit 4")
    p = husk.docker("attach", n, check=False, timeout=20)
    assert p.stdout == "late\n"
    assert p.returncode == 4
    husk.docker("rm", n)


# --- docker-py ---------------------------------------------------------------------------

def test_dockerpy_run_and_logs(husk, image):
    c = husk.client()
    out = c.containers.run(image, ["sh", "-c", "echo py; echo pyerr >&2"], remove=True)
    assert out == b"py\n"
    out = c.containers.run(image, ["sh", "-c", "echo py; echo pyerr >&2"], remove=True,
                           stdout=False, stderr=True)
    assert out == b"pyerr\n"


def test_dockerpy_detached(husk, image):
    c = husk.client()
    ctr = c.containers.run(image, ["sh", "-c", "echo hi; sleep 30"], detach=True,
                           labels={"via": "docker-py"})
    try:
        ctr.reload()
        assert ctr.status == "running"
        assert ctr.labels["via"] == "docker-py"
        for _ in range(50):
            if ctr.logs() == b"hi\n":
                break
            time.sleep(0.1)
        assert ctr.logs() == b"hi\n"
        assert [x.id for x in c.containers.list(filters={"label": "via=docker-py"})] == [ctr.id]
        ctr.kill()
        assert ctr.wait()["StatusCode"] == 137
    finally:
        ctr.remove(force=True)


def test_dockerpy_error_paths(husk, image):
    import docker.errors
    c = husk.client()
    with pytest.raises(docker.errors.NotFound):
        c.containers.get("nosuchcontainer")
    with pytest.raises(docker.errors.ImageNotFound):
        c.containers.create("nosuchimage:1", "true")
    with pytest.raises(docker.errors.APIError) as e:
        c.containers.create(image, "true", name="bad/name")
    assert e.value.status_code == 400


# --- bad input: Docker's codes, JSON errors, nothing changed -----------------------------

def count_containers(husk):
    return len(husk.api("GET", "/containers/json?all=1").json())


def assert_error(r, status, text=None):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/json"
    msg = r.json()["message"]
    if text:
        assert text in msg, msg


@pytest.mark.parametrize("body,status,text", [
    ("{", 400, "invalid JSON"),
    ("[]", 400, "must be an object"),
    ("{}", 400, "config cannot be empty"),
    ({"Image": 5}, 400, "cannot unmarshal number"),
    ({"Image": "x", "Env": "A=1"}, 400, "cannot unmarshal string"),
    ({"Image": "x", "Tty": "yes"}, 400, "cannot unmarshal string"),
    ({"Image": "x", "HostConfig": {"Privileged": 1}}, 400, "cannot unmarshal number"),
    ({"Image": "x", "HostConfig": []}, 400, "cannot unmarshal array"),
    ({"Image": "nosuchimage:1", "Cmd": ["true"]}, 404, "No such image"),
])
def test_create_bad_bodies(husk, image, body, status, text):
    before = count_containers(husk)
    r = husk.api("POST", "/containers/create", body=body if not isinstance(body, str) else body,
                 headers={"Content-Type": "application/json"})
    assert_error(r, status, text)
    assert count_containers(husk) == before


@pytest.mark.parametrize("hc,text", [
    ({"ShmSize": -1}, "SHM size"),
    ({"ConsoleSize": [-1, 5]}, "ConsoleSize"),
    ({"CapAdd": ["NOT_A_CAP"]}, "unknown capability"),
    ({"Memory": -5}, "invalid Memory"),
    ({"Binds": ["/tmp:relative"]}, "mount path must be absolute"),
    ({"Binds": ["nocolon"]}, "invalid volume specification"),
    ({"Tmpfs": {"/x": "bogus=1"}}, "invalid tmpfs option"),
    ({"SecurityOpt": ["seccomp={"]}, "seccomp"),
    ({"SecurityOpt": ["bogus"]}, "security-opt"),
])
def test_create_bad_host_config(husk, image, hc, text):
    before = count_containers(husk)
    r = husk.api("POST", "/containers/create",
                 body={"Image": image, "Cmd": ["true"], "HostConfig": hc})
    assert_error(r, 400, text)
    assert count_containers(husk) == before


@pytest.mark.parametrize("bad", ["a/b", "-x", "x", "é" * 3, "a" * 300, "a b"])
def test_create_bad_names(husk, image, bad):
    before = count_containers(husk)
    import urllib.parse
    r = husk.api("POST", "/containers/create?name=" + urllib.parse.quote(bad),
                 body={"Image": image, "Cmd": ["true"]})
    assert_error(r, 400, "Invalid container name")
    assert count_containers(husk) == before


def test_duplicate_name(husk, image):
    n = name()
    cid = husk.docker("create", "--name", n, image, "true").stdout.strip()
    r = husk.api("POST", f"/containers/create?name={n}", body={"Image": image, "Cmd": ["true"]})
    assert_error(r, 409, f'The container name "/{n}" is already in use by container "{cid}"')
    husk.docker("rm", n)


def test_huge_body(husk, image):
    before = count_containers(husk)
    body = '{"Image":"x","Env":["' + "a" * (9 << 20) + '"]}'
    r = husk.api("POST", "/containers/create", body=body,
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, "too large")
    assert count_containers(husk) == before


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/containers/nosuch/json", 404),
    ("POST", "/containers/nosuch/start", 404),
    ("POST", "/containers/nosuch/stop", 404),
    ("POST", "/containers/nosuch/kill", 404),
    ("POST", "/containers/nosuch/wait", 404),
    ("DELETE", "/containers/nosuch", 404),
    ("GET", "/containers/nosuch/logs?stdout=1", 404),
    ("POST", "/containers/nosuch/attach?stream=1&stdout=1", 404),
    ("POST", "/containers/nosuch/resize?h=1&w=1", 404),
])
def test_unknown_container(husk, method, path, status):
    r = husk.api(method, path)
    assert_error(r, status, "No such container: nosuch")


def test_start_twice_and_stop_twice(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "100")
    assert husk.api("POST", f"/containers/{n}/start").status == 304
    assert husk.api("POST", f"/containers/{n}/stop?t=0").status == 204
    assert husk.api("POST", f"/containers/{n}/stop?t=0").status == 304
    assert_error(husk.api("POST", f"/containers/{n}/kill"), 409, "is not running")
    husk.docker("rm", n)


@pytest.mark.parametrize("query,text", [
    ("kill?signal=NOPE", "Invalid signal"),
    ("stop?t=abc", "invalid value for t"),
    ("stop?t=-5", "invalid value for t"),
    ("wait?condition=sometime", "invalid condition"),
    ("logs", "you must choose at least one stream"),
    ("logs?stdout=1&tail=x", "invalid value for tail"),
    ("logs?stdout=1&since=yesterday", "invalid value for since"),
    ("resize?h=-1&w=10", "invalid terminal size"),
])
def test_bad_arguments(husk, image, query, text):
    n = name()
    husk.docker("create", "--name", n, image, "sleep", "100")
    method = "GET" if query.startswith("logs") else "POST"
    r = husk.api(method, f"/containers/{n}/{query}")
    assert_error(r, 400, text)
    assert husk.docker("inspect", "-f", "{{.State.Status}}", n).stdout.strip() == "created"
    husk.docker("rm", n)


def test_rm_of_running_is_409(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "100")
    assert_error(husk.api("DELETE", f"/containers/{n}"), 409, "container is running")
    assert husk.docker("inspect", "-f", "{{.State.Running}}", n).stdout.strip() == "true"
    husk.docker("rm", "-f", n)


def test_attach_to_stopped_waits_for_start(husk, image):
    """The daemon lets a stopped container be attached (docker start -a relies on it);
    refusing that is the docker CLI's own check."""
    n = name()
    husk.docker("run", "--name", n, image, "echo", "once")
    p = husk.docker("attach", n, check=False)
    assert p.returncode != 0 and "cannot attach to a stopped container" in p.stderr
    assert husk.docker("start", "-a", n).stdout == "once\n"
    husk.docker("rm", n)


def test_detach_with_ctrl_p_ctrl_q(husk, image):
    """docker run -it, then ctrl-p ctrl-q: the CLI leaves, the container keeps running."""
    n = name()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(DOCKER, [DOCKER, "run", "-it", "--name", n, image, "sh"], husk.env)
    out = b""
    deadline = time.time() + 20
    while b"#" not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            out += os.read(fd, 4096)
    os.write(fd, b"\x10\x11")
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = os.waitstatus_to_exitcode(st)
            break
        time.sleep(0.1)
    assert status == 0, out
    assert husk.docker("inspect", "-f", "{{.State.Running}}", n).stdout.strip() == "true"
    p = husk.docker("exec", n, "echo", "still here")
    assert p.stdout == "still here\n"
    husk.docker("rm", "-f", n)


def test_many_runs_at_once_all_finish(husk, image):
    """docker run sends start as soon as its attach has the 101; start must not begin the
    container before that connection is the monitor's (a lost race left the CLI hanging)."""
    import concurrent.futures

    def one(i):
        p = husk.docker("run", "--rm", image, "echo", f"run{i}", check=False, timeout=30)
        return p.returncode, p.stdout

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(64)))
    assert results == [(0, f"run{i}\n") for i in range(64)]


def test_unknown_network_is_the_error_shown(husk, image):
    """The CLI pulls after any 404 of a create; a pull of a local image is answered (husk
    reaches no registry), so the CLI creates again and shows the real error."""
    p = husk.docker("pull", image)
    assert "is the local image" in p.stdout
    p = husk.docker("run", "--rm", "--network", "nosuchnet", image, "true", check=False)
    assert p.returncode != 0
    assert "network nosuchnet not found" in p.stderr
    p = husk.docker("pull", "nosuch/image:1", check=False)
    assert p.returncode != 0 and "cannot pull" in p.stderr


# --- rename --------------------------------------------------------------------------------

def test_rename(husk, image):
    old, new = name(), name()
    since = time.time()
    cid = husk.docker("run", "-d", "--name", old, image, "sleep", "100").stdout.strip()
    husk.docker("rename", old, new)
    assert husk.docker("inspect", "-f", "{{.Name}} {{.Id}}", new).stdout.split() == \
        ["/" + new, cid]
    p = husk.docker("inspect", old, check=False)
    assert p.returncode != 0 and f"No such object: {old}" in p.stderr
    assert husk.docker("ps", "--filter", f"id={cid}", "--format", "{{.Names}}").stdout \
        == new + "\n"
    # still the same running container, which goes on under its new name
    assert husk.docker("exec", new, "echo", "same").stdout == "same\n"
    # the old name is free again
    husk.docker("create", "--name", old, image, "true")
    ev = husk.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                     "--filter", f"container={cid}", "--filter", "event=rename",
                     "--format", "{{json .}}").stdout.splitlines()
    assert len(ev) == 1, ev
    attrs = json.loads(ev[0])["Actor"]["Attributes"]
    assert attrs["oldName"] == "/" + old and attrs["name"] == new
    husk.docker("rm", "-f", new, old)


def test_rename_dockerpy(husk, image):
    c = husk.client()
    n, m = name(), name()
    ctr = c.containers.create(image, "true", name=n)
    ctr.rename(m)
    ctr.reload()
    assert ctr.name == m and c.containers.get(m).id == ctr.id
    import docker.errors
    with pytest.raises(docker.errors.NotFound):
        c.containers.get(n)
    ctr.remove()


def test_rename_errors(husk, image):
    a, b = name(), name()
    aid = husk.docker("create", "--name", a, image, "true").stdout.strip()
    bid = husk.docker("create", "--name", b, image, "true").stdout.strip()
    r = husk.api("POST", f"/containers/{a}/rename?name={b}")
    assert_error(r, 409, f'Conflict. The container name "/{b}" is already in use by '
                         f'container "{bid}"')
    assert_error(husk.api("POST", f"/containers/{a}/rename?name={a}"), 400,
                 "Renaming a container with the same name as its current name")
    assert_error(husk.api("POST", f"/containers/{a}/rename?name="), 400,
                 "Neither old nor new names may be empty")
    assert_error(husk.api("POST", f"/containers/{a}/rename"), 400,
                 "Neither old nor new names may be empty")
    assert_error(husk.api("POST", f"/containers/{a}/rename?name=bad/name"), 400,
                 "Invalid container name (bad/name)")
    assert_error(husk.api("POST", "/containers/nosuch/rename?name=x" + a), 404,
                 "No such container: nosuch")
    p = husk.docker("rename", a, b, check=False)
    assert p.returncode != 0 and "is already in use" in p.stderr
    # nothing changed
    assert husk.docker("inspect", "-f", "{{.Id}}", a).stdout.strip() == aid
    assert husk.docker("inspect", "-f", "{{.Id}}", b).stdout.strip() == bid
    husk.docker("rm", a, b)


# --- logs through docker-py ----------------------------------------------------------------

def test_dockerpy_logs_options(husk, image):
    c = husk.client()
    ctr = c.containers.run(image, ["sh", "-c", "for i in 1 2 3 4; do echo l$i; done; "
                                   "echo e >&2; sleep 1.2; echo late"], detach=True)
    try:
        # follow: the lines as they come, ending when the container exits
        assert b"".join(ctr.logs(stream=True, follow=True)) == b"l1\nl2\nl3\nl4\ne\nlate\n"
        assert ctr.logs(tail=2) == b"e\nlate\n"
        assert ctr.logs(stdout=True, stderr=False, tail=3) == b"l4\nlate\n"
        lines = ctr.logs(timestamps=True).decode().splitlines()
        assert len(lines) == 6 and lines[0].endswith(" l1")
        stamps = [unix_of(line.split(" ", 1)[0]) for line in lines]
        assert stamps == sorted(stamps) and stamps[5] - stamps[4] > 1.0
        # since/until cut in the pause before "late" (docker-py sends whole seconds)
        import datetime
        import math
        cut = math.ceil(stamps[4])
        assert cut < stamps[5]
        assert ctr.logs(since=cut) == b"late\n"
        assert ctr.logs(until=cut) == b"l1\nl2\nl3\nl4\ne\n"
        assert ctr.logs(since=datetime.datetime.utcfromtimestamp(cut)) == b"late\n"
    finally:
        ctr.remove(force=True)


def unix_of(rfc3339):
    import datetime
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + (frac or "0"))


def test_logs_since_until_cut_a_run(husk, image):
    """docker logs --since/--until with times inside the container's life (not only before it),
    and a relative --since."""
    n = name()
    husk.docker("run", "--name", n, image, "sh", "-c", "echo early; sleep 1.2; echo late")
    lines = husk.docker("logs", "-t", n).stdout.splitlines()
    cut = (unix_of(lines[0].split()[0]) + unix_of(lines[1].split()[0])) / 2
    assert husk.docker("logs", "--since", f"{cut:.3f}", n).stdout == "late\n"
    assert husk.docker("logs", "--until", f"{cut:.3f}", n).stdout == "early\n"
    assert husk.docker("logs", "--since", "1h", n).stdout == "early\nlate\n"
    assert husk.docker("logs", "--since", "2000-01-01T00:00:00Z", "--tail", "1",
                       n).stdout == "late\n"
    husk.docker("rm", n)


# --- events filters ------------------------------------------------------------------------

def test_events_filters(husk, image, image_tars):
    """docker events --filter container=, image=, event=, label=, type=, and with docker-py."""
    tag = uuid.uuid4().hex[:8]
    other_image = f"husk-test/evf:{tag}"
    # an image of its own (a tag of the test image would change that image's LastTagTime)
    husk.docker("import", "-c", 'CMD ["sh"]', image_tars["rootfs"], other_image)
    since = time.time()
    a, b = name(), name()
    husk.docker("run", "--name", a, "--label", f"evf={tag}", image, "true")
    aid = husk.docker("inspect", "-f", "{{.Id}}", a).stdout.strip()
    bid = husk.docker("create", "--name", b, "--label", "evf=other", other_image,
                      "true").stdout.strip()
    husk.docker("rm", a, b)
    husk.docker("rmi", other_image)
    until = time.time() + 0.5

    def ev(*filters):
        args = ["events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}"]
        for f in filters:
            args += ["--filter", f]
        return [tuple(x.split(" ", 2)) for x in husk.docker(*args).stdout.splitlines()]

    a_all = [("container", x, aid) for x in ("create", "start", "die", "destroy")]
    assert ev(f"container={a}") == a_all
    assert ev(f"container={aid[:12]}") == a_all
    assert ev(f"label=evf={tag}") == a_all
    assert ev("label=evf=other") == [("container", "create", bid),
                                     ("container", "destroy", bid)]
    assert ev(f"container={a}", "event=start") == [("container", "start", aid)]
    # two values of one filter: either; two filters: both
    assert ev(f"container={a}", "event=start", "event=die") == [
        ("container", "start", aid), ("container", "die", aid)]
    assert ev(f"container={a}", "label=evf=other") == []
    # image=: the containers of that image, and the image's own events
    got = ev(f"image={other_image}")
    assert ("container", "create", bid) in got
    assert not any(x[2] == aid for x in got)
    assert [x[:2] for x in got if x[0] == "image"] == [("image", "untag")]
    # type=
    assert all(x[0] == "image" for x in ev("type=image")) and ev("type=image")
    assert {x[2] for x in ev("type=container", f"label=evf={tag}")} == {aid}
    assert ev("type=volume", f"container={a}") == []
    # docker-py: the same filters, decoded
    py = list(husk.client().events(since=since, until=until, decode=True,
                                   filters={"container": a, "event": ["create", "destroy"]}))
    assert [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in py] == [
        ("container", "create", aid), ("container", "destroy", aid)]
    py = list(husk.client().events(since=since, until=until, decode=True,
                                   filters={"label": f"evf={tag}", "type": "container"}))
    assert [e["Action"] for e in py] == ["create", "start", "die", "destroy"]
    assert py[0]["Actor"]["Attributes"]["evf"] == tag and py[0]["Actor"]["Attributes"]["name"] == a


def test_events_bad_filters(husk):
    import urllib.parse
    r = husk.api("GET", "/events?since=0&until=1&filters=" +
                 urllib.parse.quote(json.dumps({"bogus": ["x"]})))
    assert_error(r, 400, "invalid filter 'bogus'")
    r = husk.api("GET", "/events?since=0&until=1&filters={")
    assert_error(r, 400)


# --- wait conditions, ps limit (issue 2) ---------------------------------------------------

def test_wait_condition_removed_and_next_exit(husk, image):
    import threading
    n = name()
    husk.docker("create", "--name", n, image, "sh", "-c", "sleep 0.3; exit 6")
    got = {}

    def wait(cond):
        r = husk.api("POST", f"/containers/{n}/wait?condition={cond}", timeout=30)
        got[cond] = (r.status, r.json())
    threads = [threading.Thread(target=wait, args=(c,)) for c in ("removed", "next-exit")]
    for t in threads:
        t.start()
    time.sleep(0.2)
    husk.docker("start", n)
    threads[1].join(20)
    assert got["next-exit"] == (200, {"StatusCode": 6, "Error": None})
    time.sleep(0.3)
    assert "removed" not in got  # exited, not yet removed
    husk.docker("rm", n)
    threads[0].join(20)
    assert got["removed"] == (200, {"StatusCode": 6, "Error": None})
    # docker-py's wait with a condition, sent before the start (an auto-removed container
    # may be gone before a wait sent after it)
    c = husk.client()
    ctr = c.containers.create(image, ["sh", "-c", "exit 2"], auto_remove=True)
    t = threading.Thread(target=lambda: got.update(py=ctr.wait(condition="removed")))
    t.start()
    time.sleep(0.2)
    ctr.start()
    t.join(20)
    assert got["py"]["StatusCode"] == 2
    assert husk.api("GET", f"/containers/{ctr.id}/json").status == 404


def test_ps_limit_and_last(husk, image):
    tag = uuid.uuid4().hex[:8]
    names = []
    for i in range(3):
        names.append(name())
        husk.docker("create", "--name", names[-1], "--label", f"lim={tag}", image, "true")
        time.sleep(0.01)
    out = husk.docker("ps", "-a", "-n", "2", "--filter", f"label=lim={tag}",
                      "--format", "{{.Names}}").stdout.split()
    assert out == [names[2], names[1]]  # the newest first
    assert husk.docker("ps", "-a", "--last", "1", "--filter", f"label=lim={tag}",
                       "--format", "{{.Names}}").stdout.split() == [names[2]]
    r = husk.api("GET", "/containers/json?all=1&limit=1&filters=" +
                 json.dumps({"label": [f"lim={tag}"]}).replace(" ", ""))
    assert [x["Names"] for x in r.json()] == [["/" + names[2]]]
    got = husk.client().containers.list(all=True, limit=2, filters={"label": f"lim={tag}"})
    assert [x.name for x in got] == [names[2], names[1]]
    # A limit alone includes non-running containers, as Docker's (docker ps -n without -a).
    assert husk.docker("ps", "-n", "1", "--filter", f"label=lim={tag}",
                       "--format", "{{.Names}}").stdout.split() == [names[2]]
    r = husk.api("GET", "/containers/json?limit=1&filters=" +
                 json.dumps({"label": [f"lim={tag}"]}).replace(" ", ""))
    assert [x["Names"] for x in r.json()] == [["/" + names[2]]]
    assert [x.name for x in husk.client().containers.list(limit=1, filters={
        "label": f"lim={tag}"})] == [names[2]]
    assert husk.docker("ps", "-q", "--filter", f"label=lim={tag}").stdout.split() == []
    husk.docker("rm", *names)


def test_resize_a_tty_container(husk, image):
    c = husk.client()
    ctr = c.containers.run(image, ["sh", "-c", "sleep 0.5; stty size"], tty=True, detach=True)
    try:
        ctr.resize(height=21, width=67)
        assert ctr.wait()["StatusCode"] == 0
        assert ctr.logs() == b"21 67\r\n"
    finally:
        ctr.remove(force=True)
