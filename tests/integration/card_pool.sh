#!/usr/bin/env bash
# The card pool end to end on vtest.avi with NanoDet: a mixed pool (a CPU
# group, a sim card delegating to the CPU engine, a sim card that fails
# mid-run and never comes back, and an XRT card on XRT's noop shim) finds
# exactly the detections a CPU-only pool finds; nothing is dropped; the
# cards' metrics and `weaver cards` report the pool.
source "$(dirname "$0")/../lib/common.sh"

FRAMES=${CARD_POOL_FRAMES:-80}

# The demo configuration with its cards: section replaced by stdin.
with_cards() {
  local out=$1
  write_config "$WORK/base.yaml" "$WORK/$(basename "$out" .yaml).db" < /dev/null
  python3 - "$WORK/base.yaml" "$out" 3<&0 <<'PY'
import re, sys
text = open(sys.argv[1]).read()
cards = open(3).read()
text, n = re.subn(r"^cards:.*\n(?:(?:  .*)?\n)*", cards, text, flags=re.M)
assert n == 1, "no cards: section in the demo config"
open(sys.argv[2], "w").write(text)
PY
}

with_cards "$WORK/cpu.yaml" <<'YAML'
cards:
  - kind: cpu
    name: cpu0
    threads: 2
YAML

# The XRT card runs XRT's host path on the noop shim with an xclbin of ours.
: "${WEAVER_XCLBIN_TOOL:?set by ctest}"
"$WEAVER_XCLBIN_TOOL" -o "$WORK/weaver.xclbin" --batch 4 > /dev/null || fail "cannot write an xclbin"
xrt_card="  - kind: xrt
    name: xrt0
    device: 0
    xclbin: $WORK/weaver.xclbin
    batch: 4
    emulation: noop
    timeout_ms: 5000"
with_cards "$WORK/mixed.yaml" <<YAML
cards:
  - kind: cpu
    name: cpu0
    threads: 1
  - kind: sim
    name: sim0
    mean_ms: 20
    results: delegate
  - kind: sim
    name: flaky
    mean_ms: 10
    results: delegate
    faults:
      fail_after: 10
$xrt_card
YAML

"$WEAVER" run -c "$WORK/cpu.yaml" -q --reset --max-frames "$FRAMES" \
  --detections "$WORK/det_cpu" --summary "$WORK/cpu.json" || fail "cpu-only run failed"
"$WEAVER" run -c "$WORK/mixed.yaml" --reset --max-frames "$FRAMES" --detections "$WORK/det_mixed" \
  --summary "$WORK/mixed.json" > "$WORK/mixed.out" 2> "$WORK/mixed.err" \
  || { cat "$WORK/mixed.err"; fail "mixed-pool run failed"; }

for cam in 1 2 3; do
  [ -f "$WORK/det_cpu/cam$cam.txt" ] || fail "camera $cam: no detections file from the cpu pool"
  cmp "$WORK/det_cpu/cam$cam.txt" "$WORK/det_mixed/cam$cam.txt" \
    || fail "camera $cam: the mixed pool's detections differ from the cpu pool's"
done
[ "$(cat "$WORK"/det_cpu/cam*.txt | wc -l)" -gt 100 ] || fail "too few detections to compare"
echo "ok: mixed pool detections equal the cpu pool's ($(cat "$WORK"/det_cpu/cam*.txt | wc -l) boxes)"

python3 - "$WORK/cpu.json" "$WORK/mixed.json" "$FRAMES" <<'PY'
import json, sys
cpu, mixed, frames = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
for name, s in (("cpu", cpu), ("mixed", mixed)):
    assert s["frames"] == 3 * frames, (name, s["frames"])
    assert s["frames_dropped"] == 0, (name, s["frames_dropped"])
assert cpu["detections"] == mixed["detections"], (cpu["detections"], mixed["detections"])
PY
grep -q "card flaky down (error: simulated card failure)" "$WORK/mixed.err" \
  || { cat "$WORK/mixed.err"; fail "the failing sim card was not taken down"; }
echo "ok: the failing card went down mid-run, nothing was dropped"

# weaver cards: the host's CPU group and the configured pool.
"$WEAVER" cards -c "$WORK/mixed.yaml" --json > "$WORK/cards.json" || fail "weaver cards failed"
python3 - "$WORK/cards.json" "$xrt_card" <<'PY'
import json, sys
cards = json.load(open(sys.argv[1]))["cards"]
by_name = {c["name"]: c for c in cards if c["source"] == "configured"}
assert any(c["kind"] == "cpu" and c["source"] == "found" for c in cards), cards
assert by_name["cpu0"]["kind"] == "cpu" and by_name["cpu0"]["status"] == "up"
assert by_name["sim0"]["kind"] == "sim" and by_name["sim0"]["capacity"] == 1
assert by_name["flaky"]["status"] == "up"        # a fresh card has not failed yet
assert by_name["xrt0"]["kind"] == "xrt" and by_name["xrt0"]["status"] == "up", by_name
assert by_name["xrt0"]["max_batch"] == 4, by_name
PY
"$WEAVER" cards > "$WORK/cards.txt" || fail "weaver cards (no config) failed"
grep -q "^cpu " "$WORK/cards.txt" || { cat "$WORK/cards.txt"; fail "no CPU group listed"; }
echo "ok: weaver cards"

