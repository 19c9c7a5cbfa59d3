#!/usr/bin/env bash
# Runs the benchmarks of the native core and prints their tables:
#   zfile_decode  ZFile read path vs raw liblz4/libzstd decode of the same blocks
#   lsmt_lookup   merged-index lookups at 1 k and 1 M segments, index memory, segset inserts
# Results are recorded in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
make -s -C native benches
echo "== zfile_decode"
native/build/bench/zfile_decode
echo
echo "== lsmt_lookup"
native/build/bench/lsmt_lookup
