#!/usr/bin/env bash
# Build the embedded default guest (kernel + initramfs) from Debian packages
# only: apt-get download + dpkg-deb -x, no root needed.
#
# Output: build/guest/{vmlinux,vmlinuz,vmlinux-debian,initrd.img,qlaunch-probe,VERSION}.
# vmlinux is the guest's own small kernel (scripts/build-guest-kernel.sh:
# Debian's linux-source, every driver built in), an uncompressed ELF that
# QEMU starts at its PVH entry. vmlinuz is Debian's cloud bzImage (OVMF
# boots it: firmware=uefi), with its modules in the initrd, and
# vmlinux-debian the same kernel uncompressed (make bench compares the
# two kernels). initrd.img is an uncompressed cpio
# (unpacking 12 MB of gzip took the kernel about 0.5 s under TCG). Rebuilt only when the
# inputs change (this script, the guest init, the package versions).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${QLAUNCH_GUEST_DIR:-$top/build/guest}
work=$out/work
debs=$out/debs
kpkg=linux-image-cloud-amd64
# The packages whose binaries go into the guest; their library dependencies
# are added below from apt's dependency graph.
userland=(busybox-static sysbench qemu-guest-agent libiperf0 dropbear-bin)
# Packages taken without their dependencies (iperf3's are debconf and an
# init script; its library, libiperf0, is in userland).
nodeps=(iperf3)
mods=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
      virtio_blk failover net_failover virtio_net virtio_console virtio_balloon
      button evdev pvpanic-mmio)
# Loaded by the guest's init only where a PIIX IDE controller is
# (machine=pc): a CD-ROM drive, /dev/sr0 (the cloud kernel has no AHCI).
cdmods=(ata_piix sr_mod isofs)
sharemods=(virtiofs)

die() { echo "build-guest: $*" >&2; exit 1; }
for t in apt-get apt-cache dpkg-deb depmod cpio lz4 readelf sha256sum cc; do
    command -v "$t" >/dev/null || die "'$t' is missing: run scripts/install-deps.sh"
done

# Resolve the kernel meta package to the real image package.
kreal=$(apt-cache depends "$kpkg" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$kreal" ] || die "cannot resolve $kpkg (run 'apt-get update' first)"

deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${userland[@]}" 2>/dev/null |
       grep -v '^ ' | grep -v '^<' | sort -u)
# One apt-cache call for all: "pkg:" lines, then "  Candidate: VERSION".
versions=$(apt-cache policy $kreal $deps "${nodeps[@]}" | awk '/^[^ ]/ {sub(":$", "", $1); p = $1} /Candidate:/ {print p, $2}')
key=$(cat "$0" "$top/scripts/guest-init" "$top/scripts/guest-probe.c" | sha256sum | cut -c1-16)-$(echo "$versions" | sha256sum | cut -c1-16)

# the kernel has a cache of its own: a change to the guest's userland does
# not rebuild it
"$top/scripts/build-guest-kernel.sh" "$out/vmlinux" "$out/kernel-src"

