#!/usr/bin/env bash
# Learns re-id's appearance metric the way deploy/reid-metric.json was made
# (README, "A learnt appearance metric"): runs the six generated layouts of
# one seed of `weaver eval crosscam` on the sample video with the demo's
# detector and tracker (tracker repair off, plain wire, as recorded then),
# then `weaver reid learn-metric` over their recorded tracks. No labels are
# read. A few minutes on 2 cores.
#
#   tools/learn_metric.sh [SEED [OUT]]    # default: 1, deploy/reid-metric.json
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${WEAVER_BUILD_DIR:-$here/build}
seed=${1:-1}
out=${2:-$here/deploy/reid-metric.json}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$here/deploy/demo.yaml" "$work/base.yaml" "$here" <<'PY'
import sys, yaml
src, dst, here = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["paths_from"] = here + "/deploy"  # the demo's relative paths keep their meaning
cfg["tracker"]["repair"] = "off"
cfg.setdefault("mesh", {})["compact"] = False
cfg["reid"].pop("metric", None)  # recording does not depend on re-id
cfg["metrics"] = {"port": 0}
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
PY
"$build/weaver" eval crosscam --layouts 6 --seed "$seed" --out "$work/rec" --base "$work/base.yaml" \
  --video "$here/tools/data/vtest.avi" > /dev/null 2> "$work/eval.log" || { tail -n 20 "$work/eval.log"; exit 1; }
args=()
for d in "$work"/rec/*-tracks; do args+=(--tracks "$d"); done
"$build/weaver" reid learn-metric "${args[@]}" --out "$out"
