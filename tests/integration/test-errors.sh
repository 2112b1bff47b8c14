#!/usr/bin/env bash
# Refusals and failures must name the cause: bad profiles, QEMU errors, KVM.
. "$(dirname "$0")/lib.sh"

p=$work/bad.ini
printf '[vm]\nname=bad\nmemroy=512M\n[boot]\nkernel=@guest/vmlinuz\n' > "$p"
run "$QL" start "$p"
check "bad key: exit 1" [ "$rc" -eq 1 ]
check "bad key: message names file, group and key" has "profile $p [vm] memroy: unknown key; did you mean 'memory'?"

p=$work/broken.ini
printf '[vm]\nname=broken\nmachine=nosuchmachine\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[agent]\nenabled=false\n' > "$p"
run "$QL" start "$p"
check "QEMU failing at start: exit 1" [ "$rc" -eq 1 ]
check "QEMU failing at start: its stderr is shown" has "unsupported machine type"
run "$QL" status broken
check "nothing left running after a failed start: no such VM, exit 4 (rc $rc)" bash -c '[ "$1" -eq 4 ] && [[ $2 == *"not found"* ]]' _ "$rc" "$out"
check "a failed start leaves no runtime dir behind" [ ! -e "$QLAUNCH_RUNTIME_DIR/broken" ]

p=$work/nodisk.ini
printf '[vm]\nname=nodisk\n[disk d]\nfile=missing.qcow2\n' > "$p"
run "$QL" start "$p"
check "missing disk file: named, with the fix" has "missing.qcow2 does not exist (add size="

run "$QL" start no-such-profile
check "unknown profile name: says where it looked" has "no profile named 'no-such-profile'"

run "$QL" stop nosuchvm
check "stop of a VM that is not running: exit 1 with a message" has "VM nosuchvm is not running"
run "$QL" status '../etc'
check "invalid VM name refused" has "is not a valid VM name"

# Runtime dirs that are not the user's own are refused, and nothing in
# them is trusted: a symlinked VM dir whose qemu.pid names a live process
# (a sleep standing for someone else's), a dir another uid owns, a
# symlinked runtime base.
mkdir -p "$QLAUNCH_RUNTIME_DIR" "$work/elsewhere"
sleep 300 &
victim=$!
echo "$victim" > "$work/elsewhere/qemu.pid"
ln -s "$work/elsewhere" "$QLAUNCH_RUNTIME_DIR/evil"
printf '[vm]\nname=evil\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n' > "$work/evil.ini"
run "$QL" start "$work/evil.ini"
check "start into a symlinked VM dir: exit 1" [ "$rc" -eq 1 ]
check "... the refusal names the dir and the cause" has "$QLAUNCH_RUNTIME_DIR/evil is not a directory (a symlink?); refusing"
run "$QL" kill evil
check "kill through a symlinked VM dir: exit 1, refused" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"refusing to use it"* ]]' _ "$rc" "$out"
run "$QL" stop evil --timeout 2
check "stop through a symlinked VM dir: refused too" has "a symlink?"
check "... the process its qemu.pid names was not touched" kill -0 "$victim"
run "$QL" status evil
check "status of a symlinked VM dir says refused, exit 1" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"state:   refused"* ]]' _ "$rc" "$out"
check "... the symlink and its target are left as they were" [ -L "$QLAUNCH_RUNTIME_DIR/evil" -a -f "$work/elsewhere/qemu.pid" ]
kill "$victim"
mkdir "$QLAUNCH_RUNTIME_DIR/foreign"
chown 65534:65534 "$QLAUNCH_RUNTIME_DIR/foreign"
printf '[vm]\nname=foreign\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n' > "$work/foreign.ini"
run "$QL" start "$work/foreign.ini"
check "start into a VM dir another uid owns: refused, naming the uid" has "$QLAUNCH_RUNTIME_DIR/foreign is owned by uid 65534, not by you; refusing"
check "... nothing was started" [ ! -e "$QLAUNCH_RUNTIME_DIR/foreign/qemu.pid" ]
mkdir "$work/realrun"
ln -s "$work/realrun" "$work/runlink"
out=$(QLAUNCH_RUNTIME_DIR=$work/runlink "$QL" start "$work/foreign.ini" 2>&1); rc=$?
check "a symlinked runtime base is refused too" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"$3 is not a directory (a symlink?)"* ]]' _ "$rc" "$out" "$work/runlink"
check "... and nothing was created through it" [ -z "$(ls -A "$work/realrun")" ]
# A stale qemu.pid whose number now belongs to another process of ours (a
# killed QEMU leaves its pidfile behind; pids are reused): nothing may
# signal that process, status says stale, start starts.
printf '[vm]\nname=reuse\nmemory=192M\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet\n[net 0]\nmode=none\n[agent]\nenabled=false\n' > "$work/reuse.ini"
"$QL" start -q "$work/reuse.ini" >/dev/null
qp=$(cat "$QLAUNCH_RUNTIME_DIR/reuse/qemu.pid")
kill -9 "$qp"
until_ok 10 gone "$qp"
sleep 300 &
victim=$!
echo "$victim" > "$QLAUNCH_RUNTIME_DIR/reuse/qemu.pid"
run "$QL" kill reuse
check "kill with a stale qemu.pid naming another process: refused, not running (rc $rc)" \
    bash -c '[ "$1" -ne 0 ] && [[ $2 == *"not running"* ]]' _ "$rc" "$out"
