#!/bin/bash
# Builds lmct's Debian packages as a distribution would (dpkg-buildpackage
# -b -uc -us, debian/) from a copy of the source in OUT/src, checks them
# with lintian, and builds them once more as a newer version (OUT/next) for
# the upgrade in tests/package/t-package.sh. Prints PASS:/FAIL: lines and
# lintian's warnings.
#
#   tests/package/build.sh OUT
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
rm -rf "$out/src" "$out/next" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
# A new symbol in liblmct without its line in debian/liblmct0.symbols fails.
export DPKG_GENSYMBOLS_CHECK_LEVEL=4

# build DIR VERSION: builds the source copied into DIR/src/lmct-VERSION.
build() {
        local dir=$1 v=$2 src=$1/src/lmct-$2
        mkdir -p "$src"
        # The source as a distribution gets it: the files git tracks (and
        # new ones not ignored), or, outside a git checkout, the tree less
        # build directories and packaging leftovers.
        if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
                (cd "$top" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | (cd "$src" && tar xf -)
        else
                (cd "$top" && tar --exclude=./build --exclude='./build-*' --exclude='./obj-*' \
                        --exclude=./debian/.debhelper --exclude=./debian/lmct --exclude=./debian/liblmct0 \
                        --exclude=./debian/liblmct-dev --exclude=./debian/python3-lmct --exclude=./debian/tmp \
                        -cf - .) | (cd "$src" && tar xf -)
        fi
        if [ "$v" != "$version" ]; then
                { printf 'lmct (%s) unstable; urgency=medium\n\n  * A rebuild, for the upgrade test.\n\n' "$v"
                  printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" "$(date -R)"
                  cat "$src/debian/changelog"; } > "$src/debian/changelog.new"
                mv "$src/debian/changelog.new" "$src/debian/changelog"
        fi
        (cd "$src" && dpkg-buildpackage -b -uc -us) > "$dir/dpkg-buildpackage.log" 2>&1 || return 1
        # dpkg-buildpackage leaves them beside the source directory.
        mv "$dir"/src/*.deb "$dir"/src/*.changes "$dir"/src/*.buildinfo "$dir"/
}

if build "$out" "$version"; then
        echo "PASS: package: dpkg-buildpackage -b -uc -us builds $(cd "$out" && ls ./*.deb | grep -v dbgsym | sed 's|^\./||' | tr '\n' ' ')"
else
        echo "FAIL: package: dpkg-buildpackage: $(tail -n 5 "$out/dpkg-buildpackage.log" | tr '\n' ' ')"
fi
for p in lmct liblmct0 liblmct-dev python3-lmct; do
        if ls "$out/${p}_${version}_"*.deb >/dev/null 2>&1; then
                echo "PASS: package: $p is built"
        else
                echo "FAIL: package: $p is built: no ${p}_${version}_*.deb"
        fi
done
if grep -q "dpkg-gensymbols: warning" "$out/dpkg-buildpackage.log"; then
        echo "FAIL: package: liblmct's symbols match debian/liblmct0.symbols: $(grep -A12 'dpkg-gensymbols: warning' "$out/dpkg-buildpackage.log" | tr '\n' ' ')"
else
        echo "PASS: package: liblmct's symbols match debian/liblmct0.symbols"
fi
if grep -qE "^(Ok|Fail): " "$out/dpkg-buildpackage.log" && ! grep -qE "^Fail: +[1-9]" "$out/dpkg-buildpackage.log"; then
        echo "PASS: package: the unit tests pass in the package build ($(grep -E '^Ok: ' "$out/dpkg-buildpackage.log" | tr -s ' '))"
else
        echo "FAIL: package: the unit tests in the package build: $(grep -E '^(Ok|Fail): ' "$out/dpkg-buildpackage.log" | tr '\n' ' ')"
fi

# lintian: no error; its warnings are listed.
lintian --allow-root -EIL +pedantic --display-level '>=pedantic' "$out"/*.deb > "$out/lintian.txt" 2>&1
lrc=$?
errors=$(grep -c '^E: ' "$out/lintian.txt")
warnings=$(grep -c '^W: ' "$out/lintian.txt")
grep -E '^[EWIP]: ' "$out/lintian.txt" | sed 's/^/    lintian: /'
if [ "$errors" = 0 ] && [ "$lrc" = 0 ]; then
        echo "PASS: package: lintian finds no error ($warnings warnings)"
else
        echo "FAIL: package: lintian: exit $lrc, $errors errors: $(grep '^E: ' "$out/lintian.txt" | head -n 5 | tr '\n' ' ')"
fi

# A newer build of the same source, for the upgrade.
if build "$out/next" "$version+rebuild1"; then
        echo "PASS: package: a newer build ($version+rebuild1) for the upgrade test"
else
        echo "FAIL: package: the newer build: $(tail -n 5 "$out/next/dpkg-buildpackage.log" | tr '\n' ' ')"
fi
