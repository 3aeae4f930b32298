#!/usr/bin/env bash
# helm/weaver without helm (not packaged in Debian): tools/render_chart (Go's
# text/template + Sprig + Helm's functions) renders the chart for the default
# values and the examples; tools/k8s_validate checks the values against
# values.schema.json and every object against the Kubernetes schemas (npm's
# kubernetes-models) and against each other; `weaver check` accepts every
# rendered configuration; camera sources (passwords) are only in the cameras
# Secret and reach only the edge pods, as environment variables their
# configurations name; and the mesh the chart renders for two edge pods
# runs as local processes (pod commands and Secret environment as rendered,
# cluster DNS names mapped to loopback ports) and stores rows from both
# edges, the same as one process: once with the tracker in the edge pods
# (tracker.placement edge, the default) and once with two tracker shards.
source "$(dirname "$0")/../lib/common.sh"
src="$WEAVER_SOURCE_DIR"
chart="$src/helm/weaver"
validate="$src/tools/k8s_validate/validate.js"
[ -d "$src/tools/k8s_validate/node_modules/kubernetes-models" ] \
  || fail "tools/k8s_validate/node_modules missing (tools/setup.sh runs npm ci there)"

bash "$src/tools/render_chart/build.sh" "$WORK/render_chart" || fail "building render_chart"
[ -z "$(gofmt -l "$src/tools/render_chart")" ] || fail "gofmt: $(gofmt -l "$src/tools/render_chart")"
# Mesh links are CURVE by default: every render below names the keys Secret
# (made by `weaver keys`, one keypair per role; real keys for the mesh run).
printf 'mesh: {keys: {existingSecret: weaver-mesh-keys}}\n' > "$WORK/keys-values.yaml"
for r in detector tracker reid storage query gateway; do
  "$WEAVER" keys --out "$WORK/keys" --name $r > /dev/null || fail "weaver keys"
done
render() { "$WORK/render_chart" -f "$WORK/keys-values.yaml" "$@" "$chart"; }
validate() { node "$validate" --external Secret/weaver-mesh-keys "$@"; }

# --- default values, the multi-card example, the PostgreSQL example
render --dump-values "$WORK/default.json" -o "$WORK/default.yaml" || fail "render default values"
validate --values-schema "$chart/values.schema.json" --values "$WORK/default.json" \
  --write-configmap "weaver-config=$WORK/default-config" "$WORK/default.yaml" || fail "default values"
render -f "$chart/examples/multi-card.yaml" --api-versions monitoring.coreos.com/v1 \
  --dump-values "$WORK/multi.json" -o "$WORK/multi.yaml" || fail "render multi-card"
validate --values-schema "$chart/values.schema.json" --values "$WORK/multi.json" \
  --write-configmap "weaver-config=$WORK/multi-config" "$WORK/multi.yaml" || fail "multi-card example"
render -f "$chart/examples/postgresql.yaml" --dump-values "$WORK/pg.json" -o "$WORK/pg.yaml" || fail "render postgresql"
validate --values-schema "$chart/values.schema.json" --values "$WORK/pg.json" \
  --external Secret/weaver-postgres --write-configmap "weaver-config=$WORK/pg-config" "$WORK/pg.yaml" \
  || fail "postgresql example"
# A camera whose RTSP URL has a password, with a virtual camera of it, on an
# edge pod of its own; and the same cameras from a Secret the user manages.
cat > "$WORK/sec-values.yaml" <<'YAML'
config:
  query: {transitions: [[1, 7], [7, 2]], every_camera: [1, 7]}
cameras:
  - {id: 1, name: left, source: /usr/share/weaver/vtest.avi, crop: [0, 0, 256, 576], edge: 0}
  - {id: 2, name: right, source: "camera:1", crop: [256, 0, 256, 576], edge: 0}
  - {id: 7, name: door, zone: entrance, source: "rtsp://admin:Pa55-w0rd.k8s@10.0.0.5:554/stream1", rtsp: {transport: tcp}, edge: 1}
  - {id: 8, name: door-left, source: "camera:7", crop: [0, 0, 320, 240], edge: 1}
edge: {replicas: 2}
gateway: {enabled: true}
YAML
render -f "$WORK/sec-values.yaml" --dump-values "$WORK/sec.json" -o "$WORK/sec.yaml" || fail "render camera secret values"
validate --values-schema "$chart/values.schema.json" --values "$WORK/sec.json" \
  --write-configmap "weaver-config=$WORK/sec-config" "$WORK/sec.yaml" || fail "camera secret values"
cat > "$WORK/ext-values.yaml" <<'YAML'
config:
  query: {transitions: [[1, 7], [7, 2]], every_camera: [1, 7]}
cameraSecret: {existingSecret: store-cameras}
cameras:
  - {id: 1, name: left, crop: [0, 0, 256, 576], edge: 0}
  - {id: 2, name: right, source: "camera:1", crop: [256, 0, 256, 576], edge: 0}
  - {id: 7, name: door, edge: 1}
