#!/bin/bash
# The cost of --memory-above: a private lmctld on MOUNT/lmct-thr-PID, one
# container with a memory limit, then bench-threshold. Leaves nothing behind.
#   tests/bench/bench-threshold.sh BUILD MOUNT [N] [SECONDS] [ROUNDS]
set -u
build=$1 mount=$2
root=$mount/lmct-thr-$$
sock=/run/lmct-thr-$$.sock
echo "+cpu +memory +pids +io +cpuset" > "$mount/cgroup.subtree_control" 2>/dev/null
"$build/daemon/lmctld" --socket "$sock" --cgroup-root "$root" --quiet &
dpid=$!
L() { "$build/client/lmctl" -s "$sock" "$@"; }
for _ in $(seq 1 100); do L version >/dev/null 2>&1 && break; sleep 0.05; done
L create t --memory 64M >/dev/null
"$build/tests/bench-threshold" "$sock" "$dpid" "$root/t" t "${3:-64}" "${4:-5}" "${5:-3}"
rc=$?
L destroy t >/dev/null
kill "$dpid"; wait "$dpid"
rmdir "$root" 2>/dev/null
exit $rc
