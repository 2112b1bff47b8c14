#!/usr/bin/env bash
# Fault injection on real VMs: QEMU killed during a command, a snapshot save
# and a migration; a guest agent that is not running; qlaunch commands at
# once on one VM; start racing itself; SIGTERM/SIGINT to qlaunch during
# start, stop, snapshot save and migrate.
# Each must end within its deadline with a clear message and leave the VM
# in a state the next command can use.
. "$(dirname "$0")/lib.sh"

prof() { # FILE NAME
    printf '[vm]\nname=%s\nmemory=256M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[disk data]\nsize=256M\n[net 0]\nmode=none\n[agent]\nenabled=true\n' \
        "$2" > "$1"
}
qpid() { cat "$QLAUNCH_RUNTIME_DIR/$1/qemu.pid" 2>/dev/null; }
# live_qemus NAME: QEMUs of VM NAME that run (killed ones may stay zombies
# here: this machine's init does not reap them)
# live_qemus NAME: QEMUs of VM NAME in this test's runtime dir (not another
# suite's VM of the same name on this host) that have not exited
live_qemus() {
    local p n=0
    for p in $(pgrep -x "qlaunch-$1"); do
        tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$QLAUNCH_RUNTIME_DIR/" || continue
        gone "$p" || n=$((n + 1))
    done
    echo $n
}
no_live_qemus() { [ "$(live_qemus "$1")" -eq 0 ]; }
# timed CMD...: like run, and $secs is how long it took
timed() { local t0=$SECONDS; run "$@"; secs=$((SECONDS - t0)); }
# interrupt SIG REGEX CMD...: runs CMD (with -v) in the background and sends
# it SIG once its QMP traffic matches REGEX; then $rc, $out and $secs (from
# the signal to its exit), and $seen (0 when REGEX showed in time)
interrupt() {
    local sig=$1 re=$2
    shift 2
    bg "$work/int.log" "$@"
    await 60 "$work/int.log" "$re"
    seen=$?
    kill -"$sig" "$bg"
    bg_wait "$work/int.log"
}
prof "$work/f.ini" f

# --- QEMU killed during a guest command ---
"$QL" start -q "$work/f.ini" --wait-agent >/dev/null
pid=$(qpid f)
bg "$work/exec.log" "$QL" exec -v f -- sleep 60
check "the guest command runs (its status is polled)" await 30 "$work/exec.log" 'guest-exec-status'
kill -9 "$pid"
bg_wait "$work/exec.log"
check "exec while QEMU is killed fails (rc $rc)" [ "$rc" -ne 0 ]
check "... within its deadline, not after the 60 s command ($secs s)" [ "$secs" -lt 20 ]
check "... with a clear message" bash -c '[[ $1 == *"qlaunch:"* && $1 == *"f"* ]]' _ "$out"
run "$QL" status f
check "status then says stale" has "stale"
run "$QL" start "$work/f.ini" --wait-agent
check "start recovers the stale runtime dir" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"cleaning stale runtime dir"* ]]' _ "$rc" "$out"

# --- QEMU killed during a snapshot save ---
"$QL" exec f -- sh -c 'dd if=/dev/urandom of=/tmp/fill bs=1M count=120 2>/dev/null' >/dev/null
pid=$(qpid f)
# At 3% of a CPU the save takes seconds, not 0.2 s: the kill lands in it.
check "QEMU throttled to 3% of a CPU" throttle "$pid" 3
bg "$work/save.log" "$QL" snapshot save -v f s1
check "the save job runs" await 60 "$work/save.log" '"status": "running"'
kill -9 "$pid"
bg_wait "$work/save.log"
check "... and QEMU is killed before it concluded" bash -c '! grep -q "\"concluded\"" "$1"' _ "$work/save.log"
check "snapshot save while QEMU is killed fails (rc $rc)" [ "$rc" -ne 0 ]
check "... within its deadline ($secs s)" [ "$secs" -lt 30 ]
check "... saying so" has "qlaunch:"
disk=$QLAUNCH_STATE_DIR/f/data.qcow2
until_ok 10 gone "$pid"
qemu-img check -q "$disk" >/dev/null 2>&1
rc=$?
check "the disk is still a consistent qcow2 (qemu-img check: 0, or 3 = leaked clusters only; got $rc)" \
    bash -c '[ "$1" -eq 0 ] || [ "$1" -eq 3 ]' _ "$rc"
run "$QL" start "$work/f.ini" --wait-agent
check "the VM starts again after the killed save" [ "$rc" -eq 0 ]
run "$QL" snapshot save f s2
check "and a snapshot can be saved" [ "$rc" -eq 0 ]

