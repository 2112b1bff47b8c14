#!/usr/bin/env bash
# [share NAME]: host folders in the embedded guest through virtio-fs (a
# virtiofsd per share, started by qlaunch, ended with the VM). A file
# written on the host is read in the guest and back; readonly= holds even
# when the guest's root remounts the share read-write (the host side is a
# read-only bind mount in virtiofsd's own mount namespace); migrate,
# live snapshot save and template save are refused with the reason; a
# missing folder and a bad key are refused naming them. A 9p share (served
# by QEMU itself) is read and written by the embedded guest's own kernel,
# and a read-only one refuses the guest's writes.
. "$(dirname "$0")/lib.sh"

hostdir="$work/ho,st"   # a comma: virtiofsd's -o source= must escape it
mkdir -p "$hostdir" "$work/ro"
echo from-host > "$hostdir/h.txt"
echo keep > "$work/ro/keep.txt"
sed -e '/^\[disk data\]/,/^$/d' "$top/profiles/tiny.ini" > "$work/sh.ini"
cat >> "$work/sh.ini" <<EOT

[disk data]
size=64M

[share src]
path=$hostdir

[share docs]
path=$work/ro
readonly=true
mount=/srv/docs
EOT
vfsd() { pgrep -f -- "--socket-path=$QLAUNCH_RUNTIME_DIR/sh/virtiofs-" | wc -l; }
no_vfsd() { [ "$(vfsd)" -eq 0 ]; }

run "$QL" start "$work/sh.ini" --wait-agent
check_all "a VM with two virtio-fs shares starts" '[ "$rc" -eq 0 ]'
check "... with a virtiofsd for each (and its sandbox child)" [ "$(vfsd)" -ge 2 ]
run "$QL" exec sh -- cat /mnt/src/h.txt
check "the guest reads a file the host wrote" [ "$out" = from-host ]
run "$QL" exec sh -- sh -c 'echo from-guest > /mnt/src/g.txt && sync'
check "the host reads a file the guest wrote" [ "$(cat "$hostdir/g.txt" 2>/dev/null)" = from-guest ]
echo later > "$hostdir/later.txt"
run "$QL" exec sh -- cat /mnt/src/later.txt
check "... and the guest one the host wrote while it runs" [ "$out" = later ]
run "$QL" exec sh -- cat /srv/docs/keep.txt
check "a read-only share is mounted at its mount=" [ "$out" = keep ]
run "$QL" exec sh -- sh -c 'echo x > /srv/docs/new.txt'
check_all "... and the guest cannot write to it" '[ "$rc" -ne 0 ] && [ ! -e "$work/ro/new.txt" ]'
run "$QL" exec sh -- sh -c 'mount -o remount,rw /srv/docs && echo x > /srv/docs/new.txt; rm -f /srv/docs/keep.txt; true'
check_all "... nor after its root remounts it read-write (the host side is read-only)" '[ ! -e "$work/ro/new.txt" ] && [ -f "$work/ro/keep.txt" ]'

run "$QL" migrate sh --local
check_all "migrate is refused with the reason" '[ "$rc" -ne 0 ] && has "refusing to migrate sh: it has [share src] (virtiofs), and QEMU cannot save or move a vhost-user-fs device"'
run "$QL" snapshot save sh s1
check_all "a live snapshot save is refused with the reason" '[ "$rc" -ne 0 ] && has "refusing to save a live snapshot of sh: it has [share src]"'
run "$QL" template save sh t1
check_all "template save is refused with the reason" '[ "$rc" -ne 0 ] && has "refusing to save a template of sh: it has [share src]"'
run "$QL" exec sh -- echo alive
check "... and the VM runs on" [ "$out" = alive ]

run "$QL" export "$work/sh.ini" --format libvirt
check_all "export --format libvirt has the filesystems and shared memory" 'has "<driver type='"'"'virtiofs'"'"'/>" && has "<source dir='"'"'$work/ro'"'"'/>" && has "<access mode='"'"'shared'"'"'/>"'

run "$QL" stop sh
check_all "stop" '[ "$rc" -eq 0 ]'
check "... and no virtiofsd of the VM is left" until_ok 20 no_vfsd

