#!/usr/bin/env bash
# A live camera for real: GStreamer's RTSP server on loopback streams
# vtest.avi (with a password, as IP cameras do); Weaver ingests it in real
# time beside a second camera from a file. The server is stopped for 5 s and
# started again: /readyz shows the camera down (503, naming it) and then up,
# Weaver reconnects and goes on, the file camera is not disturbed, the live
# camera's rows carry wall-clock times (not 1970), and the password is printed
# nowhere (log, /readyz, /metrics, summary, `weaver check --probe`). Prints
# the seconds from the server's return to Weaver's first frame.
source "$(dirname "$0")/../lib/common.sh"
PY=/usr/bin/python3   # Debian's, which has python3-gi
$PY -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null \
  || fail "python3-gi / gir1.2-gst-rtsp-server-1.0 missing (tools/setup.sh --tests)"
SECRET='s3cr3t-Pa55'
rtsp=$(free_port); m=$(free_port)
server_pid=
start_server() {
  $PY "$WEAVER_SOURCE_DIR/tests/lib/rtsp_server.py" "$WEAVER_SAMPLE_VIDEO" "$rtsp" \
    --user weaver --password "$SECRET" >> "$WORK/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$rtsp) 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK/server.log"; fail "RTSP server did not listen on $rtsp"
}
start_server

# The camera URL, password included, comes from the environment.
export WEAVER_TEST_CAMERA="rtsp://weaver:$SECRET@127.0.0.1:$rtsp/cam"
cat > "$WORK/live.yaml" <<YAML
realtime: true
start_time: "2026-11-21T09:00:00Z"
cameras:
  - {id: 1, name: door, source: "\${WEAVER_TEST_CAMERA}", rtsp: {transport: tcp}}
  - {id: 2, name: hall, source: $WEAVER_SAMPLE_VIDEO, fps: 10, loop: true}
detector: {kind: motion}
cards: [{kind: cpu, name: cpu0, threads: 2}]
storage: {path: $WORK/live.db}
metrics: {port: $m}
YAML

"$WEAVER" check -c "$WORK/live.yaml" --probe > "$WORK/probe.txt" 2>&1 || { cat "$WORK/probe.txt"; fail "check --probe"; }
grep -q "^camera 1: ok: network rtsp://weaver:\*\*\*@127.0.0.1:$rtsp/cam" "$WORK/probe.txt" \
  || { cat "$WORK/probe.txt"; fail "check --probe does not report the live camera ok, masked"; }
grep -q "^camera 2: ok: file" "$WORK/probe.txt" || { cat "$WORK/probe.txt"; fail "check --probe: file camera"; }

t_run=$(date +%s%3N)
"$WEAVER" run -c "$WORK/live.yaml" --reset --summary "$WORK/summary.json" 2> "$WORK/weaver.log" & weaver=$!

frames() {  # camera -> frames so far (0 before the first)
  (curl -s -m 2 "http://127.0.0.1:$m/metrics" || true) | awk -v c="$1" '$1 == "weaver_frames_total{camera=\"" c "\"}" {print int($2); f=1} END {if (!f) print 0}'
}
ready() { curl -s -m 2 -o "$WORK/ready.json" -w "%{http_code}" "http://127.0.0.1:$m/readyz" || true; }
wait_until() {  # seconds, description, command...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/weaver.log" "$WORK/ready.json" 2>/dev/null; fail "$what (after $limit s)"; }
    kill -0 $weaver 2>/dev/null || { cat "$WORK/weaver.log"; fail "weaver exited while waiting: $what"; }
    sleep 0.1
  done
}
cam1_at_least() { [ "$(frames 1)" -ge "$1" ]; }
wait_until 60 "live camera streaming (20 frames)" cam1_at_least 20
is_ready() { [ "$(ready)" = 200 ]; }
wait_until 30 "ready while both cameras stream" is_ready
grep -q '"name":"camera:1","ok":true' "$WORK/ready.json" || { cat "$WORK/ready.json"; fail "/readyz does not name camera 1"; }
echo "ok: streaming, ready"

