#!/usr/bin/env bash
# /healthz and /readyz mean something: an edge node (camera + detector)
# whose tracker is not running is alive but not ready, naming the link;
# once the rest of the mesh is up it becomes ready.
source "$(dirname "$0")/../lib/common.sh"
p1=$(free_port); p2=$(free_port); p3=$(free_port); p4=$(free_port); m=$(free_port)
write_config "$WORK/mesh.yaml" "$WORK/nodes.db" <<YAML
mesh:
  security: plain   # this test is about readiness/crashes, not keys (see mesh_auth.sh)
  endpoints:
    detector: tcp://127.0.0.1:$p1
    tracker: tcp://127.0.0.1:$p2
    reid: tcp://127.0.0.1:$p3
    storage: tcp://127.0.0.1:$p4
YAML
# The edge node serves metrics and probes on its own port; the others none.
sed -e "s#^  port: 0#  port: $m#" -e "s#^realtime: false#realtime: true#" "$WORK/mesh.yaml" > "$WORK/edge.yaml"
sed -i -e "s#^    fps: 10#    fps: 10\n    loop: true#" "$WORK/edge.yaml"
grep -q "port: $m" "$WORK/edge.yaml" || fail "could not set the edge node's metrics port"

probe() {  # path -> "<http code> <body>"
  curl -s -m 2 -o "$WORK/body" -w "%{http_code}" "http://127.0.0.1:$m$1" || true
}
wait_for() {  # path, code, texts that must all be in the body; up to 30 s
  local path=$1 code=$2 t all
  shift 2
  for _ in $(seq 1 150); do
    if [ "$(probe "$path")" = "$code" ]; then
      all=1
      for t in "$@"; do grep -qF -- "$t" "$WORK/body" || all=0; done
      [ $all = 1 ] && return 0
    fi
    sleep 0.2
  done
  cat "$WORK/body" 2>/dev/null; cat "$WORK"/*.log; fail "$path never answered $code with: $*"
}

"$WEAVER" node -c "$WORK/edge.yaml" --role camera,detector -q 2> "$WORK/edge.log" & edge=$!
wait_for /healthz 200 '"name":"main_loop"'
# Frames go out unacknowledged; after the resend delay the link is not ready.
# A link that has sent nothing reads up: under a load average of 30 it once
# read down while the engines were still being prepared, before any frame.
wait_for /readyz 503 '"name":"link:detector->tracker","ok":false' '"name":"cards"'
grep -qF '"name":"model","ok":true' "$WORK/body" || { cat "$WORK/body"; fail "model check missing"; }
grep -qF '"name":"cards","ok":true' "$WORK/body" || { cat "$WORK/body"; fail "cards check missing"; }
# Real time: the detector's engines were prepared for each of the 3 cameras
# (model and heads; the card workers' buffers once per frame size) before the
# cameras started (once, frames were dropped while they built their buffers).
grep -qF '"message":"prepared 3 engine(s) in ' "$WORK/body" && grep -qF '"name":"engines","ok":true' "$WORK/body" \
  || { cat "$WORK/body"; fail "engines not prepared before the cameras"; }
[ "$(probe /healthz)" = 200 ] || fail "not alive while a downstream is missing"
echo "ok: edge alive, not ready while its tracker is missing"

"$WEAVER" node -c "$WORK/mesh.yaml" --role storage --reset -q 2> "$WORK/storage.log" &
"$WEAVER" node -c "$WORK/mesh.yaml" --role reid -q 2> "$WORK/reid.log" &
"$WEAVER" node -c "$WORK/mesh.yaml" --role tracker -q 2> "$WORK/tracker.log" &
wait_for /readyz 200 '"status":"ok"'
# The metric is read separately from /readyz; while the backlog of frames
# sent before the tracker was up drains, resends may still flip it: poll.
up=0
for _ in $(seq 1 150); do
  if curl -s -m 2 "http://127.0.0.1:$m/metrics" | grep -q '^weaver_link_up{link="detector->tracker"} 1'; then
    up=1
    break
  fi
  sleep 0.2
done
[ $up = 1 ] || fail "weaver_link_up not back to 1"
echo "ok: ready once the mesh is up"
kill $edge