edge: {replicas: 2}
YAML
render -f "$WORK/ext-values.yaml" --dump-values "$WORK/ext.json" -o "$WORK/ext.yaml" || fail "render existingSecret values"
validate --values-schema "$chart/values.schema.json" --values "$WORK/ext.json" --external Secret/store-cameras \
  --write-configmap "weaver-config=$WORK/ext-config" "$WORK/ext.yaml" || fail "existingSecret values"

# Camera sources: in the cameras Secret only, as WEAVER_CAMERA_<id>_SOURCE;
# the edge container takes each from it (secretKeyRef), its configurations
# name the variable (virtual cameras keep camera:N); every other
# configuration says remote:edge-N; no other object holds a source or a
# password, plain or base64. Writes NAME-env: the edge container's camera
# variables as the rendered Secret gives them (VAR=value lines).
camera_sources() {  # NAME SECRET-NAME
  python3 - "$WORK" "$1" "$2" <<'PY'
import base64, json, os, re, sys, urllib.parse, yaml
work, name, secret = sys.argv[1:4]
text = open(f"{work}/{name}.yaml").read()
raw = [t for t in re.split(r"^---$", text, flags=re.M) if yaml.safe_load(t)]
docs = [yaml.safe_load(t) for t in raw]
values = json.load(open(f"{work}/{name}.json"))
var = lambda cid: f"WEAVER_CAMERA_{cid}_SOURCE"
virtual = lambda c: str(c.get("source", "")).startswith("camera:")
cams = values["cameras"]
direct = [c for c in cams if not virtual(c)]
chart_secret = not values.get("cameraSecret", {}).get("existingSecret")
def forms(s):
    """s, and what base64 of any text holding s must contain (at each alignment)."""
    out, b = {s}, s.encode()
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + b).decode()
        out.add(enc[-(-8 * pad // 6):(8 * (pad + len(b))) // 6])
    return {f for f in out if len(f) >= 8}   # shorter ones would match by chance
def secrets_of(src):
    u = urllib.parse.urlsplit(src)
    return [src] + ([u.password] if u.password else [])
def holds(t, s): return any(f in t for f in forms(s))
# The chart's Secret: every direct camera's source, nothing else.
sec = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == secret]
if chart_secret:
    assert len(sec) == 1, f"no Secret {secret}"
    data = {k: base64.b64decode(v).decode() for k, v in sec[0]["data"].items()}
    assert data == {var(c["id"]): c["source"] for c in direct}, data
else:
    assert not sec and not any(d["kind"] == "Secret" and d["metadata"]["name"].endswith("-cameras") for d in docs)
for t, d in zip(raw, docs):
    mine = d["kind"] == "Secret" and d["metadata"]["name"] == secret
    for c in direct if chart_secret else []:
        for s in secrets_of(c["source"]):
            assert holds(t, s) == mine, f"{d['kind']}/{d['metadata']['name']}: camera {c['id']}'s source {'missing' if mine else 'leaks'}"
    assert d["kind"] != "ConfigMap" or d["metadata"]["name"] != "weaver-config" or not re.search(r"(rtsp|rtsps|http|https)://", t), f"URL in ConfigMap {d['metadata']['name']}"
# Only the edge container takes them, each from its key.
env = {}
for d in docs:
    if d["kind"] not in ("Deployment", "StatefulSet"):
        continue
    for c in d["spec"]["template"]["spec"]["containers"]:
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
        mine = {k: r for k, r in refs.items() if r["name"] == secret or k.startswith("WEAVER_CAMERA_")}
        if (d["metadata"]["name"], c["name"]) == ("weaver-edge", "edge"):
            assert mine == {var(x["id"]): {"name": secret, "key": var(x["id"])} for x in direct}, mine
            if chart_secret:
                env = {k: data[r["key"]] for k, r in mine.items()}
        else:
            assert not mine, (d["metadata"]["name"], c["name"], mine)
# Edge pod N's configuration: its cameras, named by variable; the others: remote:edge-N.
edge_of = {c["id"]: c.get("edge", 0) for c in cams}
files = sorted(os.listdir(f"{work}/{name}-config"))
assert any(f.startswith("edge-") for f in files) and any(not f.startswith("edge-") for f in files), files
for f in files:
    cfg = yaml.safe_load(open(f"{work}/{name}-config/{f}"))
    m = re.fullmatch(r"edge-([0-9]+)\.yaml", f)
    if m:
        assert sorted(x["id"] for x in cfg["cameras"]) == sorted(c["id"] for c in cams if edge_of[c["id"]] == int(m[1])), f
    by_id = {c["id"]: c for c in cams}
    for x in cfg["cameras"]:
        c = by_id[x["id"]]
        want = c["source"] if m and virtual(c) else "${%s}" % var(c["id"]) if m else f"remote:edge-{edge_of[c['id']]}"
        assert x["source"] == want, (f, x["id"], x["source"], want)
assert all("\n" not in v for v in env.values())
with open(f"{work}/{name}-env", "w") as out:
    for k, v in sorted(env.items()):
        print(f"{k}={v}", file=out)
given = " ".join(sorted(env)) if env else "(the user's Secret)"
print(f"camera sources ({name}): {len(direct)} direct cameras, Secret {secret}, edge env {given}")
PY
}
for set in default multi pg sec; do camera_sources "$set" weaver-cameras || fail "camera sources: $set"; done
camera_sources ext store-cameras || fail "camera sources: existingSecret"
# What the user's Secret would hold.
printf 'WEAVER_CAMERA_1_SOURCE=/usr/share/weaver/vtest.avi\nWEAVER_CAMERA_7_SOURCE=rtsp://viewer:pw@10.0.0.7/live\n' > "$WORK/ext-env"

# What the examples must contain.
python3 - "$WORK" "$src" <<'PY' || fail "rendered objects"
import glob, json, os, sys, yaml
work, src = sys.argv[1], sys.argv[2]
load = lambda f: [d for d in yaml.safe_load_all(open(f)) if d]
default, multi, pg = load(f"{work}/default.yaml"), load(f"{work}/multi.yaml"), load(f"{work}/pg.yaml")
kinds = lambda docs: sorted({d["kind"] for d in docs})
get = lambda docs, kind, name: next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
for docs in (default, multi):
    for kind in ("ConfigMap", "StatefulSet", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"):
        assert kind in kinds(docs), f"no {kind}"
# Probes on /healthz and /readyz in every Weaver container.
for docs in (default, multi, pg):
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet"):
            for c in d["spec"]["template"]["spec"]["containers"]:
                assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", (d["metadata"]["name"], c["name"])
                assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", (d["metadata"]["name"], c["name"])
                assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
# Multi-card: FPGAs through the device plugin's resource, on the FPGA nodes.
edge = get(multi, "StatefulSet", "weaver-edge")
pod = edge["spec"]["template"]["spec"]
res = "xilinx.com/fpga-xilinx_u250_gen3x16_xdma_shell_4_1-202210_1"
assert pod["containers"][0]["resources"]["limits"][res] == 2, pod["containers"][0]["resources"]
assert pod["nodeSelector"] == {"weaver.io/fpga": "alveo-u250"}, pod.get("nodeSelector")
assert edge["spec"]["replicas"] == 2 and get(multi, "StatefulSet", "weaver-tracker")["spec"]["replicas"] == 2
assert res not in json.dumps(get(default, "StatefulSet", "weaver-edge")), "CPU-only default requests FPGAs"
# Gateway: Service, Ingress, token Secret.
assert {"Ingress", "ServiceMonitor", "PrometheusRule", "Secret"} <= set(kinds(multi)), kinds(multi)
secret = get(multi, "Secret", "weaver-gateway")
assert len(secret["data"]["token"]) > 20
# The PrometheusRule is monitoring/rules/weaver.rules.yml; the dashboards
# ConfigMap is monitoring/grafana/dashboards.
rules = yaml.safe_load(open(f"{src}/monitoring/rules/weaver.rules.yml"))
assert get(multi, "PrometheusRule", "weaver")["spec"]["groups"] == rules["groups"], "PrometheusRule differs from the rules file"
dash = get(multi, "ConfigMap", "weaver-dashboards")["data"]
files = {os.path.basename(f): open(f).read() for f in glob.glob(f"{src}/monitoring/grafana/dashboards/*.json")}
assert dash == files, f"dashboards ConfigMap {sorted(dash)} vs {sorted(files)}"
# PostgreSQL: storage and query are Deployments with PGPASSWORD from the secret.
for name in ("weaver-storage", "weaver-query"):
    c = get(pg, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c.get("env", [])}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "weaver-postgres", env
assert get(pg, "Deployment", "weaver-query")["spec"]["replicas"] == 2
print("rendered: default", kinds(default), "| multi-card", kinds(multi))
PY

# --- every rendered configuration passes `weaver check` (container paths
# mapped to this checkout; the example's xclbin stands in as an empty file)
mkdir -p "$WORK/xclbin"
: > "$WORK/xclbin/weaver.xclbin"
localize() {  # FILE: container paths -> local paths, in place
  sed -i -e "s#/usr/share/weaver/vtest.avi#$WEAVER_SAMPLE_VIDEO#" \
         -e "s#/usr/share/weaver/models/#$src/tools/data/models/#" \
         -e "s#/var/lib/weaver/data/#$WORK/data/#" \
         -e "s#/var/lib/weaver/tracker/#$WORK/tracker-state/#" \
         -e "s#/opt/weaver/xclbin/#$WORK/xclbin/#" \
         -e "s#/etc/weaver-keys/#$WORK/keys/#" "$1"
}
# Edge configurations are checked with the edge container's environment
# (the rendered Secret's values, localized too), every other one without it.
n=0
for set in default multi pg sec ext; do
  localize "$WORK/$set-env"
  mapfile -t camenv < "$WORK/$set-env"
  for f in "$WORK/$set-config"/*.yaml; do
    localize "$f"
    case "$(basename "$f")" in edge-*) e=("${camenv[@]}") ;; *) e=() ;; esac
    env "${e[@]}" "$WEAVER" check -c "$f" > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; fail "weaver check $f"; }
    n=$((n + 1))
  done
done
echo "weaver check: $n rendered configurations"
# ... and an edge configuration without its Secret's variables is refused,
# naming the camera's source and the variable.
if "$WEAVER" check -c "$WORK/sec-config/edge-1.yaml" > "$WORK/check.log" 2>&1; then
  fail "edge-1.yaml passed without WEAVER_CAMERA_7_SOURCE"
fi
grep -q "cameras\[0\].source.*WEAVER_CAMERA_7_SOURCE" "$WORK/check.log" || { cat "$WORK/check.log"; fail "unset variable not named"; }

# --- values the chart must refuse, each with a message naming the value
refuse() {  # EXPECTED-MESSAGE VALUES-YAML
  printf '%s\n' "$2" > "$WORK/bad.yaml"
  if render -f "$WORK/bad.yaml" -o "$WORK/bad.out" 2> "$WORK/bad.err"; then
    fail "the chart accepted: $2"
  fi
  grep -q -- "$1" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "expected '$1' for: $2"; }
}
refuse "cameras\[0\].edge: 3 is not an edge pod" 'cameras: [{id: 1, source: /x.avi, edge: 3}]'
refuse "virtual camera of camera 1 must be on camera 1's edge pod" \
  $'edge: {replicas: 2}\ncameras: [{id: 1, source: /x.avi, edge: 0}, {id: 2, source: "camera:1", edge: 1}]'
refuse "tracker.shards: 2 must be between 1 and edge.replicas" 'tracker: {placement: shards, shards: 2}'
refuse "tracker.placement: nowhere (known: edge, shards)" 'tracker: {placement: nowhere}'

# --- edge.liveView: off by default (the edge pods run no gateway, open no
# HTTP port, need no token); on, each edge pod adds the gateway role for its
# cameras' live pictures, on its own port, with the gateway's token and the
# frame rate given, and `weaver check` takes its configuration.
refuse "edge.liveView.enabled: needs gateway.enabled" 'edge: {liveView: {enabled: true}}'
printf 'gateway: {enabled: true}\nedge: {liveView: {enabled: true, port: 8090, fps: 1.5}}\nnetworkPolicy: {gatewayFrom: [{podSelector: {matchLabels: {app: shop}}}]}\n' \
  > "$WORK/live-values.yaml"
render -f "$WORK/live-values.yaml" --dump-values "$WORK/live.json" -o "$WORK/live.yaml" || fail "render edge.liveView"
validate --values-schema "$chart/values.schema.json" --values "$WORK/live.json" \
  --write-configmap "weaver-config=$WORK/live-config" "$WORK/live.yaml" > /dev/null || fail "edge.liveView values"
python3 - "$WORK" <<'PY' || fail "edge.liveView"
import sys, yaml
work = sys.argv[1]
load = lambda f: [d for d in yaml.safe_load_all(open(f)) if d]
def edge(docs):
    d = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "weaver-edge")
    return d["spec"]["template"]["spec"]["containers"][0]
def policy(docs):
    return next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "weaver-edge")["spec"]["ingress"]
off, on = load(f"{work}/default.yaml"), load(f"{work}/live.yaml")
c = edge(off)
assert "gateway" not in c["args"][0] and "--role camera,detector,tracker" in c["args"][0], c["args"]
assert [p["name"] for p in c["ports"]] == ["http-metrics"], c["ports"]
assert not any(e["name"] == "WEAVER_GATEWAY_TOKEN" for e in c.get("env", []))
assert "gateway" not in yaml.safe_load(open(f"{work}/default-config/edge-0.yaml"))
assert not any(p["port"] == "live" for r in policy(off) for p in r["ports"])
c = edge(on)
assert c["args"][0].endswith("--role camera,detector,tracker,gateway"), c["args"]
assert {"name": "live", "containerPort": 8090, "protocol": "TCP"} in c["ports"], c["ports"]
token = next(e for e in c["env"] if e["name"] == "WEAVER_GATEWAY_TOKEN")["valueFrom"]["secretKeyRef"]
assert token == {"name": "weaver-gateway", "key": "token"}, token
gw = yaml.safe_load(open(f"{work}/live-config/edge-0.yaml"))
assert gw["gateway"] == {"port": 8090, "bind": "0.0.0.0", "token_env": "WEAVER_GATEWAY_TOKEN", "snapshots": True,
                         "snapshot_fps": 1.5}, gw["gateway"]
assert "query" not in gw["mesh"]["endpoints"], gw["mesh"]  # pictures only: queries answer 503 there
live = [r for r in policy(on) if any(p["port"] == "live" for p in r["ports"])]
assert live and live[0]["from"] == [{"podSelector": {"matchLabels": {"app": "shop"}}}], live
print("edge.liveView: off by default; on: gateway role, port 8090, the gateway's token, 1.5 fps, network policy")
PY
mapfile -t camenv < "$WORK/default-env"
localize "$WORK/live-config/edge-0.yaml"
env "${camenv[@]}" WEAVER_GATEWAY_TOKEN=live-token-0123456789abcdef "$WEAVER" check -c "$WORK/live-config/edge-0.yaml" \
  > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; fail "weaver check: edge.liveView's edge-0.yaml"; }
# --- edge.liveFrames: off by default (no process's configuration sends
# pictures over the mesh); on, the edge pods' trackers send them at the
# rate and width given and `weaver check` takes that configuration; refused
# without the tracker at the edge or without what keeps and shows them.
refuse "edge.liveFrames.enabled: needs query.enabled and gateway.enabled" \
  'edge: {liveFrames: {enabled: true}}'
refuse "edge.liveFrames.enabled: needs tracker.placement edge" \
  $'gateway: {enabled: true}\nedge: {liveFrames: {enabled: true}}\ntracker: {placement: shards, shards: 1}'
printf 'gateway: {enabled: true}\nedge: {liveFrames: {enabled: true, fps: 0.5, width: 480}}\n' > "$WORK/frames-values.yaml"
render -f "$WORK/frames-values.yaml" --dump-values "$WORK/frames.json" -o "$WORK/frames.yaml" \
  || fail "render edge.liveFrames"
validate --values-schema "$chart/values.schema.json" --values "$WORK/frames.json" \
  --write-configmap "weaver-config=$WORK/frames-config" "$WORK/frames.yaml" > /dev/null || fail "edge.liveFrames values"
python3 - "$WORK" <<'PY' || fail "edge.liveFrames"
import glob, os, sys, yaml
work = sys.argv[1]
for f in glob.glob(f"{work}/default-config/*.yaml"):
    mesh = yaml.safe_load(open(f)).get("mesh", {})
    assert not any(k.startswith("live_") for k in mesh), (f, mesh)
for f in glob.glob(f"{work}/frames-config/*.yaml"):
    mesh = yaml.safe_load(open(f)).get("mesh", {})
    if os.path.basename(f).startswith("edge-"):
        assert mesh["live_fps"] == 0.5 and mesh["live_width"] == 480, (f, mesh)
    else:
        assert not any(k.startswith("live_") for k in mesh), (f, mesh)
print("edge.liveFrames: off by default; on: the edge pods' trackers send pictures at 0.5 fps, 480 px")
PY
# With PostgreSQL too: the pictures are rows of the store (no folder beside it).
printf 'gateway: {enabled: true}\nstorage: {kind: postgresql, postgresql: {host: pg, password: pw}}\nedge: {liveFrames: {enabled: true}}\n' \
  > "$WORK/frames-pg-values.yaml"
render -f "$WORK/frames-pg-values.yaml" -o "$WORK/frames-pg.yaml" || fail "render edge.liveFrames with PostgreSQL storage"
grep -q 'live_fps' "$WORK/frames-pg.yaml" || fail "edge.liveFrames with PostgreSQL: no mesh.live_fps rendered"
localize "$WORK/frames-config/edge-0.yaml"
env "${camenv[@]}" "$WEAVER" check -c "$WORK/frames-config/edge-0.yaml" > "$WORK/check.log" 2>&1 \
  || { cat "$WORK/check.log"; fail "weaver check: edge.liveFrames's edge-0.yaml"; }
refuse "edge pod 1 has no camera" 'edge: {replicas: 2}'
refuse "storage.postgresql.host: required" 'storage: {kind: postgresql}'
refuse "duplicate camera id 1" 'cameras: [{id: 1, source: /x.avi}, {id: 1, source: /y.avi}]'
refuse "cameras\[1\].source: required (or keep it in cameraSecret.existingSecret under WEAVER_CAMERA_2_SOURCE)" \
  'cameras: [{id: 1, source: /x.avi}, {id: 2}]'
refuse "cameras\[0\].source: with cameraSecret.existingSecret camera 1's source is that Secret's key WEAVER_CAMERA_1_SOURCE" \
  $'cameraSecret: {existingSecret: cams}\ncameras: [{id: 1, source: "rtsp://a:b@cam/x"}]'
refuse "cameras\[0\].source: remote:edge-0: the chart opens every camera" 'cameras: [{id: 1, source: "remote:edge-0"}]'
# CURVE is the default: without the keys Secret the chart refuses to render.
if "$WORK/render_chart" -o "$WORK/bad.out" "$chart" 2> "$WORK/bad.err"; then fail "rendered CURVE links without keys"; fi
grep -q "mesh.keys.existingSecret: required with mesh.security curve" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "no keys: message"; }
# Each pod holds its own secret key(s) and every public key; every process's
# configuration names them; plain links only when chosen, then no keys.
# With the tracker at the edge (the default) the edge pods are known by the
# tracker's key (reid admits it as its upstream) and the detector's keypair
# is not used; with tracker shards (multi-card) the edge pods hold
# detector.key. No tracker object is rendered at the edge; the Services,
# NetworkPolicies and PodDisruptionBudgets follow the placement.
mesh_keys() {  # NAME PLACEMENT
  python3 - "$WORK/$1.yaml" "$WORK/$1-config" "$2" <<'PY'
import glob, os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
at_edge = sys.argv[3] == "edge"
roles = ("tracker", "reid", "storage", "query", "gateway") + (() if at_edge else ("detector",))
pubs = {f"{r}.pub" for r in roles}
edge_key = "tracker.key" if at_edge else "detector.key"
want = {"weaver-edge": {edge_key}, "weaver-tracker": {"tracker.key"}, "weaver-reid": {"reid.key"},
        "weaver-storage": {"storage.key", "query.key"}}
names = lambda kind: {d["metadata"]["name"] for d in docs if d["kind"] == kind}
for kind in ("StatefulSet", "Service", "NetworkPolicy", "PodDisruptionBudget"):
    assert ("weaver-tracker" in names(kind)) != at_edge, (kind, sorted(names(kind)))
    assert "weaver-edge" in names(kind) and ("weaver-reid" in names(kind)) != (kind == "StatefulSet"), (kind, sorted(names(kind)))
upstream = lambda role: next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == f"weaver-{role}")["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
assert upstream("reid") == ("edge" if at_edge else "tracker"), upstream("reid")
assert at_edge or upstream("tracker") == "edge"
for d in docs:
    if d["kind"] not in ("StatefulSet", "Deployment") or d["metadata"]["name"] not in want:
        continue
    spec = d["spec"]["template"]["spec"]
    vol = next(v for v in spec["volumes"] if v["name"] == "mesh-keys")
    assert vol["secret"]["secretName"] == "weaver-mesh-keys", vol
    keys = {i["key"] for i in vol["secret"]["items"]}
    assert keys == want[d["metadata"]["name"]] | pubs, (d["metadata"]["name"], keys)
    for c in spec["containers"]:
        assert {"name": "mesh-keys", "mountPath": "/etc/weaver-keys", "readOnly": True} in c["volumeMounts"], c["name"]
    # The pod hosting the tracker keeps its state file on its own emptyDir.
    hosts = d["metadata"]["name"] == ("weaver-edge" if at_edge else "weaver-tracker")
    assert any(v["name"] == "tracker-state" and v["emptyDir"] == {} for v in spec["volumes"]) == hosts, d["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert (mounts.get("tracker-state") == "/var/lib/weaver/tracker") == hosts, (d["metadata"]["name"], mounts)
    if d["metadata"]["name"] == "weaver-edge":
        role = spec["containers"][0]["args"][0].split("--role ")[1]
        assert role == ("camera,detector,tracker" if at_edge else "camera,detector"), role
files = glob.glob(sys.argv[2] + "/*.yaml")
assert any(os.path.basename(f).startswith("tracker-") for f in files) != at_edge, files
for f in files:
    cfg = yaml.safe_load(open(f))
    mesh = cfg["mesh"]
    base = os.path.basename(f).split("-")[0].replace(".yaml", "")   # edge-0.yaml -> edge (localized above)
    own = {"edge": edge_key[:-4]}.get(base, base) + ".key"
    assert "security" not in mesh and os.path.basename(mesh["keys"]["secret"]) == own, (f, mesh)
    assert set(mesh["keys"]["public"]) == {p[:-4] for p in pubs}, (f, mesh)
    eps = set(mesh["endpoints"])
    state = cfg.get("tracker", {}).get("state_file", "")
    if base == "edge":
        assert eps == ({"reid"} if at_edge else {"tracker"}), (f, eps)
    if base == "tracker" or (base == "edge" and at_edge):
        assert os.path.basename(state) == os.path.basename(f).replace(".yaml", ".json"), (f, state)
    else:
        assert not state, (f, state)
print(f"mesh keys ({sys.argv[3]}): edge pods hold {edge_key}, public keys {sorted(pubs)}")
PY
}
mesh_keys default edge || fail "mesh keys in the rendered chart (tracker at the edge)"
mesh_keys multi shards || fail "mesh keys in the rendered chart (tracker shards)"
printf 'mesh: {security: plain}\n' > "$WORK/plain.yaml"
"$WORK/render_chart" -f "$WORK/plain.yaml" -o "$WORK/plain.out" "$chart" || fail "render plain links"
grep -q "mesh-keys" "$WORK/plain.out" && fail "plain links still mount keys"
grep -q "security: plain" "$WORK/plain.out" || fail "plain links not said in the configurations"
# ... and the schema refuses what the templates would let through.
schema_refuses() {  # VALUES-YAML EXPECTED-MESSAGE...
  printf '%s\n' "$1" > "$WORK/bad.yaml"
  shift
  render -f "$WORK/bad.yaml" --dump-values "$WORK/bad.json" -o /dev/null 2> /dev/null || true
  if validate --values-schema "$chart/values.schema.json" --values "$WORK/bad.json" > /dev/null 2> "$WORK/schema.err"; then
    fail "values.schema.json accepted invalid values"
  fi
  for want in "$@"; do
    grep -q -- "$want" "$WORK/schema.err" || { cat "$WORK/schema.err"; fail "schema: expected '$want'"; }
  done
}
schema_refuses $'edge: {replicas: "two"}\nimagee: {}\ncameras: [{id: 1, source: /x.avi, fps: -1}, {id: 2}]' \
  "/edge/replicas: must be integer" "must NOT have additional properties 'imagee'" "/cameras/0/fps: must be >= 0" \
  "/cameras/1: must have required property 'source'"
# With the user's Secret, a source in values is only camera:N.
schema_refuses $'cameraSecret: {existingSecret: cams}\ncameras: [{id: 1}, {id: 2, source: "rtsp://a:b@cam/x"}]' \
  '/cameras/1/source: must match pattern "^camera:'
# ... and the validator catches a field Kubernetes does not know.
sed 's/^\(        - name: edge\)$/\1\n          imagePulPolicy: Always/' "$WORK/default.yaml" > "$WORK/typo.yaml"
if node "$validate" "$WORK/typo.yaml" > /dev/null 2> "$WORK/typo.err"; then fail "unknown field not reported"; fi
grep -q "containers/0/imagePulPolicy: unknown field" "$WORK/typo.err" || { cat "$WORK/typo.err"; fail "typo"; }

# --- the rendered mesh, run: two edge pods, reid, storage and query, with
# the pods' own commands; the tracker in the edge pods (the default), then
# in two tracker shards. Both must store what one process stores.
mkdir -p "$WORK/bin"
ln -s "$WEAVER" "$WORK/bin/weaver"
run_mesh() {  # NAME TRACKER-VALUES EXPECTED-PROCESSES
local mesh=$1 m=$WORK/$1   # (not "name": the pod loop below sets it)
cat > "$m-values.yaml" <<YAML
config:
  realtime: false
  detector: {kind: motion}
  query: {transitions: [[1, 2], [2, 4]], every_camera: [1, 2, 4]}
cameras:
  - {id: 1, name: left, zone: shoes, source: /usr/share/weaver/vtest.avi, crop: [0, 0, 256, 576], fps: 10, edge: 0}
  - {id: 2, name: middle, zone: jewelry, source: "camera:1", crop: [256, 0, 256, 576], fps: 10, edge: 0}
  - {id: 4, name: whole, zone: hall, source: /usr/share/weaver/vtest.avi, fps: 10, edge: 1}
edge: {replicas: 2}
$2
YAML
render -f "$m-values.yaml" --namespace shop -o "$m.yaml" || fail "render $mesh values"
validate --write-configmap "weaver-config=$m-config" "$m.yaml" > /dev/null || fail "$mesh values"
# Pod commands as rendered (one line per pod: name<TAB>shell command), each
# container's Secret environment as the rendered Secrets give it (env/NAME,
# VAR=value lines), and each configuration with cluster names and bound
# ports mapped to loopback.
mkdir -p "$m-env"
python3 - "$m" <<'PY' > "$m-pods.tsv" || fail "$mesh plan"
import base64, re, socket, sys, yaml
m = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{m}.yaml")) if d]
secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
ports = {}
def local(host, port):
    if (host, port) not in ports:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); ports[(host, port)] = s.getsockname()[1]; s.close()
    return ports[(host, port)]
svc = lambda role: f"weaver-{role}.shop.svc.cluster.local"
own = {"reid.yaml": svc("reid"), "storage.yaml": svc("storage"), "query.yaml": svc("query")}
for d in docs:
    if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "weaver-tracker":
        for i in range(d["spec"]["replicas"]):
            own[f"tracker-{i}.yaml"] = f"weaver-tracker-{i}.weaver-tracker.shop.svc.cluster.local"
import os
for f in sorted(os.listdir(f"{m}-config")):
    path = f"{m}-config/{f}"
    cfg = yaml.safe_load(open(path))
    for role, ep in cfg["mesh"]["endpoints"].items():
        host, port = re.fullmatch(r"tcp://([^:]+):([0-9]+)", ep).groups()
        if host == "0.0.0.0":
            host = own[f]          # a role binds its own Service's (or pod's) name
        cfg["mesh"]["endpoints"][role] = f"tcp://127.0.0.1:{local(host, port)}"
    cfg["metrics"]["port"] = 0
    yaml.safe_dump(cfg, open(path, "w"), sort_keys=False)
# Pods: StatefulSet pod N has HOSTNAME <name>-N.
for d in docs:
    if d["kind"] not in ("StatefulSet", "Deployment"):
        continue
    n = d["spec"]["replicas"] if d["kind"] == "StatefulSet" else 1
    for i in range(n):
        for c in d["spec"]["template"]["spec"]["containers"]:
            assert c["command"] == ["/bin/sh", "-c"], c["command"]
            name = f"{d['metadata']['name']}-{i}/{c['name']}"
            print(f"{name}\t{d['metadata']['name']}-{i}\t{c['args'][0]}")
            with open(f"{m}-env/{name.replace('/', '_')}", "w") as out:
                for e in c.get("env", []):
                    ref = e["valueFrom"]["secretKeyRef"]
                    value = base64.b64decode(secrets[ref["name"]]["data"][ref["key"]]).decode()
                    print(f"{e['name']}={value}", file=out)
PY
for f in "$m"-config/*.yaml "$m"-env/*; do localize "$f"; done
grep -q "^WEAVER_CAMERA_4_SOURCE=$WEAVER_SAMPLE_VIDEO\$" "$m-env/weaver-edge-1_edge" || fail "edge pod 1 lacks camera 4's source"
rm -rf "$WORK/data" "$WORK/tracker-state" "$WORK"/weaver-*.log
mkdir -p "$WORK/data" "$WORK/tracker-state"
LOGS="$WORK/weaver-*.log"
unset pid
declare -gA pid=()
while IFS=$'\t' read -r name host cmd; do
  # The pod's shell command, with the config folder mapped and the test's flags.
  cmd=${cmd//\/etc\/weaver\//$m-config/}
  case "$name" in
    *edge-*) cmd="$cmd --max-frames 60" ;;
    *storage-0/storage) cmd="$cmd --reset --summary $WORK/storage.json" ;;
  esac
  mapfile -t e < "$m-env/${name//\//_}"
  env "${e[@]}" HOSTNAME=$host PATH="$WORK/bin:$PATH" /bin/sh -c "$cmd -q" 2> "$WORK/${name//\//_}.log" &
  pid[$name]=$!
done < "$m-pods.tsv"
[ "${#pid[@]}" = "$3" ] || fail "$mesh: expected $3 processes, got ${#pid[@]}: ${!pid[*]}"
local procs=(weaver-edge-0/edge weaver-edge-1/edge weaver-reid-0/reid weaver-storage-0/storage)
[ "$3" = 5 ] || procs+=(weaver-tracker-0/tracker weaver-tracker-1/tracker)
finish "${procs[@]}"
kill -0 "${pid[weaver-storage-0/query]}" 2>/dev/null || { cat "$WORK"/weaver-storage-0_query.log; fail "query container exited"; }
kill "${pid[weaver-storage-0/query]}"; wait "${pid[weaver-storage-0/query]}" || true

grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "$mesh: storage rejected messages"

# The same cameras in one process must leave the same rows (the mesh is
# deterministic when not real time), and both edges must have contributed.
# Storage knows every camera but not its source: the edge pods' entries
# (with the edge environment) stand in.
python3 - "$WORK" "$m" <<'PY' || fail "single-process configuration"
import glob, sys, yaml
work, m = sys.argv[1], sys.argv[2]
cfg = yaml.safe_load(open(f"{m}-config/storage.yaml"))
edges = [yaml.safe_load(open(f)) for f in sorted(glob.glob(f"{m}-config/edge-*.yaml"))]
opened = {c["id"]: c for e in edges for c in e["cameras"]}
for c in cfg["cameras"]:
    assert c["source"].startswith("remote:edge-"), c
    assert {k: v for k, v in c.items() if k != "source"} == {k: v for k, v in opened[c["id"]].items() if k != "source"}, c
cfg["cameras"] = [opened[c["id"]] for c in cfg["cameras"]]
cfg["detector"], cfg["cards"] = edges[0]["detector"], edges[0]["cards"]
cfg["storage"]["path"] = f"{work}/single.db"
del cfg["mesh"]
yaml.safe_dump(cfg, open(f"{work}/single.yaml", "w"), sort_keys=False)
PY
mapfile -t e < "$m-env/weaver-edge-0_edge"
env "${e[@]}" "$WEAVER" run -c "$WORK/single.yaml" --reset --max-frames 60 -q 2> "$WORK/single.log" \
  || { cat "$WORK/single.log"; fail "single-process run"; }
dump_rows "$WORK/single.db" > "$WORK/single.rows"
dump_rows "$WORK/data/weaver.db" > "$m.rows"
rows=$(wc -l < "$m.rows")
[ "$rows" -gt 0 ] || fail "no people_present rows from the rendered $mesh mesh"
diff "$WORK/single.rows" "$m.rows" || fail "the rendered $mesh mesh's rows differ from one process's"
cams=$(cut -d'|' -f2 "$m.rows" | sort -un | tr '\n' ' ')
grep -q '|4|' "$m.rows" || fail "$mesh: no rows from edge pod 1 (camera 4): cameras $cams"
grep -qE '\|(1|2)\|' "$m.rows" || fail "$mesh: no rows from edge pod 0 (cameras 1, 2): cameras $cams"
# The tracker's state file, in the pod that hosts the tracker.
local states
states=$(cd "$WORK/tracker-state" && ls | tr '\n' ' ')
echo "$mesh mesh: ${#pid[@]} processes stored the same $rows rows as one process (cameras $cams); tracker state files: $states"
}
run_mesh mesh-edge "" 5
# The tracker beside the cameras cuts evidence crops; they reach the storage pod over the mesh.
[ "$(sqlite3 "$WORK/data/weaver.db" "SELECT count(*) FROM evidence_crops" 2>/dev/null || echo 0)" -gt 0 ] \
  || fail "tracker at the edge: no evidence crops in the storage pod's store"
[ "$(cd "$WORK/tracker-state" && ls)" = "$(printf 'edge-0.json\nedge-1.json')" ] \
  || fail "tracker at the edge: state files $(ls "$WORK/tracker-state")"
run_mesh mesh-shards "tracker: {placement: shards, shards: 2}" 7
[ "$(cd "$WORK/tracker-state" && ls)" = "$(printf 'tracker-0.json\ntracker-1.json')" ] \
  || fail "tracker shards: state files $(ls "$WORK/tracker-state")"
diff "$WORK/mesh-edge.rows" "$WORK/mesh-shards.rows" || fail "the tracker's placement changed the rows"
echo "helm_chart: default, multi-card, postgresql, camera-secret and existingSecret render and validate, camera sources only in the Secret; the rendered 2-edge mesh with the tracker in the edge pods (default) and with 2 tracker shards stored the same $(wc -l < "$WORK/mesh-edge.rows") rows as one process"
