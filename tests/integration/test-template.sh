#!/usr/bin/env bash
# Templates and clones: template save pauses a running VM, saves its state,
# RAM and disks, and lets it go on; clones started from it have their own
# names, MACs and overlays, the template's files and processes, and do not
# see each other's writes; the base is never written; delete refuses while
# clones use it; qlaunch delete removes a stopped VM's state; a busy guest
# is saved once it is idle (--settle).
. "$(dirname "$0")/lib.sh"
st=$QLAUNCH_STATE_DIR
sum() { sha256sum "$1" | cut -d' ' -f1; }
mac_of() { "$QL" exec "$1" -- cat /sys/class/net/eth0/address; }
backing() { qemu-img info -U --output=json "$1" | sed -n 's/.*"backing-filename": "\(.*\)".*/\1/p' | head -n 1; }
clock_off() { local g h; g=$("$QL" exec "$1" -- date +%s); h=$(date +%s); echo $(( g > h ? g - h : h - g )); }

cp "$top/profiles/tiny.ini" "$work/src.ini"
"$QL" start -q "$work/src.ini" --wait-agent >/dev/null
sleeper=$("$QL" exec src -- sh -c 'echo gold > /data/t; sync; sleep 100000 >/dev/null 2>&1 & echo $!')
"$QL" exec src -- sh -c 'date -s @$(( $(date +%s) - 3600 ))' >/dev/null # the clones must fix it
run "$QL" template save src gold
check_all "template save of a running VM" '[ "$rc" -eq 0 ] && has "saved template '"'"'gold'"'"' of src"'
run "$QL" status src
check_all "... the VM runs on after the save" '[ "$rc" -eq 0 ] && has "state:   running"'
"$QL" exec src -- sh -c 'echo after > /data/after; sync'
tdir=$st/templates/gold
check_all "the template holds state, RAM and the disk, private to the user" \
    '[ "$(stat -c %a "$tdir")" = 700 ] && [ -s "$tdir/state" ] && [ -s "$tdir/ram" ] && [ -s "$tdir/disk-data.qcow2" ]'
check "... the disk base is read-only" [ "$(stat -c %a "$tdir/disk-data.qcow2")" = 400 ]
base_sum=$(sum "$tdir/disk-data.qcow2")
tmac=$(grep -o '"0": "[0-9a-f]\{2\}\(:[0-9a-f]\{2\}\)\{5\}"' "$tdir/template.json" | cut -d'"' -f4)
run "$QL" template list
check_all "template list shows it and the VM it came from" 'has gold && has src'
run "$QL" template save src gold
check_all "a second save under the same name is refused" '[ "$rc" -ne 0 ] && has "template '"'"'gold'"'"' exists"'

run "$QL" start gold --name ca
check_all "start gold --name ca" '[ "$rc" -eq 0 ] && has "started ca from template '"'"'gold'"'"'"'
run "$QL" start gold --name cb --json
check_all "start gold --name cb (json names the template)" '[ "$rc" -eq 0 ] && has "\"template\": \"gold\""'
run "$QL" list
check_all "both clones run under their own names" 'has ca && has cb'
ma=$(mac_of ca); mb=$(mac_of cb)
check_all "the clones' NICs have their own MACs ($ma, $mb; template $tmac)" \
    '[ -n "$tmac" ] && [ -n "$ma" ] && [ -n "$mb" ] && [ "$ma" != "$mb" ] && [ "$ma" != "$tmac" ] && [ "$mb" != "$tmac" ]'
check_all "each clone has its own overlay on the template's base" \
    '[ "$(backing "$st/ca/data.qcow2")" = "$tdir/disk-data.qcow2" ] && [ "$(backing "$st/cb/data.qcow2")" = "$tdir/disk-data.qcow2" ]'
run "$QL" exec ca -- cat /data/t
check_all "a clone has the template's file" '[ "$rc" -eq 0 ] && has gold'
run "$QL" exec ca -- ls /data
check "... and not what the VM wrote after the save" lacks after
run "$QL" exec cb -- cat "/proc/$sleeper/comm"
check_all "a clone runs the template's process (pid $sleeper)" '[ "$rc" -eq 0 ] && has sleep'
off=$(clock_off ca)
check_all "a clone's clock is the host's, within 2 s ($off s; the template's was an hour behind)" \
    '[ -n "$off" ] && [ "$off" -le 2 ]'
