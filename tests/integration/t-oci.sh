#!/bin/bash
# OCI bundles: lmctl spec, a busybox bundle run by lmctl and by crun with
# the same output, linux.resources enforced, bad bundles refused.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

B=$LOGS/bundle-$$
mk_bundle() { # DIR: a bundle with a busybox root and lmctl spec's config.json
        rm -rf "$1"
        mkdir -p "$1/rootfs/bin"
        cp /bin/busybox "$1/rootfs/bin/busybox"
        for a in sh ls cat echo hostname id touch grep head mknod; do ln -s busybox "$1/rootfs/bin/$a"; done
        cp "$HELPER" "$1/rootfs/bin/helper"
        lm spec "$1"
}
# set_json FILE PYTHON-EXPRESSION-ON-c: edits config.json
set_json() { python3 -c "import json,sys; c=json.load(open(sys.argv[1])); $2; json.dump(c, open(sys.argv[1],'w'), indent=1)" "$1"; }

mk_bundle "$B"
expect_eq "lmctl spec writes config.json" "$(test -s "$B/config.json" && echo yes)" yes
expect_rc 4 "lmctl spec refuses to overwrite it" lm spec "$B"
# Unchanged, it runs sh, which reads an empty stdin and ends: under both.
expect_rc 0 "the unchanged spec runs under lmctl" lm run --rm s0 --bundle "$B" </dev/null
if command -v crun >/dev/null; then
        expect_rc 0 "the unchanged spec runs under crun" crun --root "$LOGS/crun-$$" run -b "$B" "lmct-spec-$$" </dev/null
fi
# Its rule denies every device but the defaults (runc spec's): enforced by
# a device program, and the defaults work.
expect_match "the spec's device rule: deny all" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["linux"]["resources"]["devices"])' "$B/config.json")" \
        "'allow': False, 'access': 'rwm'"
lm create specdev >/dev/null
expect_rc 0 "under it, the default devices open: /dev/null, /dev/zero" \
        lm run specdev --bundle "$B" -- sh -c 'echo x > /dev/null && head -c 1 /dev/zero >/dev/null'
expect_eq "a device program is on the container's cgroup" "$("$HELPER" bpf-devices attached "$ROOT/specdev")" 1
expect_match "show lists the spec's rule, then the defaults" "$(lm show specdev | tr '\n' ' ')" \
        "devices +deny a \*:\* rwm +allow c \*:\* m .*allow c 1:3 rwm"
lm destroy -f specdev >/dev/null

# linux.devices: nodes made in the container's /dev (a directory made for
# one), with their mode and owner, each allowed despite the deny-all rule,
# while a node made inside (mknod is allowed) of another device does not
# open; crun makes the same nodes.
if [ -b /dev/vda ]; then
        vmaj=$((0x$(stat -c %t /dev/vda))) vmin=$((0x$(stat -c %T /dev/vda)))
        rm -rf "$B.nodes"
        cp -a "$B" "$B.nodes"
        set_json "$B.nodes/config.json" "[v.append('CAP_MKNOD') for v in c['process']['capabilities'].values()]; c['linux']['devices']=[{'path':'/dev/disk0','type':'b','major':$vmaj,'minor':$vmin,'fileMode':0o640},{'path':'/dev/sub/null2','type':'c','major':1,'minor':3,'fileMode':0o666,'uid':1000,'gid':1001},{'path':'/dev/myfifo','type':'p','fileMode':0o644}]; c['process']['args']=['sh','-c','ls -ln /dev/disk0 /dev/sub/null2 /dev/myfifo | while read m l u g rest; do echo \$m \$u \$g; done; head -c 512 /dev/disk0 >/dev/null && echo read disk0; echo x > /dev/sub/null2 && echo wrote null2; head -c 1 /dev/zero >/dev/null && echo read zero; mknod /dev/k c 1 11 && head -c 1 /dev/k 2>&1 | grep -q \\\"not permitted\\\" && echo kmsg made, not opened']"
        ours=$(lm run --rm nodes --bundle "$B.nodes" 2>&1)
        expect_eq "linux.devices: each node made with its type, mode and owner; each allowed to open" "$ours" \