# Every card of the mixed pool did work (the flaky one until it failed).
python3 - "$WORK/mixed.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
jobs = {c["name"]: c["jobs"] for c in s["cards"]}
for name in ("cpu0", "sim0", "xrt0"):
    assert jobs[name] > 0, jobs
assert 0 < jobs["flaky"] <= 10, jobs
assert sum(jobs.values()) == s["frames"], (jobs, s["frames"])
PY
echo "ok: every card took frames"

# int8 end to end: `weaver run` with an xrt card on the noop shim runs the
# weaver_dnn kernel's C-simulation (accel/hls/weaver_dnn.cpp) for every
# frame, and finds the same people as an int8 cpu card. The C-simulation is
# slow (seconds per frame), so a few frames at half the demo's input size.
INT8_FRAMES=${CARD_POOL_INT8_FRAMES:-8}
"$WEAVER" model quantize "$WEAVER_SOURCE_DIR/tools/data/models/nanodet.json" --calib "$WEAVER_SAMPLE_VIDEO" \
  --first 200 --end 240 --every 20 --out "$WORK/nanodet.int8.json" > "$WORK/quantize.out" \
  || fail "weaver model quantize failed"
# The detector section: int8 at input_scale 0.5 (192x448 -> 128x288 per camera).
int8_detector() {
  python3 - "$1" "$WORK/nanodet.int8.json" <<'PY'
import re, sys
path, int8 = sys.argv[1], sys.argv[2]
text = open(path).read()
text, n = re.subn(r"input_scale: [0-9.]+", "input_scale: 0.5", text)
assert n == 1, "no input_scale in the demo config"
# Exact on both: the cpu card must compute as the kernel (the xrt pool forces it).
text, n = re.subn(r"precision: f32", "precision: int8\n    int8_exact: true\n    int8_model: " + int8, text)
assert n == 1, "no precision in the demo config"
# The C-simulation takes seconds per batch: the pool must not take the card down.
text, n = re.subn(r"card_timeout_ms: [0-9]+", "card_timeout_ms: 600000", text)
assert n == 1, "no card_timeout_ms in the demo config"
open(path, "w").write(text)
PY
}
with_cards "$WORK/int8_cpu.yaml" <<'YAML'
cards:
  - kind: cpu
    name: cpu0
    threads: 2
YAML
with_cards "$WORK/int8_xrt.yaml" <<YAML
cards:
  - kind: xrt
    name: xrt0
    device: 0
    xclbin: $WORK/weaver.xclbin
    batch: 4
    emulation: noop
    timeout_ms: 600000
YAML
int8_detector "$WORK/int8_cpu.yaml"
int8_detector "$WORK/int8_xrt.yaml"
"$WEAVER" run -c "$WORK/int8_cpu.yaml" -q --reset --max-frames "$INT8_FRAMES" \
  --detections "$WORK/det_int8_cpu" --summary "$WORK/int8_cpu.json" || fail "int8 cpu run failed"
"$WEAVER" run -c "$WORK/int8_xrt.yaml" --reset --max-frames "$INT8_FRAMES" --detections "$WORK/det_int8_xrt" \
  --summary "$WORK/int8_xrt.json" > "$WORK/int8_xrt.out" 2> "$WORK/int8_xrt.err" \
  || { cat "$WORK/int8_xrt.err"; fail "int8 xrt run failed"; }

# Every frame went through the kernel; the same detections as the int8 cpu
# card, box for box: the kernel and the cpu card compute the same codes on
# every layer (accel/engine/int8_plan.hpp) and decode them with the same code.
python3 - "$WORK" "$INT8_FRAMES" <<'PY' || fail "the xrt int8 run's detections differ from the int8 cpu card's"
import json, sys
work, frames = sys.argv[1], int(sys.argv[2])
xrt = json.load(open(work + "/int8_xrt.json"))
assert xrt["frames"] == 3 * frames and xrt["frames_dropped"] == 0, xrt
jobs = {c["name"]: c["jobs"] for c in xrt["cards"]}
assert jobs == {"xrt0": 3 * frames}, jobs

def read(path):
    out = {}
    for line in open(path):
        f = line.split(",")
        out.setdefault(int(f[0]), []).append(f[2:7])  # box and score as written
    return out

total = 0
for cam in (1, 2, 3):
    cpu, fpga = read(f"{work}/det_int8_cpu/cam{cam}.txt"), read(f"{work}/det_int8_xrt/cam{cam}.txt")
    for frame in sorted(set(cpu) | set(fpga)):
        want, got = sorted(cpu.get(frame, [])), sorted(fpga.get(frame, []))
        assert want == got, (cam, frame, want, got)
        total += len(want)
assert total >= 12, f"only {total} int8 cpu boxes to compare"
print(f"ok: the kernel's C-simulation found the int8 cpu card's {total} boxes, identical")
PY
