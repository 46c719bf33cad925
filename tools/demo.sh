#!/usr/bin/env bash
# The main job: install what is missing, build, and run a terminal's
# journal through its paces.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
sfj_setup
work=$(mktemp -d "${TMPDIR:-/tmp}/sfj-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$SFJ_BUILD/bin/sfj-quickstart" "$work/master.key" "$work/journal"
