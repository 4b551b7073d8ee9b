#!/bin/bash
# The resource model's benchmark in the test VM: a private lmctld on
# MOUNT/lmct-bench-PID, then bench-model against it, with the VM's disk.
# Leaves nothing behind.
#   tests/bench/bench-model.sh BUILD MOUNT
set -u
build=$1 mount=$2
root=$mount/lmct-bench-$$
sock=/run/lmct-bench-$$.sock
if [ -n "${LMCT_IN_VM:-}" ] || [ -e /dev/vda ]; then
        echo "+cpu +memory +pids +io +cpuset +hugetlb" > "$mount/cgroup.subtree_control"
fi
[ -b /dev/vda ] || { echo "bench-model: no /dev/vda (run it in the test VM)" >&2; exit 1; }
disk=$(printf '%d:%d' "0x$(stat -c %t /dev/vda)" "0x$(stat -c %T /dev/vda)")
"$build/daemon/lmctld" --socket "$sock" --cgroup-root "$root" --quiet &
dpid=$!
for _ in $(seq 1 100); do "$build/client/lmctl" -s "$sock" version >/dev/null 2>&1 && break; sleep 0.05; done
"$build/tests/bench-model" --socket "$sock" --cgroup-root "$root" --disk "$disk" \
        --iterations "${LMCT_BENCH_ITERATIONS:-200}"
rc=$?
kill "$dpid"; wait "$dpid"
rmdir "$root" 2>/dev/null
exit $rc
