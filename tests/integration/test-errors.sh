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
check "nothing left running after a failed start" has "shut off"
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
check "cmdline of tiny gives the guest kernel" has "$QLAUNCH_GUEST_DIR/vmlinuz"

done_testing
