"""Volumes through the docker CLI, docker-py and the raw API: create/ls/inspect/rm/prune, volumes
in containers (-v NAME:/path, anonymous ones, --mount of every type), copy-up, and every bad
input with Docker's codes and messages and nothing changed on disk (issue 4)."""
import json
import os
import re
import time
import urllib.parse
import uuid

import pytest

from conftest import sparse_tar_entry


def name(prefix="v"):
    return prefix + uuid.uuid4().hex[:10]


def vol_dir(husk, n=""):
    return os.path.join(husk.data_dir, "volumes", n)


def on_disk(husk):
    """What a bad request must leave as it was: the volumes and the containers (not what an
    earlier test's --rm is still deleting, renamed aside)."""
    def ls(d):
        return sorted(x for x in os.listdir(d) if not x.startswith(".removing-"))
    return ls(vol_dir(husk)), ls(os.path.join(husk.data_dir, "containers"))


def assert_error(r, status, text=None):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/json"
    msg = r.json()["message"]
    if text is not None:
        assert text in msg, msg
    return msg


def q(filters):
    return urllib.parse.quote(json.dumps(filters))


def inspect(husk, n):
    r = husk.api("GET", f"/volumes/{n}")
    assert r.status == 200, r
    return r.json()


def volume_events(husk, since, actions=None):
    until = time.time() + 1
    r = husk.api("GET", f"/events?since={since}&until={until}&filters=" +
                 q({"type": ["volume"]}))
    evs = [json.loads(line) for line in r.body.decode().splitlines() if line.strip()]
    return [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in evs
            if actions is None or e["Action"] in actions]


# --- the volume API -----------------------------------------------------------------------

def test_create_ls_inspect_rm_cli(husk, image):
    n = name()
    assert husk.docker("volume", "create", "--label", "a=1", n).stdout.strip() == n
    assert n in husk.docker("volume", "ls", "-q").stdout.split()
    v = json.loads(husk.docker("volume", "inspect", n).stdout)[0]
    assert v["Name"] == n and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"a": "1"}
    assert v["Mountpoint"] == os.path.join(vol_dir(husk, n), "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"])
    assert husk.docker("volume", "rm", n).stdout.strip() == n
    assert not os.path.exists(vol_dir(husk, n))
    p = husk.docker("volume", "inspect", n, check=False)
    assert p.returncode == 1 and f"get {n}: no such volume" in p.stderr


def test_create_api_shapes(husk, image):
    n = name()
    r = husk.api("POST", "/volumes/create", {"Name": n, "Labels": {"k": "v"}})
    assert r.status == 201
    v = r.json()
    assert set(v) == {"Name", "Driver", "Mountpoint", "CreatedAt", "Labels", "Scope",
                      "Options"}
    assert v["Options"] is None and v["Labels"] == {"k": "v"}
    # creating it again gives the existing volume, as it was (201, as Docker)
    r = husk.api("POST", "/volumes/create", {"Name": n, "Labels": {"other": "x"},
                                              "Driver": "local"})
    assert r.status == 201 and r.json() == v
    # no name: a generated one, and Docker's anonymous label
    r = husk.api("POST", "/v1.44/volumes/create", {})
    assert r.status == 201
    g = r.json()
    assert re.fullmatch(r"[0-9a-f]{64}", g["Name"])
    assert g["Labels"] == {"com.docker.volume.anonymous": ""}
    listed = husk.api("GET", "/volumes").json()
    assert listed["Warnings"] is None
    assert {n, g["Name"]} <= {x["Name"] for x in listed["Volumes"]}
    assert [x for x in listed["Volumes"] if x["Name"] == n] == [v]
    for x in (n, g["Name"]):
        assert husk.api("DELETE", f"/volumes/{x}").status == 204


@pytest.mark.parametrize("body,status,text", [
    ({"Name": "a"}, 400, 'create a: "a" includes invalid characters for a local volume name, '
                         'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass '
                         'a host directory, use absolute path'),
    ({"Name": "_x1"}, 400, "includes invalid characters for a local volume name"),
    ({"Name": "a/b"}, 400, "includes invalid characters"),
    ({"Name": "../up"}, 400, "includes invalid characters"),
    ({"Name": "ok1", "Driver": "nfs"}, 404,
     'create ok1: error looking up volume plugin nfs: plugin "nfs" not found'),
    ({"Name": "ok1", "DriverOpts": {"bogus": "1"}}, 400, 'create ok1: invalid option: "bogus"'),
    ({"Name": "ok1", "DriverOpts": {"type": "tmpfs"}}, 400,
     'create ok1: missing required option: "device"'),
    ({"Name": "ok1", "DriverOpts": {"size": "1g"}}, 400, "quota size requested but no quota"),
    ({"Name": "ok1", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}}, 501,
     "not supported by rootless husk"),
    ({"Name": 5}, 400, "json: cannot unmarshal number into Go struct field CreateOptions.Name "
                       "of type string"),
    ({"Name": "ok1", "Labels": {"a": 1}}, 400, "cannot unmarshal object"),
    ("{", 400, None),
    ("[]", 400, None),
])
def test_create_bad_input(husk, image, body, status, text):
    before = on_disk(husk)
    r = husk.api("POST", "/volumes/create", body=body,
                 headers={"Content-Type": "application/json"})
    assert_error(r, status, text)
    assert on_disk(husk) == before


