#!/usr/bin/env bash
# Live migration of the embedded guest: --local handover, a busy guest with
# auto-converge and post-copy, cancel half-way, a mismatched destination,
# and the URI path to a destination started with --incoming (on loopback).

# A guest lost after a migration (panicked, or its agent silent) fails the
# test at once, with QEMU's view of the guest. No retry: with the TCG
# dirty-sync workaround (README, Live migration) 0 of 1000 local, 300 tcp
# and 100 busy post-copy soak migrations lost their guest.
. "$(dirname "$0")/lib.sh"
ex() { "$QL" exec tiny -- sh -c "$1"; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<< "$out" | head -1; }
positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }
dirty() { ex 'sysbench memory --time=120 --memory-total-size=100000G run >/dev/null 2>&1 &'; }
# guest_run CMD...: like run, for a command that needs the guest's agent;
# when it fails, QEMU's view of the guest is printed (guest-panicked: its
# pvpanic device fired) and guest_alive, after the checks, ends the attempt
guest_run() {
    run "$@"
    lost=
    [ "$rc" -eq 0 ] && return
    lost=$("$QL" status tiny --json 2>&1 | grep -o '"state": "[^"]*"')
    lost=${lost:-"(status did not answer)"}
}
guest_alive() {
    [ -z "$lost" ] && return
    echo "# guest lost after a migration (QEMU state: $lost): the rest needs it"
    done_testing
    exit 1
}

"$QL" start -q tiny --wait-agent >/dev/null || { not_ok "start tiny"; done_testing; exit 1; }
ex 'echo migrated-file > /data/m.txt && echo migrated-mem > /tmp/m.txt && sync'
old=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")

run "$QL" migrate tiny --local --json
mig1=$out
check "local migration of an idle VM" [ "$rc" -eq 0 ]
new=$(field new_pid)
check "metrics: total time > 0" positive "$(field total_time_ms)"
check "metrics: transferred > 0" positive "$(field transferred_bytes)"
check "metrics: downtime reported" has '"downtime_ms"'
run "$QL" status tiny --json
check "status shows the new pid ($new)" has "\"pid\": $new"
check "the old QEMU ($old) is gone" gone "$old"
guest_run "$QL" exec tiny -- cat /data/m.txt /tmp/m.txt
check "the agent answers and a file written before is readable" has "migrated-file"
check "memory came along (/tmp)" has "migrated-mem"
guest_alive
check "no destination dir is left" [ ! -e "$QLAUNCH_RUNTIME_DIR"/tiny+incoming.* ]
check "the migration sent no guest RAM (shared memory, x-ignore-shared)" bash -c '[[ $1 == *"\"x-ignore-shared\""* ]]' _ "$mig1"
# a snapshot of the VM after such a migration still holds its RAM
ex 'echo before-snap > /tmp/s.txt' >/dev/null
run "$QL" snapshot save tiny aftermig --json
vmstate=$(sed -n 's/.*"vm_state_size": \([0-9]*\).*/\1/p' <<< "$out")
check "snapshot save after a shared-RAM migration saves RAM (VM state ${vmstate:-?} bytes)" [ "${vmstate:-0}" -gt 20000000 ]
ex 'echo after-snap > /tmp/s.txt' >/dev/null
"$QL" snapshot load tiny aftermig >/dev/null
guest_run "$QL" exec tiny -- cat /tmp/s.txt
check "... and loading it brings the memory back" has "before-snap"
guest_alive
"$QL" snapshot delete tiny aftermig >/dev/null

dirty
run "$QL" migrate tiny --local --json
check "busy guest: plain precopy completes" [ "$rc" -eq 0 ]
guest_run "$QL" exec -t 20 tiny -- echo after-busy-precopy
check "busy guest: every vCPU still wakes after precopy (the agent answers)" has "after-busy-precopy"
guest_alive
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
guest_run "$QL" exec tiny -- echo after-postcopy
check "the guest answers after post-copy" has "after-postcopy"
guest_alive

pid=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")
bg "$work/cancel.out" "$QL" migrate -v tiny --local --bandwidth 1
check "cancel: the migration is under way" await 60 "$work/cancel.out" '"status": "active"'
kill -INT "$bg"
bg_wait "$work/cancel.out"
check "cancel half-way: migrate exits 1" [ "$rc" -eq 1 ]
check "cancel: the reason is printed" has "interrupted"
guest_run "$QL" exec tiny -- echo source-alive
check "cancel: the source keeps running and answers the agent" has "source-alive"
guest_alive
check "cancel: the source pid is unchanged" [ "$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")" = "$pid" ]
check "cancel: the destination is gone" [ ! -e "$QLAUNCH_RUNTIME_DIR"/tiny+incoming.* ]
check "cancel: no second QEMU for tiny" [ "$(pgrep -fc "$QLAUNCH_RUNTIME_DIR/tiny")" -eq 1 ]

