#!/usr/bin/env bash
# Everything a fresh machine needs, from the project's own files: Debian packages for the test hosts,
# npm dependencies, the compiled provider, and the Pulumi CLI (built from Go modules, cached).
# Usage: scripts/install-deps.sh [--system]   (--system: only the Debian packages, so the test-host image
# can start building while the rest installs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES="qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client openssh-server ca-certificates"
missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "install-deps: apt-get install$missing" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "${1:-}" != "--system" ] || exit 0

eval "$(bash scripts/install-node.sh --print-path)"
if [ ! -d node_modules/@pulumi/pulumi ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
fi
node scripts/link-self.js
npm run --silent build

bash scripts/install-pulumi.sh >/dev/null
