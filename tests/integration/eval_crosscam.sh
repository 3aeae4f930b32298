#!/usr/bin/env bash
# `weaver eval crosscam`: two generated layouts run with the motion detector
# on the first 120 frames, then evaluated against the MOT15 ground truth.
# Seed 9: apart from the seeds tuned on (1, 6, 7) and reported (2-5).
# Checks the JSON's structure, that the truth and the run line up (a wrong
# frame offset, camera-pixel mapping or track -> person join drives IDF1 to
# ~0; this run gives ~0.3-0.5), and the option errors.
source "$(dirname "$0")/../lib/common.sh"
cd "$WEAVER_SOURCE_DIR"

"$WEAVER" eval crosscam --layouts 2 --seed 9 --out "$WORK/xc" --detector motion --max-frames 120 \
  --video "$WEAVER_SAMPLE_VIDEO" > "$WORK/out.json" 2> "$WORK/err" || { cat "$WORK/err"; fail "exit $?"; }
cmp -s "$WORK/out.json" "$WORK/xc/report.json" || fail "report.json differs from stdout"
python3 - "$WORK/out.json" <<'PY' || fail "JSON check"
import json, sys
j = json.load(open(sys.argv[1]))
ls = j["layouts"]
assert [l["name"] for l in ls] == ["s9-l0-vstrips", "s9-l1-hstrips"], [l["name"] for l in ls]
for l in ls:
    n = l["cameras"]
    assert len(l["transitions"]) == n * (n - 1), l["transitions"]  # every ordered pair
    assert l["transitions_true_total"] == sum(t["truth"] for t in l["transitions"])
    assert l["transitions_abs_error"] == sum(abs(t["weaver"] - t["truth"]) for t in l["transitions"])
    assert 1 <= l["people"]["truth"] <= 12, l["people"]   # 12 people in the first 120 frames' gt at most
    assert l["people"]["weaver"] >= 1, l["people"]
    idt = l["identity"]
    assert idt["idtp"] > 0 and 0 < idt["idf1"] <= 1, idt
    # Perfect identities on the run's tracks: most tracks have a true person.
    assert l["oracle"]["tracks_with_truth"] > 0, l["oracle"]
    assert 0 <= l["oracle"]["transitions_abs_error"] <= l["transitions_true_total"], l["oracle"]
o = j["overall"]
assert o["oracle"]["transitions_abs_error"] == sum(l["oracle"]["transitions_abs_error"] for l in ls), o
assert o["layouts"] == 2
assert o["transitions_true_total"] == sum(l["transitions_true_total"] for l in ls)
assert o["transitions_true_total"] > 0, "strips of vtest.avi: people cross within 120 frames"
# Accuracy bounds at about twice the measured error (2026-12-08: IDF1 0.42,
# X->Y error 4 of 15 online): a broken join of truth and run gives IDF1
# near 0 and misses every transition (1.0).
assert o["identity"]["idf1"] > 0.25, o
assert o["transitions_error"] <= 0.55, o
assert abs(o["people"]["weaver"] - o["people"]["truth"]) <= o["people"]["truth"], o
print("ok: IDF1 %.3f, X->Y error %d of %d, people %d of %d" % (
    o["identity"]["idf1"], o["transitions_abs_error"], o["transitions_true_total"],
    o["people"]["weaver"], o["people"]["truth"]))
PY
# The generated configurations are valid for `weaver check`.
"$WEAVER" check -c "$WORK/xc/s9-l1-hstrips.yaml" > /dev/null || fail "generated config does not check"

# A warped camera runs end to end: its frames are the warp's size, and
# what it detects lies inside them.
python3 - "$WORK/xc/s9-l0-vstrips.yaml" "$WORK/warped.yaml" "$WORK/warped.db" <<'PY' || fail "warped config"
import re, sys
s = open(sys.argv[1]).read().replace(sys.argv[1][:-5] + ".db", sys.argv[3])
crop = re.search(r"    crop: \[0, 0, \d+, 576\]\n", s)
assert crop, s
# Camera 1 looks at the left 382 px (where people walk early on) from
# another angle: the quad's corners lie inside that crop.
s = s.replace(crop.group(0), "    crop: [0, 0, 382, 576]\n    warp: [[80, 40], [300, 40], [382, 576], [0, 576]]\n", 1)
open(sys.argv[2], "w").write(s)
PY
"$WEAVER" run -q --reset -c "$WORK/warped.yaml" --max-frames 80 --detections "$WORK/wdet" 2> "$WORK/err" \
  || { cat "$WORK/err"; fail "warped run: exit $?"; }