# --- the source QEMU killed during a migration ---
"$QL" exec f -- sh -c 'sysbench memory --time=600 --memory-total-size=100000G run >/dev/null 2>&1 &' >/dev/null
pid=$(qpid f)
bg "$work/mig.log" "$QL" migrate -v f --local --bandwidth 8 --timeout 60
check "the migration is under way" await 60 "$work/mig.log" '"status": "active"'
kill -9 "$pid"
bg_wait "$work/mig.log"
check "migrate while the source QEMU is killed fails (rc $rc)" [ "$rc" -ne 0 ]
check "... within its deadline ($secs s)" [ "$secs" -lt 40 ]
check "... and says what happened" has "qlaunch:"
# A SIGKILLed QEMU can take a moment to exit on a loaded host: allow 10 s,
# an orphan destination would still be there after that.
until_ok 10 no_live_qemus f
left=$(live_qemus f)
check "no QEMU of f is left (no orphan destination; $left left)" [ "$left" -eq 0 ]
[ "$left" -eq 0 ] || { echo "$out" | sed 's/^/#   | /'; ps -o pid,stat,etime,args -C "qlaunch-f" | sed 's/^/#   ps: /'; }
run "$QL" start "$work/f.ini" --wait-agent
check "f starts again" [ "$rc" -eq 0 ]

# --- the guest agent not running (the guest's init restarts it: take it away) ---
# (this exec cannot hear back once the agent is gone: it ends at its 10 s deadline)
"$QL" exec --timeout 10 f -- sh -c 'mv "$(command -v qemu-ga)" /tmp/qemu-ga.off; killall qemu-ga; true' >/dev/null 2>&1
timed "$QL" exec --timeout 5 f -- true
check "exec without a guest agent fails within its deadline ($secs s)" bash -c '[ "$1" -ne 0 ] && [ "$2" -lt 40 ]' _ "$rc" "$secs"
check "... saying the agent did not answer" has "did not answer"

# --- a guest whose kernel panics: start --wait-agent says so from the serial
# log instead of waiting out its whole timeout for an agent that never comes ---
printf '[vm]\nname=pan\nmemory=192M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet rdinit=/nonexistent\n[agent]\nenabled=true\n[serial]\nlog=%s/pan.log\n' \
    "$work" > "$work/pan.ini"
timed "$QL" start --wait-agent --timeout 300 "$work/pan.ini"
check "start --wait-agent on a guest that panics fails, not at its 300 s timeout ($rc, $secs s)" \
    bash -c '[ "$1" -ne 0 ] && [ "$2" -lt 290 ]' _ "$rc" "$secs"
check "... saying the guest panicked, with the panic line and the log" \
    bash -c '[[ $1 == *"guest of VM pan panicked before its agent answered"* && $1 == *"Kernel panic - not syncing: VFS"* && $1 == *"$2"* ]]' _ "$out" "$work/pan.log"
run "$QL" kill pan
check "... and the panicked VM can be killed" [ "$rc" -eq 0 ]

# --- a running guest whose kernel panics (no serial log): its pvpanic device
# tells QEMU, which pauses it; status, exec and stop say so at once ---
prof "$work/pv.ini" pv
"$QL" start -q --wait-agent "$work/pv.ini" >/dev/null
"$QL" exec --timeout 3 pv -- sh -c 'echo c > /proc/sysrq-trigger' >/dev/null 2>&1
run "$QL" status pv --json
check "a panicked guest's state is guest-panicked" has '"state": "guest-panicked"'
timed "$QL" exec pv -- true
check "exec on a panicked guest fails long before its 30 s agent deadline ($rc, $secs s)" \
    bash -c '[ "$1" -ne 0 ] && [ "$2" -lt 15 ]' _ "$rc" "$secs"
check "... saying the guest kernel panicked" has "the guest kernel of VM pv panicked"
pid=$(qpid pv)
timed "$QL" stop pv
check "stop of a panicked guest does not wait for a power-off that cannot come ($rc, $secs s)" \
    bash -c '[ "$1" -eq 0 ] && [ "$2" -lt 15 ]' _ "$rc" "$secs"
check "... it says why it quit QEMU" has "had panicked"
check "... and QEMU is gone" gone "$pid"

# --- several commands on one VM at once: they take turns ---
for i in $(seq 6); do ("$QL" status f --json > "$work/par.$i" 2>&1; echo "rc=$?" >> "$work/par.$i") & done
wait
ok_n=$(grep -l '"state": "running"' "$work"/par.* | wc -l)
bad=$(grep -L "rc=0" "$work"/par.* | wc -l)
check "6 status commands at once all answer, each with its own reply ($ok_n running, $bad failed)" \
    bash -c '[ "$1" -eq 6 ] && [ "$2" -eq 0 ]' _ "$ok_n" "$bad"
"$QL" kill f >/dev/null

