"""Healthchecks: run by the container's monitor inside the container, reported in
State.Health, docker ps and events, going on while no husk-api runs."""
import datetime
import json
import time
import urllib.parse
import uuid

import pytest

from test_restart import inspect, name, state, wait_for


def unix_time(rfc3339):
    """Go's RFC 3339 with nanoseconds in UTC ("2006-01-02T15:04:05.999999999Z")."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + (frac or "0"))


def health(husk, n):
    return state(husk, n).get("Health")


def status(husk, n):
    h = health(husk, n)
    return h and h["Status"]


def ps_status(husk, n):
    return husk.docker("ps", "-a", "--filter", f"name={n}", "--format",
                       "{{.Status}}").stdout.strip()


def events(husk, n, since):
    p = husk.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                    "--filter", f"container={n}", "--format", "{{json .}}")
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_cli_flags_healthy(husk, image):
    n = name()
    t0 = int(time.time())
    husk.docker("run", "-d", "--name", n, "--health-cmd", "echo ok", "--health-interval",
                "200ms", "--health-retries", "2", image, "sleep", "100")
    cfg = inspect(husk, n)["Config"]["Healthcheck"]
    assert cfg == {"Test": ["CMD-SHELL", "echo ok"], "Interval": 200000000, "Retries": 2}
    assert wait_for(lambda: status(husk, n) == "healthy")
    h = health(husk, n)
    assert h["FailingStreak"] == 0
    entry = h["Log"][-1]
    assert entry["ExitCode"] == 0 and entry["Output"] == "ok\n"
    assert entry["Start"] <= entry["End"]
    assert ps_status(husk, n).endswith("(healthy)")
    assert husk.docker("ps", "-q", "--filter", "health=healthy",
                       "--filter", f"name={n}").stdout.strip()
    assert not husk.docker("ps", "-q", "--filter", "health=unhealthy",
                           "--filter", f"name={n}").stdout.strip()
    ev = [e["Action"] for e in events(husk, n, t0) if e["Action"].startswith("health_status")]
    assert ev == ["health_status: healthy"]
    # Five results at most, oldest first.
    assert wait_for(lambda: len(health(husk, n)["Log"]) == 5)
    time.sleep(0.5)
    log = health(husk, n)["Log"]
    assert len(log) == 5 and [e["Start"] for e in log] == sorted(e["Start"] for e in log)
    husk.docker("rm", "-f", n)


def test_starting_until_the_first_probe(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd", "true", image, "sleep", "100")
    # Docker's default interval is 30 s: nothing has run yet.
    assert status(husk, n) == "starting"
    assert health(husk, n) == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert ps_status(husk, n).endswith("(health: starting)")
    assert husk.docker("ps", "-q", "--filter", "health=starting",
                       "--filter", f"name={n}").stdout.strip()
    husk.docker("rm", "-f", n)


def test_healthy_to_unhealthy(husk, image):
    n = name()
    t0 = int(time.time())
    husk.docker("run", "-d", "--name", n, "--health-cmd", "test ! -e /tmp/bad || exit 3",
                "--health-interval", "200ms", "--health-retries", "2", image,
                "sh", "-c", "sleep 1.2; touch /tmp/bad; sleep 100")
    assert wait_for(lambda: status(husk, n) == "healthy")
    assert wait_for(lambda: status(husk, n) == "unhealthy")
    h = health(husk, n)
    assert h["FailingStreak"] >= 2 and h["Log"][-1]["ExitCode"] == 3
    assert ps_status(husk, n).endswith("(unhealthy)")
    ev = [e for e in events(husk, n, t0) if e["Action"].startswith("health_status")]
    assert [e["Action"] for e in ev] == ["health_status: healthy", "health_status: unhealthy"]
    assert ev[0]["Actor"]["Attributes"]["name"] == n
    husk.docker("rm", "-f", n)


def test_probe_runs_inside_the_container(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--user", "1000", "-w", "/tmp", "-e", "GREETING=hi",
                "--health-cmd", "hostname; id -u; pwd; echo $GREETING; cat /proc/1/comm; "
                                "ls /opt/data",
                "--health-interval", "200ms", image, "sleep", "100")
    assert wait_for(lambda: status(husk, n) == "healthy")
    out = health(husk, n)["Log"][-1]["Output"].split()
    cid = inspect(husk, n)["Id"]
    assert out == [cid[:12], "1000", "/tmp", "hi", "sleep", "file3"]
    husk.docker("rm", "-f", n)


def test_exec_form_output_timeout_and_errors(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd", "echo out; echo err >&2; sleep 5",
                "--health-interval", "100ms", "--health-timeout", "300ms",
                "--health-retries", "1", image, "sleep", "100")
    assert wait_for(lambda: status(husk, n) == "unhealthy")
    entry = health(husk, n)["Log"][-1]
    assert entry["ExitCode"] == -1
    assert entry["Output"] == "Health check exceeded timeout (300ms): out\nerr\n"
    husk.docker("rm", "-f", n)

    # A probe that cannot run: exit code -1 and the reason, as Docker.
    r = husk.api("POST", "/containers/create", body={
        "Image": image, "Cmd": ["sleep", "100"],
        "Healthcheck": {"Test": ["CMD", "/no/such/probe"], "Interval": 100000000,
                        "Retries": 1}})
    assert r.status == 201
    cid = r.json()["Id"]
    husk.docker("start", cid)
    assert wait_for(lambda: status(husk, cid) == "unhealthy")
    entry = health(husk, cid)["Log"][-1]
    assert entry["ExitCode"] == -1 and "/no/such/probe" in entry["Output"]
    husk.docker("rm", "-f", cid)


def test_output_is_capped(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd",
                "head -c 10000 /dev/zero | tr '\\000' a", "--health-interval", "200ms",
                image, "sleep", "100")
    assert wait_for(lambda: status(husk, n) == "healthy")
    out = health(husk, n)["Log"][-1]["Output"]
    assert out == "a" * 4096 + "..."
    husk.docker("rm", "-f", n)


def test_start_period(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd", "exit 1", "--health-interval", "1s",
                "--health-start-period", "3s", "--health-start-interval", "100ms",
                "--health-retries", "1", image, "sleep", "100")
    # Failures in the start period do not count; the start interval applies in it (while
    # more than an interval of it is left).
    assert wait_for(lambda: len(health(husk, n)["Log"]) >= 3, timeout=1.5)
    h = health(husk, n)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    # The first probe after the period counts.
    assert wait_for(lambda: status(husk, n) == "unhealthy", timeout=5)
    husk.docker("rm", "-f", n)


def test_stop_makes_it_unhealthy_and_start_starts_over(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd", "true", "--health-interval",
                "200ms", image, "sleep", "100")
    assert wait_for(lambda: status(husk, n) == "healthy")
    husk.docker("stop", "-t", "0", n)
    h = health(husk, n)
    # Docker reports a container it no longer probes as unhealthy; the log stays.
    assert h["Status"] == "unhealthy" and h["Log"]
    assert ps_status(husk, n).startswith("Exited")
    husk.docker("start", n)
    assert status(husk, n) in ("starting", "healthy")
    assert wait_for(lambda: status(husk, n) == "healthy")
    husk.docker("rm", "-f", n)


def test_health_goes_on_without_the_api(husk, image):
    n = name()
    husk.docker("run", "-d", "--name", n, "--health-cmd", "true",
                "--health-interval", "200ms", image, "sleep", "100")
    assert wait_for(lambda: status(husk, n) == "healthy")
    husk.kill_api()
    assert wait_for(lambda: not husk.api_pids(), timeout=5)
    killed = time.time()
    time.sleep(1.5)
    assert not husk.api_pids()
    log = health(husk, n)["Log"]
    # Every result in the log was recorded while no API ran.
    assert len(log) == 5 and all(unix_time(e["Start"]) > killed for e in log)
    husk.docker("rm", "-f", n)


def test_healthcheck_from_the_image(husk, image, image_tars, tmp_path):
    ref = "husk-test/health:" + uuid.uuid4().hex[:8]
    husk.docker("import", "-c", 'HEALTHCHECK --interval=200ms --retries=2 CMD ["true"]',
                "-c", 'CMD ["sleep", "100"]', image_tars["rootfs"], ref)
    n = name()
    husk.docker("run", "-d", "--name", n, ref)
    assert inspect(husk, n)["Config"]["Healthcheck"] == {"Test": ["CMD", "true"],
                                                         "Interval": 200000000, "Retries": 2}
    assert wait_for(lambda: status(husk, n) == "healthy")
    husk.docker("rm", "-f", n)
    # A flag overrides only its field; the image's test stays.
    husk.docker("run", "-d", "--name", n, "--health-retries", "5", ref)
    assert inspect(husk, n)["Config"]["Healthcheck"] == {"Test": ["CMD", "true"],
                                                         "Interval": 200000000, "Retries": 5}
    assert wait_for(lambda: status(husk, n) == "healthy")
    husk.docker("rm", "-f", n)
    # --no-healthcheck: no probe, no Health.
    husk.docker("run", "-d", "--name", n, "--no-healthcheck", ref)
    assert inspect(husk, n)["Config"]["Healthcheck"]["Test"] == ["NONE"]
    time.sleep(0.6)
    assert health(husk, n) is None
    assert ps_status(husk, n).startswith("Up") and "health" not in ps_status(husk, n)
    husk.docker("rm", "-f", n)
    husk.docker("rmi", ref)


@pytest.mark.parametrize("field,value,message", [
    ("Interval", 500000, "Interval in Healthcheck cannot be less than 1ms"),
    ("Interval", -10000000, "Interval in Healthcheck cannot be less than 1ms"),
    ("Timeout", 1, "Timeout in Healthcheck cannot be less than 1ms"),
    ("StartPeriod", 999999, "StartPeriod in Healthcheck cannot be less than 1ms"),
    ("StartInterval", 5, "StartInterval in Healthcheck cannot be less than 1ms"),
    ("Retries", -1, "Retries in Healthcheck cannot be negative"),
])
def test_bad_healthchecks(husk, image, field, value, message):
    before = len(husk.docker("ps", "-aq").stdout.split())
    r = husk.api("POST", "/containers/create", body={
        "Image": image, "Cmd": ["true"], "Healthcheck": {"Test": ["CMD", "true"], field: value}})
    assert r.status == 400 and r.json() == {"message": message}, r
    assert len(husk.docker("ps", "-aq").stdout.split()) == before


def test_bad_healthcheck_from_the_cli(husk, image):
    before = len(husk.docker("ps", "-aq").stdout.split())
    p = husk.docker("run", "-d", "--health-cmd", "true", "--health-interval", "500us", image,
                    "true", check=False)
    assert p.returncode != 0
    assert "Interval in Healthcheck cannot be less than 1ms" in p.stderr
    r = husk.api("POST", "/containers/create", body={
        "Image": image, "Cmd": ["true"], "Healthcheck": {"Interval": "1s"}})
    assert r.status == 400
    r = husk.api("GET", "/containers/json?filters=" +
                 urllib.parse.quote(json.dumps({"health": ["sick"]})))
    assert r.status == 400
    assert r.json() == {"message": "Unrecognised filter value for health: sick"}
    assert len(husk.docker("ps", "-aq").stdout.split()) == before


def test_health_and_restart_together(husk, image):
    """Each run of a restarting container starts over as "starting"."""
    n = name()
    husk.docker("run", "-d", "--name", n, "--restart", "always", "--health-cmd", "true",
                "--health-interval", "100ms", image, "sh", "-c", "sleep 0.8")
    assert wait_for(lambda: status(husk, n) == "healthy")
    assert wait_for(lambda: inspect(husk, n)["RestartCount"] >= 1 and
                    status(husk, n) == "healthy")
    husk.docker("rm", "-f", n)


def test_dockerpy_healthcheck(husk, image):
    """--health-cmd/-interval/-timeout/-retries/-start-period as docker-py sends them."""
    c = husk.client()
    ms = 1000000
    # A start period makes the first probe wait for the start interval (5 s by default, and
    # docker-py 5 cannot set it): only its field is checked here, test_start_period runs it.
    cid = c.api.create_container(image, "true", healthcheck={
        "test": ["CMD", "true"], "start_period": 300 * ms})["Id"]
    cfg = inspect(husk, cid)["Config"]["Healthcheck"]
    # docker-py sends null for what it was not given; Docker's fields are omitempty
    assert cfg == {"Test": ["CMD", "true"], "StartPeriod": 300 * ms}
    c.api.remove_container(cid)
    hc = {"test": ["CMD-SHELL", "test -e /tmp/ok && echo fine"], "interval": 100 * ms,
          "timeout": 500 * ms, "retries": 2}
    ctr = c.containers.run(image, ["sh", "-c", "sleep 1; touch /tmp/ok; sleep 100"],
                           detach=True, healthcheck=hc)
    try:
        ctr.reload()
        cfg = ctr.attrs["Config"]["Healthcheck"]
        assert cfg["Test"] == ["CMD-SHELL", "test -e /tmp/ok && echo fine"]
        assert (cfg["Interval"], cfg["Timeout"], cfg["Retries"]) == (100 * ms, 500 * ms, 2)
        # failing at first: unhealthy after two failed probes, then healthy
        assert wait_for(lambda: status(husk, ctr.id) == "unhealthy", timeout=5)
        assert health(husk, ctr.id)["FailingStreak"] >= 2
        assert wait_for(lambda: status(husk, ctr.id) == "healthy", timeout=5)
        h = health(husk, ctr.id)
        assert h["FailingStreak"] == 0
        assert (h["Log"][-1]["ExitCode"], h["Log"][-1]["Output"]) == (0, "fine\n")
        ctr.reload()
        assert ctr.attrs["State"]["Health"]["Status"] == "healthy"
        assert ctr.id in [x.id for x in c.containers.list(filters={"health": "healthy"})]
    finally:
        ctr.remove(force=True)
