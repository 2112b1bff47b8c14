#!/usr/bin/env bash
# make bench, cold boot of the embedded guest: tiny as shipped (the kernel
# uncompressed, started at its PVH entry; an uncompressed cpio initrd; two
# boot-time self-tests skipped) against tiny as it booted before (Debian's
# bzImage, the same initrd gzipped, the old command line), each `qlaunch
# start --wait-agent` on a data disk made by an earlier start, interleaved
# pairs so both see the same host load. Results: build/bench/boot.json
# (medians, ms). Not a test: it reports.
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
# pvh: tiny as shipped, with a serial log; bz: the same with the old boot
cp "$top/profiles/tiny.ini" "$work/pvh.ini"
sed -e "s|^kernel=.*|kernel=$guest/vmlinuz|" -e "s|^initrd=.*|initrd=$work/initrd.gz|" \
    -e 's|^append=.*|append=console=ttyS0 quiet no_timer_check cryptomgr.notests|' \
    "$work/pvh.ini" > "$work/bz.ini"
for v in pvh bz; do # first start: makes and formats the data disk
    "$ql" start -q "$work/$v.ini" --wait-agent >/dev/null 2>&1
    "$ql" kill -q "$v" >/dev/null
done
declare -A ms=([pvh]="" [bz]="")
for _ in $(seq "$reps"); do
    for v in pvh bz; do
        t0=$(now_ms)
        "$ql" start -q "$work/$v.ini" --wait-agent >/dev/null 2>&1 || { echo "bench: start $v failed" >&2; exit 1; }
        ms[$v]+=" $(( $(now_ms) - t0 ))"
        "$ql" kill -q "$v" >/dev/null
    done
done
p50() { median ${ms[$1]}; }
pvh=$(p50 pvh) bz=$(p50 bz)
ratio=$(awk -v a="$pvh" -v b="$bz" 'BEGIN {printf "%.3f", a / b}')
cat > "$out" <<EOF
{
  "reps": $reps,
  "tiny_pvh_ms": {"median": $pvh, "runs": [$(echo ${ms[pvh]} | tr ' ' ',')]},
  "tiny_bzimage_gzip_ms": {"median": $bz, "runs": [$(echo ${ms[bz]} | tr ' ' ',')]},
  "ratio": $ratio,
  "note": "qlaunch start --wait-agent of tiny (512 MiB, 2 vCPUs, TCG): as shipped (vmlinux at its PVH entry, uncompressed cpio initrd, initcall_blacklist=crypto_kdf108_init,init_kprobe_trace) vs Debian's bzImage with the same initrd gzipped and the old command line; interleaved pairs"
}
EOF
printf '%-44s %9s ms\n' "tiny cold boot to agent (PVH, cpio)" "$pvh" \
    "tiny cold boot to agent (bzImage, gzip)" "$bz"
echo "ratio $ratio; results: build/bench/boot.json"
