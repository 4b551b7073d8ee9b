#!/bin/sh
# go/check-generated.sh SRCDIR: the Go module commits the code protoc-gen-go
# makes from proto/lmct.proto (as Go modules do); this check fails when the
# two differ. Regenerate with:
#   cd go/lmct && protoc -I ../../proto --go_out=. --go_opt=module=lmct.dev/go/lmct lmct.proto
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
if ! protoc -I "$src/proto" --go_out="$tmp" --go_opt=module=lmct.dev/go/lmct lmct.proto; then
        echo "FAIL: protoc-gen-go did not run"
        failed=1
elif ! diff -u "$src/go/lmct/lmctpb/lmct.pb.go" "$tmp/lmctpb/lmct.pb.go" | head -n 40; then
        echo "FAIL: go/lmct/lmctpb/lmct.pb.go is not what proto/lmct.proto generates (see go/check-generated.sh)"
        failed=1
elif ! gofmt -l "$src/go/lmct" | { ! grep .; }; then
        echo "FAIL: Go files not gofmt'ed"
        failed=1
fi
echo "1 checks, $failed failed"
exit $failed
