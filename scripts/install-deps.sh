#!/usr/bin/env bash
# Installs the Debian packages qlaunch needs (apt-get; sudo when not root).
#   scripts/install-deps.sh [--check] [--ask] [GROUP...]
# Groups: build (compile qlaunch), run (QEMU, the embedded guest's build
# and its kernel's,
# make demo; gcc builds its qlaunch-probe; OVMF for UEFI, swtpm for [tpm],
# bsdtar for kernels taken out of ISOs), bench (plots, iperf3), net (qlaunch net), test (make check's tools; the installer ISO's GRUB and xorriso),
# image (scripts/build-image.sh: debootstrap, GRUB, mke2fs), compare (libvirt and
# virt-install for make bench's side-by-side run; not in the default set), fuzz (make fuzz), valgrind (make valgrind). No group: all of them.
# --check only reports what is missing (exit 1 when something is). --ask
# asks before installing when standard input is a terminal;
# QLAUNCH_AUTO_DEPS=0 never installs (it says what to install instead).
set -euo pipefail
declare -A group=(
    [build]="gcc make pkg-config binutils libglib2.0-dev libjansson-dev"
    [run]="qemu-system-x86 qemu-utils kmod cpio lz4 gzip tar xz-utils bc flex bison libelf-dev libssl-dev sysbench ca-certificates gcc libc6-dev ovmf swtpm libarchive-tools xorriso openssh-client"
    [bench]="gnuplot-nox iperf3 xorriso"
    [net]="iproute2 nftables dnsmasq-base"
    [test]="socat procps libvirt-clients libxml2-utils man-db perl iproute2 nftables dnsmasq-base gnuplot-nox iperf3 python3 grub-pc-bin grub-efi-amd64-bin xorriso mtools time python3-yaml"
    [image]="debootstrap e2fsprogs fdisk grub-pc-bin grub-common qemu-utils"
    [compare]="libvirt-daemon-system libvirt-daemon-driver-qemu virtinst"
    [fuzz]="clang libclang-rt-14-dev"
    [valgrind]="valgrind"
)
check=0 ask=0 wanted=()
for a; do
    case $a in
    --check) check=1 ;;
    --ask) ask=1 ;;
    build | run | bench | net | test | image | compare | fuzz | valgrind) wanted+=("$a") ;;
    *) echo "install-deps: unknown group '$a' (build, run, bench, net, test, image, compare, fuzz, valgrind)" >&2; exit 2 ;;
    esac
done
[ ${#wanted[@]} -gt 0 ] || wanted=(build run bench net test image fuzz valgrind)
declare -A seen=()
pkgs=()
for g in "${wanted[@]}"; do
    for p in ${group[$g]}; do [ -n "${seen[$p]:-}" ] || { seen[$p]=1; pkgs+=("$p"); }; done
done
have_dpkg=0
command -v dpkg-query >/dev/null && have_dpkg=1
missing=()
for p in "${pkgs[@]}"; do
    if [ $have_dpkg = 1 ]; then
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    fi
done
if [ $have_dpkg = 0 ]; then
    echo "install-deps: this host has no dpkg/apt-get; install the equivalents of these Debian packages: ${pkgs[*]}" >&2
    exit 1
fi
if [ $check = 1 ]; then
    [ ${#missing[@]} -eq 0 ] && { echo "all dependencies installed (${wanted[*]})"; exit 0; }
    echo "missing: ${missing[*]}"; exit 1
fi
# build-guest.sh downloads packages with apt-get download: it needs lists.
need_lists=0
if [ -n "${seen[cpio]:-}" ] && ! apt-cache policy linux-image-cloud-amd64 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    need_lists=1
fi
[ ${#missing[@]} -gt 0 ] || [ $need_lists = 1 ] || { echo "install-deps: all dependencies installed (${wanted[*]})"; exit 0; }
what=${missing[*]:-(package lists only)}
if [ "${QLAUNCH_AUTO_DEPS:-1}" = 0 ]; then
    echo "install-deps: missing ${what}; QLAUNCH_AUTO_DEPS=0, so nothing is installed: run scripts/install-deps.sh ${wanted[*]}" >&2
    exit 1
fi
if [ $ask = 1 ] && [ -t 0 ]; then
    read -r -p "install-deps: install ${what} with apt-get? [Y/n] " answer
    case $answer in n* | N*) echo "install-deps: nothing installed" >&2; exit 1 ;; esac
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all dependencies installed (${wanted[*]})"
