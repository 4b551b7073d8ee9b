#!/bin/bash
# What this host can show natively: lmctld refuses a root that is not on
# cgroup v2, and on a hybrid host (controllers bound to cgroup v1, as here)
# it still manages structure and refuses limits naming why.
LMCT_CGROUP_MOUNT=/sys/fs/cgroup/unified
[ -f /sys/fs/cgroup/cgroup.controllers ] && LMCT_CGROUP_MOUNT=/sys/fs/cgroup
export LMCT_CGROUP_MOUNT
. "$(dirname "$0")/../integration/lib.sh"

notv2=$(mktemp -d /tmp/lmct-notv2.XXXXXX)
expect_rc 1 "lmctld refuses a root that is not on cgroup v2" "$LMCTLD" --socket "/run/lmct-notv2-$$.sock" --cgroup-root "$notv2"
expect_match "and says so" "$ERR" "is not on a cgroup v2 filesystem"
rmdir "$notv2"
expect_rc 2 "lmctld refuses an unknown option" "$LMCTLD" --frobnicate
expect_rc 2 "lmctld refuses --max-depth 0" "$LMCTLD" --max-depth 0
expect_rc 2 "lmctld refuses --client-timeout 0" "$LMCTLD" --client-timeout 0
expect_rc 2 "lmctld refuses a --scope that is not a scope unit" "$LMCTLD" --scope lmct.service
expect_rc 2 "lmctld refuses --scope with --cgroup-root" "$LMCTLD" --scope lmct.scope --cgroup-root /sys/fs/cgroup/x
expect_rc 1 "lmctld refuses --metrics-listen without a port" "$LMCTLD" --socket "/run/lmct-bad-$$.sock" \
        --cgroup-root "$LMCT_CGROUP_MOUNT/lmct-bad-$$" --metrics-listen 127.0.0.1
expect_match "and says how to write it" "$ERR" "give ADDRESS:PORT"
rmdir "$LMCT_CGROUP_MOUNT/lmct-bad-$$" 2>/dev/null

if [ ! -f "$LMCT_CGROUP_MOUNT/cgroup.controllers" ]; then
        fail "a cgroup v2 hierarchy on this host" "none at $LMCT_CGROUP_MOUNT"
        exit 0
