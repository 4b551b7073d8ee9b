#!/bin/bash
# The rest of cgroup v2's CPU and memory model, shown by behaviour: an OOM
# that takes a whole container (--oom-group) against one that takes a
# single process; an idle container (--cpu-idle) yielding a shared CPU; a
# burst (--cpu-burst) the kernel lets a container spend beyond its quota;
# memory nodes (--cpuset-mems) a process is held to; all kept across a
# restart of lmctld.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

# Waits up to 30 s for memory.events' KEY of container NAME to be >= 1.
wait_event() {
        local i
        for i in $(seq 1 150); do
                [ "$(awk -v k="$2" '$1 == k { print $2 }' "$ROOT/$1/memory.events")" -ge 1 ] 2>/dev/null && return 0
                sleep 0.2
        done
        return 1
}
nprocs() { lm ps "$1" | grep -c '^ *[0-9]'; }
# Waits up to 30 s for container NAME to hold no process.
wait_empty() {
        local i
        for i in $(seq 1 150); do
                [ "$(nprocs "$1")" = 0 ] && return 0
                sleep 0.2
        done
        return 1
}
limits() { lm show "$1" | sed -n '/^LIMIT/,/^USAGE/p'; }
# A workload of three processes: two sleepers and a shell that doubles a
# string until the kernel kills it.
HOG='sleep 1000 & sleep 1000 & x=lmct; while :; do x="$x$x"; done'

# OOM, one process against the whole container, watched by a subscriber.
lm --json events -r > "$LOGS/events-$T.$$" 2>&1 &
SUB=$!
BG_PIDS+=("$SUB")
check "create plain --memory 24M --swap 0" lm create plain --memory 24M --swap 0
check "create group --memory 24M --swap 0 --oom-group" lm create group --memory 24M --swap 0 --oom-group
expect_match "show says oom-group on" "$(lm show group)" "^oom-group +on +on$"
lm run -d plain -- sh -c "$HOG" >/dev/null
lm run -d group -- sh -c "$HOG" >/dev/null
wait_event plain oom_kill && pass "the plain container's workload hit its limit" || fail "an OOM in plain" "no oom_kill in 30 s"
wait_event group oom_kill && pass "the group container's workload hit its limit" || fail "an OOM in group" "no oom_kill in 30 s"
sleep 1
expect_eq "a plain OOM kills one process: the two sleepers live on" "$(nprocs plain)" 2
expect_eq "a group OOM kills every process of the container" "$(nprocs group)" 0
expect_match "the kernel counted a group kill" "$(cat "$ROOT/group/memory.events")" "oom_group_kill [1-9]"
expect_match "and none in the plain container" "$(cat "$ROOT/plain/memory.events")" "oom_group_kill 0"
lm destroy -f plain >/dev/null

# An ancestor's oom-group: a child without it is killed whole when the
# parent's limit is hit.
check "create group/child --oom-group=off" lm create group/child --oom-group=off
expect_match "show: configured off, effective on (from group)" "$(lm show group/child)" "^oom-group +off +on$"
lm run -d group/child -- sh -c "$HOG" >/dev/null
wait_empty group/child && pass "the parent's group OOM took the whole child" ||
        fail "the parent's group OOM took the whole child" "$(nprocs group/child) processes left after 30 s"
expect_match "counted at the parent, whose limit was hit" "$(cat "$ROOT/group/memory.events")" "oom_group_kill [2-9]"
sleep 1
kill "$SUB" 2>/dev/null
ev=$(cat "$LOGS/events-$T.$$")
kind() { echo "\"kind\":\"$1\",\"name\":\"$2\""; }
expect_match "events: oom_kill on plain" "$ev" "$(kind oom_kill plain)"
expect_eq "and no oom_group_kill for plain" "$(grep -c "$(kind oom_group_kill plain)" <<<"$ev")" 0
expect_match "events: oom_group_kill on group, killed whole" "$ev" "$(kind oom_group_kill group)"
expect_match "the child's OOM: oom on group, whose limit was hit" "$ev" "$(kind oom group)"
expect_match "and oom_kill on group/child, whose processes died" "$ev" "$(kind oom_kill group/child)"
expect_eq "and no oom on group/child, whose own limit was not hit" "$(grep -c "$(kind oom group/child)" <<<"$ev")" 0
check "update --oom-group=off" lm update group --oom-group=off
expect_eq "memory.oom.group is 0 again" "$(cat "$ROOT/group/memory.oom.group")" 0
lm destroy -r -f group >/dev/null

