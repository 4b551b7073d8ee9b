#!/bin/bash
# Watching containers: the event stream driven by the kernel's
# notifications (an OOM kill, a container emptied with its command's exit
# status, frozen and thawed, the memory and pids limits reached, lmctld's
# own changes with who asked), a subscriber that never reads, stats under
# load against the kernel's files, /metrics through a real Prometheus
# parser, and an agent in Python speaking the protocol on its own.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
PORT=$((9200 + $$ % 500))
EV=$LOGS/events-$T.$$

# wait_event KIND NAME [SECONDS]: the JSON line of the first such event.
wait_event() {
        local i
        for i in $(seq 1 $((${3:-10} * 10))); do
                grep -m 1 "\"kind\":\"$1\",\"name\":\"$2\"" "$EV" && return 0
                sleep 0.1
        done
        return 1
}

# A long client timeout: the subscriber that never reads must outlast the flood.
daemon_start --metrics-listen "127.0.0.1:$PORT" --client-timeout 300 || exit 0
"$LMCTL" -s "$SOCK" --json events -r > "$EV" 2>&1 & SUB=$!
BG_PIDS+=("$SUB")
for _ in $(seq 1 50); do grep -q subscribed "$EV" && break; sleep 0.1; done
expect_match "a subscription is answered with a subscribed event" "$(head -n 1 "$EV")" '"kind":"subscribed"'

# lmctld's own changes, with who asked.
lm create oomc --memory 32M --swap 0 >/dev/null
expect_match "created, with the caller's uid and pid" "$(wait_event created oomc)" '"uid":0,"pid":[1-9]'
lm update oomc --pids 100 >/dev/null
check "updated" wait_event updated oomc

# An OOM kill, from memory.events.
lm run oomc -- "$HELPER" alloc 100 >/dev/null 2>&1; rc=$?
t_end=$(date +%s%N)
expect_eq "a 100M allocation under 32M is OOM-killed" "$rc" 137
line=$(wait_event oom_kill oomc 10)
expect_match "an oom_kill event names the container" "$line" '"kind":"oom_kill","name":"oomc","count":1'
t_ev=$(echo "$line" | sed -n 's/.*"time_ns":\([0-9]*\).*/\1/p')
echo "    oom_kill event seen $(( (${t_ev:-0} - t_end) / 1000000 )) ms after lmctl run returned (negative: before)"
check "and an oom event before it" wait_event oom oomc
check "memory_max: the limit was reached" wait_event memory_max oomc

# memory.high exceeded: reclaim and throttling, and an event (the
# allocation crawls under throttling; it is killed once the event came).
lm create mh --memory-high 16M >/dev/null
"$LMCTL" -s "$SOCK" run mh -- "$HELPER" alloc 64 >/dev/null 2>&1 &
MHR=$!
BG_PIDS+=("$MHR")
check "memory_high when memory.high is exceeded" wait_event memory_high mh 30
lm kill mh >/dev/null
wait "$MHR" 2>/dev/null

# The container empties: with the exit status of the command lmctld ran.
lm create e1 >/dev/null
lm run e1 -- sh -c 'sleep 0.3; exit 4' >/dev/null 2>&1
check "populated when the command starts" wait_event populated e1
expect_match "empty when its last process leaves, with the command's exit status" "$(wait_event empty e1)" \
        '"last_run":\{.*"exit_code":4'

# Frozen and thawed around pause and resume.
lm create fz >/dev/null
lm run -d fz -- sleep 1000 >/dev/null
lm pause fz >/dev/null
check "frozen on pause" wait_event frozen fz
lm resume fz >/dev/null
check "thawed on resume" wait_event thawed fz

# The pids limit reached, from pids.events.
lm create pz --pids 4 >/dev/null
lm run pz -- "$HELPER" forkloop 20 >/dev/null 2>&1
expect_match "pids_max when forks hit pids.max" "$(wait_event pids_max pz)" '"count":[1-9]'

lm destroy -f fz >/dev/null
expect_match "destroyed, with who asked" "$(wait_event destroyed fz)" '"uid":0'
n_ev=$(wc -l < "$EV")
expect_num "the subscriber saw the stream ($n_ev events)" "$n_ev" 15 100000

