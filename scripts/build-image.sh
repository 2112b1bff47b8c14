#!/usr/bin/env bash
# Builds a real system image for qlaunch's tests and for users who want one:
#   scripts/build-image.sh debian-12 [--force]
# writes build/images/debian-12.qcow2: Debian 12 from Debian's archive (the
# mirror this machine's apt uses, or QLAUNCH_DEBIAN_MIRROR), one MBR partition
# with ext4, BIOS-bootable with GRUB, linux-image-cloud-amd64, systemd,
# cloud-init (NoCloud only), qemu-guest-agent, openssh-server, sysbench. No
# passwords, no ssh host keys, an empty machine-id: each VM gets its own at
# its first boot, and its user and key from qlaunch's [cloud-init] seed.
#
# Needs root (debootstrap, chroot) and the packages of scripts/install-deps.sh
# image. Rebuilt only when its inputs change (this script: the package list,
# the suite, the mirror); with QLAUNCH_IMAGE_CACHE=DIR the image is kept there
# as debian-12-HASH.qcow2 and taken from there, so a clone or a CI run does
# not rebuild it. No loop device is used: the file system is made from a
# directory (mke2fs -d) at the partition's offset. The only mount is /proc
# in the chroot while apt-get installs the packages, undone on every exit.
set -euo pipefail
die() { echo "build-image: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-}
force=0
[ "${2:-}" = --force ] && force=1
case $name in
debian-12) suite=bookworm ;;
'') die "usage: scripts/build-image.sh debian-12 [--force]" ;;
*) die "unknown image '$name' (known: debian-12)" ;;
esac

packages="systemd-sysv linux-image-cloud-amd64 initramfs-tools udev cloud-init cloud-guest-utils qemu-guest-agent openssh-server sysbench ifupdown isc-dhcp-client iproute2 sudo netbase procps dbus locales"
size_mib=2048
part_start=2048   # sectors: the first MiB holds the MBR and GRUB's core.img

mirror=${QLAUNCH_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    # The first archive apt uses for this suite: deb822 or one-line sources.
    mirror=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / '"$suite"'( |$)/ && u != "" { print u; exit }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "'"$suite"'" { print $2; exit }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
case $mirror in
http://* | https://* | file:/*) ;;
*) die "QLAUNCH_DEBIAN_MIRROR '$mirror' is not an http(s):// or file:/ address" ;;
esac

out_dir=$top/build/images
out=$out_dir/$name.qcow2
hash=$( { cat "$0"; echo "$suite $packages $size_mib $mirror"; } | sha256sum | cut -c1-16)
mkdir -p "$out_dir"
if [ $force = 0 ] && [ -f "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null)" = "$hash" ]; then
    echo "build-image: $out is up to date ($hash)"
    exit 0
fi
cache=${QLAUNCH_IMAGE_CACHE:-}
if [ $force = 0 ] && [ -n "$cache" ] && [ -f "$cache/$name-$hash.qcow2" ]; then
    cp "$cache/$name-$hash.qcow2" "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$hash" > "$out.inputs"
    echo "build-image: $out from the cache $cache ($hash)"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    # as install-deps does: through sudo, and the image is the caller's after
    command -v sudo >/dev/null ||
        die "building $name needs root (debootstrap and chroot); run it as root, or set QLAUNCH_IMAGE_CACHE to a folder that has $name-$hash.qcow2"
    echo "build-image: building $name needs root (debootstrap, chroot): running it through sudo" >&2
    exec sudo QLAUNCH_IMAGE_CACHE="$cache" QLAUNCH_DEBIAN_MIRROR="${QLAUNCH_DEBIAN_MIRROR:-}" \
        QLAUNCH_OWNER="$(id -u):$(id -g)" "$0" "$@"
fi
for t in debootstrap mke2fs sfdisk grub-mkimage qemu-img; do
    command -v "$t" >/dev/null || die "$t is missing: run scripts/install-deps.sh image"
done
[ -f /usr/lib/grub/i386-pc/boot.img ] || die "GRUB's i386-pc files are missing: run scripts/install-deps.sh image"

