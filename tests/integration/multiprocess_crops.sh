#!/usr/bin/env bash
# Evidence crops in a split deployment: with the tracker beside the cameras
# (camera,detector,tracker | reid | storage, three `weaver node` processes on
# loopback), the crops travel with the tracks over the mesh and the storage
# node keeps them beside its store, as one process does beside its own.
source "$(dirname "$0")/../lib/common.sh"
FRAMES=150
p1=$(free_port); p2=$(free_port)
write_config "$WORK/mesh.yaml" "$WORK/nodes.db" <<YAML
mesh:
  security: plain
  endpoints:
    reid: tcp://127.0.0.1:$p1
    storage: tcp://127.0.0.1:$p2
YAML
sed -e "s#$WORK/nodes.db#$WORK/single.db#" "$WORK/mesh.yaml" > "$WORK/single.yaml"

"$WEAVER" run -c "$WORK/single.yaml" --reset --max-frames $FRAMES -q 2> "$WORK/single.log"

declare -A pid
"$WEAVER" node -c "$WORK/mesh.yaml" --role storage --reset -q --summary "$WORK/storage.json" 2> "$WORK/storage.log" &
pid[storage]=$!
"$WEAVER" node -c "$WORK/mesh.yaml" --role reid -q 2> "$WORK/reid.log" & pid[reid]=$!
"$WEAVER" node -c "$WORK/mesh.yaml" --role camera,detector,tracker --max-frames $FRAMES -q 2> "$WORK/edge.log" &
pid[edge]=$!
finish edge reid storage

# Crops are rows of the store (table evidence_crops); each must be a whole JPEG.
list() { sqlite3 "$1" "SELECT camera_id, track_id FROM evidence_crops ORDER BY 1, 2"; }
list "$WORK/single.db" > "$WORK/single.crops"
[ -s "$WORK/single.crops" ] || fail "no crops in one process"
list "$WORK/nodes.db" > "$WORK/nodes.crops"
n=$(wc -l < "$WORK/nodes.crops")
[ "$n" -gt 0 ] || { show_logs; fail "the storage node stored no crops"; }
python3 - "$WORK/nodes.db" <<'PY' || fail "a stored crop is not a whole JPEG"
import sqlite3, sys
for cam, track, b in sqlite3.connect(sys.argv[1]).execute("SELECT camera_id, track_id, jpeg FROM evidence_crops"):
    assert isinstance(b, bytes) and b[:3] == b"\xff\xd8\xff" and b[-2:] == b"\xff\xd9", (cam, track)
PY
# The same tracks have crops in both runs (the tracker's input is the same).
diff "$WORK/single.crops" "$WORK/nodes.crops" || fail "crops differ between one process and three"
grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "storage node rejected messages"
echo "multiprocess_crops: $n crops stored by the storage node of a 3-process mesh, the same tracks as one process"