# A destination that dies half-way: the migration fails, the source runs on.
bg "$work/dead.out" "$QL" migrate -v tiny --local --bandwidth 1
check "dead destination: the migration is under way" await 60 "$work/dead.out" '"status": "active"'
kill -9 "$(cat "$QLAUNCH_RUNTIME_DIR"/tiny+incoming.*/qemu.pid)"
bg_wait "$work/dead.out"
check "dead destination: migrate exits 1" [ "$rc" -eq 1 ]
check "dead destination: the reason is printed" has "did not complete"
guest_run "$QL" exec tiny -- echo alive-after-dead-destination
check "dead destination: the source keeps running" has "alive-after-dead-destination"
guest_alive
check "dead destination: its runtime dir is removed" [ ! -e "$QLAUNCH_RUNTIME_DIR"/tiny+incoming.* ]

# A paused VM migrates paused (QEMU does not start it at the destination).
"$QL" pause tiny >/dev/null
run "$QL" migrate tiny --local
check "a paused VM migrates" [ "$rc" -eq 0 ]
run "$QL" status tiny --json
check "... and is paused at the destination" has '"state": "paused"'
"$QL" resume tiny >/dev/null
guest_run "$QL" exec tiny -- echo resumed-after-paused-migration
check "... and runs on when resumed (the guest answers)" has "resumed-after-paused-migration"
guest_alive

# The destination's name is no VM's: a VM named tiny.incoming (a valid
# name) is not touched by migrate tiny --local.
printf '[vm]\nname=tiny.incoming\nmemory=128M\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet\n[net 0]\nmode=none\n[agent]\nenabled=false\n' > "$work/bystander.ini"
"$QL" start -q "$work/bystander.ini" >/dev/null
by=$(cat "$QLAUNCH_RUNTIME_DIR/tiny.incoming/qemu.pid")
run "$QL" migrate tiny --local
check "migrate tiny --local beside a VM named tiny.incoming (rc $rc)" [ "$rc" -eq 0 ]
check "... which still runs, untouched (pid $by)" bash -c '! [ "$(sed "s/.*) \(.\).*/\1/" /proc/$1/stat 2>/dev/null)" = Z ] && kill -0 "$1"' _ "$by"
"$QL" kill tiny.incoming >/dev/null
# Two migrations of one VM at once: the second fails, and discards only
# the destination it started itself.
bg "$work/first.out" "$QL" migrate -v tiny --local --bandwidth 1
check "first migration under way" await 60 "$work/first.out" '"status": "active"'
run "$QL" migrate tiny --local
check "a second migration at once fails, saying the VM is busy (rc $rc)" bash -c '[ "$1" -ne 0 ] && [[ $2 == *"is busy"* ]]' _ "$rc" "$out"
live=0; for q in $(pgrep -f -- "-name guest=tiny,.*$QLAUNCH_RUNTIME_DIR/tiny"); do gone "$q" || live=$((live + 1)); done
check "... the first one's destination still runs (source + destination: $live QEMUs)" [ "$live" -eq 2 ]
kill -INT "$bg"
bg_wait "$work/first.out"
check "... and the first, interrupted, cancels cleanly (rc $rc)" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"keeps running on the source"* ]]' _ "$rc" "$out"
guest_run "$QL" exec tiny -- echo after-two
check "... the guest answers on the source" has "after-two"
guest_alive

# Lifecycle verbs take turns on one VM: two stops at once stop it once,
# and a stop during a migration waits for it, then stops the VM where it
# now runs.
bg "$work/mig3.out" "$QL" migrate -v tiny --local --bandwidth 8
check "a slow migration is under way" await 60 "$work/mig3.out" '"status": "active"'
run "$QL" migrate tiny --local
check "a second migration at once is refused: busy (rc $rc)" bash -c '[ "$1" -ne 0 ] && [[ $2 == *"is busy"* ]]' _ "$rc" "$out"
( "$QL" stop tiny > "$work/stop1.out" 2>&1; echo "rc=$?" >> "$work/stop1.out" ) &
s1=$!
( "$QL" stop tiny > "$work/stop2.out" 2>&1; echo "rc=$?" >> "$work/stop2.out" ) &
s2=$!
bg_wait "$work/mig3.out"
check "... the first migration completes meanwhile (rc $rc)" [ "$rc" -eq 0 ]
wait "$s1" "$s2"
stops=$(cat "$work/stop1.out" "$work/stop2.out")
check "two stops racing a migration: one stops the VM where it now runs, one says it is gone" \
    bash -c '[[ $(grep -c "^stopped tiny" <<< "$1") -eq 1 && $1 == *"not running any more"* ]]' _ "$stops"
