#!/usr/bin/env bash
# UEFI, TPM and a VNC listener on TCP: the embedded guest boots under OVMF
# with its variables in a qcow2, so a live snapshot and its rollback work;
# a variable store of the wrong size is refused; swtpm gives the guest
# /dev/tpm0 and is gone after stop, kill and a SIGKILLed QEMU; VNC on TCP
# listens on loopback only, and elsewhere only with a password.
. "$(dirname "$0")/lib.sh"
# swtpm_of VM: the pid of the VM's swtpm (none: empty)
swtpm_of() { pgrep -f "swtpm socket .*$QLAUNCH_RUNTIME_DIR/$1/swtpm.sock" | head -1; }
swtpm_gone() { local p; p=$(swtpm_of "$1"); [ -z "$p" ] || gone "$p"; }

# OVMF boots a bzImage: tiny's PVH vmlinux is refused under UEFI, naming it
sed -e 's/^firmware=qboot/firmware=uefi/' -e 's|^kernel=@guest/vmlinux|kernel=@guest/vmlinuz|' \
    "$top/profiles/tiny.ini" > "$work/fw.ini"
sed -e 's/^firmware=qboot/firmware=uefi/' "$top/profiles/tiny.ini" > "$work/fw-elf.ini"
run "$QL" start "$work/fw-elf.ini"
check_all "firmware=uefi with an ELF kernel is refused before QEMU runs, pointing at vmlinuz" \
    '[ "$rc" -ne 0 ] && has "kernel=:" && has "uncompressed ELF kernel" && has "@guest/vmlinuz" && [ ! -e "$QLAUNCH_RUNTIME_DIR/fw-elf/qemu.pid" ]'
cat >> "$work/fw.ini" <<'EOF'

[tpm]
enabled=true

[display]
type=vnc
listen=127.0.0.1
EOF
run "$QL" start "$work/fw.ini" --wait-agent
check_all "the embedded guest boots under UEFI with a TPM" '[ "$rc" -eq 0 ]'
check "... its variable store made from OVMF's template" has "created UEFI variable store $QLAUNCH_STATE_DIR/fw/efivars.qcow2"
run "$QL" exec fw -- ls /sys/firmware/efi
check "the guest runs on UEFI" has efivars
run "$QL" exec fw -- sh -c 'ls -l /dev/tpm0 && cat /sys/class/tpm/tpm0/tpm_version_major'
check_all "the guest sees /dev/tpm0, a TPM 2.0" 'has "/dev/tpm0" && has 2'
tpm=$(swtpm_of fw)
check "swtpm runs for the VM" [ -n "$tpm" ]
check "... with its state in the VM's state dir" [ -d "$QLAUNCH_STATE_DIR/fw/tpm" ]

# VNC on loopback TCP
qpid=$(cat "$QLAUNCH_RUNTIME_DIR/fw/qemu.pid")
vnc=$(ss -ltnpH | grep "pid=$qpid," | awk '{print $4}')
check_all "VNC listens on 127.0.0.1 only ($vnc)" '[[ $vnc == 127.0.0.1:59* ]] && [ "$(echo "$vnc" | wc -l)" = 1 ]'
run "$QL" display fw --print
check "display names the address" has "VNC on $vnc"
greeting=$(timeout 10 socat -u "TCP:$vnc" - 2>/dev/null | head -c 12)
check "a VNC client there gets the RFB greeting" [ "$greeting" = "RFB 003.008" ]

# a live snapshot and its rollback under UEFI
"$QL" exec fw -- sh -c 'echo kept > /data/kept; sync' >/dev/null
run "$QL" snapshot save fw s1
check_all "snapshot save under UEFI (QEMU's pflash in a qcow2)" '[ "$rc" -eq 0 ]'
run "$QL" snapshot list fw
check "... takes the variable store along" has "data,efivars"
"$QL" exec fw -- sh -c 'echo gone > /data/gone; sync' >/dev/null
run "$QL" snapshot load fw s1
check "snapshot load" [ "$rc" -eq 0 ]
run "$QL" exec fw -- ls /data
check_all "the rollback proof holds: the file from before is there, the later one is not" \
    'has kept && lacks gone'
run "$QL" exec fw -- ls /dev/tpm0
check "the TPM is still there after the load" has /dev/tpm0
run "$QL" migrate fw --local
check_all "a local migration with a TPM is refused with the reason" \
    '[ "$rc" -ne 0 ] && has "it has a [tpm]"'

run "$QL" stop fw
check "stop" [ "$rc" -eq 0 ]
check "swtpm is gone after stop" until_ok 10 swtpm_gone fw

"$QL" start -q "$work/fw.ini" >/dev/null
check "swtpm runs again" until_ok 10 eval '[ -n "$(swtpm_of fw)" ]'
"$QL" kill -q fw >/dev/null
check "swtpm is gone after kill" until_ok 10 swtpm_gone fw

"$QL" start -q "$work/fw.ini" >/dev/null
tpm=$(swtpm_of fw)
kill -9 "$(cat "$QLAUNCH_RUNTIME_DIR/fw/qemu.pid")"
check "swtpm is gone after its QEMU was SIGKILLed ($tpm)" until_ok 10 gone "$tpm"

