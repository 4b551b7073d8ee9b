#!/bin/bash
# Proactive reclaim (lmctl reclaim NAME SIZE, memory.reclaim), shown by
# behaviour: page cache a container's process read comes back when asked,
# anonymous memory without swap does not and is said so; requests run off
# lmctld's loop, at most 2 at once per principal; only those who may use a
# container reclaim it; bad sizes are refused naming them. And stats' huge
# pages per page size. A reclaim the kernel cannot finish soon is stopped
# at lmctld's deadline, and by a destroy, without stalling lmctld.
. "$(dirname "$0")/lib.sh"
test_users
daemon_start || exit 0
chgrp $G "$SOCK"
chmod g+rw "$SOCK"
OWN() { as 2001 --groups="$GID" "$LMCTL" -s "$SOCK" "$@"; }
MEM() { as 2002 --groups="$GID" "$LMCTL" -s "$SOCK" "$@"; }
mem() { cat "$ROOT/$1/memory.current"; }
file_bytes() { awk '$1 == "file" { print $2 }' "$ROOT/$1/memory.stat"; }
# Waits up to 60 s for container NAME's memory.stat KEY to reach BYTES.
wait_stat() {
        local i
        for i in $(seq 1 300); do
                [ "$(awk -v k="$2" '$1 == k { print $2 }' "$ROOT/$1/memory.stat")" -ge "$3" ] 2>/dev/null && return 0
                sleep 0.2
        done
        return 1
}
M=$((1024 * 1024))

# Page cache: 64 MiB of the test disk read by a process in the container,
# which keeps the disk open (the kernel drops a disk's cache at its last
# close), so the pages stay and are charged here.
check "create rc --memory 512M" lm create rc --memory 512M
lm run -d rc -- sh -c 'exec 3</dev/vda; dd if=/dev/vda of=/dev/null bs=1M count=64 2>/dev/null; exec sleep 1000' >/dev/null
if wait_stat rc file $((60 * M)); then
        pass "64 MiB of page cache is charged to rc"
else
        fail "64 MiB of page cache is charged to rc" "memory.stat file is $(file_bytes rc)"
fi
before=$(mem rc) fbefore=$(file_bytes rc)
out=$(lm reclaim rc 32M 2>&1) && rc=0 || rc=$?
after=$(mem rc) fafter=$(file_bytes rc)
expect_eq "reclaim rc 32M exits 0 (the kernel reclaimed all of it)" "$rc" 0
expect_match "it says what was asked and memory before and after" "$out" "^rc: asked 32M, memory [0-9.]+[KMG]? -> [0-9.]+[KMG]? \([0-9.]+[KMG]? less\)$"
if [ $((before - after)) -ge $((30 * M)) ] && [ $((fbefore - fafter)) -ge $((30 * M)) ]; then
        pass "memory.current and the page cache fell by 32 MiB or more ($((before / M)) -> $((after / M)) MiB)"
else
        fail "memory.current and the page cache fell by 32 MiB or more" \
                "memory.current $before -> $after, file $fbefore -> $fafter"
fi
expect_eq "the process in rc lives on" "$(lm ps rc | grep -c '^ *[0-9]')" 1

# More than the container uses: the kernel is asked for its usage only, and
# the answer says not all of it came back (exit 1).
before=$(mem rc)
json=$(lm --json reclaim rc 1G 2>"$LOGS/stderr.$$") && rc=0 || rc=$?
expect_eq "reclaim rc 1G (more than it uses) exits 1" "$rc" 1
expect_match "it says the container used less than asked" "$(cat "$LOGS/stderr.$$")" "^lmctl: reclaim rc: it used [0-9.]+[KMG]?, less than the 1G asked$"
requested=$(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["requested"], j["complete"])' <<<"$json" 2>&1)
if [ "${requested% *}" -le "$before" ] 2>/dev/null && [ "${requested#* }" = False ]; then
        pass "--json: requested is at most its usage ($((${requested% *} / M)) MiB), complete false"
else
        fail "--json: requested is at most its usage, complete false" "$requested (usage $before): $json"
fi

