#!/bin/bash
# Crash consistency: lmctld killed with SIGKILL in the middle of create,
# update and destroy leaves each container whole or absent, and never loses
# what it acknowledged. First the recovery of each kind of half-done
# operation, staged by hand; then a storm of requests with kills at random
# moments, checked against the kernel by lmct-storm.
. "$(dirname "$0")/lib.sh"
STORM=$BUILD/tests/lmct-storm
XATTR=trusted.lmct.intent
set_intent() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' "$ROOT" "$XATTR" "$1"; }
has_intent() { python3 -c 'import os,sys; os.getxattr(sys.argv[1], sys.argv[2])' "$ROOT" "$XATTR" 2>/dev/null; }
crash() { kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=; }

daemon_start || exit 0
lm create keep --pids 99 >/dev/null
lm create u --pids 10 --memory 100M >/dev/null
lm create -p d/e/f >/dev/null
crash

# A create that made two of its directories and wrote no limit yet.
mkdir -p "$ROOT/half/x"
set_intent $'create half\n'
daemon_start || exit 0
expect_eq "a create interrupted by a crash is undone at the next start" "$(test -d "$ROOT/half" && echo present || echo absent)" absent
expect_rc 3 "and lmctl does not find it" lm show half
if has_intent; then fail "the intent record is removed once resolved" "still there"; else pass "the intent record is removed once resolved"; fi
crash

# An update that wrote the first of its two files.
echo 20 > "$ROOT/u/pids.max"
set_intent $'update u\npids.max=10\nmemory.max=104857600\n'
daemon_start || exit 0
expect_eq "an update interrupted by a crash is undone: pids.max restored" "$(cat "$ROOT/u/pids.max")" 10
expect_eq "and memory.max kept" "$(cat "$ROOT/u/memory.max")" 104857600
crash

# A recursive destroy that removed the deepest directory only.
rmdir "$ROOT/d/e/f"
set_intent $'destroy d\n'
daemon_start || exit 0
expect_eq "a destroy interrupted by a crash is finished" "$(test -d "$ROOT/d" && echo present || echo absent)" absent
expect_rc 3 "and lmctl does not find it" lm show d
crash

# Records lmctld never writes change nothing.
for rec in $'bogus\n' $'create ../x\n' $'create /\n' $'update keep\n/etc/passwd=x\n' $'update keep\ncgroup.procs=1\n'; do
        set_intent "$rec"
        daemon_start || exit 0
        expect_eq "a malformed intent record ($(echo "$rec" | head -n 1)) changes nothing" \
                "$(lm list -r | tr '\n' ' ')" "keep u "
        crash
done
expect_eq "the pids limit of a container named in a bad record is untouched" "$(cat "$ROOT/keep/pids.max")" 99
expect_match "lmctld logs the malformed records" "$(cat "$LOGS/lmctld-$T.log")" "ignoring a malformed intent record"

# The storm.
daemon_start || exit 0
lm destroy keep >/dev/null; lm destroy u >/dev/null
seed=$(( $$ + $(date +%s) ))
"$STORM" "$SOCK" "$ROOT" "$seed" >"$LOGS/storm-$T.out" 2>&1 &
SPID=$!
BG_PIDS+=("$SPID")
ROUNDS=${LMCT_STORM_ROUNDS:-30}
started=0
for i in $(seq 1 "$ROUNDS"); do
        sleep "0.$(( RANDOM % 5 ))$(( RANDOM % 10 ))"
        crash
        daemon_start || break
        started=$((started + 1))
done
expect_eq "lmctld came back after each of $ROUNDS kills" "$started" "$ROUNDS"
sleep 0.5
kill -TERM "$SPID"
wait "$SPID" && rc=0 || rc=$?
summary=$(grep '^storm:' "$LOGS/storm-$T.out")
echo "    $summary (seed $seed); operations found half done and resolved at a start:" \
        "$(grep -c 'interrupted by the previous lmctld' "$LOGS/lmctld-$T.log")"
expect_eq "the storm finds no container half done or lost (seed $seed)" "$rc" 0
[ "$rc" = 0 ] || grep '^violation' "$LOGS/storm-$T.out" | head -n 10
acked=$(echo "$summary" | awk '{ print $2 }')
doubt=$(echo "$summary" | awk '{ print $5 }')
expect_num "the storm had requests acknowledged" "${acked:-0}" 100 100000000
expect_num "and kills landed in the middle of requests" "${doubt:-0}" 1 100000000
daemon_stop