# Subscribers that stop receiving (shutdown of their reading side): the
# next event finds each gone as it is sent, and lmctld lets them go while it
# walks its subscribers; it serves on.
"$PY" - "$SOCK" > "$LOGS/shut.$$" <<'EOF' & SHUT=$!
import socket, sys, time
subs = []
for i in range(4):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(bytes([7, 0x08, 1 + i, 0xd2, 0x01, 0x02, 0x10, 0x01]))  # Request{id, events{recursive}}
    s.recv(4096)                         # subscribed
    s.shutdown(socket.SHUT_RD)           # lmctld's next write gets EPIPE
    subs.append(s)
print("ready", flush=True)
time.sleep(10)                           # holding the sockets open
EOF
BG_PIDS+=("$SHUT")
for _ in $(seq 1 100); do grep -q ready "$LOGS/shut.$$" && break; sleep 0.1; done
check "an event sent to four subscribers that stopped receiving" lm create after-shut
check "lmctld serves on" lm destroy after-shut
check "and lives" kill -0 "$DPID"
kill "$SHUT" 2>/dev/null; wait "$SHUT" 2>/dev/null

# A subscriber that never reads: it gets a "dropped" count, nobody waits.
DONE=$LOGS/flood-done.$$
rm -f "$DONE"
"$PY" - "$SOCK" "$DONE" > "$LOGS/slow-sub.$$" 2>&1 <<'EOF' & SLOW=$!
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(bytes([7, 0x08, 1, 0xd2, 0x01, 0x02, 0x10, 0x01]))  # Request{id 1, events{recursive}}
for _ in range(2400):                    # not reading while events pile up
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.1)
s.settimeout(30); data = b""
while b"dropped" not in data:
    chunk = s.recv(1 << 20)
    if not chunk: break
    data += chunk
print("got dropped" if b"dropped" in data else "no dropped event")
EOF
BG_PIDS+=("$SLOW")
sleep 1
out=$("$BUILD/tests/lmct-load" "$SOCK" 8 2000 flood 2>&1) && rc=0 || rc=$?
echo "    $out"
expect_eq "16,000 requests (about 10,000 events) while a subscriber never reads: no error" "$rc" 0
check "lmctld answers others meanwhile" lm version
touch "$DONE"
# The count goes out with the next event once the subscriber has room.
sleep 3
lm create after-flood >/dev/null && lm destroy after-flood >/dev/null
wait "$SLOW"
expect_eq "the slow subscriber is told how many events it missed" "$(cat "$LOGS/slow-sub.$$")" "got dropped"

# A memory threshold (--memory-above), and PSI triggers (--pressure), each
# on a subscription of its own.
# sub_start FILE ARGS...: a subscriber writing JSON lines to FILE.
sub_start() {
        local f=$1 i
        shift
        "$LMCTL" -s "$SOCK" --json events "$@" > "$f" 2>&1 &
        BG_PIDS+=("$!")
        for i in $(seq 1 50); do grep -q subscribed "$f" && return 0; sleep 0.1; done
        return 1
}
lm create thr --memory 256M >/dev/null
check "a subscription with --memory-above 32M is accepted" sub_start "$EV.thr" thr --memory-above 32M
lm run -d thr -- "$HELPER" alloc 64 >/dev/null
line=$(EV=$EV.thr wait_event memory_above thr 20)
expect_match "memory_above when a 64M allocation passes 32M, with the usage and threshold" "$line" \
        '"memory_bytes":[0-9]+,"threshold":33554432'
b=$(echo "$line" | sed -n 's/.*"memory_bytes":\([0-9]*\).*/\1/p')
expect_num "the usage it reports is at least the threshold (bytes)" "${b:-0}" 33554432 268435456
expect_eq "nothing about falling back yet" "$(grep -c memory_below "$EV.thr")" 0
lm kill thr >/dev/null
expect_match "memory_below once the allocation is gone" "$(EV=$EV.thr wait_event memory_below thr 20)" \
        '"threshold":33554432'
expect_eq "a crossing is reported once each way" \
        "$(grep -c memory_above "$EV.thr"):$(grep -c memory_below "$EV.thr")" "1:1"

