#!/usr/bin/env bash
# Installing from an ISO: an installer-like ISO (tests/iso) boots from the
# CD-ROM under BIOS and UEFI to a GRUB menu that a screenshot shows and a
# sendkey passes; a simulated install copies it to the disk, the disc is
# ejected (refused while the guest holds the tray locked) and the VM boots
# from its disk with no edit of the profile; the serial-install preset
# boots the kernel taken out of the ISO, cached; a missing ISO is refused.
# The VNC socket is the user's only and speaks RFB.
. "$(dirname "$0")/lib.sh"
iso=$top/build/iso/installer.iso
"$top/tests/iso/build-installer-iso.sh" "$iso" >/dev/null || { echo "Bail out! no installer ISO"; exit 1; }
png_ok() { python3 "$top/tests/integration/pngcheck.py" "$1"; }
# menu_shown VM LOG: GRUB has drawn its whole menu (its last line on the
# serial port), and two screenshots in a row are the same picture
menu_shown() {
    await 120 "$2" "Press enter to boot" || return 1
    "$QL" screenshot -q "$1" "$work/$1-a.png" || return 1
    until_ok 30 same_shot "$1"
}
# same_shot VM: a new screenshot is the same as the last; else it becomes the last
same_shot() {
    "$QL" screenshot -q "$1" "$work/$1-b.png" || return 1
    cmp -s "$work/$1-a.png" "$work/$1-b.png" && return 0
    mv "$work/$1-b.png" "$work/$1-a.png"
    return 1
}
agent_up() { until_ok 120 "$QL" exec -t 10 "$1" -- true; }

cat > "$work/inst.ini" <<EOF
[vm]
memory=256M
cpus=1
accel=tcg
machine=pc          # PIIX IDE: the embedded guest's kernel sees the CD-ROM
[boot]
cdrom=$iso
[disk root]
size=128M
[display]
type=vnc
[serial]
log=$work/inst.log
[net 0]
mode=user
EOF

run "$QL" cmdline "$work/inst.ini"
check_all "the disk boots first, the CD-ROM after it (bootindex)" \
    'has "id=disk-dev-root,bootindex=1" && has "id=cdrom0,bootindex=2" && lacks "-boot"'
"$QL" start -q "$work/inst.ini" >/dev/null
sock=$QLAUNCH_RUNTIME_DIR/inst/vnc.sock
check_all "the VNC socket is in the runtime dir, mode 0600" '[ -S "$sock" ] && [ "$(stat -c %a "$sock")" = 600 ]'
greeting=$(timeout 10 socat -u "UNIX-CONNECT:$sock" - 2>/dev/null | head -c 12)
check "a VNC client on it gets the RFB greeting ($greeting)" [ "$greeting" = "RFB 003.008" ]
run "$QL" display inst --print
check_all "display names the socket, a viewer and the ssh -L line" \
    'has "$sock" && has "remote-viewer vnc+unix://$sock" && has "ssh -L 5900:$sock"'
check "BIOS: the blank disk falls through to the CD-ROM and GRUB shows its menu" menu_shown inst "$work/inst.log"
run png_ok "$work/inst-a.png"
check_all "the screenshot is a valid PNG and not one colour ($out)" '[ "$rc" -eq 0 ]'
run "$QL" sendkey inst ret
check_all "sendkey ret chooses the entry" '[ "$rc" -eq 0 ] && has "sent 1 key press"'
check "the installer's kernel boots to the agent" agent_up inst
run "$QL" exec inst -- cat /proc/cmdline
check_all "... from the menu entry, with no console= ($out)" 'has "casper/vmlinuz" && lacks "console="'
run "$QL" media inst list
check_all "media list: the tray is closed with the disc in" "has 'tray closed, not locked, disc $iso'"

# a guest that has the disc open locks the tray
"$QL" exec inst -- sh -c 'sleep 100000 < /dev/sr0 > /dev/null 2>&1 &' >/dev/null
locked() { run "$QL" media inst list; [[ $out == *", locked,"* ]]; }
check "media list shows the tray locked while the guest has /dev/sr0 open" until_ok 30 locked
run "$QL" media inst eject
check_all "eject of a locked tray is refused with the reason" \
    '[ "$rc" -ne 0 ] && has "the guest has locked the tray" && has "umount /dev/sr0"'
run "$QL" media inst list
check "... and the disc stays in" has "disc $iso"
"$QL" exec inst -- killall sleep >/dev/null
unlocked() { run "$QL" media inst list; [[ $out == *"not locked"* ]]; }
until_ok 30 unlocked

