"""Restart policies, docker update, container prune, and the start after a reboot: kept by
each container's monitor, so they work while no husk-api runs."""
import json
import os
import threading
import time
import urllib.parse
import uuid

import pytest


def name():
    return "r" + uuid.uuid4().hex[:10]


def wait_for(fn, timeout=20, interval=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(interval)


def inspect(husk, n):
    return json.loads(husk.docker("inspect", n).stdout)[0]


def state(husk, n):
    return inspect(husk, n)["State"]


def restart_count(husk, n):
    return inspect(husk, n)["RestartCount"]


def events(husk, n, since, *actions):
    p = husk.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                    "--filter", f"container={n}", "--format", "{{json .}}")
    out = [json.loads(line) for line in p.stdout.splitlines()]
    return [e for e in out if not actions or e["Action"] in actions]


def api_create(husk, body, name=None):
    path = "/containers/create" + (f"?name={name}" if name else "")
    return husk.api("POST", path, body=body)


def prune(husk, filters):
    return husk.api("POST", "/containers/prune?filters=" +
                    urllib.parse.quote(json.dumps(filters)))


def count_containers(husk):
    return len(husk.docker("ps", "-aq").stdout.split())


# --- policies ------------------------------------------------------------------------------

def test_on_failure_counts_and_stops(husk, image):
    n = name()
    t0 = int(time.time())
    husk.docker("run", "-d", "--name", n, "--restart", "on-failure:3", image,
                "sh", "-c", "echo run; exit 3")
    # Not running only once the monitor gives up: after the third restart.
    assert husk.docker("wait", n, timeout=60).stdout.strip() == "3"
    st = state(husk, n)
    assert st["Status"] == "exited" and st["ExitCode"] == 3 and not st["Restarting"]
    assert restart_count(husk, n) == 3
    assert husk.docker("logs", n).stdout == "run\n" * 4
    ev = events(husk, n, t0, "start", "die")
    assert [e["Action"] for e in ev] == ["start", "die"] * 4
    assert all(e["Actor"]["Attributes"]["exitCode"] == "3" for e in ev if e["Action"] == "die")
    # It stays stopped.
    time.sleep(0.5)
    assert restart_count(husk, n) == 3 and state(husk, n)["Status"] == "exited"
    husk.docker("rm", n)


def test_on_failure_does_not_restart_success(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "on-failure", image, "true")
    assert husk.docker("wait", n).stdout.strip() == "0"
    time.sleep(0.4)
    assert restart_count(husk, n) == 0 and state(husk, n)["Status"] == "exited"
    husk.docker("rm", n)


def test_always_restarts_after_exit_0_until_stopped(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "always", image,
                "sh", "-c", "echo up; sleep 0.2")
    assert wait_for(lambda: restart_count(husk, n) >= 2)
    husk.docker("stop", "-t", "1", n)
    st = state(husk, n)
    assert st["Status"] == "exited" and not st["Running"]
    count = restart_count(husk, n)
    time.sleep(1)
    assert restart_count(husk, n) == count and state(husk, n)["Status"] == "exited"
    # Docker counts a restart when it decides it: a stop in the back-off leaves one uncounted run.
    assert husk.docker("logs", n).stdout.count("up\n") in (count, count + 1)
    # A start by the user starts the count over, and the policy applies again.
    husk.docker("start", n)
    assert restart_count(husk, n) == 0
    assert wait_for(lambda: restart_count(husk, n) >= 1)
    husk.docker("rm", "-f", n)


def test_docker_restart_and_attached_run(husk, image):
    n = name()
    # Attached: the streams end with the first run; the container goes on restarting.
    p = husk.docker("run", "--name", n, "--restart", "always", image,
                    "sh", "-c", "echo hi; sleep 0.2; exit 3", check=False, timeout=30)
    assert p.returncode == 3 and p.stdout == "hi\n"
    assert wait_for(lambda: restart_count(husk, n) >= 1)
    # docker restart: a new start by the user, the count starts over, the policy stays.
    husk.docker("restart", "-t", "0", n)
    assert restart_count(husk, n) == 0
    assert wait_for(lambda: restart_count(husk, n) >= 1)
    husk.docker("rm", "-f", n)


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
@pytest.mark.parametrize("how", ["stop", "kill"])
def test_not_restarted_after_user_stop(husk, image, policy, how):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", policy, image, "sleep", "100")
    husk.docker(how, n)
    assert wait_for(lambda: state(husk, n)["Status"] == "exited")
    time.sleep(0.8)
    st = state(husk, n)
    assert st["Status"] == "exited" and restart_count(husk, n) == 0
    husk.docker("rm", n)


