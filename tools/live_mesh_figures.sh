#!/usr/bin/env bash
# The live frames' cost on the mesh (README, "Live pictures over the mesh"):
# the demo's three cameras, live (realtime, motion detector), split as the
# Helm chart runs it (camera,detector,tracker | reid | storage), for FRAMES
# frames, once without live frames (mesh.live_fps 0) and once with FPS per
# camera; what the edge sent to re-id (its summary's tracker->reid bytes) in each,
# per second of the run, and the difference, with the pictures' size as storage
# kept them.
#   tools/live_mesh_figures.sh [FPS (1)] [FRAMES (300)] [WIDTH (640)]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEAVER=${WEAVER:-${WEAVER_BUILD_DIR:-$here/build}/weaver}
FPS=${1:-1} FRAMES=${2:-300} WIDTH=${3:-640}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run() {  # NAME LIVE_FPS: the three processes; the edge's summary in $work/NAME.json
  local name=$1 fps=$2 p1 p2
  p1=$(free_port); p2=$(free_port)
  # The demo's relative paths keep their meaning in deploy/ (paths_from).
  { echo "paths_from: $here/deploy"
    sed -e "s#path: \.\./weaver.db#path: $work/$name.db#" \
        -e 's/^realtime: false/realtime: true/' -e 's/^  kind: auto /  kind: motion /' -e 's/port: 9464/port: 0/' \
        "$here/deploy/demo.yaml"; } > "$work/$name.yaml"
  printf 'mesh:\n  security: plain\n  live_fps: %s\n  live_width: %s\n  endpoints:\n    reid: tcp://127.0.0.1:%s\n    storage: tcp://127.0.0.1:%s\n' \
    "$fps" "$WIDTH" "$p1" "$p2" >> "$work/$name.yaml"
  "$WEAVER" node -c "$work/$name.yaml" --role storage --reset -q 2> "$work/$name-storage.log" & local s=$!
  "$WEAVER" node -c "$work/$name.yaml" --role reid -q 2> "$work/$name-reid.log" & local r=$!
  "$WEAVER" node -c "$work/$name.yaml" --role camera,detector,tracker --max-frames "$FRAMES" -q \
    --summary "$work/$name.json" 2> "$work/$name-edge.log"
  wait "$r" "$s"
}
run off 0
run on "$FPS"
python3 - "$work" "$FPS" "$WIDTH" <<'PY'
import json, sqlite3, sys
work, fps, width = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
off, on = (json.load(open(f"{work}/{n}.json")) for n in ("off", "on"))
link = lambda s: s["links"]["tracker->reid"]["bytes"]
sizes = [n for (n,) in sqlite3.connect(f"{work}/on.db").execute("SELECT length(jpeg) FROM live_frames")]
print(json.dumps({"live_fps": fps, "live_width": width, "cameras": len(sizes),
                  "elapsed_s": {"off": round(off["elapsed_s"], 1), "on": round(on["elapsed_s"], 1)},
                  "frames": {"off": off["frames"], "on": on["frames"]},
                  "tracker_reid_bytes": {"off": link(off), "on": link(on)},
                  "tracker_reid_bytes_per_s": {"off": round(link(off) / off["elapsed_s"]),
                                               "on": round(link(on) / on["elapsed_s"])},
                  "live_bytes_per_s": round(link(on) / on["elapsed_s"] - link(off) / off["elapsed_s"]),
                  "picture_bytes": sorted(sizes)}))
PY
