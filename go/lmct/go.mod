module lmct.dev/go/lmct

go 1.19

require (
	golang.org/x/sys v0.3.0
	google.golang.org/protobuf v1.28.1
)

// Debian's packages (golang-google-protobuf-dev, golang-golang-x-sys-dev)
// hold these modules' source, so the module builds offline there with a
// plain "go build". A module that requires this one ignores these lines
// (replace applies to the main module only) and resolves both as usual.
replace (
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
	google.golang.org/protobuf => /usr/share/gocode/src/google.golang.org/protobuf
)