# a variable store of the wrong size
qemu-img create -q -f qcow2 "$work/small-vars.qcow2" 128K
sed "s|^firmware=uefi|firmware=uefi\nvars=$work/small-vars.qcow2|" "$work/fw.ini" > "$work/badvars.ini"
run "$QL" start "$work/badvars.ini"
check_all "a variable store of the wrong size is refused, naming the file and both sizes" \
    '[ "$rc" -ne 0 ] && has "[boot] vars: $work/small-vars.qcow2 holds 131072 bytes" && has "540672 bytes"'
check "... before QEMU ran" [ ! -e "$QLAUNCH_RUNTIME_DIR/badvars/qemu.pid" ]

# VNC elsewhere than loopback
sed 's/^listen=127.0.0.1/listen=0.0.0.0/' "$work/fw.ini" > "$work/open.ini"
run "$QL" start "$work/open.ini"
check_all "VNC on 0.0.0.0 without a password is refused" \
    '[ "$rc" -ne 0 ] && has "[display] listen: 0.0.0.0 can be reached from other hosts" && has "password-file="'
printf 'sekrit\n' > "$work/vnc.pass"
sed "s|^listen=0.0.0.0|listen=0.0.0.0\npassword-file=$work/vnc.pass|" "$work/open.ini" > "$work/pw.ini"
run "$QL" start "$work/pw.ini"
check "with password-file= it starts" [ "$rc" -eq 0 ]
secret=$QLAUNCH_RUNTIME_DIR/pw/display.secret
check_all "QEMU reads the password, without its newline, from a 0600 file" \
    '[ "$(stat -c %a "$secret")" = 600 ] && [ "$(cat "$secret")" = sekrit ] && [ "$(stat -c %s "$secret")" = 6 ]'
port=$(ss -ltnpH | grep "pid=$(cat "$QLAUNCH_RUNTIME_DIR/pw/qemu.pid")," | awk '{print $4}' | sed 's/.*://')
# RFB 3.8: the server's version, ours, then the security types it offers
types=$(timeout 20 python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def need(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("closed")
        b += c
    return b
need(12)
s.sendall(b"RFB 003.008\n")
count = need(1)[0]
print(" ".join(str(t) for t in need(count)))
PY
)
check "a client is offered VNC authentication (type 2) only ($types)" [ "$types" = 2 ]
"$QL" kill -q pw >/dev/null
# SPICE on a unix socket, and a QEMU without SPICE (a wrapper on PATH)
sed -e 's/^type=vnc/type=spice/' -e '/^listen=/d' -e '/^\[tpm\]/,/^enabled/d' "$work/fw.ini" > "$work/sp.ini"
run "$QL" start "$work/sp.ini"
sp=$QLAUNCH_RUNTIME_DIR/sp/spice.sock
check_all "type=spice starts, its socket in the runtime dir, mode 0600" \
    '[ "$rc" -eq 0 ] && [ -S "$sp" ] && [ "$(stat -c %a "$sp")" = 600 ]'
run "$QL" display sp --print
check "display names the SPICE socket" has "remote-viewer spice+unix://$sp"
"$QL" kill -q sp >/dev/null
mkdir -p "$work/nospice"
cat > "$work/nospice/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU as built without SPICE
for a; do [ "\$a" = -spice ] && { echo "qemu-system-x86_64: -spice: invalid option" >&2; exit 1; }; done
exec $(command -v qemu-system-x86_64) "\$@"
EOF
chmod +x "$work/nospice/qemu-system-x86_64"
run env PATH="$work/nospice:$PATH" "$QL" start "$work/sp.ini"
check_all "a QEMU without SPICE: type=spice is refused, saying so" \
    '[ "$rc" -ne 0 ] && has "has no SPICE support (qemu-system-x86_64: -spice: invalid option)" && has "use type=vnc"'

# export: the firmware, the display, the TPM and the boot order carry over
cat > "$work/ex.ini" <<EOF
[vm]
memory=1G
machine=q35
[boot]
cdrom=$work/x.iso
firmware=uefi-secure
[disk root]
size=4G
[display]
type=vnc
[tpm]
EOF
"$QL" export "$work/ex.ini" --format libvirt > "$work/ex.xml" 2> "$work/ex.lost"
run virt-xml-validate "$work/ex.xml" domain
check "the libvirt XML of a UEFI (Secure Boot) VM with a TPM and VNC validates" has validates
run virsh -c test:///default "define $work/ex.xml; dumpxml ex"
q="'"
check_all "virsh (test driver) takes it with the loader, the TPM, VNC, the VGA and disk-first boot" \
    'has "secure=${q}yes${q} type=${q}pflash${q}>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" && has "tpm-crb" &&
     has "graphics type=${q}vnc${q}" && has "model type=${q}vga${q}" &&
     [[ $out == *"boot dev=${q}hd${q}"*"boot dev=${q}cdrom${q}"* ]]'
check "... and says the variable store does not carry over" grep -q "libvirt makes its own raw variable store" "$work/ex.lost"
run "$QL" export "$work/ex.ini" --format proxmox
check_all "the Proxmox config has bios: ovmf, vga: std and the disk before the CD-ROM" \
    'has "bios: ovmf" && has "vga: std" && has "boot: order=virtio0;ide2"'
check_all "... and lists the EFI disk and the TPM state to make with qm set" \
    'has "--efidisk0 STORAGE:1,efitype=4m,pre-enrolled-keys=1" && has "--tpmstate0 STORAGE:1,version=v2.0"'
done_testing
