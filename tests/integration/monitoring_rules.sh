#!/usr/bin/env bash
# monitoring/: Prometheus's own promtool (Debian's prometheus package) checks
# the scrape configuration and the rules and runs the rules' unit tests (every
# alert must have one); the Grafana dashboards are linted and each of their
# PromQL expressions parsed by promtool.
source "$(dirname "$0")/../lib/common.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus, tools/setup.sh)"
mon="$WEAVER_SOURCE_DIR/monitoring"

promtool check config "$mon/prometheus.yml" || fail "promtool check config"
promtool check rules "$mon/rules/weaver.rules.yml" || fail "promtool check rules"
(cd "$mon/tests" && promtool test rules weaver.rules.test.yml) || fail "promtool test rules"

# Every alert is unit-tested, and every tested alert exists.
python3 - "$mon/rules/weaver.rules.yml" "$mon/tests/weaver.rules.test.yml" <<'PY' || fail "alert coverage"
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
tested, firing = set(), set()
tested_records = set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        tested.add(a["alertname"])
        if a.get("exp_alerts"):
            firing.add(a["alertname"])
    for e in t.get("promql_expr_test", []):
        tested_records.update(r for r in records if r in e["expr"])
missing = alerts - firing
unknown = tested - alerts
if missing: print("alerts with no firing unit test:", sorted(missing)); sys.exit(1)
if unknown: print("tests of unknown alerts:", sorted(unknown)); sys.exit(1)
if records - tested_records: print("recording rules with no unit test:", sorted(records - tested_records)); sys.exit(1)
for a in alerts:
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == a)
    if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
        print(f"{a}: severity must be warning or critical"); sys.exit(1)
    if not rule.get("annotations", {}).get("summary"):
        print(f"{a}: no summary annotation"); sys.exit(1)
print(f"alerts: {len(alerts)} alerts, all unit-tested firing; recording rules tested: {len(tested_records)}/{len(records)}")
PY

# Dashboards: lint passes, and the linter does catch a broken expression.
python3 "$mon/check_dashboards.py" lint "$mon/grafana/dashboards" || fail "dashboard lint"
mkdir "$WORK/broken"
cp "$mon/grafana/dashboards/"*.json "$WORK/broken/"
python3 - "$WORK/broken" <<'PY'
import glob, json, sys
f = sorted(glob.glob(sys.argv[1] + "/*.json"))[0]
d = json.load(open(f))
p = next(p for p in d["panels"] if p.get("targets"))
p["targets"][0]["expr"] = "sum(rate(weaver_frames_total[1m]"
json.dump(d, open(f, "w"))
PY
if python3 "$mon/check_dashboards.py" lint "$WORK/broken" 2> "$WORK/broken.log"; then
  fail "the dashboard lint accepted a broken expression"
fi
grep -q "promtool check rules" "$WORK/broken.log" || { cat "$WORK/broken.log"; fail "broken expression not reported by promtool"; }
echo "monitoring_rules: config, rules, rule unit tests and dashboards check"
