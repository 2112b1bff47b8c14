#!/usr/bin/env bash
# Installs every Debian package qlaunch needs to build, test and run
# (apt-get; sudo when not root). --check only reports what is missing.
set -euo pipefail
pkgs=(
    gcc make pkg-config binutils        # build (binutils: ar, readelf)
    libglib2.0-dev libjansson-dev       # glib + jansson
    qemu-system-x86 qemu-utils          # QEMU and qemu-img
    kmod cpio gzip                      # build-guest.sh: depmod, initramfs
    sysbench                            # host side of the benchmarks and demo
    gnuplot-nox                         # make bench: plots
    iproute2 nftables dnsmasq-base      # qlaunch net: bridge, masquerade, DHCP/DNS
    socat procps                        # test-nat.sh: the upstream listener, pgrep
    libvirt-clients libxml2-utils       # tests: virt-xml-validate / virsh on export --format libvirt
    man-db perl                         # tests: man -l on the man pages; json_pp
    clang libclang-rt-14-dev valgrind   # make fuzz (libFuzzer), make valgrind
    ca-certificates
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${1:-}" = --check ]; then
    [ ${#missing[@]} -eq 0 ] && { echo "all dependencies installed"; exit 0; }
    echo "missing: ${missing[*]}"; exit 1
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
# build-guest.sh downloads packages with apt-get download: it needs lists.
if [ ${#missing[@]} -gt 0 ] || ! apt-cache policy linux-image-cloud-amd64 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all dependencies installed"