if [ -f "$out/VERSION" ] && [ "$(cat "$out/VERSION")" = "$key" ] &&
   [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux-debian" ] && [ -f "$out/initrd.img" ] && [ -f "$out/qlaunch-probe" ]; then
    echo "build-guest: up to date ($out)"
    exit 0
fi

echo "build-guest: building into $out"
rm -rf "$work"
mkdir -p "$debs" "$work/x" "$work/root"
(
    cd "$debs"
    for p in $kreal $deps "${nodeps[@]}"; do
        # Virtual packages (e.g. one of two luajit flavours) have no .deb.
        ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -qq "$p" 2>/dev/null || true
    done
)
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/x"; done

x=$work/x
r=$work/root
kver=${kreal#linux-image-}
cp "$x/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
# The bzImage's payload is an LZ4 legacy frame (Debian's cloud kernel is
# built with CONFIG_KERNEL_LZ4); lz4 stops at its end and complains about
# the size word after it, so the result is checked instead of its status.
off=$(LC_ALL=C grep -obUaP -m1 '\x02\x21\x4c\x18' "$out/vmlinuz.tmp" | head -1 | cut -d: -f1)
[ -n "$off" ] || die "no LZ4 payload in $kreal's vmlinuz (the kernel's compression changed?)"
tail -c +$((off + 1)) "$out/vmlinuz.tmp" | lz4 -dcq > "$out/vmlinux-debian.tmp" 2>/dev/null || true
# The PVH entry is Xen ELF note 18 (XEN_ELFNOTE_PHYS32_ENTRY).
LC_ALL=C readelf -n "$out/vmlinux-debian.tmp" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)' ||
    die "the kernel extracted from $kreal's vmlinuz is not an ELF with a PVH entry"

# --- modules, in dependency order -------------------------------------------
depmod -b "$x" "$kver"
mkdir -p "$r/lib/modules"
: > "$r/lib/modules/load-order"
order=load-order
declare -A seen=()
add_mod() {   # add_mod NAME: add its dependencies first, then itself
    local name=$1 path deps_of d
    path=$(awk -F: -v n="/$name.ko" '{ i = index($1, n) } i > 0 && i == length($1) - length(n) + 1 {print $1; exit}' \
           "$x/lib/modules/$kver/modules.dep")
    [ -n "$path" ] || die "module $name not found in $kreal"
    [ -n "${seen[$path]:-}" ] && return 0
    seen[$path]=1
    deps_of=$(awk -F: -v p="$path" '$1 == p {print $2}' "$x/lib/modules/$kver/modules.dep")
    for d in $deps_of; do add_mod "$(basename "$d" .ko)"; done
    cp "$x/lib/modules/$kver/$path" "$r/lib/modules/"
    echo "$(basename "$path")" >> "$r/lib/modules/$order"
}
for m in "${mods[@]}"; do add_mod "$m"; done
order=cdrom-order
: > "$r/lib/modules/$order"
for m in "${cdmods[@]}"; do add_mod "$m"; done
order=share-order   # loaded when the command line has a qlaunch.share=
: > "$r/lib/modules/$order"
for m in "${sharemods[@]}"; do add_mod "$m"; done

# --- userland ---------------------------------------------------------------
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,var,data,root,lib64,lib/x86_64-linux-gnu,usr/share/udhcpc}
ln -s /run "$r/var/run"
cp "$x/bin/busybox" "$r/bin/busybox"
cp "$x/usr/bin/sysbench" "$r/bin/sysbench"
cp "$x/usr/sbin/qemu-ga" "$r/sbin/qemu-ga"
cp "$x/usr/bin/iperf3" "$r/bin/iperf3"
cp "$x/usr/sbin/dropbear" "$r/sbin/dropbear"
cp "$x/usr/bin/dropbearkey" "$r/bin/dropbearkey"
# qlaunch's network and clock probe: static, so the host runs the same one
cc -static -O2 -Wall -Wextra -Werror -o "$out/qlaunch-probe.tmp" "$top/scripts/guest-probe.c"
cp "$out/qlaunch-probe.tmp" "$r/bin/qlaunch-probe"

libdirs=("$x/lib/x86_64-linux-gnu" "$x/usr/lib/x86_64-linux-gnu" "$x/lib64")
find_lib() {
    local d
    for d in "${libdirs[@]}"; do
        if [ -e "$d/$1" ]; then echo "$d/$1"; return 0; fi
    done
    return 1
}
declare -A have=()
# stub_lib ELF REAL SONAME WHY: instead of REAL, a library SONAME of the
# functions ELF takes from it (each with the symbol version ELF asks for),
# every one of which exits 1 with "PROGRAM: FUNCTION: WHY". sysbench links the MariaDB and
# PostgreSQL clients, which bring 9 MB of libraries (GnuTLS, Kerberos,
# LDAP, ...) into an initrd the kernel unpacks at every boot, for drivers
# with no database to talk to in this guest. It is linked with BIND_NOW,
# so every symbol must be there; the drivers are only called when used.
stub_lib() {
    local elf=$1 real=$2 soname=$3 why=$4 s=$work/stub-$3
    nm -D --defined-only "$real" | awk '{print $3}' | sed 's/@.*//' | LC_ALL=C sort -u > "$s.def"
    objdump -T "$elf" | awk '/\*UND\*/ {v = $(NF-1); gsub(/[()]/, "", v); print $NF, v}' |
        LC_ALL=C sort -u | LC_ALL=C join - "$s.def" > "$s.syms"
    [ -s "$s.syms" ] || die "$(basename "$elf") takes nothing from $soname: no stub needed"
    {
        echo '#define _GNU_SOURCE'
        echo '#include <errno.h>'
        echo '#include <stdio.h>'
        echo '#include <stdlib.h>'
        echo 'static void __attribute__((noreturn)) stub(const char *f)'
        echo '{'
        printf '    fprintf(stderr, "%%s: %%s: %s\\n", program_invocation_short_name, f);\n' "$why"
        echo '    exit(1);'
        echo '}'
        awk '{printf "void %s(void);\nvoid %s(void) { stub(\"%s\"); }\n", $1, $1, $1}' "$s.syms"
    } > "$s.c"
    awk '$2 != "Base" {v[$2] = v[$2] "    " $1 ";\n"} END {for (k in v) printf "%s {\n  global:\n%s};\n", k, v[k]}' \
        "$s.syms" > "$s.map"
    local script=()
    [ -s "$s.map" ] && script=(-Wl,--version-script="$s.map")
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -Wl,-soname,"$soname" "${script[@]}" \
        -o "$r/lib/x86_64-linux-gnu/$soname" "$s.c"
    have[$soname]=1
}
add_libs() {  # add_libs ELF: copy every DT_NEEDED library, recursively
    local lib src
    for lib in $(readelf -d "$1" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}'); do
        [ -n "${have[$lib]:-}" ] && continue
        have[$lib]=1
        src=$(find_lib "$lib") || die "library $lib (needed by $(basename "$1")) is in no downloaded package"
        cp -L "$src" "$r/lib/x86_64-linux-gnu/$lib"
        add_libs "$src"
    done
}
for soname in libmariadb.so.3 libpq.so.5; do
    src=$(find_lib "$soname") || die "library $soname (needed by sysbench) is in no downloaded package"
    stub_lib "$r/bin/sysbench" "$src" "$soname" \
        "the embedded qlaunch guest has no database client (its sysbench runs cpu, memory, fileio, threads and mutex)"
