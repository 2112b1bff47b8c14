#!/usr/bin/env bash
# A running VM's memory: qlaunch memory (the balloon) read back from the
# guest and from QEMU, stats, a refusal without a balloon, a scenario whose
# balloon gives memory back so that QEMU's RSS follows; NUMA nodes as the
# guest and status see them, and across a local migration.
. "$(dirname "$0")/lib.sh"
failed_with() { [ "$rc" -ne 0 ] || { echo "#   exit code 0"; return 1; }; for t; do has "$t" || return 1; done; }
# mem_total VM: the guest's MemTotal in MiB
# (what exec said goes to the log when there is no MemTotal, so a failure says why)
mem_total() {
    local o rc
    o=$("$QL" exec "$1" -- cat /proc/meminfo 2>&1); rc=$?
    awk '/^MemTotal:/ { print int($2 / 1024) }' <<< "$o"
    grep -q '^MemTotal:' <<< "$o" || printf '#   exec %s exited %s: %s\n' "$1" "$rc" "${o:0:400}" >&2
}
# field JSON KEY: an integer member of qlaunch's --json output
field() { sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" <<< "$1" | head -n 1; }

sed -e 's/^cpu=auto/cpu=auto\nballoon=true/' "$top/profiles/tiny.ini" > "$work/bal.ini"
grep -v '^\[disk\|^size=\|^format=\|^bus=' "$top/profiles/tiny.ini" > "$work/nobal.ini"

"$QL" start -q "$work/bal.ini" --wait-agent >/dev/null
full=$(mem_total bal)
check "the guest sees its memory before the balloon moves ($full MiB)" [ "${full:-0}" -gt 400 ]
run "$QL" memory bal 256M --json
check "memory bal 256M succeeds" [ "$rc" -eq 0 ]
actual=$(field "$out" actual_bytes)
check "... QEMU's balloon actual is 256 MiB ($actual)" [ "${actual:-0}" -eq $((256 << 20)) ]
check "... the output says the target was reached" has '"reached": true'
small=$(mem_total bal)
check_all "... the guest's MemTotal dropped by about 256 MiB ($full -> $small MiB)" \
    '[ $((full - ${small:-full})) -ge 250 ] && [ $((full - ${small:-full})) -le 262 ]'
run "$QL" stats bal
check "stats shows the balloon's target and actual" has "balloon target 256.0 MiB, actual 256.0 MiB"
run "$QL" memory bal 512M
check "memory bal 512M succeeds" [ "$rc" -eq 0 ]
back=$(mem_total bal)
check "... and the guest has all of its memory back ($back MiB)" [ "${back:-0}" -eq "$full" ]
run "$QL" memory bal 1G
check "more than memory= is refused naming the key and the file" \
    failed_with "more than its 512 MiB" "[vm] memory= in $work/bal.ini"
run "$QL" memory bal 16M
check "too little is refused" failed_with "too little memory"
run "$QL" memory bal lots
check_all "a size that is none is a usage error" '[ "$rc" -eq 2 ] && has "lots" && has "is not a memory size"'
"$QL" stop -q bal >/dev/null

"$QL" start -q "$work/nobal.ini" --wait-agent >/dev/null
run "$QL" memory nobal 256M
check "without a balloon it is refused saying which key to set" \
    failed_with "has no balloon device" "balloon=true in [vm] of $work/nobal.ini"
run "$QL" stats nobal --json
check "stats of a VM without a balloon has balloon null" has '"balloon": null'
"$QL" stop -q nobal >/dev/null

# --- a scenario: 80% of memory, then 10%; with memory=balloon the RSS follows
cat > "$work/shrink.ini" <<EOF
[scenario]
name=sh
profile=$work/bal.ini
vms=a
step-seconds=5
settle-seconds=2
memory=balloon
[steps]
big=0/80
small=0/10
EOF
run "$QL" bench --scenario "$work/shrink.ini" --out "$work/sc"
check "bench --scenario with memory=balloon succeeds" [ "$rc" -eq 0 ]
rss() { awk -F, -v s="$1" '$1 == s && $2 == "a" { print int($6) }' "$work/sc/scenario.csv"; }
big=$(rss big); small=$(rss small)
check_all "the RSS follows the step down (big $big%, small $small% of memory)" \
    '[ -n "$big" ] && [ -n "$small" ] && [ "$big" -ge 60 ] && [ "$small" -lt $((big - 30)) ]'
check "scenario.json records the balloon's size per step" grep -q '"balloon_actual_mib"' "$work/sc/scenario.json"
sed -e 's/^memory=balloon/memory=ballon/' "$work/shrink.ini" > "$work/typo.ini"
run "$QL" bench --scenario "$work/typo.ini"
check "a bad memory= names the file and key" failed_with "typo.ini [scenario] memory:"
sed -e "s|^profile=.*|profile=$work/nobal.ini|" "$work/shrink.ini" > "$work/nob.ini"
run "$QL" bench --scenario "$work/nob.ini"
check "memory=balloon on a profile without a balloon is refused" \
    failed_with "memory=balloon" "balloon=true"
# --- numa=2 on a 2-vCPU VM ---
sed -e 's/^cpus=2/cpus=2\nnuma=2/' "$work/nobal.ini" > "$work/numa.ini"
"$QL" start -q "$work/numa.ini" --wait-agent >/dev/null
run "$QL" exec numa -- sh -c 'ls -d /sys/devices/system/node/node*'
check "the guest reports two NUMA nodes" [ "$out" = $'/sys/devices/system/node/node0\n/sys/devices/system/node/node1' ]
run "$QL" exec numa -- cat /sys/devices/system/node/node0/cpulist /sys/devices/system/node/node1/cpulist
check "... with one vCPU each" [ "$out" = $'0\n1' ]
node_mib() { "$QL" exec numa -- cat "/sys/devices/system/node/node$1/meminfo" | awk '/MemTotal/ { print int($4 / 1024) }'; }
m0=$(node_mib 0); m1=$(node_mib 1)
check_all "... and about half of the memory each ($m0 and $m1 MiB)" \
    '[ "${m0:-0}" -ge 200 ] && [ "${m0:-0}" -le 256 ] && [ "${m1:-0}" -ge 200 ] && [ "${m1:-0}" -le 256 ]'
run "$QL" status numa
check "status reads the nodes back from QEMU" has "numa 0:  vCPUs 0, 256 MiB" && has "numa 1:  vCPUs 1, 256 MiB"
"$QL" exec numa -- sh -c 'echo before > /tmp/mark' >/dev/null
run "$QL" migrate numa --local
check "a NUMA VM migrates locally (its RAM copied, one memfd per node)" [ "$rc" -eq 0 ]
run "$QL" exec numa -- sh -c 'cat /tmp/mark; ls -d /sys/devices/system/node/node* | wc -l'
check "... and runs on with its file and both nodes" [ "$out" = $'before\n2' ]
"$QL" stop -q numa >/dev/null
sed -e 's/^numa=2/numa=2\nnuma-host=0,7/' "$work/numa.ini" > "$work/numa-host.ini"
run "$QL" start "$work/numa-host.ini"
check "numa-host= naming a host node that does not exist is refused" \
    failed_with "[vm] numa-host: this host has no NUMA node 7"
sed -e 's/^numa=2/numa=2\nnuma-host=0,0/' "$work/numa.ini" > "$work/bound.ini"
run "$QL" start "$work/bound.ini" --wait-agent
check "numa-host=0,0 starts" [ "$rc" -eq 0 ]
run "$QL" status bound
check "... and status shows both nodes' memory bound to host node 0" \
    has "numa 0:  vCPUs 0, 256 MiB, bound to host node 0 (bind)" && has "numa 1:  vCPUs 1, 256 MiB, bound to host node 0 (bind)"
"$QL" stop -q bound >/dev/null
done_testing
