#!/usr/bin/env bash
# Sanitizer and memory-checker runs of the test suite.
#
#   tools/sanitize.sh [asan|tsan|valgrind|all]   (default: all)
#
#   asan      build-asan (-DSFJ_SANITIZER=address: address + undefined),
#             the whole suite
#   tsan      build-tsan (-DSFJ_SANITIZER=thread), the suites with threads:
#             journal (concurrent appends), forwarder, host, crash loop
#   valgrind  memcheck --leak-check=full --error-exitcode=1 on the core
#             suites, from the ordinary build (build-tort unless
#             SFJ_BUILD_DIR is set)
#
# Each step prints how long it took. SFJ_JOBS sets the build parallelism.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${SFJ_JOBS:-$(nproc)}
what=${1:-all}

step() {
    local name=$1
    shift
    local t0=$SECONDS
    echo "== $name"
    "$@"
    echo "== $name: $((SECONDS - t0)) s"
}

build() {
    local dir=$1 san=$2
    cmake -S "$root" -B "$root/$dir" -DCMAKE_BUILD_TYPE=Debug \
        -DSFJ_SANITIZER="$san" >/dev/null
    cmake --build "$root/$dir" -j"$jobs"
}

asan() {
    build build-asan address
    # The fault and power-cut shims preload themselves; the runtime must
    # then accept not being first.
    (cd "$root/build-asan" &&
        ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j"$jobs" --timeout 1800)
}

tsan() {
    build build-tsan thread
    (cd "$root/build-tsan" &&
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --output-on-failure -j"$jobs" --timeout 1800 \
            -R 'test_journal|test_forwarder|test_host|test_crashloop|test_netfault')
}

valgrind_core() {
    local dir=${SFJ_BUILD_DIR:-$root/build-tort} t
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build "$dir" -j"$jobs"
    for t in test_journal test_frame test_txn test_retention test_bundle \
        test_recover; do
        [ -x "$dir/bin/$t" ] || continue
        echo "-- valgrind $t"
        (cd "$dir" && SFJ_BIN="$dir/bin" valgrind -q --leak-check=full \
            --errors-for-leak-kinds=definite --error-exitcode=1 \
            "bin/$t")
    done
}

case $what in
asan) step asan asan ;;
tsan) step tsan tsan ;;
valgrind) step valgrind valgrind_core ;;
all)
    step asan asan
    step tsan tsan
    step valgrind valgrind_core
    ;;
*)
    echo "usage: tools/sanitize.sh [asan|tsan|valgrind|all]" >&2
    exit 64
    ;;
esac
