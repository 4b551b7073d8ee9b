#!/bin/sh
# go/unit.sh LMCT_TEST: runs the Go client's tests that need no lmctld
# (framing, ids, pipelining, deadlines, refusals, descriptors, against a
# scripted peer). The ones against a real lmctld run in the integration
# suite (tests/integration/t-go.sh).
set -u
out=$(env -u LMCT_SOCKET "$1" -test.v -test.count=1 2>&1)
rc=$?
echo "$out"
p=$(echo "$out" | grep -c '^--- PASS')
f=$(echo "$out" | grep -c '^--- FAIL')
[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
echo "$((p + f)) checks, $f failed"
[ "$f" = 0 ]
