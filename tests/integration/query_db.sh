#!/usr/bin/env bash
# `weaver query --db FILE` answers without a gateway, and exactly as the
# gateway does: every query route, with its documented examples, asked both
# ways on the same synthetic store gives the same JSON; bad parameters are
# refused the same way; a missing store file is named.
source "$(dirname "$0")/../lib/common.sh"
GEN=${WEAVER_GEN_HISTORY:-$(dirname "$WEAVER")/gen_history}
[ -x "$GEN" ] || fail "gen_history not built: $GEN"
DB=$WORK/history.db
"$GEN" --db "$DB" --people 120 --cameras 4 --queries 1 > "$WORK/gen.log" 2>&1 || { cat "$WORK/gen.log"; fail "gen_history"; }
port=$(free_port)
export WEAVER_GATEWAY_TOKEN=token-0123456789abcdef-query-db
write_config "$WORK/gw.yaml" "$DB" <<YAML
gateway: {port: $port}
YAML
"$WEAVER" node -c "$WORK/gw.yaml" --role query,gateway -q 2> "$WORK/gw.log" &
for _ in $(seq 1 150); do
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && break
  sleep 0.2
done
"$WEAVER" query --list --json > "$WORK/routes.json"
python3 - "$WORK/routes.json" > "$WORK/cases.txt" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["kind"] != "query":
        continue
    args = [f'{p["name"]}={p["example"]}' for p in r["params"] if "example" in p and (p["required"] or p["in"] == "path")]
    # one of each one_of group, by its example
    for group in r.get("one_of", []):
        p = next((p for p in r["params"] if p["name"] == group[0] and "example" in p), None)
        if p and not any(a.startswith(p["name"] + "=") for a in args):
            args.append(f'{p["name"]}={p["example"]}')
    print(r["query"], *args)
PY
n=0
while read -r name args; do
  # shellcheck disable=SC2086
  WEAVER_TOKEN=$WEAVER_GATEWAY_TOKEN "$WEAVER" query "$name" $args --url "http://127.0.0.1:$port" --compact > "$WORK/http.json" 2> "$WORK/http.err" \
    || { cat "$WORK/http.err" "$WORK/gw.log"; fail "gateway: $name $args"; }
  # shellcheck disable=SC2086
  "$WEAVER" query "$name" $args --db "$DB" --compact > "$WORK/db.json" 2> "$WORK/db.err" || { cat "$WORK/db.err"; fail "--db: $name $args"; }
  cmp -s "$WORK/http.json" "$WORK/db.json" || { diff <(head -c 600 "$WORK/http.json") <(head -c 600 "$WORK/db.json"); fail "$name $args: --db differs from the gateway"; }
  n=$((n + 1))
done < "$WORK/cases.txt"
[ $n -ge 9 ] || fail "only $n query routes compared"
echo "ok: $n queries answer the same from --db and through the gateway"

rc=0; "$WEAVER" query transitions from=1 to=2 t0=garbage --db "$DB" 2> "$WORK/err" || rc=$?
[ $rc = 1 ] && grep -q "t0: expected an ISO-8601 time" "$WORK/err" || { cat "$WORK/err"; fail "--db: bad parameter (exit $rc)"; }
rc=0; "$WEAVER" query transitions from=1 to=2 --db "$WORK/nope.db" 2> "$WORK/err" || rc=$?
[ $rc = 2 ] && grep -q "no such store file" "$WORK/err" || { cat "$WORK/err"; fail "--db: missing file (exit $rc)"; }
[ ! -e "$WORK/nope.db" ] || fail "--db created the missing store file"
echo "ok: --db refuses bad parameters and missing files"
