#!/usr/bin/env bash
# make migrate-compare: does a live migration under TCG deliver guest RAM
# intact? CMP_MIGRATIONS (200) migrations of tiny (256 MiB) over tcp on
# loopback, the VM going back and forth between two runtime dirs. The
# destination QEMU gets -S (a wrapper qemu-system-x86_64 first on PATH adds
# it when it sees -incoming), so after `completed` both sides are frozen:
# the source in postmigrate, the destination paused. Guest RAM is dumped on
# both (QMP pmemsave) and compared page by page; then the destination goes on
# and its agent must answer. CMP_MODE: precopy (default) or postcopy (the
# source pushes every page after the switch while the destination stays
# paused). CMP_LOAD: busy (default: sysbench memory writes all the time) or
# idle. CMP_FAST_PATH=1: the wrapper answers --version with 9.0, so qlaunch
# does not hold back 8 KiB of RAM and QEMU 7.2 takes its 64-page-aligned
# dirty-bitmap fast path (the one without the TLB reset, fixed in 9.0): the
# case that should show the bug. Differing pages are classified with the
# guest's /proc/iomem (kernel code, data, bss, other RAM).
# Result: build/bench/migrate-compare-MODE-LOAD[-fast].json
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
out=$top/build/bench
n=${CMP_MIGRATIONS:-200}
mode=${CMP_MODE:-precopy}
load=${CMP_LOAD:-busy}
fast=${CMP_FAST_PATH:-0}
case $mode in precopy | postcopy) ;; *) echo "migrate-compare: CMP_MODE is precopy or postcopy" >&2; exit 2 ;; esac
case $load in busy | idle) ;; *) echo "migrate-compare: CMP_LOAD is busy or idle" >&2; exit 2 ;; esac
real=$(command -v qemu-system-x86_64) || { echo "migrate-compare: qemu-system-x86_64 is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/qlaunch-cmp.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache \
    XDG_DATA_HOME=$work/data
here=$work/run there=$work/run2
cleanup() {
    QLAUNCH_RUNTIME_DIR=$here "$ql" kill cmp >/dev/null 2>&1 || true
    QLAUNCH_RUNTIME_DIR=$there "$ql" kill cmp >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out" "$work/bin"
# the seam: a QEMU on PATH, as a user's own wrapper would be
cat > "$work/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
if [ "\$1" = --version ] && [ "$fast" = 1 ]; then echo "QEMU emulator version 9.0.0 (migrate-compare wrapper)"; exit 0; fi
for a; do [ "\$a" = -incoming ] && exec "$real" "\$@" -S; done
exec "$real" "\$@"
EOF
chmod +x "$work/bin/qemu-system-x86_64"
export PATH=$work/bin:$PATH
sed -e 's/^memory=.*/memory=256M/' -e 's/^accel=.*/accel=tcg/' \
    -e "s|^\[agent\]|[serial]\nlog=$work/serial.log\n\n[agent]|" "$top/profiles/tiny.ini" > "$work/cmp.ini"
grep -q '^memory=256M' "$work/cmp.ini" || { echo "migrate-compare: could not edit the profile" >&2; exit 1; }
size=$((256 * 1048576 - 8192)) # what every run compares: the trimmed size, so both cases match

qmp() { "$ql" qmp cmp "$1"; }
# await_status DIR STATE: poll the VM in DIR until QEMU reports STATE (60 s)
await_status() {
    local i
    for i in $(seq 600); do
        QLAUNCH_RUNTIME_DIR=$1 "$ql" qmp cmp '{"execute": "query-status"}' 2>/dev/null | grep -q "\"status\": \"$2\"" && return 0
        sleep 0.1
    done
    echo "migrate-compare: the VM in $1 never reached $2" >&2
    return 1
}
start_vm() { "$ql" start -q --wait-agent "$work/cmp.ini" >/dev/null || { echo "migrate-compare: the VM did not start" >&2; exit 1; }; }
make_busy() {
    [ "$load" = busy ] || return 0
    "$ql" exec cmp -- sh -c 'pidof sysbench >/dev/null || { sysbench memory --time=100000 --memory-total-size=100000G run >/dev/null 2>&1 & }' >/dev/null
}
# iomem: the guest's kernel ranges as "start<TAB>end<TAB>name" lines (decimal)
iomem() {
    local a b w
    "$ql" exec cmp -- cat /proc/iomem | sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : \(Kernel [a-z]*\)$/\1 \2 \3/p' |
        while read -r a b w; do printf '%d\t%d\t%s\n' "0x$a" "0x$b" "$w"; done > "$work/iomem"
}
classify() { # page numbers on stdin -> "pfn:what" words
    awk -v f="$work/iomem" 'BEGIN {
        while ((getline l < f) > 0) { split(l, a, "\t"); n++; s[n] = a[1] + 0; e[n] = a[2] + 0; w[n] = a[3] }
    }
    { addr = $1 * 4096; what = "RAM"; for (i = 1; i <= n; i++) if (addr >= s[i] && addr <= e[i]) what = w[i]
      gsub(/ /, "-", what); printf "%x:%s ", $1, what }'
}

# migrate_raw URI: the migration by QMP, not `qlaunch migrate`, which ends
# the source once it completes: here it must stay, frozen, to be compared
migrate_raw() {
    local caps='[]' i st
    [ "$mode" = postcopy ] && caps='[{"capability": "postcopy-ram", "state": true}]'
    qmp "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": $caps}}" >/dev/null &&
        qmp '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 107374182400}}' >/dev/null &&
        qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$1\"}}" >/dev/null || return 1
    for i in $(seq 1200); do # 120 s
        st=$(qmp '{"execute": "query-migrate"}' | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p' | head -1)
        case $st in
        completed) return 0 ;;
        failed | cancelled) echo "migration $st" >&2; return 1 ;;
        active) [ "$mode" = postcopy ] && qmp '{"execute": "migrate-start-postcopy"}' >/dev/null ;;
        esac
        sleep 0.1
    done
    echo "migration still $st after 120 s" >&2
    qmp '{"execute": "migrate_cancel"}' >/dev/null 2>&1
    return 1
}

