#!/usr/bin/env bash
# Compact wire (issue 17): the demo with mesh.compact (the default) gives the
# same cross-camera answers, people and rows as with float features, while
# the links carry far fewer bytes; the summary's source bytes are the video
# file's size (the whole file is read) and each link's ratios follow from it.
source "$(dirname "$0")/../lib/common.sh"

write_config "$WORK/on.yaml" "$WORK/on.db" < /dev/null
write_config "$WORK/off.yaml" "$WORK/off.db" <<'EOF2'
mesh:
  compact: false
EOF2
for m in on off; do
  "$WEAVER" run -c "$WORK/$m.yaml" --reset -q --summary "$WORK/$m.json" > "$WORK/$m.log" 2>&1 \
    || { LOGS="$WORK/$m.log" show_logs; fail "run with compact $m"; }
done
dump_rows "$WORK/on.db" > "$WORK/on.rows"
dump_rows "$WORK/off.db" > "$WORK/off.rows"
cmp -s "$WORK/on.rows" "$WORK/off.rows" || fail "people_present differs with compact features"
for m in on off; do
  sqlite3 "$WORK/$m.db" "SELECT camera_id, track_id, zone, enter, exit FROM zone_visits ORDER BY 1, 2, 3, 4" > "$WORK/$m.zones"
done
cmp -s "$WORK/on.zones" "$WORK/off.zones" || fail "zone_visits differ with compact features"

python3 - "$WORK/on.json" "$WORK/off.json" "$(stat -c %s "$WEAVER_SAMPLE_VIDEO")" <<'PY' || fail "summary check"
import json, sys
on, off = (json.load(open(p)) for p in sys.argv[1:3])
file_bytes = int(sys.argv[3])
for s in (on, off):
    assert s["bytes_source"] == file_bytes, ("source bytes", s["bytes_source"], file_bytes)
    total = sum(l["bytes"] for l in s["links"].values())
    assert total == s["bytes_sent"], (total, s["bytes_sent"])
    for name, l in s["links"].items():
        assert abs(l["vs_source"] - file_bytes / l["bytes"]) < 1e-6 * l["vs_source"], name
        assert abs(l["vs_raw"] - s["bytes_raw"] / l["bytes"]) < 1e-6 * l["vs_raw"], name
    assert abs(s["compression_ratio_source"] - file_bytes / s["bytes_sent"]) < 1e-6 * s["compression_ratio_source"]
assert on["queries"] == off["queries"], (on["queries"], off["queries"])
for k in ("frames", "detections", "tracks", "people", "presence_rows", "zone_visits", "alerts"):
    assert on[k] == off[k], (k, on[k], off[k])
# The compact links: each at least 2.5x smaller than with floats, and the
# tracker's uplink (the recommended edge boundary) >= 10x under the video.
for name in ("detector->tracker", "tracker->reid"):
    assert on["links"][name]["bytes"] * 2.5 < off["links"][name]["bytes"], (name, on["links"], off["links"])
assert on["links"]["tracker->reid"]["vs_source"] >= 10, on["links"]
assert on["links"]["tracker->reid"]["vs_raw"] >= 1000, on["links"]
t = [x["people"] for x in on["queries"]["transitions"]]
print("ok: answers", t, "people", on["people"], "| bytes_source", on["bytes_source"],
      "| compact:", {k: (v["bytes"], round(v["vs_source"], 1)) for k, v in on["links"].items()},
      "| floats:", {k: v["bytes"] for k, v in off["links"].items()})
PY
