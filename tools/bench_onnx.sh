#!/usr/bin/env bash
# Weaver's engine against ONNX Runtime (onnxruntime-node, CPU,
# tools/onnx_reference) on the same .onnx files and input size, in one run:
# NanoDet exported from its TF.js files, yolov2-tiny exported from Debian
# darknet's cfg (random weights written by libdarknet) and a YOLOv8-like
# graph at 640x640 (tests/reference/onnx_cases.py --yolov8: C2f, SPPF, Resize
# by computed sizes, the DFL head; random weights). Speed does not depend on
# the weights' values. Per model and thread count (1 and 2):
#   create: Weaver import + passes + session (buffers, oneDNN primitives,
#           weight reorders) vs ONNX Runtime's InferenceSession.create;
#   first:  create + the first run (what the first frame waits for);
#   run:    median of RUNS runs after the first;
# and each ratio Weaver / ONNX Runtime. The load average is printed before
# and after: figures taken with it at 1 or more are "under load".
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
/usr/bin/python3 "$here/tests/reference/onnx_cases.py" --yolov8 "$work/yolov8-like.onnx" 640 640 80 >/dev/null

# The input shape as the file declares it (NHWC for Weaver's exports, NCHW for the YOLOv8-like graph).
shape_of() {
  /usr/bin/python3 -c 'import onnx,sys; m=onnx.load(sys.argv[1]); print(",".join(str(d.dim_value) for d in m.graph.input[0].type.tensor_type.shape.dim))' "$1"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "load average before: $(loadavg) ($(nproc) cores)"
printf '%-12s %-12s %2s | %-26s | %-26s | %-26s\n' model input th "create W / ORT ms (ratio)" \
  "first W / ORT ms (ratio)" "run W / ORT ms (ratio)"
for m in nanodet yolov2-tiny yolov8-like; do
  f=$work/$m.onnx
  shape=$(shape_of "$f")
  /usr/bin/python3 -c 'import numpy as np,sys; n=int(np.prod([int(x) for x in sys.argv[1].split(",")])); np.random.default_rng(1).uniform(0,1,n).astype(np.float32).tofile(sys.argv[2])' "$shape" "$work/in.f32"
  for t in 1 2; do
    out=$("$build/weaver" model inspect "$f" --bench "$runs" --threads "$t")
    w_load=$(sed -n 's/^load: \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    w_session=$(sed -n 's/^session: \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    w_first=$(sed -n 's/^first run: \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    w_run=$(sed -n 's/.* runs: p50 \([0-9.e+-]*\) ms.*/\1/p' <<<"$out")
    node "$here/tools/onnx_reference/run.mjs" --model "$f" --input "$work/in.f32" --shape "$shape" \
      --out "$work/ort" --threads "$t" --repeat "$runs"
    read -r o_load o_first o_run < <(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["load_ms"], j["first_ms"], j["run_ms"])' "$work/ort/outputs.json")
    awk -v m="$m" -v s="$shape" -v t="$t" -v wl="$w_load" -v ws="$w_session" -v wf="$w_first" -v wr="$w_run" \
      -v ol="$o_load" -v of="$o_first" -v orr="$o_run" 'BEGIN {
        wc = wl + ws; wfc = wc + wf; ofc = ol + of
        printf "%-12s %-12s %2d | %8.1f / %8.1f (%5.2f) | %8.1f / %8.1f (%5.2f) | %8.2f / %8.2f (%5.2f)\n",
          m, s, t, wc, ol, wc / ol, wfc, ofc, wfc / ofc, wr, orr, wr / orr }'
  done
done
echo "load average after: $(loadavg)"
