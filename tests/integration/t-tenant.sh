#!/bin/bash
# Tenants are adversaries. Each attack an owner (uid 2001, owns team1), a
# plain member of the socket's group (2002) or root inside a container
# makes on lmctld, shown by behaviour: while it runs, root is answered
# within a second; what it tried did not happen; lmctld is alive after.
# (docs/access.md says what a tenant can and cannot do.)
. "$(dirname "$0")/lib.sh"
ATTACK=$BUILD/tests/lmct-attack
test_users
OWN() { as 2001 --groups="$GID" "$LMCTL" -s "$SOCK" "$@"; }
# An attack as the owner, in the background (setpriv becomes the attacker).
owner_attack() { setpriv --reuid=2001 --regid=2001 --groups="$GID" "$ATTACK" "$@" & ATT_PIDS+=($!); }
root_attack() { "$ATTACK" "$@" & ATT_PIDS+=($!); }
ATT_PIDS=()
stop_attacks() { for p in "${ATT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; ATT_PIDS=(); }
trap 'stop_attacks; cleanup' EXIT

# root_answers WHAT: root's request is answered within a second.
root_answers() {
        local t0 ms
        t0=$(date +%s%N)
        if timeout 1 "$LMCTL" -s "$SOCK" version >/dev/null 2>&1; then
                ms=$((($(date +%s%N) - t0) / 1000000))
                pass "$1: root is answered meanwhile ($ms ms)"
        else
                fail "$1: root is answered meanwhile" "no answer within a second"
        fi
}
# wait_line FILE REGEX [SECONDS]: until FILE has a line matching REGEX.
wait_line() {
        for _ in $(seq 1 $((${3:-30} * 10))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
        return 1
}
# wait_gone PID SECONDS: whether PID ended within SECONDS.
wait_gone() {
        for _ in $(seq 1 $(($2 * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
        return 1
}
# gdb_ready FILE: until gdb, attached, says it is about to let lmctld go on.
gdb_ready() { wait_line "$1" . 120; }

# Memory is measured below: freed memory is used again at once, also with
# ASan (its quarantine would hold every freed answer).
export LMCT_ASAN_OPTIONS=quarantine_size_mb=4
daemon_start --start-timeout 3 || exit 0
chgrp $G "$SOCK"
lm create team1 --owner 2001 --max-descendants max >/dev/null
for c in a b f in u u/s u/s/t box box/x box/y; do lm create team1/$c >/dev/null; done

# 1. Nothing in the event loop waits on what a client controls.
OWN pause team1/f >/dev/null
OWN run team1/f -- true >"$LOGS/frozen.out" 2>&1 &
p=$!
sleep 1
root_answers "an owner runs a command in its own paused container"
wait_gone "$p" 10 || echo 0 > "$ROOT/team1/f/cgroup.freeze"
wait "$p"
expect_eq "that run is refused (exit 7)" "$?" 7
expect_match "saying the container is paused" "$(cat "$LOGS/frozen.out")" "team1/f is paused: resume it"
OWN resume team1/f >/dev/null

# A pause that lands between lmctld's check and the command's exec: the
# start has a deadline (--start-timeout 3), and lmctld answers meanwhile.
B=$LOGS/bundle-tenant-$$
mk_bundle() { # DIR: a busybox bundle with lmctl spec's config.json
        rm -rf "$1"
        mkdir -p "$1/rootfs/bin"
        cp /bin/busybox "$1/rootfs/bin/busybox"
        for a in sh ls cat echo test; do ln -s busybox "$1/rootfs/bin/$a"; done
        lm spec "$1" >/dev/null
}
set_json() { python3 -c "import json,sys; c=json.load(open(sys.argv[1])); $2; json.dump(c, open(sys.argv[1],'w'), indent=1)" "$1"; }
mk_bundle "$B"
# Slow to set up (100 mounts), so that the freeze lands first.
set_json "$B/config.json" 'c["process"]["args"]=["true"]; c["mounts"]+=[{"destination":"/m%d"%i,"type":"tmpfs","source":"tmpfs"} for i in range(100)]'
lm create slow >/dev/null
lm run slow -- true >/dev/null
root_attack freeze "$ROOT/slow/_self" >"$LOGS/freeze.out" 2>&1
wait_line "$LOGS/freeze.out" watching 10
lm run slow --bundle "$B" >"$LOGS/slow.out" 2>&1 &
p=$!
wait_line "$LOGS/freeze.out" froze 10
expect_match "a command frozen before it executes" "$(cat "$LOGS/freeze.out")" froze
root_answers "a command frozen before it executes"
wait_gone "$p" 15 || echo 0 > "$ROOT/slow/_self/cgroup.freeze"
wait "$p"
expect_eq "its start gives up at the deadline (exit 1)" "$?" 1
expect_match "saying so" "$(cat "$LOGS/slow.out")" "did not start within 3.000 s"
echo 0 > "$ROOT/slow/_self/cgroup.freeze"
stop_attacks
lm destroy -f slow >/dev/null

# A descriptor whose close() waits a minute (a TCP socket with SO_LINGER
# and unsent data): sent with a request that takes none, as the stdio of a
# run that fails, and queued on a connection lmctld ends.
for mode in version run queued; do
        owner_attack linger "$SOCK" $mode > "$LOGS/linger-$mode.out" 2>&1
        wait_line "$LOGS/linger-$mode.out" sent 10
        sleep 0.5
        root_answers "an owner's lingering socket ($mode)"
        stop_attacks
done
expect_rc 2 "a directory as stdin is refused" lm run team1/a -- true </
expect_match "naming the descriptor and why" "$ERR" "descriptor 1 \(stdin\) is a directory"

# 2. Paths are resolved as the caller, inside its root.
secret=/tmp/secret-$$
mkdir -m 700 "$secret"
expect_rc 5 "an owner's run --cwd into a directory it may not enter" OWN run team1/a --cwd "$secret" -- pwd
expect_match "is refused as the owner" "$ERR" "working directory: Permission denied"
OWN run -d team1/b -- sleep 1000 >/dev/null
expect_rc 5 "the same with exec --cwd" OWN exec team1/b --cwd "$secret" -- pwd
expect_eq "root still may" "$(lm run team1/a --cwd "$secret" -- pwd)" "$secret"
rmdir "$secret"

# An image's symlink does not lead a mount destination out of its root.
host=/tmp/hostside-$$
mkdir -p "$host"
mk_bundle "$B"
ln -s "$host" "$B/rootfs/evil"
set_json "$B/config.json" 'c["process"]["args"]=["sh","-c","test -d /evil/made/deep && cat /evil/file"]; c["mounts"]+=[{"destination":"/evil/made/deep","type":"tmpfs","source":"tmpfs"},{"destination":"/evil/file","type":"bind","source":"/etc/hostname","options":["bind","ro"]}]'
expect_rc 0 "a bundle with evil -> $host and mounts below /evil runs" lm run --rm evil --bundle "$B"
expect_eq "its mounts are where the symlink points inside the root" "$OUT" "$(cat /etc/hostname)"
expect_eq "and nothing appeared in the host's $host" "$(ls -A "$host")" ""
expect_eq "they were made inside the root instead" "$(test -d "$B/rootfs$host/made/deep" && test -f "$B/rootfs$host/file" && echo yes)" yes

# 3. A caller whose position cannot be established is refused: a child in
# team1/in connects and exits before lmctld accepts, and its parent uses
# the connection.
go=$LOGS/orphan-go-$$; ready=$LOGS/orphan-ready-$$; out=$LOGS/orphan-out-$$
rm -f "$go" "$ready" "$out"
lm run -d team1/in -- "$ATTACK" orphan "$SOCK" "$go" "$ready" "$out" >/dev/null
kill -STOP "$DPID"
touch "$go"
for _ in $(seq 1 100); do [ -e "$ready" ] && break; sleep 0.1; done
kill -CONT "$DPID"
for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
expect_match "a connection whose process has gone is refused" "$(cat "$out" 2>&1)" "^refused: .*has already gone"

# 4. Root inside an isolated, capability-less container gets nothing its
# position does not give.
lm run -d team1/box/y -- sleep 1000 >/dev/null
cat > "$LOGS/inbox-$$.sh" <<EOF
L="$LMCTL -s $SOCK"
echo "caller \$(readlink /proc/self/ns/mnt) \$(readlink /proc/self/ns/net)"
\$L run x --rootfs / -- true 2>/dev/null; echo "rootfs=\$?"
\$L run x --isolate pid -- true 2>/dev/null; echo "isolate=\$?"
\$L run x --user 1000 -- true 2>/dev/null; echo "user=\$?"
\$L run x --bundle $B 2>/dev/null; echo "bundle=\$?"
\$L run x -- sh -c 'echo "command \$(readlink /proc/self/ns/mnt) \$(readlink /proc/self/ns/net)"; grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr "\\t\\n" "= "; echo; ls /mnt/mark'
\$L exec y -- true 2>/dev/null; echo "exec=\$?"
EOF
box=$(lm run --isolate pid,mount,uts,ipc,net team1/box -- sh -c \
        "mount -t tmpfs none /mnt && touch /mnt/mark && exec setpriv --bounding-set -all --inh-caps -all --ambient-caps -all sh $LOGS/inbox-$$.sh" 2>&1)
for opt in rootfs isolate user bundle; do
        expect_eq "contained root: run --$opt is refused (exit 5)" "$(echo "$box" | sed -n "s/^$opt=//p")" 5
done
expect_eq "contained root: its command starts in its own namespaces" \
        "$(echo "$box" | sed -n 's/^command //p')" "$(echo "$box" | sed -n 's/^caller //p')"
expect_match "and sees its own mounts" "$box" "^/mnt/mark$"
expect_match "with no capability (it has none)" "$box" "CapEff:=0{16} CapBnd:=0{16}"
expect_eq "contained root: exec into a command in other namespaces is refused (exit 5)" \
        "$(echo "$box" | sed -n 's/^exec=//p')" 5
# Root of the host without CAP_SYS_ADMIN is no admin: it owns nothing.
nocap() { setpriv --bounding-set -all --inh-caps -all --ambient-caps -all "$LMCTL" -s "$SOCK" "$@"; }
expect_eq "root without capabilities sees nothing" "$(nocap list -r)" ""
expect_rc 5 "and may change nothing" nocap destroy -r team1
expect_rc 5 "a caller under a seccomp filter starts no command" \
        as 2001 --groups="$GID" "$ATTACK" seccomp "$LMCTL" -s "$SOCK" run team1/a -- true
expect_match "saying why" "$ERR" "confined by a seccomp filter"
# Root's exec runs as the container's command, not as root: here an
# owner's, and one that made a user namespace of its own is not joined.
OWN run -d team1/b -- sleep 1000 >/dev/null
expect_eq "root's exec into an owner's command runs as that owner" "$(lm exec team1/b -- id -u)" 2001
lm create team1/ux >/dev/null
lm run -d team1/ux -- unshare -Ur sleep 1000 >/dev/null
sleep 1
expect_rc 5 "root's exec into a command in a user namespace of its own is refused" lm exec team1/ux -- id -u
lm kill team1/ux >/dev/null
# An owner's own process in a container it does not own stays there.
lm create other --owner 2002 >/dev/null
setpriv --reuid=2001 --regid=2001 --clear-groups sleep 1000 &
ATT_PIDS+=($!)
sleep 0.3
lm enter other "${ATT_PIDS[-1]}"
expect_rc 5 "an owner cannot take its process out of another owner's container" OWN enter team1/a "${ATT_PIDS[-1]}"
expect_eq "it is still there" "$(lm detect "${ATT_PIDS[-1]}")" other
stop_attacks
# A subtree handed over without a bound gets one (1024 containers).
expect_eq "a subtree handed to an owner is bounded by default" "$(cat "$ROOT/other/cgroup.max.descendants")" 2049
lm destroy -f other >/dev/null
# An owner's command keeps its groups: its agent inside reaches the socket.
expect_match "an owner's command keeps its supplementary groups" "$(OWN run team1/a -- id -G)" "(^| )$GID( |$)"
expect_rc 0 "an owner's agent inside its container reaches lmctld through its group" \
        OWN run team1/in -- "$LMCTL" -s "$SOCK" list

# 5. Bounds hold per principal, with room kept for root.
root_attack hold "$SOCK" 1020 > "$LOGS/hold.out" 2>&1
wait_line "$LOGS/hold.out" "^held" 120
expect_match "root holds 1020 connections" "$(cat "$LOGS/hold.out")" "^held 1020 "
expect_rc 0 "and a command still starts (lmctld's descriptors are not the command's)" lm run team1/a -- true
root_answers "1020 connections held"
stop_attacks
lm kill team1/b >/dev/null
sleep 1
as 2001 --groups="$GID" "$ATTACK" detach "$SOCK" team1/a 400 > "$LOGS/detach.out" 2>&1
expect_match "an owner's detached commands are bounded (256)" "$(cat "$LOGS/detach.out")" \
        "^ran 256 refused: uid 2001 runs 256 commands already"
expect_rc 0 "root still runs one" lm run -d team1/a -- true
lm kill team1/a >/dev/null
owner_attack triggers "$SOCK" team1/u 2000 > "$LOGS/trig.out" 2>&1
wait_line "$LOGS/trig.out" "^held" 120
expect_match "an owner's pressure triggers are bounded (64)" "$(cat "$LOGS/trig.out")" \
        "^held 64 refused: uid 2001 holds 64 pressure triggers already"
root_attack triggers "$SOCK" team1/u 1 > "$LOGS/trig-root.out" 2>&1
wait_line "$LOGS/trig-root.out" "^held" 30
expect_match "root still sets one" "$(cat "$LOGS/trig-root.out")" "^held 1 refused: none"
stop_attacks
owner_attack thresholds "$SOCK" team1/u 2000 > "$LOGS/thr.out" 2>&1
wait_line "$LOGS/thr.out" "^held" 120
expect_match "an owner's memory thresholds are bounded (64)" "$(cat "$LOGS/thr.out")" \
        "^held 64 refused: uid 2001 holds 64 memory thresholds already"
stop_attacks
# Answers are bounded before they are built: 64 connections asking for a
# long listing each, never reading.
lm create team1/big >/dev/null
"$ATTACK" fill "$SOCK" team1/big 1500 > "$LOGS/fill.out" 2>&1
expect_match "a subtree of 1500 containers" "$(cat "$LOGS/fill.out")" "^made 1500"
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
owner_attack nonreader "$SOCK" team1/big 64 50 > "$LOGS/nonreader.out" 2>&1
wait_line "$LOGS/nonreader.out" "^opened" 60
sleep 5
rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
expect_num "an owner's unread answers stay within its 16 MiB (+ one answer): lmctld grew by KiB" \
        $((rss1 - rss0)) -100000 49152
root_answers "64 connections with unread answers"
stop_attacks
lm destroy -r team1/big >/dev/null

# The listener backs off when accept() fails for want of descriptors.
lim=$(awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$DPID/limits")
prlimit --pid "$DPID" --nofile=100:100
root_attack connect "$SOCK" 150 > "$LOGS/hold2.out" 2>&1
wait_line "$LOGS/hold2.out" "^connected" 60
sleep 1
t0=$(awk '{ print $14 + $15 }' "/proc/$DPID/stat")
sleep 2
t1=$(awk '{ print $14 + $15 }' "/proc/$DPID/stat")
expect_num "at its descriptor limit, lmctld does not spin: CPU ticks in 2 s" $((t1 - t0)) 0 40
stop_attacks
prlimit --pid "$DPID" --nofile="$lim"
sleep 2.5
root_answers "the descriptors back"

# 6. Signals reach only the container's processes: the pid read from
# cgroup.procs dies and is taken by a process outside before lmctld opens
# it (gdb stops lmctld at that moment; ns_last_pid hands out the pid).
lm create kc >/dev/null
sh -c 'sleep 1000 & echo $! > '"$LOGS/kc.pid"'; wait' &
ATT_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$LOGS/kc.pid" ] && break; sleep 0.1; done
P=$(cat "$LOGS/kc.pid")
lm enter kc "$P"
cat > "$LOGS/swap-$$.sh" <<EOF
kill -9 $P
while [ -e /proc/$P ]; do sleep 0.01; done
echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
echo \$! > $LOGS/victim.pid
EOF
rm -f "$LOGS/gdb-ready-$$"
timeout 180 gdb -p "$DPID" -batch -ex "catch syscall 434" -ex "condition 1 \$rdi == $P" \
        -ex "shell touch $LOGS/gdb-ready-$$" -ex continue \
        -ex "shell sh $LOGS/swap-$$.sh" -ex delete -ex detach >"$LOGS/gdb-kill.out" 2>&1 &
gdbpid=$!
for _ in $(seq 1 1200); do [ -e "$LOGS/gdb-ready-$$" ] && break; sleep 0.1; done
sleep 0.5
lm kill kc -s TERM >/dev/null &
wait $gdbpid
sleep 0.5
V=$(cat "$LOGS/victim.pid" 2>/dev/null)
expect_eq "the pid was handed to a process outside the container" "$V" "$P"
expect_eq "which the signal did not reach" "$(kill -0 "$V" 2>/dev/null && echo alive)" alive
kill -9 "$V" 2>/dev/null
lm destroy kc >/dev/null

# 7. The metrics endpoint exposes only what the operator chose: on a Unix
# socket its mode and group decide who reads, and its connections are
# bounded (16 at once, each closed 10 s after it came).
daemon_stop
msock=/run/lmct-metrics-$$.sock
daemon_start --start-timeout 3 --metrics-listen "unix:$msock" --metrics-group $G || exit 0
chgrp $G "$SOCK"
expect_eq "the metrics socket is mode 660, group $G" "$(stat -c '%a %G' "$msock")" "660 $G"
expect_match "a member of $G reads /metrics" \
        "$(as 2002 --groups="$GID" curl -s --max-time 5 --unix-socket "$msock" http://localhost/metrics)" "^lmct_containers "
expect_rc 7 "a user outside it cannot connect" as 2003 --clear-groups curl -s --max-time 5 --unix-socket "$msock" http://localhost/metrics
fd0=$(ls "/proc/$DPID/fd" | wc -l)
python3 - "$msock" 200 > "$LOGS/mhold.out" 2>&1 <<'EOF' &
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    held.append(s)
print("held", len(held), flush=True)
time.sleep(13)
closed = 0
for s in held:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print("closed", closed, flush=True)
EOF
ATT_PIDS+=($!)
wait_line "$LOGS/mhold.out" "^held" 30
sleep 1
expect_num "200 idle metrics connections: lmctld holds at most 16 more descriptors" \
        $(($(ls "/proc/$DPID/fd" | wc -l) - fd0)) 0 18
root_answers "200 idle metrics connections"
wait_line "$LOGS/mhold.out" "^closed" 30
expect_num "the connections served were closed at their 10 s deadline" \
        "$(sed -n 's/^closed //p' "$LOGS/mhold.out")" 16 200
stop_attacks
daemon_stop
daemon_start --start-timeout 3 || exit 0
chgrp $G "$SOCK"

# 8. A subscriber with a PSI trigger whose "dropped" notice fails to send.
lm run -d team1/u/s/t -- sleep 1000 >/dev/null
owner_attack uaf "$SOCK" team1/u > "$LOGS/uaf.out" 2>&1
wait_line "$LOGS/uaf.out" armed 120
for _ in 1 2 3 4; do lm run -d team1/u/s/t -- "$HELPER" spin >/dev/null; done
sleep 4
check "lmctld is alive once the trigger fired" kill -0 "$DPID"
root_answers "a subscriber that failed in its pressure event"
stop_attacks
lm kill team1/u >/dev/null

# Also found: a bundle whose config.json is a FIFO; a log name over NAME_MAX.
mk_bundle "$B"
rm "$B/config.json"
mkfifo "$B/config.json"
expect_rc 2 "a bundle whose config.json is a FIFO is refused" timeout 5 "$LMCTL" -s "$SOCK" run --rm ff --bundle "$B"
expect_match "as not a regular file" "$ERR" "config.json is not a regular file"
timeout 2 sh -c "echo x > $B/config.json" 2>/dev/null # frees a reader stuck on it, if any
long=$(printf 'c%059d/' 1 2 3 4 5); long=${long%/}
lm create -p "$long" >/dev/null
expect_rc 0 "a detached command whose log name is over NAME_MAX" lm run -d "$long" -- echo logged
sleep 1
log=$(lm show "$long" | sed -n 's/^last run .*, output in \(.*\)$/\1/p')
expect_match "logs to a file named by its start and a hash" "$(cat "$log" 2>&1)" "^logged$"
lm destroy -r "$(echo "$long" | cut -d/ -f1)" >/dev/null

# At shutdown, a run whose --rm destroy still waits: stopped while it
# waits (gdb holds lmctld as the wait begins; a process is put back in the
# container meanwhile so that it keeps waiting).
cat > "$LOGS/addw-$$.sh" <<EOF
sleep 1000 </dev/null >/dev/null 2>&1 &
echo \$! > $ROOT/w/_self/cgroup.procs
EOF
rm -f "$LOGS/gdb-ready-$$"
timeout 180 gdb -p "$DPID" -batch -ex "break node_wait_start" -ex "shell touch $LOGS/gdb-ready-$$" -ex continue \
        -ex "shell sh $LOGS/addw-$$.sh" -ex "shell kill -TERM $DPID" -ex delete -ex detach >"$LOGS/gdb-stop.out" 2>&1 &
gdbpid=$!
for _ in $(seq 1 1200); do [ -e "$LOGS/gdb-ready-$$" ] && break; sleep 0.1; done
sleep 0.5
lm run --rm w -- sh -c 'sleep 1000 & exit 0' >/dev/null 2>&1 &
wait $gdbpid
wait "$DPID"
expect_eq "lmctld stopped cleanly while the --rm destroy waited" "$?" 0
DPID=
expect_match "saying the container was not removed" "$(grep 'run --rm w' "$LOGS/lmctld-$T.log")" \
        "run --rm w: lmctld stops before the container was removed"
echo 1 > "$ROOT/w/cgroup.kill"
daemon_start --start-timeout 3 || exit 0
lm destroy -f w >/dev/null 2>&1
lm destroy -r -f team1 >/dev/null
daemon_stop
