#!/bin/bash
# The Go client (go/lmct) against a real lmctld: its go tests, built by
# meson into BUILD/go/lmct.test (every one must run: a skip fails), and the
# example node agent, which makes a pod, runs a workload into its OOM kill
# and cleans up.
. "$(dirname "$0")/lib.sh"
if [ ! -x "$BUILD/go/lmct.test" ] || [ ! -x "$BUILD/go/nodeagent" ]; then
        fail "the Go client's binaries" "$BUILD/go/lmct.test or nodeagent was not built (meson -Dgo=enabled)"
        exit 0
fi
daemon_start || exit 0

# go test, as its -test.v reports each test.
out=$(cd "$(dirname "$0")/../../go/lmct" && LMCT_SOCKET=$SOCK timeout 300 "$BUILD/go/lmct.test" -test.v -test.count=1 2>&1)
rc=$?
echo "$out" > "$LOGS/go-test-$T.txt"
while read -r verdict name; do
        case "$verdict" in
        PASS:) pass "go test: $name" ;;
        # What the test said: its lines from its RUN to its FAIL (go test
        # -v prints a test's messages as they come, before its verdict).
        FAIL:) fail "go test: $name" "$(awk -v n="$name" '$1 == "===" && $2 == "RUN" { on = ($3 == n) }
                on && $1 != "===" && $1 != "---" { print }' <<<"$out" | head -n 8 | tr '\n' ' ')" ;;
        SKIP:) fail "go test: $name" "skipped with an lmctld to test against" ;;
        esac
done <<<"$(awk '$1 == "---" && $2 ~ /^(PASS|FAIL|SKIP):$/ { print $2, $3 }' <<<"$out")"
expect_eq "go test exits 0" "$rc" 0
expect_match "every test against lmctld ran" "$(grep -c -- '--- PASS: TestDaemon' <<<"$out")" '^([7-9]|[1-9][0-9])$'
expect_match "the CPU limit test measured a throttled share" "$(grep 'CPU share' <<<"$out")" 'CPU share 0\.[0-2]'
expect_eq "the go tests left nothing behind" "$(lm list)" ""

# The example node agent.
expect_rc 0 "the example node agent runs to the end" env LMCT_SOCKET="$SOCK" timeout 120 "$BUILD/go/nodeagent" -pod pod-a -memory $((24 << 20))
echo "$OUT" | sed 's/^/    /'
expect_match "it made the pod with its labels and limits" "$OUT" \
        "^created \[pod-a\] with \[pod-a/app pod-a/sidecar\]: pod-a/app memory.max $((24 << 20)), cpu 1000 millis"
expect_match "it saw the kernel's OOM kill of the workload" "$OUT" '^event: oom_kill pod-a/app'
expect_match "the workload ended by SIGKILL" "$OUT" '^pod-a/app ended: exited true, signal 9$'
expect_match "memory.events counted it" "$OUT" '^pod-a/app memory.events oom_kill [1-9]'
expect_match "the sidecar outlived its sibling's OOM" "$OUT" '^pod-a/sidecar ended: signal 15$'
expect_match "it cleaned up" "$OUT" '^destroyed pod-a$'
expect_eq "nothing left in lmctld" "$(lm list)" ""
expect_eq "nothing left in the cgroup tree" "$(tree_snapshot)" ""
daemon_alive && pass "lmctld still answers" || fail "lmctld still answers" "gone"
daemon_stop