"brw-r----- 0 0
prw-r--r-- 0 0
crw-rw-rw- 1000 1001
read disk0
wrote null2
read zero
kmsg made, not opened"
        if command -v crun >/dev/null; then
                # crun makes the same nodes but does not allow them in its
                # device program; lmctl allows them, as runc does and as
                # the runtime spec asks ("MUST be available").
                theirs=$(crun --root "$LOGS/crun-$$" run -b "$B.nodes" "lmct-nodes-$$" 2>&1)
                expect_eq "linux.devices: crun makes the same nodes (but denies the disk: crun adds no rule for them)" \
                        "$theirs" "${ours/read disk0/head: /dev/disk0: Operation not permitted}"
                crun --root "$LOGS/crun-$$" delete -f "lmct-nodes-$$" >/dev/null 2>&1
        fi
        # A node whose directory is a symlink of the image is not made (it
        # could lead into a directory bound from the host).
        mkdir -p "$B.nodes/rootfs/real"
        ln -s /real "$B.nodes/rootfs/lnk"
        set_json "$B.nodes/config.json" "c['linux']['devices']=[{'path':'/lnk/null3','type':'c','major':1,'minor':3}]; c['process']['args']=['true']"
        expect_rc 2 "linux.devices through a symlink of the image: refused" lm run --rm nodes --bundle "$B.nodes"
        expect_match "naming the symlink" "$ERR" "make device /lnk/null3: a directory on its path is a symlink"
        expect_eq "and nothing made through it" "$(ls -A "$B.nodes/rootfs/real")" ""
else
        fail "linux.devices" "the VM has no /dev/vda"
fi
set_json "$B/config.json" 'c["process"]["args"]=["sh","-c","echo hello from $(hostname); echo pid $$; id -u; ls /; cat /proc/self/cgroup; for p in /proc/[0-9]*; do echo -n \"${p#/proc/} \"; done; echo; touch /x 2>&1 | cut -d: -f2-; grep CapEff /proc/self/status; ls /dev | grep -c null"]'

expect_rc 0 "lmctl run --rm --bundle (busybox rootfs)" lm run --rm b1 --bundle "$B"
ours=$OUT
expect_match "the bundle's command ran with its hostname as pid 1" "$ours" '^hello from lmct'
expect_match "its root is read-only (root.readonly)" "$ours" 'Read-only file system'
expect_match "its capabilities are the bundle's three" "$ours" 'CapEff:.0000000020000420'
expect_eq "--rm left nothing behind" "$(test -d "$ROOT/b1" && echo present || echo gone)" gone
if command -v crun >/dev/null; then
        theirs=$(crun --root "$LOGS/crun-$$" run -b "$B" "lmct-xcheck-$$" 2>&1)
        expect_eq "crun runs the same bundle with the same output" "$theirs" "$ours"
        crun --root "$LOGS/crun-$$" delete -f "lmct-xcheck-$$" >/dev/null 2>&1
else
        fail "crun runs the same bundle" "crun is not installed (tests/setup.sh installs it)"
fi

# Bundles are read in a thread of lmctld's: many in a row, lmctld unharmed.
ok=0
for i in $(seq 1 30); do lm run --rm "many$i" --bundle "$B" >/dev/null 2>&1 && ok=$((ok + 1)); done
expect_eq "30 bundles run in a row" "$ok" 30
check "and lmctld still serves" daemon_alive

# linux.resources become the container's limits, enforced.
set_json "$B/config.json" 'c["process"]["args"]=["/bin/helper","alloc","128"]; c["linux"]["resources"]={"memory":{"limit":67108864,"swap":67108864},"pids":{"limit":20},"cpu":{"shares":1024,"quota":50000,"period":100000}}'
lm create oci >/dev/null
expect_rc 137 "linux.resources.memory.limit 64M: a 128M allocation is OOM-killed" lm run oci --bundle "$B"
expect_eq "memory.max from the bundle" "$(cat "$ROOT/oci/memory.max")" 67108864
expect_eq "memory.swap.max: swap minus limit, as crun" "$(cat "$ROOT/oci/memory.swap.max")" 0
expect_eq "pids.max from the bundle" "$(cat "$ROOT/oci/pids.max")" 20
expect_eq "cpu.max from quota and period" "$(cat "$ROOT/oci/cpu.max")" "50000 100000"
expect_eq "cpu.weight from shares 1024, as crun converts it" "$(cat "$ROOT/oci/cpu.weight")" 39
lm destroy oci >/dev/null
# cpu.idle, cpu.burst and cpu.mems, as crun writes them; the process is held
# to the memory nodes.
set_json "$B/config.json" 'c["process"]["args"]=["/bin/grep","Mems_allowed_list","/proc/self/status"]; c["linux"]["resources"]={"cpu":{"quota":50000,"period":100000,"burst":20000,"idle":1,"mems":"0"}}'
lm create oci2 >/dev/null
expect_rc 0 "a bundle with cpu idle, burst and mems runs" lm run oci2 --bundle "$B"
expect_match "its process may allocate on node 0 only" "$OUT" "^Mems_allowed_list:[[:space:]]+0$"
expect_eq "cpu.idle from the bundle" "$(cat "$ROOT/oci2/cpu.idle")" 1
expect_eq "cpu.max.burst from the bundle" "$(cat "$ROOT/oci2/cpu.max.burst")" 20000
expect_eq "cpuset.mems from the bundle" "$(cat "$ROOT/oci2/cpuset.mems")" 0
lm destroy oci2 >/dev/null

