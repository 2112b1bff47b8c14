#!/usr/bin/env bash
# make bench, installs and firmware: boot of the embedded guest to its agent
# under BIOS and under UEFI (TCG, interleaved pairs); a start that takes the
# kernel out of a 1 GB ISO the first time and from its cache after, beside a
# start with the kernel given directly; screenshot latency beside the bare
# QMP screendump it makes. Results: build/bench/install.json (medians).
# Not a test: it reports, it does not judge.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
reps=${BENCH_REPS:-5}
work=$(mktemp -d /tmp/qlaunch-bench-install.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
out=$top/build/bench/install.json
mkdir -p "$top/build/bench"
guest=${QLAUNCH_GUEST_DIR:-$top/build/guest}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed CMD...: milliseconds the command took
timed() { local t0; t0=$(now_ms); "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }; echo $(( $(now_ms) - t0 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

prof() { # prof NAME [BOOT-LINES...]
    local name=$1; shift
    { printf '[vm]\nname=%s\nmemory=512M\ncpus=2\naccel=tcg\nmachine=q35\n[boot]\n' "$name"
      printf '%s\n' "$@"
      printf '[disk data]\nsize=256M\n[net 0]\nmode=user\n[display]\ntype=none\nvga=std\n'; } > "$work/$name.ini"
}
direct=("kernel=$guest/vmlinuz" "initrd=$guest/initrd.img" "append=console=ttyS0 quiet no_timer_check cryptomgr.notests")
prof bios "${direct[@]}"
prof uefi "${direct[@]}" "firmware=uefi"

# boot to the agent, BIOS and UEFI in interleaved pairs
"$ql" start -q "$work/uefi.ini" --wait-agent >/dev/null && "$ql" kill -q uefi >/dev/null # the variable store
bios_ms=() uefi_ms=()
for _ in $(seq "$reps"); do
    bios_ms+=("$(timed "$ql" start -q "$work/bios.ini" --wait-agent)"); "$ql" kill -q bios >/dev/null
    uefi_ms+=("$(timed "$ql" start -q "$work/uefi.ini" --wait-agent)"); "$ql" kill -q uefi >/dev/null
done

# the kernel out of a 1 GB ISO: the kernel and initrd after 1 GB of packages
mkdir -p "$work/iso/casper" "$work/iso/pool"
head -c 1G /dev/urandom > "$work/iso/pool/packages.bin"
cp "$guest/vmlinuz" "$work/iso/casper/vmlinuz"
cp "$guest/initrd.img" "$work/iso/casper/initrd"
xorriso -as mkisofs -quiet -R -J -V BENCH -o "$work/big.iso" "$work/iso" 2>/dev/null
rm -rf "$work/iso"
iso_bytes=$(stat -c %s "$work/big.iso")
prof fromiso "cdrom=$work/big.iso" "preset=ubuntu-live" "append=console=ttyS0 quiet no_timer_check cryptomgr.notests"
prof plain "${direct[@]}" "cdrom=$work/big.iso"
first_ms=() cached_ms=() plain_ms=()
for _ in $(seq "$reps"); do
    rm -rf "$QLAUNCH_STATE_DIR/fromiso/iso-boot"
    sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true # the ISO read from disk
    first_ms+=("$(timed "$ql" start -q "$work/fromiso.ini")"); "$ql" kill -q fromiso >/dev/null
    cached_ms+=("$(timed "$ql" start -q "$work/fromiso.ini")"); "$ql" kill -q fromiso >/dev/null
    plain_ms+=("$(timed "$ql" start -q "$work/plain.ini")"); "$ql" kill -q plain >/dev/null
done

# screenshot latency
"$ql" start -q "$work/bios.ini" --wait-agent >/dev/null
shot_ms=() ppm_ms=() bare_ms=()
for i in $(seq $((reps * 4))); do
    shot_ms+=("$(timed "$ql" screenshot -q bios "$work/s.png")")
    ppm_ms+=("$(timed "$ql" screenshot -q bios "$work/s.ppm")")
    bare_ms+=("$(timed "$ql" qmp bios "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$work/bare$i.png\",\"format\":\"png\"}}")")
done
shot_bytes=$(stat -c %s "$work/s.png")
"$ql" kill -q bios >/dev/null

j() { local IFS=,; echo "[$*]"; }
cat > "$out" <<EOF
{
  "boot_until_agent": {
    "bios_ms": {"median": $(median "${bios_ms[@]}"), "runs": $(j "${bios_ms[@]}")},
    "uefi_ms": {"median": $(median "${uefi_ms[@]}"), "runs": $(j "${uefi_ms[@]}")},
    "ratio": $(awk -v a="$(median "${uefi_ms[@]}")" -v b="$(median "${bios_ms[@]}")" 'BEGIN {printf "%.2f", a / b}'),
    "note": "the embedded guest, direct kernel boot, 2 vCPUs, TCG; qlaunch start --wait-agent, in pairs"
  },
  "iso_kernel_start": {
    "iso_bytes": $iso_bytes,
    "first_ms": {"median": $(median "${first_ms[@]}"), "runs": $(j "${first_ms[@]}")},
    "cached_ms": {"median": $(median "${cached_ms[@]}"), "runs": $(j "${cached_ms[@]}")},
    "kernel_given_ms": {"median": $(median "${plain_ms[@]}"), "runs": $(j "${plain_ms[@]}")},
    "note": "qlaunch start (until QEMU runs) with preset=ubuntu-live on a 1 GB ISO: first with the page cache dropped and no copy, then from the copy; beside the same VM with kernel= given"
  },
  "screenshot": {
    "png_ms": {"median": $(median "${shot_ms[@]}")},
    "ppm_ms": {"median": $(median "${ppm_ms[@]}")},
    "bare_qmp_screendump_ms": {"median": $(median "${bare_ms[@]}")},
    "png_bytes": $shot_bytes,
    "note": "qlaunch screenshot (QMP screendump to the runtime dir, then the file put in place) beside qlaunch qmp with the same screendump; 720x400 VGA text screen"
  }
}
EOF
printf '%-44s %9s %9s\n' "benchmark (medians)" "this" "reference"
printf '%-44s %6s ms %6s ms\n' "boot to agent: UEFI (vs BIOS)" "$(median "${uefi_ms[@]}")" "$(median "${bios_ms[@]}")"
printf '%-44s %6s ms %6s ms\n' "start, kernel out of a 1 GB ISO: first (vs given)" "$(median "${first_ms[@]}")" "$(median "${plain_ms[@]}")"
printf '%-44s %6s ms %6s ms\n' "start, kernel from the cache (vs given)" "$(median "${cached_ms[@]}")" "$(median "${plain_ms[@]}")"
printf '%-44s %6s ms %6s ms\n' "screenshot PNG (vs bare screendump)" "$(median "${shot_ms[@]}")" "$(median "${bare_ms[@]}")"
printf '%-44s %6s ms\n' "screenshot PPM" "$(median "${ppm_ms[@]}")"
echo "results: $out" >&2
