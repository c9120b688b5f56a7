#!/bin/sh
# Puts a bench host back to "blank" after any of the three tools (DockerHostStorage, the playbook,
# converge.sh): no volume, no mount or fstab line, no drop-in, daemon.json as the image has it, and
# Docker running on the root filesystem with a fresh data root, as a real host would be before
# its first converge. Destroys the volume and every Docker file: bench hosts only.
#
#   ssh root@host sh -s -- <pool> <volume> < bench/recipe/reset.sh
#
# Prints "reset ok"; on failure, the reason on stderr and a non-zero exit.
set -eu
export LC_ALL=C

data_root=/var/lib/docker
tmp=""
trap 'rm -f "$tmp"' EXIT

fail() {
    echo "reset: $*" >&2
    exit 1
}

# Retries a command that fails while udev or a just-stopped process still holds the device.
retry() {
    i=0
    until "$@" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 10 ] || { "$@" || fail "$* kept failing"; return 0; }
        udevadm settle --timeout=10 2>/dev/null || true
        sleep 1
    done
}

main() {
    [ "$#" -eq 2 ] || fail "usage: ssh host sh -s -- <pool> <volume> < reset.sh"
    dataset=$1/$2

    # The socket too: left active, the next client would start the daemon again.
    systemctl stop docker.socket docker.service
    while mountpoint -q "$data_root"; do retry umount "$data_root"; done

    # fstab without any line for the data root, nor the marker comment DockerHostStorage puts above its own.
    tmp=$(mktemp /etc/fstab.bench.XXXXXX)
    awk -v mount_point="$data_root" -v marker="# managed by pulumi-zfs-docker: $data_root" '
        index($0, marker) == 1 { next }
        $1 !~ /^#/ && $2 == mount_point { next }
        { print }' /etc/fstab >"$tmp"
    if cmp -s "$tmp" /etc/fstab; then
        rm -f "$tmp"
    else
        chmod 644 "$tmp"
        mv -f "$tmp" /etc/fstab
    fi
    tmp=""

    rm -f /etc/systemd/system/docker.service.d/bench-storage.conf /etc/systemd/system/docker.service.d/pulumi-zfs-docker.conf
    rmdir /etc/systemd/system/docker.service.d 2>/dev/null || true
    systemctl daemon-reload

    if zfs list -H -o name "$dataset" >/dev/null 2>&1; then retry zfs destroy -r "$dataset"; fi

    mkdir -p /etc/docker
    printf '%s\n' '{"log-level": "warn"}' >/etc/docker/daemon.json
    rm -f /etc/docker/daemon.json.pulumi-zfs-docker.bak /etc/fstab.pulumi-zfs-docker.bak*

    rm -rf "$data_root".pre-*
    mkdir -p "$data_root"
    find "$data_root" -mindepth 1 -maxdepth 1 -exec rm -rf {} +

    # A failed start earlier in the run would otherwise hit systemd's start limit.
    systemctl reset-failed docker.socket docker.service 2>/dev/null || true
    systemctl start docker.socket docker.service || fail "Docker did not start: journalctl -u docker.service says why"
    i=0
    until docker info >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 60 ] || fail "Docker started but did not answer within 60 s: journalctl -u docker.service says why"
        sleep 1
    done
    echo "reset ok"
}

# The script arrives on stdin: no command in it may read the rest of it.
main "$@" </dev/null
