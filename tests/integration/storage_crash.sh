#!/usr/bin/env bash
# kill -9 of the storage process between batches loses no acknowledged row,
# and the re-sent batch does not duplicate rows: a client streams presence
# batches to `weaver node --role storage`, the node is killed with SIGKILL
# mid-stream, the store is checked at once against every row acknowledged so
# far, the node is restarted, the client's link re-sends what was not
# acknowledged, and at the end the store holds each row exactly once. Runs
# on SQLite and, with the pg fixture, on PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"
SEND="$(dirname "$WEAVER")/send_batches"
PEOPLE=3000

run_case() {  # run_case NAME STORAGE_YAML LOCATION
  local name=$1 storage_yaml=$2 location=$3 port
  port=$(free_port)
  write_config "$WORK/$name.yaml" "$WORK/$name.db" <<YAML
mesh:
  security: plain   # this test is about readiness/crashes, not keys (see mesh_auth.sh)
  endpoints:
    storage: tcp://127.0.0.1:$port
YAML
  if [ -n "$storage_yaml" ]; then
    python3 - "$WORK/$name.yaml" "$storage_yaml" <<'PY'
import sys, re
p, repl = sys.argv[1], sys.argv[2]
s = open(p).read()
s = re.sub(r"storage:\n  path: [^\n]*\n", "storage:\n  " + repl + "\n", s, count=1)
open(p, "w").write(s)
PY
  fi
  local acked="$WORK/$name.acked"
  "$WEAVER" node -c "$WORK/$name.yaml" --role storage --reset -q 2> "$WORK/$name-storage1.log" & local st=$!
  "$SEND" --endpoint "tcp://127.0.0.1:$port" --acked "$acked" --people $PEOPLE --batch 100 --pace-ms 5 \
    > "$WORK/$name-send.out" 2> "$WORK/$name-send.log" & local snd=$!
  # Kill once a good part is acknowledged, while batches are still flowing.
  local deadline=$((SECONDS + 120))
  until [ -s "$acked" ] && [ "$(wc -l < "$acked")" -ge 3000 ]; do
    kill -0 $snd 2>/dev/null || { show_logs; fail "$name: sender ended before the kill"; }
    [ $SECONDS -lt $deadline ] || { show_logs; fail "$name: too slow to acknowledge 3000 rows"; }
    sleep 0.05
  done
  kill -9 $st
  wait $st 2>/dev/null || true
  local at_kill
  at_kill=$(wc -l < "$acked")
  "$SEND" --verify "$location" --acked "$acked" > "$WORK/$name-verify1.out" \
    || { cat "$WORK/$name-verify1.out"; show_logs; fail "$name: acknowledged rows lost by kill -9"; }
  # Restart: the sender's link re-sends the unacknowledged batch and goes on.
  "$WEAVER" node -c "$WORK/$name.yaml" --role storage -q 2> "$WORK/$name-storage2.log" & st=$!
  timeout 180 tail --pid=$snd -f /dev/null || { show_logs; fail "$name: sender did not finish after the restart"; }
  wait $snd || { show_logs; fail "$name: sender failed"; }
  local total
  total=$(wc -l < "$acked")
  [ "$total" -gt "$at_kill" ] || fail "$name: nothing acknowledged after the restart"
  "$SEND" --verify "$location" --acked "$acked" --expect-total "$total" > "$WORK/$name-verify2.out" \
    || { cat "$WORK/$name-verify2.out"; show_logs; fail "$name: rows lost or duplicated after the restart"; }
  kill $st; wait $st 2>/dev/null || true
  echo "storage_crash/$name: $at_kill rows acknowledged at kill -9, all present; $total rows once each after restart"
  sed 's/^/  /' "$WORK/$name-verify2.out"
}

run_case sqlite "" "$WORK/sqlite.db"
if [ -n "${WEAVER_TEST_PG_DIR:-}" ]; then
  uri=$(cat "$WEAVER_TEST_PG_DIR/uri")
  export PGPASSWORD=$(cat "$WEAVER_TEST_PG_DIR/password")
  # A schema of its own: other tests share the server.
  schema="crash_$$"
  psql -q "$uri" -c "CREATE SCHEMA $schema" >/dev/null
  sep='?'; case "$uri" in *\?*) sep='&';; esac
  uri="$uri${sep}options=-csearch_path%3D$schema"
  run_case postgres "url: $uri" "$uri"
fi
