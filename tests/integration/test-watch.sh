#!/usr/bin/env bash
# Watching VMs and fitting the ecosystem: stats and top on real VMs, export
# (libvirt XML validated by libvirt's own schema and taken by virsh's test
# driver, the sh export booting the same guest), man pages, completion,
# --help and --verbose on every verb.
. "$(dirname "$0")/lib.sh"

prof() { # FILE NAME
    printf '[vm]\nname=%s\nmemory=256M\ncpus=2\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[disk data]\nsize=256M\n[net 0]\nmode=user\n[agent]\nenabled=true\n' \
        "$2" > "$1"
}
num() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p" | head -1; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a > b)}'; }

prof "$work/w1.ini" w1
prof "$work/w2.ini" w2
sed -i 's/^\[vm\]$/[vm]\nballoon=true/' "$work/w2.ini"
"$QL" start -q "$work/w1.ini" --wait-agent >/dev/null
"$QL" start -q "$work/w2.ini" --wait-agent >/dev/null

# --- stats ---
run "$QL" stats w1 --json
check "stats --json" [ "$rc" -eq 0 ]
check "... parses as JSON" bash -c 'json_pp <<< "$1" >/dev/null' _ "$out"
ncpu=$(grep -c '"thread_id"' <<< "$out")
check "... has one vCPU entry per profile vCPU (2, got $ncpu)" [ "$ncpu" -eq 2 ]
check "... and the guest's memory from the agent" has '"source": "agent /proc/meminfo"'
cpu0=$(grep -o '"cpu_s": [0-9.]*' <<< "$out" | sed -n 2,3p | awk '{s += $2} END {print s}')
wr0=$(num wr_bytes <<< "$out")
"$QL" exec w1 -- sh -c 'timeout 3 sh -c "while :; do :; done" & timeout 3 sh -c "while :; do :; done"; true' >/dev/null
run "$QL" stats w1 --json --no-guest
cpu1=$(grep -o '"cpu_s": [0-9.]*' <<< "$out" | sed -n 2,3p | awk '{s += $2} END {print s}')
check "vCPU CPU time grows while the guest spins ($cpu0 -> $cpu1 s)" gt "$cpu1" "$(awk -v a="$cpu0" 'BEGIN {print a + 2}')"
check "--no-guest does not ask the agent" has '"guest": "not asked"'
"$QL" exec w1 -- sh -c 'dd if=/dev/zero of=/data/blob bs=1M count=8 conv=fsync 2>/dev/null' >/dev/null
run "$QL" stats w1 --json --no-guest
wr1=$(num wr_bytes <<< "$out")
check "block write counters grow after 8 MiB written to the data disk ($wr0 -> $wr1)" gt "$wr1" "$((wr0 + 8000000))"
run "$QL" stats w1 --interval 0.5 --count 2 --json --no-guest
lines=$(grep -c '"window":"interval"' <<< "$out")
check "--interval 0.5 --count 2 prints 2 JSON lines, the second over the interval" \
    bash -c '[ "$(wc -l <<< "$1")" -eq 2 ] && [ "$2" -eq 1 ]' _ "$out" "$lines"
check "... with disk rates" has '"wr_bytes_per_s"'
run "$QL" stats w1
check "text stats show each vCPU, memory, the disk and the NIC" \
    bash -c '[[ $1 == *"vcpu 1:"* && $1 == *"QEMU RSS"* && $1 == *"disk data: read"* && $1 == *"nic 0:"* ]]' _ "$out"
run "$QL" stats nosuchvm
check "stats of a VM that is not running says so" bash -c '[ "$1" -eq 1 ] && [[ $2 == *nosuchvm* ]]' _ "$rc" "$out"
run "$QL" stats w1 --count 3
check "--count without --interval is a usage error" has "needs --interval"

