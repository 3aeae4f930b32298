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
