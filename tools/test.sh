#!/usr/bin/env bash
# The README's second command (and CI's): set up what the tests need, build
# everything, run every test, fuzz each input boundary for a bounded time.
# Long soaks and benchmarks are not tests: they have commands of their own
# (README).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/tools/setup.sh" --tests
bash "$here/tools/build.sh" -DWEAVER_TESTS=ON
cd "${WEAVER_BUILD_DIR:-$here/build}"
ctest --output-on-failure -j 2 --timeout 900
# Coverage-guided fuzzing, bounded and repeatable: each harness 3,000
# executions from its seed corpus with a fixed random seed, so a run fails
# only for a real change (the normal build above already replayed the
# corpora). The long run is `tools/fuzz.sh --runs 1000000`.
bash "$here/tools/fuzz.sh" --runs "${WEAVER_FUZZ_RUNS:-3000}" --seed 1
