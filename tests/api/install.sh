#!/bin/sh
# What `make install` puts in a prefix is enough to build a program outside the tree: every
# example and tests/cxx/headers.cpp compile against the installed headers with only
# `pkg-config --cflags --libs sio` (no -I to the sources), link to the installed libsio.so, and
# the C++ one runs.
# Usage: install.sh BUILD_DIR SOURCE_DIR. Installs into a temporary prefix, removed at the end.
set -eu
build=$1
src=$2
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
pc=$(find "$tmp/prefix" -name sio.pc)
[ -n "$pc" ] || fail "no sio.pc installed"
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=$(pkg-config --cflags --libs sio) || fail "pkg-config cannot resolve sio"
libdir=$(pkg-config --variable=libdir sio)
warn="-Wall -Wextra -Wno-unused-parameter -Werror"

for dir in "$src"/examples/*/; do
  name=$(basename "$dir")
  set -- "$dir"*.c
  [ -e "$1" ] || continue
  # shellcheck disable=SC2086
  "$CC" -std=gnu17 $warn -DSIO_EXAMPLE_DIR="\"$dir\"" "$@" -o "$tmp/$name" $flags \
    -Wl,-rpath,"$libdir" 2>"$tmp/$name.log" || { cat "$tmp/$name.log"; fail "example $name"; }
  ldd "$tmp/$name" | grep -q "$libdir/libsio.so" || fail "$name does not link the installed libsio"
done
# shellcheck disable=SC2086
"$CXX" -std=c++17 $warn "$src/tests/cxx/headers.cpp" -o "$tmp/headers" $flags \
  -Wl,-rpath,"$libdir" 2>"$tmp/headers.log" || { cat "$tmp/headers.log"; fail "tests/cxx"; }
"$tmp/headers" >"$tmp/headers.out" 2>&1 || { cat "$tmp/headers.out"; fail "tests/cxx run"; }
echo "ok: the examples and tests/cxx build against the installed sio ($(ls "$tmp/prefix"))"
