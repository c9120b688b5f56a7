#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs the fast unit tests
# (seconds) and the suite against real test hosts (qemu VMs with OpenZFS) under the real Pulumi CLI.
# Usage: scripts/test.sh [unit|hosts]   (default: both)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
what="${1:-all}"

log_dir=$(mktemp -d)
bash scripts/install-deps.sh --system || { echo "install-deps failed" >&2; exit 1; }
image_pid=""
if [ "$what" = all ] || [ "$what" = hosts ]; then
  # The image (debootstrap + a DKMS build, ~13 min cold, cached after) needs only the Debian packages:
  # it builds while Node, npm and the Pulumi CLI install and the unit tests run.
  echo "== building the test-host image in the background (first run only; log: $log_dir/image.log)"
  bash test/hosts/build-image.sh >"$log_dir/image.log" 2>&1 &
  image_pid=$!
fi
bash scripts/install-deps.sh || { echo "install-deps failed" >&2; exit 1; }
source scripts/env.sh

passed=0; failed=0; pending=0; status=0
count() { # log file
  local p f s
  p=$(grep -Eo '^ +[0-9]+ passing' "$1" | grep -Eo '[0-9]+' | tail -1); f=$(grep -Eo '^ +[0-9]+ failing' "$1" | grep -Eo '[0-9]+' | tail -1)
  s=$(grep -Eo '^ +[0-9]+ pending' "$1" | grep -Eo '[0-9]+' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); pending=$((pending + ${s:-0}))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  echo "== lint (tsc --noEmit over provider, tests, bench and examples)"
  npm run --silent lint || { echo "lint failed" >&2; status=1; }
  echo "== unit tests"
  npx mocha --forbid-only --forbid-pending 'test/unit/**/*.test.ts' 2>&1 | tee "$log_dir/unit.log"; rc=${PIPESTATUS[0]}
  count "$log_dir/unit.log"; [ "$rc" = 0 ] || status=1
fi
if [ "$what" = all ] || [ "$what" = hosts ]; then
  echo "== real hosts and the real Pulumi CLI (qemu test VMs; first run builds the VM image)"
  wait "$image_pid" || { tail -30 "$log_dir/image.log" >&2; echo "the test-host image could not be built" >&2; exit 1; }
  npx mocha --forbid-only --forbid-pending --require ts-node/register --require test/hosts/fleet.ts --timeout 1800000 \
    test/hosts/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts 2>&1 | tee "$log_dir/hosts.log"; rc=${PIPESTATUS[0]}
  count "$log_dir/hosts.log"; [ "$rc" = 0 ] || status=1
fi
echo "suite time: $(( $(date +%s) - started ))s"
echo "tests: $passed passed, $failed failed"
[ "$pending" = 0 ] || { echo "$pending pending tests: a skipped test is not a pass" >&2; status=1; }
exit $status
