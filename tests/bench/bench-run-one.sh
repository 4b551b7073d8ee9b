#!/bin/bash
# One run-benchmark: a private lmctld on MOUNT/lmct-benchrun-PID, a busybox
# bundle made with lmctl spec, then bench-run (with crun when it works here).
#   tests/bench/bench-run-one.sh BUILD MOUNT
set -u
build=$1 mount=$2
root=$mount/lmct-benchrun-$$
sock=/run/lmct-benchrun-$$.sock
work=$(mktemp -d /tmp/lmct-benchrun.XXXXXX)
if [ "$mount" = /sys/fs/cgroup ] && [ -n "${LMCT_IN_VM:-}" ]; then
        echo "+cpu +memory +pids +io +cpuset" > /sys/fs/cgroup/cgroup.subtree_control
fi
mkdir -p "$work/b/rootfs/bin"
cp /bin/busybox "$work/b/rootfs/bin/"
ln -s busybox "$work/b/rootfs/bin/true"
"$build/client/lmctl" spec "$work/b"
sed -i 's|"sh"|"/bin/true"|' "$work/b/config.json"
"$build/daemon/lmctld" --socket "$sock" --cgroup-root "$root" --quiet &
dpid=$!
for _ in $(seq 1 100); do "$build/client/lmctl" -s "$sock" version >/dev/null 2>&1 && break; sleep 0.05; done
crun_flag=
crun --root "$work/crun" run -b "$work/b" probe >/dev/null 2>&1 && crun_flag=--crun
"$build/tests/bench-run" --lmctl "$build/client/lmctl" --socket "$sock" --cgroup-root "$root" \
        --bundle "$work/b" $crun_flag --iterations "${LMCT_BENCH_ITERATIONS:-100}"
rc=$?
[ -n "$crun_flag" ] || echo "  (crun cannot run here: on a hybrid host it refuses cgroup v2 without controllers)"
kill "$dpid"; wait "$dpid"
rmdir "$root" 2>/dev/null
rm -rf "$work"
exit $rc
