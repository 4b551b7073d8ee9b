#!/bin/bash
# Bad input: each gets its documented exit status and a one-line error
# naming what is wrong; the daemon stays up and the tree is unchanged.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0
lm create containerA --cpu 2 >/dev/null
lm create containerA/sub1 >/dev/null
"$HELPER" -w "/lmct-test-$T-$$/busy/_self" spin & SP=$!; BG_PIDS+=("$SP")
lm create busy >/dev/null && lm enter busy "$SP"
before=$(tree_snapshot)
limits_before=$(cat "$ROOT/containerA/cpu.max")

# bad RC WHAT REGEX COMMAND...: exit RC, stderr one line matching REGEX,
# the daemon alive, the tree unchanged.
bad() {
        local rc=$1 what=$2 re=$3; shift 3
        expect_rc "$rc" "$what: exit $rc" "$@"
        if [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] && printf '%s' "$ERR" | grep -qE -- "^lmctl: .*$re"; then
                pass "$what: one-line error naming the problem"
        else
                fail "$what: one-line error naming the problem" "stderr '$ERR' does not match /$re/"
        fi
        if daemon_alive && [ "$(tree_snapshot)" = "$before" ]; then
                pass "$what: daemon up, tree unchanged"
        else
                fail "$what: daemon up, tree unchanged" "daemon alive: $(daemon_alive && echo yes || echo no)"
        fi
}

# Names (checked by the daemon).
bad 2 "empty name" "empty name" lm create ""
bad 2 "name '/'" "empty name" lm create /
bad 2 "empty component" "empty component 2" lm create "a//b"
bad 2 "trailing slash" "empty component 2" lm create "a/"
bad 2 "name '.'" "a dot" lm create .
bad 2 "name '..'" "a dot" lm create ..
bad 2 "'..' inside a name" "a dot at byte 1 of component 2" lm create "containerA/../etc"
bad 2 "a dot anywhere" "a dot" lm create "a.b"
bad 2 "a newline" "a newline" lm create "$(printf 'a\nb')"
bad 2 "non-ASCII" "non-ASCII" lm create "café"
bad 2 "a space" "' '" lm create "a b"
bad 2 "the leaf's name" "must start with a letter or digit" lm create containerA/_self
bad 2 "a component of 65 bytes" "more than 64" lm create "$(printf 'x%.0s' $(seq 1 65))"
bad 2 "33 levels" "more than 32 levels" lm create -p "$(printf 'a/%.0s' $(seq 1 32))a"
bad 2 "an invalid name in show" "invalid name" lm show "a..b"
bad 2 "an invalid name in destroy" "invalid name" lm destroy "../x"

