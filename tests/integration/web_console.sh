#!/usr/bin/env bash
# The web console in a real browser: Debian's chromium, headless, driven by
# puppeteer-core (tools/browser_test, installed by tools/setup.sh --tests).
#   1. `weaver run` on the demo (realtime, motion detector) with its
#      embedded gateway: sign in, every camera card up with a frame rate
#      and a fresh picture; on a camera's page a zone drawn and applied
#      (PUT /v1/cameras/{camera}/zones, the token has scope zones) comes back
#      from the server and the running tracker counts events in it. The
#      tracker also sends live frames to the store (mesh.live_fps), as an
#      edge tracker would.
#   2. On the store that run wrote, `weaver node --role query,gateway`
#      (the zone applied in 1 back from tracker.zones_file, read only here):
#      refusal without a token, the session cookie, each page against
#      `weaver query` on the same store (X -> Y matrix, seen on every
#      camera, dwell, a person's timeline, the alert history), a new event row
#      arriving on the live feed, /docs, signing out; every camera shown
#      down (stale): the store's last pictures are older than
#      gateway.stale_after_s now that the run ended.
# Screenshots and figures (page load time and bytes per page) are kept in
# $WEAVER_ARTIFACTS (default: web_console/ under the working directory,
# ctest's: the build's tests dir).
source "$(dirname "$0")/../lib/common.sh"
TOOL=$WEAVER_SOURCE_DIR/tools/browser_test
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "chromium missing (tools/setup.sh --tests)"
[ -d "$TOOL/node_modules/puppeteer-core" ] || fail "puppeteer-core missing (tools/setup.sh --tests: npm ci in $TOOL)"
command -v sqlite3 >/dev/null || fail "sqlite3 missing"
OUT=${WEAVER_ARTIFACTS:-$PWD/web_console}
rm -rf "$OUT" && mkdir -p "$OUT"

DB=$WORK/demo.db
TOKEN=console-token-0123456789abcdef
port=$(free_port)
write_config "$WORK/demo.yaml" "$DB" <<YAML
gateway:
  port: $port
  poll_ms: 250
  stale_after_s: 6
  tokens:
    - {name: console, token: "$TOKEN", scopes: [query, alerts, zones]}
mesh:
  live_fps: 1
YAML
# Live for the video's length (~80 s), at little CPU; zones applied in the
# console kept in a file, which the second process reads.
sed -i -e 's/^realtime: false/realtime: true/' -e 's/^  kind: auto /  kind: motion /' \
  -e "s|^  # zones_file: .*|  zones_file: $WORK/zones.json|" "$WORK/demo.yaml"
grep -q "^  zones_file: $WORK/zones.json" "$WORK/demo.yaml" || fail "no tracker.zones_file in the test's configuration"
base=http://127.0.0.1:$port

wait_healthy() {
  for _ in $(seq 1 150); do
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ] && return 0
    sleep 0.2
  done
  show_logs; fail "$base/healthz never answered 200"
}
browser() {  # phase [args]: the puppeteer script
  CHROMIUM=$CHROMIUM node "$TOOL/console.js" --url "$base" --token "$TOKEN" --out "$OUT" --phase "$@"
}

ncams=$(grep -c '^  - id:' "$WORK/demo.yaml")
nzones=$(python3 -c "import sys, yaml; print(sum(len(c.get('zones') or []) for c in yaml.safe_load(open(sys.argv[1]))['cameras']))" "$WORK/demo.yaml")
echo "{\"cameras\": $ncams, \"zones\": $nzones}" > "$WORK/live.json"
"$WEAVER" run -c "$WORK/demo.yaml" --reset -q 2> "$WORK/run.log" &
run_pid=$!
wait_healthy
SPEC=$WEAVER_SOURCE_DIR/services/gateway/openapi.yaml
python3 "$WEAVER_SOURCE_DIR/tests/lib/spec_pictures.py" "$SPEC" "$base" "$TOKEN" live 2 || { show_logs; fail "live picture paths"; }
browser live --expect "$WORK/live.json" 2> "$WORK/browser-live.log" || { cat "$WORK/browser-live.log"; show_logs; fail "browser, live run"; }
cat "$WORK/browser-live.log"
wait $run_pid || { show_logs; fail "weaver run exited $?"; }

