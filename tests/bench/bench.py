#!/usr/bin/env python3
"""husk vs podman's `system service`, side by side, as one unprivileged user.

Run by run-bench.sh (which prepares the user, podman and the files); by hand:

  bench.py --husk-build DIR --activator PATH --uxload PATH --images DIR [--runs N]
           [--containers K] [--burst-seconds S] [--no-podman] [--json FILE]

Both engines are started the same way: contrib/husk-activate holds a unix socket and starts the
server on the first connection with LISTEN_FDS (podman's service takes a systemd socket too).
Measured:
  a) `docker run --rm IMG true` end to end with the docker CLI, median of N
  b) the API server's RSS and PSS (its whole process tree: rootless podman is two processes)
     idle after one /_ping, and after a burst of requests (uxload, keep-alive, 4 connections,
     over /_ping /version /info /containers/json /images/json); the burst's req/s too
  c) cold activation: connect → first /_ping answered, on a freshly started server, median of N
  d) per-container monitor RSS and PSS: husk-monitor vs conmon, K containers running `sleep`
A metric one engine cannot do yet is shown as n/a with the reason.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DOCKER = os.environ.get("DOCKER", "/usr/local/bin/docker")
IMAGE = "husk-bench/busybox:latest"
BURST_PATHS = ["/_ping", "/version", "/info", "/containers/json?all=1", "/images/json"]


def ping(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        s.close()


def children(pid):
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def mem_kb(pid):
    """(RSS, PSS) in kB from smaps_rollup."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class Engine:
    """A server behind husk-activate, talked to with the docker CLI."""

    MONITORS = ()

    def __init__(self, name, workdir, activator):
        self.name = name
        self.workdir = workdir
        self.activator = activator
        rt = os.environ.get("XDG_RUNTIME_DIR") or workdir
        self.sock = os.path.join(rt, f"bench-{name}", "api.sock")
        self.proc = None
        self.log = open(os.path.join(workdir, f"{name}.log"), "ab")
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")
        self.env["DOCKER_CONFIG"] = os.path.join(workdir, "docker-config")
        os.makedirs(self.env["DOCKER_CONFIG"], exist_ok=True)

    def server_cmd(self):
        raise NotImplementedError

    def server_env(self):
        return dict(os.environ)

    def start(self):
        """Starts the activator (not the server: that starts on the first connection)."""
        self.stop()
        self.proc = subprocess.Popen(
            [sys.executable, self.activator, "--socket", self.sock, "--"] + self.server_cmd(),
            env=self.server_env(), stdout=self.log, stderr=self.log, start_new_session=True)
        for _ in range(1000):
            if os.path.exists(self.sock):
                return
            time.sleep(0.005)
        raise RuntimeError(f"{self.name}: the activator did not create {self.sock}")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def server_tree(self):
        """Pids of the running server and its descendants, monitors and containers left out."""
        if not self.proc:
            return []
        out, todo = [], children(self.proc.pid)
        while todo:
            p = todo.pop()
            if comm(p) in self.MONITORS:
                continue
            out.append(p)
            todo += children(p)
        return out

    def server_mem(self):
        """(RSS, PSS, number of processes) of the server's tree."""
        rss = pss = 0
        tree = self.server_tree()
        for p in tree:
            r, s = mem_kb(p)
            rss += r
            pss += s
        return rss, pss, len(tree)

    def docker(self, *args, timeout=300, check=True):
        p = subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {p.stderr.strip() or p.stdout.strip()}")
        return p

    def monitors(self):
        """Pids of the per-container monitor processes of this user."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit() and comm(int(d)) in self.MONITORS:
                try:
                    if os.stat(f"/proc/{d}").st_uid == os.getuid():
                        out.append(int(d))
                except OSError:
                    pass
        return out


class Husk(Engine):
    MONITORS = ("husk-monitor",)

    def __init__(self, workdir, activator, build):
        super().__init__("husk", workdir, activator)
        self.build = build

    def server_cmd(self):
        return [os.path.join(self.build, "api", "husk-api"), "--data-dir",
                os.path.join(self.workdir, "husk-data"), "--run-dir",
                os.path.join(os.path.dirname(self.sock), "run"), "--idle-timeout", "3600"]

    def server_env(self):
        return dict(os.environ, HUSK_MONITOR=os.environ.get("HUSK_MONITOR") or
                    os.path.join(self.build, "monitor", "husk-monitor"))


class Podman(Engine):
    MONITORS = ("conmon",)

    def __init__(self, workdir, activator):
        super().__init__("podman", workdir, activator)

    def server_cmd(self):
        return [shutil.which("podman") or "podman", "system", "service", "--time=0"]


def ms_since(t0):
    return (time.perf_counter() - t0) * 1e3


def cold_activation(engine, runs, coldstart=None):
    """connect → first /_ping answered, with a fresh server each time (1 warm-up run).
    With the coldstart helper the server is spawned the way systemd spawns it (a small C
    process passing the socket); through the Python activator its fork adds ~2 ms to both."""
    if coldstart:
        sock = os.path.join(os.path.dirname(engine.sock), "cold.sock")
        p = subprocess.run([coldstart, "-n", str(runs), "-s", sock, "--"] + engine.server_cmd(),
                           env=engine.server_env(), capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip() or "coldstart failed")
        return float(dict(f.split("=") for f in p.stdout.split())["median"])
    times = []
    for i in range(runs + 1):
        engine.start()
        t0 = time.perf_counter()
        ok = ping(engine.sock, timeout=60)
        dt = ms_since(t0)
        engine.stop()
        if not ok:
            raise RuntimeError("no answer to /_ping")
        if i:
            times.append(dt)
    return statistics.median(times)


def burst(engine, uxload, seconds):
    """Returns {path: rps} after a keep-alive burst over BURST_PATHS."""
    out = {}
    for path in BURST_PATHS:
        p = subprocess.run([uxload, "-s", engine.sock, "-p", path, "-c", "4", "-d", str(seconds)],
                           capture_output=True, text=True, timeout=seconds + 60)
        kv = dict(f.split("=", 1) for f in p.stdout.split())
        if p.returncode != 0 or int(kv.get("requests", 0)) == 0:
            out[path] = None
        else:
            out[path] = float(kv["rps"]) if int(kv.get("non2xx", 0)) == 0 else None
    return out


def load_image(engine, images):
    image_tar = os.path.join(images, "image.tar")
    rootfs_tar = os.path.join(images, "rootfs.tar")
    if engine.docker("image", "inspect", IMAGE, check=False).returncode == 0:
        return
    if os.path.exists(image_tar):
        engine.docker("load", "-i", image_tar)
        # image.tar carries its own tag; give it ours
        tag = os.environ.get("HUSK_BENCH_IMAGE_TAG", "husk-test/busybox:latest")
        engine.docker("tag", tag, IMAGE)
    else:
        engine.docker("import", "--change", 'CMD ["sh"]', rootfs_tar, IMAGE)


def docker_run_true(engine, runs):
    engine.docker("run", "--rm", IMAGE, "true")  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.docker("run", "--rm", IMAGE, "true")
        times.append(ms_since(t0))
    return statistics.median(times)


def monitor_mem(engine, k):
    """Median (RSS, PSS) in kB of one container's monitor, with k containers running."""
    before = set(engine.monitors())
    ids = []
    try:
        for _ in range(k):
            ids.append(engine.docker("run", "-d", IMAGE, "sleep", "600").stdout.strip())
        time.sleep(1)
        pids = [p for p in engine.monitors() if p not in before]
        if not pids:
            raise RuntimeError(f"no {'/'.join(engine.MONITORS)} process found")
        mems = [mem_kb(p) for p in pids]
        return (statistics.median(m[0] for m in mems), statistics.median(m[1] for m in mems),
                len(pids))
    finally:
        if ids:
            engine.docker("rm", "-f", *ids, check=False)


