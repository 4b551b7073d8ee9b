#!/bin/bash
# lmctl top as an operator sees it: a busy container is on top of the live
# view under tmux, a key sorts by another column, q quits; --batch prints
# plain frames from one stats request per refresh.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

# Limits turn on the memory and pids controllers down to both (a column
# whose controller is off for a container shows "-").
lm create -p a/busy --pids 100 --memory 1G >/dev/null
lm create a/idle --pids 100 --memory 1G >/dev/null
spawn_in a/busy spin
# More processes, no CPU: three sleepers in a/idle.
for _ in 1 2 3; do
        sleep 600 &
        BG_PIDS+=($!)
        lm enter a/idle $! >/dev/null
done

# The first row of containers of the last frame of TEXT (after the title,
# the totals and the headings).
first_row() { awk '/^lmctl top/ { n = 0 } { n++; if (n == 4) row = $1 } END { print row }' <<<"$1"; }

expect_rc 0 "top --batch -n 2" lm top a -b -n 2 -d 1
expect_eq "two frames" "$(grep -c '^lmctl top a:' <<<"$OUT")" 2
expect_eq "the busy container is on top (by CPU)" "$(first_row "$OUT")" a/busy
cpu=$(awk '$1 == "a/busy" { v = $2 } END { print v }' <<<"$OUT")
expect_num "its CPU% is about one CPU's" "$cpu" 60 130
expect_eq "the idle one shows its 3 processes" "$(awk '$1 == "a/idle" { v = $4 } END { print v }' <<<"$OUT")" 3
expect_rc 0 "top -o pids" lm top a -b -n 1 -d 0.5 -o pids
expect_eq "sorted by pids, the idle container is on top" "$(first_row "$OUT")" a/idle
expect_match "the totals are the container's own" "$(sed -n 2p <<<"$OUT")" "^total: CPU [0-9.]+%, memory [^,]+, pids [4-9]$"

# Live, in a terminal.
S=lmct-top-$$
tmux new-session -d -s "$S" -x 132 -y 20 "$LMCTL -s $SOCK top a -d 0.5"
sleep 2.5
screen=$(tmux capture-pane -p -t "$S" 2>&1)
expect_eq "under tmux, the busy container is on top" "$(first_row "$screen")" a/busy
expect_match "and the view is redrawn in place (one title on the screen)" "$(grep -c '^lmctl top a:' <<<"$screen")" "^1$"
tmux send-keys -t "$S" p
sleep 1
expect_eq "the key p sorts by pids: the idle container is on top" "$(first_row "$(tmux capture-pane -p -t "$S")")" a/idle
tmux send-keys -t "$S" q
sleep 1
expect_eq "q quits" "$(tmux has-session -t "$S" 2>/dev/null && echo running || echo ended)" ended
tmux kill-session -t "$S" 2>/dev/null

expect_rc 2 "an unknown column is refused: exit 2" lm top a -b -n 1 -o bogus
expect_match "naming the columns" "$ERR" "give cpu, memory, pids"
expect_rc 2 "two names: exit 2" lm top a b
expect_rc 3 "a container that does not exist: exit 3" lm top nosuch -b -n 1
daemon_stop