def test_kill_with_another_signal_is_still_a_user_stop(husk, image):
    """moby: a kill by the user is remembered (unless-stopped honours it); with a stop signal
    configured, another signal does not cancel the next restart of "always"."""
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "unless-stopped", image,
                "sh", "-c", "trap 'exit 5' HUP; sleep 100 & wait")
    time.sleep(0.3)
    husk.docker("kill", "-s", "HUP", n)
    assert wait_for(lambda: state(husk, n)["Status"] == "exited")
    time.sleep(0.5)
    assert restart_count(husk, n) == 0
    husk.docker("rm", n)

    m = name()
    husk.docker("run", "-d", "--name", m, "--restart", "always", "--stop-signal", "TERM",
                image, "sh", "-c", "trap 'exit 5' HUP; sleep 100 & wait")
    time.sleep(0.3)
    husk.docker("kill", "-s", "HUP", m)
    assert wait_for(lambda: restart_count(husk, m) >= 1)
    husk.docker("rm", "-f", m)


def test_restarting_state_ps_and_stop_during_backoff(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "always", image, "sh", "-c", "exit 7")
    # After a few quick exits the back-off is long enough to be seen.
    assert wait_for(lambda: restart_count(husk, n) >= 5 and
                    state(husk, n)["Status"] == "restarting")
    st = state(husk, n)
    assert st["Restarting"] and st["Running"] and st["Pid"] == 0 and st["ExitCode"] == 7
    ps = husk.docker("ps", "--filter", f"name={n}", "--format", "{{.Status}}").stdout.strip()
    assert ps.startswith("Restarting (7) ") and ps.endswith(" ago"), ps
    assert husk.docker("ps", "-q", "--filter", "status=restarting",
                       "--filter", f"name={n}").stdout.strip()
    # A stop in the back-off ends it at once.
    t = time.time()
    husk.docker("stop", n)
    assert time.time() - t < 2
    st = state(husk, n)
    assert st["Status"] == "exited" and not st["Restarting"] and st["ExitCode"] == 7
    count = restart_count(husk, n)
    time.sleep(0.5)
    assert restart_count(husk, n) == count
    husk.docker("rm", n)


def test_kill_and_rm_during_backoff(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "always", image, "sh", "-c", "exit 1")
    assert wait_for(lambda: state(husk, n)["Status"] == "restarting" and
                    restart_count(husk, n) >= 4)
    husk.docker("kill", n)
    assert wait_for(lambda: state(husk, n)["Status"] == "exited")
    husk.docker("start", n)
    assert wait_for(lambda: state(husk, n)["Status"] == "restarting" and
                    restart_count(husk, n) >= 4)
    # rm without force refuses a restarting container, as Docker; with force it goes.
    p = husk.docker("rm", n, check=False)
    assert p.returncode != 0 and "container is running" in p.stderr
    husk.docker("rm", "-f", n)
    assert husk.docker("ps", "-aq", "--filter", f"name={n}").stdout.strip() == ""


def test_backoff_doubles(husk, image):
    n = name()
    t0 = int(time.time())
    husk.docker("run", "-d", "--name", n, "--restart", "always", image, "true")
    assert wait_for(lambda: restart_count(husk, n) >= 6)
    husk.docker("rm", "-f", n)
    starts = [e["timeNano"] for e in events(husk, n, t0, "start")]
    gaps = [(b - a) / 1e6 for a, b in zip(starts, starts[1:])][:5]
    assert len(gaps) == 5
    # 100 ms, doubling: each gap is the delay plus a short run.
    for i, gap in enumerate(gaps):
        delay = 100 * 2 ** i
        assert delay <= gap < delay + 600, gaps


