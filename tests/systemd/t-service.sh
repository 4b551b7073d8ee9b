#!/bin/bash
# lmctld as a systemd service, in a VM that boots real systemd as init
# (tests/vm/boot.sh with LMCT_VM_INIT=systemd): installed with meson,
# started by its socket, restarted, stopped, killed and hung, and never
# losing a container, a limit or a process.
#
#   t-service.sh BUILD
export LMCT_BUILD=${1:?usage: t-service.sh BUILD} LMCT_LOGS=${LMCT_LOGS:-/var/tmp/lmct-logs}
. "$(dirname "$0")/../integration/lib.sh"
TD=systemd
L=/usr/local/bin/lmctl
SVC=/sys/fs/cgroup/system.slice/lmctld.service
SCOPE=/sys/fs/cgroup/system.slice/lmct.scope
SOCKET=/run/lmct/lmctld.sock

prop() { systemctl show -p "$1" --value lmctld.service; }
main_pid() { prop MainPID; }
# Waits up to $2 seconds for the service's property $1 to equal $3.
wait_prop() {
        local i
        for i in $(seq 1 $(($2 * 5))); do
                [ "$(prop "$1")" = "$3" ] && return 0
                sleep 0.2
        done
        return 1
}
# What must survive every restart: the tree, the limits, the labels, the
# processes (by pid, in their cgroups) and the keeper.
state() {
        $L list -r
        for c in containerA containerA/sub1 b; do
                $L show "$c" | sed -n '/^labels/p; /^LIMIT/,/^USAGE/p'
                echo "$c: $(cat "$SCOPE/$c/_self/cgroup.procs" 2>/dev/null | sort | tr '\n' ' ')"
        done
        echo "keeper: $(cat "$SCOPE/_keeper/cgroup.procs")"
}

# Installation, as a distribution would do it.
if meson install -C "$BUILD" --no-rebuild >"$LOGS/install.log" 2>&1; then
        pass "meson install puts lmctld, lmctl, liblmct and the units in place"
else
        fail "meson install" "$(tail -n 3 "$LOGS/install.log")"
fi
# Installed as the README says and nothing more: the programs start and
# the man pages are found, with no step of the user's own.
expect_rc 0 "the installed lmctl starts (lmctl --help)" $L --help
expect_eq "lmctl carries liblmct inside (no shared liblmct to find)" "$(ldd $L | grep -c liblmct)" 0
expect_rc 0 "the installed lmctld starts (lmctld --help)" /usr/local/sbin/lmctld --help
expect_match "man lmctl finds the installed page" "$(MANPAGER=cat MANWIDTH=80 man lmctl 2>&1 | head -n 5)" "lmctl - "
expect_match "man lmctld finds the installed page" "$(MANPAGER=cat MANWIDTH=80 man 8 lmctld 2>&1 | head -n 5)" "lmctld - "
# An agent built against the installed shared liblmct finds it at run time.
if cc -o /var/tmp/agent "$(dirname "$0")/../native/agent-example.c" $(pkg-config --cflags --libs liblmct) \
        >"$LOGS/agent-cc.log" 2>&1; then
        pass "an agent compiles and links against the installed liblmct (pkg-config)"
else
        fail "an agent compiles against the installed liblmct" "$(head -n 3 "$LOGS/agent-cc.log")"
fi
systemd-sysusers >/dev/null 2>&1
check "systemd-sysusers creates the group lmct" getent group lmct
# A short watchdog for the test, so that a hang is seen in seconds.
mkdir -p /etc/systemd/system/lmctld.service.d
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=5s\n' > /etc/systemd/system/lmctld.service.d/test.conf
systemctl daemon-reload
check "lmctld.socket starts" systemctl start lmctld.socket
expect_eq "the socket is root:lmct, mode 0660" "$(stat -c '%a %U %G' "$SOCKET" 2>&1)" "660 root lmct"
expect_eq "lmctld does not run before the first request" "$(systemctl is-active lmctld.service)" inactive
expect_rc 0 "the first lmctl call starts lmctld through its socket" $L version
expect_eq "lmctld is then active" "$(systemctl is-active lmctld.service)" active
expect_match "lmctld owns the delegated scope" "$OUT" "cgroup root +$SCOPE|$SCOPE"
expect_rc 0 "the agent runs with the installed liblmct, no LD_LIBRARY_PATH" /var/tmp/agent "$SOCKET" agents/a1
expect_eq "what the agent listed" "$(echo $OUT)" "agents agents/a1 duplicate: ALREADY_EXISTS"
$L destroy agents >/dev/null 2>&1
expect_eq "the installed Python package speaks to lmctld (python3 -c 'import lmct')" \
        "$(cd / && PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c 'import lmct; c = lmct.Client(); c.create("py/a", parents=True); print(c.list("py", recursive=True), c.version().protocol); c.destroy("py", recursive=True)' 2>&1)" \
        "['py/a'] 1"

