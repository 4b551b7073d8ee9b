#!/bin/bash
# Boots lmct's throwaway test VM and runs a command in it on a pure cgroup v2
# hierarchy (cpu, memory, pids, io, cpuset available). The guest sees this
# machine's root read-only (with a tmpfs overlay), so the checkout and its
# build directories are at the same paths inside.
#
#   tests/vm/boot.sh WORKDIR COMMAND [ARG...]
#
# WORKDIR holds the initramfs (built on first use). Prints the guest's
# console; exits with the command's status, or 125 when the VM could not
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
        for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
                 9pnet 9pnet_virtio netfs fscache 9p overlay; do
                f=$(find "/lib/modules/$kver/kernel" -name "$m.ko" | head -n 1)
                [ -n "$f" ] || { echo "boot.sh: module $m not found for $kver" >&2; rm -rf "$root"; exit 125; }
                cp "$f" "$root/modules/"
        done
        (cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$initrd.tmp" &&
                mv "$initrd.tmp" "$initrd"
        rm -rf "$root"
fi

log=$work/console.log
timeout "${LMCT_VM_TIMEOUT:-2400}" qemu-system-x86_64 \
        -m "${LMCT_VM_MEMORY:-2048}" -smp 2 -nodefaults -no-user-config -display none -no-reboot \
        -serial stdio \
        -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 quiet panic=-1 lmct.cmd=$cmd" \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        </dev/null 2>&1 | tr -d '\r' | tee "$log"
rc=$(sed -n 's/^LMCT-VM-EXIT=\([0-9]*\)$/\1/p' "$log" | tail -n 1)
if [ -z "$rc" ]; then
        echo "boot.sh: the VM did not report an exit status (see $log)" >&2
        exit 125
fi
exit "$rc"