def measure(engine, a, results):
    r = results.setdefault(engine.name, {})

    def attempt(key, fn):
        try:
            r[key] = fn()
        except Exception as e:  # a metric the engine cannot do (yet) is n/a, not a crash
            r[key] = None
            r.setdefault("errors", {})[key] = str(e).splitlines()[0][:200] if str(e) else repr(e)
        print(f"  {engine.name:<7} {key:<22} {r[key]!r}", flush=True)

    attempt("cold_ms", lambda: cold_activation(engine, a.runs, a.coldstart))
    engine.start()
    if not ping(engine.sock, timeout=60):
        raise RuntimeError(f"{engine.name} does not answer /_ping; see {engine.log.name}")
    time.sleep(1)
    attempt("idle_mem_kb", engine.server_mem)
    attempt("burst_rps", lambda: burst(engine, a.uxload, a.burst_seconds))
    attempt("burst_mem_kb", engine.server_mem)
    attempt("image", lambda: load_image(engine, a.images) or "ok")
    attempt("run_true_ms", lambda: docker_run_true(engine, a.runs))
    attempt("monitor_kb", lambda: monitor_mem(engine, a.containers))
    engine.stop()


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit == "MB":
        return f"{v / 1024:.1f}"
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def ratio(h, p):
    if h is None or p is None or p == 0:
        return "n/a"
    return f"{h / p:.2f}"


