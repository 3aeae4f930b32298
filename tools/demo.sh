#!/usr/bin/env bash
# The README's first command: set up, build, and run Weaver's main job on the
# embedded default (all roles in one process, SQLite, the sample video split
# into three virtual cameras).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/tools/setup.sh"
bash "$here/tools/build.sh"
exec "$here/build/weaver" run -c "$here/deploy/demo.yaml" --reset --summary "$here/demo-summary.json" "$@"
