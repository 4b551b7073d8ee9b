#!/bin/bash
# The cgroup tree is the state: a daemon restarted over an existing tree,
# after a clean stop or a kill -9, finds every container, limit, label and
# process; an update interrupted midway is undone, labels included.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
daemon_start || exit 0
lm create containerA --cpu 10 --memory 4G >/dev/null
lm create containerA/sub1 --cpu 6 --pids 50 >/dev/null
lm create -p a/b/c --memory-high 1G --label job=batch-7 --label owner.team=search >/dev/null
lm create labelled --label tier=gold >/dev/null
"$HELPER" -w "/lmct-test-$T-$$/containerA/sub1/_self" spin & SP=$!; BG_PIDS+=("$SP")
lm enter containerA/sub1 "$SP"
list_before=$(lm list -r)
limits_table() { lm show "$1" | sed -n '/^LIMIT/,/^USAGE/p'; }
show_before=$(limits_table containerA/sub1; limits_table a/b/c)
labels_before=$(lm show a/b/c | grep '^labels')
expect_eq "labels as set" "$labels_before" "labels      job=batch-7 owner.team=search"

for how in TERM KILL; do
        kill -$how "$DPID"; wait "$DPID" 2>/dev/null; DPID=
        daemon_start || exit 0
        expect_eq "after SIGTERM/KILL ($how) list -r finds every container" "$(lm list -r)" "$list_before"
        show_now=$(limits_table containerA/sub1; limits_table a/b/c)
        expect_eq "after $how the limits are as the kernel holds them" "$show_now" "$show_before"
        expect_eq "after $how the process still runs in its container" "$(lm detect "$SP")" "containerA/sub1"
        expect_match "after $how show counts its process" "$(lm show containerA/sub1)" '^processes +1$'
        expect_rc 4 "after $how a duplicate create is still refused" lm create a/b/c
        expect_eq "after $how the labels are as they were" "$(lm show a/b/c | grep '^labels')" "$labels_before"
        expect_eq "after $how a label selector finds them" "$(lm list -r --label owner.team=search --label job)" "a/b/c"
done
# An update of limits and labels that lmctld did not finish: the intent
# record it leaves (as a kill -9 midway would) is undone at the next start.
lm update labelled --cpu 2 >/dev/null
daemon_stop
"$PY" - "$ROOT" <<'EOF'
import os, sys
root = sys.argv[1]
os.setxattr(root + "/labelled", "trusted.lmct.labels", b"tier=bronze\n")
with open(root + "/labelled/cpu.max", "w") as f: f.write("50000 100000")
os.setxattr(root, "trusted.lmct.intent", b"update labelled\ncpu.max=200000 100000\nlabels=tier=gold\tzone=b\n")
EOF
daemon_start || exit 0
expect_eq "an interrupted update's labels are put back" "$(lm show labelled | grep '^labels')" "labels      tier=gold zone=b"
expect_eq "and its limits" "$(cat "$ROOT/labelled/cpu.max")" "200000 100000"
expect_match "lmctld says so" "$(cat "$LOGS/lmctld-$T.log")" "update labelled was interrupted by the previous lmctld: undone"
lm destroy labelled >/dev/null
# A connection that closes before its answer begins (lmctld died): lmctl
# sends the request once more on a new connection, and says so when the
# answer shows the first attempt may have taken effect.
PROXY=/run/lmct-proxy-$T-$$.sock
COUNT=$LOGS/proxy-count.$$
proxy() {
        python3 "$(dirname "$0")/drop-proxy.py" "$PROXY" "$SOCK" "$1" "$COUNT" & PP=$!
        BG_PIDS+=("$PP")
        for _ in $(seq 1 100); do [ -S "$PROXY" ] && break; sleep 0.05; done
}
proxy close-first
expect_rc 0 "a request whose connection closed unanswered is sent again and succeeds" "$LMCTL" -s "$PROXY" create retried
expect_eq "on a second connection" "$(cat "$COUNT")" 2
expect_rc 0 "and the container exists once" lm show retried
kill "$PP"; wait "$PP" 2>/dev/null; rm -f "$PROXY"
proxy lose-answer
expect_rc 4 "a create whose answer was lost and that was sent again finds the container" "$LMCTL" -s "$PROXY" create lost
expect_match "and says the first attempt may have created it" "$ERR" "first attempt may have done it"
kill "$PP"; wait "$PP" 2>/dev/null; rm -f "$PROXY"
proxy close-all
expect_rc 6 "lmctl tries twice, not more, then says lmctld is unreachable" "$LMCTL" -s "$PROXY" list
expect_eq "two connections" "$(cat "$COUNT")" 2
expect_match "naming the cause" "$ERR" "connection closed"
kill "$PP"; wait "$PP" 2>/dev/null; rm -f "$PROXY" "$COUNT"
lm destroy retried >/dev/null; lm destroy lost >/dev/null

kill -9 "$SP"; sleep 0.2
expect_rc 0 "and the adopted tree can be destroyed" lm destroy -r a
lm destroy -r containerA >/dev/null
daemon_stop