# --- the finished store behind a query,gateway node
"$WEAVER" node -c "$WORK/demo.yaml" --role query,gateway -q 2> "$WORK/node.log" &
wait_healthy
first=$(sqlite3 "$DB" "SELECT camera_id || ' ' || track_id FROM evidence_crops ORDER BY 1 LIMIT 1")
[ -n "$first" ] || fail "the run kept no evidence crop"
read -r camera track <<< "$first"
crop=$WORK/crop.jpg
python3 -c "import sqlite3, sys; open(sys.argv[2], 'wb').write(sqlite3.connect(sys.argv[1]).execute(
  'SELECT jpeg FROM evidence_crops WHERE camera_id = ? AND track_id = ?', (int(sys.argv[3]), int(sys.argv[4]))).fetchone()[0])" \
  "$DB" "$crop" "$camera" "$track" || fail "reading crop $camera/$track from the store"
python3 "$WEAVER_SOURCE_DIR/tests/lib/spec_pictures.py" "$SPEC" "$base" "$TOKEN" evidence "$camera" "$track" "$crop" \
  || { show_logs; fail "evidence picture path"; }

DAY=2026-11-21
q() { "$WEAVER" query "$@" --db "$DB" --compact; }
python3 - "$WORK/expect.json" "$DAY" "$WEAVER_SOURCE_DIR/services/gateway/openapi.yaml" <<PY || fail "expectations"
import datetime, json, subprocess, sys, yaml
out, day, spec = sys.argv[1:4]
def q(*a):
    return json.loads(subprocess.check_output(["$WEAVER", "query", *a, "--db", "$DB", "--compact"]))
cams = q("cameras", "limit=10000")["cameras"]
t0 = day + "T00:00:00Z"
t1 = (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat() + "T00:00:00Z"
trans = {}
for a in cams:
    for b in cams:
        if a["id"] != b["id"]:
            trans[f'{a["id"]}-{b["id"]}'] = q("transitions", f'from={a["id"]}', f'to={b["id"]}', f"t0={t0}", f"t1={t1}", "limit=1")["people"]
ids = ",".join(str(c["id"]) for c in cams)
every = q("every_camera", f"cameras={ids}", f"day={day}", "limit=1")["people"]
# The person with the most presences that day: a timeline with something in it.
seen = set()
for c in cams:
    seen |= set(q("every_camera", f'cameras={c["id"]}', f"day={day}", "limit=10000")["person_ids"])
best = max(sorted(seen), key=lambda p: q("trajectory", f"person={p}", f"t0={t0}", f"t1={t1}", "limit=1")["total"])
presences = q("trajectory", f"person={best}", f"t0={t0}", f"t1={t1}", "limit=1")["total"]
events = q("events", "limit=1")["total"]
events_with_crops = sum(1 for e in q("events", "limit=1000")["events"] if e.get("track") is not None)
s = yaml.safe_load(open(spec))
ops = sum(len(v) for v in s["paths"].values())
insert = ("INSERT INTO events (kind, camera_id, zone, person_id, track_id, time_ms, detail, dedup) "
          "VALUES ('crowding', 2, 'display', NULL, NULL, 1795251700000, '{\"people\": 5}', 'web-console-test'); "
          "SELECT last_insert_rowid();")
json.dump({"day": day, "cameras": len(cams), "camera_names": [c["name"] for c in cams], "transitions": trans,
           "every_camera": every, "person": best, "presences": presences, "events": events,
           "spec_operations": ops, "insert_event": insert, "events_with_crops": events_with_crops}, open(out, "w"))
print(f"expected: X->Y {trans}, every camera {every}, person {best} with {presences} presences, {events} events")
PY
browser full --expect "$WORK/expect.json" --db "$DB" --weaver "$WEAVER" > "$OUT/figures.json" 2> "$WORK/browser.log" \
  || { cat "$WORK/browser.log"; show_logs; fail "browser"; }
cat "$WORK/browser.log"
echo "figures: $(cat "$OUT/figures.json")"
for f in login cameras-live camera cameras flows people alerts docs; do
  [ -s "$OUT/$f.png" ] || fail "no screenshot $f.png"
done
echo "ok: screenshots in $OUT"
