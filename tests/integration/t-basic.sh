#!/bin/bash
# The sentence lmct is built around, and every verb once.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

expect_rc 0 "create containerA --cpu 10 --memory 4G" lm create containerA --cpu 10 --memory 4G
expect_rc 0 "create containerA/sub1 --cpu 6" lm create containerA/sub1 --cpu 6
expect_rc 0 "create containerA/sub2 --cpu 6 (6 + 6 > 10 is allowed)" lm create containerA/sub2 --cpu 6
expect_eq "containerA/sub1 is the cgroup <root>/containerA/sub1 with cpu.max 600000 100000" \
        "$(cat "$ROOT/containerA/sub1/cpu.max")" "600000 100000"
expect_eq "containerA's memory.max is 4G" "$(cat "$ROOT/containerA/memory.max")" "4294967296"

expect_rc 0 "show containerA/sub1" lm show containerA/sub1
expect_match "show: cpu configured 6, effective 6" "$OUT" '^cpu +6 +6$'
expect_match "show: no memory limit here, effective 4G from the parent" "$OUT" '^memory +- +4G$'
expect_match "show: usage now" "$OUT" '^cpu time '

lm update containerA --cpu 4 >/dev/null
expect_rc 0 "show --json after the parent drops to 4 CPUs" lm show --json containerA/sub1
expect_match "json: configured cpu 6" "$(echo "$OUT" | tr -d '\n ')" '"configured":\{[^}]*"cpu":6(\.0)?[,}]'
expect_match "json: effective cpu 4 (capped by the parent)" "$(echo "$OUT" | tr -d '\n ')" '"effective":\{[^}]*"cpu":4(\.0)?[,}]'

expect_rc 0 "list" lm list
expect_eq "list shows top-level containers" "$OUT" "containerA"
expect_rc 0 "list -r" lm list -r
expect_eq "list -r shows the subtree" "$(echo $OUT)" "containerA containerA/sub1 containerA/sub2"
expect_rc 0 "list --json containerA" lm --json list containerA
expect_eq "list --json" "$OUT" '["containerA/sub1","containerA/sub2"]'

expect_rc 0 "update --memory-high only" lm update containerA/sub1 --memory-high 512M
expect_eq "update changed memory.high" "$(cat "$ROOT/containerA/sub1/memory.high")" "536870912"
expect_eq "update left cpu.max alone" "$(cat "$ROOT/containerA/sub1/cpu.max")" "600000 100000"
expect_rc 0 "update --cpu max removes the CPU limit" lm update containerA/sub1 --cpu max
expect_eq "cpu.max is max" "$(cat "$ROOT/containerA/sub1/cpu.max")" "max 100000"
expect_rc 0 "update with every limit" lm update containerA/sub2 --cpu 0.5 --cpu-period 50000 --cpu-weight 200 \
        --cpuset 0 --memory 1G --memory-high 900M --memory-low 10M --memory-min 5M --swap 0 --pids 100 --io-weight 50
expect_eq "cpu.max with a period" "$(cat "$ROOT/containerA/sub2/cpu.max")" "25000 50000"
expect_eq "cpu.weight" "$(cat "$ROOT/containerA/sub2/cpu.weight")" "200"
expect_eq "cpuset.cpus" "$(cat "$ROOT/containerA/sub2/cpuset.cpus")" "0"
expect_eq "memory.low" "$(cat "$ROOT/containerA/sub2/memory.low")" "10485760"
expect_eq "memory.min" "$(cat "$ROOT/containerA/sub2/memory.min")" "5242880"
expect_eq "memory.swap.max" "$(cat "$ROOT/containerA/sub2/memory.swap.max")" "0"
expect_eq "pids.max" "$(cat "$ROOT/containerA/sub2/pids.max")" "100"
expect_match "io.weight" "$(cat "$ROOT/containerA/sub2/io.weight")" '^default 50$'
expect_rc 0 "update --cpu-period alone keeps the CPUs" lm update containerA/sub2 --cpu-period 100000
expect_eq "cpu.max rescaled" "$(cat "$ROOT/containerA/sub2/cpu.max")" "50000 100000"

expect_rc 0 "create -p makes missing parents" lm create -p deep/er/est --pids 10
expect_eq "the parents exist, unlimited" "$(cat "$ROOT/deep/pids.max")" "max"
expect_eq "the leaf has its limit" "$(cat "$ROOT/deep/er/est/pids.max")" "10"
expect_rc 0 "a leading / names the same container" lm show /deep/er/est

"$HELPER" -w "/lmct-test-$T-$$/containerA/_self" spin & SP=$!; BG_PIDS+=("$SP")
expect_rc 0 "enter moves a process into containerA" lm enter containerA "$SP"
expect_eq "/proc/PID/cgroup shows the container's leaf" "$(cat /proc/$SP/cgroup)" "0::/lmct-test-$T-$$/containerA/_self"
expect_rc 0 "detect" lm detect "$SP"
expect_eq "detect names containerA" "$OUT" "containerA"
expect_rc 0 "ps containerA" lm ps containerA
expect_eq "ps lists the process" "$OUT" "$SP"
expect_rc 0 "ps -r --json" lm ps -r --json containerA
expect_eq "ps -r --json" "$OUT" "[{\"pid\":$SP,\"container\":\"containerA\"}]"
expect_rc 0 "list hides the leaf" lm list containerA
expect_eq "no _self in the listing" "$(echo $OUT)" "containerA/sub1 containerA/sub2"
expect_rc 0 "a container holds processes and subcontainers at once" lm create containerA/sub3 --memory 100M
expect_rc 0 "kill -s STOP" lm kill containerA -s STOP
sleep 0.2
expect_match "the process is stopped" "$(awk '{print $3}' /proc/$SP/stat)" '^[Tt]$'
expect_rc 0 "kill -s CONT" lm kill containerA -s CONT
expect_rc 0 "kill (SIGKILL through cgroup.kill)" lm kill containerA
sleep 0.5
if kill -0 "$SP" 2>/dev/null && [ "$(awk '{print $3}' /proc/$SP/stat)" != Z ]; then
        fail "the killed process is gone" "pid $SP still runs"
else
        pass "the killed process is gone"
fi
wait "$SP" 2>/dev/null

expect_rc 0 "version" lm version
expect_match "version reports protocol 1" "$OUT" '^protocol +1$'
expect_match "version reports the controllers" "$OUT" 'cpu.*memory.*pids'

expect_rc 0 "destroy -r removes a subtree" lm destroy -r containerA
expect_eq "the cgroups are gone" "$(test -d "$ROOT/containerA" && echo present || echo gone)" "gone"
expect_rc 0 "destroy a leaf container" lm destroy deep/er/est
expect_rc 0 "destroy -r deep" lm destroy -r deep
expect_eq "nothing left" "$(tree_snapshot)" ""
daemon_stop
