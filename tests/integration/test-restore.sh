#!/usr/bin/env bash
# start --restore and [boot] restore=: a VM started from a snapshot's saved
# state has the files and processes of the snapshot and not what came
# after, its clock is the host's, and a profile whose devices changed since
# the snapshot is refused before QEMU runs, saying what changed.
. "$(dirname "$0")/lib.sh"
no_qemu_of() { ! pgrep -f "[q]emu-system.*-name $1,"; }

{ cat "$top/profiles/tiny.ini"; printf '\n[disk extra]\nsize=64M\nformat=qcow2\n'; } > "$work/rst.ini"
# guest_now: the guest's clock, in seconds since the epoch
guest_now() { "$QL" exec rst -- date +%s; }
# clock_off: |guest - host| in seconds
clock_off() { local g h; g=$(guest_now); h=$(date +%s); echo $(( g > h ? g - h : h - g )); }

# A wrapper QEMU traces the virtio-serial control events (the agent's port
# opened: event 6, value 1; closed: value 0) and the saves into TRACE_LOG.
cat > "$work/traced-qemu" <<'EOS'
#!/bin/sh
exec qemu-system-x86_64 -trace virtio_serial_send_control_event -trace savevm_state_setup \
    -trace savevm_state_cleanup -D "$TRACE_LOG" "$@"
EOS
chmod +x "$work/traced-qemu"
env QLAUNCH_QEMU="$work/traced-qemu" TRACE_LOG="$work/save-trace.log" \
    "$QL" start -q "$work/rst.ini" --wait-agent >/dev/null
