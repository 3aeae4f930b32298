#!/usr/bin/env bash
# Configures and builds Weaver into build/ (ccache when present). Extra
# arguments go to cmake, e.g. -DWEAVER_SANITIZE=ON.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEAVER_BUILD_DIR:-$here/build}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=${WEAVER_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