python3 - "$WORK/wdet/cam1.txt" <<'PY' || fail "warped detections"
import sys
rows = [list(map(float, l.split(",")[:6])) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) >= 5, len(rows)  # the motion model needs some frames first
for f, _, x, y, w, h in rows:
    assert x >= -1 and y >= -1 and x + w <= 383 and y + h <= 577, (f, x, y, w, h)
print("ok: warped camera: %d detections inside its 382x576 image" % len(rows))
PY

rc=0; "$WEAVER" eval crosscam --layouts 2 > /dev/null 2> "$WORK/err" || rc=$?
[ $rc -eq 2 ] && grep -q "needs --out" "$WORK/err" || fail "--layouts without --out: exit $rc"
rc=0; "$WEAVER" eval crosscam --config "$WORK/xc/s9-l0-vstrips.yaml" --db "$WORK/none.db" > /dev/null 2> "$WORK/err" || rc=$?
[ $rc -eq 2 ] && grep -q "no store" "$WORK/err" || fail "missing store: exit $rc"
# --config evaluates a run it did not start: the same figures as in the report.
"$WEAVER" eval crosscam --config "$WORK/xc/s9-l0-vstrips.yaml" --tracks "$WORK/xc/s9-l0-vstrips-tracks" \
  --max-frames 120 > "$WORK/one.json" || fail "--config: exit $?"
python3 - "$WORK/one.json" "$WORK/out.json" <<'PY' || fail "--config figures"
import json, sys
one, both = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a, b = one["layouts"][0], both["layouts"][0]
for k in ("transitions", "every_camera", "people", "identity"):
    assert a[k] == b[k], (k, a[k], b[k])
print("ok: --config reproduces the layout's figures")
PY
# The generated configurations carry the base's learnt re-id metric, and
# take its relative path from the folder the base's own relative paths mean.
grep -q "^  metric: reid-metric.json" "$WORK/xc/s9-l0-vstrips.yaml" \
  && grep -q "^paths_from: $WEAVER_SOURCE_DIR/deploy\$" "$WORK/xc/s9-l0-vstrips.yaml" \
  || fail "generated config lacks the base's reid.metric or where it is"
# `weaver reid learn-metric` learns a metric from the recorded tracks (no
# labels), and a replay with it in place works.
"$WEAVER" reid learn-metric --tracks "$WORK/xc/s9-l0-vstrips-tracks" --tracks "$WORK/xc/s9-l1-hstrips-tracks" \
  --out "$WORK/metric.json" --dims 5 --min-apart-s 1 > "$WORK/learn.json" || fail "learn-metric: exit $?"
python3 - "$WORK/learn.json" "$WORK/metric.json" <<'PY' || fail "learn-metric output"
import json, sys
r, m = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert r["dims"] == 5 and r["input_dims"] == 176, r
assert r["same_pairs"] >= 10 and r["different_pairs"] >= 10 and r["tracks"] >= 2, r
assert m["kind"] == "kiss" and len(m["mean"]) == 176 and len(m["transform"]) == 5 * 176, list(m)
print("ok: learnt a metric from %d descriptors of %d tracks" % (r["descriptors"], r["tracks"]))
PY
sed -e "s#^  metric: .*#  metric: $WORK/metric.json#" -e "s#^  match_threshold: .*#  match_threshold: 0.6#" \
  "$WORK/xc/s9-l0-vstrips.yaml" > "$WORK/learnt.yaml"
grep -q "^  metric: $WORK/metric.json" "$WORK/learnt.yaml" || fail "no metric line to replace"
"$WEAVER" eval crosscam --config "$WORK/learnt.yaml" --tracks "$WORK/xc/s9-l0-vstrips-tracks" --replay \
  --max-frames 120 > "$WORK/learnt.json" || fail "replay with the learnt metric: exit $?"
python3 -c "import json, sys; l = json.load(open(sys.argv[1]))['layouts'][0]; assert l['people']['weaver'] >= 1, l" \
  "$WORK/learnt.json" || fail "replay with the learnt metric"
# --ridge reaches the fit: the same tracks with stronger shrinkage give another map.
"$WEAVER" reid learn-metric --tracks "$WORK/xc/s9-l0-vstrips-tracks" --tracks "$WORK/xc/s9-l1-hstrips-tracks" \
  --out "$WORK/metric-ridge.json" --dims 5 --min-apart-s 1 --ridge 1 > /dev/null || fail "learn-metric --ridge: exit $?"
cmp -s "$WORK/metric.json" "$WORK/metric-ridge.json" && fail "learn-metric --ridge 1 changed nothing"
rc=0; "$WEAVER" reid learn-metric --tracks "$WORK/none" --out "$WORK/m2.json" 2> "$WORK/err" || rc=$?
[ $rc -eq 1 ] && grep -q "cannot read" "$WORK/err" || fail "learn-metric without a recording: exit $rc"
echo "ok"
