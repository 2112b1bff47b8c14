#!/usr/bin/env bash
# An installer-like ISO for the tests, from Debian packages only
# (grub-mkrescue from grub-pc-bin and grub-efi-amd64-bin, xorriso, mtools):
# the embedded guest's kernel and initrd where Ubuntu's live-server ISO keeps
# them (casper/vmlinuz, casper/initrd), and a GRUB menu whose entry, like
# Ubuntu's, has no console= (the kernel writes to the screen only). GRUB
# itself also writes to the serial port, so a test sees the menu there.
# It boots from a CD-ROM under BIOS and UEFI, and, being a hybrid image,
# from a disk it is copied to.
#   tests/iso/build-installer-iso.sh [OUT.iso]   (default build/iso/installer.iso)
# Rebuilt only when the guest or this script changes.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/iso/installer.iso}
guest=${QLAUNCH_GUEST_DIR:-$top/build/guest}
die() { echo "build-installer-iso: $*" >&2; exit 1; }
for t in grub-mkrescue xorriso mformat sha256sum; do
    command -v "$t" >/dev/null || die "'$t' is missing: run scripts/install-deps.sh test"
done
for d in /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi; do
    [ -d "$d" ] || die "$d is missing: run scripts/install-deps.sh test (grub-pc-bin, grub-efi-amd64-bin)"
done
[ -f "$guest/vmlinuz" ] && [ -f "$guest/initrd.img" ] || die "no guest in $guest: make guest"
stamp=$( (cat "$0" "$guest/VERSION" 2>/dev/null; sha256sum "$guest/vmlinuz" "$guest/initrd.img") | sha256sum | cut -c1-16)
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "build-installer-iso: $out is up to date"
    exit 0
fi
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/qlaunch-iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/casper" "$work/root/boot/grub"
cp "$guest/vmlinuz" "$work/root/casper/vmlinuz"
cp "$guest/initrd.img" "$work/root/casper/initrd"
cat > "$work/root/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=-1
menuentry "Install the qlaunch guest" {
    linux /casper/vmlinuz quiet ---
    initrd /casper/initrd
}
CFG
grub-mkrescue -o "$out.tmp" "$work/root" -- -volid QLAUNCH_INSTALL >"$work/log" 2>&1 ||
    { cat "$work/log" >&2; die "grub-mkrescue failed"; }
mv "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
echo "build-installer-iso: $out ($(du -h "$out" | cut -f1))"
