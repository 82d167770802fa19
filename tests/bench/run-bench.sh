#!/bin/bash
# run-bench.sh — husk vs podman's `system service`, side by side (by hand; not part of tests/run).
#
#   tests/bench/run-bench.sh [--runs N] [--containers K] [--burst-seconds S] [--no-podman]
#
# As root: installs podman if missing, sets up the bench user (HUSK_BENCH_USER, default
# husk-bench) with tests/tools/test-user.sh and a rootless podman for it (cgroupfs, file events,
# native overlay: without a storage.conf podman 4.3 silently takes vfs on this machine kind),
# applies tests/tools/host-fixes.sh, builds husk (release, in build-bench, with
# contrib/build-microhttpd's libmicrohttpd and, in build-bench-musl, husk-monitor with musl, as
# husk-setup does), uxload and the test image, copies all of it where the user can read it, and
# runs bench.py as that user.
# As any other user: builds and runs bench.py as itself (podman must already work for it).
# Prints a table (husk, podman, husk/podman); JSON in build-bench/bench-results.json.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
BENCH_USER=${HUSK_BENCH_USER:-husk-bench}
BUILD=$REPO/build-bench
PYTHON=/usr/bin/python3
[ -x $PYTHON ] || PYTHON=python3
args=("$@")
no_podman=0
for a in "$@"; do [ "$a" = --no-podman ] && no_podman=1; done

say() { echo "run-bench: $*" >&2; }

# Rootless podman for USER, the way that works on this machine kind.
podman_prep() {
	local home
	home=$(getent passwd "$BENCH_USER" | cut -d: -f6)
	install -d -o "$BENCH_USER" -g "$(id -g "$BENCH_USER")" "$home/.config" "$home/.config/containers"
	cat >"$home/.config/containers/containers.conf" <<-'EOF'
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	cat >"$home/.config/containers/storage.conf" <<-'EOF'
		[storage]
		driver = "overlay"
	EOF
	chown "$BENCH_USER:" "$home/.config/containers/containers.conf" \
		"$home/.config/containers/storage.conf"
}

# A busybox rootfs tar from Debian's busybox-static, for `docker import` (used while
# tests/image/mk-test-image.sh is not there).
mk_rootfs_tar() {
	local out=$1 root
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root}
	cp /bin/busybox "$root/bin/busybox"
	local app
	for app in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	chmod 1777 "$root/tmp"
	tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out" .
	rm -rf "$root"
}

if [ "$(id -u)" = 0 ]; then
	if [ $no_podman = 0 ] && ! command -v podman >/dev/null; then
		say "installing podman"
		DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq podman >/dev/null
	fi
	tests/tools/host-fixes.sh
	tests/tools/test-user.sh setup "$BENCH_USER"
	podman_prep
fi

# As husk-setup builds it: libmicrohttpd without HTTPS where it can be built.
mhd=$(contrib/build-microhttpd "$REPO/build-deps/microhttpd") || mhd=
if [ -f "$BUILD/build.ninja" ]; then
	meson setup --reconfigure "$BUILD" -Dmicrohttpd="$mhd" >/dev/null
else
	meson setup "$BUILD" --buildtype=release -Dmicrohttpd="$mhd" >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
# The musl husk-monitor, as husk-setup installs it, where it can be built; else the glibc one.
MONITOR_DIR=$BUILD/monitor
if command -v musl-gcc >/dev/null && musl=$(contrib/build-musl-deps "$REPO/build-deps/musl"); then
	if [ ! -f "$BUILD-musl/build.ninja" ]; then
		CC=musl-gcc meson setup "$BUILD-musl" --buildtype=release -Dmonitor_only=true \
			-Dmusl_deps="$musl" >/dev/null
	fi
	meson compile -C "$BUILD-musl" >/dev/null
	MONITOR_DIR=$BUILD-musl/monitor
else
	say "cannot build husk-monitor with musl: the glibc one"
fi
say "husk-monitor: $("$MONITOR_DIR/husk-monitor" --version)"
cc -O2 -Wall -Wextra -Werror -pthread -o "$BUILD/uxload" tests/bench/uxload.c
cc -O2 -Wall -Wextra -Werror -o "$BUILD/coldstart" tests/bench/coldstart.c

images=$BUILD/bench-images
mkdir -p "$images"
if [ -x tests/image/mk-test-image.sh ]; then
	[ -s "$images/image.tar" ] || tests/image/mk-test-image.sh "$images"
elif [ ! -s "$images/rootfs.tar" ]; then
	say "tests/image/mk-test-image.sh is not there yet: a busybox rootfs.tar of our own"
	mk_rootfs_tar "$images/rootfs.tar"
fi

if [ "$(id -u)" = 0 ]; then
	# Everything the bench user runs or reads, where it can read it.
	stage=/var/tmp/husk-bench-stage
	rm -rf "$stage"
	mkdir -p "$stage/build/api" "$stage/build/monitor" "$stage/images"
	cp "$BUILD/api/husk-api" "$BUILD/api/husk-helper" "$stage/build/api/"
	cp "$MONITOR_DIR/husk-monitor" "$MONITOR_DIR/husk-init" "$stage/build/monitor/"
	cp "$BUILD/uxload" "$BUILD/coldstart" contrib/husk-activate tests/bench/bench.py "$stage/"
	cp "$images"/*.tar "$stage/images/"
	chmod -R a+rX "$stage"
	touch "$stage/results.json"
	chown "$BENCH_USER:" "$stage/results.json"
	tests/tools/test-user.sh run "$BENCH_USER" env -C /tmp $PYTHON "$stage/bench.py" \
		--husk-build "$stage/build" --activator "$stage/husk-activate" --uxload "$stage/uxload" --coldstart "$stage/coldstart" \
		--images "$stage/images" --json "$stage/results.json" "${args[@]}"
	cp "$stage/results.json" "$BUILD/bench-results.json"
else
	HUSK_MONITOR=$MONITOR_DIR/husk-monitor $PYTHON tests/bench/bench.py --husk-build "$BUILD" --activator contrib/husk-activate \
		--uxload "$BUILD/uxload" --coldstart "$BUILD/coldstart" --images "$images" --json "$BUILD/bench-results.json" "${args[@]}"
fi
say "results: $BUILD/bench-results.json"
