#!/usr/bin/env bash
# Lifecycle of the embedded guest under real QEMU (TCG here): start, exec,
# cpus, pause/resume, console, stop, persistence, refusals, stale dirs.
. "$(dirname "$0")/lib.sh"

run "$QL" start tiny --wait-agent
check "start tiny --wait-agent" [ "$rc" -eq 0 ]
check "start says which accelerator and why" has "accel "
pid=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid" 2>/dev/null)
check "QEMU runs (pid $pid)" kill -0 "$pid"
check "runtime dir is 0700" [ "$(stat -c %a "$QLAUNCH_RUNTIME_DIR/tiny")" = 700 ]
for s in qmp qga serial; do
    check "$s.sock is 0600" [ "$(stat -c %a "$QLAUNCH_RUNTIME_DIR/tiny/$s.sock")" = 600 ]
done

run "$QL" status tiny
check "status: running" has "state:   running"
check "status shows the accelerator and reason" has "accel:   "

run "$QL" exec tiny -- uname -r
check "exec uname -r exits 0" [ "$rc" -eq 0 ]
check "exec prints the guest kernel release (the guest's own kernel)" matches "$out" '^[0-9]+\.[0-9]+\.[0-9]+-qlaunch$'
# the guest kernel's second vCPU takes the first one's delay-loop
# calibration instead of measuring its own (which never comes out the same)
run "$QL" exec tiny -- grep -i '^bogomips' /proc/cpuinfo
check_all "both vCPUs have the first one's delay-loop calibration ($(echo $out))" \
    '[ "$(echo "$out" | grep -c .)" -eq 2 ] && [ "$(echo "$out" | sort -u | grep -c .)" -eq 1 ]'
# the local APIC timer, counted over 20 ms at boot (the guest kernel's
# change), runs at QEMU's rate: 1 GHz / 16 is mult 2^28 at shift 32 (a
# count over the wrong window would be off by a factor; Linux keeps a count
# within 1% of the PM timer's uncorrected, and the window is timed by the
# TSC rate it calibrated at boot)
run "$QL" exec tiny -- sh -c 'grep -A4 "Clock Event Device: lapic" /proc/timer_list | grep -E "^ (mult|shift):"'
check_all "the APIC timer's calibrated rate is QEMU's to 2% ($(echo $out))" \
    'm=$(echo "$out" | awk "/mult/ {print \$2; exit}"); [ -n "$m" ] && echo "$out" | grep -qE "shift: +32$" && [ $(( (m > 268435456 ? m - 268435456 : 268435456 - m) * 100 / 268435456 )) -lt 2 ]'

run "$QL" exec tiny -- sh -c 'echo to-stderr >&2; exit 7'
check "exec returns a failing command's exit code (7)" [ "$rc" -eq 7 ]
check "exec passes the command's stderr" has "to-stderr"

run "$QL" exec tiny -- /no/such/binary
check "exec of a missing binary fails" [ "$rc" -ne 0 ]

run "$QL" cpus tiny --json
check "cpus lists 2 vCPUs" [ "$(echo "$out" | grep -c '"thread_id"')" -eq 2 ]
tids=$(echo "$out" | sed -n 's/.*"thread_id": \([0-9]*\).*/\1/p')
all_exist=true
for t in $tids; do [ -d "/proc/$pid/task/$t" ] || all_exist=false; done
check "vCPU thread ids exist under /proc/$pid/task" $all_exist
check "cpus reports CPU time" has '"cpu_time_s"'

"$QL" pause tiny >/dev/null
run "$QL" status tiny --json
check "pause -> status paused" has '"state": "paused"'
"$QL" resume tiny >/dev/null
run "$QL" status tiny --json
check "resume -> status running" has '"state": "running"'

run "$QL" qmp tiny '{"execute":"query-kvm"}'
check "qmp passthrough returns QEMU's answer" has '"present"'
run "$QL" qmp tiny '{"execute":"query-cpus"}'
check "qmp passthrough: QEMU's error class and desc (query-cpus is gone in 7.2)" has "CommandNotFound"

marker=console-$RANDOM$RANDOM
run bash -c "printf 'echo %s-ok\n' $marker | '$QL' console tiny --linger 1500"
check "console: a command typed on the serial line runs" has "$marker-ok"

