#!/usr/bin/env bash
# Installs everything Weaver needs on Debian 12 (run as root) and fetches the
# sample video. Idempotent: re-running only installs what is missing.
# Used by the README's two commands, .ci/run and deploy/Dockerfile.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build and runtime dependencies (Debian 12 package names).
PKGS=(build-essential cmake ccache pkg-config git ca-certificates curl
      libcaf-dev cppzmq-dev libzmq3-dev libflatbuffers-dev flatbuffers-compiler
      libopencv-dev prometheus-cpp-dev doctest-dev libxrt-dev
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
      libcli11-dev sqlite3 uuid-dev python3)   # python3, sqlite3: test scripts

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Sample video: vtest.avi from opencv-doc, extracted without installing it.
data="$here/tools/data"
if [ ! -s "$data/vtest.avi" ]; then
  mkdir -p "$data"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download opencv-doc >/dev/null)
  dpkg -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  cp "$tmp/x/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$data/vtest.avi"
  rm -rf "$tmp"
  echo "setup: sample video at $data/vtest.avi"
fi
