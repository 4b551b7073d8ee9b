#!/bin/bash
# Who may do what, with real users: root; the owner of team1 (create
# --owner); a member of the socket's group who owns nothing; a user outside
# the group; and root inside a container. Every verb, each cell an expected
# exit status (0 allowed, 5 denied, 6 cannot reach the socket; 2 and 3 where
# the caller's position makes a name invalid or unknown), and the tree and
# the daemon checked after the denials.
. "$(dirname "$0")/lib.sh"
test_users
OWN() { as 2001 --groups="$GID" "$LMCTL" -s "$SOCK" "$@"; }
MEM() { as 2002 --groups="$GID" "$LMCTL" -s "$SOCK" "$@"; }
OUT() { as 2003 --clear-groups "$LMCTL" -s "$SOCK" "$@"; }
IN() { "$LMCTL" -s "$SOCK" run team1/in -- "$LMCTL" -s "$SOCK" "$@"; }

daemon_start || exit 0
chgrp $G "$SOCK"
lm create team1 --owner 2001 --pids 200 --max-descendants 20 >/dev/null
lm create team1/a >/dev/null
lm create team1/in >/dev/null
lm create team1/in/keep >/dev/null
lm create other >/dev/null
expect_match "show names the owner" "$(lm show team1)" "^owner +uid 2001 gid 2001"
expect_match "and below, where it was handed over" "$(lm show team1/a)" "^owner +uid 2001 gid 2001 \(handed over at team1\)"
expect_rc 5 "only root may hand a container over" OWN create team1/x --owner 2002
# Processes to move and signal: one the owner's, one root's.
setpriv --reuid=2001 --regid=2001 --clear-groups sleep 1000 & OPID=$!; BG_PIDS+=("$OPID")
sleep 1000 & RPID=$!; BG_PIDS+=("$RPID")
lm enter other "$RPID"
# A command the owner runs, for exec.
as 2001 --groups="$GID" "$LMCTL" -s "$SOCK" run team1/b --rm -- sleep 1000 </dev/null >/dev/null 2>&1 &
BG_PIDS+=("$!")
for _ in $(seq 1 100); do lm show team1/b >/dev/null 2>&1 && [ -s "$ROOT/team1/b/_self/cgroup.procs" ] && break; sleep 0.1; done

snap=$(tree_snapshot)
# caller verb expected arguments...
while read -r who want verb args; do
        [ -n "$who" ] && [ "${who:0:1}" != "#" ] || continue
        # shellcheck disable=SC2086
        expect_rc "$want" "$who: $verb $args -> exit $want" "$who" $verb $(eval echo $args)
