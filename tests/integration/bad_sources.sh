#!/usr/bin/env bash
# Broken input files are reported, not taken for short ones: `weaver check`
# opens the video and model files a configuration names (a zero-byte video, a
# random model file: exit 1, naming each), and a run whose file camera cannot
# be decoded or ends well before its container's frame count (a truncated
# vtest.avi) finishes the other cameras, writes its summary with
# `source_errors`, and exits 1.
source "$(dirname "$0")/../lib/common.sh"
: > "$WORK/empty.avi"
head -c 400000 "$WEAVER_SAMPLE_VIDEO" > "$WORK/cut.avi"
head -c 50000 /dev/urandom > "$WORK/model.json"
config() {  # $1 source of camera 1, $2 detector section
  cat <<YAML
start_time: "2026-11-21T09:00:00Z"
cameras:
  - {id: 1, name: broken, source: $1}
  - {id: 2, name: hall, source: $WEAVER_SAMPLE_VIDEO}
detector: $2
cards: [{kind: cpu, name: cpu0, threads: 2}]
storage: {path: $WORK/w.db}
YAML
}
config "$WORK/empty.avi" "{kind: motion}" > "$WORK/empty.yaml"
config "$WEAVER_SAMPLE_VIDEO" "{kind: nanodet, dnn: {model: $WORK/model.json}}" > "$WORK/model.yaml"
config "$WORK/cut.avi" "{kind: motion}" > "$WORK/cut.yaml"

rc=0; "$WEAVER" check -c "$WORK/empty.yaml" > "$WORK/out" 2>&1 || rc=$?
[ $rc = 1 ] || { cat "$WORK/out"; fail "check of a zero-byte video: exit $rc (want 1)"; }
grep -q "^camera 1: cannot decode $WORK/empty.avi" "$WORK/out" || { cat "$WORK/out"; fail "check does not name the empty video"; }
grep -q "^camera 2: ok: file" "$WORK/out" || { cat "$WORK/out"; fail "check: the good camera"; }

rc=0; "$WEAVER" check -c "$WORK/model.yaml" > "$WORK/out" 2>&1 || rc=$?
[ $rc = 1 ] || { cat "$WORK/out"; fail "check of a random model file: exit $rc (want 1)"; }
grep -q "^detector: $WORK/model.json: " "$WORK/out" || { cat "$WORK/out"; fail "check does not name the bad model"; }

rc=0; "$WEAVER" run -q --reset -c "$WORK/cut.yaml" --summary "$WORK/s.json" 2> "$WORK/err" || rc=$?
[ $rc = 1 ] || { cat "$WORK/err"; fail "run with a truncated video: exit $rc (want 1)"; }
grep -q "error: camera 1: .*cut.avi ended after [0-9]* of the 795 frames its container declares" "$WORK/err" \
  || { cat "$WORK/err"; fail "no error naming the truncated video"; }
python3 - "$WORK/s.json" <<'PY' || fail "summary of the run with a truncated video"
import json, sys
s = json.load(open(sys.argv[1]))
errors = s["source_errors"]
assert len(errors) == 1 and "cut.avi ended after" in errors[0], errors
frames = {c["id"]: c["frames"] for c in s["cameras"]}
assert frames[2] == 795, frames          # the good camera ran to its end
assert 0 < frames[1] < 795, frames       # the cut one gave what it had
print("ok: truncated video:", errors[0])
PY

rc=0; "$WEAVER" run -q --reset -c "$WORK/empty.yaml" --max-frames 50 --summary "$WORK/s2.json" 2> "$WORK/err" || rc=$?
[ $rc = 1 ] || { cat "$WORK/err"; fail "run with an undecodable video: exit $rc (want 1)"; }
grep -q "error: camera 1: cannot decode" "$WORK/err" || { cat "$WORK/err"; fail "run: no error naming the undecodable video"; }
echo "ok: bad sources reported"
