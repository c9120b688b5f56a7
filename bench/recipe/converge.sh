#!/bin/sh
# The benchmark's recipe as one POSIX sh script over one SSH connection: the floor that
# DockerHostStorage and the Ansible playbook are measured against. Same end state as the component,
# except the drop-in's name (bench-storage.conf) and the move-aside suffix (.pre-bench-<time>).
#
#   ssh root@host sh -s -- <pool> <volume> <size, e.g. 8G> < bench/recipe/converge.sh
#
# Idempotent: a second run changes nothing and does not restart Docker. Prints one line,
# changed=0 or changed=1; on failure, the reason on stderr and a non-zero exit.
set -eu
# blkid, findmnt and docker info are parsed below: keep their words English.
export LC_ALL=C

data_root=/var/lib/docker
mount_options=defaults,nofail,x-systemd.requires=zfs-volumes.target,x-systemd.device-timeout=300s
daemon_json=/etc/docker/daemon.json
drop_in_dir=/etc/systemd/system/docker.service.d
drop_in=$drop_in_dir/bench-storage.conf
tmp=""
trap 'rm -f "$tmp"' EXIT

fail() {
    echo "converge: $*" >&2
    exit 1
}

# "8G" -> bytes, as zfs reads it (powers of 1024), to compare with `zfs get -p volsize`.
bytes_of() {
    number=${1%[KkMmGgTt]}
    case $number in '' | *[!0-9]*) return 1 ;; esac
    case ${1#"$number"} in
        '') echo "$number" ;;
        [Kk]) echo $((number * 1024)) ;;
        [Mm]) echo $((number * 1048576)) ;;
        [Gg]) echo $((number * 1073741824)) ;;
        [Tt]) echo $((number * 1099511627776)) ;;
    esac
}

# Replaces a file with stdin in one rename, so no reader (or crash) sees it half written.
write_file() {
    tmp=$(mktemp "$1.bench.XXXXXX")
    cat >"$tmp"
    chmod "$2" "$tmp"
    mv -f "$tmp" "$1"
    tmp=""
}

# daemon.json with the top-level "storage-driver" set to "overlay2", every other byte kept.
# Exit 10: it says overlay2 already. Exit 3: it is not one JSON object. There is no jq or python
# on a bare host, so this scans the JSON itself: strings (with escapes) and nesting depth are
# enough to find the top-level members.
merge_storage_driver() {
    awk -v want='"overlay2"' '
        { doc = doc $0 "\n" }
        END {
            n = length(doc); depth = 0; in_string = 0; escaped = 0; members = 0; capturing = 0
            for (i = 1; i <= n; i++) {
                c = substr(doc, i, 1)
                if (in_string) {
                    if (escaped) escaped = 0
                    else if (c == "\\") escaped = 1
                    else if (c == "\"") { in_string = 0; token = substr(doc, token_start, i - token_start + 1); previous = i }
                    continue
                }
                if (c ~ /[ \t\r\n]/) continue
                if (closed) exit 3
                if (!first) { first = i; if (c != "{") exit 3 }
                if (capturing && !value_start && c != ":") value_start = i
                if (c == "\"") { in_string = 1; token_start = i; if (depth == 1 && !first_key) first_key = i; continue }
                if (c == ":" && depth == 1) { members++; if (token == "\"storage-driver\"" && !value_start) capturing = 1 }
                if (c == "," && depth == 1 && capturing) { value_end = previous; capturing = 0 }
                if (c == "{" || c == "[") depth++
                if (c == "}" || c == "]") {
                    depth--
                    if (depth == 0) { closed = i; last_member_end = previous; if (capturing) { value_end = previous; capturing = 0 } }
                }
                previous = i
            }
            if (!closed || in_string) exit 3
            if (value_start) {
                if (substr(doc, value_start, value_end - value_start + 1) == want) exit 10
                printf "%s%s%s", substr(doc, 1, value_start - 1), want, substr(doc, value_end + 1)
                exit 0
            }
            member = "\"storage-driver\": " want
            if (members == 0) { printf "%s{\n  %s\n}%s", substr(doc, 1, first - 1), member, substr(doc, closed + 1); exit 0 }
            # A new member in the style of the first: on its own line with its indent, or inline.
            line_start = first_key
            while (line_start > 1 && substr(doc, line_start - 1, 1) ~ /[ \t]/) line_start--
            separator = ", "
            if (substr(doc, line_start - 1, 1) == "\n") separator = ",\n" substr(doc, line_start, first_key - line_start)
            printf "%s%s%s%s", substr(doc, 1, last_member_end), separator, member, substr(doc, last_member_end + 1)
        }' "$1"
}

start_docker() {
    systemctl start docker.socket docker.service || fail "Docker did not start: journalctl -u docker.service says why"
    i=0
    until docker info >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 60 ] || fail "Docker started but did not answer within 60 s: journalctl -u docker.service says why"
        sleep 1
    done
}

main() {
    [ "$#" -eq 3 ] || fail "usage: ssh host sh -s -- <pool> <volume> <size, e.g. 8G> < converge.sh"
    dataset=$1/$2
    device=/dev/zvol/$dataset
    want_bytes=$(bytes_of "$3") || fail "size '$3' is not a whole number with an optional K, M, G or T suffix"
    changed=0
    reload_units=0   # fstab or the drop-in changed: systemd must read them again
    restart_docker=0 # daemon.json or the drop-in changed: Docker must start again to use them
    stopped_docker=0

    # The sparse volume.
    if props=$(zfs get -H -p -o property,value type,volsize,compression "$dataset" 2>/dev/null); then
        type="" volsize="" compression=""
        while IFS=$(printf '\t') read -r property value; do
            case $property in
                type) type=$value ;;
                volsize) volsize=$value ;;
                compression) compression=$value ;;
            esac
        done <<EOF