def table(results, a):
    h, p = results.get("husk", {}), results.get("podman", {})

    def get(d, key, idx=None):
        v = d.get(key)
        if v is None or idx is None:
            return v
        return v.get(idx) if isinstance(v, dict) else v[idx]

    rows = [
        (f"docker run --rm IMG true, ms (median of {a.runs})", "run_true_ms", None, ""),
        (f"cold activation connect->/_ping, ms (median of {a.runs}){' (C activator)' if a.coldstart else ''}",
         "cold_ms", None, ""),
        ("API RSS idle, MB", "idle_mem_kb", 0, "MB"),
        ("API PSS idle, MB", "idle_mem_kb", 1, "MB"),
        ("API RSS after burst, MB", "burst_mem_kb", 0, "MB"),
        ("API PSS after burst, MB", "burst_mem_kb", 1, "MB"),
    ]
    rows += [(f"burst {path} req/s (4 conns)", "burst_rps", path, "") for path in BURST_PATHS]
    rows += [
        (f"monitor RSS per container, MB ({a.containers} ctrs)", "monitor_kb", 0, "MB"),
        (f"monitor PSS per container, MB ({a.containers} ctrs)", "monitor_kb", 1, "MB"),
    ]
    w = max(len(r[0]) for r in rows) + 2
    lines = [f"{'metric':<{w}}{'husk':>10}{'podman':>10}{'husk/podman':>13}"]
    for label, key, idx, unit in rows:
        hv, pv = get(h, key, idx), get(p, key, idx)
        lines.append(f"{label:<{w}}{fmt(hv, unit):>10}{fmt(pv, unit):>10}{ratio(hv, pv):>13}")
    lines.append("(lower is better, except req/s)")
    for name, d in results.items():
        for key, err in d.get("errors", {}).items():
            lines.append(f"  n/a {name} {key}: {err}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--husk-build", required=True)
    ap.add_argument("--activator", required=True)
    ap.add_argument("--uxload", required=True)
    ap.add_argument("--coldstart", help="the C activator that times cold starts (coldstart.c)")
    ap.add_argument("--images", required=True, help="dir with image.tar and/or rootfs.tar")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--containers", type=int, default=3)
    ap.add_argument("--burst-seconds", type=float, default=2.0)
    ap.add_argument("--no-podman", action="store_true")
    ap.add_argument("--no-husk", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="husk-bench-")
    results = {}
    engines = []
    if not a.no_husk:
        engines.append(Husk(work, a.activator, a.husk_build))
    if not a.no_podman:
        if shutil.which("podman"):
            engines.append(Podman(work, a.activator))
        else:
            print("podman is not installed: husk only", file=sys.stderr)
    try:
        for e in engines:
            print(f"== {e.name}", flush=True)
            try:
                measure(e, a, results)
            finally:
                e.stop()
    finally:
        # husk's data dir may hold files owned by subordinate ids; leave it if it must
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results, a))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": a.runs, "containers": a.containers,
                       "burst_seconds": a.burst_seconds, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