def test_cli_bad_name_and_driver(husk, image):
    before = on_disk(husk)
    p = husk.docker("volume", "create", "x", check=False)
    assert p.returncode == 1 and 'create x: "x" includes invalid characters' in p.stderr
    p = husk.docker("volume", "create", "-d", "nfs", "vnfs", check=False)
    assert p.returncode == 1 and 'plugin "nfs" not found' in p.stderr
    assert on_disk(husk) == before


def test_inspect_and_rm_missing(husk, image):
    assert_error(husk.api("GET", "/volumes/nosuchvol"), 404, "get nosuchvol: no such volume")
    assert_error(husk.api("DELETE", "/volumes/nosuchvol"), 404, "get nosuchvol: no such volume")
    assert husk.api("DELETE", "/volumes/nosuchvol?force=1").status == 204
    assert_error(husk.api("DELETE", "/volumes/x?force=maybe"), 400, "invalid value for force")
    # docker inspect of an unknown name falls through to /volumes/NAME: a clean 404
    p = husk.docker("inspect", "nosuchthing", check=False)
    assert p.returncode == 1 and "No such object" in p.stderr


def test_list_filters(husk, image):
    a, b, c = name("fa"), name("fb"), name("fc")
    husk.docker("volume", "create", "--label", "grp=x", "--label", "solo", a)
    husk.docker("volume", "create", "--label", "grp=y", b)
    husk.docker("volume", "create", c)
    ctr = husk.docker("create", "-v", f"{b}:/d", image, "true").stdout.strip()

    def names(filters, prefix=True):
        r = husk.api("GET", "/volumes?filters=" + q(filters))
        assert r.status == 200, r
        return sorted(v["Name"] for v in r.json()["Volumes"] if v["Name"] in (a, b, c))

    assert names({"label": ["grp=x"]}) == [a]            # list form (docker-py, compose)
    assert names({"label": {"grp": True}}) == [a, b]     # map form (the CLI)
    assert names({"label": ["grp", "solo"]}) == [a]
    assert names({"name": [a]}) == [a]
    assert names({"name": [a[:4]]}) == [a]               # part of a name (a regexp)
    assert names({"name": ["^f[ab]"]}) == [a, b]
    assert names({"dangling": ["true"]}) == [a, c]
    assert names({"dangling": ["0"]}) == [b]
    assert names({"driver": ["local"]}) == [a, b, c]
    assert names({"driver": ["nfs"]}) == []
    assert names({"dangling": {"true": True}, "label": ["grp"]}) == [a]
    out = husk.docker("volume", "ls", "-q", "--filter", "label=grp=y").stdout.split()
    assert out == [b]
    out = husk.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split()
    assert a in out and c in out and b not in out
    assert_error(husk.api("GET", "/volumes?filters=" + q({"bogus": ["1"]})), 400,
                 "invalid filter 'bogus'")
    assert_error(husk.api("GET", "/volumes?filters=" + q({"dangling": ["maybe"]})), 400,
                 "invalid filter 'dangling=maybe'")
    assert_error(husk.api("GET", "/volumes?filters=" + q({"dangling": ["true", "false"]})),
                 400, "invalid filter 'dangling")
    assert_error(husk.api("GET", "/volumes?filters={"), 400, "invalid filter")
    husk.docker("rm", ctr)
    husk.docker("volume", "rm", a, b, c)


def test_in_use_is_409(husk, image):
    n = name()
    ctr = husk.docker("create", "-v", f"{n}:/data", image, "true").stdout.strip()
    assert os.path.isdir(vol_dir(husk, n))  # made on first use
    for q_ in ("", "?force=1"):
        assert_error(husk.api("DELETE", f"/volumes/{n}{q_}"), 409,
                     f"remove {n}: volume is in use - [{ctr}]")
    p = husk.docker("volume", "rm", n, check=False)
    assert p.returncode == 1 and "volume is in use" in p.stderr
    # a second user: both listed
    ctr2 = husk.docker("run", "-d", "-v", f"{n}:/data", image, "sleep", "30").stdout.strip()
    msg = assert_error(husk.api("DELETE", f"/volumes/{n}"), 409)
    assert ctr in msg and ctr2 in msg
    husk.docker("rm", "-f", ctr2)
    husk.docker("rm", ctr)
    assert husk.api("DELETE", f"/volumes/{n}").status == 204
    assert not os.path.exists(vol_dir(husk, n))


