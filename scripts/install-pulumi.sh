#!/usr/bin/env bash
# Puts a working `pulumi` CLI and the `pulumi-language-nodejs` language host on PATH.
# The official installer downloads prebuilt binaries, which this machine cannot reach, so we build
# both from Pulumi's published Go modules and cache them outside the repo, keyed by version.
# Usage: eval "$(scripts/install-pulumi.sh --print-path)"  (or run it to build, then add the printed dir to PATH)
set -euo pipefail

PULUMI_CLI_VERSION="${PULUMI_CLI_VERSION:-v3.258.0}"
# The language host left the sdk/v3 module after v3.68.0; its own module is not served by the proxy.
PULUMI_LANGUAGE_HOST_SDK_VERSION="${PULUMI_LANGUAGE_HOST_SDK_VERSION:-v3.68.0}"
CACHE_ROOT="${PULUMI_ZFS_DOCKER_CACHE:-$HOME/.cache/pulumi-zfs-docker}"
BIN_DIR="$CACHE_ROOT/pulumi/$PULUMI_CLI_VERSION-lang-$PULUMI_LANGUAGE_HOST_SDK_VERSION/bin"

print_path_only=false
[ "${1:-}" = "--print-path" ] && print_path_only=true

log() { echo "install-pulumi: $*" >&2; }

have_working_install() {
  [ -x "$BIN_DIR/pulumi" ] && [ -x "$BIN_DIR/pulumi-language-nodejs" ] && "$BIN_DIR/pulumi" version >/dev/null 2>&1
}

build_go_command() { # module-dir go.mod-require-lines import-path output ldflags
  local dir="$1" requires="$2" import_path="$3" output="$4" ldflags="$5" replaces="${6:-}"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module local/build

go 1.22

require (
$requires
)
$replaces
GOMOD
  cat >"$dir/tools.go" <<GO
//go:build pulumi_zfs_docker_tools

package tools

import _ "$import_path"
GO
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
   cd "$dir" && GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$output" "$import_path")
}

if ! have_working_install; then
  # Two installs at once (the README's two commands in two shells) would build into the same
  # temporary files: the second waits here, then finds the first one's build.
  mkdir -p "$CACHE_ROOT/pulumi"
  exec 9>"$CACHE_ROOT/pulumi/.build.lock"
  flock 9
fi
if ! have_working_install; then
  if command -v pulumi >/dev/null 2>&1 && command -v pulumi-language-nodejs >/dev/null 2>&1 && [ -z "${PULUMI_FORCE_BUILD:-}" ]; then
    BIN_DIR="$(dirname "$(command -v pulumi)")"
    log "reusing the installed pulumi in $BIN_DIR"
  else
    command -v go >/dev/null 2>&1 || { log "Go is needed to build the Pulumi CLI (no prebuilt download is reachable here)"; exit 1; }
    started=$(date +%s)
    work="$CACHE_ROOT/pulumi/build"
    mkdir -p "$BIN_DIR"
    log "building pulumi $PULUMI_CLI_VERSION from Go modules (a few minutes with a cold module cache)"
    build_go_command "$work/cli" "	github.com/pulumi/pulumi/pkg/v3 $PULUMI_CLI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$BIN_DIR/pulumi.tmp" \
      "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION" \
      "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
    log "building pulumi-language-nodejs from sdk/v3 $PULUMI_LANGUAGE_HOST_SDK_VERSION"
    build_go_command "$work/lang" "	github.com/pulumi/pulumi/sdk/v3 $PULUMI_LANGUAGE_HOST_SDK_VERSION" \
      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$BIN_DIR/pulumi-language-nodejs.tmp" \
      "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_LANGUAGE_HOST_SDK_VERSION"
    mv "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi"
    mv "$BIN_DIR/pulumi-language-nodejs.tmp" "$BIN_DIR/pulumi-language-nodejs"
    log "built in $(( $(date +%s) - started ))s into $BIN_DIR"
  fi
fi

# The dynamic-provider plugin, where the CLI looks for its bundled plugins (beside the binary), so it is
# found without a PATH entry (and without "using pulumi-resource-pulumi-nodejs from $PATH" warnings). Like
# the script shipped in @pulumi/pulumi, it runs the dynamic-provider host of the SDK the program installed.
plugin="$BIN_DIR/pulumi-resource-pulumi-nodejs"
plugin_text='#!/bin/sh
script=$(node -e "console.log(require.resolve(\"@pulumi/pulumi/cmd/dynamic-provider\"))") || exit 1
exec node "$script" "$@"'
if [ -w "$BIN_DIR" ] && [ "$(cat "$plugin" 2>/dev/null)" != "$plugin_text" ]; then
  printf '%s\n' "$plugin_text" >"$plugin.tmp" && chmod 755 "$plugin.tmp" && mv "$plugin.tmp" "$plugin"
fi

if $print_path_only; then
  echo "export PATH=\"$BIN_DIR:\$PATH\""
else
  "$BIN_DIR/pulumi" version >&2
  echo "$BIN_DIR"
fi