# A threshold on a container whose memory is not accounted yet turns the
# accounting on down to it, and sets no limit.
lm create -p acct/in >/dev/null
expect_eq "acct/in has no memory files before" "$(test -e "$ROOT/acct/in/memory.current" && echo yes || echo no)" no
check "--memory-above on it is accepted" sub_start "$EV.acct" acct/in --memory-above 8M
expect_eq "memory is accounted there now, without a limit" "$(cat "$ROOT/acct/in/memory.max" 2>&1)" max

lm create psi --cpu 2 >/dev/null
check "a subscription with a PSI trigger cpu:some:100ms/1s is accepted" \
        sub_start "$EV.psi" psi --pressure cpu:some:100ms/1s --pressure memory:full:500ms/1s
sleep 1.5
expect_eq "no pressure event while the container is idle" "$(grep -c '"kind":"pressure"' "$EV.psi")" 0
# Four spinners on the VM's two CPUs: each waits for a CPU half the time.
for _ in 1 2 3 4; do lm run -d psi -- "$HELPER" spin >/dev/null; done
line=$(EV=$EV.psi wait_event pressure psi 20)
expect_match "a pressure event once four spinners share two CPUs, naming the trigger" "$line" \
        '"trigger":\{"resource":"cpu","full":false,"stall_us":"?100000"?,"window_us":"?1000000"?\}'
expect_match "with the kernel's cpu.pressure line" "$line" '"pressure":\{"avg10":[0-9.]+'
expect_eq "the memory trigger stays silent (no memory stall)" \
        "$(grep '"kind":"pressure"' "$EV.psi" | grep -c '"resource":"memory"')" 0
lm kill psi >/dev/null
# A container destroyed under a live trigger and threshold: lmctld lets go
# of its files (the trigger, memory.current, memory.peak).
lm create gone >/dev/null
check "a subscription with a trigger and a threshold on another container" \
        sub_start "$EV.gone" gone --pressure io:100ms/1s --memory-above 1G
fds0=$(ls "/proc/$DPID/fd" | wc -l)
check "that container can still be destroyed" lm destroy gone
expect_match "and its subscriber hears it" "$(EV=$EV.gone wait_event destroyed gone 10)" '"kind":"destroyed"'
sleep 0.5
fds1=$(ls "/proc/$DPID/fd" | wc -l)
expect_eq "lmctld closed the trigger, memory.current and memory.peak" "$((fds0 - fds1))" 3
expect_rc 2 "a PSI window under 500 ms is refused (invalid argument)" lm events psi --pressure cpu:10ms/100ms
expect_match "naming the trigger and the range" "$ERR" 'pressure trigger 1: a window of 100000 us is outside 500000..10000000'
expect_rc 2 "a stall longer than its window is refused" lm events psi --pressure io:2s/1s
expect_match "naming the stall and the window" "$ERR" 'a stall of 2000000 us is outside 1..1000000 \(its window\)'
expect_rc 2 "an unknown resource is a usage error" lm events psi --pressure disk:1s/2s
expect_rc 2 "so is --memory-above 0" lm events psi --memory-above 0

# Stats under load, against the kernel's own files.
lm create busy --cpu 0.2 >/dev/null
lm run -d busy -- "$HELPER" spin >/dev/null
sleep 2
s1=$(lm --json stats busy)
sleep 2
s2=$(lm --json stats busy)
u1=$(echo "$s1" | sed -n 's/.*"cpu_usage_us":\([0-9]*\).*/\1/p' | head -n 1)
u2=$(echo "$s2" | sed -n 's/.*"cpu_usage_us":\([0-9]*\).*/\1/p' | head -n 1)
t1=$(echo "$s1" | sed -n 's/.*"cpu_nr_throttled":\([0-9]*\).*/\1/p' | head -n 1)
t2=$(echo "$s2" | sed -n 's/.*"cpu_nr_throttled":\([0-9]*\).*/\1/p' | head -n 1)
expect_num "CPU time grows under load (us)" $((u2 - u1)) 1 100000000
expect_num "and so do throttled periods at --cpu 0.2" $((t2 - t1)) 1 100000000
lm pause busy >/dev/null
s3=$(lm --json stats busy)
expect_eq "paused, stats' CPU time is the kernel's cpu.stat usage_usec" \
        "$(echo "$s3" | sed -n 's/.*"cpu_usage_us":\([0-9]*\).*/\1/p' | head -n 1)" \
        "$(awk '$1 == "usage_usec" { print $2 }' "$ROOT/busy/cpu.stat")"
