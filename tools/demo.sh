#!/usr/bin/env bash
# The README's first command: set up and build only what the demo needs (the
# `weaver` binary), then run Weaver's main job on the embedded default (all
# roles in one process, SQLite, the sample video split into three virtual
# cameras). Prints how long each step took.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t0=$(date +%s)
bash "$here/tools/setup.sh"
t1=$(date +%s)
bash "$here/tools/build.sh" --target weaver -DWEAVER_TESTS=OFF
t2=$(date +%s)
"${WEAVER_BUILD_DIR:-$here/build}/weaver" run -c "$here/deploy/demo.yaml" --reset --summary "$here/demo-summary.json" "$@"
t3=$(date +%s)
echo "demo: setup $((t1 - t0)) s, build $((t2 - t1)) s, run $((t3 - t2)) s (total $((t3 - t0)) s)"
