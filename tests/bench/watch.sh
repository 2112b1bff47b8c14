#!/usr/bin/env bash
# make bench, part 5: qlaunch stats and qlaunch list latency with 1 and 8
# running VMs, side by side with the raw QMP and agent queries they make.
# Results: build/bench/watch.json (medians of N interleaved reps).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
reps=${BENCH_WATCH_REPS:-15}
work=$(mktemp -d /tmp/qlaunch-bench-watch.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
out=$top/build/bench/watch.json
mkdir -p "$top/build/bench"
rm -f "$out"
prof() {
    printf '[vm]\nname=%s\nmemory=128M\ncpus=1\naccel=tcg\nballoon=true\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[disk data]\nsize=64M\n[net 0]\nmode=user\n[agent]\nenabled=true\n' "$1" > "$work/$1.ini"
    "$ql" start -q "$work/$1.ini" --wait-agent >/dev/null
}
prof w1
sleep 5 # the balloon's first report
"$top/build/tests/bench-watch" "$ql" "$QLAUNCH_RUNTIME_DIR" w1 "$reps" 1 "$out"
for i in 2 3 4 5 6 7 8; do prof "w$i"; done
sleep 5 # let the guests finish booting
"$top/build/tests/bench-watch" "$ql" "$QLAUNCH_RUNTIME_DIR" w1 "$reps" 8 "$out"
echo "results: $out" >&2
