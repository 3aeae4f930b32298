#!/usr/bin/env bash
# Bad configuration and bad sources give clear errors and a non-zero exit,
# never a crash.
source "$(dirname "$0")/../lib/common.sh"

expect_error() {  # name, expected text, then the weaver arguments
  local name=$1 text=$2 rc=0
  shift 2
  "$WEAVER" "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ $rc -ne 0 ] || fail "$name: exit code 0"
  [ $rc -lt 124 ] || { cat "$WORK/err"; fail "$name: crashed or hung (exit code $rc)"; }
  grep -qF -- "$text" "$WORK/err" || { cat "$WORK/err"; fail "$name: error lacks '$text'"; }
  echo "ok: $name -> $(grep -F -- "$text" "$WORK/err" | head -1)"
}

write_config "$WORK/good.yaml" "$WORK/x.db" < /dev/null
"$WEAVER" check -c "$WORK/good.yaml" > /dev/null || fail "good config rejected"

sed -e "0,/source: camera:1/s##source: /no/such/video.avi#" "$WORK/good.yaml" > "$WORK/c1.yaml"
expect_error "missing file" "cameras[1].source: no such file: /no/such/video.avi" run -c "$WORK/c1.yaml" -q

sed -e "s#kind: auto #kind: yolo9000 #" "$WORK/good.yaml" > "$WORK/c2.yaml"
expect_error "unknown detector" "detector.kind: unknown detector 'yolo9000'" run -c "$WORK/c2.yaml" -q

sed -e "s#kind: auto #kind: nanodet #" -e "s#model: .*nanodet.json#model: /no/such/model.json#" \
    "$WORK/good.yaml" > "$WORK/c5.yaml"
expect_error "missing model" "detector.dnn.model: no such file: /no/such/model.json" run -c "$WORK/c5.yaml" -q

sed -e "s#input: source #input: [100, 64] #" "$WORK/good.yaml" > "$WORK/c6.yaml"
expect_error "bad input size" "detector.dnn.input: width and height must be multiples of 32" run -c "$WORK/c6.yaml" -q

# A model file that is not a model: the run fails with the importer's reason.
echo '{"format": "graph-model"}' > "$WORK/bad.json"
sed -e "s#kind: auto #kind: nanodet #" -e "s#model: .*nanodet.json#model: $WORK/bad.json#" \
    "$WORK/good.yaml" > "$WORK/c7.yaml"
expect_error "broken model" "not a TensorFlow.js graph model" run -c "$WORK/c7.yaml" -q --max-frames 5

# A camera line without one of its ends: named, never a crash.
python3 - "$WORK/good.yaml" "$WORK/c8.yaml" "$WORK/c9.yaml" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
for out, line in ((sys.argv[2], {"name": "door", "to": [10, 20]}), (sys.argv[3], {"name": "door", "from": [1, 2]})):
    cfg["cameras"][0]["lines"] = [line]
    yaml.safe_dump(cfg, open(out, "w"))
PY
expect_error "line without from" "cameras[0].lines[0].from: required" check -c "$WORK/c8.yaml"
expect_error "line without to" "cameras[0].lines[0].to: required" check -c "$WORK/c9.yaml"

sed -e "0,/fps: 10/s//fps: fast/" "$WORK/good.yaml" > "$WORK/c3.yaml"
expect_error "bad type" "cameras[0].fps: expected a number" run -c "$WORK/c3.yaml" -q

printf 'cameras: [\n' > "$WORK/c4.yaml"
expect_error "invalid yaml" "invalid YAML" run -c "$WORK/c4.yaml" -q

expect_error "missing config" "cannot read configuration file" run -c "$WORK/none.yaml" -q

expect_error "node without endpoints" "mesh.endpoints.reid: required" node -c "$WORK/good.yaml" --role tracker -q

expect_error "unknown role" "unknown role 'chef'" node -c "$WORK/good.yaml" --role chef -q

# An unreachable RTSP camera: `check --probe` says so, naming the URL, no
# hang. (A run does not stop for it: it retries, tests/integration/camera_offline.sh.)
cat > "$WORK/rtsp.yaml" <<YAML
cameras:
  - id: 7
    source: rtsp://127.0.0.1:9/none
storage:
  path: $WORK/rtsp.db
YAML
rc=0; timeout 60 "$WEAVER" check -c "$WORK/rtsp.yaml" --probe > "$WORK/out" 2> "$WORK/err" || rc=$?
[ $rc = 1 ] || { cat "$WORK/out" "$WORK/err"; fail "unreachable rtsp: check --probe exit $rc (want 1)"; }
grep -q "^camera 7: cannot open rtsp://127.0.0.1:9/none" "$WORK/out" || { cat "$WORK/out"; fail "unreachable rtsp: no message naming the URL"; }
echo "ok: unreachable rtsp -> $(grep "^camera 7" "$WORK/out")"
