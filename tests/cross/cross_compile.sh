#!/usr/bin/env bash
# Compile every source of the library, and of the tools a terminal runs,
# with a cross compiler, warnings as errors: that they build for a
# terminal's processor (32-bit ARM: 32-bit size_t and long; time_t and
# off_t 64-bit only through the build's definitions, which common/clock.h
# checks). Compiling only: the cross C library comes with the compiler,
# the headers of LMDB, libsodium, zlib and libserialport are this
# machine's (the same on every Debian architecture), and their libraries
# for the other processor are not here to link.
#   cross_compile.sh CC DEP_INCLUDE_DIR FLAGS... -- SOURCES...
set -uo pipefail
cc=$1 depdir=$2
shift 2
flags=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    flags+=("$1")
    shift
done
shift
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# Only the dependencies' own headers: the whole directory would bring this
# machine's C library headers in ahead of the cross compiler's.
mkdir "$tmp/include"
for h in lmdb.h sodium.h sodium zlib.h zconf.h libserialport.h; do
    [ -e "$depdir/$h" ] && ln -s "$depdir/$h" "$tmp/include/$h"
done
failed=0
for src in "$@"; do
    if ! "$cc" "${flags[@]}" -I"$tmp/include" -c "$src" -o "$tmp/unit.o"; then
        echo "cross_compile: $src does not build with $cc" >&2
        failed=$((failed + 1))
    fi
done
echo "cross_compile: $cc: $(($# - failed)) of $# sources built"
[ "$failed" -eq 0 ]
