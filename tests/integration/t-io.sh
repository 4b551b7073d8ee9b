#!/bin/bash
# I/O per device and huge pages, shown by behaviour on the test VM's blank
# virtio disk (/dev/vda) and a few reserved huge pages: a reader held to
# --io-max's bytes and operations per second, a bound from an ancestor,
# a removed bound; a per-device weight that wins a contended read once
# the host turns iocost on; a huge page mapping past --hugetlb refused at
# mmap(); all kept across a restart of lmctld.
. "$(dirname "$0")/lib.sh"
PORT=$((20000 + $$ % 10000))
daemon_start --metrics-listen "127.0.0.1:$PORT" || exit 0

if [ ! -b /dev/vda ]; then
        fail "the VM has its blank disk /dev/vda" "no block device /dev/vda (tests/vm/boot.sh attaches one)"
        daemon_stop
        exit 0
fi
DEV=$(printf '%d:%d' "0x$(stat -c %t /dev/vda)" "0x$(stat -c %T /dev/vda)")
limits() { lm show "$1" | sed -n '/^LIMIT/,/^USAGE/p'; }
# dd's own figures of its last run in container NAME: "BYTES SECONDS".
# Direct I/O: every read reaches the disk, none comes from the page cache.
dd_in() {
        local name=$1; shift
        lm run "$name" -- dd if=/dev/vda of=/dev/null iflag=direct "$@" 2>&1 |
                awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) s = $(i - 1); print $1, s }'
}
rate() { awk -v b="$1" -v s="$2" -v u="${3:-1}" 'BEGIN { if (s > 0) printf "%.2f", b / u / s }'; }

check "create free" lm create free
read -r b s <<<"$(dd_in free bs=64k count=256)"
free_mibs=$(rate "$b" "$s" 1048576)
echo "    unthrottled: 16 MiB in ${s:-?} s, $free_mibs MiB/s"
expect_num "an unthrottled direct read is well above the bound tested below (MiB/s)" "$free_mibs" 8 100000

# Bytes per second, the disk named by its path.
check "create rd --io-max /dev/vda:rbps=2M" lm create rd --io-max /dev/vda:rbps=2M
expect_eq "io.max holds the bound, keyed by the disk's numbers" "$(cat "$ROOT/rd/io.max")" \
        "$DEV rbps=2097152 wbps=max riops=max wiops=max"
read -r b s <<<"$(dd_in rd bs=64k count=128)"
echo "    8 MiB at rbps=2M: ${s:-?} s"
expect_num "a reader in the container is held to 2 MiB/s, within 10%" "$(rate "$b" "$s" 1048576)" 1.8 2.2
expect_match "show gives the bound" "$(limits rd)" "^io-max $DEV +rbps=2M +rbps=2M$"

# An ancestor's bound holds below it; the tighter one wins.
check "create rd/kid --io-max $DEV:rbps=8M,riops=40 (by numbers)" lm create rd/kid --io-max "$DEV:rbps=8M,riops=40"
expect_match "show: the child's own bounds, and the tighter of each in effect" "$(limits rd/kid)" \
        "^io-max $DEV +rbps=8M,riops=40 +rbps=2M,riops=40$"
read -r b s <<<"$(dd_in rd/kid bs=4k count=160)"
echo "    160 reads of 4 KiB at riops=40: ${s:-?} s"
expect_num "operations per second are held to 40, within 10%" "$(rate 160 "$s")" 36 44
check "update rd/kid --io-max $DEV:riops=max" lm update rd/kid --io-max "$DEV:riops=max"
read -r b s <<<"$(dd_in rd/kid bs=64k count=64)"
expect_num "the child is still held to its parent's 2 MiB/s" "$(rate "$b" "$s" 1048576)" 1.8 2.2