work=$(mktemp -d "$out_dir/.build-$name.XXXXXX")
root=$work/root
cleanup() {
    # /proc first, so removing the tree never walks into the host's.
    if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
    if [ "${QLAUNCH_KEEP_BUILD:-0}" = 1 ]; then echo "build-image: kept $work" >&2; return; fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
log=$work/build.log
echo "build-image: debootstrap $suite from $mirror, then apt-get install in the chroot (a few minutes)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$log" 2>&1 ||
    { tail -20 "$log" >&2; die "debootstrap failed (the log above)"; }
# apt-get resolves the packages' dependencies (debootstrap --include does
# not order their configuration); services are not started in the chroot.
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
# shellcheck disable=SC2086 # the list is words
if ! { chroot "$root" apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends $packages; } \
       >> "$log" 2>&1; then
    tail -20 "$log" >&2
    die "apt-get install in the chroot failed (the log above)"
fi
chroot "$root" apt-get clean >> "$log" 2>&1
umount "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"

# --- configuration ----------------------------------------------------------
echo "$name" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
echo "LABEL=$name-root / ext4 defaults,errors=remount-ro 0 1" > "$root/etc/fstab"
cat > "$root/etc/network/interfaces" <<'EOF'
# cloud-init writes the guest's interfaces under interfaces.d at first boot
auto lo
iface lo inet loopback
source /etc/network/interfaces.d/*
EOF
mkdir -p "$root/etc/cloud/cloud.cfg.d"
cat > "$root/etc/cloud/cloud.cfg.d/90-qlaunch.cfg" <<'EOF'
# qlaunch attaches a NoCloud seed (a disk labelled cidata); nothing else is probed
datasource_list: [ NoCloud, None ]
# C.UTF-8 is glibc's own: no locale to generate (en_US would fail update-locale)
locale: C.UTF-8
EOF
echo "LANG=C.UTF-8" > "$root/etc/default/locale"
# No keys, no identity baked in: cloud-init makes the host keys, systemd the
# machine-id, at each VM's first boot. dbus is there for systemd-logind,
# through which shutdown +0 (qemu-ga's guest-shutdown) powers off.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/resolv.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_* "$root"/tmp/*

kernel=$(cd "$root/boot" && ls vmlinuz-* | sort -V | tail -1)
initrd=initrd.img-${kernel#vmlinuz-}
[ -f "$root/boot/$initrd" ] || { tail -20 "$log" >&2; die "the kernel's initramfs /boot/$initrd was not made (the log above)"; }

# --- GRUB (BIOS): core.img in the gap before the partition ------------------
mkdir -p "$root/boot/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
cat > "$root/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux 12 (qlaunch image)' {
    search --no-floppy --label --set=root $name-root
    linux /boot/$kernel root=LABEL=$name-root ro console=tty0 console=ttyS0,115200n8
    initrd /boot/$initrd
}
EOF
grub-mkimage -O i386-pc -o "$work/core.img" -p "(hd0,msdos1)/boot/grub" \
    biosdisk part_msdos ext2 search search_label serial terminal normal linux echo
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[ $core_sectors -lt $((part_start - 1)) ] || die "GRUB's core.img ($core_sectors sectors) does not fit before the partition"

# --- the disk ----------------------------------------------------------------
raw=$work/disk.raw
truncate -s "${size_mib}M" "$raw"
echo "start=$part_start, type=83, bootable" | sfdisk -q "$raw"
mke2fs -q -t ext4 -L "$name-root" -d "$root" -E offset=$((part_start * 512)) \
    "$raw" "$(( (size_mib - 1) * 1024 ))k"
# boot.img: the MBR's first 440 bytes (the partition table stays); it loads
# sector 1, where core.img begins (grub-mkimage set its block list length).
dd if=/usr/lib/grub/i386-pc/boot.img of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$raw" "$out.tmp"
mv "$out.tmp" "$out"
echo "$hash" > "$out.inputs"
[ -z "${QLAUNCH_OWNER:-}" ] || chown "$QLAUNCH_OWNER" "$out" "$out.inputs" "$out_dir"
if [ -n "$cache" ]; then
    mkdir -p "$cache"
    cp "$out" "$cache/$name-$hash.qcow2.tmp" && mv "$cache/$name-$hash.qcow2.tmp" "$cache/$name-$hash.qcow2"
fi
echo "build-image: $out ($(du -h "$out" | cut -f1) on disk, $hash; kernel ${kernel#vmlinuz-})"