# --- top ---
run "$QL" top --delay 0.5
check "top (not a terminal) prints one table" has "NAME"
check "... listing every running VM" bash -c '[[ $1 == *"w1 "*running* && $1 == *"w2 "*running* ]]' _ "$out"
run "$QL" top --json --delay 0.3 --sort name
check "top --json parses" bash -c 'json_pp <<< "$1" >/dev/null' _ "$out"
run "$QL" top --sort bogus
check "top --sort bogus names the valid keys" has "use cpu, mem, disk or name"

for _ in $(seq 40); do
    run "$QL" stats w2 --json --no-guest
    [[ $out == *'"source": "balloon"'* ]] && break
    sleep 0.5
done
check "with balloon=true the guest's memory comes from the balloon, no agent asked" \
    bash -c '[[ $1 == *"\"source\": \"balloon\""* ]] && [ "$(sed -n "s/.*\"total_bytes\": \([0-9]*\).*/\1/p" <<< "$1")" -gt 100000000 ]' _ "$out"

# --- export ---
for p in "$top"/profiles/*.ini; do
    for a in kvm tcg; do
        "$QL" export "$p" --format libvirt --accel $a > "$work/x.xml" 2>/dev/null
        run virt-xml-validate "$work/x.xml" domain
        check "libvirt XML of $(basename "$p") ($a) passes virt-xml-validate" has "validates"
    done
done
"$QL" export w1 --format libvirt > "$work/w1.xml" 2>"$work/lost.txt"
run virsh -c test:///default "define $work/w1.xml; dominfo w1"
check "virsh (test driver) defines the exported running VM" bash -c '[[ $1 == *"Domain '"'"'w1'"'"' defined"* && $1 == *"CPU(s):         2"* ]]' _ "$out"
check "export lists what does not carry over" grep -q "size=: libvirt does not create disks" "$work/lost.txt"
run "$QL" export w1 --format proxmox
check "proxmox export has the qm keys" bash -c '[[ $1 == *"cores: 2"* && $1 == *"memory: 256"* && $1 == *"agent: 1"* && $1 == *"args: -kernel"* ]]' _ "$out"
run "$QL" export w1 --format vmware
check "an unknown format is refused with the valid ones" has "use libvirt, proxmox or sh"
"$QL" stop -q w2 >/dev/null
"$QL" export "$work/w2.ini" --format sh -o "$work/w2.sh" 2>/dev/null
check "the sh export passes sh -n" sh -n "$work/w2.sh"
mkdir -p "$QLAUNCH_RUNTIME_DIR"
sh "$work/w2.sh" "$QLAUNCH_RUNTIME_DIR/w2" > "$work/w2.log" 2>&1 &
shpid=$!
until_ok 10 test -S "$QLAUNCH_RUNTIME_DIR/w2/qga.sock"
run "$QL" exec --timeout 60 w2 -- cat /proc/cmdline
check "the sh export boots the same guest (its agent answers through qlaunch)" has "console=ttyS0 quiet"
{ kill "$shpid" && wait "$shpid"; } 2>/dev/null
rm -rf "${QLAUNCH_RUNTIME_DIR:?}/w2"

# --- conventions ---
for v in $("$QL" --help | awk '/^  [a-z]/ {print $1}'); do
    run "$QL" "$v" --help
    check "qlaunch $v --help" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"Usage:"*"qlaunch '"$v"'"* && $2 == *"--verbose"* ]]' _ "$rc" "$out"
done
run "$QL" status w1 -v
check "-v shows the QMP traffic" bash -c '[[ $1 == *"qmp -> {\"execute\":\"query-status\""* && $1 == *"qmp <- {\"return\""* ]]' _ "$out"
run "$QL" bogus
check "an unknown verb exits 2" [ "$rc" -eq 2 ]
for m in "$top"/launcher/man/qlaunch.1 "$top"/launcher/man/qlaunch-profile.5; do
    warn=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
    check "$(basename "$m") renders with man -l without warnings" [ -z "$warn" ]
done
text=$(MANWIDTH=80 man -l "$top/launcher/man/qlaunch.1" 2>/dev/null)
for v in $("$QL" --help | awk '/^  [a-z]/ {print $1}'); do
    grep -q "^       $v" <<< "$text" || missing="${missing:-} $v"
done
check "qlaunch(1) documents every verb${missing:+ (missing:$missing)}" [ -z "${missing:-}" ]
# every option of every verb's --help in that verb's entry of qlaunch(1)
missing=
for v in $("$QL" --help | awk '/^  [a-z]/ {print $1}'); do
    sec=$(awk -v v="$v" '/^       [a-z]/ {on = ($1 == v)} on' <<< "$(MANWIDTH=200 man -l "$top/launcher/man/qlaunch.1" 2>/dev/null)")
    for o in $("$QL" "$v" --help | sed -n '/^Application Options/,$p' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        case $o in --help | --quiet | --verbose | --json) continue ;; esac # COMMON OPTIONS
        grep -q -- "$o" <<< "$sec" || missing="$missing $v$o"
    done
done
check "qlaunch(1) documents every verb's options${missing:+ (missing:$missing)}" [ -z "$missing" ]
# the layers: nothing below the verbs includes the CLI's headers
up=$(cd "$top/launcher" && grep -lE '#include "(cli|commands)\.h"' $(ls *.c | grep -vE '^(cli|main|verbs|cmd-.*)\.c$') 2>/dev/null | tr '\n' ' ')
check "no core file includes cli.h or commands.h${up:+ ($up)}" [ -z "$up" ]
# every key the profile parser knows in qlaunch-profile(5)
missing=
t5=$(MANWIDTH=200 man -l "$top/launcher/man/qlaunch-profile.5" 2>/dev/null)
for k in $(awk '/_keys\[\] = {/ {on = 1} on {print} on && /};/ {on = 0}' "$top"/launcher/profile*.c | grep -o '"[a-z-]*"' | tr -d '"' | sort -u); do
    grep -qE "(^| )$k( |=|,|$)" <<< "$t5" || missing="$missing $k"
done
check "qlaunch-profile(5) documents every profile key${missing:+ (missing:$missing)}" [ -z "$missing" ]
# every verb in the README's verb table
missing=
for v in $("$QL" --help | awk '/^  [a-z]/ {print $1}'); do
    grep -qE "^\|.*\`$v[ \`]" "$top/README.md" || missing="$missing $v"
done
check "README's verb table has every verb${missing:+ (missing:$missing)}" [ -z "$missing" ]
comp=$top/scripts/qlaunch-completion.bash
check "the completion script passes bash -n" bash -n "$comp"
out=$(PATH="$(dirname "$QL"):$PATH" bash -c 'source "$1"; COMP_WORDS=(qlaunch stop w); COMP_CWORD=2; _qlaunch; echo "${COMPREPLY[*]}"' _ "$comp")
check "completion offers the running VM's name (qlaunch stop w -> w1)" [ "$out" = w1 ]
out=$(PATH="$(dirname "$QL"):$PATH" bash -c 'source "$1"; COMP_WORDS=(qlaunch sta); COMP_CWORD=1; _qlaunch; echo "${COMPREPLY[*]}"' _ "$comp")
check "completion offers verbs (sta -> start stats status)" bash -c '[[ $1 == *start* && $1 == *stats* && $1 == *status* ]]' _ "$out"
verbs=$("$QL" --help | awk '/^  [a-z]/ {print $1}' | sort | tr '\n' ' ')
listed=$(bash -c 'source "$1"; tr " " "\n" <<< "$_qlaunch_verbs" | sort | tr "\n" " "' _ "$comp")
check "the completion knows exactly qlaunch's verbs" [ "$verbs" = "$listed" ]
"$QL" stop -q w1 >/dev/null

done_testing
