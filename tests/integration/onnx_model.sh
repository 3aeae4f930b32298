#!/usr/bin/env bash
# weaver model export --onnx and an .onnx file as the detector's model: NanoDet
# exported from its TF.js files, compiled at the demo's input size (not the
# file's 416x416), finds the same boxes as the TF.js model on three frames
# of the sample video; `model inspect` reads the file; a bad file is refused.
source "$(dirname "$0")/../lib/common.sh"
nanodet="$WEAVER_SOURCE_DIR/tools/data/models/nanodet.json"
[ -s "$nanodet" ] || fail "no $nanodet (tools/setup.sh fetches it)"

"$WEAVER" model export "$nanodet" --onnx "$WORK/nanodet.onnx" > "$WORK/export.log" || { cat "$WORK/export.log"; fail "export"; }
grep -q "input \[1,416,416,3\]" "$WORK/export.log" || { cat "$WORK/export.log"; fail "export names no NHWC input"; }
"$WEAVER" model inspect "$WORK/nanodet.onnx" > "$WORK/inspect.txt"
grep -q "^format onnx" "$WORK/inspect.txt" || fail "inspect does not read the .onnx"
[ "$(grep -c '^output ' "$WORK/inspect.txt")" = 6 ] || fail "inspect: not NanoDet's 6 outputs"
echo "ok: exported and inspected"

write_config "$WORK/tfjs.yaml" "$WORK/a.db" < /dev/null
sed -e "s#model: .*nanodet.json#model: $WORK/nanodet.onnx#" "$WORK/tfjs.yaml" > "$WORK/onnx.yaml"
grep -q "model: $WORK/nanodet.onnx" "$WORK/onnx.yaml" || fail "config not rewritten"
for frame in 100 400 700; do
  for m in tfjs onnx; do
    "$WEAVER" detect -c "$WORK/$m.yaml" --video "$WEAVER_SAMPLE_VIDEO" --frame $frame -o "$WORK/$m.png" \
      | grep -E "people in|^  x " | sed 's/ (.*//' > "$WORK/$m-$frame.txt"
  done
  [ -s "$WORK/tfjs-$frame.txt" ] || fail "no detections printed for frame $frame"
  diff "$WORK/tfjs-$frame.txt" "$WORK/onnx-$frame.txt" || fail "frame $frame: the .onnx finds other boxes"
  echo "ok: frame $frame: $(head -1 "$WORK/onnx-$frame.txt"), same boxes"
done

head -c 100000 "$WORK/nanodet.onnx" > "$WORK/cut.onnx"
rc=0; "$WEAVER" model inspect "$WORK/cut.onnx" 2> "$WORK/err" > /dev/null || rc=$?
[ $rc = 1 ] || fail "a truncated .onnx: exit $rc"
grep -q "not an ONNX model" "$WORK/err" || { cat "$WORK/err"; fail "a truncated .onnx: no clear error"; }
echo "ok: a truncated .onnx is refused: $(cat "$WORK/err")"

# detector.kind onnx with dnn.head yolov8: a YOLOv8-like graph built with
# python3-onnx (random weights, so the boxes mean nothing; the decoding is
# checked against ONNX Runtime in tests/unit/onnx_detector_test.cpp) runs
# end to end; the same file with head yolov5 is refused, naming the shapes.
/usr/bin/python3 "$WEAVER_SOURCE_DIR/tests/reference/onnx_cases.py" --yolov8 "$WORK/yolov8.onnx" 320 320 > "$WORK/y8.log" \
  || { cat "$WORK/y8.log"; fail "building the yolov8-like model"; }
sed -e "s#^  kind: auto #  kind: onnx #" -e "s#model: .*nanodet.json#model: $WORK/yolov8.onnx#" \
  -e "s#input: source #input: model  #" -e "s#score_threshold: 0.5#score_threshold: 0.01\n    head: yolov8#" \
  "$WORK/tfjs.yaml" > "$WORK/yolov8.yaml"
grep -q "head: yolov8" "$WORK/yolov8.yaml" || fail "yolov8 config not rewritten"
"$WEAVER" detect -c "$WORK/yolov8.yaml" --video "$WEAVER_SAMPLE_VIDEO" --frame 100 -o "$WORK/y8.png" > "$WORK/y8.txt" \
  || { cat "$WORK/y8.txt"; fail "weaver detect with head yolov8"; }
grep -q "^onnx: [1-9][0-9]* people in 768x576" "$WORK/y8.txt" || { cat "$WORK/y8.txt"; fail "yolov8: no boxes"; }
echo "ok: head yolov8: $(head -1 "$WORK/y8.txt")"
sed -e "s#head: yolov8#head: yolov5#" "$WORK/yolov8.yaml" > "$WORK/yolov5.yaml"
rc=0; "$WEAVER" detect -c "$WORK/yolov5.yaml" --video "$WEAVER_SAMPLE_VIDEO" --frame 100 -o "$WORK/y5.png" \
  > /dev/null 2> "$WORK/err" || rc=$?
[ $rc = 1 ] || fail "head yolov5 on a yolov8 model: exit $rc"
grep -q "no yolov5 head at input 320x320 .*output0 \[1,84,2100\]" "$WORK/err" || { cat "$WORK/err"; fail "head yolov5: no clear error"; }
echo "ok: the wrong head is refused: $(cat "$WORK/err")"