def test_ps_volume_filter(husk, image):
    n = name()
    c = husk.docker("create", "-v", f"{n}:/data", image, "true").stdout.strip()
    d = husk.docker("create", image, "true").stdout.strip()
    for want in (n, "/data"):
        out = husk.docker("ps", "-aq", "--no-trunc", "--filter", f"volume={want}").stdout.split()
        assert out == [c]
    husk.docker("rm", c, d)
    husk.docker("volume", "rm", n)


def test_events(husk, image):
    n = name()
    since = time.time() - 1
    husk.docker("run", "--rm", "-v", f"{n}:/data:ro", image, "true")
    husk.docker("volume", "rm", n)
    evs = volume_events(husk, since)
    mine = [(a, attrs) for a, i, attrs in evs if i == n]
    assert [a for a, _ in mine] == ["create", "mount", "unmount", "destroy"]
    assert all(attrs["driver"] == "local" for _, attrs in mine)
    mount = mine[1][1]
    assert mount["destination"] == "/data" and mount["read/write"] == "false"
    assert re.fullmatch(r"[0-9a-f]{64}", mount["container"])
    out = husk.docker("events", "--since", str(int(since)), "--until", str(int(time.time()) + 1),
                      "--filter", "type=volume", "--filter", f"volume={n}",
                      "--format", "{{.Action}}").stdout.split()
    assert out == ["create", "mount", "unmount", "destroy"]


# --- volumes in containers ----------------------------------------------------------------

def test_data_persists_across_containers(husk, image):
    n = name()
    husk.docker("run", "--rm", "-v", f"{n}:/data", image, "sh", "-c",
                "echo kept > /data/f; mkdir /data/d; chown 1000:1000 /data/d")
    p = husk.docker("run", "--rm", "-v", f"{n}:/other", image, "sh", "-c",
                    "cat /other/f; stat -c %u:%g /other/d")
    assert p.stdout == "kept\n1000:1000\n"
    with open(os.path.join(vol_dir(husk, n), "_data", "f")) as f:
        assert f.read() == "kept\n"
    # data owned by sub-ids: removed all the same
    husk.docker("volume", "rm", n)
    assert not os.path.exists(vol_dir(husk, n))


def test_readonly_volume(husk, image):
    n = name()
    husk.docker("run", "--rm", "-v", f"{n}:/data", image, "touch", "/data/f")
    p = husk.docker("run", "--rm", "-v", f"{n}:/data:ro", image, "sh", "-c",
                    "ls /data; touch /data/g", check=False)
    assert p.returncode != 0 and p.stdout == "f\n" and "Read-only file system" in p.stderr
    husk.docker("volume", "rm", n)


def test_copy_up(husk, image):
    """A new, empty volume mounted on a directory with content in the image gets that content
    first, owners and modes as in the image (/home/husk is 1000:1000 with .profile)."""
    n = name()
    p = husk.docker("run", "--rm", "-v", f"{n}:/home/husk", image, "sh", "-c",
                    "stat -c '%u:%g %a %n' /home/husk /home/husk/.profile; "
                    "cat /home/husk/.profile; echo more >> /home/husk/.profile")
    assert p.stdout == "1000:1000 755 /home/husk\n1000:1000 644 /home/husk/.profile\n# husk\n"
    data = os.path.join(vol_dir(husk, n), "_data")
    assert os.listdir(data) == [".profile"]
    st = os.stat(os.path.join(data, ".profile"))
    assert st.st_uid == os.stat(data).st_uid != os.getuid()  # a sub-id: 1000 in the container
    # not empty any more: no second copy, the volume's content stands
    p = husk.docker("run", "--rm", "-v", f"{n}:/home/husk", image, "cat", "/home/husk/.profile")
    assert p.stdout == "# husk\nmore\n"
    # nor into a volume that has content already
    m = name()
    husk.docker("run", "--rm", "-v", f"{m}:/x", image, "touch", "/x/mine")
    p = husk.docker("run", "--rm", "-v", f"{m}:/home/husk", image, "ls", "-A", "/home/husk")
    assert p.stdout == "mine\n"
    # a path the image doesn't have: an empty volume
    p = husk.docker("run", "--rm", "-v", f"{name()}:/nothere", image, "ls", "-A", "/nothere")
    assert p.stdout == ""
    husk.docker("volume", "rm", n, m)


