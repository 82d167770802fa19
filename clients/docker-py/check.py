"""docker-py (the `docker` Python package) against husk at $DOCKER_HOST; run by ./check.

Prints TAP lines and a closing "docker-py: N passed, N failed, N skipped, N known gaps";
exits 1 when a step failed.
"""
import io
import os
import sys
import tarfile
import time

import docker
from docker.errors import APIError, NotFound

IMAGE = os.environ.get("HUSK_CHECK_IMAGE", "husk-test/busybox:latest")
NAME = f"husk-check-py-{os.getpid()}"
LABEL = {"husk-check": f"py-{os.getpid()}"}


class Steps:
    def __init__(self):
        self.n = self.failed = self.skipped = self.gaps = 0

    def step(self, what, fn):
        """Runs fn(); ok unless it raises. Returns fn's value, or None."""
        self.n += 1
        try:
            value = fn()
        except Exception as e:  # a failed step, whatever the client raised
            self.failed += 1
            print(f"not ok {self.n} - {what}")
            for line in f"{type(e).__name__}: {e}".splitlines():
                print(f"#   {line}")
            return None
        print(f"ok {self.n} - {what}")
        return value

    def done(self):
        print(f"1..{self.n}")
        passed = self.n - self.failed - self.skipped - self.gaps
        print(f"docker-py: {passed} passed, {self.failed} failed, {self.skipped} skipped, "
              f"{self.gaps} known gaps")
        return 1 if self.failed else 0


def expect(cond, text):
    if not cond:
        raise AssertionError(text)


