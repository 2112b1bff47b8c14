# Shared by the integration tests: TAP helpers and an isolated qlaunch.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QL=${QLAUNCH_BIN:-$top/qlaunch}
work=$(mktemp -d /tmp/qlaunch-it.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
export QLAUNCH_GUEST_DIR=${QLAUNCH_GUEST_DIR:-$top/build/guest}
n=0; failed=0

cleanup() {
    for pf in "$QLAUNCH_RUNTIME_DIR"/*/qemu.pid; do
        [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null
    done
    sleep 0.2
    # Mounts a test made under $work (e.g. a small tmpfs) go before the files.
    grep -o " $work/[^ ]*" /proc/mounts | while read -r m; do umount -l "$m"; done
    rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command: $*"; fi; }
# run CMD...: stores stdout+stderr in $out and the exit code in $rc
run() { out=$("$@" 2>&1); rc=$?; }
has() { [[ $out == *"$1"* ]] || { echo "#   output lacks '$1':"; echo "$out" | sed 's/^/#   | /'; return 1; }; }
# gone PID: no such process, or a zombie waiting for init to reap it
gone() { [ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# until_ok SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
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
