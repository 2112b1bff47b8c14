#!/usr/bin/env bash
# The main job on the embedded guest, end to end: boot tiny, run a command
# in it, qlaunch bench (sysbench cpu + memory, guest vs host), snapshot + rollback
# proven by a folder that disappears, pause/resume, graceful stop.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ql=$top/qlaunch
vm=tiny
secs=${DEMO_SECONDS:-3}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
stop_vm() { "$ql" stop "$vm" >/dev/null 2>&1 || true; }

if "$ql" status "$vm" --json | grep -q '"pid"'; then
    echo "demo: VM $vm is already running; stop it first (qlaunch stop $vm)" >&2
    exit 1
fi
trap stop_vm EXIT

step "qlaunch start $vm --wait-agent"
"$ql" start "$vm" --wait-agent
"$ql" status "$vm"

step "qlaunch exec $vm -- uname -a"
"$ql" exec "$vm" -- uname -a

step "qlaunch bench $vm: sysbench cpu and memory in the guest and on the host, side by side"
"$ql" bench "$vm" --tests cpu,memory --runs 2 --time "$secs" --out "$top/build/demo-bench"

step "snapshot, then rollback: the folder made after the snapshot must disappear"
"$ql" exec "$vm" -- sh -c 'echo kept > /data/keep.txt && sync'
"$ql" snapshot save "$vm" demo --force
"$ql" exec "$vm" -- sh -c 'mkdir -p "/data/uji rollback" && echo x > "/data/uji rollback/test.txt" && sync'
echo "after snapshot:  $("$ql" exec "$vm" -- ls /data | tr '\n' ' ')"
"$ql" snapshot load "$vm" demo
after=$("$ql" exec "$vm" -- ls /data | tr '\n' ' ')
echo "after rollback:  $after"
case "$after" in
    *"uji rollback"*) echo "demo: rollback FAILED: the folder is still there" >&2; exit 1 ;;
    *keep.txt*) echo "rollback proven: 'uji rollback' is gone, keep.txt is kept" ;;
    *) echo "demo: rollback FAILED: keep.txt is missing" >&2; exit 1 ;;
esac
"$ql" snapshot list "$vm"
"$ql" snapshot delete "$vm" demo

step "pause and resume"
"$ql" pause "$vm"
"$ql" status "$vm" --json | grep '"state"'
"$ql" resume "$vm"
"$ql" status "$vm" --json | grep '"state"'

step "qlaunch stop $vm"
trap - EXIT
"$ql" stop "$vm"
echo
echo "demo: done"