run "$QL" start tiny
check "second start is refused" [ "$rc" -eq 1 ]
check "refusal says it is already running" has "already running"

"$QL" exec tiny -- sh -c 'echo kept-across-restart > /data/keep.txt && sync' >/dev/null
run "$QL" stop tiny
check "stop is graceful (guest agent shutdown)" has "guest agent shutdown"
check "QEMU process is gone after stop" gone "$pid"
check "runtime dir removed after stop" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny" ]

"$QL" start -q tiny --wait-agent >/dev/null
run "$QL" exec tiny -- cat /data/keep.txt
check "data written before stop is there after the next start" has "kept-across-restart"

"$QL" exec tiny -- sh -c 'echo acpi-kept > /data/acpi.txt && sync' >/dev/null
run "$QL" stop tiny --no-agent --json
check "stop --no-agent powers off through ACPI" has '"method": "ACPI powerdown"'
"$QL" start -q tiny --wait-agent >/dev/null
run "$QL" exec tiny -- cat /data/acpi.txt
check "data synced before an ACPI stop is kept" has "acpi-kept"

# Four stops at once take turns: one stops the VM, the others find it gone,
# and none leaves the runtime dir behind (a stop waiting for the lock once
# recreated the lock file just after the first had removed it).
spids=()
for i in 1 2 3 4; do
    ( "$QL" stop tiny > "$work/stop$i.out" 2>&1; echo "rc=$?" >> "$work/stop$i.out" ) &
    spids+=($!)
done
wait "${spids[@]}"
stops=$(cat "$work"/stop[1-4].out)
check "four stops at once: one stops tiny, three say it is not running" \
    bash -c '[ "$(grep -c "^stopped tiny" <<< "$1")" -eq 1 ] && [ "$(grep -c "not running" <<< "$1")" -eq 3 ]' _ "$stops"
check "... and nothing of tiny is left" [ ! -e "$QLAUNCH_RUNTIME_DIR/tiny" ]
"$QL" start -q tiny --wait-agent >/dev/null

pid=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")
kill -9 "$pid"; until_ok 10 gone "$pid"
run "$QL" status tiny
check "QEMU killed behind our back: status says stale" has "stale"
run "$QL" start tiny --wait-agent
check "start recovers a stale runtime dir" [ "$rc" -eq 0 ]
check "start says it cleaned the stale dir" has "cleaning stale runtime dir"
run "$QL" kill tiny
check "kill" [ "$rc" -eq 0 ]
run "$QL" list
check "list is empty after kill, and says so" bash -c '[ -z "$("$1" list 2>/dev/null)" ] && [[ $2 == *"no VMs are running"* ]]' _ "$QL" "$out"

# QEMU's version is asked once per binary and kept in the cache: a QEMU
# that says 9.0 (a wrapper on the real one) gets RAM of memory='s size, the
# real 7.2 under TCG 8 KiB less (its migration workaround), each by its own key
real_qemu=$(command -v qemu-system-x86_64)
mkdir -p "$work/q9"
printf '#!/bin/sh
[ "$1" = --version ] && { echo "QEMU emulator version 9.0.0"; exit 0; }
exec %s "$@"
' \
    "$real_qemu" > "$work/q9/qemu-system-x86_64"
chmod +x "$work/q9/qemu-system-x86_64"
argv_of() { grep -A1 '^ *"-m",$' "$QLAUNCH_RUNTIME_DIR/tiny/meta.json" | tail -1 | tr -d ' ",'; }
"$QL" start -q tiny >/dev/null
m72=$(argv_of); "$QL" kill -q tiny >/dev/null
QLAUNCH_QEMU="$work/q9/qemu-system-x86_64" "$QL" start -q tiny >/dev/null
m90=$(argv_of); "$QL" kill -q tiny >/dev/null
"$QL" start -q tiny >/dev/null
m72b=$(argv_of); "$QL" kill -q tiny >/dev/null
check_all "QEMU 7.2 under TCG gets 8 KiB less RAM, a 9.0 none, the cache mixing neither ($m72, $m90, $m72b)" \
    '[ "$m72" = 524280K ] && [ "$m90" = 512M ] && [ "$m72b" = 524280K ]'
check_all "... and the cache holds each binary's major" \
    'grep -q "^$real_qemu .*" "$XDG_CACHE_HOME/qlaunch/qemu-version"'

done_testing
