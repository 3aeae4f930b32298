#!/usr/bin/env bash
# The same configuration run as one process and as four `weaver node`
# processes on loopback (camera+detector | tracker | reid | storage) must
# leave the same people_present rows. The four talk CURVE, each with its own
# keypair from `weaver keys`: the secret from the environment, the others'
# public keys from files.
source "$(dirname "$0")/../lib/common.sh"
FRAMES=120
p1=$(free_port); p2=$(free_port); p3=$(free_port); p4=$(free_port)
for n in edge tracker reid storage; do "$WEAVER" keys --out "$WORK/keys" --name $n > /dev/null; done
secret() { cat "$WORK/keys/$1.key"; }
write_config "$WORK/mesh.yaml" "$WORK/nodes.db" <<YAML
mesh:
  security: curve
  keys:
    secret_env: WEAVER_MESH_SECRET
    public:
      detector: $WORK/keys/edge.pub
      tracker: $WORK/keys/tracker.pub
      reid: $WORK/keys/reid.pub
      storage: $WORK/keys/storage.pub
  endpoints:
    detector: tcp://127.0.0.1:$p1
    tracker: tcp://127.0.0.1:$p2
    reid: tcp://127.0.0.1:$p3
    storage: tcp://127.0.0.1:$p4
YAML
sed -e "s#$WORK/nodes.db#$WORK/single.db#" "$WORK/mesh.yaml" > "$WORK/single.yaml"

"$WEAVER" run -c "$WORK/single.yaml" --reset --max-frames $FRAMES -q --summary "$WORK/single.json"

WEAVER_MESH_SECRET=$(secret storage) "$WEAVER" node -c "$WORK/mesh.yaml" --role storage --reset -q --summary "$WORK/storage.json" 2> "$WORK/storage.log" & st=$!
WEAVER_MESH_SECRET=$(secret reid) "$WEAVER" node -c "$WORK/mesh.yaml" --role reid -q 2> "$WORK/reid.log" & re=$!
WEAVER_MESH_SECRET=$(secret tracker) "$WEAVER" node -c "$WORK/mesh.yaml" --role tracker -q 2> "$WORK/tracker.log" & tr=$!
WEAVER_MESH_SECRET=$(secret edge) timeout 300 "$WEAVER" node -c "$WORK/mesh.yaml" --role camera,detector --max-frames $FRAMES -q \
  2> "$WORK/edge.log" || { cat "$WORK"/*.log; fail "edge node failed"; }
for pid in $tr $re $st; do
  timeout 60 tail --pid=$pid -f /dev/null || { cat "$WORK"/*.log; fail "node $pid did not finish"; }
  wait $pid || { cat "$WORK"/*.log; fail "node $pid exited non-zero"; }
done

dump_rows "$WORK/single.db" > "$WORK/single.rows"
dump_rows "$WORK/nodes.db" > "$WORK/nodes.rows"
n=$(wc -l < "$WORK/single.rows")
[ "$n" -gt 0 ] || fail "no people_present rows in the single-process run"
diff "$WORK/single.rows" "$WORK/nodes.rows" || fail "rows differ between one process and four"
grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "storage node rejected messages"
grep -q "refused" "$WORK"/*.log && fail "a node refused a peer of the mesh"
echo "multiprocess: $n identical people_present rows from 1 and 4 processes (CURVE)"
