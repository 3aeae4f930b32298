#!/usr/bin/env bash
# A real Prometheus (Debian's prometheus package) on loopback scrapes a
# running `weaver run` with Weaver's rules loaded; the test asks Prometheus's
# HTTP API whether Weaver's metrics arrived with the right labels, whether the
# rules evaluate, whether every Grafana dashboard expression runs, and whether
# a stopped Weaver shows as down. No wall-clock assertions: every wait is a
# bounded poll for a condition.
source "$(dirname "$0")/../lib/common.sh"
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus, tools/setup.sh)"
mon="$WEAVER_SOURCE_DIR/monitoring"

wport=$(free_port)
pport=$(free_port)
# The demo's three virtual cameras, paced in real time and looping so the
# process lives as long as the test; the motion detector keeps the CPU free.
write_config "$WORK/weaver.yaml" "$WORK/weaver.db" < /dev/null
sed -i -e "s#^realtime: false.*#realtime: true#" \
       -e "s#^\(  *\)fps: 10\$#\1fps: 10\n\1loop: true#" \
       -e "s#kind: auto #kind: motion #" \
       -e "s#^  port: 0\$#  port: $wport#" "$WORK/weaver.yaml"
grep -q "port: $wport" "$WORK/weaver.yaml" || fail "could not set metrics.port in the test config"
[ "$(grep -c 'loop: true' "$WORK/weaver.yaml")" = 3 ] || fail "could not make the cameras loop"

"$WEAVER" run -c "$WORK/weaver.yaml" --reset -q 2> "$WORK/weaver.log" & weaver_pid=$!

# Bounded polls: try `$2...` every 0.5 s up to $1 times; give up at once if
# Weaver (until it is stopped on purpose) or Prometheus died.
retry() {
  local n=$1; shift
  for _ in $(seq "$n"); do
    if "$@"; then return 0; fi
    if [ -n "${weaver_pid:-}" ] && ! kill -0 "$weaver_pid" 2>/dev/null; then
      cat "$WORK/weaver.log" >&2; fail "weaver exited early"
    fi
    if [ -n "${prom_pid:-}" ] && ! kill -0 "$prom_pid" 2>/dev/null; then
      cat "$WORK/prometheus.log" >&2; fail "prometheus exited early"
    fi
    sleep 0.5
  done
  return 1
}
metrics_up() { curl -sf "http://127.0.0.1:$wport/metrics" -o "$WORK/metrics.txt"; }
retry 120 metrics_up || { cat "$WORK/weaver.log"; fail "weaver serves no /metrics on port $wport"; }

cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $mon/rules/weaver.rules.yml
scrape_configs:
  - job_name: weaver
    static_configs:
      - targets: ["127.0.0.1:$wport"]
        labels: {role: all}
YAML
promtool check config "$WORK/prometheus.yml" > /dev/null || fail "test prometheus config invalid"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn 2> "$WORK/prometheus.log" & prom_pid=$!

api="http://127.0.0.1:$pport/api/v1"
# query EXPR: prints the API's JSON answer.
query() { curl -sf -G "$api/query" --data-urlencode "query=$1"; }
# has_result EXPR: true when EXPR has at least one sample.
has_result() {
  query "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["status"]=="success" and d["data"]["result"] else 1)'
}
ready() { curl -sf "http://127.0.0.1:$pport/-/ready" > /dev/null; }
retry 120 ready || { cat "$WORK/prometheus.log"; fail "prometheus did not become ready"; }

for q in 'weaver_frames_total{camera="1"}' 'weaver_card_jobs_total{card="cpu0"}' \
         'rate(weaver_frames_total{camera="3"}[10s]) > 0' 'weaver:camera_fps:rate1m{camera="2"} > 0'; do
  retry 120 has_result "$q" || { cat "$WORK/weaver.log" "$WORK/prometheus.log"; fail "no samples for $q"; }
done

# Labels as Weaver and the scrape configuration set them.
query 'weaver_frames_total' > "$WORK/frames.json"
query 'weaver_card_jobs_total' > "$WORK/cards.json"
query 'weaver_stage_latency_seconds_bucket{stage="admit_to_detections"}' > "$WORK/latency.json"
query 'weaver_link_bytes_sent_total' > "$WORK/links.json"
query 'up' > "$WORK/up.json"
query 'weaver_card_up' > "$WORK/card_up.json"
python3 - "$WORK" "127.0.0.1:$wport" <<'PY' || fail "labels"
import json, sys
work, instance = sys.argv[1], sys.argv[2]
res = lambda name: json.load(open(f"{work}/{name}.json"))["data"]["result"]
frames = res("frames")
cams = sorted(r["metric"]["camera"] for r in frames)
assert cams == ["1", "2", "3"], f"cameras {cams}"
for r in frames:
    m = r["metric"]
    assert m["__name__"] == "weaver_frames_total", m
    assert m["job"] == "weaver" and m["instance"] == instance and m["role"] == "all", m
    assert set(m) == {"__name__", "job", "instance", "role", "camera"}, f"unexpected labels {m}"
    assert float(r["value"][1]) > 0, r