expect_eq "and its throttled periods cpu.stat's nr_throttled" \
        "$(echo "$s3" | sed -n 's/.*"cpu_nr_throttled":\([0-9]*\).*/\1/p' | head -n 1)" \
        "$(awk '$1 == "nr_throttled" { print $2 }' "$ROOT/busy/cpu.stat")"
expect_match "stats has memory.stat, memory.events and PSI" "$(echo "$s3" | tr -d ' \n')" \
        '"memory_stat":\[\{"key":"anon".*"memory_events":\[.*"memory_some":\{"avg10"'

# /metrics, parsed by the Prometheus client library's own parser.
met=$("$PY" - "$PORT" "$SOCK" <<'EOF'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=30).read().decode()
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if s.labels.get("name") in ("oomc", "busy"):
            print("%s %s %r" % (s.name, s.labels["name"], s.value))
EOF
)
echo "$met" > "$LOGS/metrics-$T.$$"
mval() { echo "$met" | awk -v n="$1" -v c="$2" '$1 == n && $2 == c { print $3 }'; }
expect_eq "/metrics parses; the OOM kill is container_oom_events_total" "$(mval container_oom_events_total oomc)" 1.0
expect_eq "the memory limit is container_spec_memory_limit_bytes" "$(mval container_spec_memory_limit_bytes oomc)" \
        "$((32 << 20)).0"
expect_eq "the CPU quota of busy (0.2 CPU) is 20000 us" "$(mval container_spec_cpu_quota busy)" 20000.0
u3=$(echo "$s3" | sed -n 's/.*"cpu_usage_us":\([0-9]*\).*/\1/p' | head -n 1)
expect_eq "CPU seconds match stats for the paused container" "$(mval container_cpu_usage_seconds_total busy)" \
        "$("$PY" -c "print(repr(${u3:-0} / 1e6))")"
expect_eq "and throttled periods match the kernel's" "$(mval container_cpu_cfs_throttled_periods_total busy)" \
        "$(awk '$1 == "nr_throttled" { print $2 ".0" }' "$ROOT/busy/cpu.stat")"
psi_total() { awk -v k="$2" '$1 == k { sub("total=", "", $5); print $5 }' "$ROOT/busy/$1.pressure"; }
expect_eq "PSI: the paused container's CPU waiting time is cpu.pressure's some total" \
        "$(mval container_pressure_cpu_waiting_seconds_total busy)" "$("$PY" -c "print(repr($(psi_total cpu some) / 1e6))")"
expect_eq "and its memory stall time memory.pressure's full total" \
        "$(mval container_pressure_memory_stalled_seconds_total busy)" "$("$PY" -c "print(repr($(psi_total memory full) / 1e6))")"
expect_match "the OOM-killed container stalled on memory (container_pressure_memory_waiting_seconds_total)" \
        "$(mval container_pressure_memory_waiting_seconds_total oomc)" '^[0-9.e-]+$'
expect_match "and every PSI family is there for it" \
        "$(echo "$met" | awk '$2 == "oomc" && $1 ~ /^container_pressure_/ { print $1 }' | sort | tr '\n' ' ')" \
        "^container_pressure_cpu_stalled_seconds_total container_pressure_cpu_waiting_seconds_total container_pressure_io_stalled_seconds_total container_pressure_io_waiting_seconds_total container_pressure_memory_stalled_seconds_total container_pressure_memory_waiting_seconds_total $"
expect_eq "/metrics other paths: 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/x")" 404
lm destroy -f busy >/dev/null

# An agent in Python, with the lmct package as built (python/lmct).
expect_eq "the build made the Python package, its messages generated from proto/lmct.proto" \
        "$(cd "$BUILD/python/lmct" 2>&1 && ls __init__.py lmct_pb2.py 2>&1 | tr '\n' ' ')" "__init__.py lmct_pb2.py "
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$BUILD/python "$PY" "$(dirname "$0")/../agents/agent.py" "$SOCK" "pyagent" | sed "s/^\(PASS\|FAIL\): /\1: $TD: /"

kill "$SUB" 2>/dev/null
for c in oomc e1 pz mh thr psi; do lm destroy -f "$c" >/dev/null; done
lm destroy -r acct >/dev/null
expect_eq "nothing left" "$(lm list)" ""
daemon_stop
