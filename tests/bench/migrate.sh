#!/usr/bin/env bash
# make bench, part 2: live migration of tiny on this host, medians of N runs.
# --local with shared RAM (nothing copied) vs RAM copied (--copy-ram, as to
# another host: under TCG with the 8 KiB RAM workaround) and QEMU's default
# bandwidth cap, then the lab-style table: idle and busy guest under precopy,
# auto-converge, xbzrle and post-copy. Every migration runs with --probe
# (what the guest's users see: longest gap, losses, delay, the guest's
# clock jump). Results: build/bench/migrate.json, migrate.dat, migrate.svg,
# migrate-probe.svg (delay over time of each case's last run).
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

# figures JSON: "total_ms downtime_ms MiB gap_ms lost sent guest_pause_ms during_p99_ms"
figures() {
    perl -MJSON::PP -e 'my $j = decode_json(join "", <STDIN>); my $p = $j->{probe};
        printf "%s %s %.1f %.1f %d %d %.1f %.2f\n", $j->{total_time_ms}, $j->{downtime_ms},
            $j->{transferred_bytes} / 1048576, $p->{longest_gap_ms}, $p->{lost}, $p->{sent},
            $p->{guest_pause_ms} // -1, $p->{phases}{during}{delay_p99_ms}'
}
# timeline JSON: "ms delay" per datagram ("-" when lost), for gnuplot
timeline() {
    perl -MJSON::PP -e 'my $j = decode_json(join "", <STDIN>);
        printf "%.1f %s\n", $_->[0], defined $_->[1] ? sprintf("%.3f", $_->[1]) : "-" for @{$j->{probe}{timeline}};
        printf "# end %.1f\n", $j->{probe}{migration_ms}'
}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
busy() { "$ql" exec tiny -- sh -c 'sysbench memory --time=600 --memory-total-size=100000G run >/dev/null 2>&1 &' >/dev/null; }
idle() { "$ql" exec tiny -- sh -c 'killall sysbench 2>/dev/null; true' >/dev/null; }

# measure LABEL LOAD ARGS...: N migrations with --probe, medians of each figure
measure() {
    local label=$1 load=$2; shift 2
    local rows=() j case_no
    # (each runs in a $(...) subshell: the case's number comes from the file)
    case_no=$(($(wc -l < "$out/migrate.dat") + 1))
    for _ in $(seq "$runs"); do
        $load
        j=$("$ql" migrate -q tiny --local --probe --timeout 120 --json "$@")
        rows+=("$(figures <<< "$j")")
    done
    timeline <<< "$j" > "$out/migrate-probe-$case_no.dat"
    printf '%s\n' "$label" > "$out/migrate-probe-$case_no.label"
    idle
    local med=() k
    for k in 1 2 3 4 5 6 7 8; do
        med+=("$(printf '%s\n' "${rows[@]}" | awk -v k=$k '{print $k}' | median)")
    done
    printf '%-28s %9s %8s %9s %9s %6s %9s %9s\n' "$label" "${med[0]}" "${med[1]}" "${med[2]}" \
        "${med[3]}" "${med[4]}" "${med[6]}" "${med[7]}" >&2
    printf '"%s": {"total_time_ms": %s, "downtime_ms": %s, "transferred_mib": %s, "longest_gap_ms": %s, "lost": %s, "sent": %s, "guest_pause_ms": %s, "during_delay_p99_ms": %s, "runs": %s}' \
        "$label" "${med[@]}" "$runs"
    printf '"%s" %s %s %s %s\n' "$label" "${med[0]}" "${med[1]}" "${med[2]}" "${med[3]}" >> "$out/migrate.dat"
}

"$ql" start -q tiny --wait-agent >/dev/null
: > "$out/migrate.dat"
rm -f "$out"/migrate-probe-*.dat "$out"/migrate-probe-*.label
printf '%-28s %9s %8s %9s %9s %6s %9s %9s\n' "tiny 512 MiB, $runs runs" "total ms" "down ms" "MiB sent" \
    "gap ms" "lost" "pause ms" "p99 ms" >&2
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
     "" using 5 title "longest gap users saw (ms)", \
     "" using 4 axes x1y2 title "transferred (MiB)"
EOG
    # one panel per case: each datagram's delay against when it was sent,
    # the migration between the two lines; the labels reach gnuplot as
    # data (a file it reads), never as script text
    (cd "$out" && gnuplot -e "cases=$(($(wc -l < "$out/migrate.dat") + 0))" /dev/stdin) <<'EOG'
set terminal svg size 1400,900 dynamic
set output 'migrate-probe.svg'
set datafile missing '-'
set multiplot layout 3,4 title "What the guest's users saw: UDP echo delay during each migration (last run; lines: start and end)"
set xlabel "ms from the start"
set xtics 1000 rotate by -45
set ylabel "delay (ms)"
set logscale y
set yrange [0.05:*]
set grid
do for [i=1:cases] {
    f = sprintf('migrate-probe-%d.dat', i)
    l = system(sprintf('cat migrate-probe-%d.label', i))
    e = real(system(sprintf("sed -n 's/^# end //p' migrate-probe-%d.dat", i)))
    set title sprintf("%s", l) noenhanced
    set arrow 1 from 0, graph 0 to 0, graph 1 nohead lc rgb 'red'
    set arrow 2 from e, graph 0 to e, graph 1 nohead lc rgb 'blue'
    plot f using 1:2 with points pt 7 ps 0.3 notitle
}
unset multiplot
EOG
fi
echo "results: build/bench/migrate.json build/bench/migrate.svg build/bench/migrate-probe.svg" >&2
