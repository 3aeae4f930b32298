#!/usr/bin/env bash
# Figures of the web console on the demo (README, "The web console"):
#   1. the gateway's CPU with N consoles open (tools/browser_test/load.js):
#      a `weaver run` of the demo, live (realtime, motion detector), with
#      its embedded gateway, CPU of the whole process for --seconds with no
#      console and then with N (half on a camera's live page, half on the
#      alerts feed); the difference is what the consoles cost;
#   2. the snapshot stream's bytes per second: one camera's MJPEG stream
#      (the pictures a camera page shows, at gateway.snapshot_fps) for 10 s.
# The video loops: the ~80 s file would end before the last figure, and a
# camera that stopped is stale (its stream refused).
# Figures taken on a machine busy with other work are labelled so.
# Page load time and bytes per page come from integration.web_console
# (build/tests/web_console/figures.json).
#   tools/console_figures.sh [CONSOLES (5)] [SECONDS (20)]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEAVER=${WEAVER:-${WEAVER_BUILD_DIR:-$here/build}/weaver}
N=${1:-5} S=${2:-20}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=figures-token-0123456789abcdef
# The demo's relative paths keep their meaning in deploy/ (paths_from).
{ echo "paths_from: $here/deploy"
  sed -e "s#path: \.\./weaver.db#path: $work/demo.db#" \
      -e 's/^realtime: false/realtime: true/' -e 's/^  kind: auto /  kind: motion /' -e 's/port: 9464/port: 0/' \
      -e 's#^\(    source: .*vtest.avi.*\)$#\1\n    loop: true#' \
      "$here/deploy/demo.yaml"; } > "$work/demo.yaml"
printf 'gateway:\n  port: %s\n  tokens:\n    - {name: figures, token: "%s"}\n' "$port" "$TOKEN" >> "$work/demo.yaml"
"$WEAVER" run -c "$work/demo.yaml" --reset -q 2> "$work/run.log" &
pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 1 150); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ] && break
  sleep 0.2
done
load() { CHROMIUM=${CHROMIUM:-/usr/bin/chromium} node "$here/tools/browser_test/load.js" --url "$base" --token "$TOKEN" \
  --pid "$pid" --seconds "$S" --consoles "$1" --pages camera/1,alerts; }
echo "no console: $(load 0)"
echo "$N consoles: $(load "$N")"
read -r code bytes < <(curl -s -m 10 -o /dev/null -w '%{http_code} %{size_download}\n' -H "Authorization: Bearer $TOKEN" \
  "$base/v1/cameras/1/stream.mjpg" || true)
echo "{\"mjpeg_camera\": 1, \"http\": $code, \"seconds\": 10, \"bytes\": $bytes, \"bytes_per_s\": $((bytes / 10))}"
