# Shared set-up for tools/demo.sh and tools/test.sh (sourced, not run):
# install the Debian packages sfj needs when they are missing, then
# configure and build. Honours SFJ_BUILD_DIR (default: build/) and
# SFJ_CMAKE_ARGS (extra configure arguments).

SFJ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SFJ_BUILD=${SFJ_BUILD_DIR:-$SFJ_ROOT/build}
SFJ_PACKAGES="build-essential cmake pkg-config liblmdb-dev libsodium-dev
  zlib1g-dev libserialport-dev libcmocka-dev socat sqlite3 libsqlite3-dev
  clang valgrind postgresql libpq-dev"

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

sfj_build() {
    # shellcheck disable=SC2086
    local log
    mkdir -p "$SFJ_BUILD"
    log="$SFJ_BUILD/build.log"
    echo "sfj: building in $SFJ_BUILD (log: $log)"
    # shellcheck disable=SC2086
    if ! { cmake -S "$SFJ_ROOT" -B "$SFJ_BUILD" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo ${SFJ_CMAKE_ARGS:-} &&
        cmake --build "$SFJ_BUILD" -j"$(nproc)"; } >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "sfj: build failed; full log in $log" >&2
        return 1
    fi
}

sfj_setup() {
    sfj_install_packages
    sfj_build
}
