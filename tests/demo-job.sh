#!/bin/bash
# lmct's main job, as an operator would type it, then proof that the limits
# hold on the running kernel. Runs as root on a cgroup v2 hierarchy with the
# cpu and memory controllers (in the test VM, or natively).
#   tests/demo-job.sh BUILD-DIR
set -u
build=$1
cg=/sys/fs/cgroup
root=$cg/lmct-demo
sock=/run/lmct-demo.sock
helper=$build/tests/lmct-test-helper
export LMCT_SOCKET=$sock
PATH=$build/client:$build/daemon:$PATH

say() { printf '\n$ %s\n' "$*"; "$@"; }
cpu_usec() { awk '$1 == "usage_usec" { print $2 }' "$root/$1/cpu.stat"; }
cpus_used() {
        local u0 w0 u1 w1
        u0=$(cpu_usec "$1"); w0=$(date +%s%N)
        sleep "$2"
        u1=$(cpu_usec "$1"); w1=$(date +%s%N)
        awk -v du=$((u1 - u0)) -v dw=$(((w1 - w0) / 1000)) 'BEGIN { printf "%.2f", du / dw }'
}

# The cgroup root is delegated to lmctld as systemd's Delegate= would.
[ "$cg" = /sys/fs/cgroup ] && echo "+cpu +memory +pids +io +cpuset" > $cg/cgroup.subtree_control 2>/dev/null
lmctld --cgroup-root "$root" --quiet &
dpid=$!
for _ in $(seq 1 100); do lmctl version >/dev/null 2>&1 && break; sleep 0.05; done
trap 'lmctl destroy -r -f containerA >/dev/null 2>&1; lmctl destroy -r -f containerB >/dev/null 2>&1; kill $dpid; wait $dpid; rmdir $root 2>/dev/null' EXIT

echo "lmctld is serving $sock for $root"
say lmctl create containerA --cpu 10 --memory 4G
say lmctl create containerA/sub1 --cpu 6
say lmctl create containerA/sub2 --cpu 6
say lmctl show containerA/sub1
say lmctl list -r
say cat "$root/containerA/sub1/cpu.max"

echo
echo "== Do the limits hold? (measured on this kernel, $(nproc) CPUs)"
say lmctl update containerA/sub1 --cpu 0.5
"$helper" -w /lmct-demo/containerA/sub1/_self spin & s1=$!
lmctl enter containerA/sub1 $s1
echo "a busy loop in containerA/sub1 (--cpu 0.5) uses $(cpus_used containerA/sub1 3) CPUs"
kill -9 $s1; wait $s1 2>/dev/null
say lmctl update containerA --cpu 1
say lmctl update containerA/sub1 --cpu 0.8
say lmctl update containerA/sub2 --cpu 0.8
"$helper" -w /lmct-demo/containerA/sub1/_self spin & s1=$!
"$helper" -w /lmct-demo/containerA/sub2/_self spin & s2=$!
lmctl enter containerA/sub1 $s1; lmctl enter containerA/sub2 $s2
echo "busy loops in sub1 and sub2 (0.8 CPUs each) under containerA (1 CPU) use $(cpus_used containerA 3) CPUs together"
say lmctl show containerA/sub1
kill -9 $s1 $s2; wait $s1 $s2 2>/dev/null

say lmctl create containerB --memory 64M --swap 0
say lmctl create containerB/child --memory 256M
"$helper" -w /lmct-demo/containerB/child/_self alloc 128 & a=$!
lmctl enter containerB/child $a
wait $a 2>/dev/null; rc=$?
echo "touching 128M in containerB/child (allowed 256M, parent 64M): exit status $rc$([ $rc = 137 ] && echo ' (OOM-killed: the parent caps the child)')"
say lmctl destroy -r -f containerA
say lmctl destroy -r containerB

echo
echo "== The runtime in one line: create, run, remove"
say lmctl run --rm job1 --cpu 0.5 --memory 64M --isolate pid,uts --hostname job1 -- \
        sh -c 'echo "I am pid $$ on $(hostname), in cgroup $(cat /proc/self/cgroup)"; exit 3'
echo "(exit status $?)"
say lmctl list