def test_copy_up_of_layers_and_links(husk, image):
    """/opt/data comes from two layers (an opaque dir): the copy is of what the container sees;
    symlinks stay links."""
    n = name()
    p = husk.docker("run", "--rm", "-v", f"{n}:/bin", image, "/bin/busybox", "sh", "-c",
                    "readlink /bin/sh; ls /bin | wc -l")
    link, count = p.stdout.split()
    assert link == "busybox" and int(count) > 100
    husk.docker("volume", "rm", n)
    p = husk.docker("run", "--rm", "-v", f"{n}:/opt/data", image, "ls", "/opt/data")
    assert p.stdout == "file3\n"
    husk.docker("volume", "rm", n)


def test_nocopy(husk, image):
    n, m = name(), name()
    p = husk.docker("run", "--rm", "-v", f"{n}:/home/husk:nocopy", image, "ls", "-A",
                    "/home/husk")
    assert p.stdout == ""
    p = husk.docker("run", "--rm", "--mount",
                    f"type=volume,source={m},target=/home/husk,volume-nocopy", image,
                    "ls", "-A", "/home/husk")
    assert p.stdout == ""
    assert os.listdir(os.path.join(vol_dir(husk, n), "_data")) == []
    husk.docker("volume", "rm", n, m)


def test_anonymous_volumes_and_rm_v(husk, image):
    c = name("c")
    husk.docker("create", "--name", c, "-v", "/anon", "-v", "/home/husk", image, "true")
    info = json.loads(husk.docker("inspect", c).stdout)[0]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert set(mounts) == {"/anon", "/home/husk"}
    for m in mounts.values():
        assert m["Type"] == "volume" and m["Driver"] == "local" and m["RW"] is True
        assert re.fullmatch(r"[0-9a-f]{64}", m["Name"])
        assert m["Source"] == os.path.join(vol_dir(husk, m["Name"]), "_data")
        assert inspect(husk, m["Name"])["Labels"] == {"com.docker.volume.anonymous": ""}
    husk.docker("start", "-a", c)
    assert os.listdir(mounts["/home/husk"]["Source"]) == [".profile"]  # copied up too
    husk.docker("rm", "-v", c)
    for m in mounts.values():
        assert not os.path.exists(vol_dir(husk, m["Name"]))
    # without -v they stay
    out = husk.docker("run", "-d", "-v", "/keep", image, "true").stdout.strip()
    husk.docker("wait", out)
    kept = json.loads(husk.docker("inspect", out).stdout)[0]["Mounts"][0]["Name"]
    husk.docker("rm", out)
    assert os.path.isdir(vol_dir(husk, kept))
    husk.docker("volume", "rm", kept)


def test_run_rm_removes_anonymous_volumes_not_named(husk, image):
    n = name()
    before = set(os.listdir(vol_dir(husk)))
    husk.docker("run", "--rm", "-v", "/anon", "-v", f"{n}:/named", image, "true")
    assert set(os.listdir(vol_dir(husk))) - before == {n}
    husk.docker("volume", "rm", n)


def test_copy_up_keeps_holes(husk, image, image_tars, tmp_path):
    """A sparse file in the image's VOLUME directory is copied as sparse: 2.5 KB of layer
    declaring a file of terabytes otherwise filled the disk with zeros at docker run."""
    tar = tmp_path / "rootfs.tar"
    with open(image_tars["rootfs"], "rb") as f:
        tar.write_bytes(sparse_tar_entry("opt/data/big", 256 << 20) + f.read())
    img = "husk-test/sparsevol:" + uuid.uuid4().hex[:6]
    husk.docker("import", "-c", 'VOLUME ["/opt/data"]', str(tar), img)
    n = name()
    p = husk.docker("run", "--rm", "-v", f"{n}:/opt/data", img, "sh", "-c",
                    "tail -c 1 /opt/data/big; cat /opt/data/file1")
    assert p.stdout.startswith("x") and p.stdout[1:] == husk.docker(
        "run", "--rm", img, "cat", "/opt/data/file1").stdout
    st = os.stat(os.path.join(vol_dir(husk, n), "_data", "big"))
    assert st.st_size == 256 << 20 and st.st_blocks * 512 < 1 << 20, st
    husk.docker("volume", "rm", n)
    husk.docker("rmi", img)