run "$QL" stop reuse --timeout 2
check "... stop too" has "not running"
check "... and the process the pidfile names was not signalled" kill -0 "$victim"
run "$QL" status reuse
check "... status says stale" has "stale"
run "$QL" start "$work/reuse.ini"
check "... start does not refuse with 'already running' (rc $rc)" \
    bash -c '[ "$1" -eq 0 ] && [[ $2 != *"already running"* ]]' _ "$rc" "$out"
check "... and the other process still runs" kill -0 "$victim"
kill "$victim"
"$QL" kill reuse >/dev/null

# A start that times out: its -daemonize parent is killed, and so is the
# QEMU it daemonized (here a QEMU whose parent never returns, as when a
# slow host makes QEMU's setup outlast --timeout).
cat > "$work/slow-parent" <<'EOS'
#!/usr/bin/env bash
qemu-system-x86_64 "$@" || exit
exec sleep 300
EOS
chmod +x "$work/slow-parent"
run env QLAUNCH_QEMU="$work/slow-parent" "$QL" start --timeout 3 "$work/reuse.ini"
check "start --timeout that expires fails (rc $rc)" [ "$rc" -ne 0 ]
check "... says the daemonized QEMU was killed" has "its QEMU was still running and was killed"
check "... and no QEMU of the VM is left" until_ok 10 bash -c '! pgrep -f -- "-pidfile $1" >/dev/null' _ "$QLAUNCH_RUNTIME_DIR/reuse/qemu.pid"
check "... nor its runtime dir" [ ! -e "$QLAUNCH_RUNTIME_DIR/reuse" ]

# What QEMU inherits and creates: no descriptor of ours but 0-2 (and its
# taps), every file in the runtime dir and the serial log owner-only.
printf '[vm]\nname=files\nmemory=128M\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet\n[net 0]\nmode=none\n[agent]\nenabled=false\n[serial]\nlog=%s/files-serial.log\n' "$work" > "$work/files.ini"
exec 7> "$work/inherited"
"$QL" start -q "$work/files.ini" >/dev/null
exec 7>&-
qp=$(cat "$QLAUNCH_RUNTIME_DIR/files/qemu.pid")
check "QEMU does not inherit qlaunch's other descriptors" bash -c '! ls -l /proc/$1/fd | grep -q -- "$2"' _ "$qp" "$work/inherited"
check "the serial log is created 0600 ($(stat -c %a "$work/files-serial.log"))" [ "$(stat -c %a "$work/files-serial.log")" = 600 ]
loose=$(find "$QLAUNCH_RUNTIME_DIR/files" -mindepth 1 ! -perm 600 -printf '%f(%m) ')
check "every file in the runtime dir is 0600 (${loose:-all})" [ -z "$loose" ]
"$QL" kill files >/dev/null

# The profile is read once: an edit while start runs (here by a qemu-img
# first on PATH, called as start creates the disk) does not change what
# the runtime dir records as the profile started.
mkdir -p "$work/editbin"
cat > "$work/editbin/qemu-img" <<EOS
#!/usr/bin/env bash
sed -i 's/^memory=.*/memory=999M/' "$work/edited.ini"
exec $(command -v qemu-img) "\$@"
EOS
chmod +x "$work/editbin/qemu-img"
printf '[vm]\nname=edited\nmemory=160M\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet\n[disk d]\nsize=16M\n[net 0]\nmode=none\n[agent]\nenabled=false\n' > "$work/edited.ini"
PATH="$work/editbin:$PATH" "$QL" start -q "$work/edited.ini" >/dev/null
check "the profile was edited during start (the seam ran)" grep -q "memory=999M" "$work/edited.ini"
check "... the runtime dir keeps the bytes that were parsed" grep -q "^memory=160M" "$QLAUNCH_RUNTIME_DIR/edited/profile.ini"
run "$QL" status edited --json
check "... and status shows the VM as started (160 MiB)" has '"memory_mib": 160'
"$QL" kill edited >/dev/null

