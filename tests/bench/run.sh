#!/bin/bash
# Runs the create/update/destroy benchmark natively (on this host's cgroup
# v2 hierarchy; structure only where its controllers are bound to v1) and
# in the test VM (with limits), each with 10,000 containers for list -r and
# lmctld's resident memory. A benchmark, not a test: it prints figures.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
tests/setup.sh >/dev/null
echo "== natively on this host"
tests/bench/bench-one.sh "$top/build" "${LMCT_BENCH_NATIVE_MOUNT:-/sys/fs/cgroup/unified}" --no-limits
tests/bench/bench-run-one.sh "$top/build" "${LMCT_BENCH_NATIVE_MOUNT:-/sys/fs/cgroup/unified}"
echo
echo "== in the test VM (pure cgroup v2, QEMU software emulation)"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-one.sh" "$top/build" /sys/fs/cgroup |
        sed -n "/^lmct benchmark/,/^lmctld resident/p"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-run-one.sh" "$top/build" /sys/fs/cgroup |
        sed -n "/^starting/,/crun/p"
echo
echo "== /metrics with 1,000 containers, natively (structure only) and in the test VM (with limits)"
tests/bench/bench-metrics.sh "$top/build" "${LMCT_BENCH_NATIVE_MOUNT:-/sys/fs/cgroup/unified}"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-metrics.sh" "$top/build" /sys/fs/cgroup --limits |
        grep '^metrics:'
echo "   and with a disk's io.max and a hugetlb bound on each (the per-disk and per-page-size series read)"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-metrics.sh" "$top/build" /sys/fs/cgroup --model |
        grep '^metrics:'
echo
echo "== the resource model: a create with every kind of limit issue 13 added, and a change of device rules, against the same syscalls, in the test VM"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-model.sh" "$top/build" /sys/fs/cgroup | grep '^model:'
echo
echo "== --memory-above: lmctld's cost per threshold reading against the same preads, in the test VM"
tests/vm/boot.sh "$top/build/vm" "$top/tests/bench/bench-threshold.sh" "$top/build" /sys/fs/cgroup 128 10 3 |
        grep '^threshold:'
