#!/bin/bash
# One benchmark run: a private lmctld on MOUNT/lmct-bench-PID, then
# bench-create against it. Leaves nothing behind.
#   tests/bench/bench-one.sh BUILD MOUNT [--no-limits]
set -u
build=$1 mount=$2
shift 2
root=$mount/lmct-bench-$$
sock=/run/lmct-bench-$$.sock
if [ "$mount" = /sys/fs/cgroup ] && [ -f /sys/fs/cgroup/cgroup.subtree_control ] && [ -n "${LMCT_IN_VM:-}" ]; then
        echo "+cpu +memory +pids +io +cpuset" > /sys/fs/cgroup/cgroup.subtree_control
fi
"$build/daemon/lmctld" --socket "$sock" --cgroup-root "$root" --quiet &
dpid=$!
for _ in $(seq 1 100); do "$build/client/lmctl" -s "$sock" version >/dev/null 2>&1 && break; sleep 0.05; done
"$build/tests/bench-create" --socket "$sock" --cgroup-root "$root" --iterations "${LMCT_BENCH_ITERATIONS:-300}" \
        --scale 10000 --daemon-pid "$dpid" "$@"
rc=$?
kill "$dpid"; wait "$dpid"
rmdir "$root" 2>/dev/null
exit $rc