run "$QL" exec rst -- cat /sys/class/dmi/id/bios_vendor
check_all "tiny boots through qboot (firmware=qboot), not SeaBIOS" '[ "$rc" -eq 0 ] && has qboot'
sleeper=$("$QL" exec rst -- sh -c 'echo before > /data/before; sync; sleep 100000 >/dev/null 2>&1 & echo $!')
# the clock an hour behind at the snapshot: a restore that did not set it would show it
"$QL" exec rst -- sh -c 'date -s @$(( $(date +%s) - 3600 ))' >/dev/null
off=$(clock_off)
check "the guest's clock is an hour behind before the snapshot ($off s)" [ "${off:-0}" -ge 3500 ]
run "$QL" snapshot save rst s1
check "snapshot save s1 of the running VM" [ "$rc" -eq 0 ]
# the port's state when the save began / events during it: open, none
held=$(awk '/event 6,/ { v = $NF; if (during) n++ } /savevm_state_setup/ { s = v; during = 1 }
            /savevm_state_cleanup/ { during = 0 } END { print s "/" n + 0 }' "$work/save-trace.log")
check "... saved with an agent connection open throughout ($held)" [ "$held" = 1/0 ]
rec=$QLAUNCH_STATE_DIR/rst/snapshots/s1.json
check_all "... records what the snapshot was taken of, private to the user" \
    '[ -f "$rec" ] && [ "$(stat -c %a "$rec")" = 600 ] && grep -q "\"memory\": \"512 MiB" "$rec"'
"$QL" exec rst -- sh -c 'echo later > /data/later; sync'
"$QL" stop -q rst >/dev/null

run "$QL" start "$work/rst.ini" --restore s1
check "start --restore s1 succeeds" [ "$rc" -eq 0 ]
check "... and says it started from the snapshot" has "started rst from snapshot 's1'"
run "$QL" exec rst -- ls /data
check "a file made before the snapshot is there" has "before"
check "a file made after the snapshot is not" lacks "later"
run "$QL" exec rst -- cat "/proc/$sleeper/comm"
check_all "the process that ran at the snapshot runs (pid $sleeper)" '[ "$rc" -eq 0 ] && has sleep'
off=$(clock_off)
check_all "the guest's clock is within 2 s of the host's ($off s)" '[ -n "$off" ] && [ "$off" -le 2 ]'
run "$QL" status rst
check_all "status: running" '[ "$rc" -eq 0 ] && has running'
# aio=auto: io_uring where this QEMU opens a drive so (asked here of QEMU
# itself), which loads the VM state in about half the time
qemu_argv() { tr '\0' '\n' < "/proc/$(cat "$QLAUNCH_RUNTIME_DIR/$1/qemu.pid")/cmdline"; }
if qemu-system-x86_64 -machine none -nodefaults -display none -drive \
    "if=none,driver=file,filename=$work/rst.ini,aio=io_uring,readonly=on" -device qlaunch-no-such \
    2>&1 | grep -q "qlaunch-no-such"; then want=aio=io_uring; else want=none; fi
got=$(qemu_argv rst | grep -o 'disk-data,format=qcow2,aio=[a-z_]*' | sed 's/.*,//')
check "... its disks have aio=io_uring where QEMU runs it (${got:-none}, QEMU: $want)" \
    [ "${got:-none}" = "$want" ]
"$QL" exec rst -- sh -c 'echo second > /data/second; sync'
"$QL" stop -q rst >/dev/null
run "$QL" start -q "$work/rst.ini" --restore s1 --wait-agent
run "$QL" exec rst -- ls /data
check_all "every restore starts from the same state (what the last run wrote is gone)" \
    '[ "$rc" -eq 0 ] && has before && lacks second'
"$QL" stop -q rst >/dev/null
# The agent's port across a restore: s1 was saved with an agent connection
# held (above), and start --restore connects before the load,
# so the loaded port is opened once (the accept) and closed only when
# qlaunch leaves (value 1, then 0). Without the early connection the guest
# sees a hang-up first (0 1 0: qemu-ga then sleeps 100 ms after its EOF
# before it reads again); without the hold at the save, the load itself
# reopens the port (1 1 0).
trace=$work/restore-trace.log
run env QLAUNCH_QEMU="$work/traced-qemu" TRACE_LOG="$trace" \
    "$QL" start -q "$work/rst.ini" --restore s1 --wait-agent
check "start --restore --wait-agent under a tracing QEMU (rc $rc)" [ "$rc" -eq 0 ]
until_ok 10 bash -c '[ "$(grep -c "event 6," "$1")" -ge 2 ]' _ "$trace"
opens=$(awk '/event 6,/ { printf "%s", $NF }' "$trace")
check "... the agent's port is opened once and closed only at qlaunch's exit ($opens)" \
    [ "$opens" = 10 ]
"$QL" stop -q rst >/dev/null

# [boot] restore= in the profile: every start begins from the snapshot
sed 's/^\[boot\]/[boot]\nrestore=s1/' "$work/rst.ini" > "$work/keyed.ini"
mkdir -p "$work/keyed" && cp "$work/keyed.ini" "$work/keyed/rst.ini"
run "$QL" cmdline "$work/keyed/rst.ini"
check "cmdline of a profile with restore= shows -loadvm" has "-loadvm s1"
run "$QL" start --json "$work/keyed/rst.ini"
check_all "a profile with [boot] restore= starts from it" '[ "$rc" -eq 0 ] && has "\"restored_from\": \"s1\""'
run "$QL" exec rst -- ls /data
check_all "... with the snapshot's files" 'has before && lacks later'
"$QL" stop -q rst >/dev/null

# refusals, before QEMU runs
mkdir -p "$work/alt"
sed 's/^memory=512M/memory=384M/' "$work/rst.ini" > "$work/alt/rst.ini"
run "$QL" start "$work/alt/rst.ini" --restore s1
check "a restore after memory= changed is refused" [ "$rc" -eq 1 ]
check_all "... saying what changed and where" \
    'has "memory: 512 MiB" && has "384 MiB" && has "at the snapshot" && has "$work/alt/rst.ini"'
check "... and no QEMU ran" no_qemu_of rst
check "... and no runtime dir is left" [ ! -e "$QLAUNCH_RUNTIME_DIR/rst" ]
sed 's/^firmware=qboot/firmware=bios/' "$work/rst.ini" > "$work/alt/rst.ini"
run "$QL" start "$work/alt/rst.ini" --restore s1
check_all "a restore after firmware= changed is refused (the ROM is in the state)" \
    '[ "$rc" -eq 1 ] && has "firmware: qboot at the snapshot, bios now"'
cp "$top/profiles/tiny.ini" "$work/alt/rst.ini" # rst.ini less its [disk extra]
run "$QL" start "$work/alt/rst.ini" --restore s1
check_all "a restore after a disk was removed is refused naming the disk" \
    '[ "$rc" -eq 1 ] && has "[disk extra] was there at the snapshot and is not now"'
run "$QL" start "$work/rst.ini" --restore nosuch
check_all "a snapshot that does not exist is refused, pointing at snapshot list" \
    '[ "$rc" -eq 1 ] && has nosuch && has "qlaunch snapshot list rst"'
"$QL" snapshot save -q "$work/rst.ini" offline1 >/dev/null
run "$QL" start "$work/rst.ini" --restore offline1
check_all "a disk-only (offline) snapshot is refused: no memory state" \
    '[ "$rc" -eq 1 ] && has "holds no memory state"'
check "... and it has no record" [ ! -e "$QLAUNCH_STATE_DIR/rst/snapshots/offline1.json" ]
# without qlaunch's record QEMU's own check refuses, and its words come through
mv "$rec" "$work/s1.json"
sed 's/^memory=512M/memory=384M/' "$work/rst.ini" > "$work/alt/rst.ini"
run "$QL" start "$work/alt/rst.ini" --restore s1
check_all "without the record, QEMU's own refusal is shown" '[ "$rc" -eq 1 ] && has mismatch'
check "... and no QEMU is left" no_qemu_of rst
mv "$work/s1.json" "$rec"
run "$QL" start "$work/rst.ini" --restore s1 --incoming unix:"$work/in.sock"
check_all "--restore with --incoming is a usage error" '[ "$rc" -eq 2 ] && has "cannot be combined"'
run "$QL" start "$work/rst.ini" --restore 42
check "--restore with a name that is no snapshot name is a usage error" [ "$rc" -eq 2 ]
sed 's/^\[boot\]/[boot]\nrestore=a,b/' "$work/rst.ini" > "$work/bad.ini"
run "$QL" start "$work/bad.ini"
check_all "restore= that is no snapshot name names the file and key" \
    '[ "$rc" -ne 0 ] && has "$work/bad.ini" && has "[boot] restore"'
# snapshot-disk= the second disk: the VM state is on it, not on the first
# (HMP loadvm would look for it there: the load goes through the job)
sed 's/^\[vm\]/[vm]\nsnapshot-disk=extra/' "$work/rst.ini" > "$work/sd.ini"
"$QL" start -q "$work/sd.ini" --wait-agent >/dev/null
"$QL" exec sd -- sh -c 'echo one > /data/one; sync' >/dev/null
run "$QL" snapshot save sd s1
check_all "snapshot-disk=extra: the state is saved on [disk extra]" '[ "$rc" -eq 0 ] && has "on disk extra"'
"$QL" exec sd -- sh -c 'echo two > /data/two; sync' >/dev/null
run "$QL" snapshot load sd s1
check "... a live load of it succeeds (rc $rc)" [ "$rc" -eq 0 ]
run "$QL" exec sd -- ls /data
check_all "... and rolls back /data" '[ "$rc" -eq 0 ] && has one && lacks two'
"$QL" stop -q sd >/dev/null
run "$QL" start -q "$work/sd.ini" --restore s1 --wait-agent
check "... start --restore from it succeeds (rc $rc)" [ "$rc" -eq 0 ]
run "$QL" exec sd -- ls /data
check_all "... with the snapshot's files" '[ "$rc" -eq 0 ] && has one && lacks two'
"$QL" stop -q sd >/dev/null
# --foreground: QEMU runs in qlaunch's place, and its -loadvm would look for
# the state on the first disk ("This is a disk-only snapshot")
run timeout 60 "$QL" start "$work/sd.ini" --restore s1 --foreground
check_all "... with --foreground it is refused, saying why and what to do" \
    '[ "$rc" -eq 1 ] && has "snapshot-disk=" && has "start without --foreground"'
check "... and nothing of the VM is left" [ ! -e "$QLAUNCH_RUNTIME_DIR/sd" ]
# cmdline and export show what start runs: -S and the job, not a -loadvm
# that would look for the state on the first disk
mkdir -p "$work/sdkeyed"
sed 's/^\[boot\]/[boot]\nrestore=s1/' "$work/sd.ini" > "$work/sdkeyed/sd.ini"
run "$QL" cmdline "$work/sdkeyed/sd.ini"
check_all "... cmdline of it with restore= shows -S and no -loadvm" \
    '[ "$rc" -eq 0 ] && has " -S" && lacks "-loadvm"'
run "$QL" export --format sh "$work/sdkeyed/sd.ini"
check_all "... export --format sh of it leaves -loadvm out and says so" \
    '[ "$rc" -eq 0 ] && lacks "-loadvm" && has "restore=s1"'
# A QEMU without io_uring (a build without it, or a host whose kernel or
# container refuses it) fails a drive with aio=io_uring: qlaunch asks it
# first and leaves aio to QEMU's default
cat > "$work/no-uring-qemu" <<'EOS'
#!/bin/sh
for a in "$@"; do case "$a" in *aio=io_uring*)
    echo "qemu-system-x86_64: -drive $a: aio=io_uring was specified, but is not supported in this build." >&2
    exit 1 ;;
