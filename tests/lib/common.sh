# Shared helpers for the shell tests (sourced). Expects WEAVER (the binary),
# WEAVER_SOURCE_DIR and WEAVER_SAMPLE_VIDEO from ctest.
set -euo pipefail
: "${WEAVER:?set by ctest}" "${WEAVER_SOURCE_DIR:?set by ctest}" "${WEAVER_SAMPLE_VIDEO:?set by ctest}"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# A free TCP port on loopback.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Writes the demo's three virtual cameras over the sample video to $1, with
# storage at $2; extra YAML from stdin is appended. Its other relative paths
# (model, metric) mean what they mean in deploy/ (paths_from).
write_config() {
  local out=$1 db=$2
  { echo "paths_from: $WEAVER_SOURCE_DIR/deploy"
    sed -e "s#source: ../tools/data/vtest.avi#source: ${WEAVER_SAMPLE_VIDEO}#" \
        -e "s#path: ../weaver.db#path: ${db}#" \
        -e "s#port: 9464#port: 0#" \
        "$WEAVER_SOURCE_DIR/deploy/demo.yaml"; } > "$out"
  cat >> "$out"
}

# The people_present rows, one per line, in a stable order.
dump_rows() {
  sqlite3 "$1" "SELECT person_id, camera_id, enter, exit FROM people_present ORDER BY 1, 2, 3, 4"
}

# Each process's log (files matching $LOGS, default $WORK/*.log), repeated
# lines once.
show_logs() {
  local f
  for f in ${LOGS:-$WORK/*.log}; do echo "== $f"; uniq -f 1 "$f" | tail -n 15; done
}

# finish NAME...: waits for the processes in the caller's associative array
# `pid` to exit, failing at once, with every log, when one exits non-zero (a
# busy port, a crash), and after FINISH_WAIT_S (600) seconds. A wait, not a
# timing check: at a load average of 30 the helm chart's two-edge mesh took
# over 120 s for 60 frames (2026-12-06), where a quiet machine takes 20.
finish() {
  local left=("$@") deadline=$((SECONDS + ${FINISH_WAIT_S:-600})) still rc name
  while [ ${#left[@]} -gt 0 ]; do
    still=()
    for name in "${left[@]}"; do
      if kill -0 "${pid[$name]}" 2>/dev/null; then still+=("$name"); continue; fi
      rc=0; wait "${pid[$name]}" || rc=$?
      [ "$rc" = 0 ] || { show_logs; fail "$name exited with $rc"; }
    done
    left=("${still[@]}")
    [ ${#left[@]} -eq 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || { show_logs; fail "still running after ${FINISH_WAIT_S:-600} s: ${left[*]}"; }
    sleep 0.2
  done
}