# A bound removed: the line leaves io.max, the reader runs free.
check "update rd --io-max /dev/vda:rbps=max" lm update rd --io-max /dev/vda:rbps=max
expect_eq "io.max has no line for the disk" "$(cat "$ROOT/rd/io.max")" ""
check "update rd/kid --io-max /dev/vda:rbps=max" lm update rd/kid --io-max /dev/vda:rbps=max
read -r b s <<<"$(dd_in rd/kid bs=64k count=128)"
expect_num "and reads run at the disk's pace again (MiB/s)" "$(rate "$b" "$s" 1048576)" 4 100000

# Refusals: a partition-less number, a file, a zero, and the tree unchanged.
snap=$(tree_snapshot)
expect_rc 3 "a disk the kernel does not have is refused" lm create nodisk --io-max 4000:4000:rbps=1M
expect_match "naming it" "$ERR" "io-max 4000:4000: no such disk"
expect_rc 2 "a file that is not a block device is refused by lmctl" lm create nofile --io-max /etc/hostname:rbps=1M
expect_match "naming it" "$ERR" "/etc/hostname is not a block device"
expect_rc 2 "rbps=0 is refused" lm create zero --io-max /dev/vda:rbps=0
expect_eq "nothing was created" "$(tree_snapshot)" "$snap"

# A weight for one disk: the kernel takes it only where iocost runs, a
# choice of the host's administrator (io.cost.qos exists at the root only).
check "create hi" lm create hi
# Once turned on for a disk, the kernel keeps iocost's policy active on it
# until the next boot: the refusal shows in the first run of a boot only.
if ! grep -q "^$DEV " "$CGMOUNT/io.cost.qos"; then
        expect_rc 7 "a device weight without iocost on the disk is refused" lm update hi --io-weight /dev/vda:1000
        expect_match "saying how the host turns it on" "$ERR" "io-weight $DEV: the device has no weight-based I/O control; enable it .*io.cost.qos"
else
        echo "    iocost was turned on for $DEV earlier in this boot: its refusal was shown then"
fi
# The host's side: iocost on, with a fixed cost model of the VM's disk
# (2,000 reads per second, well under what it does) and a fixed rate, so
# that two readers contend for iocost's budget and the weights share it.
echo "$DEV ctrl=user model=linear rbps=400000000 rseqiops=2000 rrandiops=2000 wbps=400000000 wseqiops=2000 wrandiops=2000" \
        > "$CGMOUNT/io.cost.model"
echo "$DEV enable=1 ctrl=user rpct=0 rlat=250000 wpct=0 wlat=250000 min=100 max=100" > "$CGMOUNT/io.cost.qos"
check "with iocost on: update hi --io-weight /dev/vda:1000" lm update hi --io-weight /dev/vda:1000
check "create lo --io-weight $DEV:50" lm create lo --io-weight "$DEV:50"
expect_match "io.weight holds the device's line" "$(cat "$ROOT/hi/io.weight")" "^$DEV 1000$"
expect_match "show gives the weight" "$(limits hi)" "^io-weight $DEV +1000 +-$"
# Contended: both read at once for 4 s.
readers=()
for c in hi lo; do
        lm run "$c" -- timeout -s INT -k 3 4 dd if=/dev/vda of=/dev/null bs=4k iflag=direct > "$LOGS/io-$c.$$" 2>&1 &
        readers+=($!)
done
wait "${readers[@]}"
bh=$(awk '/copied/ { print $1 }' "$LOGS/io-hi.$$"); bl=$(awk '/copied/ { print $1 }' "$LOGS/io-lo.$$")
[ -n "$bh" ] && [ -n "$bl" ] || echo "    the readers said: $(cat "$LOGS/io-hi.$$" "$LOGS/io-lo.$$" | tr '\n' ' ')"
echo "    contended for 4 s: weight 1000 read ${bh:-?} bytes, weight 50 read ${bl:-?}"
expect_num "the heavier weight reads at least twice as much" "$(rate "${bh:-0}" "${bl:-0}")" 2 100000
check "update hi --io-weight /dev/vda:default" lm update hi --io-weight /dev/vda:default
expect_eq "the device's line is gone" "$(grep -c "^$DEV " "$ROOT/hi/io.weight")" 0
echo "$DEV enable=0" > "$CGMOUNT/io.cost.qos"
lm destroy hi >/dev/null
lm destroy lo >/dev/null

