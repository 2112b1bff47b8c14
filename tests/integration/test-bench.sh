#!/usr/bin/env bash
# The benchmark harness on the embedded guest: bench results and metadata,
# --pin, pin=/cpu-limit= from a profile, a two-VM scenario, refusals.
. "$(dirname "$0")/lib.sh"
# failed_with TEXT...: the last run failed and its output has every TEXT
failed_with() { [ "$rc" -ne 0 ] || { echo "#   exit code 0"; return 1; }; for t; do has "$t" || return 1; done; }

# --- bench tiny: every test, guest and host, plus the files ---
b1=$work/b1
run "$QL" bench tiny --runs 2 --time 1 --out "$b1"
check "bench tiny --runs 2 --time 1 succeeds" [ "$rc" -eq 0 ]
check "the table has a guest-as-%-of-host column for tiny" has "tiny (tcg)"
csv=$b1/results.csv
check "results.csv exists and is not empty" [ -s "$csv" ]
rows=$(tail -n +2 "$csv" | wc -l)
check "results.csv has a row for every test (4 cpu, 2 memory, threads, 2 fileio): $rows" [ "$rows" -eq 9 ]
for t in cpu-10000-1 cpu-10000-all cpu-20000-1 cpu-20000-all memory-write memory-read threads fileio-seqrd fileio-rndrw; do
    line=$(grep "^tiny,[a-z]*,$t," "$csv")
    # columns: 7 host_median, 9 guest_median, 11 guest_pct_of_host, 12 status
    check "$t: host and guest figures are positive ($line)" \
        awk -F, -v l="$line" 'BEGIN { split(l, c, ","); exit !(c[7] > 0 && c[9] > 0 && c[11] > 0 && c[12] == "ok") }'
done
json=$b1/results.json
# --- bench tiny --tests net: iperf3 and qlaunch-probe, guest and host ---
bn=$work/bnet
run "$QL" bench tiny --tests net --runs 2 --time 2 --out "$bn"
check "bench tiny --tests net --runs 2 --time 2 succeeds" [ "$rc" -eq 0 ]
for t in net-tcp-tx net-tcp-rx net-udp-loss net-udp-jitter net-rr-p50 net-rr-p99; do
    line=$(grep "^tiny,[a-z]*,$t," "$bn/results.csv")
    # loss may be 0 on both sides; every other figure is positive
    check "$t: guest and host figures ($line)" \
        awk -v l="$line" -v t="$t" 'BEGIN { split(l, c, ","); min = t == "net-udp-loss" ? 0 : 1e-9
            exit !(c[7] >= min && c[9] >= min && c[12] == "ok") }'
done
check "the net results record the server's addresses (host 127.0.0.1, guest 10.0.2.2)" \
    grep -q '"host_addr": "127.0.0.1"' "$bn/results.json"
check "loss, jitter and round trip are marked lower-is-better" \
    [ "$(grep -c '"lower_is_better": true' "$bn/results.json")" -eq 4 ]
check "results.json records the profile's metadata for net runs too" grep -q '"guest_kernel": "' "$bn/results.json"
check "the table says lower is better for them" has "lower is better"
ports=$(sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' "$bn/results.json" | sort -u | tr '\n' ' ')
check "no server is left listening on the ports the tests used ($ports)" \
    bash -c 'for p in $1; do ss -Hlntu "sport = :$p" | grep -q . && exit 1; done; [ -n "$1" ]' _ "$ports"
# a socket lan: guest to guest, the server in a peer VM of the same profile
printf '[vm]\nname=lanb\nmemory=256M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[net 0]\nmode=socket\nlan=bl%s\n[agent]\nenabled=true\n' "$$" > "$work/lanb.ini"
run "$QL" bench "$work/lanb.ini" --tests net-tcp,net-rr --runs 1 --time 1 --out "$work/blan"
check "bench of a socket-lan profile runs guest to guest" [ "$rc" -eq 0 ]
for t in net-tcp-tx net-tcp-rx net-rr-p50 net-rr-p99; do
    line=$(grep "^lanb,[a-z]*,$t," "$work/blan/results.csv")
    check "lan $t: positive guest and host figures ($line)" \
        awk -v l="$line" 'BEGIN { split(l, c, ","); exit !(c[7] > 0 && c[9] > 0 && c[12] == "ok") }'
done
check "... against the peer VM lanb-peer at 10.233.0.2" \
    bash -c 'grep -q "\"name\": \"lanb-peer\"" "$1" && grep -q "\"guest_addr\": \"10.233.0.2\"" "$1"' _ "$work/blan/results.json"
check "... and the peer it started is stopped again" [ ! -e "$QLAUNCH_RUNTIME_DIR/lanb-peer" ]
printf '[vm]\nname=nonet\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\n[agent]\nenabled=true\n' > "$work/nonet.ini"
run "$QL" bench "$work/nonet.ini" --tests net-rr --runs 1 --time 1 --out "$work/bnn"
check "a profile without a NIC is refused for the net tests before it starts" \
    failed_with "profile $work/nonet.ini: the net tests need a NIC"
check "... and no VM was started" [ ! -e "$QLAUNCH_RUNTIME_DIR/nonet" ]
for key in qlaunch_version qemu_version accel accel_reason cpu_model machine guest_kernel \
    sysbench_version profile_sha256 kernel date runs seed; do
    check "results.json records $key" grep -q "\"$key\": \"*[^\"n]" "$json"
done
check "results.json has every run's figure (runs arrays)" grep -q '"runs": \[' "$json"
check "results.json records the host CPU model" grep -q '"cpu_model": "[^m]' "$json"
check "plot.svg is an SVG and not empty" grep -q "<svg" "$b1/plot.svg"
run "$QL" status tiny --json
check "bench stopped the VM it started" has '"state": "shut off"'

run "$QL" bench --compare "$json" "$json"
check "--compare of a file with itself shows no change" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"+0.0%"* && $2 != *"only in"* && $2 != *"+0.1"* ]]' _ "$rc" "$out"