fi
daemon_start || exit 0
expect_rc 0 "structure works on this host's v2 hierarchy" lm create -p hostA/sub1
expect_eq "the cgroup exists" "$(test -d "$ROOT/hostA/sub1" && echo yes)" yes
missing=
for c in cpu memory pids; do grep -qw "$c" "$ROOT/cgroup.controllers" || missing="$missing $c"; done
if [ -n "$missing" ]; then
        c=${missing# }; c=${c%% *}
        flag=--$c; [ "$c" = cpu ] && flag="--cpu 1"; [ "$c" = memory ] && flag="--memory 1G"; [ "$c" = pids ] && flag="--pids 5"
        expect_rc 7 "a limit whose controller is missing here ($c) is refused: exit 7" lm update hostA/sub1 $flag
        if grep -qE "^$c[[:space:]]+[1-9]" /proc/cgroups; then
                expect_match "naming the controller and why (bound to cgroup v1)" "$ERR" "controller $c is not available: bound to a cgroup v1 hierarchy"
        else
                expect_match "naming the controller and why" "$ERR" "controller $c is not available"
        fi
        expect_rc 7 "create with such a limit is refused" lm create hostA/sub2 $flag
        expect_eq "and leaves nothing behind" "$(test -d "$ROOT/hostA/sub2" && echo present || echo absent)" absent
fi
if ! grep -qw memory "$ROOT/cgroup.controllers"; then
        expect_rc 7 "events --memory-above where memory cannot be accounted: exit 7" lm events hostA/sub1 --memory-above 1M
        expect_match "naming the controller" "$ERR" "controller memory is not available"
fi
# Labels need no controller: checked here too, with the refusals of the
# command line (the daemon's own are proto-test's table).
expect_rc 0 "create with labels on this host" lm create hostA/lab --label team=infra --label job=etl-1
expect_eq "a selector finds it" "$(lm list -r hostA --label team=infra --label job)" "hostA/lab"
tree_before=$(find "$ROOT" -type d | sort)
expect_rc 2 "a label key with a space: exit 2" lm update hostA/lab --label 'a b=1'
expect_match "naming what is wrong" "$ERR" "a label key takes only letters, digits and . _ / -"
expect_rc 2 "update --label KEY without = or a trailing -: exit 2" lm update hostA/lab --label team
expect_rc 2 "create --label KEY-: exit 2" lm create hostA/lab2 --label team-
expect_rc 2 "a selector with an empty key: exit 2" lm list --label =x
expect_rc 2 "a key both set and removed, refused by lmctld: exit 2" lm update hostA/lab --label job=2 --label job-
expect_match "naming the key" "$ERR" 'label key "job" is both set and removed'
expect_eq "the labels are as they were" "$(lm show hostA/lab | grep '^labels')" "labels      job=etl-1 team=infra"
expect_eq "and the tree" "$(find "$ROOT" -type d | sort)" "$tree_before"
# Bash completion, called as bash calls it, against this daemon.
comp() { LMCTL=$LMCTL bash -c '. "$1" "$2"; complete_line "$3"' _ "$(dirname "$0")/../helpers/complete.sh" \
        "$(dirname "$0")/../../client/lmctl.bash" "$1"; }
expect_eq "completion: a verb" "$(comp "lmctl cre")" "create"
expect_eq "completion: top's columns" "$(comp "lmctl top -o psi-")" "psi-cpu psi-memory psi-io"
expect_eq "completion: a verb's options, from its --help" "$(comp "lmctl create x --memory-")" \
        "--memory-high --memory-low --memory-min"
expect_eq "completion: container names from the live daemon" "$(comp "lmctl -s $SOCK show hostA/")" \
        "hostA/lab hostA/sub1"
expect_eq "completion: no name after the first" "$(comp "lmctl -s $SOCK show hostA/sub1 ")" ""
expect_eq "completion: a value is not completed" "$(comp "lmctl -s $SOCK create x --owner ")" ""
expect_eq "completion: nothing, and no noise, when no daemon answers" \
        "$(comp "lmctl -s /run/lmct-none-$$.sock show h" 2>&1)" ""
expect_match "completion: after --, a command" "$(comp "lmctl -s $SOCK run hostA/sub1 -- ech")" "^echo$"
expect_rc 0 "destroy -r on this host" lm destroy -r hostA
daemon_stop
rmdir "$ROOT" 2>/dev/null
expect_eq "nothing is left in this host's cgroup tree" "$(test -d "$ROOT" && echo present || echo absent)" absent

# An agent builds against the installed header and pkg-config file.
dest=$(mktemp -d /tmp/lmct-install.XXXXXX)
if DESTDIR=$dest meson install -C "$BUILD" --no-rebuild >"$LOGS/install.log" 2>&1; then
        pass "meson install puts binaries, library, header, pkg-config file and proto in place"
else
        fail "meson install" "$(tail -n 3 "$LOGS/install.log")"
fi
pcdir=$(dirname "$(find "$dest" -name liblmct.pc | head -n 1)")
libdir=$(dirname "$(find "$dest" -name 'liblmct.so' | head -n 1)")
for f in lmct.h lmct.pb-c.h; do
        expect_eq "installed header $f" "$(find "$dest" -name "$f" | wc -l)" 1
done
expect_eq "installed lmct.proto" "$(find "$dest" -name lmct.proto | wc -l)" 1
expect_eq "installed the bash completion where bash-completion looks" \
        "$(find "$dest" -path '*/share/bash-completion/completions/lmctl' | wc -l)" 1
for page in man1/lmctl.1 man8/lmctld.8; do
        f=$(find "$dest" -path "*/$page" | head -n 1)
        expect_match "installed the man page $page, and man renders it" \
                "$(MANWIDTH=80 man -l "${f:-/nonexistent}" 2>&1 | head -n 8)" "$(basename "${page%.*}") - "
done
expect_eq "lmctl and lmctld need no shared library of lmct's" \
        "$(ldd "$(find "$dest" -name lmctl -type f | head -n 1)" "$(find "$dest" -name lmctld -type f | head -n 1)" | grep -c liblmct)" 0
expect_eq "the shared liblmct exports lmct_* only" \
        "$(nm -D --defined-only "$(find "$dest" -name 'liblmct.so.0.*' | head -n 1)" | awk '$2 != "A" && $3 !~ /^lmct_/' | wc -l)" 0
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
sysusersdir=$(pkg-config --variable=sysusersdir systemd)
for f in lmctld.service lmctld.socket; do
        expect_eq "installed $f in systemd's unit directory ($unitdir)" "$(test -f "$dest$unitdir/$f" && echo yes)" yes
done
expect_eq "installed the lmct group for sysusers.d" "$(grep -c '^g lmct' "$dest$sysusersdir/lmct.conf" 2>&1)" 1
execstart=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$dest$unitdir/lmctld.service")
expect_eq "the service starts the installed lmctld" "$(test -x "$dest$execstart" && echo "$execstart")" "$execstart"
if command -v systemd-analyze >/dev/null; then
        # The same units, with ExecStart= pointing into DESTDIR.
        mkdir -p "$dest/verify"
        sed "s|^ExecStart=|ExecStart=$dest|" "$dest$unitdir/lmctld.service" > "$dest/verify/lmctld.service"
        cp "$dest$unitdir/lmctld.socket" "$dest/verify/"
        out=$(systemd-analyze verify --man=no "$dest/verify/lmctld.socket" "$dest/verify/lmctld.service" 2>&1)
        expect_eq "systemd-analyze verify finds nothing to say about the units" "$out" ""
fi
if cc -o "$dest/agent" "$(dirname "$0")/agent-example.c" \
        $(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs liblmct) >"$LOGS/agent-cc.log" 2>&1; then
        pass "an agent compiles and links against the installed liblmct"
else
        fail "an agent compiles against the installed liblmct" "$(head -n 3 "$LOGS/agent-cc.log")"
fi
daemon_start || exit 0
expect_rc 0 "the agent creates, lists, sees ALREADY_EXISTS and destroys through liblmct" \
        env LD_LIBRARY_PATH="$libdir" "$dest/agent" "$SOCK" agents/a1
expect_eq "what the agent listed" "$(echo $OUT)" "agents agents/a1 duplicate: ALREADY_EXISTS"
lm destroy agents >/dev/null
daemon_stop
rmdir "$ROOT" 2>/dev/null
rm -rf "$dest"
