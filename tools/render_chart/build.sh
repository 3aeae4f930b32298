#!/usr/bin/env bash
# Builds render_chart offline: GOPATH mode against the Go sources Debian
# installs under /usr/share/gocode (golang-github-masterminds-sprig-dev,
# golang-github-ghodss-yaml-dev and their dependencies). No module proxy, no
# network. Usage: build.sh OUTPUT_BINARY
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUTPUT_BINARY}
command -v go >/dev/null || { echo "build.sh: go missing (Debian package golang-go, tools/setup.sh)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] \
  || { echo "build.sh: Sprig sources missing (golang-github-masterminds-sprig-dev)" >&2; exit 1; }
# main.go imports github.com/Masterminds/sprig (Debian ships Sprig v3 there);
# Sprig's own /v3 imports resolve by GOPATH's minimal module compatibility.
export GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
export GOPATH=/usr/share/gocode
export GOCACHE=${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weaver-go-build}
cd "$here"
go build -trimpath -o "$out" .
