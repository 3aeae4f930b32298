#!/usr/bin/env python3
"""Checks Weaver's Grafana dashboards without Grafana (not packaged in Debian).

  check_dashboards.py lint [DIR]   structure, layout, variables, metric names,
                                   and every PromQL expression parsed by
                                   `promtool check rules` (each becomes a
                                   recording rule in a temporary file)
  check_dashboards.py exprs [DIR]  prints every expression, variables
                                   substituted, as JSON lines {"dashboard",
                                   "panel", "expr"}: tests/integration/
                                   prometheus_scrape.sh runs them against a
                                   real Prometheus scraping a real Weaver

Exit code 0 when everything holds; each problem is printed as FILE: PANEL: what.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "grafana", "dashboards")

# Every metric family the dashboards may use, with its type. The first group
# exists in base/metrics.cpp today; the rest are announced (cards, pool)
# or requested (camera up, storage and query) in deploy/README.md.
FAMILIES = {
    "weaver_frames_total": "counter",
    "weaver_frames_dropped_total": "counter",
    "weaver_detections_total": "counter",
    "weaver_frame_bytes_total": "counter",
    "weaver_source_bytes_total": "counter",
    "weaver_link_bytes_sent_total": "counter",
    "weaver_link_messages_total": "counter",
    "weaver_link_rejected_total": "counter",
    "weaver_card_jobs_total": "counter",
    "weaver_storage_rows_written_total": "counter",
    "weaver_queue_depth": "gauge",
    "weaver_tracks_active": "gauge",
    "weaver_stage_latency_seconds": "histogram",
    # cards and pool
    "weaver_card_up": "gauge",
    "weaver_card_busy_ratio": "gauge",
    "weaver_card_errors_total": "counter",
    "weaver_card_service_seconds": "histogram",
    "weaver_pool_queue_depth": "gauge",
    "weaver_pool_schedule_latency_seconds": "histogram",
    # requested
    "weaver_camera_up": "gauge",
    "weaver_storage_errors_total": "counter",
    "weaver_queries_total": "counter",
    "weaver_query_errors_total": "counter",
    "weaver_query_latency_seconds": "histogram",
    # storage, standing queries and the REST gateway (issue 6)
    "weaver_alerts_total": "counter",
    "weaver_gateway_requests_total": "counter",
    "weaver_gateway_request_seconds": "histogram",
    "weaver_gateway_sse_clients": "gauge",
    "weaver_gateway_sse_events_total": "counter",
}

# Grafana's built-in variables and the values the checks substitute.
SUBSTITUTE = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def metric_names(expr):
    """Metric names in a PromQL expression (identifiers starting weaver_)."""
    return set(re.findall(r"\bweaver_[a-z0-9_]+\b", expr))


def family_of(name):
    if name in FAMILIES:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and FAMILIES.get(base) == "histogram":
            return base
    return None


def substitute(expr, variables):
    for k, v in SUBSTITUTE.items():
        expr = expr.replace(k, v)
    for name in variables:
        expr = expr.replace("$" + name, ".*").replace("${" + name + "}", ".*")
    return expr


def panels_of(dash):
    for p in dash.get("panels", []):
        yield p
        for sub in p.get("panels", []):
            yield sub


def load(directory):
    files = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not files:
        raise SystemExit(f"{directory}: no dashboards")
    out = []
    for f in files:
        with open(f) as fh:
            out.append((f, json.load(fh)))
    return out


def expressions(directory):
    for f, dash in load(directory):
        variables = [v["name"] for v in dash.get("templating", {}).get("list", [])]
        for p in panels_of(dash):
            for t in p.get("targets", []):
                if "expr" in t:
                    yield f, dash, p, t, substitute(t["expr"], variables)


def lint(directory):
    problems = []
    uids = {}
    for f, dash in load(directory):
        name = os.path.basename(f)
        bad = lambda where, what: problems.append(f"{name}: {where}: {what}")
        for key in ("uid", "title", "panels", "schemaVersion", "templating"):
            if key not in dash:
                bad("dashboard", f"missing '{key}'")
        uid = dash.get("uid", "")
        if uid in uids:
            bad("dashboard", f"uid '{uid}' also used by {uids[uid]}")
        uids[uid] = name
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid):
            bad("dashboard", f"uid '{uid}' is not a valid Grafana uid")
        variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
        if "datasource" not in variables or variables["datasource"].get("type") != "datasource":
            bad("templating", "needs a 'datasource' variable of type datasource (prometheus)")
        ids = set()
        cells = {}
        for p in panels_of(dash):
            title = p.get("title", f"panel {p.get('id')}")
            pid = p.get("id")
            if pid in ids:
                bad(title, f"duplicate panel id {pid}")
            ids.add(pid)
            g = p.get("gridPos", {})
            if not all(k in g for k in ("x", "y", "w", "h")):
                bad(title, "gridPos needs x, y, w, h")
                continue
            if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24:
                bad(title, f"gridPos {g} leaves the 24 columns")
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        bad(title, f"overlaps '{cells[(x, y)]}'")
                        break
                    cells[(x, y)] = title
                else:
                    continue
                break
            if p.get("type") == "row":
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                bad(title, "datasource must be ${datasource}")
            targets = p.get("targets", [])
            if not targets:
                bad(title, "no targets")
            refs = [t.get("refId") for t in targets]
            if len(set(refs)) != len(refs):
                bad(title, f"duplicate refIds {refs}")
            for t in targets:
                expr = t.get("expr", "")
                if not expr:
                    bad(title, f"target {t.get('refId')} has no expr")
                    continue
                for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", expr):
                    if not var.startswith("__") and var not in variables:
                        bad(title, f"uses undefined variable ${var}")
                for m in metric_names(expr):
                    if family_of(m) is None:
                        bad(title, f"unknown metric '{m}'")
                    elif FAMILIES[family_of(m)] == "counter" and "rate(" not in expr and "increase(" not in expr:
                        bad(title, f"counter '{m}' used without rate() or increase()")
    # Every expression must parse: promtool checks them as recording rules.
    rules = []
    for i, (f, dash, p, t, expr) in enumerate(expressions(directory)):
        rules.append({"record": f"dashboard:expr_{i}", "expr": expr})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as tmp:
        json.dump({"groups": [{"name": "dashboards", "rules": rules}]}, tmp)  # JSON is YAML
    try:
        r = subprocess.run(["promtool", "check", "rules", tmp.name], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("promtool check rules on the dashboards' expressions:\n" + r.stdout + r.stderr)
    finally:
        os.unlink(tmp.name)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"dashboards: {len(uids)} dashboards, {len(rules)} expressions, {len(problems)} problems")
    return 1 if problems else 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("lint", "exprs"):
        print(__doc__, file=sys.stderr)
        return 2
    directory = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_DIR
    if sys.argv[1] == "lint":
        return lint(directory)
    for f, dash, p, t, expr in expressions(directory):
        print(json.dumps({"dashboard": dash["uid"], "panel": p.get("title"), "expr": expr}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