# --- --pin on a running VM: vCPU i on host CPU i ---
"$QL" start -q tiny --wait-agent >/dev/null
run "$QL" bench tiny --pin --tests cpu --runs 1 --time 1 --out "$work/b2"
check "bench --pin on a running tiny" [ "$rc" -eq 0 ]
check "results.json records the pinning" grep -q '"pinned_vcpus"' "$work/b2/results.json"
pid=$(cat "$QLAUNCH_RUNTIME_DIR/tiny/qemu.pid")
i=0
for tid in $("$QL" cpus tiny --json | sed -n 's/.*"thread_id": \([0-9]*\).*/\1/p'); do
    aff=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$pid/task/$tid/status")
    check "vCPU $i (thread $tid) is pinned to host CPU $i (Cpus_allowed_list $aff)" [ "$aff" = "$i" ]
    i=$((i + 1))
done
check "both vCPU threads were checked" [ "$i" -eq 2 ]
run "$QL" status tiny --json
check "bench left a VM it did not start running" has '"state": "running"'
"$QL" stop -q tiny >/dev/null

# --- pin= and cpu-limit= in a profile ---
prof() { # NAME EXTRA-LINES
    printf '[vm]\nname=%s\nmemory=256M\ncpus=%s\naccel=tcg\n%b\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[agent]\nenabled=true\n' \
        "$1" "$2" "$3" > "$work/$1.ini"
}
# CPU share of the vCPU threads over 4 s while the guest spins, in %.
share() {
    local vm=$1 pid tids t0 t1
    pid=$(cat "$QLAUNCH_RUNTIME_DIR/$vm/qemu.pid")
    tids=$("$QL" cpus "$vm" --json | sed -n 's/.*"thread_id": \([0-9]*\).*/\1/p')
    ticks() { local s=0 t; for t in $tids; do s=$((s + $(awk '{print $14 + $15}' "/proc/$pid/task/$t/stat"))); done; echo $s; }
    t0=$(ticks); sleep 4; t1=$(ticks)
    echo $(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 4 ))
}
prof pinned 2 'pin=1,0'
run "$QL" start "$work/pinned.ini" --wait-agent
check "start a profile with pin=1,0" [ "$rc" -eq 0 ] || sed 's/^/#   | /' <<< "$out"
run "$QL" status pinned
check "status shows the pinning read back from the threads" has "vCPU0->1 vCPU1->0"
"$QL" stop -q pinned >/dev/null

prof limited 1 'cpu-limit=25%\nmemory-limit=1G'
run "$QL" start "$work/limited.ini" --wait-agent
check "start a profile with cpu-limit=25% and memory-limit=1G" [ "$rc" -eq 0 ]
run "$QL" status limited
check "status shows the CPU limit the cgroup enforces" has "cpu-limit: 25% of one host CPU"
check "status shows the memory limit" has "memory-limit: 1024 MiB"
"$QL" exec limited -- sh -c 'while :; do :; done >/dev/null 2>&1 &' >/dev/null
s=$(share limited)
check "a busy guest under cpu-limit=25% gets under 35% of a CPU (measured $s%)" [ "$s" -lt 35 ]
cg=$(sed -n 's/^ *"\(\/sys\/fs\/cgroup\/[^"]*\)".*/\1/p' "$QLAUNCH_RUNTIME_DIR/limited/meta.json" | head -1)
check "the VM has a cgroup of its own ($cg)" [ -d "$cg" ]
"$QL" stop -q limited --no-agent --timeout 5 >/dev/null
check "stop removes the VM's cgroup" [ ! -e "$cg" ]

