#!/usr/bin/env bash
# Sanitizer and memory-checker runs of the test suite.
#
#   tools/sanitize.sh [asan|tsan|valgrind|all]...   (default: all)
#
#   asan      build-asan (-DSFJ_SANITIZER=address: address + undefined),
#             the whole suite, tools included
#   tsan      build-tsan (-DSFJ_SANITIZER=thread), the suites with threads:
#             journal (concurrent appends, group commit), crash, txn,
#             retention, forwarder (and its causes), host, fork (fork
#             while threads work), and the crash loop and network fault
#             suites when they exist
#   valgrind  memcheck (--leak-check=full, definite and indirect leaks are
#             errors) on the core suites, from an ordinary Debug build
#             (build-valgrind unless SFJ_VALGRIND_DIR is set)
#
# Every stage runs even if an earlier one failed, each under a time bound
# (SFJ_ASAN_LIMIT, SFJ_TSAN_LIMIT, SFJ_VALGRIND_LIMIT, in seconds, build
# included). At the end one CTest-style line per stage and the total; the
# exit status is non-zero if any stage failed or ran out of time.
# SFJ_JOBS sets the build and test parallelism. Suppressions for
# third-party code only live in tests/sanitizers/.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${SFJ_JOBS:-$(nproc)}
supp=$root/tests/sanitizers

build() {
    local dir=$1 san=$2
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
        -DSFJ_BUILD_TOOLS=ON -DSFJ_SANITIZER="$san" >/dev/null &&
        cmake --build "$dir" -j"$jobs" >"$dir/sanitize-build.log" 2>&1 ||
        {
            tail -n 40 "$dir/sanitize-build.log"
            return 1
        }
}

stage_asan() {
    local dir=$root/build-asan
    build "$dir" address || return 1
    # The fault and power-cut shims preload themselves; the runtime must
    # then accept not being first.
    (cd "$dir" &&
        ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0 \
        ctest --output-on-failure -j"$jobs")
}

stage_tsan() {
    local dir=$root/build-tsan
    build "$dir" thread || return 1
    (cd "$dir" &&
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp" \
        ctest --output-on-failure -j"$jobs" \
            -R '^(test_journal|test_crash|test_txn|test_retention|test_forwarder|test_fwd_causes|test_host|test_crashloop|test_netfault|test_fork)$')
}

stage_valgrind() {
    local dir=${SFJ_VALGRIND_DIR:-$root/build-valgrind} t rc=0 t0
    build "$dir" "" || return 1
    for t in test_journal test_txn test_recover test_retention test_bundle \
        test_frame test_forwarder test_crash; do
        if [ ! -x "$dir/bin/$t" ]; then
            echo "-- valgrind $t: not built"
            rc=1
            continue
        fi
        t0=$SECONDS
        # Forked children are checked too; the tools a suite runs (exec)
        # are not.
        if (cd "$dir" && SFJ_BIN="$dir/bin" valgrind -q --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
            --suppressions="$supp/valgrind.supp" \
            "bin/$t" >"$dir/valgrind-$t.log" 2>&1); then
            echo "-- valgrind $t: passed, $((SECONDS - t0)) s"
        else
            echo "-- valgrind $t: FAILED, $((SECONDS - t0)) s"
            tail -n 60 "$dir/valgrind-$t.log"
            rc=1
        fi
    done
    return $rc
}

limit() {
    case $1 in
    asan) echo "${SFJ_ASAN_LIMIT:-1500}" ;;
    tsan) echo "${SFJ_TSAN_LIMIT:-900}" ;;
    valgrind) echo "${SFJ_VALGRIND_LIMIT:-900}" ;;
    esac
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(all)
run=()
for s in "${stages[@]}"; do
    case $s in
    asan | tsan | valgrind) run+=("$s") ;;
    all) run+=(asan tsan valgrind) ;;
    *)
        echo "usage: tools/sanitize.sh [asan|tsan|valgrind|all]..." >&2
        exit 64
        ;;
    esac
done

export -f build stage_asan stage_tsan stage_valgrind
export root jobs supp
results=()
failed=0
total0=$SECONDS
for s in "${run[@]}"; do
    echo "== $s (limit $(limit "$s") s, load $(cut -d' ' -f1-3 /proc/loadavg))"
    t0=$SECONDS
    timeout --kill-after=30 "$(limit "$s")" bash -c "stage_$s"
    rc=$?
    dt=$((SECONDS - t0))
    if [ $rc -eq 0 ]; then
        status="   Passed"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        status="***Timeout"
        failed=$((failed + 1))
    else
        status="***Failed"
        failed=$((failed + 1))
    fi
    results+=("$s|$status|$dt")
    echo "== $s: rc $rc, $dt s"
done

echo
echo "Sanitizer stages (load $(cut -d' ' -f1-3 /proc/loadavg)):"
i=0
for r in "${results[@]}"; do
    i=$((i + 1))
    IFS='|' read -r name status dt <<<"$r"
    dots=$(printf '%*s' $((28 - ${#name})) '' | tr ' ' .)
    printf '%d/%d Stage %s %s%s %6d sec\n' "$i" "${#run[@]}" "$name" \
        "$dots" "$status" "$dt"
done
n=${#run[@]}
echo
echo "$(((n - failed) * 100 / n))% stages passed, $failed stages failed out of $n"
echo "Total sanitizer time (real) = $((SECONDS - total0)) sec"
[ $failed -eq 0 ]