check "... and nothing of tiny is left" bash -c '[ ! -e "$1/tiny" ] && ! pgrep -f -- "-pidfile $1/tiny" >/dev/null' _ "$QLAUNCH_RUNTIME_DIR"
"$QL" start -q tiny --wait-agent >/dev/null
ex 'echo migrated-mem > /tmp/m.txt'

# --- --probe: what the guest's users see during a migration ---
# jget JSON EXPR: a value of the JSON (perl's core JSON::PP), EXPR on $j
jget() { perl -MJSON::PP -e 'my $j = decode_json(join "", <STDIN>); my $v = eval $ARGV[0]; print defined $v ? $v : "null"' "$2" <<< "$1"; }
guest_run "$QL" migrate tiny --local --probe --json
check "migrate --local --probe succeeds" [ "$rc" -eq 0 ]
guest_alive
for k in sent received lost longest_gap_ms gap_start_ms migration_ms guest_pause_ms forward_takeover_ms; do
    v=$(jget "$out" "\$j->{probe}{$k}")
    check "the probe reports $k ($v)" matches "$v" '^-?[0-9]'
done
for ph in before during after; do
    for k in sent lost delay_p50_ms delay_p99_ms jitter_ms; do
        v=$(jget "$out" "\$j->{probe}{phases}{$ph}{$k}")
        check "... $ph: $k ($v)" [ "$v" != null ]
    done
done
check "... the stream went to the VM's own forward on loopback" \
    matches "$(jget "$out" '$j->{probe}{target}')" '^127\.0\.0\.1:[0-9]+ \(forward udp:127\.0\.0\.1:[0-9]+-:47007\)$'
check "... most datagrams came back before the migration ($(jget "$out" '$j->{probe}{phases}{before}{lost}') lost)" \
    [ "$(jget "$out" '$j->{probe}{phases}{before}{lost} <= 5 ? 1 : 0')" = 1 ]
run "$QL" forward list tiny
check "the probe's forward is gone afterwards" bash -c '[[ $1 != *47007* ]]' _ "$out"
run ex 'ps | grep -c "[q]launch-probe"'
check "... and so are its processes in the guest" [ "$out" = 0 ]
# A migration held to 20 MiB/s (about 3 s of copying): its longest gap is
# accounted for by the outages qlaunch measured: QEMU's downtime, the
# guest's clock jump, the forward takeover, two probe intervals and the
# worst phase delay (the arithmetic of the report, not a time bound).
guest_run "$QL" migrate tiny --local --probe --bandwidth 20 --json
check "a 20 MiB/s migration with --probe succeeds" [ "$rc" -eq 0 ]
guest_alive
# (held to the cap: at least 90% of the time its bytes take at 20 MiB/s,
# and long enough for the outages to be a small part of it)
check "... it was held to 20 MiB/s: $(jget "$out" '$j->{probe}{migration_ms}') ms for $(jget "$out" 'int($j->{transferred_bytes} / 1048576)') MiB, at least 2 s" \
    [ "$(jget "$out" 'my $m = $j->{probe}{migration_ms}; $m >= 2000 && $m >= 0.9 * 1000 * $j->{transferred_bytes} / (20 * 1048576) ? 1 : 0')" = 1 ]
sum=$(jget "$out" 'my $p = $j->{probe}; my $m = 0; for (values %{$p->{phases}}) { $m = $_->{delay_p99_ms} if $_->{delay_p99_ms} > $m }
    $j->{downtime_ms} + $p->{guest_pause_ms} + $p->{forward_takeover_ms} + 2 * $p->{interval_ms} + $m')
gap=$(jget "$out" '$j->{probe}{longest_gap_ms}')
check "... its longest gap ($gap ms) is no more than the outages measured and the delays ($sum ms)" \
    awk -v g="$gap" -v s="$sum" 'BEGIN { exit !(g > 0 && g <= s) }'
check "... and every datagram is counted once (sent = received + lost)" \
    [ "$(jget "$out" '$j->{probe}{sent} == $j->{probe}{received} + $j->{probe}{lost} ? 1 : 0')" = 1 ]
run "$QL" migrate tiny tcp:127.0.0.1:1 --probe
check_all "--probe without --local is a usage error saying why" '[ "$rc" -eq 2 ] && has "--probe needs --local"'
ex 'cat /tmp/m.txt' > /dev/null

printf '[vm]\nname=tiny\nmemory=1G\ncpus=2\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[disk data]\nsize=1G\n[net 0]\nmode=user\n' > "$work/mismatch.ini"
run "$QL" migrate tiny --local --profile "$work/mismatch.ini"
check "a mismatched destination profile is refused" [ "$rc" -eq 1 ]
check "the refusal names the difference" has "memory differs: 512 MiB here, 1024 MiB"
check "nothing was started for it" [ ! -e "$QLAUNCH_RUNTIME_DIR"/tiny+incoming.* ]

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
