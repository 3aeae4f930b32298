#!/usr/bin/env bash
# Weaver's engine against ONNX Runtime (onnxruntime-node, CPU,
# tools/onnx_reference) on the same .onnx files and input size, in one run:
# NanoDet exported from its TF.js files and yolov2-tiny exported from
# Debian darknet's cfg (random weights written by libdarknet: speed does not
# depend on the values). Per model and thread count: load time (Weaver:
# import and passes; ONNX Runtime: session creation) and the median time of
# --runs runs after a warm-up, and the ratio Weaver / ONNX Runtime.
# A benchmark, not a test.
#
# usage: tools/bench_onnx.sh [RUNS (default 20)]   (after tools/build.sh; build dir $WEAVER_BUILD_DIR or build/)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEAVER_BUILD_DIR:-$here/build}
runs=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/weaver" model export "$here/tools/data/models/nanodet.json" --onnx "$work/nanodet.onnx" >/dev/null
ASAN_OPTIONS=detect_leaks=0 "$build/tests/darknet_reference" --cfg /usr/share/darknet/cfg/yolov2-tiny.cfg \
  --write-random-weights "$work/yolov2-tiny.weights" --seed 3 >/dev/null 2>&1
"$build/weaver" model export /usr/share/darknet/cfg/yolov2-tiny.cfg --weights "$work/yolov2-tiny.weights" \
  --onnx "$work/yolov2-tiny.onnx" >/dev/null

# The input shape as the exported file declares it (NHWC, the engine's storage order).
shape_of() {
  /usr/bin/python3 -c 'import onnx,sys; m=onnx.load(sys.argv[1]); print(",".join(str(d.dim_value) for d in m.graph.input[0].type.tensor_type.shape.dim))' "$1"
}

printf '%-12s %-10s %7s | %12s %12s %6s | %12s %12s %6s\n' model input threads "weaver load" "ort load" ratio \
  "weaver ms" "ort ms" ratio
for m in nanodet yolov2-tiny; do
  f=$work/$m.onnx
  shape=$(shape_of "$f")
  /usr/bin/python3 -c 'import numpy as np,sys; n=int(np.prod([int(x) for x in sys.argv[1].split(",")])); np.random.default_rng(1).uniform(0,1,n).astype(np.float32).tofile(sys.argv[2])' "$shape" "$work/in.f32"
  for t in 1 2; do
    out=$("$build/weaver" model inspect "$f" --bench "$runs" --threads "$t")
    w_load=$(sed -n 's/^load: \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    w_run=$(sed -n 's/.* runs: p50 \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    # ONNX Runtime: one warm-up call is in its first run; take the median of runs + 1.
    node "$here/tools/onnx_reference/run.mjs" --model "$f" --input "$work/in.f32" --shape "$shape" \
      --out "$work/ort" --threads "$t" --repeat $((runs + 1))
    read -r o_load o_run < <(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["load_ms"], j["run_ms"])' "$work/ort/outputs.json")
    awk -v m="$m" -v s="$shape" -v t="$t" -v wl="$w_load" -v ol="$o_load" -v wr="$w_run" -v orr="$o_run" \
      'BEGIN { printf "%-12s %-10s %7d | %9.1f ms %9.1f ms %6.2f | %9.2f ms %9.2f ms %6.2f\n", m, s, t, wl, ol, wl / ol, wr, orr, wr / orr }'
  done
done
