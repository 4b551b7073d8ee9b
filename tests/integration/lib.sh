# Shared by lmct's integration tests (bash). Each test file starts its own
# lmctld on a private socket and cgroup root, and prints one line per check:
#   PASS: <file>: <what>
#   FAIL: <file>: <what>: <why>
# The suite's driver counts those lines.
#
# Environment: LMCT_BUILD (a meson build directory), LMCT_LOGS (a directory
# for daemon logs and sanitizer reports).

set -u
T=$(basename "$0" .sh)
TD=${LMCT_VARIANT:+$LMCT_VARIANT:}$T
BUILD=${LMCT_BUILD:?LMCT_BUILD is not set}
LOGS=${LMCT_LOGS:-/tmp/lmct-logs}
LMCTLD=$BUILD/daemon/lmctld
LMCTL=$BUILD/client/lmctl
HELPER=$BUILD/tests/lmct-test-helper
CGMOUNT=${LMCT_CGROUP_MOUNT:-/sys/fs/cgroup}
ROOT=$CGMOUNT/lmct-test-$T-$$
SOCK=/run/lmct-test-$T-$$.sock
DPID=
BG_PIDS=()
mkdir -p "$LOGS"

pass() { echo "PASS: $TD: $1"; }
fail() { echo "FAIL: $TD: $1: $2"; }

# check WHAT COMMAND...: passes when COMMAND succeeds.
check() {
        local what=$1; shift
        local out
        if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# expect_rc RC WHAT COMMAND...: passes when COMMAND exits with RC. Its
# stderr is kept in $ERR, its stdout in $OUT.
expect_rc() {
        local want=$1 what=$2; shift 2
        local rc
        OUT=$("$@" 2>"$LOGS/stderr.$$") && rc=0 || rc=$?
        ERR=$(cat "$LOGS/stderr.$$")
        if [ "$rc" = "$want" ]; then pass "$what"; else fail "$what" "exit $rc, expected $want; stderr: $ERR"; fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
        if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}

# expect_match WHAT TEXT REGEX
expect_match() {
        if echo "$2" | grep -qE -- "$3"; then pass "$1"; else fail "$1" "'$(echo "$2" | head -c 300)' does not match /$3/"; fi
}

# expect_num WHAT VALUE LOW HIGH: LOW <= VALUE <= HIGH (decimals allowed).
expect_num() {
        if awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; then
                pass "$1 ($2 in $3..$4)"
        else
                fail "$1" "$2 is outside $3..$4"
        fi
}

lm() { "$LMCTL" -s "$SOCK" "$@"; }

daemon_start() {
        local env=()
        env+=(ASAN_OPTIONS="log_path=$LOGS/asan.lmctld:detect_leaks=1:abort_on_error=0${LMCT_ASAN_OPTIONS:+:$LMCT_ASAN_OPTIONS}")
        env+=(UBSAN_OPTIONS="log_path=$LOGS/ubsan.lmctld:print_stacktrace=1")
        env "${env[@]}" "$LMCTLD" --socket "$SOCK" --cgroup-root "$ROOT" "$@" >>"$LOGS/lmctld-$T.log" 2>&1 &
        DPID=$!
        for _ in $(seq 1 200); do
                lm version >/dev/null 2>&1 && return 0
                kill -0 "$DPID" 2>/dev/null || break
                sleep 0.05
        done
        fail "lmctld starts" "not answering on $SOCK (log: $(tail -n 3 "$LOGS/lmctld-$T.log" | tr '\n' ' '))"
        return 1
}

# Stops lmctld with SIGTERM; checks it exits 0 (sanitizer reports go to LOGS).
daemon_stop() {
        local rc
        [ -n "$DPID" ] || return 0
        kill -TERM "$DPID" 2>/dev/null
        wait "$DPID" && rc=0 || rc=$?
        DPID=
        expect_eq "lmctld exits cleanly on SIGTERM" "$rc" 0
}

daemon_alive() {
        if kill -0 "$DPID" 2>/dev/null && lm version >/dev/null 2>&1; then return 0; fi
        return 1
}

# The cgroup directories below ROOT, sorted: the tree as the kernel holds it.
tree_snapshot() { (cd "$ROOT" && find . -mindepth 1 -type d | sort); }

# Starts the helper in the background waiting to be moved into container
# NAME, moves it there, and sets HPID.
spawn_in() {
        local name=$1; shift
        "$HELPER" -w "/lmct-test-$T-$$/$name/_self" "$@" &
        HPID=$!
        BG_PIDS+=("$HPID")
        lm enter "$name" "$HPID"
}

# CPU seconds used by container NAME (its cpu.stat usage_usec).
cpu_usec() { awk '$1 == "usage_usec" { print $2 }' "$ROOT/$1/cpu.stat"; }
now_usec() { echo $(( $(date +%s%N) / 1000 )); }

cleanup() {
        for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
        if [ -n "$DPID" ]; then kill -9 "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
        if [ -d "$ROOT" ]; then
                find "$ROOT" -depth -type d | while read -r d; do
                        [ -e "$d/cgroup.kill" ] && echo 1 > "$d/cgroup.kill" 2>/dev/null
                done
                sleep 0.2
                find "$ROOT" -depth -type d -exec rmdir {} + 2>/dev/null
        fi
        rm -f "$SOCK" "$LOGS/stderr.$$"
}
trap cleanup EXIT

# The users of the access tests: 2001 (an owner), 2002 (a member of the
# socket's group who owns nothing), 2003 (outside it); the group's gid in
# GID; AS UID COMMAND runs COMMAND as UID.
test_users() {
        G=lmcttest
        getent group $G >/dev/null || groupadd -g 2100 $G
        for u in 2001:lmctown 2002:lmctmem 2003:lmctout; do
                getent passwd "${u#*:}" >/dev/null || useradd -M -N -u "${u%%:*}" -s /bin/sh "${u#*:}"
        done
        GID=$(getent group $G | cut -d: -f3)
}
as() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" "$@"; }
