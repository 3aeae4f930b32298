#!/usr/bin/env bash
# helm/weaver without helm (not packaged in Debian): tools/render_chart (Go's
# text/template + Sprig + Helm's functions) renders the chart for the default
# values and the examples; tools/k8s_validate checks the values against
# values.schema.json and every object against the Kubernetes schemas (npm's
# kubernetes-models) and against each other; `weaver check` accepts every
# rendered configuration; and the mesh the chart renders for two edge pods
# and two tracker shards runs as local processes (pod commands as rendered,
# cluster DNS names mapped to loopback ports) and stores rows from both edges.
source "$(dirname "$0")/../lib/common.sh"
src="$WEAVER_SOURCE_DIR"
chart="$src/helm/weaver"
validate="$src/tools/k8s_validate/validate.js"
[ -d "$src/tools/k8s_validate/node_modules/kubernetes-models" ] \
  || fail "tools/k8s_validate/node_modules missing (tools/setup.sh runs npm ci there)"

bash "$src/tools/render_chart/build.sh" "$WORK/render_chart" || fail "building render_chart"
[ -z "$(gofmt -l "$src/tools/render_chart")" ] || fail "gofmt: $(gofmt -l "$src/tools/render_chart")"
render() { "$WORK/render_chart" "$@" "$chart"; }

# --- default values, the multi-card example, the PostgreSQL example
render --dump-values "$WORK/default.json" -o "$WORK/default.yaml" || fail "render default values"
node "$validate" --values-schema "$chart/values.schema.json" --values "$WORK/default.json" \
  --write-configmap "weaver-config=$WORK/default-config" "$WORK/default.yaml" || fail "default values"
render -f "$chart/examples/multi-card.yaml" --api-versions monitoring.coreos.com/v1 \
  --dump-values "$WORK/multi.json" -o "$WORK/multi.yaml" || fail "render multi-card"
node "$validate" --values-schema "$chart/values.schema.json" --values "$WORK/multi.json" \
  --write-configmap "weaver-config=$WORK/multi-config" "$WORK/multi.yaml" || fail "multi-card example"