"$QL" exec ca -- sh -c 'echo a > /data/only-a; sync'
"$QL" exec cb -- sh -c 'echo b > /data/only-b; sync'
run "$QL" exec ca -- ls /data
check_all "clone ca sees its own write and not cb's" 'has only-a && lacks only-b'
run "$QL" exec cb -- ls /data
check_all "clone cb sees its own write and not ca's" 'has only-b && lacks only-a'
check "the template's disk base is unchanged (sha256)" [ "$(sum "$tdir/disk-data.qcow2")" = "$base_sum" ]

run "$QL" template delete gold
check_all "template delete while clones run is refused, naming them" \
    '[ "$rc" -ne 0 ] && has ca && has cb && [ -d "$tdir" ]'
run "$QL" start gold --clones 2 --name cc
check_all "--clones 2 starts cc-1 and cc-2" '[ "$rc" -eq 0 ] && has "started cc-1" && has "started cc-2"'
run "$QL" delete cc-1
check_all "qlaunch delete of a running VM is refused" '[ "$rc" -ne 0 ] && has "is running" && [ -d "$st/cc-1" ]'
for v in ca cb cc-1 cc-2; do "$QL" kill "$v" >/dev/null; done
run "$QL" template delete gold
check_all "template delete with stopped clones' overlays is still refused" '[ "$rc" -ne 0 ] && [ -d "$tdir" ]'
a_sum=$(sum "$st/ca/data.qcow2")
run "$QL" start gold --name ca
check_all "a stopped clone's name is refused again: its disk keeps what it wrote" \
    '[ "$rc" -ne 0 ] && has "qlaunch delete ca" && [ "$(sum "$st/ca/data.qcow2")" = "$a_sum" ]'
for v in ca cb cc-1 cc-2; do "$QL" delete -q "$v" >/dev/null; done
check "qlaunch delete removes a stopped clone's state dir" [ ! -e "$st/ca" ]
run "$QL" start gold --name ca
run "$QL" exec ca -- ls /data
check_all "once deleted, the name starts a new clone from the template (the old write is gone)" \
    '[ "$rc" -eq 0 ] && has t && lacks only-a'
"$QL" kill ca >/dev/null
"$QL" delete -q ca >/dev/null
run "$QL" template delete gold
check_all "template delete once no clone uses it" '[ "$rc" -eq 0 ] && [ ! -e "$tdir" ]'

# refusals
run "$QL" start nosuch --name x
check_all "a template that does not exist is refused, pointing at template list" \
    '[ "$rc" -ne 0 ] && has "no template named '"'"'nosuch'"'"'" && has "qlaunch template list"'
"$QL" template save -q src gold2 >/dev/null
ghash=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$st/templates/gold2/template.json")
run "$QL" bench --template gold2 --tests cpu --runs 1 --time 1 --out "$work/tb"
check_all "bench --template benches a clone of it and records the template's SHA-256" \
    '[ "$rc" -eq 0 ] && [ -n "$ghash" ] && grep -q "$ghash" "$work/tb/results.json" && grep -q "\"gold2-bench\"" "$work/tb/results.json"'
check "... and removes its clone afterwards" [ ! -e "$st/gold2-bench" ]
run "$QL" bench --template gold2 tiny
check "bench --template with a profile too is a usage error" [ "$rc" -eq 2 ]
# bench --scenario on a template: each VM a new clone, from the same state
printf '[scenario]\nname=sc\ntemplate=gold2\nvms=a,b\nstep-seconds=6\nsettle-seconds=2\n[steps]\nbusy-a=50/10 0/10\n' > "$work/sc.ini"
run "$QL" bench --scenario "$work/sc.ini" --out "$work/sc"
check_all "bench --scenario with template= runs its VMs as clones and records the template's SHA-256" \
    '[ "$rc" -eq 0 ] && [ -n "$ghash" ] && grep -q "$ghash" "$work/sc/scenario.json" && grep -q "\"sc-a\"" "$work/sc/scenario.json" && grep -q "\"sc-b\"" "$work/sc/scenario.json" && has "starting sc-a"'
