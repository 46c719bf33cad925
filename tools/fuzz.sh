#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and
# run each for a bounded time on a copy of its seed corpus.
#
#   tools/fuzz.sh [name...]    (default: every target in tests/fuzz)
#
#   SFJ_FUZZ_SECONDS  seconds per target (default 20)
#   SFJ_FUZZ_DIR      build directory (default build-fuzz)
#   CC                the clang to use (default clang)
#
# Prints the executions of each target; exits non-zero when a target
# crashes, leaks or times out. The crashing input and the log are kept in
# $SFJ_FUZZ_DIR/fuzz-out/<name>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${SFJ_FUZZ_SECONDS:-20}
build=${SFJ_FUZZ_DIR:-$root/build-fuzz}
cc=${CC:-clang}
jobs=${SFJ_JOBS:-$(nproc)}

if ! command -v "$cc" >/dev/null; then
    echo "fuzz.sh: $cc not found (set CC to a clang)" >&2
    exit 2
fi
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DSFJ_FUZZ=ON \
    -DSFJ_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target sfj_fuzzers >/dev/null

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in "$root"/tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz_}")
    done
fi

failed=0
out=$build/fuzz-out
for n in "${names[@]}"; do
    dir=$out/$n
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    cp "$root/tests/fuzz/corpus/$n"/* "$dir/corpus/"
    set +e
    (cd "$dir" && "$build/bin/fuzz_$n" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/" corpus >"$dir/log" 2>&1)
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    if [ $rc -ne 0 ]; then
        echo "fuzz_$n: FAILED (exit $rc) after ${execs:-?} executions; see $dir/log"
        grep -m 3 -E "ERROR|SUMMARY|runtime error" "$dir/log" || true
        failed=1
    else
        echo "fuzz_$n: ${execs:-?} executions in ${seconds} s, no crash"
    fi
done
exit $failed