def test_image_volumes(husk, image, image_tars):
    """An image's VOLUME is an anonymous volume, filled from the image; -v on the same path
    wins."""
    img = "husk-test/withvol:" + uuid.uuid4().hex[:6]
    husk.docker("import", "-c", 'VOLUME ["/opt/data"]', "-c", 'CMD ["sh"]',
                image_tars["rootfs"], img)
    c = husk.docker("create", img, "ls", "/opt/data").stdout.strip()
    info = json.loads(husk.docker("inspect", c).stdout)[0]
    assert [(m["Type"], m["Destination"], m["Mode"]) for m in info["Mounts"]] == \
        [("volume", "/opt/data", "")]
    assert info["Config"]["Volumes"] == {"/opt/data": {}}
    assert husk.docker("start", "-a", c).stdout == "file1\nfile2\n"
    husk.docker("rm", "-v", c)
    n = name()
    p = husk.docker("run", "--rm", "-v", f"{n}:/opt/data:nocopy", img, "ls", "-A", "/opt/data")
    assert p.stdout == ""
    husk.docker("volume", "rm", n)
    husk.docker("rmi", img)


def test_inspect_mounts_of_every_kind(husk, image, tmp_path):
    n = name()
    host = tmp_path / "h"
    host.mkdir()
    c = husk.docker("create", "-v", f"{n}:/v:ro", "-v", f"{host}:/b:ro,rslave",
                    "--mount", f"type=tmpfs,target=/t,tmpfs-size=1m",
                    "--mount", f"type=bind,source={host},target=/mb,readonly",
                    "--tmpfs", "/tt", image, "true").stdout.strip()
    info = json.loads(husk.docker("inspect", c).stdout)[0]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/v"] == {"Type": "volume", "Name": n,
                            "Source": os.path.join(vol_dir(husk, n), "_data"),
                            "Destination": "/v", "Driver": "local", "Mode": "ro", "RW": False,
                            "Propagation": ""}
    assert mounts["/b"] == {"Type": "bind", "Source": str(host), "Destination": "/b",
                            "Mode": "ro,rslave", "RW": False, "Propagation": "rslave"}
    assert mounts["/t"] == {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "",
                            "RW": True, "Propagation": ""}
    assert mounts["/mb"] == {"Type": "bind", "Source": str(host), "Destination": "/mb",
                             "Mode": "", "RW": False, "Propagation": "rprivate"}
    assert "/tt" not in mounts  # --tmpfs is no mount point in Docker's inspect either
    ps = husk.api("GET", "/containers/json?all=1&filters=" + q({"id": [c]})).json()
    assert len(ps[0]["Mounts"]) == 4
    husk.docker("rm", c)
    husk.docker("volume", "rm", n)


