#!/usr/bin/env bash
# Coverage-guided fuzzing of Weaver's input boundaries with libFuzzer.
#   tools/fuzz.sh [--time S | --runs N] [--seed K] [harness ...]
# Builds build-fuzz/ with clang (WEAVER_FUZZ=ON: AddressSanitizer, UBSan,
# libFuzzer; needs clang and libfuzzer-14-dev, installed by setup.sh
# --tests), then runs each harness (default: all of codec config gateway
# model mot onnx) for S seconds (default 30) or N executions, starting from its
# seed corpus tests/fuzz/corpus/<name> (read only; what libFuzzer finds goes
# to build-fuzz/corpus/<name>, kept between runs). Prints executions and
# crashes per harness; a crash leaves its input as
# build-fuzz/crash-<name>-* and makes the exit status 1. To keep a crash as a
# regression input once fixed, copy it into tests/fuzz/corpus/<name>/.
# --seed K fixes libFuzzer's random seed: with --runs the same inputs are
# tried on every machine (CI: tools/test.sh). The long run of the note:
# tools/fuzz.sh --runs 1000000
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEAVER_FUZZ_BUILD_DIR:-$here/build-fuzz}
limit=(-max_total_time=30) seed=() harnesses=()
while [ $# -gt 0 ]; do
  case $1 in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --seed) seed=(-seed="$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(codec config gateway model mot onnx)
t0=$(date +%s)
CC=clang CXX=clang++ cmake -S "$here" -B "$build" -DWEAVER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
echo "fuzz: build $(( $(date +%s) - t0 )) s"
# Inputs the formats can be: a mesh message is at most a few MB, but
# mutations beyond 64 KB only slow the search; requests and configs are text.
declare -A max_len=([codec]=65536 [config]=16384 [gateway]=8192 [model]=65536 [mot]=16384 [onnx]=65536)
status=0
for h in "${harnesses[@]}"; do
  mkdir -p "$build/corpus/$h"
  log="$build/fuzz-$h.log"
  set +e
  (cd "$build" && "./tests/fuzz/fuzz_$h" "${limit[@]}" ${seed[@]+"${seed[@]}"} -max_len="${max_len[$h]:-65536}" -rss_limit_mb=2048 \
     -timeout=20 -print_final_stats=1 -artifact_prefix="$build/crash-$h-" \
     "$build/corpus/$h" "$here/tests/fuzz/corpus/$h") > "$log" 2>&1
  rc=$?
  set -e
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  # libFuzzer also writes inputs slower than 10 s (slow-unit-*): a report,
  # not a failure (an input over -timeout is one, as timeout-*).
  crashes=$(find "$build" -maxdepth 1 -name "crash-$h-*" ! -name "crash-$h-slow-unit-*" | wc -l)
  slow=$(find "$build" -maxdepth 1 -name "crash-$h-slow-unit-*" | wc -l)
  note=""
  [ "$slow" -eq 0 ] || note=", slow inputs kept $slow (not failures)"
  echo "fuzz: $h executions $runs, crash files $crashes, exit $rc$note"
  if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    grep -E "ERROR|SUMMARY|==[0-9]+==|Assertion|runtime error" "$log" | head -20 >&2 || true
  fi
done
exit $status
