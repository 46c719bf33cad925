#!/usr/bin/env bash
# Install sfj into a temporary prefix, then build the quickstart example out
# of tree against it twice, with pkg-config and with find_package(sfj), and
# run both builds. With tools on the shared library ($3 = 1, the default
# SFJ_TOOLS_SHARED), each installed tool must load the installed
# libsfj.so.1 (ldd) and run from there.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
shared=${3:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/sfj-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name sfj.pc | head -n 1)")
libdir=$(dirname "$pcdir")
test -f "$prefix/include/sfj/sfj.h"

# Every installed tool has its installed manual page, and each page
# documents every long option the tool's --help lists.
tools=0
for tool in "$prefix"/bin/sfj-*; do
    [ -x "$tool" ] || continue
    name=$(basename "$tool")
    page="$prefix/share/man/man1/$name.1"
    [ -f "$page" ] || { echo "install test: no manual page for $name" >&2; exit 1; }
    # Man pages escape hyphens (\-); compare with them unescaped.
    text=$(sed 's/\\-/-/g' "$page")
    for opt in $("$tool" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -F -- "$opt" <<<"$text" || {
            echo "install test: $name --help lists $opt, $name.1 does not" >&2
            exit 1
        }
    done
    tools=$((tools + 1))
done
[ "$tools" -ge 5 ] || { echo "install test: only $tools tools installed" >&2; exit 1; }

# The installed tools on the installed shared library: their RUNPATH
# ($ORIGIN/../lib) finds it, never the build tree's copy.
if [ "$shared" = 1 ]; then
    for tool in "$prefix"/bin/sfj-*; do
        [ -x "$tool" ] || continue
        lib=$(env -u LD_LIBRARY_PATH ldd "$tool" | awk '$1 == "libsfj.so.1" {print $3}')
        [ -n "$lib" ] && [ "$(realpath "$lib")" = "$(realpath "$libdir/libsfj.so.1")" ] || {
            echo "install test: $(basename "$tool") loads libsfj.so.1 from '${lib:-nowhere}'," \
                "not from $libdir" >&2
            exit 1
        }
        env -u LD_LIBRARY_PATH "$tool" --version >/dev/null || {
            echo "install test: $(basename "$tool") --version failed" >&2
            exit 1
        }
    done
    # A tool that uses the internal surface (SFJ_PRIVATE) works end to end.
    env -u LD_LIBRARY_PATH "$prefix/bin/sfj-keygen" new "$work/key0" >/dev/null
    env -u LD_LIBRARY_PATH "$prefix/bin/sfj-keygen" show "$work/key0" | grep -q "public key"
fi

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
echo "install test: pkg-config and find_package builds both ran" \
    "$([ "$shared" = 1 ] && echo "; tools on the installed libsfj.so.1")"
