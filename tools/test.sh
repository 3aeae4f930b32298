#!/usr/bin/env bash
# The README's second command (and CI's): set up, build, run every test.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/tools/setup.sh"
bash "$here/tools/build.sh"
cd "${WEAVER_BUILD_DIR:-$here/build}"
ctest --output-on-failure -j 2 --timeout 900
