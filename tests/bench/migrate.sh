#!/usr/bin/env bash
# make bench, part 2: live migration of tiny on this host, medians of N runs.
# --local with shared RAM (nothing copied) vs RAM copied (--copy-ram, as to
# another host: under TCG with the 8 KiB RAM workaround) and QEMU's default
# bandwidth cap, then the lab-style table: idle and busy guest under precopy,
# auto-converge, xbzrle and post-copy. Results: build/bench/migrate.json, migrate.dat, migrate.svg.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
out=$top/build/bench
runs=${BENCH_MIGRATE_RUNS:-3}
work=$(mktemp -d /tmp/qlaunch-bench-mig.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
cleanup() { "$ql" kill tiny >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$out"

field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" | head -1; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
busy() { "$ql" exec tiny -- sh -c 'sysbench memory --time=600 --memory-total-size=100000G run >/dev/null 2>&1 &' >/dev/null; }
idle() { "$ql" exec tiny -- sh -c 'killall sysbench 2>/dev/null; true' >/dev/null; }

# measure LABEL LOAD ARGS...: N migrations, medians of time, downtime, MiB
measure() {
    local label=$1 load=$2; shift 2
    local t=() d=() m=()
    for _ in $(seq "$runs"); do
        $load
        local j
        j=$("$ql" migrate -q tiny --local --timeout 120 --json "$@")
        t+=("$(field total_time_ms <<< "$j")")
        d+=("$(field downtime_ms <<< "$j")")
        m+=("$(awk -v b="$(field transferred_bytes <<< "$j")" 'BEGIN {printf "%.1f", b / 1048576}')")
    done
    idle
    local mt md mm
    mt=$(printf '%s\n' "${t[@]}" | median); md=$(printf '%s\n' "${d[@]}" | median)
    mm=$(printf '%s\n' "${m[@]}" | median)
    printf '%-28s %10s %10s %12s\n' "$label" "$mt" "$md" "$mm" >&2
    printf '"%s": {"total_time_ms": %s, "downtime_ms": %s, "transferred_mib": %s, "runs": %s}' \
        "$label" "$mt" "$md" "$mm" "$runs"
    printf '"%s" %s %s %s\n' "$label" "$mt" "$md" "$mm" >> "$out/migrate.dat"
}

"$ql" start -q tiny --wait-agent >/dev/null
: > "$out/migrate.dat"
printf '%-28s %10s %10s %12s\n' "tiny 512 MiB, $runs runs" "total ms" "down ms" "MiB sent" >&2
rows=()
rows+=("$(measure "idle, --local (shared RAM)" idle)")
rows+=("$(measure "busy, --local (shared RAM)" busy)")
rows+=("$(measure "idle, --copy-ram unlimited" idle --copy-ram)")
rows+=("$(measure "idle, QEMU default 128MiB/s" idle --bandwidth 128)")
rows+=("$(measure "idle, precopy" idle --copy-ram)")
rows+=("$(measure "busy, precopy" busy --copy-ram)")
rows+=("$(measure "idle, auto-converge" idle --auto-converge)")
rows+=("$(measure "busy, auto-converge" busy --auto-converge)")
rows+=("$(measure "idle, xbzrle" idle --xbzrle)")
rows+=("$(measure "busy, xbzrle" busy --xbzrle)")
rows+=("$(measure "idle, postcopy" idle --postcopy)")
rows+=("$(measure "busy, postcopy" busy --postcopy)")
(IFS=,; echo "{${rows[*]}}") > "$out/migrate.json"

if command -v gnuplot >/dev/null; then
    # no path or value is spliced into the script: it runs in $out, and
    # the run count arrives as a number
    (cd "$out" && gnuplot -e "runs=$((runs + 0))" /dev/stdin) <<'EOG'
set terminal svg size 900,480 dynamic
set output 'migrate.svg'
set title sprintf('Live migration of tiny (512 MiB) on this host, medians of %d runs', runs)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms"
set y2label "MiB transferred"
set ytics nomirror
set y2tics
set xtics rotate by -30
set key outside top center horizontal
set yrange [0:*]
set y2range [0:*]
plot 'migrate.dat' using 2:xtic(1) title "total time (ms)", \
     "" using 3 title "downtime (ms)", \
     "" using 4 axes x1y2 title "transferred (MiB)"
EOG
fi
echo "results: build/bench/migrate.json build/bench/migrate.svg" >&2
