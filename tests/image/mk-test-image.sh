#!/bin/sh
# mk-test-image.sh OUTDIR: builds the integration tests' busybox image without root.
#
#   OUTDIR/rootfs.tar  a root file system (for docker import)
#   OUTDIR/image.tar   `docker save` of husk-test/busybox:latest, with both the Docker layout
#                      (manifest.json, repositories) and the OCI layout (oci-layout,
#                      index.json, blobs/sha256/...), as docker 25 and later write it
#
# Layer 1 is the busybox root file system (Debian's busybox-static), with /etc/passwd and
# /etc/group (root, nobody 65534, husk 1000), /home/husk owned by 1000:1000, /tmp 1777, and a
# /dev/null device node (which a rootless unpack must skip). Layer 2 (gzip-compressed, as OCI
# allows) deletes /etc/motd with a whiteout, makes /opt/data opaque (hiding file1 and file2 of
# layer 1) and adds /opt/data/file3 and /etc/layer2. python3's tarfile sets owners without root;
# fixed times and sorted entries make the output the same on every run. Prints the image id.
set -eu

out=${1:?usage: mk-test-image.sh OUTDIR}
busybox=${BUSYBOX:-/bin/busybox}
if [ ! -x "$busybox" ]; then
	echo "mk-test-image.sh: $busybox not found: install Debian's busybox-static" >&2
	exit 1
fi
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked' &&
   ldd "$busybox" >/dev/null 2>&1; then
	echo "mk-test-image.sh: $busybox is dynamically linked: install busybox-static" >&2
	exit 1
fi
mkdir -p "$out"

exec python3 - "$out" "$busybox" <<'PY'
import gzip, hashlib, io, json, os, platform, subprocess, sys, tarfile

out, busybox = sys.argv[1], sys.argv[2]
MTIME = 1700000000
CREATED = "2023-11-14T22:13:20Z"
NAME = "husk-test/busybox"
TAG = "latest"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
        "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(
            platform.machine(), platform.machine())


def entry(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, data=b"", link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, MTIME
    ti.uname = ti.gname = ""
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data


def dir_(name, mode=0o755, uid=0, gid=0):
    return entry(name, tarfile.DIRTYPE, mode, uid, gid)


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in sorted(entries, key=lambda e: e[0].name):
            t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def layer1():
    bb = open(busybox, "rb").read()
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    e = [dir_(d) for d in ("bin", "dev", "etc", "home", "opt", "opt/data", "proc", "sbin",
                           "sys", "usr", "usr/bin", "usr/sbin", "var")]
    e += [dir_("root", 0o700), dir_("tmp", 0o1777), dir_("home/husk", 0o755, 1000, 1000)]
    e.append(entry("bin/busybox", mode=0o755, data=bb))
    e += [entry("bin/" + a, tarfile.SYMTYPE, 0o777, link="busybox")
          for a in sorted(set(applets)) if a != "busybox"]
    e.append(entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                   b"husk:x:1000:1000:husk:/home/husk:/bin/sh\n"
                   b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
    e.append(entry("etc/group", data=b"root:x:0:\nhusk:x:1000:\nnogroup:x:65534:\n"))
    e.append(entry("etc/hostname", data=b"husk-test\n"))
    e.append(entry("etc/motd", data=b"deleted by layer 2\n"))
    e.append(entry("home/husk/.profile", mode=0o644, uid=1000, gid=1000, data=b"# husk\n"))
    e.append(entry("opt/data/file1", data=b"1\n"))
    e.append(entry("opt/data/file2", data=b"2\n"))
    dev = entry("dev/null", tarfile.CHRTYPE, 0o666)
    dev[0].devmajor, dev[0].devminor = 1, 3
    e.append(dev)
    return tar_bytes(e)


def layer2():
    return tar_bytes([
        dir_("etc"), entry("etc/.wh.motd"), entry("etc/layer2", data=b"layer 2\n"),
        dir_("opt"), dir_("opt/data"), entry("opt/data/.wh..wh..opq"),
        entry("opt/data/file3", data=b"3\n"),
    ])


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def gz(b):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(b)
    return buf.getvalue()


l1, l2 = layer1(), layer2()
l2gz = gz(l2)
with open(os.path.join(out, "rootfs.tar"), "wb") as f:
    f.write(l1)

config = json.dumps({
    "architecture": ARCH, "os": "linux", "created": CREATED,
    "config": {"Cmd": ["sh"],
               "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [sha(l1), sha(l2)]},
    "history": [{"created": CREATED, "created_by": "mk-test-image.sh: busybox root file system"},
                {"created": CREATED, "created_by": "mk-test-image.sh: whiteout, opaque dir"}],
}, sort_keys=True, separators=(",", ":")).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": sha(l1), "size": len(l1)},
               {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha(l2gz), "size": len(l2gz)}],
}, sort_keys=True, separators=(",", ":")).encode()
index = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": sha(manifest), "size": len(manifest),
                   "annotations": {"io.containerd.image.name": f"docker.io/{NAME}:{TAG}",
                                   "org.opencontainers.image.ref.name": TAG}}],
}, sort_keys=True, separators=(",", ":")).encode()


def blob(b):
    return "blobs/sha256/" + sha(b)[7:]


docker_manifest = json.dumps([{"Config": blob(config), "RepoTags": [f"{NAME}:{TAG}"],
                               "Layers": [blob(l1), blob(l2gz)]}]).encode()
repositories = json.dumps({NAME: {TAG: sha(l2)[7:]}}).encode()

files = [dir_("blobs"), dir_("blobs/sha256")]
files += [entry(blob(b), data=b) for b in (config, manifest, l1, l2gz)]
files += [entry("index.json", data=index), entry("manifest.json", data=docker_manifest),
          entry("oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}'),
          entry("repositories", data=repositories)]
with open(os.path.join(out, "image.tar"), "wb") as f:
    f.write(tar_bytes(files))
print(sha(config))
PY