$props
EOF
        [ "$type" = volume ] || fail "$dataset exists and is a $type, not a volume: choose another name"
        [ "$volsize" = "$want_bytes" ] || fail "$dataset is $volsize bytes, not $want_bytes: this script does not resize (run reset.sh first)"
        if [ "$compression" != lz4 ]; then
            zfs set compression=lz4 "$dataset"
            changed=1
        fi
    else
        zfs create -s -V "$want_bytes" -o compression=lz4 "$dataset"
        changed=1
    fi
    if [ ! -e "$device" ]; then
        # udev makes the /dev/zvol link a moment after zfs returns.
        udevadm settle --timeout=60 2>/dev/null || true
        i=0
        while [ ! -e "$device" ]; do
            i=$((i + 1))
            [ "$i" -le 600 ] || fail "$device did not appear within 60 s"
            sleep 0.1
        done
    fi

    # Ext4, made only on a device without any signature: never format one holding data.
    # -p probes the device itself, not blkid's cache; exit 2 means it found nothing.
    if fs_type=$(blkid -p -s TYPE -o value "$device"); then
        [ "$fs_type" = ext4 ] || fail "$device already holds ${fs_type:-a signature that is not a filesystem}; refusing to format it"
    else
        status=$?
        [ "$status" -eq 2 ] || fail "blkid could not read $device (exit $status)"
        # -L docker: the component's label, so both end states match.
        mkfs.ext4 -q -L docker "$device"
        changed=1
    fi
    uuid=$(blkid -p -s UUID -o value "$device")
    [ -n "$uuid" ] || fail "the ext4 on $device has no UUID"

    # fstab: our line replaces the first one for the data root (others for it go) or is appended;
    # every other line is kept as it is.
    tmp=$(mktemp /etc/fstab.bench.XXXXXX)
    awk -v mount_point="$data_root" -v line="UUID=$uuid $data_root ext4 $mount_options 0 2" '
        $1 !~ /^#/ && $2 == mount_point { if (!done) print line; done = 1; next }
        { print }
        END { if (!done) print line }' /etc/fstab >"$tmp"
    if cmp -s "$tmp" /etc/fstab; then
        rm -f "$tmp"
    else
        chmod 644 "$tmp"
        mv -f "$tmp" /etc/fstab
        reload_units=1
        changed=1
    fi
    tmp=""

    # Docker starts only once its data root is mounted.
    if ! printf '[Unit]\nRequiresMountsFor=%s\n' "$data_root" | cmp -s - "$drop_in"; then
        mkdir -p "$drop_in_dir"
        printf '[Unit]\nRequiresMountsFor=%s\n' "$data_root" | write_file "$drop_in" 644
        reload_units=1
        restart_docker=1
        changed=1
    fi

    # daemon.json: storage-driver overlay2, other keys kept.
    mkdir -p "${daemon_json%/*}"
    if [ -s "$daemon_json" ] && grep -q '[^[:space:]]' "$daemon_json"; then
        status=0
        merged=$(mktemp "$daemon_json.bench.XXXXXX")
        merge_storage_driver "$daemon_json" >"$merged" || status=$?
        case $status in
            0) write_file "$daemon_json" 644 <"$merged" ;;
            10) ;;
            *) rm -f "$merged"; fail "$daemon_json is not a JSON object; refusing to rewrite it (fix it by hand)" ;;
        esac
        rm -f "$merged"
        [ "$status" -eq 10 ] || { restart_docker=1; changed=1; }
    else
        printf '{\n  "storage-driver": "overlay2"\n}\n' | write_file "$daemon_json" 644
        restart_docker=1
        changed=1
    fi

    # Before mount: mount(8) warns when fstab is newer than systemd's view of it.
    if [ "$reload_units" -eq 1 ]; then systemctl daemon-reload; fi

    # The mount, with Docker stopped so it never writes under it; what Docker had is moved aside.
    source=$(findmnt -n -o SOURCE --mountpoint "$data_root" | tail -n 1)
    if [ -z "$source" ]; then
        # The socket too: left active, the next client would start the daemon again.
        systemctl stop docker.socket docker.service
        stopped_docker=1
        if [ -n "$(find "$data_root" -mindepth 1 -maxdepth 1 -print 2>/dev/null | head -n 1)" ]; then
            aside=$data_root.pre-bench-$(date +%Y%m%d-%H%M%S)
            mv -T -- "$data_root" "$aside"
            mkdir -- "$data_root"
            chmod --reference="$aside" -- "$data_root"
            chown --reference="$aside" -- "$data_root"
        fi
        mkdir -p "$data_root"
        mount "$data_root"
        changed=1
    elif [ "$source" != "$(readlink -f "$device")" ]; then
        fail "$data_root is mounted from $source, not $device: unmount it first"
    fi

    # Docker (re)started once, only if something it reads changed or it was stopped.
    if [ "$stopped_docker" -eq 1 ] || [ "$restart_docker" -eq 1 ]; then
        if [ "$stopped_docker" -eq 0 ]; then systemctl stop docker.socket docker.service; fi
        start_docker
        changed=1
    elif ! systemctl is-active --quiet docker.service; then
        start_docker
        changed=1
    fi

    want="overlay2|$data_root|extfs"
    got=$(docker info --format '{{.Driver}}|{{.DockerRootDir}}|{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}' 2>/dev/null) || true
    [ "$got" = "$want" ] || fail "Docker runs '$got' (driver|root|backing filesystem), not '$want': journalctl -u docker.service says why"
    echo "changed=$changed"
}

# The script arrives on stdin: no command in it may read the rest of it (mkfs asking "Proceed anyway?").
main "$@" </dev/null