# Anonymous memory without swap: nothing to reclaim; the kernel's refusal
# (EAGAIN) is named.
check "create anon --memory 512M --swap 0" lm create anon --memory 512M --swap 0
lm run -d anon -- sh -c 'x=lmct; while [ ${#x} -lt 33554432 ]; do x="$x$x"; done; sleep 1000' >/dev/null
wait_stat anon anon $((32 * M)) || fail "anon holds 32 MiB of anonymous memory" "memory.stat anon is short"
before=$(mem anon)
lm reclaim anon 16M >/dev/null 2>"$LOGS/stderr.$$" && rc=0 || rc=$?
expect_eq "reclaim of anonymous memory without swap exits 1" "$rc" 1
expect_match "the kernel's refusal is named" "$(cat "$LOGS/stderr.$$")" "found less than 16M to reclaim \(memory.reclaim: Resource temporarily unavailable\)"
if [ "$(awk '$1 == "anon" { print $2 }' "$ROOT/anon/memory.stat")" -ge $((32 * M)) ]; then
        pass "its 32 MiB of anonymous memory stays"
else
        fail "its 32 MiB of anonymous memory stays" "$(grep '^anon ' "$ROOT/anon/memory.stat")"
fi
lm destroy -f anon >/dev/null

# Bad input: named, nothing changed.
snap=$(tree_snapshot)
expect_rc 2 "reclaim without a size is a usage error" lm reclaim rc
expect_rc 2 "reclaim of 0 is refused" lm reclaim rc 0
expect_rc 2 "reclaim of 'lots' is refused" lm reclaim rc lots
expect_rc 2 "reclaim of 1 byte (less than a page) is refused by lmctld" lm reclaim rc 1
expect_match "naming the page size" "$(lm reclaim rc 100 2>&1)" "at least one page \([0-9]+ bytes\)"
expect_rc 3 "reclaim of a container that does not exist" lm reclaim nosuch 1M
expect_rc 2 "reclaim of the root is refused" lm reclaim / 1M
expect_eq "the tree is unchanged" "$(tree_snapshot)" "$snap"

# Who may: a member of the socket's group who owns nothing may not; the
# owner of a subtree may, in it.
check "create team --owner 2001" lm create team --owner 2001
expect_rc 5 "a user who owns nothing may not reclaim rc" MEM reclaim rc 1M
expect_rc 5 "nor may the owner of team reclaim outside it" OWN reclaim rc 1M
OWN run -d team -- sleep 1000 >/dev/null
OWN reclaim team 16M >/dev/null 2>"$LOGS/stderr.$$" && rc=0 || rc=$?
expect_eq "the owner reclaims in its own subtree (exit 1: it uses less than 16M)" "$rc" 1
expect_match "and is told how much it used" "$(cat "$LOGS/stderr.$$")" "^lmctl: reclaim team: it used [0-9.]+[KM]?, less than the 16M asked$"

# Three reclaims sent at once on one connection, read by lmctld in one go:
# prints "ID CODE MESSAGE" of each answer.
three_at_once() {
        env PYTHONPATH="$BUILD/python" python3 - "$SOCK" "$1" <<'EOF' 2>&1
import sys, lmct
from lmct import pb
c = lmct.Client(sys.argv[1])
frames = []
for i in range(3):
    b = pb.Request(id=i + 1, reclaim=pb.ReclaimRequest(name=sys.argv[2], bytes=1 << 20)).SerializeToString()
    frames.append(lmct._varint(len(b)) + b)
c._conn.sock.sendall(b"".join(frames))
for r in sorted((c._conn.recv() for _ in range(3)), key=lambda r: r.id):
    print(r.id, r.status.code, r.status.message)
EOF
}
# At most 2 at once per principal, and the loop goes on meanwhile: were a
# reclaim done in the loop, each would end before the next frame is read
# and the third would be accepted.
out=$(as 2001 --groups="$GID" bash -c "$(declare -f three_at_once); SOCK='$SOCK' BUILD='$BUILD' three_at_once team")
expect_eq "two of three sent at once are answered" "$(grep -c '^[12] 0 $' <<<"$out")" 2
expect_match "the third is refused (RESOURCE_EXHAUSTED), naming the principal's bound" "$out" \
        "^3 8 uid 2001 has 2 reclaims in progress already \\(at most 2\\)$"
out=$(three_at_once rc)
expect_eq "root's three are all answered (root has no bound of its own)" "$(grep -c '^[123] 0 $' <<<"$out")" 3
expect_match "lmctld's log names each reclaim" "$(cat "$LOGS/lmctld-$T.log")" "reclaim rc: asked 32M, memory"

