#!/usr/bin/env bash
# make bench, cold boot of the embedded guest to a working agent, four
# boots side by side in interleaved rounds (so all see the same host load):
#   shipped  tiny as shipped: qboot, the guest's own kernel (vmlinux, every
#            driver built in) at its PVH entry, an uncompressed cpio initrd
#   seabios  the same with firmware=bios: what qboot saves
#   debian   qboot with Debian's cloud kernel uncompressed (vmlinux-debian,
#            its modules loaded by init, two self-tests skipped): what the
#            guest's own kernel saves
#   old      the boot of the last round but one: SeaBIOS, Debian's bzImage,
#            the initrd gzipped, the old command line
# Each is `qlaunch start --wait-agent` on a data disk made by an earlier
# start. Results: build/bench/boot.json (medians, ms). Not a test: it reports.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
reps=${BENCH_REPS:-5}
guest=${QLAUNCH_GUEST_DIR:-$top/build/guest}
work=$(mktemp -d /tmp/qlaunch-bench-boot.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
out=$top/build/bench/boot.json
mkdir -p "$top/build/bench"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

gzip -6 -c "$guest/initrd.img" > "$work/initrd.gz"
variants=(shipped seabios debian old)
cp "$top/profiles/tiny.ini" "$work/shipped.ini"
grep -q '^firmware=qboot$' "$work/shipped.ini" || { echo "bench: tiny.ini has no firmware=qboot line" >&2; exit 1; }
sed 's/^firmware=qboot$/firmware=bios/' "$work/shipped.ini" > "$work/seabios.ini"
sed -e "s|^kernel=.*|kernel=$guest/vmlinux-debian|" \
    -e 's|^append=.*|append=console=ttyS0 quiet no_timer_check cryptomgr.notests initcall_blacklist=crypto_kdf108_init,init_kprobe_trace|' \
    "$work/shipped.ini" > "$work/debian.ini"
sed -e 's/^firmware=qboot$/firmware=bios/' -e "s|^kernel=.*|kernel=$guest/vmlinuz|" \
    -e "s|^initrd=.*|initrd=$work/initrd.gz|" \
    -e 's|^append=.*|append=console=ttyS0 quiet no_timer_check cryptomgr.notests|' \
    "$work/shipped.ini" > "$work/old.ini"
for v in "${variants[@]}"; do # first start: makes and formats the data disk
    "$ql" start -q "$work/$v.ini" --wait-agent >/dev/null 2>&1 || { echo "bench: start $v failed" >&2; exit 1; }
    "$ql" kill -q "$v" >/dev/null
done
declare -A ms=()
for _ in $(seq "$reps"); do
    for v in "${variants[@]}"; do
        t0=$(now_ms)
        "$ql" start -q "$work/$v.ini" --wait-agent >/dev/null 2>&1 || { echo "bench: start $v failed" >&2; exit 1; }
        ms[$v]+=" $(( $(now_ms) - t0 ))"
        "$ql" kill -q "$v" >/dev/null
    done
done
declare -A p50=()
for v in "${variants[@]}"; do p50[$v]=$(median ${ms[$v]}); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
{
    echo "{"
    echo "  \"reps\": $reps,"
    for v in "${variants[@]}"; do
        echo "  \"${v}_ms\": {\"median\": ${p50[$v]}, \"runs\": [$(echo ${ms[$v]} | tr ' ' ',')]},"
    done
    echo "  \"shipped_vs_seabios\": $(ratio "${p50[shipped]}" "${p50[seabios]}"),"
    echo "  \"shipped_vs_debian_kernel\": $(ratio "${p50[shipped]}" "${p50[debian]}"),"
    echo "  \"shipped_vs_old\": $(ratio "${p50[shipped]}" "${p50[old]}"),"
    echo "  \"note\": \"qlaunch start --wait-agent of tiny (512 MiB, 2 vCPUs): shipped = qboot + the guest's own kernel (PVH) + cpio; seabios = the same under SeaBIOS; debian = qboot + Debian's cloud kernel (PVH, modules); old = SeaBIOS + Debian's bzImage + gzipped initrd; interleaved rounds\""
    echo "}"
} > "$out"
printf '%-52s %9s ms\n' "tiny cold boot to agent, as shipped" "${p50[shipped]}" \
    "... under SeaBIOS" "${p50[seabios]}" \
    "... qboot with Debian's cloud kernel" "${p50[debian]}" \
    "... the old boot (SeaBIOS, bzImage, gzip)" "${p50[old]}"
echo "results: build/bench/boot.json"
