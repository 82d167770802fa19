#!/bin/bash
# Root-side setup of an unprivileged test user for husk's integration tests, on hosts where no
# login manager does it (CI, VMs without systemd as PID 1).
#
#   test-user.sh setup USER          create USER if missing; give it a subordinate id range of 65536
#                                    in /etc/subuid and /etc/subgid (an existing one is kept; else one
#                                    is allocated above every range there, or at $HUSK_SUBID_START);
#                                    /run/user/UID (0700); a delegated cgroup (below)
#   test-user.sh run USER CMD...     run CMD as USER inside its delegated cgroup, with a clean
#                                    environment (HOME USER LOGNAME PATH XDG_RUNTIME_DIR
#                                    DBUS_SESSION_BUS_ADDRESS LANG); use `env VAR=...` to add more
#   test-user.sh cgroup-root USER    print the cgroup v2 directory delegated to USER for husk-api
#                                    --cgroup-root (HUSK_CGROUP_ROOT), if there is one
#   test-user.sh systemd-start USER  start a real `systemd --user` for USER, in a private mount
#                                    namespace where /run/systemd/system exists (so it believes the
#                                    host booted with systemd); waits for its bus
#   test-user.sh systemd-stop USER   stop it again
#   test-user.sh teardown USER       stop systemd --user, remove the delegated cgroups and
#                                    /run/user/UID when no process of USER is left in them
#                                    (the user and its range are kept: `userdel -r USER` removes them)
#
# The delegated cgroup: where PID 1 is not systemd, /sys/fs/cgroup/unified (the hybrid layout) or
# /sys/fs/cgroup (pure v2) gets USER.slice/user@UID.service owned by USER, as logind and
# user@.service make it on a host booted with systemd, plus the same path in the name=systemd v1
# hierarchy where that is mounted. cgroup v2 keeps processes out of cgroups whose children have
# controllers, so nothing runs in user@UID.service itself:
#   user@UID.service/init.scope       systemd --user (where it puts itself)
#   user@UID.service/husk-tests       what `run` starts (the tests, their husk-api and monitors)
#   user@UID.service/husk-containers  the cgroup root for husk-api --cgroup-root (cgroup-root)
# The controllers limits need (cpu cpuset memory pids) that cgroup v2 has (see host-fixes.sh for
# the hybrid layout, where it has none until freed from v1) are enabled down to husk-containers:
# in the root's cgroup.subtree_control (which gives them to every top-level cgroup, where nothing
# below uses them unless it enables them too), USER.slice's and user@UID.service's. Enabling them
# in husk-containers too keeps systemd --user from disabling them in user@UID.service (it turns
# off what its own units do not use, and cannot while a child uses it).
#
# systemd --user runs in a mount namespace of its own. In the hybrid layout the unified
# hierarchy is bound over /sys/fs/cgroup there: it then runs in systemd's unified mode, as on a
# standard Debian 12 host, and its Delegate=yes scopes get the controllers (in hybrid mode it
# leaves cgroup v2 without any).
#
# Never mounts anything in the host's mount namespace and never touches other users.
set -euo pipefail

die() {
	echo "test-user.sh: $*" >&2
	exit 1
}
usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1 U=$2
shift 2
[ "$(id -u)" = 0 ] || die "run as root"

