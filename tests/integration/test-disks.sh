#!/usr/bin/env bash
# Disks on a base image, disk resize, and files through the guest agent:
# a disk the guest wrote becomes the read-only base of two VMs' overlays
# (each sees the base and only its own writes; the base's checksum does not
# change; a raw base works too); disk resize grows a disk live and offline
# and never shrinks one; cp copies a 256 MiB file in and out in bounded
# memory, a tree with its modes, fails cleanly on a full guest filesystem
# and a missing path; exec -i passes stdin, small and large.
. "$(dirname "$0")/lib.sh"

# prof NAME [DISK LINES...]: tiny's profile named NAME with its own disk
prof() {
    local name=$1; shift
    sed -e '/^\[disk data\]/,/^$/d' "$top/profiles/tiny.ini" > "$work/$name.ini"
    { echo; echo "[disk data]"; printf '%s\n' "$@"; } >> "$work/$name.ini"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- a base: the data disk of a VM that wrote a file to it
prof src size=1G
run "$QL" start "$work/src.ini" --wait-agent
check_all "a VM writes a file to its disk" '[ "$rc" -eq 0 ]'
run "$QL" exec src -- sh -c 'echo from-base > /data/base.txt && sync'
run "$QL" stop src
check_all "... and stops" '[ "$rc" -eq 0 ]'
mv "$QLAUNCH_STATE_DIR/src/data.qcow2" "$work/base.qcow2"
base_sum=$(sha "$work/base.qcow2")

# ---- overlays
prof ov1 "base=$work/base.qcow2" size=1536M
run "$QL" start "$work/ov1.ini" --wait-agent
check_all "a VM starts on an overlay of the base" '[ "$rc" -eq 0 ] && has "created disk $QLAUNCH_STATE_DIR/ov1/data.qcow2 (a qcow2 overlay on $work/base.qcow2, qcow2, 1536 MiB)"'
info=$(qemu-img info -U --output=json "$QLAUNCH_STATE_DIR/ov1/data.qcow2")
check_all "... whose backing file is the base" '[[ $info == *"\"backing-filename\": \"$work/base.qcow2\""* ]]'
run "$QL" exec ov1 -- cat /data/base.txt
check "the guest reads what the base holds" has from-base
run "$QL" exec ov1 -- cat /sys/block/vda/size
check "size= grew the overlay past the base's 1 GiB (1.5 GiB)" [ "$out" = $((1536 * 2048)) ]
run "$QL" exec ov1 -- sh -c 'echo mine > /data/one.txt && sync'

prof ov2 "base=$work/base.qcow2"
run "$QL" start "$work/ov2.ini" --wait-agent
check_all "a second VM starts on the same base, with an overlay of its own" '[ "$rc" -eq 0 ] && [ -f "$QLAUNCH_STATE_DIR/ov2/data.qcow2" ]'
run "$QL" exec ov2 -- ls /data
check_all "... which sees the base's file and not the first VM's" 'has base.txt && lacks one.txt'
run "$QL" exec ov2 -- cat /sys/block/vda/size
check "... at the base's size when size= is not given" [ "$out" = $((1024 * 2048)) ]

# ---- export of a disk on a base
run "$QL" export "$work/ov1.ini" --format sh
check "export --format sh makes the overlay when it is missing" has "qemu-img create -q -f qcow2 -F qcow2 -b '$work/base.qcow2' '$QLAUNCH_STATE_DIR/ov1/data.qcow2' 1610612736"
"$QL" export "$work/ov1.ini" --format libvirt > "$work/ov1.xml" 2> "$work/ov1.lost"
check_all "export --format libvirt says the overlay must be made first" 'grep -q "base=: libvirt does not create overlays; create it first: qemu-img create" "$work/ov1.lost" && grep -q "<source file=.$QLAUNCH_STATE_DIR/ov1/data.qcow2./>" "$work/ov1.xml"'

# ---- disk resize
run "$QL" disk resize ov1 data 2G
check_all "disk resize grows a disk while the VM runs" '[ "$rc" -eq 0 ] && has "grown from 1536 to 2048 MiB while it runs"'
check "... and the guest sees the new size" until_ok 20 sh -c "[ \"\$('$QL' exec ov1 -- cat /sys/block/vda/size)\" = $((2048 * 2048)) ]"
run "$QL" disk resize ov1 data 1200M
check_all "a shrink is refused, naming the sizes" '[ "$rc" -ne 0 ] && has "is 2048 MiB; qlaunch only grows disks"'
run "$QL" disk resize ov1 nosuch 1G
check_all "a disk the VM does not have is named, with the ones it has" '[ "$rc" -ne 0 ] && has "has no [disk nosuch]; its disks: data"'
run "$QL" stop ov2
run "$QL" disk resize "$work/ov2.ini" data 2G
vsize=$(qemu-img info --output=json "$QLAUNCH_STATE_DIR/ov2/data.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
check_all "disk resize grows a stopped VM's disk with qemu-img" '[ "$rc" -eq 0 ] && has "grown from 1024 to 2048 MiB;" && [ "$vsize" = $((2048 << 20)) ]'
run "$QL" start "$work/ov2.ini" --wait-agent
check_all "... and the next start keeps the overlay, not a new one" '[ "$rc" -eq 0 ] && lacks "created disk"'
run "$QL" exec ov2 -- ls /data
check "... with what the guest wrote on it" has base.txt

# ---- cp through the agent
# (an ASan build's quarantine keeps 256 MiB of freed memory by design: off
# for the RSS figure, which is about what qlaunch holds)
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
head -c $((256 << 20)) /dev/urandom > "$work/big.bin"
big_sum=$(sha "$work/big.bin")
out=$(/usr/bin/time -f 'maxrss=%M' "$QL" cp "$work/big.bin" ov1:/data/ 2>&1); rc=$?
rss=$(sed -n 's/^maxrss=//p' <<<"$out")
check_all "cp of a 256 MiB file into the guest" '[ "$rc" -eq 0 ]'
check_all "... in bounded memory (peak RSS ${rss} KiB < 64 MiB)" '[ -n "$rss" ] && [ "$rss" -lt 65536 ]'
run "$QL" exec ov1 -- sha256sum /data/big.bin
check "... arrives whole (the guest's checksum)" has "$big_sum"
out=$(/usr/bin/time -f 'maxrss=%M' "$QL" cp ov1:/data/big.bin "$work/back.bin" 2>&1); rc=$?
rss=$(sed -n 's/^maxrss=//p' <<<"$out")
check_all "... and back out, bounded too (${rss} KiB)" '[ "$rc" -eq 0 ] && [ "$rss" -lt 65536 ]'
check "... with the same checksum" [ "$(sha "$work/back.bin")" = "$big_sum" ]
run "$QL" exec ov1 -- rm /data/big.bin

mkdir -p "$work/tree/sub/deep" "$work/tree/with space"
echo a > "$work/tree/sub/deep/a.txt"; chmod 0600 "$work/tree/sub/deep/a.txt"
echo '#!/bin/sh' > "$work/tree/run.sh"; chmod 0755 "$work/tree/run.sh"
echo b > "$work/tree/with space/b"; chmod 0710 "$work/tree/sub"
ln -s run.sh "$work/tree/link"
run "$QL" cp "$work/tree" ov1:/data/
check_all "cp of a directory without -r is refused" '[ "$rc" -ne 0 ] && has "is a directory (copy it with -r)"'
run "$QL" cp -r "$work/tree" ov1:/data/
check_all "cp -r copies a tree into the guest" '[ "$rc" -eq 0 ]'
run "$QL" exec ov1 -- stat -c '%a %n' /data/tree/sub /data/tree/sub/deep/a.txt /data/tree/run.sh
check_all "... with its modes" 'has "710 /data/tree/sub" && has "600 /data/tree/sub/deep/a.txt" && has "755 /data/tree/run.sh"'
run "$QL" cp -r ov1:/data/tree "$work/tree-back"
check_all "... and back out" '[ "$rc" -eq 0 ]'
check_all "the tree round-trips: contents, a symlink and modes" 'diff -r "$work/tree" "$work/tree-back" >/dev/null && [ "$(cd "$work/tree" && find . -printf "%m %y %p\n" | sort)" = "$(cd "$work/tree-back" && find . -printf "%m %y %p\n" | sort)" ]'

head -c $((3 << 20)) /dev/urandom > "$work/3m.bin"
"$QL" exec ov1 -- sh -c 'mkdir -p /mnt/small && mount -t tmpfs -o size=1m tmpfs /mnt/small' >/dev/null 2>&1
run "$QL" cp "$work/3m.bin" ov1:/mnt/small/3m.bin
check_all "cp to a full guest filesystem fails with the reason" '[ "$rc" -ne 0 ] && has "No space left on device" && has "nothing was left at /mnt/small/3m.bin"'
run "$QL" exec ov1 -- ls -A /mnt/small
check "... and leaves no file, partial or named as the target" [ -z "$out" ]
run "$QL" cp ov1:/nosuch/file "$work/x"
check_all "cp of a missing guest path fails, naming it" '[ "$rc" -ne 0 ] && has "ov1:/nosuch/file" && has "No such file" && [ ! -e "$work/x" ]'
run "$QL" cp "$work/nosuch" ov1:/tmp/
check_all "cp of a missing host path fails, naming it" '[ "$rc" -ne 0 ] && has "$work/nosuch: No such file"'

# ---- exec -i
run sh -c "echo 'hello from stdin' | '$QL' exec -i ov1 -- cat"
check_all "exec -i passes a small stdin" '[ "$rc" -eq 0 ] && [ "$out" = "hello from stdin" ]'
head -c $((6 << 20)) /dev/urandom > "$work/6m.bin"
run sh -c "'$QL' exec -i ov1 -- sha256sum < '$work/6m.bin'"
check "... and one larger than a request carries (6 MiB, through a file in the guest)" has "$(sha "$work/6m.bin")"
run "$QL" exec ov1 -- sh -c 'ls /tmp | grep -c qlaunch-stdin'
check "... which is removed after" [ "$out" = 0 ]
run sh -c "cd '$work/tree' && tar c . | '$QL' exec -i ov1 -- tar x -C /mnt"
run "$QL" exec ov1 -- cat /mnt/sub/deep/a.txt
check "tar c . | qlaunch exec -i VM -- tar x works" [ "$out" = a ]

# ---- the base is never written; another base format; errors
run "$QL" stop ov1
run "$QL" stop ov2
check "the base's checksum is unchanged after both VMs" [ "$(sha "$work/base.qcow2")" = "$base_sum" ]
qemu-img convert -O raw "$work/base.qcow2" "$work/base.raw"
prof raw "base=$work/base.raw"
run "$QL" start "$work/raw.ini" --wait-agent
check_all "a raw base works (its format read, not assumed)" '[ "$rc" -eq 0 ] && has "overlay on $work/base.raw, raw, 1024 MiB"'
run "$QL" exec raw -- cat /data/base.txt
check "... and the guest sees its file" has from-base
run "$QL" stop raw
sed -i "s|^base=.*|base=$work/base.qcow2|" "$work/raw.ini"
run "$QL" start "$work/raw.ini"
check_all "an overlay on another base than base= is refused, nothing changed" '[ "$rc" -ne 0 ] && has "is an overlay on $work/base.raw, not an overlay on $work/base.qcow2" && [ -z "$(ls "$QLAUNCH_RUNTIME_DIR" 2>/dev/null | grep -x raw)" ]'
prof gone "base=$work/nosuch.qcow2"
run "$QL" start "$work/gone.ini"
check_all "a missing base is refused, naming the key" '[ "$rc" -ne 0 ] && has "[disk data] base: $work/nosuch.qcow2 does not exist"'
prof small "base=$work/base.qcow2" size=100M
run "$QL" start "$work/small.ini"
check_all "size= below the base's size is refused" '[ "$rc" -ne 0 ] && has "[disk data] size: 100 MiB is less than its base"'
run "$QL" delete ov2
check_all "delete removes a VM's overlay and leaves the base" '[ "$rc" -eq 0 ] && [ ! -e "$QLAUNCH_STATE_DIR/ov2" ] && [ "$(sha "$work/base.qcow2")" = "$base_sum" ]'

done_testing
