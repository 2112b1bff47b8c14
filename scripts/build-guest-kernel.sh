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

# One change to Debian's source: the kernel's init code and the initrd are
# freed without first being overwritten with a poison byte. Under TCG every
# store to a page QEMU has translated code from takes its slow path, and
# the byte-wise poisoning of the 964 KiB of init code just run took
# 0.37-0.39 s of every boot (0.4 s between the last initcall and /init,
# with any initrd). The poison only catches a use of init code after it is
# freed, a kernel bug; the pages go back to the allocator as before.
mm=$k/arch/x86/mm/init.c
grep -q '^				   POISON_FREE_INITMEM, what);$' "$mm" ||
    die "$pkg's free_init_pages() is not as expected: the no-poison change needs a look ($mm)"
sed -i 's/^				   POISON_FREE_INITMEM, what);$/				   -1, what);/' "$mm"
grep -q '^				   -1, what);$' "$mm" || die "the no-poison change did not apply to $mm"
# And a second: a CPU brought up after the first takes its delay-loop
# calibration from a CPU of its package when the CPUs run under a
# hypervisor, as Linux does where the TSC is constant: the vCPUs of one VM
# share one TSC rate (the host's under TCG, the VM's under KVM). Without
# it the second vCPU measured its own for about 0.1 s of every boot under
# TCG (QEMU's TCG CPUs have no invariant TSC; lpj= would do the same but
# only with the value of one host).
tsc=$k/arch/x86/kernel/tsc.c
old_line='	int constant_tsc = cpu_has(&cpu_data(cpu), X86_FEATURE_CONSTANT_TSC);'
new_line='	int constant_tsc = cpu_has(\&cpu_data(cpu), X86_FEATURE_CONSTANT_TSC) || cpu_has(\&cpu_data(cpu), X86_FEATURE_HYPERVISOR);'
[ "$(grep -cxF "$old_line" "$tsc")" = 1 ] ||
    die "$pkg's calibrate_delay_is_known() is not as expected: the shared-lpj change needs a look ($tsc)"
sed -i "s/^$old_line\$/$new_line/" "$tsc"
grep -qF 'X86_FEATURE_CONSTANT_TSC) || cpu_has(&cpu_data(cpu), X86_FEATURE_HYPERVISOR);' "$tsc" ||
    die "the shared-lpj change did not apply to $tsc"

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
