#!/bin/bash
# Load and leaks, natively (structure only: create, show, list, ps, pause,
# resume and destroy need no controller): 32 concurrent clients sending
# 1,000 mixed requests each, alone and then beside a slow-loris client and
# one that never reads its answers; lmctld's descriptors and memory after;
# then lmctld under valgrind for 10,000 mixed requests.
LMCT_CGROUP_MOUNT=/sys/fs/cgroup/unified
[ -f /sys/fs/cgroup/cgroup.controllers ] && LMCT_CGROUP_MOUNT=/sys/fs/cgroup
export LMCT_CGROUP_MOUNT
. "$(dirname "$0")/../integration/lib.sh"
LOAD=$BUILD/tests/lmct-load

fds() { ls "/proc/$DPID/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }

daemon_start --client-timeout 2 || exit 0
# A first round of the same load sets the allocator's high-water mark for
# 32 connections; a leak then shows as growth in the second.
"$LOAD" "$SOCK" 32 1000 warm >/dev/null
fds0=$(fds); rss0=$(rss_kb)
out=$("$LOAD" "$SOCK" 32 1000 load 2>&1) && rc=0 || rc=$?
echo "    $out"
expect_eq "32 clients x 1,000 mixed requests: no error" "$rc" 0
expect_match "every request answered OK" "$out" "32000 ok, 0 errors"
fds1=$(fds); rss1=$(rss_kb)
out=$("$LOAD" "$SOCK" 32 1000 abuse --abuse 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/    /'
expect_eq "the same beside a slow-loris client and a client that never reads: no error" "$rc" 0
expect_match "the slow-loris client is cut off after the client timeout" "$out" "slow-loris: cut off after [1-9]\.[0-9] s"
expect_match "so is the client that never reads its answers" "$out" "non-reader: cut off after [1-9]\.[0-9] s"
expect_match "and lmctld says why" "$(cat "$LOGS/lmctld-$T.log")" "a request frame left unfinished for 2.000 s"
fds2=$(fds); rss2=$(rss_kb)
echo "    lmctld: $fds0 -> $fds1 -> $fds2 descriptors, $rss0 -> $rss1 -> $rss2 KiB resident (after a warm-up round, the load, the abuse)"
expect_eq "lmctld holds as many descriptors after the load as before" "$fds1" "$fds0"
expect_eq "and after the abuse" "$fds2" "$fds0"
expect_num "32,000 requests after an identical warm-up round add less than 1 MiB (KiB)" $((rss1 - rss0)) -100000 1024
# The answers held for the client that never reads (up to the 4 MiB output
# cap) stay in the allocator's free lists once it is cut off.
expect_num "the abuse round grows it by at most the 4 MiB output cap plus 2 MiB (KiB)" $((rss2 - rss1)) -100000 6144
expect_eq "the load left no container behind" "$(lm list)" ""
daemon_stop

# valgrind: 10,000 mixed requests (4 clients x 2,500), then a clean stop.
if ! command -v valgrind >/dev/null; then
        fail "valgrind" "not installed"
        exit 0
fi
VG=$LOGS/valgrind-$T.txt
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 --log-file="$VG" --trace-children=no \
        "$LMCTLD" --socket "$SOCK" --cgroup-root "$ROOT" >>"$LOGS/lmctld-$T-vg.log" 2>&1 &
DPID=$!
for _ in $(seq 1 400); do lm version >/dev/null 2>&1 && break; sleep 0.1; done
out=$("$LOAD" "$SOCK" 4 2500 vg 2>&1) && rc=0 || rc=$?
echo "    under valgrind: $out"
expect_eq "10,000 mixed requests to lmctld under valgrind: no error" "$rc" 0
kill -TERM "$DPID"
wait "$DPID" && rc=0 || rc=$?
DPID=
expect_eq "lmctld under valgrind exits cleanly: no leak, no memory error" "$rc" 0
[ "$rc" = 0 ] || head -n 40 "$VG"
# Its own notes (--PID--, e.g. a syscall it does not model) are not findings.
expect_eq "valgrind reports nothing" "$(grep '^==[0-9]*==' "$VG" | grep -v '^==[0-9]*== *$' | head -n 5)" ""