# An idle container on a CPU it shares with a normal one gets a sliver;
# alone, it gets the whole CPU.
check "create normal --cpuset 0" lm create normal --cpuset 0
check "create idle --cpuset 0 --cpu-idle" lm create idle --cpuset 0 --cpu-idle
expect_match "show says cpu-idle on" "$(lm show idle)" "^cpu-idle +on +on$"
spawn_in normal spin; PN=$HPID
spawn_in idle spin; PI=$HPID
sleep 1
n0=$(cpu_usec normal); i0=$(cpu_usec idle); sleep 3; n1=$(cpu_usec normal); i1=$(cpu_usec idle)
echo "    sharing CPU 0 for 3 s: normal $(( (n1 - n0) / 1000 )) ms, idle $(( (i1 - i0) / 1000 )) ms"
if [ $((i1 - i0)) -lt $(( (n1 - n0) / 10 )) ] && [ $((n1 - n0)) -gt 1500000 ]; then
        pass "sharing a CPU, the idle container gets under a tenth of the normal one's time"
else
        fail "cpu-idle yields the CPU" "normal $((n1 - n0)) us, idle $((i1 - i0)) us in 3 s"
fi
kill -9 "$PN"
sleep 0.5
i0=$(cpu_usec idle); sleep 2; i1=$(cpu_usec idle)
expect_num "alone on the CPU, the idle container's loop uses all of it (CPU s per s)" \
        "$(awk -v d=$((i1 - i0)) 'BEGIN { printf "%.2f", d / 2e6 }')" 0.75 1.3
kill -9 "$PI"
lm destroy -f normal >/dev/null
lm destroy -f idle >/dev/null

# A burst: a loop that runs in spurts spends saved quota beyond cpu.max.
check "create burst --cpu 0.2 --cpu-burst 20000" lm create burst --cpu 0.2 --cpu-burst 20000
expect_eq "cpu.max.burst is 20000" "$(cat "$ROOT/burst/cpu.max.burst")" 20000
expect_match "show gives the burst (the container's own: no effective value)" "$(lm show burst)" "^cpu-burst +20000 +-$"
lm run -d burst -- sh -c 'while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.25; done' >/dev/null
sleep 5
nb=$(awk '$1 == "nr_bursts" { print $2 }' "$ROOT/burst/cpu.stat")
bu=$(awk '$1 == "burst_usec" { print $2 }' "$ROOT/burst/cpu.stat")
if [ "${nb:-0}" -ge 1 ] && [ "${bu:-0}" -ge 1 ]; then
        pass "the kernel let the container burst past its quota ($nb bursts, $bu us beyond)"
else
        fail "a burst beyond the quota" "nr_bursts ${nb:-?}, burst_usec ${bu:-?}"
fi
lm destroy -f burst >/dev/null

# Memory nodes: the process is held to the nodes given.
check "create mems --cpuset-mems 0" lm create mems --cpuset-mems 0
lm run -d mems -- sleep 1000 >/dev/null
sleep 0.5
pid=$(lm ps mems | awk '/^ *[0-9]/ { print $1; exit }')
expect_eq "the process may allocate on node 0 only" \
        "$(awk '/^Mems_allowed_list/ { print $2 }' "/proc/$pid/status" 2>&1)" 0
expect_match "show gives configured and effective memory nodes" "$(lm show mems)" "^cpuset-mems +0 +0$"
expect_rc 7 "memory nodes do not change under running processes (the kernel would migrate their memory)" \
        lm update mems --cpuset-mems ""
expect_match "the refusal says why" "$ERR" "has processes, whose memory the kernel would migrate"
expect_eq "and cpuset.mems is unchanged" "$(cat "$ROOT/mems/cpuset.mems")" 0
expect_rc 0 "giving the same nodes again is no change, and allowed" lm update mems --cpuset-mems 0
expect_rc 2 "cpu-idle with a cpu-weight is refused (an idle group has none)" lm create both --cpu-idle --cpu-weight 50
expect_match "naming both" "$ERR" "cpu-idle and cpu-weight"
expect_eq "and nothing was created" "$(test -d "$ROOT/both" && echo present || echo absent)" absent

# Kept across a restart: lmctld reads the files back.
lm create keep --oom-group --cpu-idle --cpu 0.5 --cpu-burst 10000 >/dev/null
before=$(limits keep; limits mems)
daemon_stop
daemon_start || exit 0
expect_eq "oom-group, cpu-idle, cpu-burst and cpuset-mems are the same after a restart" "$(limits keep; limits mems)" "$before"
expect_match "and were set" "$(echo "$before" | tr "\n" " ")" "cpu-burst +10000 .*cpu-idle +on +on.*oom-group +on +on.*cpuset-mems +0 +0"
check "a lower quota with a lower burst in one update (the burst goes first)" lm update keep --cpu 0.05 --cpu-burst 1000
expect_eq "cpu.max and cpu.max.burst both changed" "$(cat "$ROOT/keep/cpu.max") $(cat "$ROOT/keep/cpu.max.burst")" "5000 100000 1000"
check "update --cpu-idle=off --cpu-burst 0" lm update keep --cpu-idle=off --cpu-burst 0
expect_eq "cpu.idle is 0" "$(cat "$ROOT/keep/cpu.idle")" 0
expect_eq "cpu.max.burst is 0" "$(cat "$ROOT/keep/cpu.max.burst")" 0
lm destroy keep >/dev/null
lm destroy -f mems >/dev/null
expect_eq "nothing left" "$(lm list)" ""
daemon_stop