def test_mount_types(husk, image, tmp_path):
    host = tmp_path / "src"
    host.mkdir()
    (host / "hello").write_text("from the host\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(host, 0o777)
    p = husk.docker("run", "--rm", "--mount", f"type=bind,source={host},target=/h,readonly",
                    image, "sh", "-c", "cat /h/hello; touch /h/x", check=False)
    assert p.stdout == "from the host\n" and "Read-only file system" in p.stderr
    husk.docker("run", "--rm", "--mount", f"type=bind,src={host},dst=/h", image,
                "touch", "/h/written")
    assert (host / "written").exists()
    p = husk.docker("run", "--rm", "--mount",
                    "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770", image, "sh", "-c",
                    "grep ' /t ' /proc/mounts; stat -c %a /t; touch /t/ok")
    line, mode = p.stdout.splitlines()
    assert "tmpfs" in line and "size=2048k" in line and "noexec" in line and mode == "1770"
    n = name()
    p = husk.docker("run", "--rm", "--mount", f"type=volume,source={n},target=/v,readonly",
                    image, "sh", "-c", "grep ' /v ' /proc/mounts")
    assert " ro," in p.stdout
    p = husk.docker("run", "--rm", "--mount", f"source={n},target=/v", image, "touch", "/v/w")
    assert os.path.exists(os.path.join(vol_dir(husk, n), "_data", "w"))
    husk.docker("volume", "rm", n)


def test_mount_volume_options_make_the_volume(husk, image):
    n = name()
    c = husk.docker("create", "--mount",
                    f"type=volume,source={n},target=/v,volume-label=made=bymount",
                    image, "true").stdout.strip()
    assert inspect(husk, n)["Labels"] == {"made": "bymount"}
    husk.docker("rm", c)
    husk.docker("volume", "rm", n)


def host_dir(tmp_path):
    """A host directory with a file, writable by the container's root (a sub-id on the host)."""
    host = tmp_path / "bind"
    host.mkdir()
    (host / "hello").write_text("from the host\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(host, 0o777)
    return host


BIND_SH = "cat /h/hello; { echo c > /h/from-ctr; } 2>&1; grep ' /h ' /proc/mounts; true"


def test_bind_host_dirs_with_v(husk, image, tmp_path):
    host = host_dir(tmp_path)
    p = husk.docker("run", "--rm", "-v", f"{host}:/h", image, "sh", "-c", BIND_SH)
    lines = p.stdout.splitlines()
    assert lines[0] == "from the host" and " rw," in lines[1]
    assert (host / "from-ctr").read_text() == "c\n"
    (host / "from-ctr").unlink()
    p = husk.docker("run", "--rm", "-v", f"{host}:/h:ro", image, "sh", "-c", BIND_SH)
    lines = p.stdout.splitlines()
    assert lines[0] == "from the host" and "Read-only file system" in lines[1]
    assert " ro," in lines[2]
    assert sorted(os.listdir(host)) == ["hello"]
    # a file bound on its own
    p = husk.docker("run", "--rm", "-v", f"{host}/hello:/etc/motd:ro", image, "cat",
                    "/etc/motd")
    assert p.stdout == "from the host\n"


def test_bind_host_dirs_dockerpy(husk, image, tmp_path):
    import docker
    c = husk.client()
    host = host_dir(tmp_path)
    out = c.containers.run(image, ["sh", "-c", BIND_SH], remove=True,
                           volumes={str(host): {"bind": "/h", "mode": "ro"}}).decode()
    assert out.startswith("from the host\n") and "Read-only file system" in out
    assert sorted(os.listdir(host)) == ["hello"]
    out = c.containers.run(image, ["sh", "-c", BIND_SH], remove=True,
                           volumes=[f"{host}:/h"]).decode()
    assert (host / "from-ctr").read_text() == "c\n"
    (host / "from-ctr").unlink()
    m = docker.types.Mount("/h", str(host), type="bind", read_only=True)
    out = c.containers.run(image, ["sh", "-c", BIND_SH], remove=True, mounts=[m]).decode()
    assert out.startswith("from the host\n") and "Read-only file system" in out
    assert sorted(os.listdir(host)) == ["hello"]
    with pytest.raises(docker.errors.APIError) as e:
        c.containers.create(image, "true", mounts=[
            docker.types.Mount("/h", str(tmp_path / "nope"), type="bind")])
    assert e.value.status_code == 400 and "bind source path does not exist" in str(e.value)


def test_bind_source_must_exist_for_mount_not_for_v(husk, image, tmp_path):
    missing = tmp_path / "nope"
    before = on_disk(husk)
    p = husk.docker("run", "--rm", "--mount", f"type=bind,source={missing},target=/x", image,
                    "true", check=False)
    assert p.returncode == 125
    assert (f'invalid mount config for type "bind": bind source path does not exist: '
            f'{missing}') in p.stderr
    assert on_disk(husk) == before and not missing.exists()
    # -v makes it, as docker run -v does
    husk.docker("run", "--rm", "-v", f"{missing}:/x", image, "true")
    assert missing.is_dir()


def ctr_create(husk, image, hc, cfg=None):
    body = {"Image": image, "Cmd": ["true"], "HostConfig": hc}
    body.update(cfg or {})
    return husk.api("POST", "/containers/create", body)


@pytest.mark.parametrize("hc,cfg,status,text", [
    ({"Binds": ["./rel:/x"]}, None, 400,
     'create ./rel: "./rel" includes invalid characters for a local volume name'),
    ({"Binds": ["x:/x"]}, None, 400, 'create x: "x" includes invalid characters'),
    ({"Binds": ["vv:/x"], "VolumeDriver": "nfs"}, None, 404,
     'create vv: error looking up volume plugin nfs: plugin "nfs" not found'),
    ({"Binds": ["vv:rel"]}, None, 400,
     "invalid volume specification: 'vv:rel': invalid mount config for type \"volume\": "
     "invalid mount path: 'rel' mount path must be absolute"),
    ({"Binds": ["/anon:ro"]}, None, 400, "invalid volume specification: '/anon:ro'"),
    ({"Binds": ["vv:/x:rshared"]}, None, 400, "field BindOptions must not be specified"),
    ({"Binds": ["/h:/x:nocopy"]}, None, 400, "field VolumeOptions must not be specified"),
    ({"Binds": ["vv:/x", "/h:/x/"]}, None, 400, "Duplicate mount point: /x"),
    ({"Binds": ["/h:/t"], "Tmpfs": {"/t": ""}}, None, 400, "Duplicate mount point: /t"),
    ({"Mounts": [{"Type": "bind", "Source": "/nonexistent-husk", "Target": "/x"}]}, None, 400,
     'invalid mount config for type "bind": bind source path does not exist: '
     '/nonexistent-husk'),
    ({"Mounts": [{"Type": "volume", "Target": "/x", "ReadOnly": True}]}, None, 400,
     "must not set ReadOnly mode when using anonymous volumes"),
    ({"Mounts": [{"Type": "tmpfs", "Source": "s", "Target": "/x"}]}, None, 400,
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Mounts": [{"Type": "tmpfs", "Target": "/x",
                  "TmpfsOptions": {"Options": [["nosuid"]]}}]}, None, 400,
     "invalid option: nosuid"),
    ({"Mounts": [{"Type": "nope", "Target": "/x"}]}, None, 400,
     'invalid mount config for type "nope": mount type unknown'),
    ({"Mounts": [{"Type": "volume", "Source": "vv"}]}, None, 400,
     "field Target must not be empty"),
    ({"Mounts": [{"Type": "volume", "Source": "vv", "Target": "/"}]}, None, 400,
     "destination can't be '/'"),
    ({"Mounts": [{"Type": "volume", "Source": "vv", "Target": "/x", "BindOptions": {}}]},
     None, 400, "field BindOptions must not be specified"),
    ({"Mounts": [{"Type": 1, "Target": "/x"}]}, None, 400,
     "json: cannot unmarshal number into Go struct field Mount.HostConfig.Mounts.Type"),
    ({"Mounts": ["x"]}, None, 400, "json: cannot unmarshal string"),
    ({"Mounts": [{"Type": "volume", "Source": "vv", "Target": "/x",
                  "VolumeOptions": {"DriverConfig": {"Name": "nfs"}}}]}, None, 404,
     'plugin "nfs" not found'),
    ({"Mounts": [{"Type": "image", "Source": "busybox", "Target": "/x"}]}, None, 501,
     "not supported"),
    ({"Mounts": [{"Type": "volume", "Source": "vv", "Target": "/x"},
                 {"Type": "tmpfs", "Target": "/x"}]}, None, 400, "Duplicate mount point: /x"),
    ({}, {"Volumes": {"rel": {}}}, 400, "mount path must be absolute"),
])
def test_create_bad_mounts(husk, image, hc, cfg, status, text):
    before = on_disk(husk)
    assert_error(ctr_create(husk, image, hc, cfg), status, text)
    assert on_disk(husk) == before