# a start that fails after virtiofsd ran leaves none either: QEMU refuses a
# memory size the host cannot give (-m over the limit is QEMU's own error)
sed -i 's/^memory=512M/memory=512M\nmemory-limit=64M/' "$work/sh.ini"
run "$QL" start "$work/sh.ini" --wait-agent --timeout 60
if [ "$rc" -ne 0 ]; then
    check "a failed start leaves no virtiofsd" until_ok 20 no_vfsd
else
    "$QL" kill sh > /dev/null 2>&1
    check "SIGKILL of QEMU leaves no virtiofsd" until_ok 20 no_vfsd
fi
sed -i '/^memory-limit=64M/d' "$work/sh.ini"

rm -rf "$hostdir"
run "$QL" start "$work/sh.ini"
check_all "a missing folder is refused naming the share and the path" '[ "$rc" -ne 0 ] && has "[share src] path=$hostdir: not a folder"'
check "... and nothing of the VM runs" [ ! -e "$QLAUNCH_RUNTIME_DIR/sh/qemu.pid" ]
mkdir -p "$hostdir"
printf '[vm]\nname=bad\n[boot]\nkernel=/k\n[share a]\npath=/tmp\nmount=/x y\n' > "$work/bad.ini"
run "$QL" cmdline "$work/bad.ini"
check_all "a mount= with a space is refused naming the key" '[ "$rc" -ne 0 ] && has "[share a] mount" && has "not a guest folder"'
printf '[vm]\nname=bad\n[boot]\nkernel=/k\n[share a]\npath=/tmp\n[share b]\npath=/tmp\ntag=a\n' > "$work/bad.ini"
run "$QL" cmdline "$work/bad.ini"
check_all "two shares with one tag are refused" '[ "$rc" -ne 0 ] && has "is also [share a]'"'"'s tag"'
printf '[vm]\nname=bad\n[boot]\nkernel=/k\n[share a]\npath=/tmp\nreadonly=maybe\n' > "$work/bad.ini"
run "$QL" cmdline "$work/bad.ini"
check_all "readonly=maybe is refused naming the key" '[ "$rc" -ne 0 ] && has "readonly"'

# 9p: QEMU serves the folders, no virtiofsd
mkdir -p "$work/p9" "$work/p9ro"
echo from-host-9p > "$work/p9/h.txt"
echo keep-9p > "$work/p9ro/keep.txt"
sed -e '/^\[disk data\]/,/^$/d' "$top/profiles/tiny.ini" > "$work/nine.ini"
cat >> "$work/nine.ini" <<EOT

[share p9]
path=$work/p9
type=9p
mount=/mnt/p9

[share p9ro]
path=$work/p9ro
type=9p
readonly=true
mount=/mnt/p9ro
EOT
run "$QL" start "$work/nine.ini" --wait-agent
check_all "a VM with two 9p shares starts" '[ "$rc" -eq 0 ]'
check "... with no virtiofsd" [ "$(pgrep -fc -- "--socket-path=$QLAUNCH_RUNTIME_DIR/nine/" || true)" -eq 0 ]
run "$QL" exec nine -- cat /mnt/p9/h.txt
check_all "the guest reads a file the host wrote through 9p" '[ "$rc" -eq 0 ] && [ "$out" = from-host-9p ]'
run "$QL" exec nine -- sh -c 'echo from-guest-9p > /mnt/p9/g.txt && sync'
check "the host reads a file the guest wrote through 9p" [ "$(cat "$work/p9/g.txt" 2>/dev/null)" = from-guest-9p ]
run "$QL" exec nine -- cat /mnt/p9ro/keep.txt
check_all "a read-only 9p share is mounted at its mount=" '[ "$rc" -eq 0 ] && [ "$out" = keep-9p ]'
run "$QL" exec nine -- sh -c 'echo x > /mnt/p9ro/new.txt'
check_all "... and the guest cannot write to it" '[ "$rc" -ne 0 ] && [ ! -e "$work/p9ro/new.txt" ]'
"$QL" kill -q nine >/dev/null 2>&1

done_testing