done
# iperf3 takes OpenSSL's libcrypto (4.6 MB, a quarter of the initrd the
# kernel copies at every boot) only for its RSA authentication
# (--rsa-public-key-path and friends), which qlaunch never asks for.
src=$(find_lib libcrypto.so.3) || die "library libcrypto.so.3 (needed by iperf3) is in no downloaded package"
iperflib=$(find_lib libiperf.so.0) || die "library libiperf.so.0 (needed by iperf3) is in no downloaded package"
stub_lib "$iperflib" "$src" libcrypto.so.3 \
    "the embedded qlaunch guest has no OpenSSL (its iperf3 runs without --rsa-* authentication)"
add_libs "$r/bin/sysbench"
add_libs "$r/sbin/qemu-ga"
add_libs "$r/bin/iperf3"
add_libs "$r/sbin/dropbear"
add_libs "$r/bin/dropbearkey"
ld=$(find_lib ld-linux-x86-64.so.2) || die "no dynamic loader in libc6"
cp -L "$ld" "$r/lib64/ld-linux-x86-64.so.2"

cp "$top/scripts/guest-init" "$r/init"
chmod 0755 "$r/init"
cat > "$r/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: configure the interface and resolver from the lease.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
EOF
chmod 0755 "$r/usr/share/udhcpc/default.script"
# qemu-ga's guest-shutdown runs /sbin/shutdown; busybox has none.
cat > "$r/sbin/shutdown" <<'EOF'
#!/bin/sh
# Called by qemu-ga for guest-shutdown: flush, unmount, power off.
sync
umount /data 2>/dev/null
case "$*" in *-r*) reboot -f ;; *) poweroff -f ;; esac
EOF
chmod 0755 "$r/sbin/shutdown"
# init mounts these with one 'mount -a' (a fork and exec is 10-20 ms under TCG)
printf '%s\n' 'proc /proc proc defaults 0 0' 'sys /sys sysfs defaults 0 0' \
    'dev /dev devtmpfs defaults 0 0' 'tmp /tmp tmpfs defaults 0 0' > "$r/etc/fstab"
echo "root:x:0:0:root:/root:/bin/sh" > "$r/etc/passwd"
echo "root:x:0:" > "$r/etc/group"

# busybox's applets as symlinks in the initrd, where --install -s in init
# made them at every boot (about 40 ms under TCG); a file already there
# (shutdown, the programs above) stays. The busybox is static: it runs here.
"$r/bin/busybox" --list-full > "$work/applets" || die "the guest's busybox does not run on this host"
while read -r applet; do
    [ -e "$r/$applet" ] || [ -L "$r/$applet" ] || { mkdir -p "$(dirname "$r/$applet")" && ln -s /bin/busybox "$r/$applet"; }
done < "$work/applets"
[ -L "$r/bin/sh" ] || die "the guest's busybox has no sh applet"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0)  > "$out/initrd.img.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/vmlinux-debian.tmp" "$out/vmlinux-debian"
mv "$out/initrd.img.tmp" "$out/initrd.img"
mv "$out/qlaunch-probe.tmp" "$out/qlaunch-probe"
echo "$versions" > "$out/packages.txt"
echo "$key" > "$out/VERSION"
rm -rf "$work"
echo "build-guest: done: $out/vmlinux $out/vmlinuz $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
