#!/bin/bash
# Two host fixes that a VM of our CI kind needs and a standard Debian host with systemd already has
# (run as root; idempotent; .ci/run calls it, a developer on such a VM runs it once):
#
#  1. /dev/net/tun is 0600 there (udev makes it 0666 on a normal host). Rootless networking
#     (slirp4netns, pasta) opens it as the user.
#  2. The cgroup "hybrid" layout there leaves the hugetlb controller unmounted in v1, so it shows
#     up in the v2 tree's cgroup.controllers (/sys/fs/cgroup/unified). systemd's own hybrid mode
#     mounts every v1 controller; we do the same, which empties cgroup2's controller list as on a
#     standard hybrid host. (Code that inspects cgroups must still not take a non-empty list there
#     for a delegated v2 tree.) HUSK_KEEP_HYBRID=1 skips this one.
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
# (cgroup files report size 0, so read them rather than test -s)
if [ "${HUSK_KEEP_HYBRID:-0}" != 1 ] && [ "$(stat -fc %T $u 2>/dev/null)" = cgroup2fs ]; then
	read -r -a controllers <$u/cgroup.controllers || true
	for c in "${controllers[@]}"; do
		mountpoint -q "/sys/fs/cgroup/$c" && continue
		mkdir -p "/sys/fs/cgroup/$c"
		if mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"; then
			echo "host-fixes: mounted the $c controller as cgroup v1 (hybrid layout)"
		else
			echo "host-fixes: could not mount $c as cgroup v1" >&2
		fi
	done
fi
exit 0