# the simulated install: the hybrid image onto the disk
run "$QL" exec -t 120 inst -- sh -c 'umount /data 2>/dev/null; dd if=/dev/sr0 of=/dev/vda bs=1M 2>&1 && sync'
check_all "the guest copies the installer from /dev/sr0 to its disk" '[ "$rc" -eq 0 ] && has "records out"'
run "$QL" media inst eject
check_all "eject" '[ "$rc" -eq 0 ] && has "ejected"'
run "$QL" media inst list
check "media list: the tray is open and empty" has "tray open, not locked, empty"
"$QL" stop -q inst >/dev/null
run "$QL" media "$work/inst.ini" list
check "a stopped VM's drive (named by its profile) is empty for its next start" has "empty (ejected)"
run "$QL" cmdline "$work/inst.ini"
check_all "the next start has an empty drive" 'has "-drive if=none,id=drive-cdrom,media=cdrom" && lacks "file=$iso"'
: > "$work/inst.log"
"$QL" start -q "$work/inst.ini" >/dev/null
check "restarted with no edit of the profile, the disk boots (GRUB from the disk)" menu_shown inst "$work/inst.log"
"$QL" sendkey -q inst ret
check "... to the agent" agent_up inst
run "$QL" exec inst -- sh -c 'ls /data/casper'
check "the system on the disk is the one installed" has vmlinuz
run "$QL" media inst list
check "... and the drive is still empty" has "empty"
"$QL" stop -q inst >/dev/null
run "$QL" media "$work/inst.ini" insert "$iso"
check_all "media insert on a stopped VM puts the disc back for its next start" \
    '[ "$rc" -eq 0 ] && grep -q "\"cdrom\": \"$iso\"" "$QLAUNCH_STATE_DIR/inst/media.json"'

# UEFI: OVMF boots the same ISO from the CD-ROM
sed -e 's/^machine=pc .*/machine=q35/' -e "s|^\[boot\]|[boot]\nfirmware=uefi|" \
    -e "s|$work/inst.log|$work/uefi.log|" "$work/inst.ini" > "$work/uefi.ini"
"$QL" start -q "$work/uefi.ini" >/dev/null
check "UEFI: the blank disk falls through to the CD-ROM and GRUB shows its menu" menu_shown uefi "$work/uefi.log"
run png_ok "$work/uefi-a.png"
check_all "the screenshot is a valid PNG and not one colour ($out)" '[ "$rc" -eq 0 ]'
"$QL" sendkey -q uefi ret
check "the kernel boots to the agent" agent_up uefi
run "$QL" exec uefi -- ls /sys/firmware/efi
check "... under UEFI" has efivars
"$QL" stop -q uefi >/dev/null

# the serial-install preset: the kernel out of the ISO, on ttyS0
cat > "$work/ser.ini" <<EOF
[vm]
memory=256M
cpus=1
accel=tcg
[boot]
cdrom=$iso
preset=ubuntu-live
[serial]
log=$work/ser.log
EOF
run "$QL" cmdline "$work/ser.ini"
check_all "cmdline: the kernel extracted into the state dir, with console=ttyS0" \
    'has "-kernel $QLAUNCH_STATE_DIR/ser/iso-boot/kernel" && has "console=ttyS0 ---" && lacks warning'
run "$QL" start "$work/ser.ini" --wait-agent
check_all "preset=ubuntu-live takes casper/vmlinuz and casper/initrd out of the ISO" \
    '[ "$rc" -eq 0 ] && has "took casper/vmlinuz and casper/initrd out of $iso"'
check "the installer's kernel writes to the serial console" grep -q "Linux version" "$work/ser.log"
run "$QL" exec ser -- cat /proc/cmdline
check "... with the preset's arguments" has "console=ttyS0 ---"
"$QL" stop -q ser >/dev/null
run "$QL" start "$work/ser.ini" --wait-agent
check_all "the second start uses the cached copy" '[ "$rc" -eq 0 ] && lacks "took casper"'
"$QL" stop -q ser >/dev/null
touch "$iso"
run "$QL" start "$work/ser.ini"
check_all "a changed ISO (its mtime) is extracted again" '[ "$rc" -eq 0 ] && has "took casper"'
"$QL" kill -q ser >/dev/null
sed 's/^preset=.*/iso-kernel=casper\/nothere/' "$work/ser.ini" > "$work/ser2.ini"
run "$QL" start "$work/ser2.ini"
check_all "a kernel path the ISO lacks is refused naming the key and the path" \
    '[ "$rc" -ne 0 ] && has "[boot] iso-kernel=casper/nothere" && has "bsdtar -tf"'

# a missing ISO
sed "s|^cdrom=.*|cdrom=$work/gone.iso|" "$work/inst.ini" > "$work/gone.ini"
run "$QL" start "$work/gone.ini"
check_all "a missing ISO is refused at start, naming the key and the file" \
    '[ "$rc" -ne 0 ] && has "[boot] cdrom: $work/gone.iso does not exist" && has "--eject"'
run "$QL" cmdline "$work/gone.ini"
check "... and flagged by cmdline" has "warning: profile $work/gone.ini [boot] cdrom: $work/gone.iso does not exist"
run "$QL" start "$work/gone.ini" --eject
check_all "start --eject starts it with the tray empty" '[ "$rc" -eq 0 ]'
run "$QL" media gone list
check "... (media list: empty)" has "empty"
"$QL" kill -q gone >/dev/null
done_testing
