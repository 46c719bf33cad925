#!/usr/bin/env bash
# Install sfj into a temporary prefix, then build the quickstart example out
# of tree against it twice, with pkg-config and with find_package(sfj), and
# run both builds.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sfj-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name sfj.pc | head -n 1)")
libdir=$(dirname "$pcdir")
test -f "$prefix/include/sfj/sfj.h"

# pkg-config
cc -o "$work/qs-pc" "$src/examples/quickstart.c" \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs sfj) \
    -Wl,-rpath,"$libdir"
"$work/qs-pc" "$work/key1" "$work/j1" | grep -q "appended seq 7"

# find_package
cmake -S "$src/tests/install/consumer" -B "$work/consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DSFJ_EXAMPLE_SOURCE="$src/examples/quickstart.c" \
    -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" "$work/key2" "$work/j2" | grep -q "appended seq 7"
echo "install test: pkg-config and find_package builds both ran"
