#!/usr/bin/env bash
# Live migration of the embedded guest: --local handover, a busy guest with
# auto-converge and post-copy, cancel half-way, a mismatched destination,
# and the URI path to a destination started with --incoming (on loopback).
. "$(dirname "$0")/lib.sh"
ex() { "$QL" exec tiny -- sh -c "$1"; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<< "$out" | head -1; }
positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }
dirty() { ex 'sysbench memory --time=120 --memory-total-size=100000G run >/dev/null 2>&1 &'; }

"$QL" start -q tiny --wait-agent >/dev/null || { not_ok "start tiny"; done_testing; exit 1; }
ex 'echo migrated-file > /data/m.txt && echo migrated-mem > /tmp/m.txt && sync'
old=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")

run "$QL" migrate tiny --local --json
check "local migration of an idle VM" [ "$rc" -eq 0 ]
new=$(field new_pid)
check "metrics: total time > 0" positive "$(field total_time_ms)"
check "metrics: transferred > 0" positive "$(field transferred_bytes)"
check "metrics: downtime reported" has '"downtime_ms"'
run "$QL" status tiny --json
check "status shows the new pid ($new)" has "\"pid\": $new"
check "the old QEMU ($old) is gone" gone "$old"
run "$QL" exec tiny -- cat /data/m.txt /tmp/m.txt
check "the agent answers and a file written before is readable" has "migrated-file"
check "memory came along (/tmp)" has "migrated-mem"
check "no destination dir is left" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny.incoming" ]

dirty
run "$QL" migrate tiny --local --json
check "busy guest: plain precopy completes" [ "$rc" -eq 0 ]
run "$QL" exec -t 20 tiny -- echo after-busy-precopy
check "busy guest: every vCPU still wakes after precopy (the agent answers)" has "after-busy-precopy"
run "$QL" migrate tiny --local --auto-converge --json
check "busy guest: completes with --auto-converge" [ "$rc" -eq 0 ]
check "busy guest, auto-converge: total time > 0" positive "$(field total_time_ms)"
check "busy guest, auto-converge: lists the capability" has '"auto-converge"'
ex 'killall sysbench; true'; dirty
run "$QL" migrate tiny --local --postcopy --json
check "busy guest: completes with --postcopy" [ "$rc" -eq 0 ]
check "post-copy mode reported" has '"mode": "postcopy"'
check "post-copy: transferred > 0" positive "$(field transferred_bytes)"
ex 'killall sysbench; true'
run "$QL" exec tiny -- echo after-postcopy
check "the guest answers after post-copy" has "after-postcopy"

pid=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")
"$QL" migrate tiny --local --bandwidth 1 > "$work/cancel.out" 2>&1 &
mpid=$!
sleep 3
kill -INT "$mpid"
wait "$mpid"; rc=$?; out=$(cat "$work/cancel.out")
check "cancel half-way: migrate exits 1" [ "$rc" -eq 1 ]
check "cancel: the reason is printed" has "interrupted"
run "$QL" exec tiny -- echo source-alive
check "cancel: the source keeps running and answers the agent" has "source-alive"
check "cancel: the source pid is unchanged" [ "$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")" = "$pid" ]
check "cancel: the destination is gone" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny.incoming" ]
check "cancel: no second QEMU for tiny" [ "$(pgrep -fc "$QLAUNCH_RUNTIME_DIR/tiny")" -eq 1 ]

# A destination that dies half-way: the migration fails, the source runs on.
"$QL" migrate tiny --local --bandwidth 1 > "$work/dead.out" 2>&1 &
mpid=$!
until_ok 10 test -s "$QLAUNCH_RUNTIME_DIR/tiny.incoming/qemu.pid"
sleep 1
kill -9 "$(cat "$QLAUNCH_RUNTIME_DIR/tiny.incoming/qemu.pid")"
wait "$mpid"; rc=$?; out=$(cat "$work/dead.out")
check "dead destination: migrate exits 1" [ "$rc" -eq 1 ]
check "dead destination: the reason is printed" has "did not complete"
run "$QL" exec tiny -- echo alive-after-dead-destination
check "dead destination: the source keeps running" has "alive-after-dead-destination"
check "dead destination: its runtime dir is removed" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny.incoming" ]

printf '[vm]\nname=tiny\nmemory=1G\ncpus=2\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[disk data]\nsize=1G\n[net 0]\nmode=user\n' > "$work/mismatch.ini"
run "$QL" migrate tiny --local --profile "$work/mismatch.ini"
check "a mismatched destination profile is refused" [ "$rc" -eq 1 ]
check "the refusal names the difference" has "memory differs: 512 MiB here, 1024 MiB"
check "nothing was started for it" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny.incoming" ]

# The URI path: a destination in its own runtime dir (as on another host).
port=$((20000 + RANDOM % 20000))
run env QLAUNCH_RUNTIME_DIR="$work/run2" "$QL" start tiny --incoming "tcp:127.0.0.1:$port"
check "start --incoming listens" [ "$rc" -eq 0 ]
run env QLAUNCH_RUNTIME_DIR="$work/run2" "$QL" status tiny --json
check "the destination waits in inmigrate" has '"state": "inmigrate"'
run "$QL" migrate tiny "tcp:127.0.0.1:$port"
check "migrate to tcp:127.0.0.1:$port" [ "$rc" -eq 0 ]
check "the source's runtime dir is gone" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny" ]
run env QLAUNCH_RUNTIME_DIR="$work/run2" "$QL" exec tiny -- cat /tmp/m.txt
check "the VM runs at the destination with its memory" has "migrated-mem"
env QLAUNCH_RUNTIME_DIR="$work/run2" "$QL" kill tiny >/dev/null

done_testing
