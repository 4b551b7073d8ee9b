#!/bin/sh
# Run by `meson install`: when installing onto the live system (no
# DESTDIR) as root, refresh the loader's cache so that agents linked
# against the shared liblmct find it in a prefix such as /usr/local.
# Staged installs (DESTDIR, packaging) leave that to the package manager.
[ -z "${DESTDIR:-}" ] || exit 0
[ "$(id -u)" = 0 ] || exit 0
command -v ldconfig >/dev/null 2>&1 || exit 0
ldconfig
