#!/usr/bin/env bash
# make bench, files in and out: qlaunch cp through the guest agent against
# the same bytes over ssh through the user-mode forward (ssh with cat at the
# far end: scp's transport, as the embedded guest's dropbear has no scp or
# sftp server), a 64 MiB file each way, interleaved, on the embedded guest
# under TCG; and qlaunch start to a working qlaunch ssh. Results:
# build/bench/cp.json (medians, MiB/s). Not a test: it reports, it does not
# judge.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
reps=${BENCH_REPS:-3}
mib=${BENCH_CP_MIB:-64}
work=$(mktemp -d /tmp/qlaunch-bench-cp.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache HOME=$work/home
mkdir -p "$HOME"
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
out=$top/build/bench/cp.json
mkdir -p "$top/build/bench"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
timed() { local t0; t0=$(now_ms); "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }; echo $(( $(now_ms) - t0 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
rate() { awk -v m="$mib" -v ms="$1" 'BEGIN {printf "%.1f", m / (ms / 1000)}'; }

sed -e '/^\[disk data\]/,/^$/d' "$top/profiles/tiny.ini" > "$work/cpb.ini"
printf '\n[disk data]\nsize=1G\n\n[cloud-init]\nuser=root\n' >> "$work/cpb.ini"
ssh_ms=()
for _ in $(seq "$reps"); do
    t0=$(now_ms)
    "$ql" start -q "$work/cpb.ini" >/dev/null
    until "$ql" ssh -q cpb --wait 120 -- true >/dev/null 2>&1; do sleep 0.05; done
    ssh_ms+=($(( $(now_ms) - t0 )))
    "$ql" kill -q cpb >/dev/null
done
"$ql" start -q "$work/cpb.ini" --wait ssh >/dev/null 2>&1
head -c $((mib << 20)) /dev/urandom > "$work/f.bin"
cp_in=() cp_out=() ssh_in=() ssh_out=()
for _ in $(seq "$reps"); do
    cp_in+=($(timed "$ql" cp "$work/f.bin" cpb:/data/f.bin))
    cp_out+=($(timed "$ql" cp cpb:/data/f.bin "$work/back.bin"))
    ssh_in+=($(timed sh -c "'$ql' ssh -q cpb -- sh -c 'cat > /data/g.bin' < '$work/f.bin'"))
    ssh_out+=($(timed sh -c "'$ql' ssh -q cpb -- cat /data/g.bin > '$work/back2.bin'"))
done
cmp -s "$work/f.bin" "$work/back.bin" && cmp -s "$work/f.bin" "$work/back2.bin" || { echo "bench: a copy differs" >&2; exit 1; }
"$ql" stop -q cpb >/dev/null
m_ci=$(median "${cp_in[@]}") m_co=$(median "${cp_out[@]}") m_si=$(median "${ssh_in[@]}") m_so=$(median "${ssh_out[@]}")
cat > "$out" <<JSON
{
  "file_mib": $mib, "reps": $reps, "accel": "tcg",
  "start_to_ssh_ms": $(median "${ssh_ms[@]}"),
  "cp_in_ms": $m_ci, "cp_in_mib_s": $(rate "$m_ci"),
  "cp_out_ms": $m_co, "cp_out_mib_s": $(rate "$m_co"),
  "ssh_cat_in_ms": $m_si, "ssh_cat_in_mib_s": $(rate "$m_si"),
  "ssh_cat_out_ms": $m_so, "ssh_cat_out_mib_s": $(rate "$m_so")
}
JSON
printf 'start to a working qlaunch ssh: %s ms (median of %s)\n' "$(median "${ssh_ms[@]}")" "$reps"
printf '%s MiB in:  qlaunch cp %s MiB/s, ssh %s MiB/s\n' "$mib" "$(rate "$m_ci")" "$(rate "$m_si")"
printf '%s MiB out: qlaunch cp %s MiB/s, ssh %s MiB/s\n' "$mib" "$(rate "$m_co")" "$(rate "$m_so")"
echo "bench: $out"
