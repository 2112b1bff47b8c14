#!/usr/bin/env bash
# make migrate-soak: how often a guest survives a live migration on this host.
# SOAK_MIGRATIONS (150) idle `migrate --local` of tiny, one after another;
# after each, the guest agent must answer within 10 s. A lost guest is
# classified by QEMU's state (guest-panicked: its pvpanic device fired) and
# the panic line of its serial log, then a fresh VM goes on. SOAK_TCG_THREAD
# (multi|single) picks TCG's threading. SOAK_MODE picks the path: local
# (default: --local, the destination maps the source's shared RAM), copy
# (--local --copy-ram: RAM sent as to another host) or tcp (a destination
# started with --incoming tcp:127.0.0.1:PORT in a second runtime dir, the VM
# going back and forth) or postcopy (--local --postcopy of a guest busy
# writing memory). Result: build/bench/migrate-soak[-MODE].json.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
out=$top/build/bench
n=${SOAK_MIGRATIONS:-150}
thread=${SOAK_TCG_THREAD:-multi}
mode=${SOAK_MODE:-local}
case $mode in local | copy | tcp | postcopy) ;; *) echo "migrate-soak: SOAK_MODE is local, copy, tcp or postcopy" >&2; exit 2 ;; esac
suffix=; [ "$mode" = local ] || suffix=-$mode
work=$(mktemp -d /tmp/qlaunch-soak.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache \
    XDG_DATA_HOME=$work/data
here=$work/run there=$work/run2
cleanup() {
    QLAUNCH_RUNTIME_DIR=$here "$ql" kill soak >/dev/null 2>&1 || true
    QLAUNCH_RUNTIME_DIR=$there "$ql" kill soak >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
sed -e "s/^accel=.*/accel=tcg\ntcg-thread=$thread/" \
    -e "s|^\[agent\]|[serial]\nlog=$work/serial.log\n\n[agent]|" "$top/profiles/tiny.ini" > "$work/soak.ini"
grep -q '^log=' "$work/soak.ini" || { echo "migrate-soak: could not add a serial log to the profile" >&2; exit 1; }

start() { "$ql" start -q --wait-agent "$work/soak.ini" >/dev/null || { echo "migrate-soak: the VM did not start" >&2; exit 1; }; }
# migrate_once: one migration by SOAK_MODE; for tcp the VM then lives in
# the other runtime dir
migrate_once() {
    case $mode in
    local) "$ql" migrate -q soak --local --timeout 120 ;;
    copy) "$ql" migrate -q soak --local --copy-ram --timeout 120 ;;
    postcopy) # a busy guest: memory written all the time
        "$ql" exec soak -- sh -c 'pidof sysbench >/dev/null || { sysbench memory --time=100000 --memory-total-size=100000G run >/dev/null 2>&1 & }' &&
            "$ql" migrate -q soak --local --postcopy --timeout 120 ;;
    tcp)
        local port=$((20000 + RANDOM % 20000))
        QLAUNCH_RUNTIME_DIR=$there "$ql" start -q soak.ini --incoming "tcp:127.0.0.1:$port" >/dev/null &&
            "$ql" migrate -q soak "tcp:127.0.0.1:$port" --bandwidth 100000 --timeout 120 || return 1
        local t=$here; here=$there; there=$t
        export QLAUNCH_RUNTIME_DIR=$here
        ;;
    esac
}
cd "$work"
start
panicked=0 silent=0 failed=0 lines=()
for i in $(seq "$n"); do
    if ! migrate_once >/dev/null 2>"$work/err"; then
        failed=$((failed + 1))
        echo "migration $i failed: $(cat "$work/err")" >&2
    elif ! "$ql" exec -t 10 soak -- true >/dev/null 2>&1; then
        state=$("$ql" status soak --json | sed -n 's/.*"state": "\([^"]*\)".*/\1/p')
        line=$(grep -a -m1 -E 'BUG:|Kernel panic' "$work/serial.log" | tr -d '\r' || true)
        if [ "$state" = guest-panicked ]; then panicked=$((panicked + 1)); else silent=$((silent + 1)); fi
        lines+=("$i $state: ${line:-no oops on the console}")
        echo "migration $i: guest lost ($state): ${line:-no oops on the console}" >&2
    else
        continue
    fi
    QLAUNCH_RUNTIME_DIR=$there "$ql" kill soak >/dev/null 2>&1 || true
    "$ql" kill soak >/dev/null 2>&1 || true
    start
done
lost=$((panicked + silent))
echo "migrate-soak: $n idle migrations ($mode, TCG, thread=$thread): $lost guests lost ($panicked panicked, $silent silent agent), $failed migrations failed" >&2
{
    printf '{"mode": "%s", "migrations": %s, "tcg_thread": "%s", "lost": %s, "panicked": %s, "silent": %s, "failed": %s, "losses": [' \
        "$mode" "$n" "$thread" "$lost" "$panicked" "$silent" "$failed"
    sep=
    for l in "${lines[@]}"; do printf '%s"%s"' "$sep" "$(sed 's/[\\"]/\\&/g' <<< "$l")"; sep=', '; done
    printf ']}\n'
} > "$out/migrate-soak$suffix.json"
cat "$out/migrate-soak$suffix.json"