esac; done
exec qemu-system-x86_64 "$@"
EOS
chmod +x "$work/no-uring-qemu"
run env QLAUNCH_QEMU="$work/no-uring-qemu" "$QL" start -q "$work/rst.ini" --restore s1 --wait-agent
check "under a QEMU without io_uring start --restore succeeds (rc $rc)" [ "$rc" -eq 0 ]
check_all "... with no aio= on its disks" \
    'qemu_argv rst | grep -q node-name=disk-data, && ! qemu_argv rst | grep -q aio='
run "$QL" exec rst -- ls /data
check_all "... and the snapshot's files" '[ "$rc" -eq 0 ] && has before && lacks later'
"$QL" stop -q rst >/dev/null
run env QLAUNCH_QEMU="$work/no-uring-qemu" "$QL" doctor --no-probe
check_all "... and doctor says so, with what it costs" \
    'has "WARN  io_uring" && has "QEMU cannot open a disk with aio=io_uring" && has "more slowly"'
# io_uring refused after qlaunch asked (a sysctl, a new seccomp filter):
# the start fails with QEMU's words and a way out, and the answer kept in
# the cache is dropped so the next start asks again
cat > "$work/late-uring-qemu" <<'EOS'
#!/bin/sh
case "$*" in *"-machine none"*) exec qemu-system-x86_64 "$@" ;; esac
for a in "$@"; do case "$a" in *aio=io_uring*)
    echo "qemu-system-x86_64: -drive $a: Unable to use io_uring: failed to init linux io_uring ring: Operation not permitted" >&2
    exit 1 ;;