# The outage: the server goes away for 5 s.
cam2_before=$(frames 2)
kill $server_pid; wait $server_pid 2>/dev/null || true
t_down=$(date +%s%3N)
shows_down() { [ "$(ready)" = 503 ] && grep -q '"name":"camera:1","ok":false' "$WORK/ready.json"; }
wait_until 10 "/readyz shows the camera down" shows_down
noticed_ms=$(( $(date +%s%3N) - t_down ))
grep -q "$SECRET" "$WORK/ready.json" && fail "/readyz prints the camera's password"
grep -q 'rtsp://weaver:\*\*\*@' "$WORK/ready.json" || { cat "$WORK/ready.json"; fail "/readyz does not say which source is down"; }
curl -s "http://127.0.0.1:$m/metrics" > "$WORK/metrics.txt" || true
grep -q '^weaver_camera_up{camera="1"} 0' "$WORK/metrics.txt" || fail "weaver_camera_up{camera=1} is not 0"
echo "ok: down after $noticed_ms ms: $(grep -o '"name":"camera:1"[^}]*' "$WORK/ready.json")"
sleep $(awk -v n="$noticed_ms" 'BEGIN { s = 5 - n / 1000; print (s > 0 ? s : 0) }')
cam1_gone=$(frames 1)
start_server
t_back=$(date +%s%3N)
cam1_more() { [ "$(frames 1)" -gt "$cam1_gone" ]; }
wait_until 30 "frames again after the server's return" cam1_more
t_first=$(date +%s%3N)
reconnect_ms=$((t_first - t_back))
wait_until 15 "ready again" is_ready
cam2_after=$(frames 2)
# The file camera went on at its 10 fps through the outage (>= 5 s).
[ $((cam2_after - cam2_before)) -ge 40 ] || fail "file camera disturbed: $cam2_before -> $cam2_after frames over the outage"
echo "ok: reconnected; first frame $(awk -v r="$reconnect_ms" 'BEGIN { printf "%.2f", r / 1000 }') s after the server's return (metrics polled every 0.1 s); file camera +$((cam2_after - cam2_before)) frames meanwhile"
wait_until 30 "20 more live frames" cam1_at_least $((cam1_gone + 20))

kill -INT $weaver
rc=0; wait $weaver || rc=$?
[ $rc = 0 ] || { cat "$WORK/weaver.log"; fail "weaver exited with $rc after SIGINT"; }
t_end=$(date +%s%3N)

# Live rows are stamped with the wall clock; file rows with start_time + n/fps.
read -r n1 min1 max1 < <(sqlite3 -separator ' ' "$WORK/live.db" "SELECT count(*), min(enter), max(exit) FROM people_present WHERE camera_id = 1")
read -r n2 min2 < <(sqlite3 -separator ' ' "$WORK/live.db" "SELECT count(*), min(enter) FROM people_present WHERE camera_id = 2")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "rows: camera 1 $n1, camera 2 $n2"
[ "$min1" -ge "$t_run" ] && [ "$max1" -le "$t_end" ] \
  || fail "live rows not in wall-clock time: $min1..$max1 outside the run $t_run..$t_end"
[ "$min2" -ge 1795219200000 ] && [ "$min2" -lt 1795305600000 ] || fail "file rows not on start_time's day: $min2"
echo "ok: $n1 live rows stamped $min1..$max1 (wall clock), $n2 file rows from start_time"

for f in "$WORK/weaver.log" "$WORK/summary.json" "$WORK/probe.txt"; do
  grep -q "$SECRET" "$f" && { grep "$SECRET" "$f" | head -3; fail "$(basename "$f") prints the camera's password"; }
done
grep -q "$SECRET" "$WORK/metrics.txt" && fail "/metrics prints the password"
grep -q 'rtsp://weaver:\*\*\*@' "$WORK/weaver.log" || { tail "$WORK/weaver.log"; fail "the log does not name the interrupted stream"; }
echo "ok: password printed nowhere"
echo "figure: reconnect ${reconnect_ms} ms from the server's return to the first frame; outage noticed after ${noticed_ms} ms"
