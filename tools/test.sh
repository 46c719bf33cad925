#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite with CTest.
#   SFJ_BUILD_DIR     build directory (default: build/)
#   SFJ_CRASH_ROUNDS  kill -9 rounds in the crash tests (long soaks)
set -euo pipefail
. "$(dirname "$0")/setup.sh"
sfj_setup
cd "$SFJ_BUILD"
ctest --output-on-failure -j"$(nproc)" --timeout 900
