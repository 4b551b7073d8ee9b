#!/bin/bash
# Runs lmct's integration suite against real cgroup v2, once per build
# directory given (a plain and a sanitizer build). Meant to run as root in
# the test VM (tests/vm/boot.sh) or on a host whose cgroup v2 hierarchy has
# the cpu, memory, pids, io, cpuset and hugetlb controllers.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cg=${LMCT_CGROUP_MOUNT:-/sys/fs/cgroup}

if ! grep -qw memory "$cg/cgroup.controllers" 2>/dev/null || ! grep -qw cpu "$cg/cgroup.controllers"; then
        echo "FAIL: setup: $cg offers no cpu and memory controllers: $(cat "$cg/cgroup.controllers" 2>&1)"
        exit 1
fi
# Delegate the controllers to the subtree, as systemd's Delegate= would.
if ! echo "+cpu +memory +pids +io +cpuset +hugetlb" > "$cg/cgroup.subtree_control"; then
        echo "FAIL: setup: cannot enable controllers in $cg/cgroup.subtree_control"
        exit 1
fi
ulimit -c 0
for build in "$@"; do
        variant=$(basename "$build")
        export LMCT_BUILD=$build LMCT_VARIANT=$variant LMCT_LOGS=/tmp/lmct-logs/$variant
        rm -rf "$LMCT_LOGS"
        mkdir -p "$LMCT_LOGS"
        echo "== integration suite with $build"
        for t in "$here"/t-*.sh; do
                name=$(basename "$t" .sh)
                bash "$t" | tee "$LMCT_LOGS/out-$name.txt"
                # A failure shows the daemon's side of it.
                if grep -q '^FAIL: ' "$LMCT_LOGS/out-$name.txt" && [ -f "$LMCT_LOGS/lmctld-$name.log" ]; then
                        echo "--- last lines of lmctld's log for $name:"
                        tail -n 40 "$LMCT_LOGS/lmctld-$name.log" | sed 's/^/    /'
                fi
        done
        ASAN_OPTIONS="log_path=$LMCT_LOGS/asan.proto" UBSAN_OPTIONS="log_path=$LMCT_LOGS/ubsan.proto:print_stacktrace=1" \
                "$build/tests/lmct-proto-test" "$build" "$variant" "$cg"
        reports=$(ls "$LMCT_LOGS"/asan.* "$LMCT_LOGS"/ubsan.* 2>/dev/null)
        if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" "$LMCT_LOGS"/*.log 2>/dev/null; then
                reports="$reports $(grep -lE "AddressSanitizer|runtime error|LeakSanitizer" "$LMCT_LOGS"/*.log)"
        fi
        if [ -z "$reports" ]; then
                echo "PASS: $variant: no sanitizer report from lmctld or the test programs"
        else
                echo "FAIL: $variant: sanitizer reports: $reports"
                head -n 40 $reports
        fi
done
exit 0