# A reclaim in flight when a destroy comes, and one past its deadline: a
# container holding 512 MiB of page cache (the kernel takes hundreds of
# milliseconds to reclaim it in this VM). The reclaim and the destroy are
# sent at once on one connection: lmctld reads both in one go, so the
# reclaim is still in the kernel when the destroy is handled.
# Nothing else holds the disk open (its cache is dropped at the last
# close), and each reads a part of it no other read.
lm destroy -f rc >/dev/null
cache() { # NAME SKIP_MIB: 512 MiB of the disk read by a process that stays
        lm create "$1" --memory 1G >/dev/null
        lm run -d "$1" -- sh -c "exec 3</dev/vda; dd if=/dev/vda of=/dev/null bs=1M count=512 skip=$2 2>/dev/null; exec sleep 1000" >/dev/null
        wait_stat "$1" file $((500 * M)) && pass "$1 holds 512 MiB of page cache" ||
                fail "$1 holds 512 MiB of page cache" "memory.stat file is $(file_bytes "$1")"
}
cache big 512
out=$(env PYTHONPATH="$BUILD/python" python3 - "$SOCK" <<'EOF' 2>&1
import sys, lmct
from lmct import pb
c = lmct.Client(sys.argv[1])
frames = b""
for r in (pb.Request(id=1, reclaim=pb.ReclaimRequest(name="big", bytes=512 << 20)),
          pb.Request(id=2, destroy=pb.DestroyRequest(name="big", force=True))):
    body = r.SerializeToString()
    frames += lmct._varint(len(body)) + body
c._conn.sock.sendall(frames)
for r in sorted((c._conn.recv() for _ in range(2)), key=lambda r: r.id):
    print(r.id, r.status.code, r.status.message)
EOF
)
expect_match "the reclaim in flight is stopped by the destroy: UNAVAILABLE" "$out" \
        "^1 14 reclaim of big stopped: it is being destroyed \(memory [0-9.]+M -> [0-9.]+M\)$"
expect_match "and the destroy -f then succeeds" "$out" "^2 0 $"
expect_eq "big is gone" "$(test -d "$ROOT/big" && echo present || echo gone)" gone
expect_match "lmctld's log says it stopped the reclaim first" "$(cat "$LOGS/lmctld-$T.log")" \
        "destroy big: stopping the reclaims in its subtree first"

# The deadline: lmctld again, with --reclaim-timeout 0.1.
daemon_stop
daemon_start --reclaim-timeout 0.1 || exit 0
cache dl 1536
lm reclaim dl 512M >/dev/null 2>"$LOGS/slow.$$" && rc=0 || rc=$?
expect_eq "a reclaim past lmctld's --reclaim-timeout is stopped: exit 6 (UNAVAILABLE)" "$rc" 6
expect_match "naming the deadline and the memory before and after" "$(cat "$LOGS/slow.$$")" \
        "^lmctl: reclaim dl: reclaim of dl stopped after 0.100 s, the kernel still at work \(memory [0-9.]+M -> [0-9.]+M\)$"
expect_rc 0 "lmctld answers after it" lm version
lm destroy -f dl >/dev/null

# Huge pages in stats: per page size, the bound and the refusals.
if [ -e "$ROOT/cgroup.controllers" ] && grep -qw hugetlb "$ROOT/cgroup.controllers"; then
        check "create hp --hugetlb 2MB=4M" lm create hp --hugetlb 2MB=4M
        expect_match "stats gives the page size, its use and its bound" "$(lm stats hp)" "^hugetlb 2MB +0 in use, limit 4M \(limit hits 0\)$"
        expect_match "stats --json carries hugetlb per page size" "$(lm --json stats hp | tr -d ' \n')" '"hugetlb":\[\{"page_size":"2MB","current":0,"max":4194304,"limit_hits":0\}'
else
        fail "stats of huge pages" "the hugetlb controller is not offered below $ROOT"
fi

daemon_alive && pass "lmctld is alive" || fail "lmctld is alive" "not answering"

# lmctld stopping while a reclaim is in the kernel (its thread seen in
# /proc): it interrupts the thread, leaves it to end on its own, and exits
# cleanly; the client hears that lmctld is gone (exit 6). The sanitizer
# build reports no leak or error (checked for every test by run.sh).
daemon_stop
daemon_start || exit 0
cache sd 2560
threads=$(ls "/proc/$DPID/task" | wc -l)
lm reclaim sd 512M >/dev/null 2>"$LOGS/slow.$$" &
rpid=$!
for _ in $(seq 1 400); do
        [ "$(ls "/proc/$DPID/task" | wc -l)" -gt "$threads" ] && break
        sleep 0.005
done
if [ "$(ls "/proc/$DPID/task" | wc -l)" -gt "$threads" ]; then
        pass "the reclaim's thread runs in lmctld"
else
        fail "the reclaim's thread runs in lmctld" "no new thread in 2 s: $(cat "$LOGS/slow.$$")"
fi
daemon_stop
wait "$rpid" && rc=0 || rc=$?
expect_eq "the client of a reclaim cut short by lmctld's stop: exit 6" "$rc" 6
