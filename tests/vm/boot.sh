#!/bin/bash
# Boots lmct's throwaway test VM and runs a command in it on a pure cgroup v2
# hierarchy (cpu, memory, pids, io, cpuset available). The guest sees this
# machine's root read-only (with a tmpfs overlay), so the checkout and its
# build directories are at the same paths inside.
#
#   tests/vm/boot.sh WORKDIR COMMAND [ARG...]
#
# WORKDIR holds the initramfs (built on first use). Prints the guest's
# console as it comes (a VM that stalls is booted once more, so a caller
# that parses results reads WORKDIR/console.log: the last attempt's
# console); exits with the command's status, or 125 when the VM could not
# boot or did not report (never 0).
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$1
shift
[ $# -ge 1 ] || { echo "usage: boot.sh WORKDIR COMMAND [ARG...]" >&2; exit 2; }
for a in "$@"; do
        case "$a" in *[[:space:],]*) echo "boot.sh: arguments may not hold spaces or commas: '$a'" >&2; exit 2 ;; esac
done
cmd=$(IFS=,; echo "$*")
case "$(cd "$(dirname "$1")" && pwd -P)/" in
/run/*|/proc/*|/sys/*|/dev/*)
        echo "boot.sh: $1 lives where the guest mounts its own filesystems (/run, /proc, /sys, /dev)" >&2
        exit 2 ;;
esac

kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n 1)
kernel=/boot/vmlinuz-$kver
if [ -z "$kver" ] || [ ! -r "$kernel" ]; then
        echo "boot.sh: no Debian kernel found (install linux-image-amd64)" >&2
        exit 125
fi
mkdir -p "$work"
initrd=$work/initramfs-$kver.cpio.gz
if [ ! -s "$initrd" ] || [ "$here/init" -nt "$initrd" ]; then
        root=$(mktemp -d "$work/initramfs.XXXXXX")
        mkdir -p "$root/bin" "$root/modules"
        cp /bin/busybox "$root/bin/busybox"
        cp "$here/init" "$root/init"
        chmod 755 "$root/init"
        for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk \
                 9pnet 9pnet_virtio netfs fscache 9p overlay; do
                f=$(find "/lib/modules/$kver/kernel" -name "$m.ko" | head -n 1)
                [ -n "$f" ] || { echo "boot.sh: module $m not found for $kver" >&2; rm -rf "$root"; exit 125; }
                cp "$f" "$root/modules/"
        done
        (cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$initrd.tmp" &&
                mv "$initrd.tmp" "$initrd"
        rm -rf "$root"
fi

# LMCT_VM_INIT=systemd: real systemd as init instead of a bare chroot.
init_args=
[ "${LMCT_VM_INIT:-}" = systemd ] && init_args="lmct.init=systemd systemd.unified_cgroup_hierarchy=1 systemd.show_status=false"
log=$work/console.log
# A blank disk, /dev/vda in the guest, for the I/O limits' tests: sparse,
# so it takes no space here (reads of it are reads of holes).
disk=$work/disk.img
rm -f "$disk"
truncate -s 4G "$disk" || exit 125
boot_timeout=${LMCT_VM_BOOT_TIMEOUT:-180}
total_timeout=${LMCT_VM_TIMEOUT:-2400}

# Boots once. Streams the console, and returns 0 when the guest reported,
# 124 when it ran past the deadline, 123 when it showed no sign of life
# (no "lmct-vm: running" line) within the boot deadline or its kernel
# reported a stall (RCU stall, soft lockup: under software emulation the
# vCPUs sometimes stop taking timer interrupts; a healthy run never prints
# these).
boot_once() {
        local raw=$log.raw start now qpid tpid
        : > "$raw"
        : > "$log"
        qemu-system-x86_64 \
                -m "${LMCT_VM_MEMORY:-2048}" -smp 2 -nodefaults -no-user-config -display none -no-reboot \
                -serial stdio \
                -kernel "$kernel" -initrd "$initrd" \
                -append "console=ttyS0 quiet panic=-1 lmct.cmd=$cmd $init_args" \
                -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
                -drive file="$disk",if=virtio,format=raw \
                </dev/null >"$raw" 2>&1 &
        qpid=$!
        tail -n +1 -f --pid="$qpid" "$raw" | sed -u 's/\r$//' &
        tpid=$!
        start=$(date +%s)
        while kill -0 "$qpid" 2>/dev/null; do
                sleep 1
                now=$(date +%s)
                if grep -qE 'rcu_preempt detected stalls|soft lockup - CPU' "$raw"; then
                        kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; wait "$tpid" 2>/dev/null
                        echo "boot.sh: the guest kernel reported a stall" >&2
                        return 123
                fi
                if [ $((now - start)) -ge "$boot_timeout" ] && ! grep -q '^lmct-vm: running' "$raw"; then
                        kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; wait "$tpid" 2>/dev/null
                        return 123
                fi
                if [ $((now - start)) -ge "$total_timeout" ]; then
                        kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; wait "$tpid" 2>/dev/null
                        return 124
                fi
        done
        wait "$qpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
        sed 's/\r$//' "$raw" > "$log"
        return 0
}

for attempt in 1 2; do
        boot_once
        how=$?
        [ "$how" = 123 ] || break
        sed 's/\r$//' "$log.raw" > "$log.hung-$attempt"
        echo "boot.sh: the VM stalled or showed no sign of life within ${boot_timeout}s (console kept in $log.hung-$attempt)" >&2
        [ "$attempt" = 1 ] && echo "boot.sh: booting it once more" >&2
done
if [ "$how" = 123 ]; then
        echo "boot.sh: the VM did not boot twice in a row" >&2
        exit 125
fi
if [ "$how" = 124 ]; then
        echo "boot.sh: the VM ran past ${total_timeout}s and was stopped" >&2
        exit 125
fi
rc=$(sed -n 's/^LMCT-VM-EXIT=\([0-9]*\)$/\1/p' "$log" 2>/dev/null | tail -n 1)
if [ -z "$rc" ]; then
        echo "boot.sh: the VM did not report an exit status (see $log)" >&2
        exit 125
fi
exit "$rc"
