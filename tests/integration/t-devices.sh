#!/bin/bash
# Device rules, shown by behaviour: a container allowed /dev/null and
# nothing else opens /dev/null and gets EPERM on /dev/zero; an update, a
# child that cannot widen its parent's rules, a restart of lmctld that
# finds the program in place (one program, none loaded twice), rules
# removed, and a destroyed container that leaves no program behind.
. "$(dirname "$0")/lib.sh"
daemon_start || exit 0

attached() { "$HELPER" bpf-devices attached "$ROOT/$1"; }
loaded() { "$HELPER" bpf-devices loaded; }
base=$(loaded)

check "create dev --device-allow 'c 1:3 rw'" lm create dev --device-allow 'c 1:3 rw'
expect_eq "one device program on the container's cgroup" "$(attached dev)" 1
expect_rc 0 "writing /dev/null is allowed" lm run dev -- sh -c 'echo x > /dev/null'
expect_rc 1 "reading /dev/zero, which no rule allows, is refused" lm run dev -- sh -c 'head -c 1 /dev/zero >/dev/null'
expect_match "with EPERM" "$ERR" "/dev/zero.*Operation not permitted"
expect_rc 0 "reading /dev/null is within rw: allowed" lm run dev -- sh -c 'head -c 1 /dev/null >/dev/null'
expect_match "show lists the rule" "$(lm show dev)" "^devices +allow c 1:3 rw$"
expect_match "and --json too" "$(lm --json show dev | tr -d ' \n')" '"configured":\{[^}]*"devices":\["allowc1:3rw"\]'

check "update: allow /dev/zero for reading too" lm update dev --device-allow 'c 1:3 rw' --device-allow 'c 1:5 r'
expect_rc 0 "/dev/zero can be read after the update" lm run dev -- sh -c 'head -c 1 /dev/zero >/dev/null'
expect_rc 2 "but not written (the shell cannot open it)" lm run dev -- sh -c 'echo x > /dev/zero'
expect_match "EPERM" "$ERR" "Operation not permitted"
expect_eq "still one program on the cgroup: the old one was detached" "$(attached dev)" 1

check "create dev/kid --device-allow a (every device)" lm create dev/kid --device-allow a
expect_rc 1 "a child cannot widen its parent's rules: /dev/urandom is denied" lm run dev/kid -- sh -c 'head -c 1 /dev/urandom >/dev/null'
expect_rc 0 "and what both allow works" lm run dev/kid -- sh -c 'head -c 1 /dev/zero >/dev/null'
check "create dev/deny --device-allow a --device-deny 'c 1:3 w'" lm create dev/deny --device-allow a --device-deny 'c 1:3 w'
expect_rc 2 "a child narrows: the last rule that matches decides (no writes to /dev/null)" \
        lm run dev/deny -- sh -c 'echo x > /dev/null'
expect_rc 2 "a deny of w denies a read-write open too (it asks for w)" lm run dev/deny -- sh -c ': <> /dev/null'
expect_rc 0 "and reading it is still allowed" lm run dev/deny -- sh -c 'head -c 1 /dev/null'
expect_match "the record carries the program's tag" "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.lmct.devices").decode().split("\n")[0])' "$ROOT/dev/deny" 2>&1)" \
        '^tag [0-9a-f]{16}$'

# lmctld restarted: the kernel kept the programs; lmctld checks them against
# their records and loads nothing twice.
before=$(loaded)
daemon_stop
daemon_start || exit 0
expect_eq "after a restart: one program on the container" "$(attached dev)" 1
expect_eq "and as many device programs loaded as before" "$(loaded)" "$before"
expect_rc 1 "/dev/urandom is still denied" lm run dev -- sh -c 'head -c 1 /dev/urandom >/dev/null'
expect_rc 0 "/dev/zero still readable" lm run dev -- sh -c 'head -c 1 /dev/zero >/dev/null'
expect_match "show after the restart" "$(lm show dev | tr '\n' ' ')" "devices +allow c 1:3 rw +allow c 1:5 r"

# A program detached behind lmctld's back is put back from the record at
# the next start: the rules fail closed.
daemon_stop
"$HELPER" bpf-devices detach "$ROOT/dev" >/dev/null
expect_eq "(a program detached while lmctld was down)" "$(attached dev)" 0
daemon_start || exit 0
expect_eq "put back at the next start" "$(attached dev)" 1
expect_rc 1 "/dev/urandom is denied again" lm run dev -- sh -c 'head -c 1 /dev/urandom >/dev/null'

# Bad rules: refused by lmctl, nothing changed.
expect_rc 2 "a rule of type x is refused" lm update dev --device-allow 'x 1:3 rw'
expect_match "naming the syntax" "$ERR" "give TYPE MAJOR:MINOR ACCESS"
expect_rc 2 "access q is refused" lm update dev --device-allow 'c 1:3 q'
expect_rc 2 "a major past 4095 is refused" lm update dev --device-deny 'c 5000:1 r'
expect_eq "the rules are unchanged" "$(lm show dev | grep -c 'allow c')" 2

check "update dev --no-device-rules" lm update dev --no-device-rules
expect_eq "no program on the cgroup" "$(attached dev)" 0
expect_rc 0 "/dev/urandom is readable again" lm run dev -- sh -c 'head -c 1 /dev/urandom >/dev/null'
expect_eq "and show has no rules" "$(lm show dev | grep -c '^devices')" 0

# Destroyed: the kernel frees the programs with the cgroups.
check "create gone --device-deny a" lm create gone --device-deny a
lm destroy -r dev >/dev/null
lm destroy gone >/dev/null
for _ in $(seq 1 50); do [ "$(loaded)" = "$base" ] && break; sleep 0.2; done
expect_eq "destroyed containers leave no device program behind" "$(loaded)" "$base"
expect_eq "nothing left" "$(lm list)" ""
daemon_stop
