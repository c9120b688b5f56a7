# Sourced by the scripts: the Pulumi CLI we build (with the dynamic-provider plugin beside it) and a
# local file backend, so nothing talks to a Pulumi service.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$(bash "$repo/scripts/install-node.sh" --print-path)"
eval "$(bash "$repo/scripts/install-pulumi.sh" --print-path)"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
