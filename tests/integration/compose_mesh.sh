#!/usr/bin/env bash
# deploy/docker-compose.yml without Docker (it cannot run here): the file's
# structure is checked (every role once, each container's address is its
# role's endpoint in deploy/compose/weaver.yaml, Prometheus scrapes every
# role, the mounted files exist), then its Weaver services' own commands run
# as local processes on loopback, on deploy/compose/weaver.yaml with only the
# container paths and addresses rewritten, and must store people_present rows.
source "$(dirname "$0")/../lib/common.sh"
deploy="$WEAVER_SOURCE_DIR/deploy"
FRAMES=60

# Structure, and the plan: one line per Weaver service, "service<TAB>args".
python3 - "$deploy" "$WORK" > "$WORK/plan.tsv" <<'PY' || fail "docker-compose.yml structure"
import os, re, sys, yaml
deploy, work = sys.argv[1], sys.argv[2]
compose = yaml.safe_load(open(f"{deploy}/docker-compose.yml"))
cfg_file = f"{deploy}/compose/weaver.yaml"
cfg = yaml.safe_load(open(cfg_file))
services = compose["services"]
for s in ("postgres", "prometheus", "grafana"):
    assert s in services, f"service {s} missing"
weaver = {n: s for n, s in services.items() if "weaver" in str(s.get("image", ""))}
roles = {}
for name, s in weaver.items():
    cmd = s["command"]
    assert cmd[0] == "node" and "--role" in cmd and "-c" in cmd, f"{name}: command {cmd}"
    assert cmd[cmd.index("-c") + 1] == "/etc/weaver/weaver.yaml", f"{name}: config path"
    mounts = [v for v in s.get("volumes", []) if v.endswith(":/etc/weaver/weaver.yaml:ro")]
    assert mounts and mounts[0].split(":")[0] == "./compose/weaver.yaml", f"{name}: config mount {mounts}"
    for role in cmd[cmd.index("--role") + 1].split(","):
        assert role not in roles, f"role {role} in {name} and {roles[role]}"
        roles[role] = name
    hc = " ".join(s.get("healthcheck", {}).get("test", []))
    assert "/readyz" in hc and "9464" in hc, f"{name}: health check {hc}"
    assert s.get("init") is True, f"{name}: init"
known = {"camera", "detector", "tracker", "reid", "storage", "query"}
assert set(roles) == known, f"roles {sorted(roles)}"
# Each role's container address is the address of its endpoint.
endpoints = cfg["mesh"]["endpoints"]
for role, name in roles.items():
    ip = services[name]["networks"]["mesh"]["ipv4_address"]
    if role in endpoints:
        m = re.fullmatch(r"tcp://([0-9.]+):([0-9]+)", endpoints[role])
        assert m and m.group(1) == ip, f"{role}: endpoint {endpoints[role]} but {name} is at {ip}"
subnet = compose["networks"]["mesh"]["ipam"]["config"][0]["subnet"]
assert subnet.startswith("172.28.5."), subnet
assert cfg["metrics"]["port"] == 9464 and cfg["metrics"]["bind"] == "0.0.0.0"
# Prometheus scrapes every Weaver service by name, with the shipped files.
prom = yaml.safe_load(open(f"{deploy}/../monitoring/prometheus.yml"))
targets = {t for sc in prom["scrape_configs"] if sc["job_name"] == "weaver"
           for st in sc["static_configs"] for t in st["targets"]}
assert targets == {f"{n}:9464" for n in weaver}, f"prometheus targets {sorted(targets)}"
for name in ("prometheus", "grafana"):
    for v in services[name]["volumes"]:
        src = v.split(":")[0]
        if src.startswith("."):
            assert os.path.exists(os.path.join(deploy, src)), f"{name}: {src} does not exist"
# Start order: sinks first (storage, query, reid, tracker, detector), camera last.
order = ["storage", "query", "reid", "tracker", "detector", "camera"]
for role in order:
    name = roles[role]
    cmd = services[name]["command"]
    print(f"{name}\t{' '.join(cmd)}")
PY
[ "$(wc -l < "$WORK/plan.tsv")" = 6 ] || fail "expected six Weaver services"

# The compose configuration with local paths and loopback addresses; a
# finite, deterministic run (no loop, not real time).
python3 - "$deploy/compose/weaver.yaml" "$WORK/weaver.yaml" "$WORK" <<PY || fail "rewriting the compose config"
import re, socket, sys, yaml
src, dst, work = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = yaml.safe_load(open(src))
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
cfg["realtime"] = False
for c in cfg["cameras"]:
    c.pop("loop", None)
    if c["source"] == "/usr/share/weaver/vtest.avi":
        c["source"] = "$WEAVER_SAMPLE_VIDEO"
cfg["detector"]["dnn"]["model"] = cfg["detector"]["dnn"]["model"].replace("/usr/share/weaver/models", "$WEAVER_SOURCE_DIR/tools/data/models")
cfg["storage"]["path"] = f"{work}/data/weaver.db"
cfg["metrics"]["port"] = 0
for role, ep in cfg["mesh"]["endpoints"].items():
    cfg["mesh"]["endpoints"][role] = re.sub(r"tcp://[0-9.]+:[0-9]+", f"tcp://127.0.0.1:{free()}", ep)
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
PY
mkdir -p "$WORK/data"
"$WEAVER" check -c "$WORK/weaver.yaml" > /dev/null || fail "weaver check rejects the compose configuration"

# Run the services' commands; the query node serves until it is stopped.
declare -A pid
while IFS=$'\t' read -r name cmd; do
  read -ra argv <<< "$cmd"
  argv=("${argv[@]/\/etc\/weaver\/weaver.yaml/$WORK/weaver.yaml}")
  extra=(-q)
  [ "$name" = camera ] && extra+=(--max-frames "$FRAMES")
  [ "$name" = storage ] && extra+=(--summary "$WORK/storage.json")
  "$WEAVER" "${argv[@]}" "${extra[@]}" 2> "$WORK/$name.log" &
  echo "$name: $WEAVER ${argv[*]} ${extra[*]}" >> "$WORK/commands.log"
  pid[$name]=$!
done < "$WORK/plan.tsv"

finish camera detector tracker reid storage
kill -0 "${pid[query]}" 2>/dev/null || { cat "$WORK/query.log"; fail "the query node exited"; }
kill "${pid[query]}"; wait "${pid[query]}" || true

rows=$(dump_rows "$WORK/data/weaver.db" | wc -l)
[ "$rows" -gt 0 ] || fail "no people_present rows from the compose mesh"
grep -q '"rejected_messages": 0' "$WORK/storage.json" || fail "storage rejected messages"
echo "compose_mesh: six services as in docker-compose.yml stored $rows people_present rows"
