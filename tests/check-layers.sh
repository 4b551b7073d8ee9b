#!/bin/bash
# Checks that lmctld's layers depend one way (docs/design.md):
#
#   main.c -> rpc -> runtime, events -> core -> sys -> liblmct, proto
#
# 1. Includes: every #include "..." in daemon/ names a header of the same
#    layer or of one below (runtime and events are siblings: neither
#    includes the other), a layer's *-internal.h only from its own files,
#    and no header includes itself through others.
# 2. Calls: every symbol a layer's library leaves undefined is defined by
#    the same layer or one below, or outside lmctld (libc, libevent, ...).
#    This needs a build: with BUILD, the libraries in BUILD/daemon are read.
#
#   tests/check-layers.sh [BUILD]
# Prints one line per finding and "layers: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
build=${1:-}
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

declare -A rank=([sys]=0 [core]=1 [events]=2 [runtime]=2 [rpc]=3 [main]=4)
layers=(sys core events runtime rpc)
declare -A home   # header -> layer
for l in "${layers[@]}"; do
        for h in daemon/$l/*.h; do
                [ -e "$h" ] && home[$(basename "$h")]=$l
        done
done

# May layer A depend on layer B?
allowed() {
        [ "$1" = "$2" ] && return 0
        [ "${rank[$1]}" -gt "${rank[$2]}" ]
}

# 1. The include graph.
declare -A edges
for f in daemon/main.c daemon/*/*.[ch]; do
        from=main
        [ "$f" = daemon/main.c ] || from=$(basename "$(dirname "$f")")
        while read -r inc; do
                to=${home[$inc]:-}
                [ -n "$to" ] || continue   # liblmct, proto, system
                edges[$(basename "$f")]+=" $inc"
                if [[ $inc == *-internal.h && $from != "$to" ]]; then
                        bad "$f includes $inc, which is internal to layer $to"
                elif allowed "$from" "$to"; then
                        ok
                else
                        bad "$f includes $inc of layer $to: $from may not depend on $to"
                fi
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
# No header reaches itself through the headers it includes.
for h in "${!home[@]}"; do
        seen=" " todo="${edges[$h]:-}"
        while [ -n "${todo// /}" ]; do
                set -- $todo
                next=$1; shift; todo="$*"
                [ "$next" = "$h" ] && { bad "include cycle through $h"; break; }
                case "$seen" in *" $next "*) continue ;; esac
                seen+="$next "
                todo+=" ${edges[$next]:-}"
        done
        ok
done

# 2. The symbol graph of the built libraries.
if [ -n "$build" ]; then
        declare -A defined_in   # symbol -> layer
        for l in "${layers[@]}"; do
                a=$build/daemon/$l/liblmctld-$l.a
                [ -f "$a" ] || { bad "$a is not built"; continue; }
                while read -r s; do defined_in[$s]=$l; done < <(nm -g --defined-only "$a" 2>/dev/null | awk 'NF == 3 { print $3 }')
        done
        for l in "${layers[@]}"; do
                a=$build/daemon/$l/liblmctld-$l.a
                [ -f "$a" ] || continue
                while read -r s; do
                        to=${defined_in[$s]:-}
                        [ -n "$to" ] || continue
                        if allowed "$l" "$to"; then ok; else bad "layer $l calls $s of layer $to"; fi
                done < <(nm -g --undefined-only "$a" 2>/dev/null | awk '$1 == "U" { print $2 }' | sort -u)
        done
fi
echo "layers: $passed passed, $failed failed"
[ "$failed" = 0 ]