# --- start racing itself ---
for i in 1 2 3; do ("$QL" start "$work/f.ini" > "$work/st.$i" 2>&1; echo "rc=$?" >> "$work/st.$i") & done
wait
won=$(grep -l "^rc=0" "$work"/st.* | wc -l)
check "three starts of one VM at once: exactly one wins ($won)" [ "$won" -eq 1 ]
lost=$(cat "$work"/st.*)
check "... the others say it is busy or running" bash -c '[ "$(grep -c -e "is busy" -e "already running" <<< "$1")" -eq 2 ]' _ "$lost"
check "... and one QEMU runs" [ "$(live_qemus f)" -eq 1 ]
"$QL" kill f >/dev/null

# --- SIGTERM to qlaunch while start waits for the agent ---
"$QL" start "$work/f.ini" --wait-agent > "$work/term.log" 2>&1 &
ql=$!
until_ok 3 test -s "$QLAUNCH_RUNTIME_DIR/f/qemu.pid"
qp=$(qpid f)
kill -TERM "$ql"
wait "$ql"
rc=$?
out=$(cat "$work/term.log")
check "SIGTERM during start --wait-agent: qlaunch exits 1 ($rc)" [ "$rc" -eq 1 ]
check "... and says what it left: nothing running" has "was stopped again, nothing of it is left running"
check "... its QEMU is gone" until_ok 10 gone "${qp:-999999}"
check "... and so is its runtime dir" [ ! -e "$QLAUNCH_RUNTIME_DIR/f" ]

# --- SIGINT to qlaunch while stop waits for the guest to power off ---
# (paused, the guest cannot power off, so stop is still waiting)
"$QL" start -q "$work/f.ini" --wait-agent >/dev/null
qp=$(qpid f)
"$QL" pause f >/dev/null
interrupt INT '"execute": ?"system_powerdown"' "$QL" stop -v --timeout 60 f
check "stop asked the guest to power off before the SIGINT" [ "$seen" -eq 0 ]
check "SIGINT during stop: qlaunch exits 1 at once ($rc, $secs s)" bash -c '[ "$1" -eq 1 ] && [ "$2" -lt 3 ]' _ "$rc" "$secs"
check "... and says the VM runs on and how to end it" \
    bash -c '[[ $1 == *"stop of VM f interrupted"* && $1 == *"qlaunch kill f"* ]]' _ "$out"
run "$QL" status f
check "... the VM is still there, as it was (paused)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *paused* ]]' _ "$rc" "$out"
check "... same QEMU ($qp)" [ "$(qpid f)" = "$qp" ]
run "$QL" stop --timeout 5 f
check "... and a second stop ends it" bash -c '[ "$1" -eq 0 ] && [ ! -e "$2" ]' _ "$rc" "$QLAUNCH_RUNTIME_DIR/f"

# --- SIGTERM to qlaunch during a snapshot save: the save is let finish ---
"$QL" start -q "$work/f.ini" --wait-agent >/dev/null
"$QL" exec f -- sh -c 'dd if=/dev/urandom of=/tmp/fill bs=1M count=150 2>/dev/null' >/dev/null
check "QEMU throttled to 3% of a CPU" throttle "$(qpid f)" 3
interrupt TERM '"status": "running"' "$QL" snapshot save -v f t1
unthrottle
check "the save job ran when SIGTERM came" [ "$seen" -eq 0 ]
check "SIGTERM during snapshot save: the save finishes (rc $rc)" [ "$rc" -eq 0 ]
check "... and qlaunch prints the state it left" \
    bash -c '[[ $1 == *"interrupted during snapshot save"* && $1 == *"snapshot '"'"'t1'"'"' exists, VM f running"* ]]' _ "$out"
run "$QL" snapshot list f
check "... snapshot t1 is listed" has "t1"
run "$QL" status f
check "... the VM runs" has "running"

# --- SIGINT to qlaunch during a migration: cancelled, the source runs on ---
"$QL" exec f -- sh -c 'sysbench memory --time=600 --memory-total-size=100000G run >/dev/null 2>&1 &' >/dev/null
qp=$(qpid f)
interrupt INT '"status": "active"' "$QL" migrate -v f --local --bandwidth 4 --timeout 120
check "the migration was under way when SIGINT came" [ "$seen" -eq 0 ]
check "SIGINT during migrate: qlaunch exits 1 within its deadline ($rc, $secs s)" \
    bash -c '[ "$1" -eq 1 ] && [ "$2" -lt 20 ]' _ "$rc" "$secs"
check "... saying it was interrupted and the VM keeps running on the source" \
    bash -c '[[ $1 == *interrupted* && $1 == *"keeps running on the source"* ]]' _ "$out"
check "... the source QEMU is the one that runs ($qp)" bash -c '[ "$(cat "$1")" = "$2" ] && [ "$3" -eq 1 ]' _ \
    "$QLAUNCH_RUNTIME_DIR/f/qemu.pid" "$qp" "$(live_qemus f)"
run "$QL" exec f -- true
check "... and its guest answers" [ "$rc" -eq 0 ]
"$QL" kill f >/dev/null

done_testing
