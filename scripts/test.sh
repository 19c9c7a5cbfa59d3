#!/usr/bin/env bash
# Runs the whole test suite: static checks, native unit tests under
# ASan+UBSan, and the Deno tests. Installs what is missing first. Ends with
# one line "N passed, M failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
export PATH="$PWD/.tools/node_modules/@deno/linux-x64-glibc:$PATH"

passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Adds the counts of every summary line in a log: "N passed, M failed" from
# the native tests, "ok | N passed (S steps) | M failed" from deno test.
count() {
  local counts
  counts=$(sed -E 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
    /^(ok|FAILED) \| [0-9]+ passed/ { p += $3; for (i = 1; i <= NF; i++) if ($i == "failed") f += $(i - 1) }
    END { print p + 0, f + 0 }')
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
}

# A step that is pass/fail as a whole.
step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}

step "deno fmt --check" deno fmt --check
step "deno lint" deno lint
step "deno check" deno check main.ts tests/ bench/
step "native build -Wall -Wextra -Werror" make -s -C native

# A runner that exits non-zero without its failures in a summary line (a
# crash, a sanitizer abort, a build error) still counts as one failure.
suite() {
  local name=$1 out=$2
  shift 2
  echo "== $name"
  "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]} before=$failed
  count "$out"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
    echo "FAIL $name (exit $rc)"
    failed=$((failed + 1))
  fi
}

suite "native unit tests and fuzz corpus (ASan + UBSan)" "$log/native" make -s -C native test
suite "deno tests" "$log/deno" deno test --allow-all --quiet --parallel tests/

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