fstype() { stat -fc %T "$1" 2>/dev/null || true; }
pid1_is_systemd() { [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }

# The controllers test users get, where cgroup v2 has them.
LIMIT_CONTROLLERS="cpu cpuset memory pids"

# The cgroup v2 mount: the hybrid layout's, or the pure one (none where PID 1 is systemd).
cg2root() {
	pid1_is_systemd && return 0
	if [ "$(fstype /sys/fs/cgroup/unified)" = cgroup2fs ]; then
		echo /sys/fs/cgroup/unified
	elif [ "$(fstype /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	fi
}

# USER's cgroup v2 directories: user@UID.service and its leaves (they may not exist yet).
v2dir() {
	local r
	r=$(cg2root)
	[ -z "$r" ] || echo "$r/$U.slice/user@$1.service${2:+/$2}"
}

# The cgroup directories delegated to USER (they may not exist yet).
cgdirs() {
	local uid=$1 dirs=()
	pid1_is_systemd && return 0
	if [ "$(fstype /sys/fs/cgroup/unified)" = cgroup2fs ]; then
		dirs+=("/sys/fs/cgroup/unified/$U.slice/user@$uid.service")
	elif [ "$(fstype /sys/fs/cgroup)" = cgroup2fs ]; then
		dirs+=("/sys/fs/cgroup/$U.slice/user@$uid.service")
	fi
	if [ "$(fstype /sys/fs/cgroup/systemd)" = cgroupfs ]; then
		dirs+=("/sys/fs/cgroup/systemd/$U.slice/user@$uid.service")
	fi
	[ ${#dirs[@]} -eq 0 ] || printf '%s\n' "${dirs[@]}"
}

user_env() {
	local uid=$1 home
	home=$(getent passwd "$U" | cut -d: -f6)
	printf '%s\n' env -i "HOME=$home" "USER=$U" "LOGNAME=$U" \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "XDG_RUNTIME_DIR=/run/user/$uid" \
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$uid/bus" LANG=C.UTF-8
}

as_user() {
	local uid=$1
	shift
	local -a envv
	mapfile -t envv < <(user_env "$uid")
	exec setpriv --reuid="$U" --regid="$U" --init-groups "${envv[@]}" "$@"
}

# Start of a free subordinate range: above every range in /etc/subuid and /etc/subgid, aligned.
free_subid_start() {
	awk -F: 'NF >= 3 { e = $2 + $3; if (e > m) m = e }
		 END { s = m < 100000 ? 100000 : m; print int((s + 65535) / 65536) * 65536 }' \
		/etc/subuid /etc/subgid
}

# "START COUNT" of USER's range in FILE, first one only; empty if none.
subid_range() { awk -F: -v u="$U" '$1 == u { print $2, $3; exit }' "$1"; }

setup_subids() {
	local f r start count
	local ur gr
	touch /etc/subuid /etc/subgid
	ur=$(subid_range /etc/subuid)
	gr=$(subid_range /etc/subgid)
	if [ -n "$ur" ] && [ -n "$gr" ] && [ "${ur#* }" -ge 65536 ] && [ "${gr#* }" -ge 65536 ]; then
		return 0
	fi
	# Partial or too small: replace both with one fresh range.
	for f in /etc/subuid /etc/subgid; do
		while read -r start count; do
			r="$start-$((start + count - 1))"
			if [ "$f" = /etc/subuid ]; then
				usermod --del-subuids "$r" "$U"
			else
				usermod --del-subgids "$r" "$U"
			fi
		done < <(awk -F: -v u="$U" '$1 == u { print $2, $3 }' "$f")
	done
	start=${HUSK_SUBID_START:-$(free_subid_start)}
	usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$U"
}

do_setup() {
	local uid d
	if ! id "$U" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash --comment "husk test user" "$U"
	fi
	uid=$(id -u "$U")
	[ "$uid" != 0 ] || die "$U is root"
	setup_subids
	install -d -o "$U" -g "$(id -g "$U")" -m 0700 "/run/user/$uid"
	while read -r d; do
		[ -n "$d" ] || continue
		mkdir -p "$d"
		# USER may create child cgroups and move its own processes between them (not out).
		chown -R "$U:" "$d"
	done < <(cgdirs "$uid")
	setup_v2_leaves "$uid"
	echo "test user $U: uid $uid, subuid $(subid_range /etc/subuid | tr ' ' :)," \
		"subgid $(subid_range /etc/subgid | tr ' ' :), XDG_RUNTIME_DIR /run/user/$uid," \
		"cgroups: $(cgdirs "$uid" | tr '\n' ' ')," \
		"controllers: ${enabled:-none}"
}

# "+c" into dir's cgroup.subtree_control for each controller of $want that dir has; what is
# enabled then is left in $enabled.
enable_controllers() {
	local dir=$1 c have
	read -r -a have <"$dir/cgroup.controllers" || true
	for c in $want; do
		case " ${have[*]} " in *" $c "*) ;; *) continue ;; esac
		echo "+$c" >"$dir/cgroup.subtree_control" 2>/dev/null ||
			echo "test-user.sh: cannot enable $c in $dir (processes in it?)" >&2
	done
	enabled=$(cat "$dir/cgroup.subtree_control")
}

setup_v2_leaves() {
	local uid=$1 svc d
	svc=$(v2dir "$uid")
	[ -n "$svc" ] && [ -d "$svc" ] || return 0
	for d in init.scope husk-tests husk-containers; do mkdir -p "$svc/$d"; done
	chown -R "$U:" "$svc"
	# Processes an earlier setup left in user@UID.service itself would block the controllers.
	while read -r p; do echo "$p" >"$svc/husk-tests/cgroup.procs" 2>/dev/null || true; done \
		<"$svc/cgroup.procs"
	want=$LIMIT_CONTROLLERS enabled=
	enable_controllers "$(cg2root)"
	want=$enabled
	enable_controllers "$(dirname "$svc")"
	want=$enabled
	enable_controllers "$svc"
	want=$enabled
	enable_controllers "$svc/husk-containers"
}

# Puts pid $2 into USER's cgroups: v2's husk-tests leaf, v1's name=systemd dir.
enter_cgroups() {
	local uid=$1 d leaf
	leaf=$(v2dir "$uid" husk-tests)
	while read -r d; do
		if [ -z "$d" ] || [ ! -d "$d" ]; then continue; fi
		if [ "$(fstype "$d")" = cgroup2fs ] && [ -d "$leaf" ]; then d=$leaf; fi
		echo "$2" >"$d/cgroup.procs"
	done < <(cgdirs "$uid")
	return 0
}

do_cgroup_root() {
	local d
	d=$(v2dir "$(id -u "$U")" husk-containers)
	[ -z "$d" ] || [ ! -d "$d" ] || echo "$d"
}

do_run() {
	local uid
	uid=$(id -u "$U")
	[ -d "/run/user/$uid" ] || die "$U is not set up: run '$0 setup $U' first"
	[ $# -gt 0 ] || die "run: no command"
	enter_cgroups "$uid" $$
	as_user "$uid" "$@"
}

user_systemd_pidfile() { echo "/run/user/$1/.husk-systemd-user.pid"; }

do_systemd_start() {
	local uid fake pf log i
	uid=$(id -u "$U")
	[ -d "/run/user/$uid" ] || die "$U is not set up: run '$0 setup $U' first"
	[ -x /lib/systemd/systemd ] || die "systemd is not installed"
	pf=$(user_systemd_pidfile "$uid")
	if [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null; then
		echo "systemd --user for $U already runs: pid $(cat "$pf")"
		return 0
	fi
	# /run/systemd/system is how sd_booted() tells; it exists only in the manager's own mount
	# namespace, bound over /run/systemd there.
	fake=/run/user/.husk-fake-run-systemd-$uid
	mkdir -p "$fake/system"
	# Stale sockets of an earlier manager would pass the readiness check below too early.
	rm -f "/run/user/$uid/bus" "/run/user/$uid/systemd/private" "/run/user/$uid/systemd/notify"
	log=/run/user/$uid/.husk-systemd-user.log
	local -a envv
	mapfile -t envv < <(user_env "$uid")
	# The child moves itself into the delegated cgroups before it becomes the user: v2's
	# init.scope (systemd --user takes its parent for its own), v1's name=systemd dir. In the
	# hybrid layout the unified hierarchy is then bound over /sys/fs/cgroup: unified mode.
	local unified=
	[ "$(cg2root)" != /sys/fs/cgroup/unified ] || unified=/sys/fs/cgroup/unified
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/sh -c '
		fake=$1 U=$2 unified=$3; shift 3
		mount --bind "$fake" /run/systemd || exit 1
		for d in $CGDIRS; do echo $$ >"$d/cgroup.procs" || exit 1; done
		if [ -n "$unified" ]; then mount --bind "$unified" /sys/fs/cgroup || exit 1; fi
		exec setpriv --reuid="$U" --regid="$U" --init-groups "$@" /lib/systemd/systemd --user
		' sh "$fake" "$U" "$unified" "${envv[@]}" >"$log" 2>&1 </dev/null &
	echo $! >"$pf"
	for i in $(seq 150); do
		if [ -S "/run/user/$uid/bus" ] &&
			setpriv --reuid="$U" --regid="$U" --init-groups "${envv[@]}" busctl --user status \
				>/dev/null 2>&1; then
			echo "systemd --user for $U: pid $(cat "$pf"), state" \
				"$(setpriv --reuid="$U" --regid="$U" --init-groups "${envv[@]}" \
					systemctl --user show -p SystemState --value 2>/dev/null || true)"
			return 0
		fi
		kill -0 "$(cat "$pf")" 2>/dev/null || break
		[ "$i" -lt 150 ] && sleep 0.1
	done
	die "systemd --user did not come up; its log: $(tail -5 "$log" 2>/dev/null)"
}

do_systemd_stop() {
	local uid pf pid i
	uid=$(id -u "$U")
	pf=$(user_systemd_pidfile "$uid")
	[ -f "$pf" ] || return 0
	pid=$(cat "$pf")
	if kill -0 "$pid" 2>/dev/null; then
		local -a envv
		mapfile -t envv < <(user_env "$uid")
		setpriv --reuid="$U" --regid="$U" --init-groups "${envv[@]}" systemctl --user exit \
			>/dev/null 2>&1 || true
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$i" -lt 50 ] && sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		echo "systemd --user for $U stopped"
	fi
	rm -f "$pf"
}

do_teardown() {
	local uid d top left=0
	uid=$(id -u "$U")
	do_systemd_stop
	while read -r d; do
		[ -n "$d" ] || continue
		top=$(dirname "$d")
		[ -d "$top" ] || continue
		if [ -n "$(find "$top" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]; then
			echo "processes left in $top: not removed" >&2
			left=1
			continue
		fi
		find "$top" -depth -type d -exec rmdir {} \;
	done < <(cgdirs "$uid")
	rm -rf "/run/user/.husk-fake-run-systemd-$uid"
	if [ "$left" = 0 ] && ! pgrep -u "$uid" >/dev/null; then
		rm -rf "/run/user/$uid"
	fi
	echo "test user $U torn down (user and subordinate range kept)"
}

case $cmd in
setup) do_setup ;;
run) do_run "$@" ;;
systemd-start)
	uid=$(id -u "$U")
	CGDIRS=$(cgdirs "$uid" | sed "s|^$(v2dir "$uid")\$|&/init.scope|" | tr '\n' ' ')
	export CGDIRS
	do_systemd_start
	;;
systemd-stop) do_systemd_stop ;;
teardown) do_teardown ;;
cgroup-root) do_cgroup_root ;;
*) usage ;;
esac
