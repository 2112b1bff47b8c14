#!/usr/bin/env bash
# A running VM's memory: qlaunch memory (the balloon) read back from the
# guest and from QEMU, stats, a refusal without a balloon, a scenario whose
# balloon gives memory back so that QEMU's RSS follows.
. "$(dirname "$0")/lib.sh"
failed_with() { [ "$rc" -ne 0 ] || { echo "#   exit code 0"; return 1; }; for t; do has "$t" || return 1; done; }
# mem_total VM: the guest's MemTotal in MiB
mem_total() { "$QL" exec "$1" -- cat /proc/meminfo | awk '/^MemTotal:/ { print int($2 / 1024) }'; }
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
check "... the guest's MemTotal dropped by about 256 MiB ($full -> $small MiB)" \
    [ $((full - ${small:-full})) -ge 250 ] && [ $((full - ${small:-full})) -le 262 ]
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
check "a size that is none is a usage error" [ "$rc" -eq 2 ] && has "'lots' is not a memory size"
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
check "the RSS follows the step down (big $big%, small $small% of memory)" \
    [ -n "$big" ] && [ -n "$small" ] && [ "$big" -ge 60 ] && [ "$small" -lt $((big - 30)) ]
check "scenario.json records the balloon's size per step" grep -q '"balloon_actual_mib"' "$work/sc/scenario.json"
sed -e 's/^memory=balloon/memory=ballon/' "$work/shrink.ini" > "$work/typo.ini"
run "$QL" bench --scenario "$work/typo.ini"
check "a bad memory= names the file and key" failed_with "typo.ini [scenario] memory:"
sed -e "s|^profile=.*|profile=$work/nobal.ini|" "$work/shrink.ini" > "$work/nob.ini"
run "$QL" bench --scenario "$work/nob.ini"
check "memory=balloon on a profile without a balloon is refused" \
    failed_with "memory=balloon" "balloon=true"
done_testing
