#!/usr/bin/env bash
# Load: LOAD_VMS tiny VMs (default 20; LOAD_TAPS of them on taps of a NAT
# network) started, listed, paused, resumed and stopped, all at once, for
# LOAD_ROUNDS rounds (default 10), inside a network namespace this test
# creates. Before and after it counts what could leak: live QEMUs, qlaunch
# processes, dnsmasq, taps, runtime dirs, the fds each QEMU holds (the
# same each round: nothing of qlaunch leaks into them) and the host's open
# file handles. The counts go to $LOAD_REPORT (default build/load.json).
. "$(dirname "$0")/../integration/lib.sh"

vms=${LOAD_VMS:-20} rounds=${LOAD_ROUNDS:-10} ntap=${LOAD_TAPS:-4}
report=${LOAD_REPORT:-$top/build/load.json}
ns=qlaunch-load-$$
netns_open "$ns"
mkdir -p "$work/profiles/networks"
cp "$top/profiles/networks/default.ini" "$work/profiles/networks/"
export QLAUNCH_PROFILE_PATH=$work/profiles

names=()
for i in $(seq -w 1 "$vms"); do
    name=ld$i
    names+=("$name")
    net='[net 0]\nmode=user\n'
    [ "$((10#$i))" -le "$ntap" ] && net='[net 0]\nmode=tap\nnetwork=default\n'
    printf '[vm]\nname=%s\nmemory=160M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n%b[agent]\nenabled=true\n[serial]\nlog=%s\n' \
        "$name" "$net" "$work/serial.$name.log" > "$work/profiles/$name.ini"
done

# --- what is counted ---
live() { # live processes named $1 (-x) whose name matches; zombies left out
    local p c=0
    for p in $(pgrep "$@" 2>/dev/null); do gone "$p" || c=$((c + 1)); done
    echo "$c"
}
# this test's QEMUs: its runtime dir in their argv (another suite's VMs on
# this host are not this test's leak)
qemus() {
    local p c=0
    for p in $(pgrep -x "qlaunch-ld[0-9]+" 2>/dev/null); do
        tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$QLAUNCH_RUNTIME_DIR/" || continue
        gone "$p" || c=$((c + 1))
    done
    echo "$c"
}
zombies() { ps -eo stat= | grep -c '^Z' || true; }
taps() { inns ip -o link show 2>/dev/null | grep -c ': qltap' || true; }
rundirs() { find "$QLAUNCH_RUNTIME_DIR" -mindepth 1 -maxdepth 1 ! -name _networks 2>/dev/null | wc -l; }
# qlaunch processes of this test (its runtime dir in their environment):
# another qlaunch on the machine is not this test's leak
qlaunches() {
    local p c=0
    for p in $(pgrep -x qlaunch 2>/dev/null); do
        gone "$p" && continue
        tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxF "QLAUNCH_RUNTIME_DIR=$QLAUNCH_RUNTIME_DIR" && c=$((c + 1))
    done
    echo "$c"
}
dnsmasqs() { live -f -- "--conf-file=$work/"; }
filenr() { cut -f1 /proc/sys/fs/file-nr; }
# fds of each running QEMU, sorted, one line
qemu_fds() {
    local v out=()
    for v in "${names[@]}"; do
        out+=("$(ls "/proc/$(cat "$QLAUNCH_RUNTIME_DIR/$v/qemu.pid")/fd" 2>/dev/null | wc -l)")
    done
    printf '%s\n' "${out[@]}" | sort -n | uniq -c | awk '{printf "%sx%s ", $1, $2}'
}
snapshot() { echo "$(qemus) $(qlaunches) $(dnsmasqs) $(taps) $(rundirs)"; }
settled() { [ "$(snapshot)" = "$before" ]; }

run inns "$QL" net start default
check "the NAT network starts in the test's namespace" [ "$rc" -eq 0 ]
before=$(snapshot)
before_filenr=$(filenr) before_zombies=$(zombies)

# all VMS at once: VERB ARGS... -> number that failed; failures' output kept
all() {
    local v fails=0
    for v in "${names[@]}"; do
        (inns "$QL" "$@" "$v" > "$work/out.$v" 2>&1 || echo "rc=$?" >> "$work/out.$v") &
    done
    wait
    for v in "${names[@]}"; do
        if grep -q '^rc=' "$work/out.$v"; then
            fails=$((fails + 1))
            sed "s/^/#   $v: /" "$work/out.$v" >&2
            # what the guest printed, to tell a hung guest from a lost agent
            [ "$1" = start ] && tail -n 15 "$work/serial.$v.log" 2>/dev/null | sed "s/^/#   $v serial: /" >&2
        fi
    done
    echo "$fails"
}
# VMs listed in STATE
listed() { inns "$QL" list --json | grep -c "\"state\": \"$1\"" || true; }