done <<'EOF'
OWN 0 version
OWN 0 create team1/x
OWN 0 update team1/x --pids 10
OWN 0 destroy team1/x
OWN 0 list
OWN 0 show team1
OWN 0 ps team1
OWN 0 enter team1/a $OPID
OWN 0 pause team1/a
OWN 0 resume team1/a
OWN 0 kill team1/a -s CONT
OWN 0 detect $OPID
OWN 0 run team1/a -- true
OWN 0 run --rm team1/r -- true
OWN 0 exec team1/b -- true
OWN 5 update team1 --pids 10
OWN 5 destroy -r team1
OWN 5 create other/x
OWN 5 show other
OWN 5 ps other
OWN 5 pause other
OWN 5 kill other -s CONT
OWN 5 enter team1/a $RPID
OWN 5 detect $RPID
OWN 5 run other -- true
OWN 5 run --rootfs / team1/a -- true
OWN 5 run --isolate pid team1/a -- true
OWN 5 run --user 0 team1/a -- true
OWN 2 destroy /
MEM 0 version
MEM 0 list
MEM 5 create team1/x
MEM 5 create x
MEM 5 update team1/a --pids 10
MEM 5 destroy team1/a
MEM 5 show team1
MEM 5 ps team1
MEM 5 enter team1/a $OPID
MEM 5 pause team1/a
MEM 5 resume team1/a
MEM 5 kill team1/a -s CONT
MEM 5 detect $OPID
MEM 5 run team1/a -- true
MEM 5 exec team1/b -- true
OUT 6 version
OUT 6 list
OUT 6 create x
OUT 6 show team1
OUT 6 destroy team1/a
OUT 6 run team1/a -- true
IN 0 version
IN 0 create x
IN 0 update x --pids 10
IN 0 show x
IN 0 ps /
IN 0 pause x
IN 0 resume x
IN 0 run x -- true
IN 0 destroy x
IN 2 update / --pids 10
IN 2 destroy /
IN 2 show ../a
IN 3 show /other
IN 3 show a
IN 5 enter keep $RPID
IN 3 detect $RPID
EOF
expect_eq "the owner's run ran as the owner" "$(OWN run team1/a -- id -u)" 2001
expect_eq "the owner's exec runs as the owner" "$(OWN exec team1/b -- id -u)" 2001
expect_eq "the owner lists what it owns" "$(OWN list -r | tr '\n' ' ')" "team1 team1/a team1/b team1/in team1/in/keep "
expect_eq "a member who owns nothing lists nothing" "$(MEM list -r)" ""
expect_eq "root inside team1/in sees it as its root" "$(IN show / | sed -n 's/^name *//p')" "/"
IN create y >/dev/null
expect_eq "and names below it relative to it" "$(IN list -r | tr '\n' ' ')" "keep y "
expect_eq "what it creates lands inside its container" "$(lm list team1/in | tr '\n' ' ')" "team1/in/keep team1/in/y "
expect_match "a denial names the caller and what it does not own" "$(MEM show team1 2>&1)" \
        "uid 2002 does not own \"team1\" or a container above it"
expect_match "a denied owner is told why" "$(OWN update team1 --pids 5 2>&1)" \
        "owns \"team1\" but may not change or destroy it"
expect_match "a confined caller's errors name containers as it sees them" "$(IN show /other 2>&1)" \
        "lmctl: show /other: other does not exist"
IN destroy y >/dev/null
now=$(tree_snapshot)
expect_eq "the denials changed nothing in the tree" "$(diff <(echo "$snap") <(echo "$now") | tr '\n' ' ')" ""
expect_eq "the owner's process moved into team1/a" "$(cat "$ROOT/team1/a/_self/cgroup.procs" | grep -cx "$OPID")" 1
expect_eq "root's process stayed where it was" "$(lm detect "$RPID" 2>&1)" other
check "lmctld still serves" lm version

# Bounds on the tree: an owner cannot exhaust the host.
lm create team2 --owner 2001 --max-descendants 2 --max-depth 1 >/dev/null
check "the owner creates within the bounds" OWN create team2/a
expect_rc 1 "but not deeper than max-depth" OWN create team2/a/b
OWN create team2/b >/dev/null
expect_rc 1 "nor more than max-descendants" OWN create team2/c
expect_match "naming the bound" "$ERR" "team2 allows 2 containers below it \(max-descendants\)"
expect_eq "the kernel holds the bound too (2N+1 cgroups for N containers)" "$(cat "$ROOT/team2/cgroup.max.descendants")" 5
expect_eq "and the depth (one more for the leaf)" "$(cat "$ROOT/team2/cgroup.max.depth")" 2

# Ownership survives a restart.
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
daemon_start || exit 0
chgrp $G "$SOCK"
expect_rc 0 "after a restart the owner still owns its subtree" OWN create team1/after
expect_rc 5 "and the member still does not" MEM create team1/after2
expect_rc 1 "and the bounds still hold" OWN create team2/c

kill "$OPID" "$RPID" 2>/dev/null
lm destroy -r -f team1 >/dev/null
lm destroy -r team2 >/dev/null
lm destroy other >/dev/null
daemon_stop
