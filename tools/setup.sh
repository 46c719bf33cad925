# Shared set-up for tools/demo.sh and tools/test.sh (sourced, not run):
# install the Debian packages sfj needs when they are missing, then
# configure and build. Honours SFJ_BUILD_DIR (default: build/) and
# SFJ_CMAKE_ARGS (extra configure arguments).

SFJ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SFJ_BUILD=${SFJ_BUILD_DIR:-$SFJ_ROOT/build}
SFJ_PACKAGES="build-essential cmake pkg-config liblmdb-dev libsodium-dev
  zlib1g-dev libserialport-dev libcmocka-dev socat sqlite3 libsqlite3-dev
  clang valgrind postgresql libpq-dev"
# What tools/test.sh adds: cross compilers and qemu-user, for the tests of
# sfj on AArch64 and 32-bit ARM (tests/cross/: the library compiles
# there, and its register clear works).
SFJ_TEST_PACKAGES="qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"

sfj_missing_packages() {
    local p missing=""
    for p in $SFJ_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
            missing="$missing $p"
        fi
    done
    echo "$missing"
}

sfj_install_packages() {
    local missing
    missing=$(sfj_missing_packages)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "sfj: missing Debian packages:$missing" >&2
        echo "sfj: install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
        return 1
    fi
    echo "sfj: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing </dev/null
}

# Copy the build's output (stdin) into the log file $1; on a terminal,
# show its progress on stderr as the tools do (docs/CLI.md, "Progress"):
# one line rewritten with carriage returns, with cmake's percentage and
# the time left, cleared at the end. Nothing else is shown.
sfj_progress_filter() {
    local log=$1 line pct el left=""
    : >"$log"
    if [ ! -t 2 ]; then
        cat >>"$log"
        return 0
    fi
    local start=$SECONDS
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$log"
        [[ $line =~ ^\[\ *([0-9]+)%\] ]] || continue
        pct=${BASH_REMATCH[1]}
        el=$((SECONDS - start))
        left=""
        if [ "$pct" -gt 0 ] && [ "$pct" -lt 100 ] && [ "$el" -gt 0 ]; then
            left=", $((el * (100 - pct) / pct)) s left"
        fi
        printf '\rsfj: building %3d%%, %d s%s  ' "$pct" "$el" "$left" >&2
    done
    printf '\r\033[K' >&2
}

sfj_build() {
    # shellcheck disable=SC2086
    local log
    mkdir -p "$SFJ_BUILD"
    log="$SFJ_BUILD/build.log"
    echo "sfj: building in $SFJ_BUILD (log: $log)"
    # The status of the build, not of the filter, decides.
    # shellcheck disable=SC2086
    {
        if cmake -S "$SFJ_ROOT" -B "$SFJ_BUILD" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo ${SFJ_CMAKE_ARGS:-} &&
            cmake --build "$SFJ_BUILD" -j"$(nproc)"; then
            echo 0 >"$log.rc"
        else
            echo 1 >"$log.rc"
        fi
    } 2>&1 | sfj_progress_filter "$log"
    if [ "$(cat "$log.rc" 2>/dev/null)" != 0 ]; then
        rm -f "$log.rc"
        tail -n 60 "$log" >&2
        echo "sfj: build failed; full log in $log" >&2
        return 1
    fi
    rm -f "$log.rc"
}

# sfj_setup [test]: with "test", the test packages too, and the cross
# tests made a must (a missing compiler fails the configure step).
sfj_setup() {
    if [ "${1:-}" = test ]; then
        SFJ_PACKAGES="$SFJ_PACKAGES $SFJ_TEST_PACKAGES"
        SFJ_CMAKE_ARGS="-DSFJ_CROSS_TESTS=ON ${SFJ_CMAKE_ARGS:-}"
    fi
    sfj_install_packages
    sfj_build
}