# hugepageLimits and blockIO, as crun writes them: the same bundle under
# lmctl and under crun leaves the same values in the same files.
DEV_MAJ=$((0x$(stat -c %t /dev/vda))); DEV_MIN=$((0x$(stat -c %T /dev/vda)))
set_json "$B/config.json" "c['process']['args']=['/bin/sh','-c','sleep 3']; c['linux']['resources']={'hugepageLimits':[{'pageSize':'2MB','limit':4194304}],'blockIO':{'weight':500,'throttleReadBpsDevice':[{'major':$DEV_MAJ,'minor':$DEV_MIN,'rate':2097152}],'throttleWriteIOPSDevice':[{'major':$DEV_MAJ,'minor':$DEV_MIN,'rate':100}]}}"
FILES="hugetlb.2MB.max io.max io.weight"
read_files() { local f; for f in $FILES; do printf '%s=%s\n' "$f" "$(head -n 1 "$1/$f" 2>&1)"; done; }
lm create ociio >/dev/null
lm run -d ociio --bundle "$B" >/dev/null
ours=$(read_files "$ROOT/ociio")
expect_eq "hugepageLimits and blockIO become hugetlb.2MB.max, io.max and io.weight" "$ours" \
        "$(printf 'hugetlb.2MB.max=4194304\nio.max=%s rbps=2097152 wbps=max riops=max wiops=100\nio.weight=default 4950' "$DEV_MAJ:$DEV_MIN")"
expect_eq "and the page size's reservation bound beside it" "$(cat "$ROOT/ociio/hugetlb.2MB.rsvd.max")" 4194304
if command -v crun >/dev/null; then
        rm -rf "$B.crun"
        cp -a "$B" "$B.crun"
        set_json "$B.crun/config.json" "c['linux']['cgroupsPath']='/lmct-test-crun-$$'"
        crun --root "$LOGS/crun-$$" run -b "$B.crun" "lmct-io-$$" </dev/null >/dev/null 2>&1 &
        CR=$!
        # crun writes the limits before it starts the process: wait for sleep.
        for _ in $(seq 1 100); do
                grep -qx sleep $(sed 's|.*|/proc/&/comm|' "$CGMOUNT/lmct-test-crun-$$/cgroup.procs" 2>/dev/null) \
                        /dev/null 2>/dev/null && break
                sleep 0.1
        done
        theirs=$(read_files "$CGMOUNT/lmct-test-crun-$$")
        wait "$CR"
        crun --root "$LOGS/crun-$$" delete -f "lmct-io-$$" >/dev/null 2>&1
        rmdir "$CGMOUNT/lmct-test-crun-$$" 2>/dev/null
        expect_eq "crun leaves the same values for the same bundle" "$theirs" "$ours"
else
        fail "crun runs the same bundle" "crun is not installed (tests/setup.sh installs it)"
fi
lm destroy -f ociio >/dev/null
# A rate of 0 is no bound, as on cgroup v1 (crun passes it on, and the
# kernel refuses it).
set_json "$B/config.json" "c['process']['args']=['/bin/echo','ok']; c['linux']['resources']={'blockIO':{'throttleReadIOPSDevice':[{'major':$DEV_MAJ,'minor':$DEV_MIN,'rate':0}],'throttleReadBpsDevice':[{'major':$DEV_MAJ,'minor':$DEV_MIN,'rate':1048576}]}}"
lm create ociio >/dev/null
expect_rc 0 "a bundle with a throttle rate of 0 runs" lm run ociio --bundle "$B"
expect_eq "the rate of 0 is no bound" "$(cat "$ROOT/ociio/io.max")" "$DEV_MAJ:$DEV_MIN rbps=1048576 wbps=max riops=max wiops=max"
lm destroy -f ociio >/dev/null

