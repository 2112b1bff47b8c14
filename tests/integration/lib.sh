# Shared by the integration tests: TAP helpers and an isolated qlaunch.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QL=${QLAUNCH_BIN:-$top/qlaunch}
work=$(mktemp -d /tmp/qlaunch-it.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
export QLAUNCH_GUEST_DIR=${QLAUNCH_GUEST_DIR:-$top/build/guest}
n=0; failed=0

cleanup() {
    local pf p left=()
    for pf in "$QLAUNCH_RUNTIME_DIR"/*/qemu.pid; do
        [ -f "$pf" ] && p=$(cat "$pf") && kill -9 "$p" 2>/dev/null && left+=("$p")
    done
    for p in "${left[@]}"; do until_ok 10 gone "$p"; done
    [ -n "${throttle_cg:-}" ] && rmdir "$throttle_cg" 2>/dev/null
    # Mounts a test made under $work (e.g. a small tmpfs) go before the files.
    grep -o " $work/[^ ]*" /proc/mounts | while read -r m; do umount -l "$m"; done
    rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command: $*"; fi; }
# check_all DESCRIPTION 'A && B ...': ok when the whole list succeeds (with
# check, "check D [ x ] && has y" would test only [ x ] and never fail on y)
check_all() { if eval "$2"; then ok "$1"; else not_ok "$1" "expression: $2"; fi; }
# run CMD...: stores stdout+stderr in $out and the exit code in $rc
run() { out=$("$@" 2>&1); rc=$?; }
has() { [[ $out == *"$1"* ]] || { echo "#   output lacks '$1':"; echo "$out" | sed 's/^/#   | /'; return 1; }; }
lacks() { [[ $out != *"$1"* ]] || { echo "#   output has '$1':"; echo "$out" | sed 's/^/#   | /'; return 1; }; }
# gone PID: no such process, or a zombie waiting for init to reap it whose
# other threads have exited too (as qlaunch's proc_alive judges: a killed
# QEMU's main thread is a zombie while its vCPU threads still hold its
# sockets and the pidfile's lock)
gone() {
    [ ! -e "/proc/$1/stat" ] && return 0
    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ] || return 1
    local threads
    threads=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    [ -z "$threads" ] || [ "$threads" -le 1 ]
}
# until_ok SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
}
# bg LOG CMD...: runs CMD in the background, stdout+stderr to LOG; $bg is its pid
bg() { local log=$1; shift; "$@" > "$log" 2>&1 & bg=$!; }
# bg_wait LOG: waits for $bg; then $rc, $secs (since bg_wait was called) and
# $out (LOG less the debug lines of -v)
bg_wait() { local t0=$SECONDS; wait "$bg"; rc=$?; secs=$((SECONDS - t0)); out=$(grep -v -- '-DEBUG: ' "$1"); }
# await SECONDS FILE REGEX: polls FILE every 10 ms until a line matches the
# extended REGEX; 1 (saying so) when SECONDS pass first. Faults are injected
# where await saw the state they belong in, never after a guessed sleep.
await() {
    local end=$((SECONDS + $1))
    until grep -qE -- "$3" "$2" 2>/dev/null; do
        [ "$SECONDS" -ge "$end" ] && { echo "#   no /$3/ in $2 within $1 s"; return 1; }
        sleep 0.01
    done
}
# throttle PID PCT: caps the process at PCT % of one CPU in a cgroup of the
# test's own (v2, else v1's cpu controller), so that a step a fault must
# land in lasts long enough to be seen; unthrottle PID lifts the cap.
throttle() {
    local v2=/sys/fs/cgroup v1=/sys/fs/cgroup/cpu
    if [ -f $v2/cgroup.controllers ]; then
        throttle_cg=$v2/qlaunch-test.$$
        grep -qw cpu $v2/cgroup.subtree_control || echo +cpu > $v2/cgroup.subtree_control
        mkdir -p "$throttle_cg" && echo "$(($2 * 1000)) 100000" > "$throttle_cg/cpu.max"
    elif [ -d $v1 ]; then
        throttle_cg=$v1/qlaunch-test.$$
        mkdir -p "$throttle_cg" && echo 100000 > "$throttle_cg/cpu.cfs_period_us" &&
            echo $(($2 * 1000)) > "$throttle_cg/cpu.cfs_quota_us"
    else
        echo "#   throttle: no cgroup cpu controller"; return 1
    fi
    echo "$1" > "$throttle_cg/cgroup.procs"
}
unthrottle() {
    if [ -f "$throttle_cg/cpu.max" ]; then echo max > "$throttle_cg/cpu.max"
    else echo -1 > "$throttle_cg/cpu.cfs_quota_us"; fi
}
matches() { [[ $1 =~ $2 ]]; }
done_testing() { echo "1..$n"; [ "$failed" -eq 0 ]; }

# netns_open NS...: the test's own network namespaces (creating them needs
# root: without it the test fails, saying so); lo is up in each. At exit a
# NAT network 'default' started in the first is stopped, a dnsmasq of the
# test's own is killed, the namespaces go, then cleanup and any function
# named in $netns_extra_cleanup. inns CMD... runs in the first namespace.
netns_open() {
    test_ns=()
    trap netns_cleanup EXIT
    for ns1 in "$@"; do
        if ! ip netns add "$ns1" 2>/dev/null; then
            not_ok "this test needs network namespaces of its own (run as root)"
            done_testing
            exit 1
        fi
        test_ns+=("$ns1")
        ip netns exec "$ns1" ip link set lo up
    done
}
netns_cleanup() {
    [ -n "${netns_extra_cleanup:-}" ] && "$netns_extra_cleanup"
    [ "${#test_ns[@]}" -gt 0 ] && ip netns exec "${test_ns[0]}" "$QL" net stop --force default >/dev/null 2>&1
    for p in $(pgrep -f -- "--conf-file=$work/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    for ns1 in "${test_ns[@]}"; do ip netns del "$ns1" 2>/dev/null; done
    cleanup
}
inns() { ip netns exec "${test_ns[0]}" "$@"; }