# The layout systemd's delegation rules ask for.
expect_eq "the scope lmct.scope is active" "$(systemctl show -p ActiveState --value lmct.scope)" active
expect_eq "with Delegate=yes" "$(systemctl show -p Delegate --value lmct.scope)" yes
expect_eq "a keeper process holds the scope from its own leaf" "$(wc -l < "$SCOPE/_keeper/cgroup.procs")" 1
expect_eq "the scope's root holds no process" "$(wc -l < "$SCOPE/cgroup.procs")" 0
expect_eq "lmctld's service cgroup holds lmctld alone" "$(cat "$SVC/cgroup.procs")" "$(main_pid)"
expect_eq "and lmctld never made a cgroup below its service" \
        "$(find "$SVC" -mindepth 1 -type d | wc -l)" 0

# Containers with limits and running processes.
check "create containerA with limits" $L create containerA --cpu 2 --memory 256M
check "create containerA/sub1 with limits and labels" $L create containerA/sub1 --cpu 1 --pids 50 --label job=web --label team=infra
check "create b" $L create b --memory-high 100M
# Tab completion as an operator's bash has it: bash-completion finds the
# installed file by itself, and names come from the running lmctld.
expect_eq "bash-completion loads lmctl's installed completion" \
        "$(bash --norc -c '. /usr/share/bash-completion/bash_completion; __load_completion lmctl && complete -p lmctl' 2>&1)" \
        "complete -F _lmctl lmctl"
expect_eq "and completes container names from lmctld" \
        "$(bash --norc -c '. /usr/share/bash-completion/bash_completion; __load_completion lmctl
                COMP_WORDS=(lmctl show containerA/); COMP_CWORD=2
                _lmctl lmctl containerA/ show; echo "${COMPREPLY[*]}"' 2>&1)" \
        "containerA/sub1"
sleep 100000 & SP=$!
BG_PIDS+=("$SP")
check "a process enters containerA/sub1" $L enter containerA/sub1 "$SP"
check "a detached command runs in b" $L run -d b -- sleep 100000
expect_eq "the controllers the limits need reach the scope" \
        "$(tr ' ' '\n' < "$SCOPE/cgroup.subtree_control" | grep -cxE 'cpu|memory|pids')" 3
before=$(state)
expect_match "the state to keep has the entered process" "$before" "^containerA/sub1: [0-9]+ $"
expect_match "and the detached command" "$before" "^b: [0-9]+ $"
expect_match "and the labels" "$before" "^labels      job=web team=infra$"

# systemctl status shows what lmctld says.
wait_prop StatusText 10 "3 containers managed, 0 clients connected"
expect_eq "StatusText says how many containers and clients" "$(prop StatusText)" \
        "3 containers managed, 0 clients connected"

# Restart.
pid1=$(main_pid)
check "systemctl restart lmctld" systemctl restart lmctld.service
expect_eq "after a restart every container, limit and process is in place" "$(state)" "$before"
[ "$(main_pid)" != "$pid1" ] && pass "and it is a new lmctld" || fail "a new lmctld after restart" "same pid $pid1"

# Stop, then the next request starts it again.
check "systemctl stop lmctld" systemctl stop lmctld.service
expect_eq "lmctld is stopped" "$(systemctl is-active lmctld.service)" inactive
kill -0 "$SP" 2>/dev/null && pass "processes run on while lmctld is stopped" || fail "process survives a stop" "gone"
expect_eq "after stop and a socket-activated start everything is in place" "$(state)" "$before"

# Upgrade: a new binary in place, then a restart.
cp /usr/local/sbin/lmctld /usr/local/sbin/lmctld.new && mv /usr/local/sbin/lmctld.new /usr/local/sbin/lmctld
check "systemctl restart after replacing the binary" systemctl restart lmctld.service
expect_eq "after an upgrade everything is in place" "$(state)" "$before"

