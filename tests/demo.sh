#!/bin/bash
# Quick start, step one: installs what is missing, builds, starts lmctld and
# runs the main job, showing that the limits hold. Natively when this host's
# cgroup v2 hierarchy has the cpu and memory controllers; otherwise in a
# throwaway VM with a pure cgroup v2 hierarchy.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
tests/setup.sh
if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
        echo "This host's cgroup v2 hierarchy has the controllers: running natively."
        exec tests/demo-job.sh "$top/build"
fi
echo "This host's cgroup v2 hierarchy lacks the cpu and memory controllers (they are bound to"
echo "cgroup v1 here), so the main job runs in a throwaway VM with a pure cgroup v2 hierarchy."
tests/vm/boot.sh "$top/build/vm" "$top/tests/demo-job.sh" "$top/build" | sed -n '/^lmctld is serving/,/^LMCT-VM-EXIT/p' | grep -v '^LMCT-VM-EXIT'
