#!/usr/bin/env bash
# End to end: `weaver run` on the first 200 frames of vtest.avi leaves rows in
# people_present and non-empty answers to the seed's two questions.
source "$(dirname "$0")/../lib/common.sh"
write_config "$WORK/demo.yaml" "$WORK/demo.db" < /dev/null
"$WEAVER" run -c "$WORK/demo.yaml" --reset --max-frames 200 --summary "$WORK/summary.json" > "$WORK/out.txt"
grep -q "people from camera 1 to camera 2" "$WORK/out.txt" || fail "no summary printed"
python3 - "$WORK/summary.json" "$WORK/demo.db" <<'PY'
import json, sqlite3, sys
s = json.load(open(sys.argv[1]))
for key in ["frames", "detections", "tracks", "people", "presence_rows", "bytes_raw", "bytes_sent", "queries"]:
    assert key in s, f"summary lacks {key}"
assert s["frames"] == 600, f"3 cameras x 200 frames expected, got {s['frames']}"
assert s["frames_dropped"] == 0, s["frames_dropped"]
assert s["detections"] > 0 and s["tracks"] > 0 and s["people"] > 0, s
db = sqlite3.connect(sys.argv[2])
rows = db.execute("SELECT count(*) FROM people_present").fetchone()[0]
assert rows == s["presence_rows"] and rows > 0, (rows, s["presence_rows"])
# Semantic compression: what crossed links after detection is far smaller.
assert 0 < s["bytes_sent"] < s["bytes_raw"] / 10, (s["bytes_sent"], s["bytes_raw"])
q = s["queries"]
assert len(q["transitions"]) == 4 and sum(t["people"] for t in q["transitions"]) > 0, q
# Recompute the answers straight from SQL to check the reported ones.
for t in q["transitions"]:
    people = db.execute("""SELECT count(DISTINCT x.person_id) FROM people_present x JOIN people_present y
      ON x.person_id = y.person_id WHERE x.camera_id = ? AND y.camera_id = ? AND y.enter >= x.enter
      AND y.exit > x.exit AND y.enter - x.exit <= ?""",
      (t["from"], t["to"], int(t["max_transit_s"] * 1000))).fetchone()[0]
    assert people == t["people"], (people, t)
e = q["every_camera"]
n = db.execute("""SELECT count(*) FROM (SELECT person_id FROM people_present WHERE camera_id IN (1,2,3)
  GROUP BY person_id HAVING count(DISTINCT camera_id) = 3)""").fetchone()[0]
assert n == e["people"] and n > 0, (n, e)
print(f"e2e: {rows} rows, {s['people']} people, transitions {[t['people'] for t in q['transitions']]}, "
      f"every camera {e['people']}")
PY
