#!/usr/bin/env bash
# deploy/Dockerfile without Docker (it cannot run here): its build stage runs
# the same scripts as the README's two commands (tools/demo.sh and
# tools/test.sh run tools/setup.sh, then tools/build.sh), its runtime stage is
# a slim Debian 12 with a non-root user that installs only the packages
# deploy/runtime-packages.sh finds for the binary (no -dev package), every
# file it copies exists after setup and build, and its context is filtered.
source "$(dirname "$0")/../lib/common.sh"
src="$WEAVER_SOURCE_DIR"

python3 - "$src" "$WORK" <<'PY' || fail "Dockerfile"
import re, sys, os
src = sys.argv[1]
text = open(f"{src}/deploy/Dockerfile").read()
# Logical lines (continuations joined), comments dropped.
lines = []
for raw in re.sub(r"\\\n\s*", " ", text).splitlines():
    raw = raw.strip()
    if raw and not raw.startswith("#"):
        lines.append(raw)
stages, cur = {}, None
for l in lines:
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", l, re.I)
    if m:
        cur = m.group(2) or f"stage{len(stages)}"
        stages[cur] = {"from": m.group(1), "lines": []}
    elif cur:
        stages[cur]["lines"].append(l)
assert list(stages) == ["build", "runtime"], f"stages {list(stages)}"
assert stages["build"]["from"] == "debian:12", stages["build"]["from"]
assert stages["runtime"]["from"] == "debian:12-slim", stages["runtime"]["from"]
runs = lambda st: [l[4:].strip() for l in stages[st]["lines"] if l.upper().startswith("RUN ")]

# The README's two commands, and the scripts they run in order.
readme = open(f"{src}/README.md").read()
for cmd in ("bash tools/demo.sh", "bash tools/test.sh"):
    assert f"\n{cmd}\n" in readme, f"README no longer shows `{cmd}`"
def script_steps(path):
    steps = []
    for l in open(path):
        m = re.match(r'\s*(?:exec\s+)?bash\s+"\$here/(tools/[a-z_]+\.sh)"', l)
        if m:
            steps.append(m.group(1))
    return steps
for s in ("tools/demo.sh", "tools/test.sh"):
    assert script_steps(f"{src}/{s}")[:2] == ["tools/setup.sh", "tools/build.sh"], f"{s}: {script_steps(f'{src}/{s}')}"
build_steps = [r.split()[1] for r in runs("build") if r.startswith("bash tools/")]
assert build_steps[:2] == ["tools/setup.sh", "tools/build.sh"], f"Dockerfile build stage runs {build_steps}"
assert any("bash tools/setup.sh" == r for r in runs("build")), "setup.sh must run as the README runs it (no arguments)"

# Runtime stage: only what runtime-packages.sh lists, no compilers, non-root.
rt = stages["runtime"]["lines"]
rt_runs = " ".join(runs("runtime"))
assert "runtime-packages.txt" in rt_runs and "--no-install-recommends" in rt_runs, "runtime stage must install runtime-packages.txt"
assert not re.search(r"\b[a-z0-9.+-]+-dev\b|build-essential|cmake|\bg\+\+|\bgcc\b", rt_runs), f"build tools in the runtime stage: {rt_runs}"
assert "rm -rf /var/lib/apt/lists/*" in rt_runs, "apt lists left in the image"
users = [l.split()[1] for l in rt if l.upper().startswith("USER ")]
assert users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]), f"USER {users}: must be a numeric non-root uid"
assert any(l.upper().startswith("ENTRYPOINT") and "weaver" in l for l in rt), "ENTRYPOINT weaver"
# Files copied from the context exist; files copied from the build stage are
# produced by setup.sh / build.sh (checked below by the shell).
for l in rt:
    m = re.match(r"COPY\s+(?!--from)(.+)\s+(\S+)$", l, re.I)
    if m:
        for f in m.group(1).split():
            assert os.path.exists(os.path.join(src, f)), f"COPY {f}: no such file"
with open(sys.argv[2] + "/from_build.txt", "w") as out:
    for l in rt:
        m = re.match(r"COPY\s+--from=build\s+(.+)\s+(\S+)$", l, re.I)
        if m:
            for f in m.group(1).split():
                out.write(f + "\n")
# The build context leaves out what setup and build produce.
ignore = open(f"{src}/deploy/Dockerfile.dockerignore").read().split()
for p in (".git", "build", "tools/data", "**/node_modules"):
    assert p in ignore, f"Dockerfile.dockerignore: {p} missing"
print("Dockerfile: build stage runs", " then ".join(build_steps), "like tools/demo.sh and tools/test.sh")
PY

# Files the runtime stage copies from the build stage: /src/X is the
# repository after setup.sh, /out/weaver the built binary.
while read -r f; do
  case "$f" in
    /src/*) [ -e "$src/${f#/src/}" ] || fail "COPY --from=build $f: not produced by tools/setup.sh" ;;
    /out/weaver|/out/runtime-packages.txt) ;;
    *) fail "COPY --from=build $f: unknown origin" ;;
  esac
done < "$WORK/from_build.txt"

# The runtime package list of the binary as built here: installed, no -dev.
bash "$src/deploy/runtime-packages.sh" "$WEAVER" > "$WORK/packages.txt" || fail "runtime-packages.sh"
[ -s "$WORK/packages.txt" ] || fail "no runtime packages found"
! grep -E -- '-dev$|^build-essential$|^g\+\+|^gcc' "$WORK/packages.txt" || fail "development packages in the runtime list"
while read -r p; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || fail "$p: not an installed package"
done < "$WORK/packages.txt"
grep -qx 'libzmq5' "$WORK/packages.txt" || fail "libzmq5 missing from $(tr '\n' ' ' < "$WORK/packages.txt")"
echo "dockerfile_sync: $(wc -l < "$WORK/packages.txt") runtime packages: $(tr '\n' ' ' < "$WORK/packages.txt")"
