#!/usr/bin/env bash
# Snapshots on the embedded guest: the lab's rollback proof, memory state,
# paused saves, list/delete, refusals, a full disk, offline snapshots.
. "$(dirname "$0")/lib.sh"
ex() { "$QL" exec tiny -- sh -c "$1"; }

"$QL" start -q tiny --wait-agent >/dev/null || { not_ok "start tiny"; done_testing; exit 1; }

# The lab report's proof, automated.
ex 'echo keep-content > /data/keep.txt && echo before > /tmp/mem.txt && sync'
# (its output goes to /dev/null: an open pipe would keep exec waiting)
ex 'sleep 100000 >/dev/null 2>&1 & echo $! > /tmp/sleeper.pid'
run "$QL" snapshot save tiny s1
check "snapshot save s1 on a running VM" [ "$rc" -eq 0 ]
check "save reports the VM state size" has "VM state"
ex 'mkdir -p "/data/uji rollback" && echo x > "/data/uji rollback/test.txt" && echo after > /tmp/mem.txt && kill $(cat /tmp/sleeper.pid) && sync'
run "$QL" exec tiny -- ls /data
check "after the snapshot 'uji rollback' exists" has "uji rollback"
run "$QL" snapshot load tiny s1
check "snapshot load s1" [ "$rc" -eq 0 ]
run "$QL" exec tiny -- cat /data/keep.txt
check "rollback keeps keep.txt with its content" has "keep-content"
run "$QL" exec tiny -- ls /data
check "rollback removed the folder 'uji rollback' and its test.txt" bash -c "[[ '$out' != *'uji rollback'* ]]"
run "$QL" exec tiny -- cat /tmp/mem.txt
check "memory state restored: /tmp (RAM) holds the value from before" has "before"
run ex 'kill -0 $(cat /tmp/sleeper.pid) && echo sleeper-alive'
check "memory state restored: a process killed after the snapshot runs again" has "sleeper-alive"
run "$QL" status tiny --json
check "the VM runs after a load" has '"state": "running"'

"$QL" pause tiny >/dev/null
run "$QL" snapshot save tiny s2
check "save on a paused VM" [ "$rc" -eq 0 ]
run "$QL" status tiny --json
check "a paused VM stays paused after save" has '"state": "paused"'
"$QL" resume tiny >/dev/null

run "$QL" snapshot list tiny
check "list after two saves shows s1" has "s1 "
check "list after two saves shows s2" has "s2 "
check "list marks the disk holding them" has " data"
run "$QL" snapshot list tiny --json
check "list --json has the VM state size" has '"vm_state_size"'
run "$QL" snapshot save tiny s3 --json
check "save --json reports what was done" has '"done": "saved"'
check "save --json says it was live" has '"live": true'
"$QL" snapshot delete -q tiny s3 >/dev/null

run "$QL" snapshot save tiny s1
check "save over an existing name is refused" [ "$rc" -eq 1 ]
check "the refusal says --force" has "already exists on VM tiny (use --force"
run "$QL" snapshot save tiny s1 --force
check "save --force replaces it" [ "$rc" -eq 0 ]
run "$QL" snapshot save tiny 'bad name'
check "an invalid snapshot name is refused" has "is not a valid snapshot name"

run "$QL" snapshot delete tiny s1
check "delete s1" [ "$rc" -eq 0 ]
run "$QL" snapshot list tiny
check "s1 is gone from the list" bash -c "! grep -q '^s1 ' <<< '$out'"
run "$QL" snapshot load tiny s2
check "the other snapshot (s2) still loads" [ "$rc" -eq 0 ]

run "$QL" snapshot load tiny nosuch
check "load of a missing name fails" [ "$rc" -eq 1 ]
check "with a clear message" has "no snapshot named 'nosuch' on VM tiny"
run "$QL" exec tiny -- echo still-here
check "the VM keeps running and answers the agent" has "still-here"

# Offline: disk-only snapshots of a stopped VM through qemu-img.
ex 'echo A > /data/a.txt && sync'
"$QL" stop tiny >/dev/null
run "$QL" snapshot save tiny off1
check "offline save on a stopped VM" [ "$rc" -eq 0 ]
check "offline save says it is disk only" has "disks only, no memory state"
run "$QL" snapshot list tiny
check "offline list shows it" has "off1"
run "$QL" snapshot load tiny s2 --live
check "--live on a stopped VM is refused" has "is not running and --live was given"
"$QL" start -q tiny --wait-agent >/dev/null
ex 'echo B > /data/b.txt && sync'
"$QL" stop tiny >/dev/null
run "$QL" snapshot load tiny off1
check "offline load" [ "$rc" -eq 0 ]
"$QL" start -q tiny --wait-agent >/dev/null
run "$QL" exec tiny -- ls /data
check "offline load restored the disk: b.txt gone" bash -c "[[ '$out' != *b.txt* ]]"
check "offline load restored the disk: a.txt kept" has "a.txt"
"$QL" kill tiny >/dev/null

# A full disk during save: the save fails, the VM goes on, s1 still loads.
if [ "$(id -u)" -ne 0 ]; then
    ok "disk full during save # SKIP needs root to mount a small tmpfs"
else
    small=$work/small
    mkdir -p "$small" && mount -t tmpfs -o size=200M tmpfs "$small"
    p=$work/full.ini
    printf '[vm]\nname=full\nmemory=512M\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[disk data]\nfile=%s/data.qcow2\nsize=1G\n' "$small" > "$p"
    "$QL" start -q "$p" --wait-agent >/dev/null
    "$QL" exec full -- sh -c 'echo full-keep > /tmp/v.txt'
    run "$QL" snapshot save full first
    check "disk full: a first snapshot fits" [ "$rc" -eq 0 ]
    avail=$(df --output=avail -B1 "$small" | tail -1)
    fallocate -l $((avail - 4 * 1024 * 1024)) "$small/filler"
    run "$QL" snapshot save full second
    check "disk full: the save fails" [ "$rc" -eq 1 ]
    check "disk full: the error says how much space is left there" has "MiB free"
    run "$QL" exec full -- echo alive
    check "disk full: the VM still answers the guest agent" has "alive"
    rm -f "$small/filler"
    run "$QL" snapshot load full first
    check "disk full: the earlier snapshot still loads" [ "$rc" -eq 0 ]
    run "$QL" exec full -- cat /tmp/v.txt
    check "disk full: and its memory state is right" has "full-keep"
    "$QL" kill full >/dev/null
fi

done_testing
