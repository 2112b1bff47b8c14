#!/usr/bin/env bash
# The embedded guest's kernel, from Debian's linux-source package:
# tinyconfig plus scripts/guest-kernel.config, every driver the guest uses
# built in, no modules. Output: the uncompressed ELF that QEMU starts at its
# PVH entry. Rebuilt only when this script, the config or the source
# package's version changes (the key is kept next to the output).
#   scripts/build-guest-kernel.sh OUT-VMLINUX CACHE-DIR
# CACHE-DIR keeps the downloaded .deb; the source tree is built in
# CACHE-DIR/work and removed after (about 1.5 GB while it builds).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
cache=$2
pkg=linux-source-6.1
frag=$top/scripts/guest-kernel.config
die() { echo "build-guest-kernel: $*" >&2; exit 1; }
for t in apt-get apt-cache dpkg-deb make gcc bc flex bison tar xz readelf sha256sum nproc; do
    command -v "$t" >/dev/null || die "'$t' is missing: run scripts/install-deps.sh run"
done
[ -f /usr/include/gelf.h ] || die "libelf's headers are missing (objtool needs them): run scripts/install-deps.sh run"

ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no candidate for $pkg (run 'apt-get update' first)"
key=$(cat "$0" "$frag" | sha256sum | cut -c1-16)-$ver
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
    echo "build-guest-kernel: up to date ($out)"
    exit 0
fi

mkdir -p "$cache"
deb=$cache/${pkg}_${ver}_all.deb
if [ ! -f "$deb" ]; then
    # (as root apt warns that it downloads unsandboxed: not shown unless it fails)
    (cd "$cache" && apt-get download -qq "$pkg=$ver" 2> "$cache/download.err") ||
        die "apt-get download $pkg=$ver failed: $(cat "$cache/download.err")"
    # apt names the file with the version's ':' escaped; take what it wrote
    got=$(ls -t "$cache/${pkg}"_*.deb 2>/dev/null | head -1)
    [ -n "$got" ] || die "apt-get download $pkg wrote no .deb into $cache"
    [ "$got" = "$deb" ] || mv "$got" "$deb"
fi
work=$cache/work
rm -rf "$work"
mkdir -p "$work"
echo "build-guest-kernel: unpacking $pkg $ver"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "./usr/src/$pkg.tar.xz"
tar -xJf "$work/usr/src/$pkg.tar.xz" -C "$work"
rm -f "$work/usr/src/$pkg.tar.xz"
k=$work/$pkg
[ -f "$k/Makefile" ] || die "$pkg did not unpack into $k"

# change_line FILE OLD NEW WHAT: FILE's one line that reads OLD exactly
# becomes NEW; the build stops if OLD is not there once, so a new source
# release is looked at before its changed code is built.
change_line() {
    [ "$(grep -cxF -- "$2" "$1")" = 1 ] ||
        die "$pkg's $4 is not as expected: the change to $1 needs a look"
    awk -v old="$2" -v new="$3" '$0 == old {$0 = new} {print}' "$1" > "$1.new" && mv "$1.new" "$1"
}
# Changes to Debian's source, all for the boot under TCG. The init
# code and the initrd are freed without first being overwritten with a
# poison byte: every store to a page QEMU has translated code from takes
# its slow path, and the byte-wise poisoning of the 964 KiB of init code
# just run took 0.37-0.39 s of every boot (0.4 s between the last initcall
# and /init, with any initrd). The poison only catches a use of init code
# after it is freed, a kernel bug; the pages go back to the allocator as
# before.
change_line "$k/arch/x86/mm/init.c" '				   POISON_FREE_INITMEM, what);' \
    '				   -1, what);' "free_init_pages()"
# A CPU brought up after the first takes its delay-loop calibration from a
# CPU of its package when the CPUs run under a hypervisor, as Linux does
# where the TSC is constant: the vCPUs of one VM share one TSC rate (the
# host's under TCG, the VM's under KVM). Without it the second vCPU
# measured its own for about 0.1 s of every boot under TCG (QEMU's TCG
# CPUs have no invariant TSC; lpj= would do the same but only with the
# value of one host).
change_line "$k/arch/x86/kernel/tsc.c" \
    '	int constant_tsc = cpu_has(&cpu_data(cpu), X86_FEATURE_CONSTANT_TSC);' \
    '	int constant_tsc = cpu_has(&cpu_data(cpu), X86_FEATURE_CONSTANT_TSC) || cpu_has(&cpu_data(cpu), X86_FEATURE_HYPERVISOR);' \
    "calibrate_delay_is_known()"
# The local APIC timer is counted against the tick for 20 ms instead of
# 100 ms, and the PM timer's check and correction of that count use the
# same 20 ms (they assumed 100). Linux counts it only without a TSC
# deadline timer, which qlaunch turns off under TCG (it broke migrations):
# 0.1 s of every TCG boot, about 80 ms less now. The count is checked
# against the PM timer read at the same moments (3.58 MHz: 71,590 ticks in
# 20 ms) and corrected to it when they differ by more than 1%, as over
# 100 ms before (test-lifecycle checks the timer's rate, 1 GHz in QEMU).
change_line "$k/arch/x86/kernel/apic/apic.c" '#define LAPIC_CAL_LOOPS		(HZ/10)' \
    '#define LAPIC_CAL_LOOPS		(HZ/50)' "LAPIC_CAL_LOOPS"
change_line "$k/arch/x86/kernel/apic/apic.c" '	const long pm_100ms = PMTMR_TICKS_PER_SEC / 10;' \
    '	const long pm_100ms = PMTMR_TICKS_PER_SEC * LAPIC_CAL_LOOPS / HZ;' "calibrate_by_pmtimer()"

# the same inputs give the same kernel (uname -v included)
export KBUILD_BUILD_USER=qlaunch KBUILD_BUILD_HOST=build-guest \
    KBUILD_BUILD_TIMESTAMP="$ver"
make -C "$k" -s tinyconfig >/dev/null
(cd "$k" && scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null)
make -C "$k" -s olddefconfig >/dev/null 2>&1
# every line of the fragment must have survived Kconfig
bad=$(awk 'FNR == NR {
               if ($0 ~ /^CONFIG_/) { i = index($0, "="); have[substr($0, 1, i - 1)] = substr($0, i + 1) }
               else if ($0 ~ /^# CONFIG_.* is not set$/) { have[$2] = "n" }
               next }
           /^CONFIG_/ { i = index($0, "="); n = substr($0, 1, i - 1); v = substr($0, i + 1)
                        h = (n in have) ? have[n] : "n"
                        if (h != v) print n "=" v " (Kconfig made it " h ")" }' "$k/.config" "$frag")
[ -z "$bad" ] || die "these lines of $frag did not take (a dependency is missing?): $bad"

echo "build-guest-kernel: building $pkg $ver with $(nproc) jobs (a few minutes)"
if ! make -C "$k" -j"$(nproc)" vmlinux > "$work/build.log" 2>&1; then
    tail -30 "$work/build.log" >&2
    die "the kernel build failed; the log is $work/build.log"
fi
# The PVH entry is Xen ELF note 18 (XEN_ELFNOTE_PHYS32_ENTRY).
LC_ALL=C readelf -n "$k/vmlinux" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)' ||
    die "the built kernel has no PVH entry (CONFIG_PVH)"
cp "$k/vmlinux" "$out.tmp"
cp "$k/.config" "$out.config"
mv "$out.tmp" "$out"
echo "$key" > "$out.key"
rm -rf "$work"
echo "build-guest-kernel: done: $out ($(du -h "$out" | cut -f1))"
