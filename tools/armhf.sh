#!/usr/bin/env bash
# The test suite built for Debian's armhf, 32-bit ARM as many terminals
# run, with the tools, and run under qemu-user: every suite labelled
# "emulated" (all but the few tests/CMakeLists.txt names). LMDB's layout,
# time_t, the register clear and libsodium's portable code differ there
# from this machine's.
#
#   tools/armhf.sh
#
# Needs the cross compiler and qemu-user that tools/test.sh installs
# (gcc-arm-linux-gnueabihf, libc6-dev-armhf-cross, qemu-user). The armhf
# packages of sfj's dependencies are downloaded with apt into a private
# list and cache, and unpacked into the build directory's sysroot; nothing
# is installed and dpkg's architectures stay as they are.
#   SFJ_ARMHF_DIR    build directory (default: build-armhf/)
#   SFJ_ARMHF_LIMIT  time bound in seconds, download and build included
#                    (default 1800)
#   SFJ_JOBS         build and test parallelism (default: nproc)
# Exit status: 0 when every suite passed, 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${SFJ_ARMHF_DIR:-$root/build-armhf}
jobs=${SFJ_JOBS:-$(nproc)}
limit=${SFJ_ARMHF_LIMIT:-1800}
sysroot=$dir/sysroot
packages="libsodium-dev libsodium23 liblmdb-dev liblmdb0 zlib1g-dev zlib1g
  libcmocka-dev libcmocka0 libsqlite3-dev libsqlite3-0"

fail() {
    echo "sfj armhf: $*" >&2
    exit 1
}

echo "== armhf (limit $limit s)"
for p in arm-linux-gnueabihf-gcc qemu-arm; do
    command -v "$p" >/dev/null || fail "$p not found (tools/test.sh installs it)"
done
[ -d /usr/arm-linux-gnueabihf/lib ] ||
    fail "no armhf C library in /usr/arm-linux-gnueabihf (libc6-dev-armhf-cross)"

# The dependencies, fetched once per build directory. sfj-host is built
# without its PostgreSQL store (libpq's armhf dependencies are many).
if [ ! -f "$sysroot/.complete" ]; then
    apt_dir=$dir/apt
    rm -rf "$sysroot" "$apt_dir"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
        "$apt_dir/debs" "$sysroot" || fail "cannot create $dir"
    apt_opts=(-o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache" -o APT::Architecture=armhf
        -o APT::Architectures=armhf -o APT::Sandbox::User=root)
    # An index that fails (a mirror mid-sync) is not fatal: the download
    # below says whether what is needed was found.
    apt-get -qq "${apt_opts[@]}" update </dev/null >"$apt_dir/update.log" 2>&1
    # shellcheck disable=SC2086
    (cd "$apt_dir/debs" && apt-get -qq "${apt_opts[@]}" download $packages \
        </dev/null >"$apt_dir/download.log" 2>&1) || {
        cat "$apt_dir/update.log" "$apt_dir/download.log" >&2
        fail "could not download the armhf packages"
    }
    for deb in "$apt_dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$sysroot" || fail "could not unpack $deb"
    done
    touch "$sysroot/.complete"
fi

timeout -k 10 "$limit" bash -c '
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_TOOLCHAIN_FILE="$1/tests/cross/armhf-toolchain.cmake" \
        -DSFJ_ARMHF_SYSROOT="$3" -DSFJ_WITH_SERIAL=OFF -DSFJ_WITH_LIBPQ=OFF \
        -DSFJ_CROSS_TESTS=OFF >"$2/configure.log" 2>&1 ||
        { tail -n 40 "$2/configure.log"; exit 1; }
    cmake --build "$2" -j"$4" >"$2/build.log" 2>&1 ||
        { tail -n 40 "$2/build.log"; exit 1; }
    cd "$2" && ctest -L emulated --output-on-failure -j"$4" --timeout 600
' armhf "$root" "$dir" "$sysroot" "$jobs"
rc=$?
[ "$rc" -eq 124 ] && echo "sfj armhf: out of time after ${limit} s" >&2
exit $((rc != 0))