# Huge pages: the host reserves a few; the container may map up to its bound.
echo 8 > /proc/sys/vm/nr_hugepages
HUGE='import mmap, sys
n = int(sys.argv[1]) << 20
try:
    m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
except OSError as e:
    print("refused:", e.strerror); sys.exit(3)
for i in range(0, n, 2 << 20):
    m[i] = 1
print("mapped", n >> 20, "MiB")'
expect_num "the VM reserved huge pages of 2 MB" "$(cat /proc/sys/vm/nr_hugepages)" 4 8
check "create huge --hugetlb 2MB=4M" lm create huge --hugetlb 2MB=4M
expect_eq "hugetlb.2MB.max and its reservation bound are 4 MiB" \
        "$(cat "$ROOT/huge/hugetlb.2MB.max") $(cat "$ROOT/huge/hugetlb.2MB.rsvd.max")" "4194304 4194304"
OUT=$(lm run huge -- /usr/bin/python3 -c "$HUGE" 4 2>&1)
expect_eq "a 4 MiB huge page mapping within the bound is mapped and touched" "$OUT" "mapped 4 MiB"
expect_rc 3 "a 6 MiB mapping past it is refused at mmap()" lm run huge -- /usr/bin/python3 -c "$HUGE" 6
expect_eq "with ENOMEM, not a SIGBUS at the first touch" "$OUT" "refused: Cannot allocate memory"
expect_match "the kernel counted the refusal" "$(cat "$ROOT/huge/hugetlb.2MB.events")" "max [1-9]"
check "create huge/kid --hugetlb 2M=max" lm create huge/kid --hugetlb 2M=max
expect_match "show: the child's own max, its parent's 4M in effect" "$(limits huge/kid)" "^hugetlb 2MB +max +4M$"
expect_rc 3 "and the child cannot map past its parent's bound" lm run huge/kid -- /usr/bin/python3 -c "$HUGE" 6
expect_rc 2 "a limit that is not a whole number of pages is refused" lm update huge --hugetlb 2MB=3M
expect_rc 2 "a page size the kernel lacks is refused by lmctld" lm update huge --hugetlb 4MB=8M
expect_match "naming it" "$ERR" "no such page size .hugetlb.4MB.max does not exist"
expect_eq "hugetlb.2MB.max is unchanged" "$(cat "$ROOT/huge/hugetlb.2MB.max")" 4194304
met=$(curl -s "http://127.0.0.1:$PORT/metrics")
expect_match "/metrics: bytes read per container and disk" "$met" \
        "^container_fs_reads_bytes_total\\{name=\"rd\",device=\"$DEV\"\\} [1-9]"
expect_match "/metrics: huge pages per container and page size, and the refusals" \
        "$(echo "$met" | grep 'name="huge",pagesize="2MB"' | tr "\n" " ")" \
        "container_hugetlb_usage_bytes.* 0 container_hugetlb_failcnt.* [1-9][0-9]* container_spec_hugetlb_limit_bytes.* 4194304"

# Kept across a restart: lmctld reads the files back.
lm create keep --io-max /dev/vda:wbps=1M,riops=100 --hugetlb 2MB=2M >/dev/null
before=$(limits keep; limits huge/kid)
daemon_stop
daemon_start || exit 0
expect_eq "io-max and hugetlb are the same after a restart" "$(limits keep; limits huge/kid)" "$before"
expect_match "and were set" "$(echo "$before" | tr "\n" " ")" "hugetlb 2MB +2M +2M.*io-max $DEV +wbps=1M,riops=100"
lm destroy keep >/dev/null
lm destroy -r huge >/dev/null
lm destroy -r rd >/dev/null
lm destroy free >/dev/null
echo 0 > /proc/sys/vm/nr_hugepages
expect_eq "nothing left" "$(lm list)" ""
daemon_stop