def main():
    host = os.environ.get("DOCKER_HOST", "")
    print(f"# docker-py {docker.__version__} against DOCKER_HOST={host}, image {IMAGE}")
    s = Steps()

    low = docker.DockerClient(base_url=host)
    s.step("DockerClient(base_url=DOCKER_HOST).ping()", lambda: expect(low.ping() is True, "ping"))
    env = docker.from_env()
    v = s.step("docker.from_env().version()", env.version)
    if v:
        print(f"# server {v.get('Platform', {}).get('Name')} {v.get('Version')}, "
              f"API {v.get('ApiVersion')}; docker-py uses API {env.api.api_version}")
    s.step("info()", lambda: expect("ServerVersion" in env.info(), "no ServerVersion"))
    s.step(f"images.get({IMAGE})", lambda: env.images.get(IMAGE))
    s.step("images.list() has the image",
           lambda: expect(any(IMAGE in i.tags for i in env.images.list()), "not listed"))

    def run_output():
        out = env.containers.run(IMAGE, ["echo", "hello from husk"], remove=True)
        expect(out == b"hello from husk\n", f"output {out!r}")
    s.step("containers.run(): output, auto-removed", run_output)

    def run_fails():
        try:
            env.containers.run(IMAGE, ["sh", "-c", "echo oops >&2; exit 3"], remove=True)
        except docker.errors.ContainerError as e:
            expect(e.exit_status == 3, f"exit status {e.exit_status}")
            expect(b"oops" in (e.stderr or b""), f"stderr {e.stderr!r}")
            return
        raise AssertionError("no ContainerError")
    s.step("containers.run(): a non-zero exit raises ContainerError with stderr", run_fails)

    c = s.step("containers.run(detach=True, labels=..., name=...)",
               lambda: env.containers.run(
                   IMAGE, ["sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 1; done"],
                   detach=True, name=NAME, labels=LABEL))
    try:
        if c is None:
            return s.done()
        for _ in range(50):
            if b"started" in c.logs():
                break
            time.sleep(0.1)
        s.step("container.logs()", lambda: expect(c.logs() == b"started\n", repr(c.logs())))
        label = f"husk-check={LABEL['husk-check']}"
        s.step("containers.list(filters={'label': ...})",
               lambda: expect([x.id for x in env.containers.list(filters={"label": label})] == [c.id],
                              "not the one container"))
        s.step("containers.list(filters={'name': ...})",
               lambda: expect(c.id in [x.id for x in env.containers.list(filters={"name": NAME})],
                              "not listed"))
        s.step("containers.list(filters={'status': 'exited'}) leaves it out",
               lambda: expect(c.id not in [x.id for x in env.containers.list(
                   all=True, filters={"status": "exited"})], "listed"))
        c.reload()
        s.step("container.attrs: HostConfig.LogConfig.Type (docker-py reads it)",
               lambda: expect(c.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file",
                              c.attrs["HostConfig"]["LogConfig"]))

        def exec_run():
            r = c.exec_run(["echo", "exec works"])
            expect(r.exit_code == 0 and r.output == b"exec works\n", repr(r))
        s.step("container.exec_run()", exec_run)

        def exec_env_workdir_user():
            r = c.exec_run(["sh", "-c", "echo $X $(pwd) $(id -u)"], environment={"X": "1"},
                           workdir="/tmp", user="1000")
            expect(r.exit_code == 0 and r.output == b"1 /tmp 1000\n", repr(r))
        s.step("container.exec_run(environment=, workdir=, user=)", exec_env_workdir_user)

        def archive():
            data = io.BytesIO()
            with tarfile.open(fileobj=data, mode="w") as t:
                info = tarfile.TarInfo("put.txt")
                info.size = 4
                t.addfile(info, io.BytesIO(b"put\n"))
            expect(c.put_archive("/tmp", data.getvalue()), "put_archive")
            stream, stat = c.get_archive("/tmp/put.txt")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
                got = t.extractfile("put.txt").read()
            expect(got == b"put\n" and stat["name"] == "put.txt", f"{got!r} {stat}")
        s.step("container.put_archive(), get_archive()", archive)

        s.step("container.stop(timeout=5)", lambda: c.stop(timeout=5))
        s.step("container.wait(): StatusCode 0",
               lambda: expect(c.wait(timeout=30)["StatusCode"] == 0, "not 0"))
        s.step("containers.list(filters={'status': 'exited'}) has it",
               lambda: expect(c.id in [x.id for x in env.containers.list(
                   all=True, filters={"status": "exited"})], "not listed"))
        s.step("container.remove()", c.remove)

        def gone():
            try:
                env.containers.get(c.id)
            except NotFound:
                return
            raise AssertionError("still there")
        s.step("containers.get() of a removed container: NotFound", gone)
    finally:
        try:
            env.api.remove_container(NAME, force=True)
        except APIError:
            pass

    vol = f"{NAME}-vol"

    def volume():
        v = env.volumes.create(vol, labels=LABEL)
        env.containers.run(IMAGE, ["sh", "-c", "echo kept > /data/file"], remove=True,
                           volumes={vol: {"bind": "/data", "mode": "rw"}})
        out = env.containers.run(IMAGE, ["cat", "/d/file"], remove=True,
                                 mounts=[docker.types.Mount("/d", vol, type="volume")])
        expect(out == b"kept\n", repr(out))
        label = f"husk-check={LABEL['husk-check']}"
        expect(vol in [x.name for x in env.volumes.list(filters={"label": label})], "not listed")
        v.remove()
    try:
        s.step("volumes.create(), run(volumes={name: ...}), run(mounts=[Mount]), volumes.list(), remove()",
               volume)
    finally:
        try:
            env.api.remove_volume(vol, force=True)
        except APIError:
            pass

    def refused_ports():
        try:
            env.containers.create(IMAGE, ["true"], ports={"80/tcp": ("127.0.0.1", 18765)},
                                  name=f"{NAME}-p")
        except APIError as e:
            expect("publishing ports" in str(e), str(e))
            return
        finally:
            try:
                env.api.remove_container(f"{NAME}-p", force=True)
            except APIError:
                pass
        raise AssertionError("created: ports= accepted")
    s.step("containers.create(ports=...): refused with the reason (nothing is published)",
           refused_ports)
    s.step(f"images.pull() of the loaded {IMAGE}: used as it is",
           lambda: expect(IMAGE in env.images.pull(IMAGE).tags, "not the image"))
    return s.done()


if __name__ == "__main__":
    sys.exit(main())