def test_compose_style_binds(husk, image):
    """What docker-compose sends: GET the volume (404), create it with labels, then a named
    volume inside HostConfig.Binds with ":rw"."""
    n = name("myapp_")
    assert husk.api("GET", f"/volumes/{n}").status == 404
    r = husk.api("POST", "/volumes/create",
                 {"Name": n, "Labels": {"com.docker.compose.project": "myapp",
                                        "com.docker.compose.volume": "dbdata"}})
    assert r.status == 201
    r = ctr_create(husk, image, {"Binds": [f"{n}:/var/lib/data:rw"]},
                   {"Cmd": ["sh", "-c", "echo db > /var/lib/data/x"]})
    assert r.status == 201, r
    cid = r.json()["Id"]
    assert husk.api("POST", f"/containers/{cid}/start").status == 204
    assert husk.api("POST", f"/containers/{cid}/wait").json()["StatusCode"] == 0
    assert inspect(husk, n)["Labels"]["com.docker.compose.project"] == "myapp"
    assert husk.api("DELETE", f"/containers/{cid}?v=False&link=False&force=False").status == 204
    assert os.path.exists(os.path.join(vol_dir(husk, n), "_data", "x"))  # named: kept
    assert husk.api("DELETE", f"/volumes/{n}").status == 204


