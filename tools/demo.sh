#!/usr/bin/env bash
# The main job: install what is missing, build, then tell the story
# (tools/demo_story.sh): a simulated terminal takes payments through an
# outage, a printer jam and a power cut, recovers, replays its journal to
# sfj-host, and both journals are verified. Exits non-zero if anything was
# lost or doubled, or any step of the story did not hold.
#   tools/demo.sh [--keep DIR]   keep journals, keys and mirror in DIR
set -euo pipefail
. "$(dirname "$0")/setup.sh"
sfj_setup
exec bash "$SFJ_ROOT/tools/demo_story.sh" "$SFJ_BUILD/bin" "$@"
