#!/bin/bash
# Installs what lmct needs to build and test (Debian packages) and builds
# it: build/ (plain) and, with --asan, build-asan/ (ASan + UBSan).
set -eu
cd "$(dirname "$0")/.."
pkgs=(gcc pkg-config meson ninja-build protobuf-c-compiler libprotobuf-c-dev libevent-dev libsystemd-dev
      libjson-c-dev libcap-dev libc6-dev qemu-system-x86 linux-image-amd64 busybox-static gzip procps
      crun python3
      systemd dbus util-linux passwd valgrind clang libclang-rt-14-dev gdb
      python3-protobuf protobuf-compiler python3-prometheus-client curl scdoc man-db bash-completion tmux
      golang-go golang-google-protobuf-dev golang-golang-x-sys-dev protoc-gen-go dpkg-dev debhelper dh-python lintian)
missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
                exit 1
        fi
        echo "setup: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
if [ "${1:-}" = --asan ]; then
        [ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
        ninja -C build-asan >/dev/null
fi
echo "setup: built $(pwd)/build${1:+ and build-asan}"
