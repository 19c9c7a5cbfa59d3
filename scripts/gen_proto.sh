#!/usr/bin/env bash
# Regenerates the TypeScript of containerd's API (src/containerd/gen/) from our
# own .proto files (src/containerd/proto/) with buf and protoc-gen-es, both
# pinned and installed from npm into .tools/ when missing.
#
#   scripts/gen_proto.sh             regenerate src/containerd/gen/
#   scripts/gen_proto.sh OUT_DIR     generate into OUT_DIR instead, replacing what it holds (the test compares)
#   scripts/gen_proto.sh --install   only install the tools (scripts/setup.sh does)
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=1.75.0
PROTOC_GEN_ES_VERSION=2.17.0
BUF=.tools/node_modules/@bufbuild/buf/bin/buf
GEN_ES=.tools/node_modules/@bufbuild/protoc-gen-es/bin/protoc-gen-es

version_of() { # package directory → its package.json version, or nothing
  node -p "require('./$1/package.json').version" 2>/dev/null || true
}
if [ "$(version_of .tools/node_modules/@bufbuild/buf)" != "$BUF_VERSION" ] ||
  [ "$(version_of .tools/node_modules/@bufbuild/protoc-gen-es)" != "$PROTOC_GEN_ES_VERSION" ]; then
  echo "gen_proto: installing buf $BUF_VERSION and protoc-gen-es $PROTOC_GEN_ES_VERSION from npm" >&2
  npm install --silent --no-audit --no-fund --prefix .tools \
    "@bufbuild/buf@$BUF_VERSION" "@bufbuild/protoc-gen-es@$PROTOC_GEN_ES_VERSION" >/dev/null 2>&1
fi

[ "${1:-}" = "--install" ] && exit 0

out=${1:-src/containerd/gen}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Generate into a fresh directory and swap it in, so removed .proto files
# leave no stale output behind.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
template=$(printf '{"version":"v2","plugins":[{"local":"%s","out":"%s","opt":["target=ts","import_extension=.ts"]}]}' \
  "$PWD/$GEN_ES" "$tmp")
"$BUF" generate src/containerd/proto --template "$template"
find "$out" -mindepth 1 -delete
cp -R "$tmp/." "$out/"
