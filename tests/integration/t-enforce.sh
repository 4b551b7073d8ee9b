#!/bin/bash
# Limits shown by behaviour on the real kernel, not by reading files back:
# a throttled loop, children capped by their parent, an OOM kill, a fork
# loop stopped, a frozen loop, a forced destroy.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

# CPU seconds over wall seconds of container NAME across SECS seconds.
cpu_ratio() {
        local name=$1 secs=$2 u0 w0 u1 w1
        u0=$(cpu_usec "$name"); w0=$(now_usec)
        sleep "$secs"
        u1=$(cpu_usec "$name"); w1=$(now_usec)
        awk -v du=$((u1 - u0)) -v dw=$((w1 - w0)) 'BEGIN { printf "%.2f", du / dw }'
}
throttled() { awk '$1 == "nr_throttled" { print $2 }' "$ROOT/$1/cpu.stat"; }

# The measurement itself: an unlimited loop uses about one CPU.
lm create free >/dev/null
spawn_in free spin
expect_num "an unlimited busy loop uses about one CPU" "$(cpu_ratio free 3)" 0.75 1.3
kill -9 "$HPID"

# --cpu 0.5 under a parent with --cpu 10: the loop is throttled to half a CPU.
lm create containerA --cpu 10 >/dev/null
lm create containerA/sub1 --cpu 0.5 >/dev/null
spawn_in containerA/sub1 spin
t0=$(throttled containerA/sub1)
expect_num "a busy loop in containerA/sub1 (--cpu 0.5) gets half a CPU" "$(cpu_ratio containerA/sub1 4)" 0.3 0.7
t1=$(throttled containerA/sub1)
if [ "$t1" -gt "$t0" ]; then pass "cpu.stat nr_throttled grows ($t0 -> $t1)"; else fail "nr_throttled grows" "$t0 -> $t1"; fi
kill -9 "$HPID"

# A child allowed more than its parent is capped by the parent: two
# children of a 1-CPU parent with 0.8 each share one CPU, not 1.6.
lm create capped --cpu 1 >/dev/null
lm create capped/a --cpu 0.8 >/dev/null
lm create capped/b --cpu 0.8 >/dev/null
spawn_in capped/a spin; PA=$HPID
spawn_in capped/b spin; PB=$HPID
expect_num "two children (0.8 + 0.8) of a 1-CPU parent use one CPU together" "$(cpu_ratio capped 4)" 0.7 1.15
lm show capped/a >/dev/null
expect_match "show reports effective cpu 0.8 for a child under a 1-CPU parent" "$(lm show capped/a)" '^cpu +0\.8 +0\.8$'
lm update capped --cpu 0.5 >/dev/null
expect_match "show reports effective cpu 0.5 once the parent drops to 0.5" "$(lm show capped/a)" '^cpu +0\.8 +0\.5$'
expect_num "and together they now get half a CPU" "$(cpu_ratio capped 4)" 0.3 0.7
kill -9 "$PA" "$PB"

# Memory: a child allowed 256M under a parent allowed 64M is OOM-killed
# when it touches 128M; the same allocation fits under a 256M parent.
lm create memA --memory 64M --swap 0 >/dev/null
lm create memA/child --memory 256M >/dev/null
spawn_in memA/child alloc 128
wait "$HPID"; rc=$?
expect_eq "a 128M allocation in a 256M child of a 64M parent is OOM-killed (exit 137)" "$rc" 137
oomk=$(awk '$1 == "oom_kill" { print $2 }' "$ROOT/memA/memory.events")
if [ "${oomk:-0}" -ge 1 ]; then pass "memory.events of the parent counts the oom_kill ($oomk)"; else fail "parent oom_kill" "$oomk"; fi
lm create memB --memory 256M --swap 0 >/dev/null
lm create memB/child --memory 256M >/dev/null
"$HELPER" -w "/lmct-test-$T-$$/memB/child/_self" alloc 128 > "$LOGS/alloc.$$" & HPID=$!; BG_PIDS+=("$HPID")
lm enter memB/child "$HPID"
for _ in $(seq 1 100); do [ -s "$LOGS/alloc.$$" ] && break; sleep 0.1; done
expect_eq "the same allocation under a 256M parent succeeds" "$(cat "$LOGS/alloc.$$")" "allocated"
expect_match "show reports memory usage and peak" "$(lm show memB/child)" '^memory +[0-9.]+M \(peak [0-9.]+M\)$'
kill -9 "$HPID"; rm -f "$LOGS/alloc.$$"

# pids: --pids 5 stops a fork loop (the helper itself is one of the five).
lm create forky --pids 5 >/dev/null
"$HELPER" -w "/lmct-test-$T-$$/forky/_self" forkloop 50 > "$LOGS/fork.$$" & HPID=$!; BG_PIDS+=("$HPID")
lm enter forky "$HPID"
wait "$HPID"
expect_eq "--pids 5 lets a fork loop make only 4 children" "$(cat "$LOGS/fork.$$")" "4"
pmax=$(awk '$1 == "max" { print $2 }' "$ROOT/forky/pids.events")
if [ "${pmax:-0}" -ge 1 ]; then pass "pids.events counts the refused forks ($pmax)"; else fail "pids.events max" "$pmax"; fi
rm -f "$LOGS/fork.$$"

# pause freezes a running loop; resume lets it go on.
lm create ticker >/dev/null
spawn_in ticker tick "$LOGS/tick.$$"
sleep 0.5
expect_rc 0 "pause" lm pause ticker
expect_eq "pause answers once cgroup.events says frozen" "$(awk '$1 == "frozen" { print $2 }' "$ROOT/ticker/cgroup.events")" 1
a=$(cat "$LOGS/tick.$$"); sleep 1; b=$(cat "$LOGS/tick.$$")
expect_eq "a paused loop makes no progress" "$b" "$a"
expect_match "show says frozen" "$(lm show ticker)" '^state +frozen$'
expect_rc 0 "resume" lm resume ticker
sleep 1; c=$(cat "$LOGS/tick.$$")
if [ "$c" -gt "$b" ]; then pass "a resumed loop goes on ($b -> $c)"; else fail "resumed loop goes on" "$b -> $c"; fi

# destroy -f kills what runs in the subtree, waits without blocking, removes it.
lm create -p doomed/inner >/dev/null
spawn_in doomed spin; P1=$HPID
spawn_in doomed/inner spin; P2=$HPID
lm pause doomed >/dev/null
expect_rc 7 "destroy without -f refuses a container with processes" lm destroy -r doomed
expect_match "and says it has processes" "$ERR" 'has processes'
expect_rc 0 "destroy -r -f kills a frozen subtree and removes it" lm destroy -r -f doomed
sleep 0.3
expect_eq "its cgroups are gone" "$(test -d "$ROOT/doomed" && echo present || echo gone)" "gone"
alive=0; for p in $P1 $P2; do [ -d /proc/$p ] && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] && alive=1; done
expect_eq "its processes are gone" "$alive" 0
expect_rc 0 "the daemon answered other clients meanwhile" lm list

lm destroy -r -f containerA >/dev/null; lm destroy -r capped >/dev/null; lm destroy -r memA >/dev/null
lm destroy -r -f memB >/dev/null; lm destroy forky >/dev/null; lm destroy -f ticker >/dev/null; lm destroy free >/dev/null
expect_eq "every container is gone" "$(tree_snapshot)" ""
daemon_stop
