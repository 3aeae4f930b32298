#!/usr/bin/env bash
# Configures and builds Weaver into build/ (ccache when present).
#   build.sh [--target T ...] [cmake args]   e.g. --target weaver -DWEAVER_TESTS=OFF
# Without --target everything configured is built. Prints each step's time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEAVER_BUILD_DIR:-$here/build}
targets=() cmake_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --target) targets+=(--target "$2"); shift 2 ;;
    *) cmake_args+=("$1"); shift ;;
  esac
done
t0=$(date +%s)
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=${WEAVER_BUILD_TYPE:-RelWithDebInfo} ${cmake_args[@]+"${cmake_args[@]}"} >/dev/null
t1=$(date +%s)
cmake --build "$build" -j "$(nproc)" ${targets[@]+"${targets[@]}"}
t2=$(date +%s)
echo "build: configure $((t1 - t0)) s, compile ${targets[*]:-everything} $((t2 - t1)) s"