def test_docker_compose_named_volume(husk, image, tmp_path):
    """docker-compose 1.29 end to end with a named volume (network_mode none: no networks)."""
    import shutil
    import subprocess
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose is not installed")
    proj = "hv" + uuid.uuid4().hex[:6]
    (tmp_path / "docker-compose.yml").write_text(
        "version: '2.4'\n"
        "services:\n"
        "  w:\n"
        f"    image: {image}\n"
        "    network_mode: none\n"
        "    command: sh -c 'echo $$HOSTNAME >> /data/log; cat /data/log | wc -l'\n"
        "    volumes: ['data:/data']\n"
        "volumes:\n"
        "  data: {}\n")
    env = dict(husk.env, COMPOSE_PROJECT_NAME=proj)

    def compose(*args):
        return subprocess.run(["docker-compose", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    for _ in range(2):
        p = compose("run", "--rm", "w")
        assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "2"
    v = inspect(husk, f"{proj}_data")
    assert v["Labels"]["com.docker.compose.project"] == proj
    p = compose("down", "-v")
    assert p.returncode == 0, p.stderr
    assert husk.api("GET", f"/volumes/{proj}_data").status == 404


# --- prune --------------------------------------------------------------------------------

def test_prune(husk, image):
    named, anon_used = name("pn"), None
    husk.docker("volume", "create", "--label", "p=1", named)
    anon = husk.api("POST", "/volumes/create", {"Labels": {"p": "2"}}).json()["Name"]
    with open(os.path.join(vol_dir(husk, anon), "_data", "f"), "w") as f:
        f.write("x" * 1000)
    c = husk.docker("create", "-v", "/used", image, "true").stdout.strip()
    anon_used = json.loads(husk.docker("inspect", c).stdout)[0]["Mounts"][0]["Name"]
    # API >= 1.42: anonymous volumes only; ones in use are kept
    r = husk.api("POST", "/v1.44/volumes/prune?filters=" + q({"label": ["p=3"]}))
    assert r.status == 200 and r.json() == {"VolumesDeleted": [], "SpaceReclaimed": 0}
    r = husk.api("POST", "/v1.44/volumes/prune?filters=" + q({"label!": ["p=2"]}))
    assert anon not in r.json()["VolumesDeleted"]
    r = husk.api("POST", "/v1.44/volumes/prune")
    body = r.json()
    assert anon in body["VolumesDeleted"] and named not in body["VolumesDeleted"]
    assert anon_used not in body["VolumesDeleted"] and body["SpaceReclaimed"] >= 1000
    assert os.path.isdir(vol_dir(husk, named)) and os.path.isdir(vol_dir(husk, anon_used))
    assert not os.path.exists(vol_dir(husk, anon))
    # all=true, with a label filter: the named one too
    r = husk.api("POST", "/v1.44/volumes/prune?filters=" + q({"all": ["true"],
                                                              "label": ["p=1"]}))
    assert r.json()["VolumesDeleted"] == [named]
    # before 1.42 every unused volume went
    other = name("po")
    husk.docker("volume", "create", other)
    r = husk.api("POST", "/v1.41/volumes/prune?filters=" + q({"label": {"nolabel": True}}))
    assert r.json()["VolumesDeleted"] == []
    r = husk.api("POST", "/v1.41/volumes/prune")
    assert other in r.json()["VolumesDeleted"]
    assert anon_used not in r.json()["VolumesDeleted"]
    husk.docker("rm", "-v", c)
    assert not os.path.exists(vol_dir(husk, anon_used))


def test_prune_cli_and_bad_filters(husk, image):
    n = name("pc")
    husk.docker("volume", "create", n)
    out = husk.docker("volume", "prune", "-f").stdout
    assert n not in out and os.path.isdir(vol_dir(husk, n))
    out = husk.docker("volume", "prune", "-f", "--all").stdout
    assert n in out and "Total reclaimed space" in out
    assert not os.path.exists(vol_dir(husk, n))
    assert_error(husk.api("POST", "/volumes/prune?filters=" + q({"all": ["maybe"]})), 400,
                 "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax")
    assert_error(husk.api("POST", "/volumes/prune?filters=" + q({"all": ["1", "0"]})), 400,
                 "only one value is expected")
    assert_error(husk.api("POST", "/volumes/prune?filters=" + q({"dangling": ["1"]})), 400,
                 "invalid filter 'dangling'")


# --- docker-py ----------------------------------------------------------------------------

def test_dockerpy_volumes(husk, image):
    import docker
    c = husk.client()
    n = name("py")
    v = c.volumes.create(n, labels={"via": "py"})
    assert v.name == n and v.attrs["Labels"] == {"via": "py"}
    assert c.volumes.get(n).attrs["Mountpoint"].endswith(f"/volumes/{n}/_data")
    assert [x.name for x in c.volumes.list(filters={"label": "via=py"})] == [n]
    out = c.containers.run(image, ["sh", "-c", "echo py > /d/f; cat /d/f"],
                           volumes={n: {"bind": "/d", "mode": "rw"}}, remove=True)
    assert out == b"py\n"
    out = c.containers.run(image, ["sh", "-c", "cat /d/f; touch /d/g 2>&1 || true"],
                           volumes=[f"{n}:/d:ro"], remove=True)
    assert out.startswith(b"py\n") and b"Read-only" in out
    m = docker.types.Mount("/m", n, type="volume", read_only=True)
    t = docker.types.Mount("/t", None, type="tmpfs", tmpfs_size="1m")
    out = c.containers.run(image, ["sh", "-c", "cat /m/f; grep ' /t ' /proc/mounts"],
                           mounts=[m, t], remove=True)
    assert out.startswith(b"py\n") and b"size=1024k" in out
    ctr = c.containers.create(image, "true", volumes=[f"{n}:/d"])
    with pytest.raises(docker.errors.APIError) as e:
        v.remove()
    assert e.value.status_code == 409
    ctr.remove()
    v.remove()
    with pytest.raises(docker.errors.NotFound):
        c.volumes.get(n)
    anon = c.volumes.create()
    rep = c.volumes.prune()
    assert anon.name in rep["VolumesDeleted"]
