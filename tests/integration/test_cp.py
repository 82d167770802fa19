"""docker cp, export and diff: GET/HEAD/PUT /containers/{id}/archive, /export, /changes, with
the docker CLI, docker-py and the raw API, into running and stopped containers. The escape
tests plant symlinks to a directory the test user can write on the host and check that the
host never sees a byte."""
import base64
import io
import json
import os
import stat
import tarfile
import time
import urllib.parse
import uuid

import pytest


def name():
    return "t" + uuid.uuid4().hex[:10]


IMAGE_MTIME = 1700000000  # every file of the test image (tests/image/mk-test-image.sh)


def q(**params):
    return urllib.parse.urlencode(params)


def tar_of(*entries):
    """A tar from (name, kind, extra) tuples: kind "f" (extra: bytes), "d", "l" (symlink, extra:
    target), "h" (hard link, extra: target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            n, kind = e[0], e[1]
            extra = e[2] if len(e) > 2 else None
            opts = e[3] if len(e) > 3 else {}
            ti = tarfile.TarInfo(n)
            ti.mtime = opts.get("mtime", 1600000000)
            ti.uid, ti.gid = opts.get("uid", 0), opts.get("gid", 0)
            ti.mode = opts.get("mode", 0o755 if kind == "d" else 0o644)
            data = None
            if kind == "f":
                data = extra or b""
                ti.size = len(data)
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, extra
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, extra
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def put(husk, ctr, path, body, **params):
    return husk.api("PUT", f"/containers/{ctr}/archive?" + q(path=path, **params), body=body,
                    headers={"Content-Type": "application/x-tar"})


def get(husk, ctr, path):
    r = husk.api("GET", f"/containers/{ctr}/archive?" + q(path=path))
    members = {}
    if r.status == 200:
        with tarfile.open(fileobj=io.BytesIO(r.body)) as t:
            for m in t.getmembers():
                members[m.name] = (m, t.extractfile(m).read() if m.isfile() else None)
    return r, members


def stat_header(r):
    return json.loads(base64.b64decode(r.headers["x-docker-container-path-stat"]))


def running(husk, image, *cmd):
    n = name()
    husk.docker("run", "-d", "--name", n, image, *(cmd or ("sleep", "300")))
    return n


def created(husk, image, *cmd):
    n = name()
    husk.docker("create", "--name", n, image, *(cmd or ("sleep", "300")))
    return n


@pytest.fixture(params=["running", "stopped"])
def ctr(request, husk, image):
    n = running(husk, image) if request.param == "running" else created(husk, image)
    yield n
    husk.docker("rm", "-f", n, check=False)


# --- stat (HEAD) ---------------------------------------------------------------------------

def test_head_stat_of_a_file_dir_and_symlink(husk, ctr):
    r = husk.api("HEAD", f"/containers/{ctr}/archive?path=/etc/passwd")
    assert r.status == 200, r
    assert r.body == b""
    st = stat_header(r)
    assert list(st) == ["name", "size", "mode", "mtime", "linkTarget"]
    assert st["name"] == "passwd"
    assert st["mode"] == 0o644
    assert st["mtime"] == "2023-11-14T22:13:20Z"
    assert st["linkTarget"] == ""
    assert st["size"] > 0

    st = stat_header(husk.api("HEAD", f"/containers/{ctr}/archive?path=/tmp/"))
    assert st["name"] == "tmp"
    assert st["mode"] == (1 << 31) | (1 << 20) | 0o777  # dir, sticky, rwxrwxrwx

    st = stat_header(husk.api("HEAD", f"/containers/{ctr}/archive?path=/bin/sh"))
    assert st["mode"] == (1 << 27) | 0o777
    assert st["linkTarget"] == "/bin/busybox"

    st = stat_header(husk.api("HEAD", f"/containers/{ctr}/archive?path=/"))
    assert st["name"] == "/" and st["mode"] & (1 << 31)


def test_head_of_a_missing_path(husk, ctr):
    r = husk.api("HEAD", f"/containers/{ctr}/archive?path=/no/such")
    assert r.status == 404
    r = husk.api("GET", f"/containers/{ctr}/archive?path=/no/such")
    assert r.status == 404
    assert r.json() == {"message": f"Could not find the file /no/such in container {ctr}"}
    assert r.headers["content-type"] == "application/json"


# --- from the container ---------------------------------------------------------------------

def test_cp_file_out_keeps_mode_and_mtime(husk, ctr, tmp_path):
    dst = tmp_path / "passwd"
    p = husk.docker("cp", f"{ctr}:/etc/passwd", str(dst))
    assert p.returncode == 0
    assert dst.read_bytes().startswith(b"root:x:0:0:")
    st = dst.stat()
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert int(st.st_mtime) == IMAGE_MTIME


def test_cp_dir_out_and_dir_dot(husk, ctr, tmp_path):
    husk.docker("cp", f"{ctr}:/opt", str(tmp_path / "opt"))
    # Layer 2 made /opt/data opaque: only its own file3 is there.
    assert sorted(os.listdir(tmp_path / "opt" / "data")) == ["file3"]
    # dir/. copies what the directory holds into an existing directory.
    (tmp_path / "into").mkdir()
    husk.docker("cp", f"{ctr}:/opt/data/.", str(tmp_path / "into"))
    assert sorted(os.listdir(tmp_path / "into")) == ["file3"]
    # without the dot, the directory itself goes in
    husk.docker("cp", f"{ctr}:/opt/data", str(tmp_path / "into"))
    assert sorted(os.listdir(tmp_path / "into")) == ["data", "file3"]


def test_cp_follow_link(husk, ctr, tmp_path):
    husk.docker("cp", "-L", f"{ctr}:/bin/sh", str(tmp_path / "sh"))
    assert not os.path.islink(tmp_path / "sh")
    assert (tmp_path / "sh").stat().st_size > 100000  # busybox itself
    husk.docker("cp", f"{ctr}:/bin/sh", str(tmp_path / "link"))
    assert os.readlink(tmp_path / "link") == "busybox"


def test_get_archive_entries(husk, ctr):
    r, m = get(husk, ctr, "/opt")
    assert r.status == 200
    assert r.headers["content-type"] == "application/x-tar"
    assert stat_header(r)["name"] == "opt"
    assert sorted(m) == ["opt", "opt/data", "opt/data/file3"]
    assert m["opt"][0].isdir() and m["opt/data/file3"][0].isfile()
    r, m = get(husk, ctr, "/opt/data/.")
    assert sorted(m) == [".", "./file3"]
    # a symlink is archived as itself
    r, m = get(husk, ctr, "/bin/sh")
    assert list(m) == ["sh"]
    assert m["sh"][0].issym() and m["sh"][0].linkname == "busybox"
    # ... unless a trailing slash asks for what it leads to
    r, m = get(husk, ctr, "/home/husk/")
    assert m["husk/.profile"][0].uid == 1000 and m["husk/.profile"][1] == b"# husk\n"


def test_docker_py_get_archive(husk, ctr):
    c = husk.client().containers.get(ctr)
    chunks, st = c.get_archive("/etc/group")
    assert st["name"] == "group" and st["mode"] == 0o644
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as t:
        assert t.extractfile("group").read().startswith(b"root:x:0:")


# --- into the container ---------------------------------------------------------------------

def test_cp_into_a_running_container(husk, image, tmp_path):
    n = running(husk, image, "sh", "-c",
                "while [ ! -f /tmp/in/f ]; do sleep 0.1; done; cat /tmp/in/f; ls -l /tmp/in/f")
    try:
        src = tmp_path / "in"
        src.mkdir()
        (src / "f").write_text("hello from the host\n")
        os.chmod(src / "f", 0o640)
        husk.docker("cp", str(src), f"{n}:/tmp/")
        assert husk.docker("wait", n, timeout=30).stdout.strip() == "0"
        out = husk.docker("logs", n).stdout
        assert "hello from the host" in out
        assert out.splitlines()[-1].startswith("-rw-r-----")
        assert " root " in out.splitlines()[-1]
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_cp_into_a_stopped_container_persists(husk, image, tmp_path):
    f = tmp_path / "note"
    f.write_text("persisted\n")
    n = created(husk, image, "cat", "/tmp/note")
    try:
        husk.docker("cp", str(f), f"{n}:/tmp/note")
        assert husk.docker("start", "-a", n).stdout == "persisted\n"
        # exited now: a second copy lands too
        f.write_text("again\n")
        husk.docker("cp", str(f), f"{n}:/tmp/note")
        assert husk.docker("start", "-a", n).stdout == "again\n"
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_cp_round_trip_keeps_modes_times_and_symlinks(husk, ctr, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "sub" / "x.sh", 0o750)
    (src / "data").write_bytes(os.urandom(100000))
    os.symlink("sub/x.sh", src / "link")
    os.utime(src / "data", (1500000000, 1500000000))
    os.utime(src / "sub", (1400000000, 1400000000))
    husk.docker("cp", str(src), f"{ctr}:/tmp/")
    back = tmp_path / "back"
    husk.docker("cp", f"{ctr}:/tmp/tree", str(back))
    assert (back / "data").read_bytes() == (src / "data").read_bytes()
    assert stat.S_IMODE((back / "sub" / "x.sh").stat().st_mode) == 0o750
    assert int((back / "data").stat().st_mtime) == 1500000000
    assert int((back / "sub").stat().st_mtime) == 1400000000
    assert os.readlink(back / "link") == "sub/x.sh"


def test_ownership_root_by_default_archive_ids_with_a(husk, ctr, tmp_path):
    f = tmp_path / "mine"
    f.write_text("x")
    husk.docker("cp", str(f), f"{ctr}:/tmp/mine")
    _, m = get(husk, ctr, "/tmp/mine")
    assert (m["mine"][0].uid, m["mine"][0].gid) == (0, 0)
    husk.docker("cp", "-a", str(f), f"{ctr}:/tmp/mine-a")
    _, m = get(husk, ctr, "/tmp/mine-a")
    assert (m["mine-a"][0].uid, m["mine-a"][0].gid) == (os.getuid(), os.getgid())
    # the raw API: the archive's numeric ids
    body = tar_of(("owned", "f", b"o", {"uid": 1000, "gid": 1000}))
    assert put(husk, ctr, "/tmp", body, copyUIDGID="true").status == 200
    _, m = get(husk, ctr, "/tmp/owned")
    assert (m["owned"][0].uid, m["owned"][0].gid) == (1000, 1000)
    assert put(husk, ctr, "/tmp", body).status == 200
    _, m = get(husk, ctr, "/tmp/owned")
    assert (m["owned"][0].uid, m["owned"][0].gid) == (0, 0)


def test_docker_py_put_archive(husk, ctr):
    c = husk.client().containers.get(ctr)
    assert c.put_archive("/tmp", tar_of(("py", "d"), ("py/f", "f", b"from docker-py")))
    _, m = get(husk, ctr, "/tmp/py/f")
    assert m["f"][1] == b"from docker-py"


def test_put_compressed_archive(husk, ctr):
    import gzip
    r = put(husk, ctr, "/tmp", gzip.compress(tar_of(("gz", "f", b"zipped"))))
    assert r.status == 200, r
    assert get(husk, ctr, "/tmp/gz")[1]["gz"][1] == b"zipped"


def test_cp_tar_streams(husk, ctr, tmp_path):
    """docker cp - (a tar on stdin) and docker cp CTR:PATH - (the tar on stdout)."""
    husk.docker("cp", "-", f"{ctr}:/tmp", input=tar_of(("streamed", "f", b"via stdin")))
    p = husk.docker("cp", f"{ctr}:/tmp/streamed", "-", input=b"")
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert t.extractfile("streamed").read() == b"via stdin"


def test_running_container_mounts_are_seen(husk, image, tmp_path):
    vol, ro = tmp_path / "vol", tmp_path / "ro"
    vol.mkdir()
    ro.mkdir()
    n = name()
    husk.docker("run", "-d", "--name", n, "-v", f"{vol}:/mnt/vol", "-v", f"{ro}:/mnt/ro:ro",
                "--hostname", "cp-host", image, "sleep", "300")
    try:
        # /etc/hostname is the container's own (bound in its mount namespace)
        assert get(husk, n, "/etc/hostname")[1]["hostname"][1] == b"cp-host\n"
        f = tmp_path / "f"
        f.write_text("into the volume\n")
        husk.docker("cp", str(f), f"{n}:/mnt/vol/")
        assert (vol / "f").read_text() == "into the volume\n"
        r = put(husk, n, "/mnt/ro", tar_of(("x", "f", b"x")))
        assert r.status == 400
        assert r.json()["message"] == "mounted volume is marked read-only"
        assert os.listdir(ro) == []
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_names_that_are_no_utf8(husk, ctr):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        ti = tarfile.TarInfo("bad\udcffname")
        t.addfile(ti, io.BytesIO(b""))
    assert put(husk, ctr, "/tmp", buf.getvalue()).status == 200
    r = husk.api("HEAD", f"/containers/{ctr}/archive?path=/tmp/bad%FFname")
    assert r.status == 200
    assert stat_header(r)["name"] == "bad\ufffdname"  # as Go's encoding/json writes it
    r = husk.api("GET", f"/containers/{ctr}/archive?path=/tmp/no%FFsuch")
    assert r.status == 404
    assert r.json()["message"] == f"Could not find the file /tmp/no\ufffdsuch in container {ctr}"


# --- Docker's errors ------------------------------------------------------------------------

def test_cp_to_a_missing_path(husk, ctr, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    p = husk.docker("cp", str(f), f"{ctr}:/no/such/f", check=False)
    assert p.returncode != 0
    assert f"Could not find the file /no/such in container {ctr}" in p.stderr
    r = put(husk, ctr, "/no/such", tar_of(("f", "f", b"x")))
    assert r.status == 404
    assert r.json()["message"] == f"Could not find the file /no/such in container {ctr}"


def test_put_onto_a_file(husk, ctr):
    r = put(husk, ctr, "/etc/passwd", tar_of(("f", "f", b"x")))
    assert r.status == 400
    assert r.json()["message"] == "extraction point is not a directory"


def test_no_overwrite_dir_non_dir(husk, ctr, tmp_path):
    assert put(husk, ctr, "/tmp", tar_of(("d", "d"), ("d/keep", "f", b"k"), ("file", "f"))) \
        .status == 200
    r = put(husk, ctr, "/tmp", tar_of(("d", "f", b"not a dir")), noOverwriteDirNonDir="true")
    assert r.status == 400
    assert r.json()["message"] == \
        'cannot overwrite directory "/tmp/d" with non-directory "/tmp"'
    r = put(husk, ctr, "/tmp", tar_of(("file", "d")), noOverwriteDirNonDir="1")
    assert r.status == 400
    assert r.json()["message"] == \
        'cannot overwrite non-directory "/tmp/file" with directory "/tmp"'
    assert get(husk, ctr, "/tmp/d/keep")[1]["keep"][1] == b"k"
    # The CLI sends the flag: a directory onto a file fails, the file stays.
    (tmp_path / "file").mkdir()
    p = husk.docker("cp", str(tmp_path / "file"), f"{ctr}:/tmp/", check=False)
    assert p.returncode != 0
    assert get(husk, ctr, "/tmp/file")[0].status == 200
    # Without the flag a directory is replaced, as Docker does.
    assert put(husk, ctr, "/tmp", tar_of(("d", "f", b"now a file"))).status == 200
    assert get(husk, ctr, "/tmp/d")[1]["d"][1] == b"now a file"


def test_bad_requests(husk, ctr):
    for method in ("GET", "HEAD", "PUT"):
        r = husk.api(method, "/containers/nosuch/archive?path=/etc")
        assert r.status == 404, (method, r)
        if method != "HEAD":
            assert r.json() == {"message": "No such container: nosuch"}
        r = husk.api(method, f"/containers/{ctr}/archive")
        assert r.status == 400, (method, r)
        if method != "HEAD":
            assert r.json() == {"message": "bad parameter: pathcannot be empty"}
    for what in ("export", "changes"):
        r = husk.api("GET", f"/containers/nosuch/{what}")
        assert r.status == 404 and r.json() == {"message": "No such container: nosuch"}
    # a path that cannot be read: a system error, as Docker's
    assert put(husk, ctr, "/", tar_of(("loop", "l", "loop"))).status == 200
    r = husk.api("GET", f"/containers/{ctr}/archive?path=/loop/x")
    assert r.status == 500 and "Too many levels of symbolic links" in r.json()["message"]
    # not a tar: refused before anything is written
    r = put(husk, ctr, "/tmp", b"this is not a tar archive" * 100)
    assert r.status == 400, r
    # a tar that breaks off after its first entry: nothing of it lands
    body = tar_of(("first", "f", b"1"), ("second", "f", b"2" * 5000))[:1536]
    assert put(husk, ctr, "/tmp", body).status == 400
    assert get(husk, ctr, "/tmp/first")[0].status == 404


def test_read_only_rootfs(husk, image):
    n = name()
    husk.docker("create", "--read-only", "--name", n, image, "true")
    try:
        r = put(husk, n, "/tmp", tar_of(("f", "f", b"x")))
        assert r.status == 400
        assert r.json()["message"] == "container rootfs is marked read-only"
        assert get(husk, n, "/tmp/f")[0].status == 404
    finally:
        husk.docker("rm", "-f", n, check=False)


# --- escapes --------------------------------------------------------------------------------

@pytest.fixture
def host_target():
    """A directory the test user can write on the host, holding a secret."""
    d = os.path.join(os.path.expanduser("~"), "husk-cp-" + uuid.uuid4().hex[:8])
    os.makedirs(d)
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("host secret\n")
    yield d
    for root, dirs, files in os.walk(d, topdown=False):
        for x in files:
            os.unlink(os.path.join(root, x))
        for x in dirs:
            os.rmdir(os.path.join(root, x))
    os.rmdir(d)


def plant_links(husk, ctr, target):
    depth = "../" * 8
    body = tar_of(("escape", "l", target), ("escape2", "l", depth + target.lstrip("/")))
    assert put(husk, ctr, "/", body).status == 200


def host_untouched(target):
    assert sorted(os.listdir(target)) == ["secret"]
    with open(os.path.join(target, "secret")) as f:
        assert f.read() == "host secret\n"


@pytest.mark.parametrize("link", ["escape", "escape2"])
def test_symlink_to_the_host_is_the_containers(husk, ctr, host_target, tmp_path, link):
    plant_links(husk, ctr, host_target)
    f = tmp_path / "x"
    f.write_text("should stay in the container\n")
    # The link leads nowhere in the container: the copy fails cleanly.
    p = husk.docker("cp", str(f), f"{ctr}:/{link}/x", check=False)
    assert p.returncode != 0
    assert put(husk, ctr, f"/{link}", tar_of(("x", "f", b"x"))).status == 404
    r, _ = get(husk, ctr, f"/{link}/secret")
    assert r.status == 404
    p = husk.docker("cp", f"{ctr}:/{link}/.", str(tmp_path / "out"), check=False)
    assert p.returncode != 0 and not (tmp_path / "out").exists()
    host_untouched(host_target)
    # Once the container has that path, it is where the copy lands.
    assert put(husk, ctr, "/", tar_of((host_target.lstrip("/") + "/", "d"))).status == 200
    husk.docker("cp", str(f), f"{ctr}:/{link}/x")
    r, m = get(husk, ctr, host_target + "/x")
    assert m["x"][1] == b"should stay in the container\n"
    r, m = get(husk, ctr, f"/{link}/")
    assert sorted(m) == [link, f"{link}/x"]
    host_untouched(host_target)
    # The stat of the link names where it leads, inside the container.
    st = stat_header(husk.api("HEAD", f"/containers/{ctr}/archive?" + q(path="/" + link)))
    assert st["linkTarget"] == host_target


def test_tar_entries_cannot_leave(husk, ctr, host_target):
    rel = "../" * 10 + host_target.lstrip("/") + "/dotdot"
    r = put(husk, ctr, "/tmp", tar_of(("fine", "f", b"1"), (rel, "f", b"x")))
    assert r.status == 400
    assert r.json()["message"] == f'"{rel}" is outside of "/tmp"'
    assert get(husk, ctr, "/tmp/fine")[0].status == 404  # nothing of it was written
    r = put(husk, ctr, "/tmp", tar_of(("h", "h", "../../../../etc/shadow")))
    assert r.status == 400
    # Absolute names are below the extraction directory, as Docker joins them.
    r = put(husk, ctr, "/tmp", tar_of((host_target + "/abs", "f", b"abs")))
    assert r.status == 200
    assert get(husk, ctr, "/tmp" + host_target + "/abs")[1]["abs"][1] == b"abs"
    # A symlink in the archive, then a file through it: resolved in the container (where
    # that directory does not exist: Docker fails there too), ...
    r = put(husk, ctr, "/tmp", tar_of(("via", "l", host_target), ("via/through", "f", b"t")))
    assert r.status >= 400
    # ... and once it does, the file is the container's.
    r = put(husk, ctr, "/", tar_of((host_target.lstrip("/"), "d"), ("via", "l", host_target),
                                   ("via/through", "f", b"t")))
    assert r.status == 200, r
    assert get(husk, ctr, host_target + "/through")[1]["through"][1] == b"t"
    host_untouched(host_target)


# --- export ---------------------------------------------------------------------------------

def test_export(husk, image, tmp_path):
    n = created(husk, image, "sh", "-c", "echo made > /tmp/made; rm /etc/layer2")
    try:
        husk.docker("start", "-a", n)
        f = tmp_path / "copied"
        f.write_text("copied in\n")
        husk.docker("cp", str(f), f"{n}:/copied")
        out = tmp_path / "export.tar"
        husk.docker("export", "-o", str(out), n)
        with tarfile.open(out) as t:
            names = t.getnames()
            assert "bin/busybox" in names and "etc/passwd" in names
            assert "etc/group" in names and "opt/data/file3" in names
            assert "etc/motd" not in names and "opt/data/file1" not in names
            assert "etc/layer2" not in names
            assert t.extractfile("tmp/made").read() == b"made\n"
            assert t.extractfile("copied").read() == b"copied in\n"
            assert not any(x.startswith("/") or x.startswith("..") for x in names)
            assert t.getmember("home/husk").uid == 1000
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_export_running(husk, image):
    n = running(husk, image, "sh", "-c", "echo live > /tmp/live; sleep 300")
    try:
        for _ in range(50):
            if get(husk, n, "/tmp/live")[0].status == 200:
                break
            time.sleep(0.1)
        r = husk.api("GET", f"/containers/{n}/export")
        assert r.status == 200
        with tarfile.open(fileobj=io.BytesIO(r.body)) as t:
            names = t.getnames()
            assert t.extractfile("tmp/live").read() == b"live\n"
            # the container's mounts are not its root file system: their mount points only
            for mnt in ("proc", "sys", "dev"):
                assert mnt in names and not any(x.startswith(mnt + "/") for x in names)
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_export_dockerpy(husk, image):
    n = created(husk, image, "sh", "-c", "echo py > /tmp/py; rm /etc/layer2")
    try:
        husk.docker("start", "-a", n)
        data = b"".join(husk.client().containers.get(n).export())
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            names = t.getnames()
            assert t.extractfile("tmp/py").read() == b"py\n"
            assert "bin/busybox" in names and "etc/layer2" not in names
        assert husk.api("GET", "/containers/nosuch/export").status == 404
    finally:
        husk.docker("rm", "-f", n, check=False)


# --- diff -----------------------------------------------------------------------------------

def test_diff(husk, image):
    n = created(husk, image, "sh", "-c",
                "echo x > /tmp/new; echo more >> /etc/passwd; rm /etc/layer2; "
                "rm /opt/data/file3")
    try:
        assert husk.api("GET", f"/containers/{n}/changes").json() is None
        husk.docker("start", "-a", n)
        lines = husk.docker("diff", n).stdout.splitlines()
        # The mount points husk made (/etc/hosts, /etc/resolv.conf) are not changes.
        assert lines == ["C /etc", "D /etc/layer2", "C /etc/passwd", "C /opt/data",
                         "D /opt/data/file3", "C /tmp", "A /tmp/new"], lines
        changes = husk.api("GET", f"/containers/{n}/changes").json()
        assert {"Path": "/tmp/new", "Kind": 1} in changes
        assert {"Path": "/etc/layer2", "Kind": 2} in changes
        assert {"Path": "/etc/passwd", "Kind": 0} in changes
        assert husk.client().containers.get(n).diff() == changes
    finally:
        husk.docker("rm", "-f", n, check=False)


def test_diff_of_an_opaque_directory(husk, image):
    n = created(husk, image, "sh", "-c", "rm -r /opt/data; mkdir /opt/data; echo n > /opt/data/n")
    try:
        husk.docker("start", "-a", n)
        lines = husk.docker("diff", n).stdout.splitlines()
        assert "C /opt/data" in lines and "A /opt/data/n" in lines
        assert "D /opt/data/file3" in lines
        assert not any("file1" in x or "file2" in x for x in lines)  # layer 2 hid them
    finally:
        husk.docker("rm", "-f", n, check=False)
