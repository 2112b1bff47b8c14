#!/usr/bin/env bash
# make bench: the first start after a host boot (the KVM probe runs, its
# answer not cached yet) against a start with the answer cached, side by
# side, BENCH_PROBE_RUNS (3) each, medians. On a host without /dev/kvm both
# skip the probe. Result: build/bench/kvm-probe.json.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
out=$top/build/bench
runs=${BENCH_PROBE_RUNS:-3}
work=$(mktemp -d /tmp/qlaunch-bench-probe.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() { "$ql" kill probe >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$out"
sed -e 's/^accel=.*/accel=auto/' "$top/profiles/tiny.ini" > "$work/probe.ini"
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
first=() cached=()
for _ in $(seq "$runs"); do
    rm -rf "$XDG_CACHE_HOME/qlaunch"        # as after a host boot: nothing cached
    t=$(date +%s%N); "$ql" start -q "$work/probe.ini" >/dev/null; first+=("$(ms "$t")")
    "$ql" kill probe >/dev/null
    t=$(date +%s%N); "$ql" start -q "$work/probe.ini" >/dev/null; cached+=("$(ms "$t")")
    "$ql" kill probe >/dev/null
done
f=$(printf '%s\n' "${first[@]}" | median); c=$(printf '%s\n' "${cached[@]}" | median)
verdict=$("$ql" doctor --json | grep -A1 '"check": "kvm"' | sed -n 's/.*"detail": "\(.*\)",\?$/\1/p')
printf '{"runs": %s, "first_start_ms": %s, "cached_start_ms": %s, "kvm_dev": %s, "probe": "%s"}\n' \
    "$runs" "$f" "$c" "$([ -e /dev/kvm ] && echo true || echo false)" "$(sed 's/[\\"]/\\&/g' <<< "$verdict")" > "$out/kvm-probe.json"
echo "first start (probe included) $f ms, cached $c ms (median of $runs); build/bench/kvm-probe.json" >&2
cat "$out/kvm-probe.json"
