#!/usr/bin/env bash
# The main job, from a fresh machine: install everything, boot a local test VM, and converge it with
# `pulumi up` (local file backend). Pass --keep to keep the VM and the stack afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
source scripts/env.sh
exec npx ts-node examples/demo/run.ts "$@"
