#!/usr/bin/env bash
# Live pictures of cameras that run in another process: the tracker beside
# the cameras (camera,detector,tracker) sends each camera's latest picture
# with its boxes (mesh.live_fps) with its batches over the mesh, through
# reid, to the storage node, which keeps it beside its store; a separate
# query,gateway node on that store serves it at the camera's live,
# snapshot.jpg and stream.mjpg routes (as services/gateway/openapi.yaml
# documents them) while the edge runs. Five processes on loopback.
source "$(dirname "$0")/../lib/common.sh"
TOKEN=live-mesh-token-0123456789
p1=$(free_port); p2=$(free_port); port=$(free_port)
write_config "$WORK/mesh.yaml" "$WORK/nodes.db" <<YAML
mesh:
  security: plain
  live_fps: 2
  live_width: 480
  endpoints:
    reid: tcp://127.0.0.1:$p1
    storage: tcp://127.0.0.1:$p2
gateway:
  port: $port
  snapshot_fps: 4
  tokens:
    - {name: console, token: "$TOKEN"}
YAML
# Live (paced at the video's rate) for 40 s of video, at little CPU: the
# pictures change while the gateway is asked.
sed -i -e 's/^realtime: false/realtime: true/' -e 's/^  kind: auto /  kind: motion /' "$WORK/mesh.yaml"
base=http://127.0.0.1:$port

declare -A pid
"$WEAVER" node -c "$WORK/mesh.yaml" --role storage --reset -q --summary "$WORK/storage.json" 2> "$WORK/storage.log" &
pid[storage]=$!
"$WEAVER" node -c "$WORK/mesh.yaml" --role reid -q 2> "$WORK/reid.log" & pid[reid]=$!
"$WEAVER" node -c "$WORK/mesh.yaml" --role camera,detector,tracker --max-frames 400 -q \
  --summary "$WORK/edge.json" 2> "$WORK/edge.log" &
pid[edge]=$!
# The gateway's process has no camera: the query role beside it reads what
# storage keeps (the store's folder is shared, as in Helm's storage pod).
for _ in $(seq 1 100); do [ -e "$WORK/nodes.db" ] && break; sleep 0.2; done
"$WEAVER" node -c "$WORK/mesh.yaml" --role query,gateway -q 2> "$WORK/gateway.log" &
gw_pid=$!
for _ in $(seq 1 150); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ] && break
  sleep 0.2
done

SPEC=$WEAVER_SOURCE_DIR/services/gateway/openapi.yaml
for cam in 1 2 3; do
  python3 "$WEAVER_SOURCE_DIR/tests/lib/spec_pictures.py" "$SPEC" "$base" "$TOKEN" live $cam \
    || { show_logs; fail "camera $cam's pictures from the gateway of another process"; }
done
# The boxes the console draws come along: some picture has tracks on it.
# And re-id, in its own process, names them: the edge sends its tracks'
# features (five a second per track), re-id writes their provisional people
# into the live frames it carries on, as it does beside the camera.
python3 - "$base" "$TOKEN" <<'PY' || { show_logs; fail "no live boxes, or none named, reached the gateway"; }
import json, sys, time, urllib.request
base, token = sys.argv[1:3]

def first_live(wanted, within_s, what):
    """The first camera's /live answer whose boxes `wanted` picks some of, polled for `within_s`."""
    deadline = time.time() + within_s
    while True:
        for cam in (1, 2, 3):
            req = urllib.request.Request(f"{base}/v1/cameras/{cam}/live", headers={"Authorization": f"Bearer {token}"})
            live = json.load(urllib.request.urlopen(req, timeout=10))
            picked = [b for b in live["boxes"] if wanted(b)]
            if picked:
                return cam, live, picked
        assert time.time() < deadline, f"no {what} within {within_s} s"
        time.sleep(0.5)

cam, live, boxes = first_live(lambda b: True, 60, "picture with boxes")
assert all(isinstance(b["track"], int) and b["w"] > 0 and b["h"] > 0 for b in boxes), live
assert 0 < live["width"] and 0 < live["height"], live
print(f"camera {cam}: frame {live['seq']} with {len(boxes)} box(es), {live['jpeg_bytes']} bytes")
cam, live, named = first_live(lambda b: "person" in b, 90, "live box with a person")
assert all(isinstance(b["person"], int) and b["person"] > 0 for b in named), named
print(f"camera {cam}: live boxes named {sorted(b['person'] for b in named)}")
PY
# A camera the configuration does not name: 404, nothing fetched for it.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$base/v1/cameras/77/snapshot.jpg")
[ "$code" = 404 ] || fail "an unknown camera's snapshot answered $code"

finish edge reid storage
kill "$gw_pid"; wait "$gw_pid" || true
for cam in 1 2 3; do
  [ "$(sqlite3 "$WORK/nodes.db" "SELECT count(*) FROM live_frames WHERE camera_id = $cam")" = 1 ] \
    || { show_logs; fail "no live frame of camera $cam in the store"; }
done
grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "storage node rejected messages"
python3 - "$WORK/edge.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("multiprocess_live: the gateway of another process served the edge's live pictures; edge summary:",
      {"frames": s["frames"], "elapsed_s": round(s["elapsed_s"], 1), "tracker->reid bytes": s["links"]["tracker->reid"]["bytes"]})
PY
