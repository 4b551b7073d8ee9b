#!/bin/sh
# go/build.sh MODULE OUTDIR: builds the Go module's test binary (lmct.test)
# and example agent (nodeagent) into OUTDIR with go's own commands, as a Go
# user runs them in the module's folder: offline, since go.mod takes the
# dependencies from Debian's golang-google-protobuf-dev and
# golang-golang-x-sys-dev.
set -eu
out=$(cd "$2" && pwd)
cd "$1"
go vet ./...
go test -c -o "$out/lmct.test" .
go build -o "$out/nodeagent" ./examples/nodeagent