prof unlimited 1 ''
"$QL" start -q "$work/unlimited.ini" --wait-agent >/dev/null
"$QL" exec unlimited -- sh -c 'while :; do :; done >/dev/null 2>&1 &' >/dev/null
s=$(share unlimited)
check "the same busy guest without the limit gets well above it: over the limit + 20 points (measured $s%)" [ "$s" -gt 45 ]
"$QL" stop -q unlimited --no-agent --timeout 5 >/dev/null

# --- a two-VM scenario with short steps ---
cat > "$work/two.ini" <<EOF
[scenario]
name=two
profile=$work/unlimited.ini
vms=a,b
step-seconds=7
settle-seconds=3
[steps]
loaded-a=60/20 0/20
loaded-b=0/20 60/40
EOF
run "$QL" bench --scenario "$work/two.ini" --out "$work/sc"
check "bench --scenario with two VMs succeeds" [ "$rc" -eq 0 ]
check "the scenario prints a verdict" has "verdict:"
scsv=$work/sc/scenario.csv
measured() { awk -F, -v s="$1" -v v="$2" '$1 == s && $2 == v { print int($4) }' "$scsv"; }
for sv in loaded-a,a loaded-b,b; do
    m=$(measured "${sv%,*}" "${sv#*,}")
    # load=rate sets a rate of work, not a share: on a noisy host the share
    # can land from below the target to near 100% (README, scenarios), so
    # this proves the load ran; that a share is held is checked for
    # load=cgroup below
    check "step ${sv%,*}: the loaded VM runs its load (measured $m%, target 60%)" [ "${m:-0}" -ge 30 ]
done
for sv in loaded-a,b loaded-b,a; do
    m=$(measured "${sv%,*}" "${sv#*,}")
    check_all "step ${sv%,*}: the idle VM ${sv#*,} stays low (measured $m%)" '[ -n "$m" ] && [ "${m:-100}" -lt 15 ]'
done
check "scenario.json and scenario.svg are written" grep -q "<svg" "$work/sc/scenario.svg"
run "$QL" list
check "the scenario stopped its VMs" bash -c '[[ $1 != *two-a* && $1 != *two-b* ]]' _ "$out"

# load=cgroup: a busy guest capped by its cgroup, like cpulimit
cat > "$work/capped.ini" <<EOF
[scenario]
name=capped
profile=$work/unlimited.ini
vms=a
load=cgroup
step-seconds=7
settle-seconds=3
[steps]
forty'.system("touch $work/pwned").'=40/10
EOF
run "$QL" bench --scenario "$work/capped.ini" --out "$work/sc2"
check "bench --scenario with load=cgroup succeeds" [ "$rc" -eq 0 ]
# the step's name is a gnuplot injection: it must stay text in the plot
check "a step name that is gnuplot code runs nothing when the plot is drawn" [ ! -e "$work/pwned" ]
check "... it is the step's title in the plot" grep -q "forty.*system(.*touch" "$work/sc2/scenario.svg"
check "... and one quoted CSV field" grep -qF "\"forty'.system(\"\"touch $work/pwned\"\").'\",a," "$work/sc2/scenario.csv"
m=$(awk -F, '$(NF-5) == "a" { print int($(NF-4)) }' "$work/sc2/scenario.csv")
# the cap is what is checked (a busy guest would take 100%); below it a
# noisy host can take time from the guest (CI once measured 24%), so the
# lower bound only proves the guest was loaded
check "load=cgroup caps a busy VM at its 40% target (measured $m%)" [ "${m:-0}" -ge 10 -a "${m:-0}" -le 50 ]

# --- refusals ---
run "$QL" bench tiny --tests gpu
check "--tests gpu is refused, naming the test" failed_with '"gpu" is not a test'
run "$QL" bench tiny --runs 0
check "--runs 0 is refused" failed_with "--runs: 0 is not a run count"
run "$QL" bench --compare "$json"
check "--compare with one file says it needs two" failed_with "two results.json"
printf '[scenario]\nprofile=tiny\nvms=a\n[steps]\n1=10/30 10/30\n' > "$work/bad.ini"
run "$QL" bench --scenario "$work/bad.ini"
check "a bad scenario names the file, group and key" failed_with "bad.ini [steps] 1:" "has 2 loads for 1 VMs"
prof kvmonly 1 'accel=kvm'
sed -i '0,/accel=tcg/{/accel=tcg/d}' "$work/kvmonly.ini"
run "$QL" bench "$work/kvmonly.ini" --tests cpu --runs 1 --time 1 --out "$work/b3"
if [ "$rc" -eq 0 ]; then
    check "accel=kvm where KVM works: measured under kvm" grep -q '"accel": "kvm"' "$work/b3/results.json"
else
    check "accel=kvm where KVM does not run guests: reported unavailable with the reason" \
        failed_with "kvmonly: unavailable: " "accel=kvm, but KVM does not run guests here"
fi

done_testing
