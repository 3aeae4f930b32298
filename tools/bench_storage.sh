#!/usr/bin/env bash
# Storage and query benchmark (not part of the default test run): loads a
# synthetic history of about ROWS presence rows (default 10M: 2.5M people,
# 8 cameras, 30 days) into SQLite and into a real PostgreSQL server
# (tools/pg_test_server.sh), prints ingest rows/s and the p50 / p99 of the
# seed's two queries asked directly, then of the same queries through a
# running REST gateway (weaver node --role query,gateway) over HTTP. Answers
# are checked against the generator's truth.
#
#   tools/bench_storage.sh [--people N] [--days D] [--queries Q] [--only sqlite|postgres]
# Needs a build (tools/build.sh) and about 3 GB free in $TMPDIR.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEAVER_BUILD_DIR:-$here/build}
people=2500000 days=30 queries=50 only=""
while [ $# -gt 0 ]; do
  case $1 in
    --people) people=$2; shift 2;;
    --days) days=$2; shift 2;;
    --queries) queries=$2; shift 2;;
    --only) only=$2; shift 2;;
    *) echo "usage: $0 [--people N] [--days D] [--queries Q] [--only sqlite|postgres]" >&2; exit 2;;
  esac
done
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/pg/uri" ] && bash "$here/tools/pg_test_server.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
spec=(--people "$people" --cameras 8 --days "$days" --queries "$queries")
token=bench-token-0123456789abcdef
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# gateway_bench NAME STORAGE_YAML_LINE LOCATION: the same queries over HTTP.
gateway_bench() {
  local name=$1 storage=$2 location=$3 port
  port=$(free_port)
  python3 - "$here/deploy/demo.yaml" "$work/$name.yaml" "$storage" "$port" "$here" <<'PY'
import sys, yaml
src, out, storage, port, here = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["paths_from"] = here + "/deploy"  # the demo's relative paths keep their meaning
key, value = storage.split(": ", 1)
cfg["storage"] = {key: value}
cfg["query"].pop("alerts", None)
cfg["metrics"] = {"port": 0}
cfg["gateway"] = {"port": int(port), "tokens": [{"name": "bench", "token": "bench-token-0123456789abcdef"}]}
yaml.safe_dump(cfg, open(out, "w"))
PY
  "$build/weaver" node -c "$work/$name.yaml" --role query,gateway -q 2> "$work/$name-gateway.log" &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
    sleep 0.1
  done
  "$build/gen_history" --db "$location" "${spec[@]}" --skip-load --gateway "http://127.0.0.1:$port" --token "$token" \
    | grep -E "gateway:"
  kill "${pids[-1]}"
}

if [ "$only" != postgres ]; then
  echo "== SQLite"
  "$build/gen_history" --db "$work/bench.db" "${spec[@]}"
  gateway_bench sqlite "path: $work/bench.db" "$work/bench.db"
  rm -f "$work"/bench.db*
fi
if [ "$only" != sqlite ]; then
  echo "== PostgreSQL (tools/pg_test_server.sh, fsync on)"
  bash "$here/tools/pg_test_server.sh" start "$work/pg" > /dev/null
  uri=$(cat "$work/pg/uri")
  export PGPASSWORD=$(cat "$work/pg/password")
  "$build/gen_history" --db "$uri" "${spec[@]}"
  gateway_bench postgres "url: $uri" "$uri"
fi
