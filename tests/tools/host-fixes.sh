#!/bin/bash
# Host fixes that a VM of our CI kind needs (run as root; idempotent; .ci/run calls it, a developer
# on such a VM runs it once):
#
#  1. /dev/net/tun is 0600 there (udev makes it 0666 on a normal host). Rootless networking
#     (slirp4netns, pasta) opens it as the user.
#  2. The cgroup "hybrid" layout there leaves the hugetlb controller unmounted in v1, so it shows
#     up in the v2 tree's cgroup.controllers (/sys/fs/cgroup/unified). systemd's own hybrid mode
#     mounts every v1 controller; we do the same, which keeps cgroup2's controller list to the
#     ones fix 3 gives it. (Code that inspects cgroups must still not take a non-empty list there
#     for a delegated v2 tree.)
#  3. In the hybrid layout every controller is bound to a v1 hierarchy, so cgroup v2 has none to
#     delegate, and resource limits (--memory, --cpus, --pids-limit, --cpuset-cpus) can neither
#     work nor be tested. A v1 hierarchy that holds no cgroup but its root (so every process is in
#     its root and nothing uses it) is unmounted: the kernel then binds its controllers to cgroup
#     v2, where they stay unused until a cgroup enables them for its children (test-user.sh does,
#     for its test user). Only for the hierarchies of cpu, cpuset, memory and pids, and only when
#     the hierarchy has no other controller than those (and cpuacct, which cgroup v2 folds into
#     cpu) and no mount in another mount namespace (a running podman or systemd --user keeps it
#     alive there). A hierarchy in use is left alone: the machinery that runs this VM kind keeps
#     its commands in v1 memory cgroups, so memory stays in v1 and the tests of memory limits
#     skip, saying so. It is undone by mounting the hierarchy again once no cgroup v2 enables
#     the controller (`mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu`).
# HUSK_KEEP_HYBRID=1 skips fixes 2 and 3.
set -euo pipefail
[ "$(id -u)" = 0 ] || {
	echo "host-fixes.sh: run as root" >&2
	exit 1
}

if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	chmod 0666 /dev/net/tun
	echo "host-fixes: /dev/net/tun made 0666"
fi

u=/sys/fs/cgroup/unified
if [ "${HUSK_KEEP_HYBRID:-0}" = 1 ] || [ "$(stat -fc %T $u 2>/dev/null)" != cgroup2fs ]; then
	exit 0
fi

FREE="cpu cpuset memory pids"

# Fix 2: controllers no v1 hierarchy has (nor fix 3 frees) get one.
# (cgroup files report size 0, so read them rather than test -s)
read -r -a controllers <$u/cgroup.controllers || true
for c in "${controllers[@]}"; do
	case " $FREE " in *" $c "*) continue ;; esac
	mountpoint -q "/sys/fs/cgroup/$c" && continue
	mkdir -p "/sys/fs/cgroup/$c"
	if mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"; then
		echo "host-fixes: mounted the $c controller as cgroup v1 (hybrid layout)"
	else
		echo "host-fixes: could not mount $c as cgroup v1" >&2
	fi
done

# Fix 3. /proc/cgroups: "name hierarchy num_cgroups enabled".
hierarchy_of() { awk -v c="$1" '$1 == c { print $2, $3 }' /proc/cgroups; }

# The other mount namespaces where the v1 hierarchy of mount point $1 is mounted, as "pid comm".
mounted_elsewhere() {
	local dev ns mine p
	dev=$(mountpoint -d "$1")
	mine=$(readlink /proc/self/ns/mnt)
	declare -A seen=()
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
		if [ "$ns" = "$mine" ] || [ -n "${seen[$ns]:-}" ]; then continue; fi
		seen[$ns]=1
		if awk -v d="$dev" '$3 == d { found = 1 } END { exit !found }' "$p/mountinfo" 2>/dev/null; then
			echo "${p#/proc/} $(cat "$p/comm" 2>/dev/null)"
		fi
	done
}

for c in $FREE; do
	grep -qw "$c" $u/cgroup.controllers && continue # free already
	d=/sys/fs/cgroup/$c
	read -r hier count < <(hierarchy_of "$c") || continue
	if [ "${hier:-0}" = 0 ] || ! mountpoint -q "$d"; then continue; fi
	opts=$(awk -v d="$d" '$5 == d { n = split($NF, o, ","); s = ""
		for (i = 1; i <= n; i++) if (o[i] != "rw") s = s (s ? "," : "") o[i]; print s }' \
		/proc/self/mountinfo)
	others=$(echo "$opts" | tr , '\n' | grep -vxE "cpu|cpuacct|cpuset|memory|pids" || true)
	if [ -n "$others" ]; then
		echo "host-fixes: $c stays in cgroup v1: its hierarchy also has $others"
		continue
	fi
	if [ "$count" != 1 ]; then
		echo "host-fixes: $c stays in cgroup v1: its hierarchy is in use ($count cgroups);" \
			"limits that need it cannot be tested here"
		continue
	fi
	pinned=$(mounted_elsewhere "$d")
	if [ -n "$pinned" ]; then
		echo "host-fixes: $c stays in cgroup v1: its hierarchy is also mounted in the mount" \
			"namespace of $(echo "$pinned" | head -1)"
		continue
	fi
	if ! umount "$d"; then
		echo "host-fixes: $c stays in cgroup v1: cannot unmount $d" >&2
		continue
	fi
	for _ in $(seq 50); do
		grep -qw "$c" $u/cgroup.controllers && break
		sleep 0.05
	done
	if grep -qw "$c" $u/cgroup.controllers; then
		echo "host-fixes: $c (hierarchy $opts) unmounted from cgroup v1: cgroup v2 has it now"
	else
		mount -t cgroup -o "$opts" cgroup "$d"
		echo "host-fixes: $c stays in cgroup v1: the kernel did not free it (mounted again)" >&2
	fi
done
exit 0
