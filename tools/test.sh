#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite with CTest,
# then the sanitizer and memory-checker stages (tools/sanitize.sh: the
# whole suite under ASan+UBSan, the threaded suites under TSan, memcheck on
# the core suites). It also installs the cross compilers and qemu-user
# that the register tests of tests/cross/ run on, and runs the suite built
# for 32-bit ARM and for AArch64 under qemu-user (tools/emulated.sh, one
# stage each). Ends with one line: "sfj: N passed, M failed".
#   SFJ_BUILD_DIR     build directory (default: build/)
#   SFJ_EMULATED      the emulated stages (default "armhf arm64"; empty:
#                     none)
#   SFJ_SANITIZE=0    skip the sanitizer stages
#   SFJ_SOAK=1        long variants of the crash, power-cut, corruption,
#                     model and fork tests (hours, not for CI); their CTest
#                     timeouts grow with the rounds (tests/soak_timeouts.cmake,
#                     also for SFJ_CRASH_ROUNDS and the other round counts)
# The summary line also says how many rounds the crash-type tests ran.
set -uo pipefail
. "$(dirname "$0")/setup.sh"
sfj_setup test || exit 1

cd "$SFJ_BUILD" || exit 1
ctest --output-on-failure -j"$(nproc)" --timeout 900 | tee ctest-summary.log
main_rc=${PIPESTATUS[0]}
total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' ctest-summary.log |
    tail -n 1)
failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' \
    ctest-summary.log | tail -n 1)
total=${total:-0}
failed=${failed:-0}
if [ "$main_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # ctest itself failed
fi

# What the crash-type tests ran ("test_crash: 60 rounds run"), or where one
# of them failed ("test_crash: FAILED in round 17 of 60, ...").
rounds=$(grep -hoE '^test_[a-z_]+: ([0-9]+ (rounds|steps|forks) run|FAILED in round [0-9]+ of [0-9]+)' \
    Testing/Temporary/LastTest.log 2>/dev/null | sed 's/ run$//' | sort |
    paste -sd ';' - | sed 's/;/; /g')

for arch in ${SFJ_EMULATED-armhf arm64}; do
    total=$((total + 1))
    if ! bash "$SFJ_ROOT/tools/emulated.sh" "$arch"; then
        failed=$((failed + 1))
    fi
done

if [ "${SFJ_SANITIZE:-1}" != 0 ]; then
    for stage in asan tsan valgrind; do
        total=$((total + 1))
        if ! bash "$SFJ_ROOT/tools/sanitize.sh" "$stage"; then
            failed=$((failed + 1))
        fi
    done
fi

echo
[ -n "$rounds" ] && echo "sfj rounds: $rounds"
# The closing line stays alone, in this exact form, for whoever reads it.
echo "sfj: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
