#!/bin/bash
# /metrics with 1,000 containers: a private lmctld on MOUNT/lmct-metrics-PID
# serving metrics on loopback, then bench-metrics.py. Leaves nothing behind.
#   tests/bench/bench-metrics.sh BUILD MOUNT [--limits | --model]
# --model adds a disk's io.max and a hugetlb bound to each container, so
# that the per-disk and per-page-size series have files to read (in the
# test VM, whose disk is /dev/vda).
set -u
build=$1 mount=$2
root=$mount/lmct-metrics-$$
sock=/run/lmct-metrics-$$.sock
port=$((9300 + $$ % 500))
here=$(cd "$(dirname "$0")" && pwd)
limits=()
if [ "${3:-}" = --limits ] || [ "${3:-}" = --model ]; then
        limits=(--cpu 0.5 --memory 64M --pids 100)
        [ "$3" = --model ] && limits+=(--io-max /dev/vda:rbps=100M --hugetlb 2MB=max)
        echo "+cpu +memory +pids +io +cpuset +hugetlb" > "$mount/cgroup.subtree_control" 2>/dev/null
        ip link set lo up 2>/dev/null
fi
"$build/daemon/lmctld" --socket "$sock" --cgroup-root "$root" --quiet --metrics-listen "127.0.0.1:$port" &
dpid=$!
L() { "$build/client/lmctl" -s "$sock" "$@"; }
for _ in $(seq 1 100); do L version >/dev/null 2>&1 && break; sleep 0.05; done
for g in $(seq 1 10); do
        L create "g$g" >/dev/null
        for i in $(seq 1 99); do L create "g$g/c$i" "${limits[@]}" >/dev/null; done
done
/usr/bin/python3 "$here/bench-metrics.py" "$port" "$root" 20 "$sock"
rc=$?
for g in $(seq 1 10); do L destroy -r "g$g" >/dev/null; done
kill "$dpid"; wait "$dpid"
rmdir "$root" 2>/dev/null
exit $rc