def test_restarts_go_on_without_the_api(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "always", image,
                "sh", "-c", "echo run $(date +%s%N); sleep 0.3")
    assert wait_for(lambda: restart_count(husk, n) >= 1)
    before = restart_count(husk, n)
    husk.kill_api()
    assert wait_for(lambda: not husk.api_pids(), timeout=5)
    time.sleep(2.5)
    assert not husk.api_pids()
    # A fresh API finds what the monitor did meanwhile.
    after = restart_count(husk, n)
    assert after >= before + 2
    lines = husk.docker("logs", n).stdout.splitlines()
    assert len(lines) >= after and all(line.startswith("run ") for line in lines)
    husk.docker("rm", "-f", n)


def test_wait_across_restarts(husk, image):
    n = name()
    husk.docker("create", "--name", n, "--restart", "on-failure:2", image,
                "sh", "-c", "sleep 0.5; exit 4")
    cid = inspect(husk, n)["Id"]
    client = husk.client()
    results = {}

    def waiter(cond):
        results[cond] = client.api.wait(cid, condition=cond, timeout=60)

    nxt = threading.Thread(target=waiter, args=("next-exit",))
    nxt.start()
    time.sleep(0.2)
    husk.docker("start", n)
    # Not running: only when the monitor gives up (restarting still counts as running).
    not_running = threading.Thread(target=waiter, args=("not-running",))
    not_running.start()
    nxt.join(30)
    # next-exit fires at the first exit, while the container goes on restarting.
    assert results["next-exit"]["StatusCode"] == 4
    assert "not-running" not in results
    assert state(husk, n)["Status"] in ("restarting", "running")
    not_running.join(30)
    assert results["not-running"]["StatusCode"] == 4
    assert restart_count(husk, n) == 2
    husk.docker("rm", n)


# --- validation ----------------------------------------------------------------------------