# Sizes and numbers (checked by lmctl before anything is sent).
bad 2 "size 12Q" "--memory '12Q'" lm create x --memory 12Q
bad 2 "size -1" "--memory '-1'" lm create x --memory -1
bad 2 "size 1.5.0" "--memory '1.5.0'" lm create x --memory 1.5.0
bad 2 "empty size" "--memory ''" lm create x --memory ""
bad 2 "--cpu 0" "--cpu '0'" lm create x --cpu 0
bad 2 "--cpu -2" "--cpu '-2'" lm create x --cpu -2
bad 2 "--cpu-weight 0" "--cpu-weight '0'" lm create x --cpu-weight 0
bad 2 "--pids abc" "--pids 'abc'" lm create x --pids abc
bad 2 "--cpuset 3-1" "--cpuset '3-1'" lm create x --cpuset 3-1
bad 2 "--cpuset-mems x" "--cpuset-mems 'x'" lm create x --cpuset-mems x
bad 2 "--cpu-burst -5" "--cpu-burst '-5'" lm create x --cpu-burst -5
bad 2 "--oom-group=maybe" "--oom-group='maybe': give on or off" lm create x --oom-group=maybe
bad 2 "--cpu-idle=2" "--cpu-idle='2': give on or off" lm create x --cpu-idle=2
bad 2 "--hugetlb 3MB=6M" "'3MB' is not a huge page size" lm create x --hugetlb 3MB=6M
bad 2 "--hugetlb 2MB" "--hugetlb '2MB': give PAGESIZE=LIMIT" lm create x --hugetlb 2MB
bad 2 "--hugetlb 2MB=3M" "3M is not a whole number of 2MB pages" lm create x --hugetlb 2MB=3M
bad 2 "--hugetlb 2MB=lots" "give the limit as a size" lm create x --hugetlb 2MB=lots
bad 2 "--io-max /dev/null" "give DEVICE:KEY=VALUE" lm create x --io-max /dev/null
bad 2 "--io-max 8:0:rbps=1M,foo=2" "'foo' is not rbps, wbps, riops or wiops" lm create x --io-max 8:0:rbps=1M,foo=2
bad 2 "--io-max 8:0:riops=0" "riops takes operations per second above 0" lm create x --io-max 8:0:riops=0
bad 2 "--io-max 8:0:wbps=-1" "wbps takes bytes per second" lm create x --io-max 8:0:wbps=-1
bad 2 "--io-max x:y:rbps=1M" "give the device as a path ./dev/vda. or MAJOR:MINOR" lm create x --io-max x:y:rbps=1M
bad 2 "--io-max of a missing path" "/nonexistent/disk: No such file or directory" lm create x --io-max /nonexistent/disk:rbps=1M
bad 2 "--io-max of a character device" "/dev/null is not a block device" lm create x --io-max /dev/null:rbps=1M
bad 2 "--io-weight 8:0:0" "give DEVICE:WEIGHT with a weight 1..10000" lm create x --io-weight 8:0:0
bad 2 "--device-allow 'x 1:3 rw'" "give TYPE MAJOR:MINOR ACCESS" lm create x --device-allow 'x 1:3 rw'
bad 2 "--device-deny 'c 1:3 rwx'" "--device-deny 'c 1:3 rwx'" lm create x --device-deny 'c 1:3 rwx'
bad 2 "--device-allow 'c 1 rw'" "give TYPE MAJOR:MINOR ACCESS" lm create x --device-allow 'c 1 rw'
bad 2 "--device-allow 'c 99999:1 r'" "--device-allow 'c 99999:1 r'" lm create x --device-allow 'c 99999:1 r'
bad 2 "--no-device-rules with a rule" "--no-device-rules with --device-allow" lm create x --device-allow a --no-device-rules
bad 2 "--io-max for 9 disks" "--io-max: more than 8 devices" lm create x $(for i in $(seq 0 8); do echo --io-max "8:$((i * 16)):rbps=1M"; done)
# Checked by the daemon.
bad 2 "--cpu 0.001 (a quota under the kernel's minimum)" "below the kernel's minimum" lm create x --cpu 0.001
bad 2 "--cpuset of CPUs the machine lacks" "cpuset.cpus" lm create x --cpuset 64-70
expect_eq "--cpuset failure left nothing behind" "$(test -d "$ROOT/x" && echo present || echo absent)" "absent"
bad 2 "--cpuset-mems of nodes the machine lacks" "cpuset-mems: the kernel refused cpuset.mems" lm create x --cpuset-mems 60-63
bad 2 "--cpu-burst over the quota" "cpu-burst: the kernel refused cpu.max.burst" lm create x --cpu 0.1 --cpu-burst 50000
bad 2 "--hugetlb of a page size the kernel lacks" "hugetlb: the kernel offers no such page size" lm create x --hugetlb 16MB=32M
expect_eq "and neither left anything behind" "$(test -d "$ROOT/x" && echo present || echo absent)" "absent"

# State.
bad 3 "an unknown container" "nosuch does not exist" lm show nosuch
bad 3 "a missing parent" "parent nosuch does not exist" lm create nosuch/child
bad 3 "update of an unknown container" "does not exist" lm update nosuch --cpu 1
bad 4 "a duplicate create" "containerA already exists" lm create containerA
bad 7 "destroy of a container with children" "has 1 subcontainer" lm destroy containerA
bad 7 "destroy of a container with processes" "busy has processes" lm destroy busy
bad 3 "enter of a process that does not exist" "process 999999 does not exist" lm enter containerA 999999
bad 2 "enter of the init process" "the init process" lm enter containerA 1
bad 2 "enter of lmctld itself" "lmctld itself" lm enter containerA "$DPID"
bad 3 "detect of a process outside the tree" "not in a container" lm detect 1
bad 2 "kill with a bad signal" "not a signal" lm kill containerA -s NOPE
bad 2 "reclaim of a size that is not one" "'12Q': not a size" lm reclaim containerA 12Q
bad 2 "reclaim of less than a page" "at least one page" lm reclaim containerA 100
bad 3 "reclaim of an unknown container" "nosuch does not exist" lm reclaim nosuch 1M
bad 2 "an unknown verb" "unknown verb" lm frobnicate
bad 2 "update with no limit" "at least one limit" lm update containerA
expect_eq "the failed requests left containerA's cpu.max alone" "$(cat "$ROOT/containerA/cpu.max")" "$limits_before"

# Daemon unreachable.
expect_rc 6 "a socket with no daemon: exit 6" "$LMCTL" -s /run/lmct-nosuch.sock list
expect_match "and says so" "$ERR" "cannot reach lmctld at /run/lmct-nosuch.sock"
LMCT_SOCKET=$SOCK expect_rc 0 "LMCT_SOCKET points lmctl at the daemon" "$LMCTL" list

kill -9 "$SP"; sleep 0.2
lm destroy -r containerA >/dev/null; lm destroy busy >/dev/null
daemon_stop