cards = res("cards")
assert [r["metric"]["card"] for r in cards] == ["cpu0"], cards
assert float(cards[0]["value"][1]) > 0, cards
les = {r["metric"]["le"] for r in res("latency")}
assert "+Inf" in les and len(les) > 2, f"histogram buckets {les}"
links = {r["metric"]["link"]: float(r["value"][1]) for r in res("links")}
assert links.get("detector->tracker", 0) > 0, f"links {links}"
card_up = {r["metric"]["card"]: r["value"][1] for r in res("card_up")}
assert card_up == {"cpu0": "1"}, f"weaver_card_up {card_up}"
up = res("up")
assert len(up) == 1 and up[0]["value"][1] == "1", up
print(f"labels: cameras {cams}, card cpu0, {len(les)} latency buckets, links {sorted(links)}")
PY

# The rules loaded and evaluate without errors.
rules_ok() {
  curl -sf "$api/rules" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["groups"]
names = sorted(g["name"] for g in d)
assert names == ["weaver.alerts", "weaver.recording"], names
rules = [r for g in d for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
sys.exit(1 if bad else 0)'
}
retry 60 rules_ok || { curl -s "$api/rules"; fail "rules did not evaluate cleanly"; }
firing=$(curl -sf "$api/alerts" | python3 -c '
import json, sys
print(" ".join(a["labels"]["alertname"] for a in json.load(sys.stdin)["data"]["alerts"] if a["labels"]["alertname"] == "WeaverProcessDown"))')
[ -z "$firing" ] || fail "WeaverProcessDown active while Weaver runs"

# Every dashboard expression runs; those over families Weaver exports now
# return data.
curl -sf "$api/label/__name__/values" > "$WORK/names.json"
python3 "$mon/check_dashboards.py" exprs "$mon/grafana/dashboards" > "$WORK/exprs.jsonl"
python3 - "$WORK" "$api" <<'PY' || fail "dashboard expressions"
import json, re, sys, urllib.parse, urllib.request
work, api = sys.argv[1], sys.argv[2]
present = set(json.load(open(f"{work}/names.json"))["data"])
base = lambda n: re.sub(r"_(bucket|sum|count)$", "", n)
present_bases = {base(n) for n in present} | present
ran = with_data = 0
pending = set()
for line in open(f"{work}/exprs.jsonl"):
    e = json.loads(line)
    url = f"{api}/query?" + urllib.parse.urlencode({"query": e["expr"]})
    d = json.load(urllib.request.urlopen(url))
    assert d["status"] == "success", (e, d)
    ran += 1
    names = set(re.findall(r"\bweaver_[a-z0-9_]+\b", e["expr"]))
    missing = {n for n in names if n not in present and base(n) not in present_bases}
    # Families that have no series yet: not exported today, or no event so far
    # (drops, rejects). Expressions over present families must have data.
    if missing:
        pending |= {base(n) for n in missing}
        continue
    if not d["data"]["result"]:
        raise SystemExit(f"{e['dashboard']}: {e['panel']}: no data for {e['expr']}")
    with_data += 1
print(f"dashboards: {ran} expressions ran, {with_data} with data; no series yet for: {', '.join(sorted(pending))}")
PY

# Once Weaver serves /healthz and /readyz on the same port (services/health),
# they must answer JSON with a status.
code=$(curl -s -o "$WORK/readyz.json" -w '%{http_code}' "http://127.0.0.1:$wport/readyz" || true)
if [ "$code" != 404 ]; then
  [ "$code" = 200 ] || fail "/readyz answered $code while running: $(cat "$WORK/readyz.json")"
  python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["status"] == "ok"' "$WORK/readyz.json" \
    || fail "/readyz body: $(cat "$WORK/readyz.json")"
  echo "health: /readyz 200"
else
  echo "health: /readyz not served yet (the exposer serves /metrics only)"
fi

# A stopped Weaver shows as down: the WeaverProcessDown alert's input.
kill "$weaver_pid"
wait "$weaver_pid" || true
weaver_pid=
retry 120 has_result 'up{job="weaver"} == 0' || fail "Prometheus did not see Weaver go down"
echo "prometheus_scrape: metrics, labels, rules and dashboard expressions through a real Prometheus"
