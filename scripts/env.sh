# Sourced by the scripts: the Pulumi CLI we build, the dynamic-provider plugin shipped in @pulumi/pulumi,
# and a local file backend, so nothing talks to a Pulumi service.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$(bash "$repo/scripts/install-pulumi.sh" --print-path)"
export PATH="$PATH:$repo/node_modules/@pulumi/pulumi"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