run "$QL" migrate tiny "exec:touch $work/pwned-mig"
check "migrate to an exec: URI is refused, saying what is accepted" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"only tcp:HOST:PORT and unix:PATH"* ]]' _ "$rc" "$out"
run "$QL" start "$work/files.ini" --incoming "exec:touch $work/pwned-mig"
check "... so is start --incoming exec:, before anything starts" bash -c '[ "$1" -eq 1 ] && [ ! -e "$2" ] && [ ! -e "$3/files" ]' _ "$rc" "$work/pwned-mig" "$QLAUNCH_RUNTIME_DIR"
# Offline snapshots act on every disk or on none: s1 on disk a only.
mkdir -p "$work/two"
qemu-img create -q -f qcow2 "$work/two/a.qcow2" 16M
qemu-img create -q -f qcow2 "$work/two/b.qcow2" 16M
printf '[vm]\nname=two\naccel=tcg\nsnapshot-disk=a\n[boot]\nkernel=@guest/vmlinuz\n[disk a]\nfile=%s/two/a.qcow2\n[disk b]\nfile=%s/two/b.qcow2\n' "$work" "$work" > "$work/two.ini"
qemu-img snapshot -c s1 "$work/two/a.qcow2"
qemu-io -c 'write -P 0x55 0 4k' "$work/two/a.qcow2" >/dev/null
run "$QL" snapshot load "$work/two.ini" s1
check "offline load of a snapshot on disk a only is refused, naming disk b (rc $rc)" \
    bash -c '[ "$1" -eq 1 ] && [[ $2 == *"is not on [disk b]"*"nothing was changed"* ]]' _ "$rc" "$out"
check "... and disk a was not rolled back" bash -c 'r=$(qemu-io -c "read -P 0x55 0 4k" "$1" 2>&1); [[ $r == *"read 4096/4096"* && $r != *"verification failed"* ]]' _ "$work/two/a.qcow2"
run "$QL" snapshot save --force "$work/two.ini" s1
check "save --force replaces it where it was and saves it on both (rc $rc)" \
    bash -c '[ "$1" -eq 0 ] && qemu-img snapshot -l "$2" | grep -qw s1 && qemu-img snapshot -l "$3" | grep -qw s1' _ "$rc" "$work/two/a.qcow2" "$work/two/b.qcow2"
# disk b held open for writing by another process: checked before anything changes
mkfifo "$work/two/io"
qemu-io "$work/two/b.qcow2" < "$work/two/io" > "$work/two/io.out" 2>&1 &
holder=$!
exec 8> "$work/two/io"
# qemu-io prints its prompt once the image is open and locked. Polling the
# lock with qemu-img info instead raced: a probe that held its read lock just
# as qemu-io asked for the write lock made qemu-io exit, and the disk was
# free for the rest of the wait (a CI run: 120 s, then a save that succeeded).
check "qemu-io has disk b open" await 120 "$work/two/io.out" '^qemu-io> '
check "... and holds its write lock" bash -c 'kill -0 "$2" && ! qemu-img info "$1" >/dev/null 2>&1' _ "$work/two/b.qcow2" "$holder"
run "$QL" snapshot save --force "$work/two.ini" s1
check "save --force with disk b in use: refused before anything changed (rc $rc)" \
    bash -c '[ "$1" -eq 1 ] && [[ $2 == *"[disk b]"*"nothing was changed"* ]]' _ "$rc" "$out"
check "... disk a's s1 is still there" bash -c 'qemu-img snapshot -l "$1" | grep -qw s1' _ "$work/two/a.qcow2"
exec 8>&-
wait "$holder" 2>/dev/null

run "$QL" snapshot save tiny -x
check "a snapshot name with a leading '-' is refused as an option" bash -c '[ "$1" -eq 2 ] && [[ $2 == *"Unknown option -x"* ]]' _ "$rc" "$out"
run "$QL" snapshot save tiny -- -x
check "... and after \"--\" it is refused as a name" has "'-x' is not a valid snapshot name"
run "$QL" snapshot save tiny ../a
check "a snapshot name with '/' or '..' is refused" has "is not a valid snapshot name"

run "$QL" frobnicate
check "unknown verb: exit 2" [ "$rc" -eq 2 ]
run "$QL" stat tiny
check "unknown verb: did you mean" has "did you mean 'stats'?"
run "$QL" exec
check "missing arguments: exit 2 with usage" [ "$rc" -eq 2 ]

# accel=kvm follows the host's verdict: refused with the reason where KVM
# does not run guests (this host), used where it does.
p=$work/kvm.ini
printf '[vm]\nname=kvmvm\naccel=kvm\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n' > "$p"
if "$QL" doctor | grep -qE '^OK +kvm '; then
    run "$QL" start "$p"
    check "accel=kvm on a host where KVM works starts on KVM" has "accel kvm"
    "$QL" kill kvmvm >/dev/null 2>&1
else
    run "$QL" start "$p"
    check "accel=kvm where KVM does not run guests is refused" [ "$rc" -eq 1 ]
    check "the refusal gives the reason and --force" has "--force"
fi
run "$QL" doctor --no-probe
check "doctor reports the accel=auto choice" has "accel=auto"

for prof in "$top"/profiles/*.ini; do
    run "$QL" cmdline --accel tcg "$prof"
    check "cmdline $(basename "$prof")" [ "$rc" -eq 0 ]
done
run "$QL" cmdline --accel tcg tiny
check "cmdline of tiny gives the guest kernel (uncompressed, PVH)" has "$QLAUNCH_GUEST_DIR/vmlinux"

done_testing
