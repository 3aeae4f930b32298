#!/usr/bin/env bash
# `weaver eval mot`: the MOT metrics of py-motmetrics' TUD-Campus vectors as
# JSON (stdout and --out), and a clear error with exit code 2 for a missing
# or malformed file.
source "$(dirname "$0")/../lib/common.sh"
DATA=$WEAVER_SOURCE_DIR/tests/data/motmetrics/TUD-Campus

"$WEAVER" eval mot --gt "$DATA/gt.txt" --res "$DATA/test.txt" --out "$WORK/out.json" \
  > "$WORK/stdout.json" || fail "eval mot exited with $?"
cmp -s "$WORK/stdout.json" "$WORK/out.json" || fail "--out differs from stdout"
python3 - "$WORK/out.json" <<'PY' || fail "JSON check"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["iou"] == 0.5, j["iou"]
assert len(j["sequences"]) == 1 and j["sequences"][0]["name"] == "TUD-Campus", j["sequences"]
m = j["sequences"][0]["metrics"]
want = {"idf1": 0.557659, "idp": 0.729730, "idr": 0.451253, "recall": 0.582173,
        "precision": 0.941441, "mota": 0.526462, "motp": 0.277201}
for k, v in want.items():
    assert abs(m[k] - v) < 1e-3, (k, m[k], v)
counts = {"num_unique_objects": 8, "mostly_tracked": 1, "partially_tracked": 6, "mostly_lost": 1,
          "num_false_positives": 13, "num_misses": 150, "num_switches": 7, "num_fragmentations": 7}
for k, v in counts.items():
    assert m[k] == v, (k, m[k], v)
for k in ("hota", "deta", "assa", "loca"):
    assert 0 < m[k] < 1, (k, m[k])
assert j["overall"] == m, "one sequence: overall equals it"
print("ok: TUD-Campus MOTA %.6f IDF1 %.6f HOTA %.4f" % (m["mota"], m["idf1"], m["hota"]))
PY

expect_exit2() {  # name, expected text on stderr, then the weaver arguments
  local name=$1 text=$2 rc=0
  shift 2
  "$WEAVER" "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ $rc -eq 2 ] || { cat "$WORK/err"; fail "$name: exit code $rc, want 2"; }
  grep -qF -- "$text" "$WORK/err" || { cat "$WORK/err"; fail "$name: error lacks '$text'"; }
  [ ! -s "$WORK/out" ] || fail "$name: printed output"
  echo "ok: $name -> $(head -1 "$WORK/err")"
}

expect_exit2 "missing gt" "/no/such/gt.txt: cannot open file" \
  eval mot --gt /no/such/gt.txt --res "$DATA/test.txt"
head -5 "$DATA/test.txt" > "$WORK/garbled.txt"
echo "6,3,113.8,oops,57.3,130.0,-1,-1,-1,-1" >> "$WORK/garbled.txt"
expect_exit2 "garbled result" "$WORK/garbled.txt:6: top is not a number: 'oops'" \
  eval mot --gt "$DATA/gt.txt" --res "$WORK/garbled.txt"
expect_exit2 "unpaired files" "--gt and --res must come in pairs" \
  eval mot --gt "$DATA/gt.txt" --gt "$DATA/gt.txt" --res "$DATA/test.txt"
echo "ok"