# A crash: kill -9, restarted by Restart=on-failure. A request sent in the
# gap waits in the socket systemd holds and is answered by the next lmctld.
restarts=$(prop NRestarts)
kill -9 "$(main_pid)"
expect_rc 0 "a request sent right after kill -9 is answered" $L list -r
wait_prop NRestarts 20 $((restarts + 1))
expect_eq "systemd restarted the crashed lmctld (NRestarts)" "$(prop NRestarts)" $((restarts + 1))
expect_eq "after kill -9 everything is in place" "$(state)" "$before"

# The watchdog: pings keep it alive, a hung lmctld is restarted.
expect_eq "WatchdogSec= reaches the service" "$(prop WatchdogUSec)" 3s
restarts=$(prop NRestarts)
sleep 8
expect_eq "lmctld pings the watchdog (no restart in 8 s with WatchdogSec=3s)" "$(prop NRestarts)" "$restarts"
kill -STOP "$(main_pid)"
if wait_prop NRestarts 40 $((restarts + 1)); then
        pass "a hung lmctld is restarted by the watchdog"
else
        fail "a hung lmctld is restarted by the watchdog" "NRestarts $(prop NRestarts), result $(prop Result)"
fi
wait_prop ActiveState 20 active
expect_eq "after the watchdog restart everything is in place" "$(state)" "$before"

# Structured journal fields.
journalctl --sync 2>/dev/null
expect_match "the journal finds a container's story by LMCT_CONTAINER" \
        "$(journalctl -u lmctld.service LMCT_CONTAINER=containerA -o cat --no-pager)" "^created containerA$"
v=$(journalctl -u lmctld.service LMCT_CONTAINER=containerA/sub1 LMCT_VERB=create -o verbose --no-pager)
expect_match "with the verb, the caller's uid and pid" "$v" "LMCT_CALLER_UID=0"
expect_match "and the caller's pid" "$v" "LMCT_CALLER_PID=[1-9][0-9]*"
expect_match "and the message's priority (info)" "$v" "PRIORITY=6"
# A detached command's output goes to the journal at one priority: a line
# it prints beginning "<0>" does not choose emergency.
$L run --rm -d prio -- sh -c 'echo "<0>not an emergency"' >/dev/null
sleep 1
journalctl --sync 2>/dev/null
p=$(journalctl SYSLOG_IDENTIFIER=lmct/prio -o verbose --no-pager | grep -E "^ *(PRIORITY|MESSAGE)=" | tr '\n' ' ')
expect_match "a tenant's output does not choose its journal priority" "$p" "PRIORITY=6 .*MESSAGE=<0>not an emergency|MESSAGE=<0>not an emergency.* PRIORITY=6"

# Only root and the group lmct reach the socket.
useradd -M -N -s /usr/sbin/nologin lmctuser 2>/dev/null
expect_rc 6 "a user outside the group lmct cannot reach lmctld" \
        setpriv --reuid=lmctuser --regid=nogroup --clear-groups $L version
expect_rc 0 "a member of lmct can" setpriv --reuid=lmctuser --regid=nogroup --groups="$(getent group lmct | cut -d: -f3)" $L version

# A keeper killed by hand is replaced: without it, the scope would end
# with the last container process and take the containers with it.
old_keeper=$(cat "$SCOPE/_keeper/cgroup.procs")
kill -9 "$old_keeper"
new_keeper=
for _ in $(seq 1 50); do
        new_keeper=$(cat "$SCOPE/_keeper/cgroup.procs")
        [ -n "$new_keeper" ] && [ "$new_keeper" != "$old_keeper" ] && break
        sleep 0.2
done
[ -n "$new_keeper" ] && [ "$new_keeper" != "$old_keeper" ] && pass "a killed keeper is replaced (pid $old_keeper, then $new_keeper)" ||
        fail "a killed keeper is replaced" "leaf holds '$new_keeper'"
expect_eq "and the scope stays active" "$(systemctl show -p ActiveState --value lmct.scope)" active

# Finally, stop the service: the containers stay.
check "systemctl stop lmctld at the end" systemctl stop lmctld.service
expect_eq "the processes outlive the service" "$(cat "$SCOPE/containerA/sub1/_self/cgroup.procs")" "$SP"
expect_eq "lmctld's service left no cgroup behind" "$(test -d "$SVC" && echo present || echo gone)" gone
lmctld_errors=$(journalctl -u lmctld.service _COMM=lmctld -p err -o cat --no-pager | head -n 5)
expect_eq "lmctld logged no error" "$lmctld_errors" ""
