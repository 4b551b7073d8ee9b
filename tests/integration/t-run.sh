#!/bin/bash
# run and exec: commands started inside containers, observed from inside
# and outside on the real kernel.
. "$(dirname "$0")/lib.sh"
daemon_start --log-dir "$LOGS/detached-$$" || exit 0
lm create c >/dev/null

expect_eq "run's stdout is the caller's pipe: echo hi | wc -c" "$(lm run c -- sh -c 'echo hi' | wc -c)" 3
expect_eq "stdin reaches the command" "$(echo hello | lm run c -- tr a-z A-Z)" HELLO
expect_rc 0 "exit status 0" lm run c -- true
expect_rc 3 "exit status 3" lm run c -- sh -c 'exit 3'
expect_rc 127 "a command that does not exist: 127" lm run c -- no-such-command-here
expect_match "and a message, as shells give" "$ERR" '^lmctl: run c: no-such-command-here: command not found$'
expect_rc 126 "a command that is not executable: 126" lm run c -- /etc/hostname
expect_eq "the command starts in the container's leaf, never elsewhere" \
        "$(lm run c -- cat /proc/self/cgroup)" "0::/lmct-test-$T-$$/c/_self"
expect_eq "it starts in the caller's directory by default" "$(cd /usr/share && lm run c -- pwd)" /usr/share
expect_eq "--cwd and -e" "$(lm run c --cwd /etc -e FOO=bar -- sh -c 'echo $PWD $FOO')" "/etc bar"
expect_eq "--user runs as that uid and gid" "$(lm run c --user 65534:65534 -- sh -c 'id -u; id -g' | tr '\n' ' ')" "65534 65534 "

# The command leads a session of its own: "kill 0" inside (a common shell
# idiom) reaches the command's own group, never lmctld's.
expect_eq "the command leads its own session and process group" \
        "$(lm run c -- sh -c 'read -r pid comm state ppid pgrp sid rest < /proc/self/stat; echo $((pid == pgrp && pid == sid))')" 1
expect_rc 143 "kill 0 inside ends the command (143)" lm run c -- sh -c 'kill 0; sleep 5'
check "and lmctld lives on" kill -0 "$DPID"
check "and answers" lm version

# A kill from outside: 137.
(sleep 1; lm kill c -s KILL) & KP=$!
expect_rc 137 "a command killed with lmctl kill -s KILL: 137" lm run c -- sleep 30
wait "$KP"

# Ctrl-C or SIGTERM to lmctl reaches the command. A background job of a
# script starts with SIGINT ignored: give lmctl the default, as a terminal would.
running_in() { for _ in $(seq 1 100); do [ -n "$(lm ps "$1")" ] && return 0; sleep 0.1; done; return 1; }
# (lm is a function: in the background it would be a subshell; call lmctl itself.)
"$LMCTL" -s "$SOCK" run c -- sh -c 'trap "echo got TERM; exit 7" TERM; sleep 30 & wait' > "$LOGS/trap.$$" &
LP=$!
running_in c; sleep 0.5
kill -TERM "$LP"
wait "$LP"; rc=$?
expect_eq "SIGTERM to lmctl reaches the command (its trap exits 7)" "$rc:$(cat "$LOGS/trap.$$")" "7:got TERM"
env --default-signal=INT "$LMCTL" -s "$SOCK" run c -- sleep 30 &
LP=$!
running_in c
kill -INT "$LP"
wait "$LP"; rc=$?
expect_eq "SIGINT to lmctl ends the command: 130" "$rc" 130

# --rm leaves nothing behind: after an exit, a kill, a client killed midway.
expect_rc 0 "run --rm" lm run --rm job1 -- true
expect_eq "--rm removed job1 after a normal exit" "$(test -d "$ROOT/job1" && echo present || echo gone)" gone
(sleep 1; lm kill job2) & KP=$!
expect_rc 137 "run --rm of a killed command" lm run --rm job2 -- sleep 30
wait "$KP"
expect_eq "--rm removed job2 after a kill" "$(test -d "$ROOT/job2" && echo present || echo gone)" gone
"$LMCTL" -s "$SOCK" run --rm job3 -- sleep 30 &
LP=$!
running_in job3
kill -KILL "$LP"; wait "$LP" 2>/dev/null
for _ in $(seq 1 50); do [ -d "$ROOT/job3" ] || break; sleep 0.1; done
expect_eq "--rm removed job3 when the client was killed midway" "$(test -d "$ROOT/job3" && echo present || echo gone)" gone
expect_rc 4 "run --rm refuses an existing container" lm run --rm c -- true
expect_rc 3 "run refuses an unknown container" lm run nosuch -- true
expect_match "naming it" "$ERR" "nosuch does not exist"
expect_rc 3 "run --rm under a missing parent" lm run --rm nosuch/child -- true

# Limits on the run line are enforced.
expect_rc 137 "run --rm --memory 64M: a 128M allocation is OOM-killed" lm run --rm lim --memory 64M --swap 0 -- "$HELPER" alloc 128
expect_eq "and the container is gone" "$(test -d "$ROOT/lim" && echo present || echo gone)" gone

