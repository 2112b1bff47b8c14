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
matches() { [[ $1 =~ $2 ]]; }
done_testing() { echo "1..$n"; [ "$failed" -eq 0 ]; }