check "... and removes its clones afterwards" [ ! -e "$st/sc-a" ] && [ ! -e "$st/sc-b" ]
printf '[scenario]\nname=sc2\nprofile=%s\nvms=a\nstep-seconds=6\nsettle-seconds=2\n[steps]\n1=10/10\n' "$work/src.ini" > "$work/sc2.ini"
run "$QL" start gold2 --name sc2-a
check "a clone named like a scenario VM starts" [ "$rc" -eq 0 ]
run "$QL" bench --scenario "$work/sc2.ini" --template gold2 --out "$work/sc2"
check_all "bench --scenario --template refuses a clone name already taken, saying what to do" \
    '[ "$rc" -ne 0 ] && has "sc2.ini [scenario] template: VM sc2-a was started from template" && has "qlaunch delete sc2-a" && [ ! -e "$work/sc2/scenario.json" ]'
"$QL" kill sc2-a >/dev/null 2>&1; "$QL" delete sc2-a >/dev/null 2>&1
mkdir -p "$st/mine" && qemu-img create -q -f qcow2 "$st/mine/data.qcow2" 16M
mine=$(sum "$st/mine/data.qcow2")
run "$QL" start gold2 --name mine
check_all "a clone name whose disk is not a clone's is refused, the disk untouched" \
    '[ "$rc" -ne 0 ] && has "is not a clone" && [ "$(sum "$st/mine/data.qcow2")" = "$mine" ]'
sed -i 's/"CPU model": "[^"]*"/"CPU model": "host"/' "$st/templates/gold2/template.json"
run "$QL" start gold2 --name other
check_all "a template saved under another CPU model is refused, saying so" \
    '[ "$rc" -ne 0 ] && has "CPU model: host at the template" && [ ! -e "$QLAUNCH_RUNTIME_DIR/other" ]'
run "$QL" start gold2 --name x --restore s1
check "--name with --restore is a usage error" [ "$rc" -eq 2 ]
# a guest at work is saved once it is idle, so that no clone redoes that
# work (a save in the middle of it: see the note below the check)
"$QL" exec src -- sh -c '(i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; echo done > /root/work) >/dev/null 2>&1 &'
run "$QL" exec src -- cat /root/work
check "the guest's work (a 400000-step shell loop) runs as the save begins" [ "$rc" -ne 0 ]
run "$QL" template save src worked
check_all "template save of a busy guest waits until it is idle" '[ "$rc" -eq 0 ] && has "guest idle after"'
run "$QL" start worked --name cw
run "$QL" exec cw -- cat /root/work
# with --settle 0 the clone starts in the loop, seconds from its end
check_all "... so its clone starts with the work done" '[ "$rc" -eq 0 ] && has done'
"$QL" kill cw >/dev/null; "$QL" delete -q cw >/dev/null
spin=$("$QL" exec src -- sh -c 'while :; do :; done >/dev/null 2>&1 & echo $!')
run "$QL" template save --settle 2 src spun
check_all "a guest that stays busy is saved after --settle, with a note saying so" \
    '[ "$rc" -eq 0 ] && has "was still busy after" && [ -d "$st/templates/spun" ]'
"$QL" exec src -- kill "$spin" >/dev/null
run "$QL" template save --settle -1 src neg
check_all "--settle -1 is a usage error naming the option" '[ "$rc" -eq 2 ] && has "--settle -1" && [ ! -e "$st/templates/neg" ]'
"$QL" stop -q src >/dev/null
{ cat "$top/profiles/tiny.ini" | sed '/^\[net 0\]/,$d'; printf '[net 0]\nmode=socket\nlan=tpl%s\n[agent]\nenabled=true\n' $$; } > "$work/lan.ini"
"$QL" start -q "$work/lan.ini" >/dev/null
run "$QL" template save lan glan
check_all "a VM on a socket lan cannot be a template, saying why" \
    '[ "$rc" -ne 0 ] && has "mode=socket" && [ ! -e "$st/templates/glan" ]'
"$QL" kill lan >/dev/null
done_testing