BAD_POLICIES = [
    ({"Name": "sometimes"}, "invalid restart policy: unknown policy 'sometimes'; use one of "
                            "'no', 'always', 'on-failure', or 'unless-stopped'"),
    ({"Name": "on-failure", "MaximumRetryCount": -1},
     "invalid restart policy: maximum retry count cannot be negative"),
    ({"Name": "always", "MaximumRetryCount": 3},
     "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
    ({"Name": "unless-stopped", "MaximumRetryCount": -2},
     "invalid restart policy: maximum retry count can only be used with 'on-failure' and "
     "cannot be negative"),
]


@pytest.mark.parametrize("policy,message", BAD_POLICIES)
def test_create_rejects_bad_policies(husk, image, policy, message):
    before = count_containers(husk)
    r = api_create(husk, {"Image": image, "Cmd": ["true"],
                          "HostConfig": {"RestartPolicy": policy}})
    assert r.status == 400, r
    assert r.json() == {"message": message}
    assert r.headers["content-type"] == "application/json"
    # Checked before the image: a missing image does not hide the bad policy.
    r = api_create(husk, {"Image": "no/such:image", "Cmd": ["true"],
                          "HostConfig": {"RestartPolicy": policy}})
    assert r.status == 400 and r.json() == {"message": message}
    assert count_containers(husk) == before


@pytest.mark.parametrize("flag,text", [
    ("sometimes", "unknown policy 'sometimes'"),
    ("on-failure:-1", "maximum retry count cannot be negative"),
    ("always:3", "maximum retry count can only be used with 'on-failure'"),
    ("on-failure:x", "maximum retry count must be an integer"),  # the CLI's own check
])
def test_cli_rejects_bad_policies(husk, image, flag, text):
    before = count_containers(husk)
    p = husk.docker("run", "-d", "--restart", flag, image, "true", check=False)
    assert p.returncode != 0 and text in p.stderr, p.stderr
    assert count_containers(husk) == before


def test_restart_policy_and_autoremove_conflict(husk, image):
    before = count_containers(husk)
    r = api_create(husk, {"Image": image, "Cmd": ["true"],
                          "HostConfig": {"AutoRemove": True,
                                         "RestartPolicy": {"Name": "always"}}})
    assert r.status == 400
    assert r.json() == {"message": "can't create 'AutoRemove' container with restart policy"}
    p = husk.docker("run", "--rm", "--restart", "always", image, "true", check=False)
    assert p.returncode != 0 and "cannot specify both --restart and --rm" in p.stderr
    assert count_containers(husk) == before
    # "no" is no policy: fine with AutoRemove.
    r = api_create(husk, {"Image": image, "Cmd": ["true"],
                          "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "no"}}})
    assert r.status == 201
    husk.docker("rm", r.json()["Id"])


def test_inspect_shows_the_policy(husk, image):
    n = name()
    husk.docker("create", "--name", n, "--restart", "on-failure:4", image, "true")
    hc = inspect(husk, n)["HostConfig"]
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 4}
    husk.docker("rm", n)
    husk.docker("create", "--name", n, image, "true")
    assert inspect(husk, n)["HostConfig"]["RestartPolicy"] == {"Name": "no",
                                                               "MaximumRetryCount": 0}
    husk.docker("rm", n)


# --- docker update -------------------------------------------------------------------------

def test_update_restart_policy_reaches_the_running_monitor(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sh", "-c", "sleep 1; exit 2")
    t0 = int(time.time())
    p = husk.docker("update", "--restart", "always", n)
    assert p.stdout.strip() == n
    assert inspect(husk, n)["HostConfig"]["RestartPolicy"] == {"Name": "always",
                                                               "MaximumRetryCount": 0}
    assert wait_for(lambda: restart_count(husk, n) >= 1)
    assert events(husk, n, t0, "update")
    # And back: the next exit is the last.
    husk.docker("update", "--restart", "no", n)
    count = restart_count(husk, n)
    assert wait_for(lambda: state(husk, n)["Status"] == "exited")
    assert restart_count(husk, n) <= count + 1
    time.sleep(1.5)
    assert state(husk, n)["Status"] == "exited"
    husk.docker("rm", n)


def test_update_a_stopped_container_and_the_api_answer(husk, image):
    n = name()
    husk.docker("create", "--name", n, image, "sh", "-c", "exit 1")
    r = husk.api("POST", f"/containers/{n}/update",
                 body={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
    assert r.status == 200 and r.json() == {"Warnings": []}
    # Stored in config.json: a new API process reads it.
    husk.kill_api()
    cfg = json.load(open(os.path.join(husk.data_dir, "containers", inspect(husk, n)["Id"],
                                      "config.json")))
    assert cfg["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    husk.docker("start", n)
    assert husk.docker("wait", n).stdout.strip() == "1"
    assert restart_count(husk, n) == 2
    # docker-py's update
    husk.client().api.update_container(n, restart_policy={"Name": "always"})
    assert inspect(husk, n)["HostConfig"]["RestartPolicy"]["Name"] == "always"
    husk.docker("rm", n)


def test_update_errors_change_nothing(husk, image):
    n = name()
    husk.docker("create", "--name", n, "--restart", "on-failure:1", image, "true")
    before = inspect(husk, n)["HostConfig"]["RestartPolicy"]
    for policy, message in BAD_POLICIES:
        r = husk.api("POST", f"/containers/{n}/update", body={"RestartPolicy": policy})
        assert r.status == 400 and r.json() == {"message": message}, r
    r = husk.api("POST", "/containers/nosuch/update", body={"RestartPolicy": {"Name": "always"}})
    assert r.status == 404 and r.json() == {"message": "No such container: nosuch"}
    p = husk.docker("update", "--restart", "always", "nosuch", check=False)
    assert p.returncode != 0 and "No such container: nosuch" in p.stderr
    # Invalid limits (test_limits.py has the valid ones): refused, and nothing changes.
    cid = inspect(husk, n)["Id"]
    for body, status, message in [
            ({"Memory": 1 << 20}, 400, "Minimum memory limit allowed is 6MB"),
            ({"CpuPeriod": 10}, 400, "CPU cfs period can not be less than 1ms"),
            ({"BlkioWeight": 300}, 501, "BlkioWeight: not supported by husk")]:
        r = husk.api("POST", f"/containers/{n}/update", body=body)
        assert r.status == status, r
        assert r.json()["message"].startswith(f"Cannot update container {cid}: {message}"), r
    p = husk.docker("update", "--memory", "1m", n, check=False)
    assert p.returncode != 0 and "Minimum memory limit allowed is 6MB" in p.stderr
    r = husk.api("POST", f"/containers/{n}/update", body={"RestartPolicy": "always"})
    assert r.status == 400
    assert inspect(husk, n)["HostConfig"]["RestartPolicy"] == before
    husk.docker("rm", n)


def test_update_autoremove_container_conflict(husk, image):
    n = name()
    husk.docker("create", "--rm", "--name", n, image, "true")
    cid = inspect(husk, n)["Id"]
    r = husk.api("POST", f"/containers/{n}/update", body={"RestartPolicy": {"Name": "always"}})
    assert r.status == 409
    assert r.json() == {"message": f"Cannot update container {cid}: Restart policy cannot be "
                                   "updated because AutoRemove is enabled for the container"}
    r = husk.api("POST", f"/containers/{n}/update", body={"RestartPolicy": {"Name": "no"}})
    assert r.status == 200
    husk.docker("rm", n)


# --- prune ---------------------------------------------------------------------------------

def test_prune(husk, image):
    tag = uuid.uuid4().hex[:8]
    keep = name()
    husk.docker("run", "-d", "--name", keep, "--label", f"p={tag}", image, "sleep", "100")
    gone = []
    for i in range(2):
        n = name()
        husk.docker("run", "--name", n, "--label", f"p={tag}", "--label", f"i={i}", image,
                    "sh", "-c", "echo data > /file")
        gone.append(inspect(husk, n)["Id"])
    created = name()
    husk.docker("create", "--name", created, "--label", f"p={tag}", "--label", "i=9", image,
                "true")
    created_id = inspect(husk, created)["Id"]
    other = name()
    husk.docker("run", "--name", other, image, "true")

    # label! keeps i=0; label= limits to this test's containers.
    r = prune(husk, {"label": [f"p={tag}"], "label!": ["i=0"]})
    assert r.status == 200, r
    body = r.json()
    assert sorted(body["ContainersDeleted"]) == sorted([gone[1], created_id])
    assert body["SpaceReclaimed"] >= 5
    # until in the past: nothing.
    r = prune(husk, {"label": [f"p={tag}"], "until": ["1h"]})
    assert r.json() == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    p = husk.docker("container", "prune", "-f", "--filter", f"label=p={tag}")
    assert gone[0] in p.stdout
    # The running one stays; others are not touched by a label filter.
    assert inspect(husk, keep)["State"]["Running"]
    assert inspect(husk, other)["State"]["Status"] == "exited"
    husk.docker("rm", "-f", keep, other)


def test_prune_bad_filters(husk):
    r = prune(husk, {"name": ["x"]})
    assert r.status == 400 and r.json() == {"message": "invalid filter 'name'"}
    r = prune(husk, {"until": ["soon"]})
    assert r.status == 400
    assert r.json() == {"message": "failed to parse value as time or duration: \"soon\""}
    r = prune(husk, {"until": ["1h", "2h"]})
    assert r.status == 400 and r.json() == {"message": "more than one until filter specified"}


# --- after a reboot ------------------------------------------------------------------------

def fake_reboot(husk, cid, status, manually_stopped=False):
    """What a reboot leaves: the persistent state.json of an earlier boot, no live state,
    no record that this boot's autostart ran."""
    data = os.path.join(husk.data_dir, "containers", cid, "state.json")
    st = json.load(open(data))
    st.update(Status=status, BootId="0ld-b00t", MonitorPid=0, Pid=0,
              ManuallyStopped=manually_stopped)
    json.dump(st, open(data, "w"))
    for p in (os.path.join(husk.run_dir, "containers", cid, "state.json"),
              os.path.join(husk.run_dir, "autostart.boot")):
        if os.path.exists(p):
            os.unlink(p)


def test_first_api_after_a_reboot_starts_them(husk, image):
    names = {}
    for policy in ("always", "unless-stopped", "on-failure", "no"):
        n = name()
        husk.docker("run", "-d", "--name", n, "--restart", policy, image, "sleep", "100")
        names[policy] = n
    stopped_always, stopped_unless = name(), name()
    for n, policy in ((stopped_always, "always"), (stopped_unless, "unless-stopped")):
        husk.docker("run", "-d", "--name", n, "--restart", policy, image, "sleep", "100")
    every = list(names.values()) + [stopped_always, stopped_unless]
    cid = {n: inspect(husk, n)["Id"] for n in every}
    # The machine goes down: every container stops (here by hand), and what is left on disk
    # is rewritten as the shutdown would have left it. No API may run in between.
    husk.docker("kill", *every)
    for n in every:
        assert wait_for(lambda: state(husk, n)["Status"] == "exited")
    husk.kill_api()
    assert wait_for(lambda: not husk.api_pids(), timeout=5)
    for n in names.values():
        fake_reboot(husk, cid[n], "running")
    for n in (stopped_always, stopped_unless):
        fake_reboot(husk, cid[n], "exited", manually_stopped=True)
    # The first API of the boot (started by this request) starts them in the background.
    assert wait_for(lambda: state(husk, names["always"])["Running"])
    assert wait_for(lambda: state(husk, names["unless-stopped"])["Running"])
    assert wait_for(lambda: state(husk, stopped_always)["Running"])  # Docker: always is always
    time.sleep(1)
    assert not state(husk, stopped_unless)["Running"]
    assert not state(husk, names["on-failure"])["Running"]
    assert not state(husk, names["no"])["Running"]
    assert inspect(husk, names["always"])["RestartCount"] == 0
    # Once per boot: a second API does not start again what the user stops now.
    husk.docker("stop", "-t", "0", names["always"])
    husk.kill_api()
    assert wait_for(lambda: not husk.api_pids(), timeout=5)
    time.sleep(0.5)
    assert not state(husk, names["always"])["Running"]
    husk.docker("rm", "-f", *every)


# --- docker-py ------------------------------------------------------------------------------

def test_dockerpy_restart_policy(husk, image):
    import docker.errors
    c = husk.client()
    ctr = c.containers.run(image, ["sh", "-c", "echo run; exit 3"], detach=True,
                           restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    try:
        assert wait_for(lambda: restart_count(husk, ctr.id) == 2 and
                        state(husk, ctr.id)["Status"] == "exited")
        ctr.reload()
        assert ctr.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                            "MaximumRetryCount": 2}
        assert ctr.attrs["State"]["ExitCode"] == 3 and ctr.logs() == b"run\n" * 3
    finally:
        ctr.remove(force=True)
    before = count_containers(husk)
    with pytest.raises(docker.errors.APIError) as e:
        c.containers.create(image, "true", restart_policy={"Name": "sometimes"})
    assert e.value.status_code == 400 and "unknown policy 'sometimes'" in str(e.value)
    assert count_containers(husk) == before


def test_restart_timeout(husk, image):
    """docker restart -t / POST /restart?t=: stop with that timeout (sleep as PID 1 ignores
    SIGTERM, so it is killed when it runs out), then start again."""
    n = name()
    husk.docker("run", "-d", "--name", n, image, "sleep", "100")
    pid = state(husk, n)["Pid"]
    t = time.monotonic()
    husk.docker("restart", "-t", "1", n)
    assert 0.9 < time.monotonic() - t < 5
    st = state(husk, n)
    assert st["Status"] == "running" and st["Pid"] not in (0, pid)
    pid = st["Pid"]
    t = time.monotonic()
    r = husk.api("POST", f"/containers/{n}/restart?t=0")
    assert r.status == 204, r
    assert time.monotonic() - t < 2
    assert state(husk, n)["Pid"] not in (0, pid)
    r = husk.api("POST", f"/containers/{n}/restart?t=x")
    assert r.status == 400
    assert husk.api("POST", "/containers/nosuch/restart").status == 404
    # docker-py's restart: of an exited container too
    husk.docker("kill", n)
    ctr = husk.client().containers.get(n)
    ctr.restart(timeout=0)
    ctr.reload()
    assert ctr.status == "running" and ctr.attrs["State"]["Pid"] > 0
    husk.docker("rm", "-f", n)


def test_dockerpy_prune(husk, image):
    c = husk.client()
    tag = uuid.uuid4().hex[:8]
    keep = c.containers.run(image, ["sleep", "100"], detach=True, labels={"py": tag})
    done = c.containers.run(image, ["true"], detach=True, labels={"py": tag})
    done.wait()
    other = c.containers.create(image, "true", labels={"py": "other"})
    try:
        rep = c.containers.prune(filters={"label": f"py={tag}"})
        assert rep["ContainersDeleted"] == [done.id]
        assert {x.id for x in c.containers.list(all=True, filters={"label": "py"})} >= \
            {keep.id, other.id}
        assert husk.api("GET", f"/containers/{done.id}/json").status == 404
    finally:
        keep.remove(force=True)
        other.remove(force=True)
