#!/usr/bin/env bash
# make bench, part 4: bulk TCP throughput host->guest and guest->guest for
# user mode, a socket lan and tap on a NAT network, side by side (rounds
# interleave the modes), all on TCG inside a network namespace of our own;
# and the time of qlaunch net start + net stop. Results: build/bench/net.json;
# then qlaunch bench --tests net for the three modes: build/bench/net-bench/.
# The receiver times the transfer itself, from its first byte to EOF (the
# guest's /proc/uptime, the host's clock), so queueing in socket buffers
# does not count as speed. Needs root (namespace, tap); without it only
# user mode and the socket lan are measured and tap says why.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
out=$top/build/bench
runs=${BENCH_NET_RUNS:-3}
mib=${BENCH_NET_MIB:-32}
work=$(mktemp -d /tmp/qlaunch-bench-net.XXXXXX)
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache
export QLAUNCH_PROFILE_PATH=$top/profiles
ns=qlaunch-bnet-$$
root=0
[ "$(id -u)" -eq 0 ] && ip netns add "$ns" 2>/dev/null && root=1
inns() { if [ $root -eq 1 ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    sleep 0.3
    [ $root -eq 1 ] && { inns "$ql" net stop --force default >/dev/null 2>&1 || true; ip netns del "$ns"; }
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"
[ $root -eq 1 ] && inns ip link set lo up

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
port=$((30000 + $$ % 20000))
prof() { # NAME NET-LINES
    printf '[vm]\nname=%s\nmemory=192M\ncpus=1\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n%b[agent]\nenabled=true\n' \
        "$1" "$2" > "$work/$1.ini"
    inns "$ql" start -q "$work/$1.ini" --wait-agent >/dev/null
}

# A receiver in guest VM on port 5001: records "t0 t1" (seconds) in /tmp/r.
# Its nc reads a stdin that never ends, or it would close the connection.
recv_guest() {
    "$ql" exec "$1" -- sh -c 'rm -f /tmp/r; (sleep 600 | nc -l -p 5001 | { head -c 1 >/dev/null; read t0 x </proc/uptime; cat >/dev/null; read t1 x </proc/uptime; echo $t0 $t1 > /tmp/r; killall sleep; }) </dev/null >/dev/null 2>&1 &' >/dev/null
    sleep 0.5
}
# rate VM: MiB/s from VM's /tmp/r once the transfer has ended
rate_guest() {
    local r=""
    for _ in $(seq 100); do
        r=$("$ql" exec "$1" -- sh -c 'cat /tmp/r 2>/dev/null' 2>/dev/null || true)
        [ -n "$r" ] && break
        sleep 0.2
    done
    awk -v m="$mib" -v r="$r" 'BEGIN {split(r, t, " "); d = t[2] - t[1]; if (d <= 0) d = 0.01; printf "%.2f", m / d}'
}
host_send() { # ADDR PORT
    head -c "${mib}M" /dev/zero | inns socat -u - "TCP:$1:$2"
}
guest_send() { # VM ADDR PORT
    "$ql" exec "$1" -- sh -c "dd if=/dev/zero bs=64k count=$((mib * 16)) 2>/dev/null | nc $2 $3" >/dev/null
}

# --- the VMs: two per mode ---
prof ua "[net 0]\nmode=user\nforward=tcp::$port-:5001\n"
prof ub "[net 0]\nmode=user\n"
prof sa "[net 0]\nmode=socket\nlan=bench$$\n"
prof sb "[net 0]\nmode=socket\nlan=bench$$\n"
"$ql" exec sa -- sh -c 'ip addr add 192.168.77.1/24 dev eth0; ip link set eth0 up' >/dev/null
"$ql" exec sb -- sh -c 'ip addr add 192.168.77.2/24 dev eth0; ip link set eth0 up' >/dev/null
modes="user socket"
starts=() stops=()
if [ $root -eq 1 ]; then
    # net start + stop, timed by qlaunch itself (--json "seconds")
    for _ in $(seq 5); do
        starts+=("$(inns "$ql" net start default --json | sed -n 's/.*"seconds": \([0-9.e-]*\).*/\1/p')")
        stops+=("$(inns "$ql" net stop default --json | sed -n 's/.*"seconds": \([0-9.e-]*\).*/\1/p')")
    done
    inns "$ql" net start default >/dev/null
    prof ta "[net 0]\nmode=tap\nnetwork=default\n"
    prof tb "[net 0]\nmode=tap\nnetwork=default\n"
    lease() {
        for _ in $(seq 60); do
            a=$("$ql" status "$1" --json | sed -n 's/.*"address": "\([0-9.]*\)".*/\1/p')
            [ -n "$a" ] && { echo "$a"; return; }
            sleep 0.5
        done
    }
    ta_ip=$(lease ta)
    lease tb >/dev/null
    modes="user socket tap"
fi

declare -A h2g g2g
printf 'round' >&2
for r in $(seq "$runs"); do
    printf ' %s' "$r" >&2
    for m in $modes; do
        case $m in
        user)
            recv_guest ua; host_send 127.0.0.1 "$port"; h2g[$m]+="$(rate_guest ua) "
            recv_guest ua; guest_send ub 10.0.2.2 "$port"; g2g[$m]+="$(rate_guest ua) " ;;
        socket)
            recv_guest sa; guest_send sb 192.168.77.1 5001; g2g[$m]+="$(rate_guest sa) " ;;
        tap)
            recv_guest ta; host_send "$ta_ip" 5001; h2g[$m]+="$(rate_guest ta) "
            recv_guest ta; guest_send tb "$ta_ip" 5001; g2g[$m]+="$(rate_guest ta) " ;;
        esac
    done
