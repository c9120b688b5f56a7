#!/usr/bin/env bash
# Builds, once, the bootable Debian bookworm image our test hosts run: OpenZFS (module built by DKMS
# for the image's kernel at build time), openssh-server with a throwaway key pair, docker.io.
# The result is cached outside the repo under a hash of this recipe, so it is rebuilt only when the
# recipe changes. Prints the image directory on stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${PULUMI_ZFS_DOCKER_CACHE:-$HOME/.cache/pulumi-zfs-docker}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
IMAGE_SIZE=6G
BASE_PACKAGES="linux-image-amd64 linux-headers-amd64 dkms openssh-server sudo systemd-sysv udev kmod iproute2 \
e2fsprogs xfsprogs docker.io apparmor busybox-static psmisc procps util-linux ca-certificates"
ZFS_PACKAGES="zfs-dkms zfsutils-linux"

recipe_hash=$(cat "$0" | sha256sum | cut -c1-16)
out="$CACHE_ROOT/testhost/$recipe_hash"
log() { echo "build-image: $*" >&2; }

if [ -f "$out/ready" ]; then
  echo "$out"; exit 0
fi

for tool in debootstrap mkfs.ext4 ssh-keygen qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || { log "missing $tool: run scripts/install-deps.sh first"; exit 1; }
done
[ "$(id -u)" = 0 ] || { log "building the image needs root (debootstrap, chroot)"; exit 1; }

started=$(date +%s)
work="$CACHE_ROOT/testhost/build-$recipe_hash"
rootfs="$work/rootfs"
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$rootfs/$m" 2>/dev/null && umount -l "$rootfs/$m" || true; done
}
trap cleanup EXIT
rm -rf "$work"; mkdir -p "$rootfs"

log "debootstrap $SUITE (main + contrib)"
debootstrap --variant=minbase --components=main,contrib --include=ca-certificates,gnupg "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

mount -t proc proc "$rootfs/proc"; mount -t sysfs sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"; mount --bind /dev/pts "$rootfs/dev/pts"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main contrib
deb $MIRROR $SUITE-updates main contrib
SRC
in_chroot() { chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

log "installing kernel, sshd, docker"
t=$(date +%s)
in_chroot apt-get update >"$work/apt.log" 2>&1
in_chroot apt-get install -y --no-install-recommends $BASE_PACKAGES >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
log "  took $(( $(date +%s) - t ))s"
log "installing OpenZFS and building its module with DKMS"
t=$(date +%s)
in_chroot apt-get install -y --no-install-recommends $ZFS_PACKAGES >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
kernel=$(ls "$rootfs/lib/modules" | sort -V | tail -1)
find "$rootfs/lib/modules/$kernel" -name 'zfs.ko*' | grep -q . || { log "the zfs module was not built for $kernel"; tail -30 "$work/apt.log" >&2; exit 1; }
log "  took $(( $(date +%s) - t ))s (kernel $kernel)"
in_chroot apt-get clean
rm -f "$rootfs/usr/sbin/policy-rc.d"

log "configuring the guest"
echo testhost >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 testhost\n' >"$rootfs/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$rootfs/etc/fstab"
cat >"$rootfs/etc/systemd/network/80-dhcp.network" <<NET
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
NET
in_chroot systemctl enable systemd-networkd ssh zfs-import-cache zfs-mount zfs-volumes.target zfs.target >/dev/null 2>&1 || true
in_chroot systemctl enable docker >/dev/null 2>&1 || true
# Boot faster under emulation: nothing in the guest needs these.
in_chroot systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-networkd-wait-online.service >/dev/null 2>&1 || true
echo 'root:testhost' | in_chroot chpasswd

# Throwaway credentials: a client key for root and for a sudo user, and the host key tests pin.
mkdir -p "$work/keys"
ssh-keygen -q -t ed25519 -N '' -C pulumi-zfs-docker-test -f "$work/keys/id_ed25519"
install -d -m 700 "$rootfs/root/.ssh"
install -m 600 "$work/keys/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
in_chroot useradd -m -s /bin/bash deployer
echo 'deployer:deployer-pw' | in_chroot chpasswd
install -d -m 700 "$rootfs/home/deployer/.ssh"
install -m 600 "$work/keys/id_ed25519.pub" "$rootfs/home/deployer/.ssh/authorized_keys"
in_chroot chown -R deployer:deployer /home/deployer/.ssh
# One sudo user with a password (no NOPASSWD) so tests cover the stdin password path.
echo 'deployer ALL=(ALL:ALL) ALL' >"$rootfs/etc/sudoers.d/deployer"; chmod 440 "$rootfs/etc/sudoers.d/deployer"
rm -f "$rootfs"/etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -f "$rootfs/etc/ssh/ssh_host_ed25519_key"
cp "$rootfs/etc/ssh/ssh_host_ed25519_key.pub" "$work/keys/host_ed25519_key.pub"
printf 'PasswordAuthentication yes\nUseDNS no\nMaxSessions 64\nMaxStartups 64:30:128\n' >"$rootfs/etc/ssh/sshd_config.d/testhost.conf"

cleanup
mkdir -p "$work/image"
cp "$rootfs/boot/vmlinuz-$kernel" "$work/image/vmlinuz"
cp "$rootfs/boot/initrd.img-$kernel" "$work/image/initrd.img"
cp "$work/keys/"* "$work/image/"
log "writing the disk image"
mkfs.ext4 -q -F -L testroot -d "$rootfs" "$work/image/base.img" "$IMAGE_SIZE"
chmod 600 "$work/image/id_ed25519"

rm -rf "$out"; mv "$work/image" "$out"
echo "kernel=$kernel built_seconds=$(( $(date +%s) - started ))" >"$out/ready"
rm -rf "$work"
log "image ready in $out after $(( $(date +%s) - started ))s"
echo "$out"
