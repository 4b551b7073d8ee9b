#!/bin/bash
# lmct's Debian packages on a system that has never seen lmct, in a VM that
# boots real systemd as init (tests/vm/boot.sh with LMCT_VM_INIT=systemd):
# installed with apt-get and nothing else, used through socket activation
# with limits enforced, upgraded to a newer build (lmctld restarted, every
# container, limit, label and process kept), removed (the service stops,
# the containers' processes run on), installed again (the tree adopted).
#
#   t-package.sh DEBDIR BUILD      (DEBDIR: tests/package/build.sh's OUT)
debs=${1:?usage: t-package.sh DEBDIR BUILD}
export LMCT_BUILD=${2:?usage: t-package.sh DEBDIR BUILD} LMCT_LOGS=${LMCT_LOGS:-/var/tmp/lmct-logs}
. "$(dirname "$0")/../integration/lib.sh"
TD=package
L=/usr/bin/lmctl
SCOPE=/sys/fs/cgroup/system.slice/lmct.scope
export DEBIAN_FRONTEND=noninteractive

apt_install() { apt-get install -y -o Dpkg::Use-Pty=0 "$@" 2>&1 | tee -a "$LOGS/apt.log" | tail -n 3; return "${PIPESTATUS[0]}"; }
prop() { systemctl show -p "$1" --value lmctld.service; }
# What an upgrade and a removal must keep: the tree, limits, labels, and
# the processes in their cgroups.
state() {
        $L list -r
        for c in containerA/sub1 containerA/slow; do
                $L show "$c" | sed -n '/^labels/p; /^LIMIT/,/^USAGE/p'
                echo "$c: $(sort "$SCOPE/$c/_self/cgroup.procs" 2>/dev/null | tr '\n' ' ')"
        done
}
# CPU share of container NAME over 2 s, from the kernel's cpu.stat.
cpu_share() {
        local u0 u1 t0 t1
        u0=$(awk '$1 == "usage_usec" { print $2 }' "$SCOPE/$1/cpu.stat"); t0=$(now_usec)
        sleep 2
        u1=$(awk '$1 == "usage_usec" { print $2 }' "$SCOPE/$1/cpu.stat"); t1=$(now_usec)
        awk -v u=$((u1 - u0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", u / t }'
}

# A system that has never seen lmct. The VM boots this machine's root,
# which may be a container image whose /usr/sbin/policy-rc.d (Docker's)
# forbids maintainer scripts to start services; a Debian host has none, so
# the VM's copy goes (in its tmpfs overlay, not on this machine).
rm -f /usr/sbin/policy-rc.d
# man-db's trigger rebuilds its index after every dpkg run, reading every
# manual page of this machine through the VM's 9p under emulation: a
# minute each time. man finds pages without that index, so the VM skips it
# (Debian's own switch, debconf's man-db/auto-update).
rm -f /var/lib/man-db/auto-update
expect_eq "no lmct package was ever installed here" "$(dpkg-query -W -f='${db:Status-Status}' lmct 2>&1 | grep -c '^installed$')" 0
expect_eq "nor its group" "$(getent group lmct)" ""

# Installed as the README says, with nothing else.
check "apt-get install ./lmct_*.deb ./liblmct0_*.deb" apt_install "$debs"/lmct_*_amd64.deb "$debs"/liblmct0_*_amd64.deb
expect_eq "the package created the group lmct (sysusers)" "$(getent group lmct | cut -d: -f1)" lmct
expect_eq "lmctld.socket is enabled" "$(systemctl is-enabled lmctld.socket)" enabled
expect_eq "and listening" "$(systemctl is-active lmctld.socket)" active
expect_eq "the socket is root:lmct, mode 0660" "$(stat -c '%a %U %G' /run/lmct/lmctld.sock 2>&1)" "660 root lmct"
expect_eq "lmctld itself waits for the first request" "$(systemctl is-active lmctld.service)" inactive
expect_rc 0 "lmctl create containerA/sub1 --cpu 6 -p (the first request starts lmctld)" \
        $L create containerA/sub1 --cpu 6 -p
expect_eq "lmctld was started by its socket" "$(systemctl is-active lmctld.service)" active
expect_match "and shows the limit" "$($L show containerA/sub1)" "cpu +6 "
expect_match "man lmctl finds the packaged page" "$(MANPAGER=cat MANWIDTH=80 man lmctl 2>&1 | head -n 5)" "lmctl - "
expect_eq "bash completes lmctl's verbs from the packaged file" \
        "$(bash --norc -c '. /usr/share/bash-completion/bash_completion; __load_completion lmctl
                COMP_WORDS=(lmctl cre); COMP_CWORD=1; _lmctl lmctl cre lmctl; echo "${COMPREPLY[*]}"' 2>&1)" create

# Limits, enforced: a busy loop at 0.2 CPU, a workload past 16 MiB.
check "a container with a CPU limit and a label" $L create containerA/slow --cpu 0.2 --label tier=batch
check "a detached busy loop in it" $L run -d containerA/slow -- sh -c 'while :; do :; done'
expect_num "the busy loop gets about 0.2 CPU" "$(cpu_share containerA/slow)" 0.1 0.3
check "a container with a memory limit" $L create containerA/mem --memory 16M --swap 0
expect_rc 137 "a workload past 16 MiB is killed (lmctl run exits 128+9)" \
        $L run containerA/mem -- sh -c 'x=lmct; while :; do x="$x$x"; done'
expect_match "by the kernel's OOM killer" "$(cat "$SCOPE/containerA/mem/memory.events")" "oom_kill [1-9]"
$L destroy containerA/mem >/dev/null
sleep 100000 &
SP=$!
BG_PIDS+=("$SP")
check "a process enters containerA/sub1" $L enter containerA/sub1 "$SP"
check "a label on containerA/sub1" $L update containerA/sub1 --label job=web

# The other two packages: the C API with its headers, the Python package.
check "apt-get install ./liblmct-dev_*.deb ./python3-lmct_*.deb" \
        apt_install "$debs"/liblmct-dev_*_amd64.deb "$debs"/python3-lmct_*_all.deb
if cc -o /var/tmp/agent "$(dirname "$0")/../native/agent-example.c" $(pkg-config --cflags --libs liblmct) \
        >"$LOGS/agent-cc.log" 2>&1; then
        pass "an agent compiles against the packaged liblmct (pkg-config)"
else
        fail "an agent compiles against the packaged liblmct" "$(head -n 3 "$LOGS/agent-cc.log")"
fi
expect_rc 0 "and runs with the packaged shared library" /var/tmp/agent /run/lmct/lmctld.sock agents/a1
expect_eq "the packaged Python package speaks to lmctld" \
        "$(cd / && /usr/bin/python3 -c 'import lmct; c = lmct.Client(); print(c.list("containerA"), c.version().protocol)' 2>&1)" \
        "['containerA/slow', 'containerA/sub1'] 1"
$L destroy -r agents >/dev/null 2>&1

before=$(state)
expect_match "the state to keep holds the process" "$before" "^containerA/sub1: $SP $"
expect_match "the busy loop" "$before" "^containerA/slow: [0-9]+ $"
expect_match "and the labels" "$before" "^labels +tier=batch$"

# Upgrade to a newer build: lmctld restarts, nothing else moves.
pid1=$(prop MainPID)
check "apt-get install of a newer build of the four (upgrade)" apt_install "$debs"/next/lmct_*_amd64.deb \
        "$debs"/next/liblmct0_*_amd64.deb "$debs"/next/liblmct-dev_*_amd64.deb "$debs"/next/python3-lmct_*_all.deb
expect_match "the newer version is installed" "$(dpkg-query -W -f='${Version}' lmct)" '\+rebuild1$'
expect_eq "lmctld runs after the upgrade" "$(systemctl is-active lmctld.service)" active
pid2=$(prop MainPID)
[ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] && pass "and it is a new lmctld (pid $pid1, then $pid2)" ||
        fail "the upgrade restarts lmctld" "pid $pid1, then $pid2"
expect_eq "every container, limit, label and process is in place after the upgrade" "$(state)" "$before"
expect_num "the busy loop is still held to 0.2 CPU" "$(cpu_share containerA/slow)" 0.1 0.3

# Removal: the service goes, the containers' processes stay.
check "apt-get remove lmct" apt-get remove -y -o Dpkg::Use-Pty=0 lmct
expect_eq "lmctld is stopped" "$(systemctl is-active lmctld.service)" inactive
expect_eq "its socket too" "$(systemctl is-active lmctld.socket)" inactive
expect_eq "lmctl is gone" "$(test -e $L && echo present || echo gone)" gone
kill -0 "$SP" 2>/dev/null && pass "the containers' processes run on" || fail "processes outlive the removal" "gone"
expect_eq "in their container" "$(cat "$SCOPE/containerA/sub1/_self/cgroup.procs")" "$SP"
expect_num "the busy loop still runs, still held to 0.2 CPU" "$(cpu_share containerA/slow)" 0.1 0.3

# Installed again: lmctld adopts the tree.
check "apt-get install again" apt_install "$debs"/next/lmct_*_amd64.deb
expect_eq "every container, limit, label and process is there again" "$(state)" "$before"

# Cleaning up: no container is left, and the packages are purged.
check "destroy everything" $L destroy -r -f containerA
expect_eq "nothing is left" "$($L list)" ""
check "apt-get purge" apt-get purge -y -o Dpkg::Use-Pty=0 lmct liblmct0 liblmct-dev python3-lmct
expect_eq "no lmct package remains" "$(dpkg-query -W -f='${db:Status-Status}\n' lmct liblmct0 liblmct-dev python3-lmct 2>/dev/null | grep -c '^installed$')" 0
expect_eq "nor a file of the Python package (its bytecode included)" \
        "$(ls -A /usr/lib/python3/dist-packages/lmct 2>&1 | head -n 3)" \
        "ls: cannot access '/usr/lib/python3/dist-packages/lmct': No such file or directory"
