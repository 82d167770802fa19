"""The systemd --user that the tests of husk's user units run against.

tests/run starts one for the test user unless HUSK_TEST_SYSTEMD_USER=0 (as root, with
tests/tools/test-user.sh systemd-start: hosts of our CI kind have no systemd as PID 1). These
tests check that the tests can reach it and that it does what the unit tests will rely on.
"""
import os
import subprocess

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("HUSK_TEST_SYSTEMD_USER") != "1",
    reason="no systemd --user for the tests: " + os.environ.get(
        "HUSK_TEST_SYSTEMD_USER_WHY",
        "run tests/run as root (it starts one), or set HUSK_TEST_SYSTEMD_USER=1 with one running"))


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def test_manager_runs():
    p = run("systemctl", "--user", "show", "-p", "SystemState", "--value")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() in ("running", "degraded"), p.stdout


def test_transient_scope_gets_its_own_cgroup():
    p = run("systemd-run", "--user", "--scope", "--quiet", "cat", "/proc/self/cgroup")
    assert p.returncode == 0, p.stderr
    unified = [line for line in p.stdout.splitlines() if line.startswith("0::")]
    assert unified and unified[0].endswith(".scope"), p.stdout
