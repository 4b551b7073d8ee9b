#!/bin/bash
# lmct's whole test suite: unit tests (plain and ASan+UBSan builds), the
# native checks this host allows, and the integration suite on real cgroup
# v2 in a throwaway VM (both builds, one boot). Ends with the line
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
tests/setup.sh --asan || { echo "0 passed, 1 failed"; exit 1; }
logs=$top/build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
passed=0
failed=0

# Unit tests: each check counts.
for b in build build-asan; do
        meson test -C "$b" --suite unit --print-errorlogs > "$logs/unit-$b.txt" 2>&1
        while read -r n f; do
                passed=$((passed + n - f))
                failed=$((failed + f))
        done < <(sed -n 's/^\([0-9]*\) checks, \([0-9]*\) failed$/\1 \2/p' "$b/meson-logs/testlog.txt")
        if grep -qE "^Fail: +[1-9]|^Timeout: +[1-9]" "$logs/unit-$b.txt"; then
                cat "$logs/unit-$b.txt"
                grep -q "checks, " "$b/meson-logs/testlog.txt" || failed=$((failed + 1))
        fi
        echo "unit tests ($b): $(grep -E '^(Ok|Fail):' "$logs/unit-$b.txt" | tr -s ' ' | tr '\n' ' ')"
done

# lmctld's layers depend one way: includes and calls (docs/design.md).
tests/check-layers.sh build > "$logs/layers.txt" 2>&1
read -r p f < <(sed -n 's/^layers: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/layers.txt")
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-1}))
grep '^FAIL: ' "$logs/layers.txt"
echo "layer checks: ${p:-0} passed, ${f:-1} failed"

count() {
        local p f
        p=$(grep -c '^PASS: ' "$1")
        f=$(grep -c '^FAIL: ' "$1")
        passed=$((passed + p))
        failed=$((failed + f))
        grep '^FAIL: ' "$1"
        echo "$2: $p passed, $f failed"
}

# Native: what this host's own cgroup v2 hierarchy can show.
LMCT_BUILD=$top/build LMCT_LOGS=$logs/native bash tests/native/t-host.sh > "$logs/native.txt" 2>&1
count "$logs/native.txt" "native checks on this host"
# Load, abusive clients and valgrind: structure-only requests, natively.
LMCT_BUILD=$top/build LMCT_LOGS=$logs/native bash tests/native/t-load.sh > "$logs/load.txt" 2>&1
count "$logs/load.txt" "load and leak checks on this host"
grep -E '^    (load|slow-loris|non-reader|lmctld|under valgrind):' "$logs/load.txt"

# A short fuzz run of each libFuzzer harness (tests/fuzz/run.sh 600 is the long one).
tests/fuzz/run.sh "${LMCT_FUZZ_SECONDS:-20}" > "$logs/fuzz.txt" 2>&1
count "$logs/fuzz.txt" "short fuzz runs"
grep '^PASS: fuzz' "$logs/fuzz.txt"

# The integration suite on real cgroup v2, in the VM (or natively where
# LMCT_NATIVE=1 says this host's hierarchy has the controllers).
if [ "${LMCT_NATIVE:-0}" = 1 ]; then
        tests/integration/run.sh "$top/build" "$top/build-asan" > "$logs/integration.txt" 2>&1
        rc=$?
else
        echo "integration suite: booting the test VM (QEMU, software emulation)"
        tests/vm/boot.sh "$top/build/vm" "$top/tests/integration/run.sh" "$top/build" "$top/build-asan" \
                > "$logs/integration-stream.txt" 2>&1
        rc=$?
        # Results come from the last boot's console only (a stalled VM is booted again).
        grep '^boot.sh:' "$logs/integration-stream.txt"
        cp "$top/build/vm/console.log" "$logs/integration.txt" 2>/dev/null || : > "$logs/integration.txt"
fi
if [ "$rc" != 0 ] || ! grep -q '^PASS: ' "$logs/integration.txt"; then
        echo "integration suite did not run to the end (exit $rc); its output:"
        tail -n 40 "$logs/integration.txt"
        failed=$((failed + 1))
fi
count "$logs/integration.txt" "integration suite on real cgroup v2"

# systemd_vm NAME WHAT SCRIPT ARG...: boots the VM with real systemd as
# init in build/vm-NAME, runs SCRIPT there and counts its lines; a VM that
# does not run to the end counts as a failure.
systemd_vm() {
        local name=$1 what=$2 rc
        shift 2
        echo "$what: booting the test VM with systemd as init"
        LMCT_VM_INIT=systemd tests/vm/boot.sh "$top/build/vm-$name" "$@" > "$logs/$name-stream.txt" 2>&1
        rc=$?
        grep '^boot.sh:' "$logs/$name-stream.txt"
        sed 's/\x1b\[[0-9;]*m//g' "$top/build/vm-$name/console.log" > "$logs/$name.txt" 2>/dev/null || : > "$logs/$name.txt"
        if [ "$rc" != 0 ] || ! grep -q '^PASS: ' "$logs/$name.txt"; then
                echo "$what did not run to the end (exit $rc); its output:"
                tail -n 40 "$logs/$name.txt"
                failed=$((failed + 1))
        fi
        count "$logs/$name.txt" "$what under systemd"
}

# lmctld as a systemd service.
systemd_vm systemd "service suite" "$top/tests/systemd/t-service.sh" "$top/build"

# Debian packages: built with dpkg-buildpackage and checked by lintian
# here, then installed, used, upgraded and removed on a system that has
# never seen lmct (a fresh boot of the systemd VM).
tests/package/build.sh "$top/build/deb" > "$logs/package-build.txt" 2>&1
count "$logs/package-build.txt" "Debian packages built"
grep '^    lintian: ' "$logs/package-build.txt"
systemd_vm package "package suite" "$top/tests/package/t-package.sh" "$top/build/deb" "$top/build"
echo "logs: $logs"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
