#!/usr/bin/env bash
# Mesh security: a storage node on CURVE admits only the reid role's key.
# A node with an unknown key and a plain node both send it a whole run
# (presence batches and end of stream): nothing is stored, the storage node
# does not stop, and the refusals are counted. Then the real upstream, with
# the listed key, is stored and ends the run.
source "$(dirname "$0")/../lib/common.sh"
FRAMES=40
p=$(free_port); m=$(free_port)
for n in upstream storage stranger; do "$WEAVER" keys --out "$WORK/keys" --name $n > /dev/null; done
secret() { cat "$WORK/keys/$1.key"; }
[ "$(stat -c %a "$WORK/keys/storage.key")" = 600 ] || fail "the secret key file is not mode 600"

mesh_yaml() {  # mesh_yaml FILE REID_PUB: the mesh section with reid known by that key
  write_config "$1" "$WORK/nodes.db" <<YAML
mesh:
  keys:
    secret_env: WEAVER_MESH_SECRET
    public:
      reid: $2
      storage: $WORK/keys/storage.pub
  endpoints:
    storage: tcp://127.0.0.1:$p
YAML
}
mesh_yaml "$WORK/mesh.yaml" "$WORK/keys/upstream.pub"
cp "$WORK/mesh.yaml" "$WORK/upstream.yaml"
sed -i -e "s#^  port: 0#  port: $m#" "$WORK/mesh.yaml"
grep -q "port: $m" "$WORK/mesh.yaml" || fail "could not set the storage node's metrics port"
# The stranger believes it is reid: its own config lists its own key.
mesh_yaml "$WORK/stranger.yaml" "$WORK/keys/stranger.pub"
write_config "$WORK/plain.yaml" "$WORK/plain.db" <<YAML
mesh:
  security: plain
  endpoints:
    storage: tcp://127.0.0.1:$p
YAML

# Keys are required: without any and without an explicit plain, a node refuses to start.
write_config "$WORK/nokeys.yaml" "$WORK/nokeys.db" <<YAML
mesh:
  endpoints:
    storage: tcp://127.0.0.1:$p
YAML
if "$WEAVER" node -c "$WORK/nokeys.yaml" --role storage -q 2> "$WORK/nokeys.err"; then
  fail "a node with remote links and no keys started"
fi
grep -q "mesh.security" "$WORK/nokeys.err" || { cat "$WORK/nokeys.err"; fail "the refusal does not name mesh.security"; }

WEAVER_MESH_SECRET=$(secret storage) "$WEAVER" node -c "$WORK/mesh.yaml" --role storage --reset -q \
  --summary "$WORK/storage.json" 2> "$WORK/storage.log" & st=$!
upstream=camera,detector,tracker,reid
# Both impostors run a whole pass at once; neither is ever acknowledged, so
# neither finishes: they are stopped after 15 s.
rc1=0; rc2=0
WEAVER_MESH_SECRET=$(secret stranger) timeout 15 "$WEAVER" node -c "$WORK/stranger.yaml" --role $upstream \
  --max-frames $FRAMES -q 2> "$WORK/stranger.log" & s1=$!
timeout 15 "$WEAVER" node -c "$WORK/plain.yaml" --role $upstream --max-frames $FRAMES -q 2> "$WORK/plain.log" & s2=$!
wait $s1 || rc1=$?
wait $s2 || rc2=$?
[ "$rc1" = 124 ] || { show_logs; fail "the node with an unknown key ended with $rc1, not stopped unacknowledged"; }
[ "$rc2" = 124 ] || { show_logs; fail "the plain node ended with $rc2, not stopped unacknowledged"; }
kill -0 $st 2>/dev/null || { show_logs; fail "an impostor's end of stream stopped the storage node"; }
rows=$(sqlite3 "$WORK/nodes.db" "SELECT COUNT(*) FROM people_present")
[ "$rows" = 0 ] || fail "$rows rows stored from unauthenticated peers"
refused=$(curl -s "http://127.0.0.1:$m/metrics" \
  | awk '/^weaver_mesh_auth_refused_total\{.*reason="unknown_key".*role="storage"/ {print int($2)}')
[ "${refused:-0}" -gt 0 ] || { curl -s "http://127.0.0.1:$m/metrics" | grep mesh_auth; fail "no refusal counted"; }
grep -q "refused a CURVE peer" "$WORK/storage.log" || fail "the refusal is not logged"

# The real upstream gets in, and its end of stream ends the storage node.
WEAVER_MESH_SECRET=$(secret upstream) timeout 300 "$WEAVER" node -c "$WORK/upstream.yaml" --role $upstream \
  --max-frames $FRAMES -q 2> "$WORK/upstream.log" || { show_logs; fail "the upstream node failed"; }
timeout 60 tail --pid=$st -f /dev/null || { show_logs; fail "the storage node did not finish"; }
wait $st || { show_logs; fail "the storage node exited non-zero"; }
rows=$(sqlite3 "$WORK/nodes.db" "SELECT COUNT(*) FROM people_present")
[ "$rows" -gt 0 ] || fail "nothing stored from the authenticated upstream"
echo "mesh_auth: unknown key and plain peer refused (0 rows, $refused refusals counted); the listed key stored $rows rows"
