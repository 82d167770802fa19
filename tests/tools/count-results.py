#!/usr/bin/env python3
"""Count the tests of every suite that tests/run ran, and print the closing lines.

  count-results.py --suite NAME RC JUNIT [--meson-log NAME TESTLOG_JSON] ...

For each suite: RC is the runner's exit status, JUNIT its JUnit XML (meson's
meson-logs/testlog.junit.xml, pytest's --junitxml), or "-" when the runner wrote none.
Every <testcase> counts once: failure/error → failed, skipped → skipped, else passed. Meson's
JUnit has one testcase per test, or per TAP subtest. Cross-checks, so that nothing fails
silently:
  * --meson-log: a test that meson's testlog.json records as failed (FAIL, ERROR, TIMEOUT,
    UNEXPECTEDPASS, INTERRUPT) but that has no failing testcase in the JUnit (a TAP test that
    crashed after its last "ok", say) counts as one more failure;
  * a runner that exited non-zero without any failure recorded counts as one failure (pytest's
    5, "no tests collected", is not a failure);
  * a suite with RC != 0 and no JUnit (a build that failed) counts as one failure.
Prints one line per suite, the failed tests, "N skipped", then "N passed, N failed" last.
Exit status: 1 when anything failed, else 0.
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET

FAILED_RESULTS = {"FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS", "INTERRUPT"}


class Suite:
    def __init__(self, name, rc):
        self.name = name
        self.rc = rc
        self.passed = self.failed = self.skipped = 0
        self.failures = []  # names of failed tests
        self.notes = []

    def fail(self, what):
        self.failed += 1
        self.failures.append(what)


def read_junit(suite, path):
    """Returns the set of (classname, name) of failed testcases."""
    failed = set()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        suite.fail(f"cannot read its results {path}: {e}")
        return failed
    for tc in root.iter("testcase"):
        cls, name = tc.get("classname", ""), tc.get("name", "")
        label = f"{cls}::{name}" if cls else name
        if tc.find("failure") is not None or tc.find("error") is not None:
            suite.fail(label)
            failed.add((cls, name))
        elif tc.find("skipped") is not None:
            suite.skipped += 1
        else:
            suite.passed += 1
    return failed


def check_meson_log(suite, path, failed_cases):
    try:
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        suite.notes.append(f"cannot read {path}: {e}")
        return
    for rec in records:
        name, result = rec.get("name", "?"), rec.get("result", "")
        if result not in FAILED_RESULTS:
            continue
        # exit-code tests: classname = project, name = test; TAP: classname = project.test
        seen = any(n == name or c.endswith("." + name) for c, n in failed_cases)
        if not seen:
            suite.fail(f"{name} ({result}, exit status {rec.get('returncode')})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", nargs=3, action="append", default=[],
                    metavar=("NAME", "RC", "JUNIT"))
    ap.add_argument("--meson-log", nargs=2, action="append", default=[],
                    metavar=("NAME", "TESTLOG"))
    a = ap.parse_args()
    logs = {}
    for name, path in a.meson_log:
        logs.setdefault(name, []).append(path)

    suites = []
    for name, rc, junit in a.suite:
        s = Suite(name, int(rc))
        suites.append(s)
        failed_cases = set()
        if junit != "-" and os.path.exists(junit):
            failed_cases = read_junit(s, junit)
        for log in logs.get(name, []):
            if os.path.exists(log):
                check_meson_log(s, log, failed_cases)
        if s.rc != 0 and s.failed == 0 and not (name.startswith("integration") and s.rc == 5):
            if junit == "-":
                s.fail(f"{name} failed (exit status {s.rc})")
            else:
                s.fail(f"{name}: exited with status {s.rc}, no failing test recorded")

    print("== results")
    for s in suites:
        print(f"suite {s.name:<16} passed {s.passed:<5} failed {s.failed:<5} skipped {s.skipped}")
        for n in s.notes:
            print(f"  note: {n}")
    for s in suites:
        for f in s.failures:
            print(f"FAILED [{s.name}] {f}")
    passed = sum(s.passed for s in suites)
    failed = sum(s.failed for s in suites)
    skipped = sum(s.skipped for s in suites)
    print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