done
echo >&2

med() { [ -z "${1// /}" ] && { echo null; return; }; printf '%s\n' $1 | median; }
json="{\"mib_per_transfer\": $mib, \"runs\": $runs, \"accel\": \"tcg\", \"results\": {"
sep=""
printf '\n%-8s %18s %18s   (MiB/s, median of %s, %s MiB each)\n' mode "host->guest" "guest->guest" "$runs" "$mib" >&2
for m in user socket tap; do
    a=$(med "${h2g[$m]:-}"); b=$(med "${g2g[$m]:-}")
    note=""
    [ "$m" = socket ] && note="the host is not on a socket lan"
    [ "$m" = tap ] && [ $root -eq 0 ] && { note="needs root (a namespace and a tap)"; b=null; }
    printf '%-8s %18s %18s   %s\n' "$m" "$a" "$b" "$note" >&2
    json+="$sep\"$m\": {\"host_to_guest_mibps\": $a, \"guest_to_guest_mibps\": $b, \"samples_h2g\": [$(echo ${h2g[$m]:-} | tr ' ' ',')], \"samples_g2g\": [$(echo ${g2g[$m]:-} | tr ' ' ',')], \"note\": \"$note\"}"
    sep=", "
done
json+="}"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "null" || b == "null" || b == 0) print "null"; else printf "%.2f", a / b}'; }
if [ $root -eq 1 ]; then
    tu=$(med "${h2g[user]}"); tt=$(med "${h2g[tap]}")
    gu=$(med "${g2g[user]}"); gs=$(med "${g2g[socket]}"); gt=$(med "${g2g[tap]}")
    json+=", \"ratios\": {\"user_over_tap_h2g\": $(ratio "$tu" "$tt"), \"user_over_tap_g2g\": $(ratio "$gu" "$gt"), \"socket_over_tap_g2g\": $(ratio "$gs" "$gt"), \"socket_over_user_g2g\": $(ratio "$gs" "$gu")}"
    printf '\nratios: user/tap host->guest %s, guest->guest: user/tap %s, socket/tap %s, socket/user %s\n' \
        "$(ratio "$tu" "$tt")" "$(ratio "$gu" "$gt")" "$(ratio "$gs" "$gt")" "$(ratio "$gs" "$gu")" >&2
fi
if [ ${#starts[@]} -gt 0 ]; then
    s=$(printf '%s\n' "${starts[@]}" | median | awk '{printf "%.3f", $1}')
    t=$(printf '%s\n' "${stops[@]}" | median | awk '{printf "%.3f", $1}')
    printf '\nnet start %s s, net stop %s s (medians of 5)\n' "$s" "$t" >&2
    json+=", \"net_start_s\": $s, \"net_stop_s\": $t"
fi
echo "$json}" > "$out/net.json"
echo "wrote $out/net.json" >&2

# --- qlaunch bench --tests net: iperf3 and qlaunch-probe, user / tap /
# socket lan side by side (the lan's server is a peer VM), the host's
# loopback as the reference; the VMs above are stopped first
for vm in ua ub sa sb ta tb; do "$ql" kill "$vm" >/dev/null 2>&1 || true; done
bprof() { # NAME NET-LINES: a profile only (bench starts the VM)
    printf '[vm]\nname=%s\nmemory=256M\ncpus=1\naccel=tcg\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n%b[agent]\nenabled=true\n' \
        "$1" "$2" > "$work/$1.ini"
}
bprof net-user "[net 0]\nmode=user\n"
bprof net-lan "[net 0]\nmode=socket\nlan=bnl$$\n"
bench=("$work/net-user.ini" "$work/net-lan.ini")
if [ $root -eq 1 ]; then
    bprof net-tap "[net 0]\nmode=tap\nnetwork=default\n"
    bench=("$work/net-user.ini" "$work/net-tap.ini" "$work/net-lan.ini")
fi
inns "$ql" bench "${bench[@]}" --tests net --runs "$runs" --time 2 --out "$out/net-bench"