render -f "$chart/examples/postgresql.yaml" --dump-values "$WORK/pg.json" -o "$WORK/pg.yaml" || fail "render postgresql"
node "$validate" --values-schema "$chart/values.schema.json" --values "$WORK/pg.json" \
  --external Secret/weaver-postgres --write-configmap "weaver-config=$WORK/pg-config" "$WORK/pg.yaml" \
  || fail "postgresql example"

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
         -e "s#/opt/weaver/xclbin/#$WORK/xclbin/#" "$1"
}
n=0
for f in "$WORK"/default-config/*.yaml "$WORK"/multi-config/*.yaml "$WORK"/pg-config/*.yaml; do
  localize "$f"
  "$WEAVER" check -c "$f" > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; fail "weaver check $f"; }
  n=$((n + 1))
done
echo "weaver check: $n rendered configurations"

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
refuse "tracker.shards: 2 must be between 1 and edge.replicas" 'tracker: {shards: 2}'
refuse "edge pod 1 has no camera" 'edge: {replicas: 2}'
refuse "storage.postgresql.host: required" 'storage: {kind: postgresql}'
refuse "duplicate camera id 1" 'cameras: [{id: 1, source: /x.avi}, {id: 1, source: /y.avi}]'
# ... and the schema refuses what the templates would let through.
printf 'edge: {replicas: "two"}\nimagee: {}\ncameras: [{id: 1, source: /x.avi, fps: -1}]\n' > "$WORK/bad.yaml"
render -f "$WORK/bad.yaml" --dump-values "$WORK/bad.json" -o /dev/null 2> /dev/null || true
if node "$validate" --values-schema "$chart/values.schema.json" --values "$WORK/bad.json" > /dev/null 2> "$WORK/schema.err"; then
  fail "values.schema.json accepted invalid values"
fi
for want in "/edge/replicas: must be integer" "must NOT have additional properties 'imagee'" "/cameras/0/fps: must be >= 0"; do
  grep -q -- "$want" "$WORK/schema.err" || { cat "$WORK/schema.err"; fail "schema: expected '$want'"; }
done
# ... and the validator catches a field Kubernetes does not know.
sed 's/^\(        - name: edge\)$/\1\n          imagePulPolicy: Always/' "$WORK/default.yaml" > "$WORK/typo.yaml"
if node "$validate" "$WORK/typo.yaml" > /dev/null 2> "$WORK/typo.err"; then fail "unknown field not reported"; fi
grep -q "containers/0/imagePulPolicy: unknown field" "$WORK/typo.err" || { cat "$WORK/typo.err"; fail "typo"; }

# --- the rendered mesh, run: two edge pods, two tracker shards, reid,
# storage and query, with the pods' own commands.
cat > "$WORK/mesh-values.yaml" <<'YAML'
config:
  realtime: false
  detector: {kind: motion}
  query: {transitions: [[1, 2], [2, 4]], every_camera: [1, 2, 4]}
cameras:
  - {id: 1, name: left, zone: shoes, source: /usr/share/weaver/vtest.avi, crop: [0, 0, 256, 576], fps: 10, edge: 0}
  - {id: 2, name: middle, zone: jewelry, source: "camera:1", crop: [256, 0, 256, 576], fps: 10, edge: 0}
  - {id: 4, name: whole, zone: hall, source: /usr/share/weaver/vtest.avi, fps: 10, edge: 1}
edge: {replicas: 2}
tracker: {shards: 2}
YAML
render -f "$WORK/mesh-values.yaml" --namespace shop -o "$WORK/mesh.yaml" || fail "render mesh values"
node "$validate" --write-configmap "weaver-config=$WORK/mesh-config" "$WORK/mesh.yaml" > /dev/null || fail "mesh values"
# Pod commands as rendered (one line per pod: name<TAB>shell command), and
# each configuration with cluster names and bound ports mapped to loopback.
python3 - "$WORK" <<'PY' > "$WORK/pods.tsv" || fail "mesh plan"
import re, socket, sys, yaml
work = sys.argv[1]
docs = [d for d in yaml.safe_load_all(open(f"{work}/mesh.yaml")) if d]
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
for f in sorted(os.listdir(f"{work}/mesh-config")):
    path = f"{work}/mesh-config/{f}"
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
            print(f"{d['metadata']['name']}-{i}/{c['name']}\t{d['metadata']['name']}-{i}\t{c['args'][0]}")
PY
for f in "$WORK"/mesh-config/*.yaml; do localize "$f"; done
mkdir -p "$WORK/data"
mkdir -p "$WORK/bin"
ln -s "$WEAVER" "$WORK/bin/weaver"
LOGS="$WORK/weaver-*.log"
declare -A pid
while IFS=$'\t' read -r name host cmd; do
  # The pod's shell command, with the config folder mapped and the test's flags.
  cmd=${cmd//\/etc\/weaver\//$WORK/mesh-config/}
  case "$name" in
    *edge-*) cmd="$cmd --max-frames 60" ;;
    *storage-0/storage) cmd="$cmd --reset --summary $WORK/storage.json" ;;
  esac
  HOSTNAME=$host PATH="$WORK/bin:$PATH" /bin/sh -c "$cmd -q" 2> "$WORK/${name//\//_}.log" &
  pid[$name]=$!
done < "$WORK/pods.tsv"
[ "${#pid[@]}" = 7 ] || fail "expected 7 processes (2 edge, 2 tracker, reid, storage, query), got ${#pid[@]}"
finish weaver-edge-0/edge weaver-edge-1/edge weaver-tracker-0/tracker weaver-tracker-1/tracker \
       weaver-reid-0/reid weaver-storage-0/storage
kill -0 "${pid[weaver-storage-0/query]}" 2>/dev/null || { cat "$WORK"/weaver-storage-0_query.log; fail "query container exited"; }
kill "${pid[weaver-storage-0/query]}"; wait "${pid[weaver-storage-0/query]}" || true

grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "storage rejected messages"

# The same cameras in one process must leave the same rows (the mesh is
# deterministic when not real time), and both edges must have contributed.
python3 - "$WORK" <<'PY' || fail "single-process configuration"
import sys, yaml
work = sys.argv[1]
cfg = yaml.safe_load(open(f"{work}/mesh-config/storage.yaml"))
edge = yaml.safe_load(open(f"{work}/mesh-config/edge-0.yaml"))
cfg["detector"], cfg["cards"] = edge["detector"], edge["cards"]
cfg["storage"]["path"] = f"{work}/single.db"
del cfg["mesh"]
yaml.safe_dump(cfg, open(f"{work}/single.yaml", "w"), sort_keys=False)
PY
"$WEAVER" run -c "$WORK/single.yaml" --reset --max-frames 60 -q 2> "$WORK/single.log" || { cat "$WORK/single.log"; fail "single-process run"; }
dump_rows "$WORK/single.db" > "$WORK/single.rows"
dump_rows "$WORK/data/weaver.db" > "$WORK/mesh.rows"
rows=$(wc -l < "$WORK/mesh.rows")
[ "$rows" -gt 0 ] || fail "no people_present rows from the rendered mesh"
diff "$WORK/single.rows" "$WORK/mesh.rows" || fail "the rendered mesh's rows differ from one process's"
cams=$(cut -d'|' -f2 "$WORK/mesh.rows" | sort -un | tr '\n' ' ')
grep -q '|4|' "$WORK/mesh.rows" || fail "no rows from edge pod 1 (camera 4, tracker shard 1): cameras $cams"
grep -qE '\|(1|2)\|' "$WORK/mesh.rows" || fail "no rows from edge pod 0 (cameras 1, 2, tracker shard 0): cameras $cams"
echo "helm_chart: default, multi-card and postgresql render and validate; the rendered 2-edge, 2-shard mesh stored the same $rows rows as one process (cameras $cams)"
