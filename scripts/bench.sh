#!/usr/bin/env bash
# `npm run bench`, from a fresh machine: installs what the suite and the comparison need (Ansible),
# then runs bench/run.ts, which boots test hosts (building the image on first use) and writes bench/results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-bench-deps.sh
source scripts/env.sh
exec npx ts-node bench/run.ts "$@"