# A container with subcontainers runs commands in its leaf.
lm create c/child >/dev/null
expect_eq "a container with children runs its command in its leaf" "$(lm run c -- cat /proc/self/cgroup)" "0::/lmct-test-$T-$$/c/_self"

# --detach: answers at once; show reports the status after.
expect_rc 0 "run --detach" lm run -d c -- sh -c 'echo from-detached; exit 5'
DPID_RUN=$OUT
expect_match "--detach prints the pid" "$DPID_RUN" '^[0-9]+$'
for _ in $(seq 1 50); do lm show c | grep -q 'exited 5' && break; sleep 0.1; done
expect_match "show reports the detached command's exit status" "$(lm show c)" "^last run +pid $DPID_RUN, exited 5"
log=$(lm --json show c | sed -n 's/.*"log":"\([^"]*\)".*/\1/p')
if [ -z "$log" ]; then log=$(lm show c | sed -n 's/.*output in \(.*\)$/\1/p'); fi
expect_eq "its output went to the log file show names" "$(cat "$log" 2>/dev/null)" from-detached

# Namespaces, each observed from inside.
expect_eq "--isolate pid: the command is pid 1" "$(lm run --rm i1 --isolate pid -- sh -c 'echo $$')" 1
expect_eq "--isolate pid: a fresh /proc shows only its own processes" \
        "$(lm run --rm i2 --isolate pid -- sh -c 'for p in /proc/[0-9]*; do echo -n "${p#/proc/} "; done')" "1 "
expect_eq "--isolate uts --hostname" "$(lm run --rm i3 --isolate uts --hostname box7 -- hostname)" box7
expect_eq "the host's hostname is unchanged" "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
expect_eq "--isolate net: only lo" "$(lm run --rm i4 --isolate net,mount -- ls /sys/class/net)" lo
expect_eq "--isolate net: lo is up" "$(lm run --rm i5 --isolate net -- sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "')" lo
expect_match "--isolate net: lo is up (flags)" "$(lm run --rm i6 --isolate net,mount -- cat /sys/class/net/lo/flags)" '^0x[0-9a-f]*[13579bdf]$'
expect_eq "--isolate cgroup: /proc/self/cgroup shows /" "$(lm run --rm i7 --isolate cgroup -- cat /proc/self/cgroup)" "0::/"
ipc_host=$(readlink /proc/self/ns/ipc)
expect_match "--isolate ipc: another ipc namespace" "$(lm run --rm i8 --isolate ipc -- readlink /proc/self/ns/ipc)" "^ipc:\[[0-9]+\]$"
if [ "$(lm run --rm i9 --isolate ipc -- readlink /proc/self/ns/ipc)" != "$ipc_host" ]; then pass "--isolate ipc differs from the host's"; else fail "--isolate ipc differs" "same namespace"; fi
expect_eq "--isolate mount: a private mount is visible inside" \
        "$(lm run --rm i10 --isolate mount -- sh -c 'mount -t tmpfs lmcttest /mnt && grep -c lmcttest /proc/self/mounts')" 1
expect_eq "and invisible outside" "$(grep -c lmcttest /proc/self/mounts)" 0

# --rootfs: busybox as the whole root.
rootfs=$LOGS/rootfs-$$
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh ls cat ps hostname; do ln -sf busybox "$rootfs/bin/$a"; done
echo "inside-rootfs" > "$rootfs/marker"
expect_eq "--rootfs: the command sees DIR as /" "$(lm run --rm r1 --rootfs "$rootfs" -- /bin/cat /marker)" inside-rootfs
expect_eq "--rootfs --isolate pid: /proc shows only itself" \
        "$(lm run --rm r2 --rootfs "$rootfs" --isolate pid -- /bin/sh -c 'for p in /proc/[0-9]*; do echo -n "${p#/proc/} "; done')" "1 "
expect_match "--rootfs has a minimal /dev" "$(lm run --rm r3 --rootfs "$rootfs" -- /bin/ls /dev)" 'null'
expect_rc 2 "--rootfs that is not a directory" lm run --rm r4 --rootfs /etc/hostname -- /bin/true

# exec joins a running command's cgroup and namespaces.
lm create e >/dev/null
"$LMCTL" -s "$SOCK" run e --isolate pid,uts,mount --hostname exec-box -- sleep 30 &
LP=$!
running_in e
expect_eq "exec sees the running command's hostname" "$(lm exec e -- hostname)" exec-box
expect_eq "exec is in its pid namespace (pid 1 is sleep)" "$(lm exec e -- cat /proc/1/comm)" sleep
expect_eq "exec is in the same cgroup" "$(lm exec e -- cat /proc/self/cgroup)" "0::/lmct-test-$T-$$/e/_self"
expect_rc 4 "exec passes on the exit status" lm exec e -- sh -c 'exit 4'
lm kill e >/dev/null
wait "$LP" 2>/dev/null
expect_rc 7 "exec into a container with no running command" lm exec e -- true

expect_rc 0 "the daemon still serves" lm list
lm destroy -r -f c >/dev/null; lm destroy -f e >/dev/null
expect_eq "nothing left" "$(tree_snapshot)" ""
rm -rf "$rootfs" "$LOGS/trap.$$"
daemon_stop
