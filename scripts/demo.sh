#!/usr/bin/env bash
# The main job on built-in defaults: installs what is missing, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec scripts/overlaybd demo "$@"