t_start=$SECONDS
bad=0 fds_first='' fds_last='' round_secs=()
for r in $(seq 1 "$rounds"); do
    t0=$SECONDS
    f_start=$(all start -q --wait-agent --timeout 300)
    n_run=$(listed running)
    fds=$(qemu_fds)
    f_pause=$(all pause)
    n_paused=$(listed paused)
    f_resume=$(all resume)
    n_resumed=$(listed running)
    f_stop=$(all stop --timeout 60)
    left=$(snapshot)
    # how each stop ended (guest agent shutdown, ACPI, QEMU quit, SIGKILL)
    stops=$(cat "${names[@]/#/$work/out.}" | sed -n 's/^stopped [^ ]* (\([^,]*\),.*/\1/p' | sort | uniq -c | awk '{c=$1; $1=""; printf "%s x%s;", substr($0, 2), c}')
    if [ "$left" != "$before" ]; then
        # CI saw, twice in ~40 rounds, one QEMU counted live just after all
        # stops returned and gone a moment later (not understood): a leak is
        # what is still there 5 s later; the moment is printed either way
        echo "#   right after the stops: (qemus qlaunch dnsmasq taps rundirs) $left"
        for p in $(pgrep -x "qlaunch-ld[0-9]+"); do
            gone "$p" || echo "#   live after stop: $(ps -o pid=,stat=,etimes=,comm= -p "$p") (threads: $(ls /proc/"$p"/task 2>/dev/null | wc -l))"
        done
        until_ok 5 settled || true
        left=$(snapshot)
        # the QEMU count stays printed; leaked QEMUs are judged at the end
        # (check 3), the round by the other counts
        [ "${left#* }" = "${before#* }" ] && [ "${left%% *}" -ge "${before%% *}" ] && left=$before
    fi
    round_secs+=($((SECONDS - t0)))
    [ "$r" -eq 1 ] && fds_first=$fds
    fds_last=$fds
    echo "# round $r: start failed $f_start, running $n_run, paused $n_paused, resumed $n_resumed, stop failed $f_stop ($stops); qemu fds ${fds}; left (qemus qlaunch dnsmasq taps rundirs) $left; $((SECONDS - t0)) s"
    if [ "$f_start$f_pause$f_resume$f_stop" != 0000 ] || [ "$n_run $n_paused $n_resumed" != "$vms $vms $vms" ] ||
        [ "$left" != "$before" ]; then
        bad=$((bad + 1))
    fi
done
after=$(snapshot)
after_filenr=$(filenr) after_zombies=$(zombies)

check "$rounds rounds of $vms VMs started, listed, paused, resumed and stopped, every command succeeding and list agreeing ($bad bad rounds)" \
    [ "$bad" -eq 0 ]
read -r q0 l0 d0 t0 r0 <<< "$before"
read -r q1 l1 d1 t1 r1 <<< "$after"
check "no QEMU left running (before $q0, after $q1)" [ "$q1" -eq "$q0" ]
check "no qlaunch process left (before $l0, after $l1)" [ "$l1" -eq "$l0" ]
check "one dnsmasq, as before (before $d0, after $d1)" [ "$d1" -eq "$d0" ]
check "no tap left (before $t0, after $t1)" [ "$t1" -eq "$t0" ]
check "no runtime dir left (before $r0, after $r1)" [ "$r1" -eq "$r0" ]
check "each round's QEMUs hold the same fds (first: $fds_first; last: $fds_last)" [ "$fds_first" = "$fds_last" ]
check "host file handles did not grow by more than 1 per VM start ($before_filenr -> $after_filenr)" \
    [ "$((after_filenr - before_filenr))" -lt "$((vms * rounds))" ]
run inns "$QL" net stop default
check "the network stops: no tap is attached any more" [ "$rc" -eq 0 ]

mkdir -p "$(dirname "$report")"
cat > "$report" <<EOF
{"vms": $vms, "tap_vms": $ntap, "rounds": $rounds, "seconds": $((SECONDS - t_start)),
 "round_seconds": [$(IFS=,; echo "${round_secs[*]}")],
 "before": {"qemus": $q0, "qlaunch": $l0, "dnsmasq": $d0, "taps": $t0, "runtime_dirs": $r0,
            "file_handles": $before_filenr, "zombies": $before_zombies},
 "after": {"qemus": $q1, "qlaunch": $l1, "dnsmasq": $d1, "taps": $t1, "runtime_dirs": $r1,
           "file_handles": $after_filenr, "zombies": $after_zombies},
 "qemu_fds_first_round": "$fds_first", "qemu_fds_last_round": "$fds_last"}
EOF
echo "# counts in $report"
done_testing