esac; done
exec qemu-system-x86_64 "$@"
EOS
chmod +x "$work/late-uring-qemu"
run env QLAUNCH_QEMU="$work/late-uring-qemu" "$QL" start -q "$work/rst.ini"
check_all "a start whose io_uring QEMU refuses fails with QEMU's words and a way out" \
    '[ "$rc" -eq 1 ] && has "Unable to use io_uring" && has "aio=threads" && has "again at the next start"'
check "... and the cached answer is dropped" [ ! -e "$XDG_CACHE_HOME/qlaunch/qemu-io-uring" ]
check "... and nothing of the VM is left" [ ! -e "$QLAUNCH_RUNTIME_DIR/rst" ]
# any other error about the drive repeats its aio=io_uring: no such note
sed 's/Unable to use io_uring: failed to init linux io_uring ring: Operation not permitted/Could not open the image: Permission denied/' \
    "$work/late-uring-qemu" > "$work/drive-error-qemu"
chmod +x "$work/drive-error-qemu"
run env QLAUNCH_QEMU="$work/drive-error-qemu" "$QL" start -q "$work/rst.ini"
check_all "a drive error that only repeats aio=io_uring gets no io_uring note" \
    '[ "$rc" -eq 1 ] && has "Permission denied" && lacks "again at the next start"'
check "... and the cached answer stays" [ -e "$XDG_CACHE_HOME/qlaunch/qemu-io-uring" ]
run "$QL" doctor --no-probe
if [ "$want" = aio=io_uring ]; then
    check "doctor with this host's QEMU: io_uring usable" has "OK    io_uring"
else
    check "doctor with this host's QEMU: io_uring not usable" has "WARN  io_uring"
fi
run "$QL" snapshot delete "$work/rst.ini" s1
check_all "snapshot delete removes the record too" '[ "$rc" -eq 0 ] && [ ! -e "$rec" ]'
done_testing