# Bad bundles: each a clear error, nothing left, the daemon alive.
before=$(tree_snapshot)
bad_bundle() { # RC WHAT REGEX EDIT
        local rc=$1 what=$2 re=$3 edit=$4
        mk_bundle "$B.bad" >/dev/null
        eval "$edit"
        expect_rc "$rc" "bad bundle, $what: exit $rc" lm run --rm badb --bundle "$B.bad"
        expect_match "bad bundle, $what: the error names it" "$ERR" "$re"
        if daemon_alive && [ "$(tree_snapshot)" = "$before" ]; then pass "bad bundle, $what: daemon up, nothing left"
        else fail "bad bundle, $what: daemon up, nothing left" "$(tree_snapshot)"; fi
}
bad_bundle 2 "no config.json" "has no config.json" 'rm "$B.bad/config.json"'
bad_bundle 2 "invalid JSON" "not valid JSON" 'echo "{ not json" > "$B.bad/config.json"'
bad_bundle 2 "empty args" "process.args is empty" 'set_json "$B.bad/config.json" "c[\"process\"][\"args\"]=[]"'
bad_bundle 2 "a missing root.path" "root.path .* is not a directory" 'set_json "$B.bad/config.json" "c[\"root\"][\"path\"]=\"nosuchdir\""'
bad_bundle 2 "a relative cwd" "process.cwd must be an absolute path" 'set_json "$B.bad/config.json" "c[\"process\"][\"cwd\"]=\"tmp\""'
bad_bundle 2 "an unknown namespace type" "namespace type frob is not supported" 'set_json "$B.bad/config.json" "c[\"linux\"][\"namespaces\"].append({\"type\":\"frob\"})"'
bad_bundle 2 "a user namespace" "namespace type user is not supported" 'set_json "$B.bad/config.json" "c[\"linux\"][\"namespaces\"].append({\"type\":\"user\"})"'
bad_bundle 2 "process.terminal true" "process.terminal true is not supported" 'set_json "$B.bad/config.json" "c[\"process\"][\"terminal\"]=True"'
bad_bundle 2 "seccomp" "linux.seccomp is not supported" 'set_json "$B.bad/config.json" "c[\"linux\"][\"seccomp\"]={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"'
bad_bundle 2 "cpu.idle 2" "linux.resources.cpu.idle is 2: give 0 or 1" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"cpu\":{\"idle\":2}}"'
bad_bundle 2 "cpu.idle \"yes\"" "linux.resources.cpu.idle is \"yes\": give 0 or 1" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"cpu\":{\"idle\":\"yes\"}}"'
bad_bundle 2 "a negative cpu.burst" "linux.resources.cpu.burst is -1" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"cpu\":{\"burst\":-1}}"'
bad_bundle 2 "a device rule without allow" "devices.0. needs allow, true or false" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"devices\":[{\"access\":\"rwm\"}]}"'
bad_bundle 2 "a device rule with access rwx" "devices.0..access must be letters of rwm" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"devices\":[{\"allow\":True,\"access\":\"rwx\"}]}"'
bad_bundle 2 "a device node outside /dev by .." "linux.devices.0..path must be an absolute path to a file, without .." 'set_json "$B.bad/config.json" "c[\"linux\"][\"devices\"]=[{\"path\":\"/dev/../etc/x\",\"type\":\"c\",\"major\":10,\"minor\":229}]"'
bad_bundle 2 "a device node of type s" "linux.devices.0..type must be c, b, u or p" 'set_json "$B.bad/config.json" "c[\"linux\"][\"devices\"]=[{\"path\":\"/dev/x\",\"type\":\"s\",\"major\":10,\"minor\":229}]"'
bad_bundle 2 "a hugepageLimits page size of 3MB" "hugepageLimits.0..pageSize must be a page size" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"hugepageLimits\":[{\"pageSize\":\"3MB\",\"limit\":1}]}"'
bad_bundle 2 "a negative throttle rate" "throttleReadBpsDevice.0..rate must be an integer, 0 or more" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":-1}]}}"'
bad_bundle 2 "a blkio weight of 5" "blockIO.weight is 5: give a blkio weight, 10..1000" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"blockIO\":{\"weight\":5}}"'
bad_bundle 2 "a leafWeight" "leafWeight has no cgroup v2 counterpart" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"blockIO\":{\"leafWeight\":100}}"'
bad_bundle 2 "a throttle without a minor" "needs a device's major and minor numbers" 'set_json "$B.bad/config.json" "c[\"linux\"][\"resources\"]={\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}"'
bad_bundle 2 "an unknown field" "linux.frobnicate is not supported" 'set_json "$B.bad/config.json" "c[\"linux\"][\"frobnicate\"]=1"'
bad_bundle 2 "ociVersion 2" "ociVersion 2.0.0 is not 1.x" 'set_json "$B.bad/config.json" "c[\"ociVersion\"]=\"2.0.0\""'

rm -rf "$B" "$B.bad" "$B.crun" "$B.nodes" "$LOGS/crun-$$"
daemon_stop
