#!/usr/bin/env bash
# The test suite built for another processor that terminals run, with the
# tools, and run under qemu-user: every suite labelled "emulated" (all but
# the few tests/CMakeLists.txt names) and the fuzz corpora's replays.
#
#   tools/emulated.sh armhf|arm64
#
# armhf is Debian's 32-bit ARM with hard float: LMDB's file layout,
# size_t, time_t, the register clear and libsodium's portable code differ
# there from this machine's. arm64 is AArch64.
# Needs the cross compiler and qemu-user that tools/test.sh installs
# (gcc-<triple>, libc6-dev-<arch>-cross, qemu-user). The packages of sfj's
# dependencies for that architecture are downloaded with apt into a
# private list and cache, and unpacked into the build directory's sysroot;
# nothing is installed and dpkg's architectures stay as they are.
# sfj-host is built without its PostgreSQL store (libpq's dependencies
# are many).
#   SFJ_EMULATED_DIR    build directory (default: build-<arch>/)
#   SFJ_EMULATED_LIMIT  time bound in seconds, build included
#                       (default 1800)
#   SFJ_JOBS            build and test parallelism (default: nproc)
# Exit status: 0 when every suite passed, 1 otherwise, 2 for bad usage.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-}
case $arch in
armhf) triple=arm-linux-gnueabihf qemu=qemu-arm ;;
arm64) triple=aarch64-linux-gnu qemu=qemu-aarch64 ;;
*)
    echo "usage: tools/emulated.sh armhf|arm64" >&2
    exit 2
    ;;
esac
dir=${SFJ_EMULATED_DIR:-$root/build-$arch}
jobs=${SFJ_JOBS:-$(nproc)}
limit=${SFJ_EMULATED_LIMIT:-1800}
sysroot=$dir/sysroot
packages="libsodium-dev libsodium23 liblmdb-dev liblmdb0 zlib1g-dev zlib1g
  libcmocka-dev libcmocka0 libsqlite3-dev libsqlite3-0"

fail() {
    echo "sfj $arch: $*" >&2
    exit 1
}

echo "== $arch (limit $limit s)"
for p in "$triple-gcc" "$qemu"; do
    command -v "$p" >/dev/null || fail "$p not found (tools/test.sh installs it)"
done
[ -d "/usr/$triple/lib" ] ||
    fail "no $arch C library in /usr/$triple (libc6-dev-$arch-cross)"

# The dependencies, fetched once per build directory.
if [ ! -f "$sysroot/.complete" ]; then
    apt_dir=$dir/apt
    rm -rf "$sysroot" "$apt_dir"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
        "$apt_dir/debs" "$sysroot" || fail "cannot create $dir"
    apt_opts=(-o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache" -o "APT::Architecture=$arch"
        -o "APT::Architectures=$arch" -o APT::Sandbox::User=root)
    # An index that fails (a mirror mid-sync) is not fatal: the download
    # below says whether what is needed was found.
    apt-get -qq "${apt_opts[@]}" update </dev/null >"$apt_dir/update.log" 2>&1
    # shellcheck disable=SC2086
    (cd "$apt_dir/debs" && apt-get -qq "${apt_opts[@]}" download $packages \
        </dev/null >"$apt_dir/download.log" 2>&1) || {
        cat "$apt_dir/update.log" "$apt_dir/download.log" >&2
        fail "could not download the $arch packages"
    }
    for deb in "$apt_dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$sysroot" || fail "could not unpack $deb"
    done
    touch "$sysroot/.complete"
fi

timeout -k 10 "$limit" bash -c '
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_TOOLCHAIN_FILE="$1/tests/cross/emulated-toolchain.cmake" \
        -DSFJ_EMULATED_ARCH="$5" -DSFJ_EMULATED_SYSROOT="$3" \
        -DSFJ_WITH_SERIAL=OFF -DSFJ_WITH_LIBPQ=OFF \
        -DSFJ_CROSS_TESTS=OFF >"$2/configure.log" 2>&1 ||
        { tail -n 40 "$2/configure.log"; exit 1; }
    cmake --build "$2" -j"$4" >"$2/build.log" 2>&1 ||
        { tail -n 40 "$2/build.log"; exit 1; }
    cd "$2" && ctest -L emulated --output-on-failure -j"$4" --timeout 600
' "$arch" "$root" "$dir" "$sysroot" "$jobs" "$arch"
rc=$?
[ "$rc" -eq 124 ] && echo "sfj $arch: out of time after ${limit} s" >&2
exit $((rc != 0))
