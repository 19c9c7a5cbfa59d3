#!/usr/bin/env bash
# Installs everything overlaybd needs on a Debian machine (run as root), then
# builds the native core. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
APT_PACKAGES=(
  build-essential pkg-config make
  liblz4-dev libzstd-dev libext2fs-dev libfuse3-dev fuse3 e2fsprogs
  docker-registry apache2-utils fio
  zstd openssl python3
  libisal-dev libssl-dev umoci mariadb-server
  containerd runc busybox-static
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

DENO=.tools/node_modules/@deno/linux-x64-glibc/deno
if ! [ -x "$DENO" ] || [ "$("$DENO" --version | awk 'NR==1{print $2}')" != "$DENO_VERSION" ]; then
  echo "setup: installing deno $DENO_VERSION from npm" >&2
  npm install --silent --no-audit --no-fund --prefix .tools "deno@$DENO_VERSION" >/dev/null 2>&1
fi

bash scripts/gen_proto.sh --install

make -s -C native
"$DENO" install --quiet
