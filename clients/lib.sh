# clients/lib.sh: what the shell checks of clients/ share. Source it after setting CHECK_NAME.
#
# Each step prints one TAP line ("ok N - what", "not ok N - what" with the output below it as
# "#" lines, "ok N - what # SKIP why", "not ok N - what # TODO known gap"); check_done prints
# the plan and "NAME: N passed, N failed, N skipped, N known gaps", and returns 1 when a step
# failed. A known gap is a step expected to fail today, the way the client's README says: it
# does not fail the check, fails it when it fails some other way, and says so when it starts to
# pass.
# shellcheck shell=bash

CHECK_IMAGE=${HUSK_CHECK_IMAGE:-husk-test/busybox:latest}
# Seconds a client command may take: a hung client fails its step instead of the whole check.
CHECK_TIMEOUT=${HUSK_CHECK_TIMEOUT:-60}
OUT=
_n=0 _failed=0 _skipped=0 _gaps=0

_indent() { sed 's/^/#   /'; }

# limited CMD...: CMD, killed after $CHECK_TIMEOUT seconds (status 124, or 137 if it must be
# killed harder).
limited() { timeout -k 5 "$CHECK_TIMEOUT" "$@"; }

# run WHAT CMD...: ok when CMD exits 0; its output (stdout and stderr) is left in $OUT.
run() {
	local what=$1
	shift
	OUT=$("$@" 2>&1)
	_verdict "$what" '' $? "$*"
}

# want WHAT REGEX CMD...: ok when CMD exits 0 and its output matches the extended REGEX.
want() {
	local what=$1 re=$2
	shift 2
	OUT=$("$@" 2>&1)
	_verdict "$what" "$re" $? "$*"
}

# _verdict WHAT REGEX STATUS COMMAND-LINE: the line of a step whose output is in $OUT.
_verdict() {
	_n=$((_n + 1))
	if [ "$3" = 0 ] && printf '%s\n' "$OUT" | grep -Eq -- "$2"; then
		echo "ok $_n - $1"
		return 0
	fi
	local why="exit $3"
	case $3 in 124 | 137) why="timed out after ${CHECK_TIMEOUT}s" ;; esac
	echo "not ok $_n - $1 ($why${2:+, wanted /$2/}: $4)"
	printf '%s\n' "$OUT" | _indent
	_failed=$((_failed + 1))
	return 1
}

# gap WHAT WHY REGEX CMD...: a known gap. CMD is expected to fail with output matching the
# extended REGEX (husk's answer today, e.g. 'page not found'); a failure without it, or a
# timeout, is a failed step. Its output is shown.
gap() {
	local what=$1 why=$2 re=$3 rc how
	shift 3
	_n=$((_n + 1))
	OUT=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		echo "ok $_n - $what # TODO passes now: update clients/$CHECK_NAME/README.md ($why)"
		return 0
	fi
	case $rc in
	124 | 137) how="timed out after ${CHECK_TIMEOUT}s" ;;
	*)
		if printf '%s\n' "$OUT" | grep -Eq -- "$re"; then
			echo "not ok $_n - $what # TODO $why"
			printf '%s\n' "$OUT" | tail -n 5 | _indent
			_gaps=$((_gaps + 1))
			return 1
		fi
		how="exit $rc, wanted /$re/"
		;;
	esac
	echo "not ok $_n - $what (a known gap failing otherwise: $how: $*)"
	printf '%s\n' "$OUT" | _indent
	_failed=$((_failed + 1))
	return 1
}

# skip WHAT WHY
skip() {
	_n=$((_n + 1))
	_skipped=$((_skipped + 1))
	echo "ok $_n - $1 # SKIP $2"
}

# note TEXT: a comment line.
note() { printf '%s\n' "$*" | sed 's/^/# /'; }

check_done() {
	echo "1..$_n"
	echo "$CHECK_NAME: $((_n - _failed - _skipped - _gaps)) passed, $_failed failed," \
		"$_skipped skipped, $_gaps known gaps"
	[ $_failed = 0 ]
}

# The unix socket path of DOCKER_HOST (unix:// only); exits 2 without one.
socket_of_docker_host() {
	case ${DOCKER_HOST:-} in
	unix://*) printf '%s\n' "${DOCKER_HOST#unix://}" ;;
	*)
		echo "$CHECK_NAME: DOCKER_HOST must be unix:///path/to/husk.sock (it is '${DOCKER_HOST:-}')" >&2
		exit 2
		;;
	esac
}

# check_start: the header line, and the checks every client needs: a reachable socket.
check_start() {
	local sock
	sock=$(socket_of_docker_host)
	note "$CHECK_NAME against DOCKER_HOST=$DOCKER_HOST, image $CHECK_IMAGE"
	if [ ! -S "$sock" ]; then
		echo "$CHECK_NAME: no socket at $sock: is husk running? (see clients/README.md)" >&2
		exit 2
	fi
}