cd "$work"
start_vm
iomem
bad=0 pages=0 lost=0 failed=0 lines=()
for i in $(seq "$n"); do
    port=$((20000 + RANDOM % 20000))
    pc=(); [ "$mode" = postcopy ] && pc=(--postcopy)
    make_busy
    if ! QLAUNCH_RUNTIME_DIR=$there "$ql" start -q cmp.ini --incoming "tcp:127.0.0.1:$port" "${pc[@]}" >/dev/null 2>"$work/err" ||
        ! migrate_raw "tcp:127.0.0.1:$port" 2>>"$work/err" ||
        ! await_status "$there" paused 2>>"$work/err"; then
        failed=$((failed + 1))
        echo "migration $i failed: $(cat "$work/err")" >&2
        QLAUNCH_RUNTIME_DIR=$there "$ql" kill cmp >/dev/null 2>&1 || true
        "$ql" kill cmp >/dev/null 2>&1 || true
        start_vm
        continue
    fi
    rm -f "$work/a.ram" "$work/b.ram"
    qmp "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": $size, \"filename\": \"$work/a.ram\"}}" >/dev/null
    QLAUNCH_RUNTIME_DIR=$there "$ql" qmp cmp "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": $size, \"filename\": \"$work/b.ram\"}}" >/dev/null
    # the dump must be the guest's memory, not a blank file
    grep -qa "Linux version" "$work/a.ram" || { echo "migrate-compare: the source's RAM dump holds no kernel" >&2; exit 1; }
    diff=$(cmp -l "$work/a.ram" "$work/b.ram" 2>/dev/null | awk '{print int(($1 - 1) / 4096)}' | uniq | sort -un || true)
    "$ql" kill cmp >/dev/null 2>&1 || true
    t=$here; here=$there; there=$t
    export QLAUNCH_RUNTIME_DIR=$here
    "$ql" resume cmp >/dev/null
    alive=yes
    "$ql" exec -t 10 cmp -- true >/dev/null 2>&1 || alive=no
    if [ -n "$diff" ]; then
        bad=$((bad + 1))
        k=$(wc -l <<< "$diff")
        pages=$((pages + k))
        where=$(classify <<< "$diff" | cut -c1-400)
        lines+=("$i: $k pages differ (agent answers after: $alive): $where")
        echo "migration $i: $k pages differ, agent after: $alive: $where" >&2
    fi
    if [ $alive = no ]; then
        lost=$((lost + 1))
        [ -n "$diff" ] || lines+=("$i: guest lost, RAM identical")
        "$ql" kill cmp >/dev/null 2>&1 || true
        start_vm
        iomem
    fi
done
what="$n migrations ($mode, $load guest, TCG, $( [ "$fast" = 1 ] && echo "fast dirty-sync path (RAM 64-page aligned)" || echo "qlaunch's RAM held back 8 KiB"))"
echo "migrate-compare: $what: $bad with differing pages ($pages pages), $lost guests lost, $failed migrations failed" >&2
name=migrate-compare-$mode-$load; [ "$fast" = 1 ] && name=$name-fast
{
    printf '{"mode": "%s", "load": "%s", "fast_path": %s, "migrations": %s, "differing": %s, "pages": %s, "lost": %s, "failed": %s, "findings": [' \
        "$mode" "$load" "$([ "$fast" = 1 ] && echo true || echo false)" "$n" "$bad" "$pages" "$lost" "$failed"
    sep=
    for l in "${lines[@]}"; do printf '%s"%s"' "$sep" "$(sed 's/[\\"]/\\&/g' <<< "$l")"; sep=', '; done
    printf ']}\n'
} > "$out/$name.json"
cat "$out/$name.json"
