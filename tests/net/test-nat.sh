#!/usr/bin/env bash
# NAT networks and taps, inside network namespaces this test creates: one
# plays the host (bridge, nftables, dnsmasq, two VMs on taps), one the
# upstream host behind a veth; nothing touches the machine's own network.
. "$(dirname "$0")/../integration/lib.sh"

ns=qlaunch-nat-$$ up=qlaunch-up-$$
netns_open "$ns" "$up"
link_exists() { inns ip link show "$1" >/dev/null 2>&1; }
# The upstream link: host side 10.199.0.1, upstream host 10.199.0.2 (it has
# no route back to the VMs' subnet, so only masqueraded traffic can reach it).
ip link add qlup0 netns "$ns" type veth peer name eth0 netns "$up"
inns ip addr add 10.199.0.1/24 dev qlup0
inns ip link set qlup0 up
ip netns exec "$up" ip addr add 10.199.0.2/24 dev eth0
ip netns exec "$up" ip link set eth0 up

# The shipped default network plus a fixed address for one MAC.
mkdir -p "$work/profiles/networks"
cp "$top/profiles/networks/default.ini" "$work/profiles/networks/"
echo "nat-b=52:54:00:00:00:0b,192.168.123.10" >> "$work/profiles/networks/default.ini"
export QLAUNCH_PROFILE_PATH=$work/profiles
prof() { # FILE NAME NET-LINES
    printf '[vm]\nname=%s\nmemory=192M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n%b[agent]\nenabled=true\n' \
        "$2" "$3" > "$1"
}
prof "$work/nat-a.ini" nat-a "[net 0]\nmode=tap\nnetwork=default\n"
prof "$work/nat-b.ini" nat-b "[net 0]\nmode=tap\nnetwork=default\nmac=52:54:00:00:00:0b\n"

# --- refusals ---
asnobody() { inns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$QL" "$@"; }
run asnobody net start default
check "net start without root is refused" [ "$rc" -eq 1 ]
check "... naming CAP_NET_ADMIN and that user mode needs nothing" \
    bash -c '[[ $1 == *"qlaunch net start needs root or CAP_NET_ADMIN"* && $1 == *"mode=user"* ]]' _ "$out"
run inns "$QL" start "$work/nat-a.ini"
check "a tap VM on a network that is not running is refused with the command to run" \
    has "network default is not running; start it with 'qlaunch net start default'"
: > "$work/no-exec" && chmod 0600 "$work/no-exec"
run inns unshare -m bash -c 'mount --bind "$1" "$(command -v dnsmasq || echo /usr/sbin/dnsmasq)" && shift && "$@"' _ "$work/no-exec" "$QL" net start default
check "without dnsmasq, start names the package to install" has "install the Debian package dnsmasq-base"
inns ip link add qlbusy0 type bridge
printf '[network]\nbridge=qlbusy0\nsubnet=192.168.124.0/24\n' > "$work/busy.ini"
run inns "$QL" net start "$work/busy.ini"
check "a bridge that exists and is not ours is refused" has "bridge qlbusy0 already exists and is not qlaunch's"
check "... and left alone" link_exists qlbusy0
printf '[network]\nbridge=qlclash0\nsubnet=10.199.0.0/16\n' > "$work/clash.ini"
run inns "$QL" net start "$work/clash.ini"
check "a subnet that overlaps a route is refused, naming the route" has "overlaps the route 10.199.0.0/24 dev qlup0"
check "... and nothing of it was made" bash -c '! ip netns exec "$1" ip link show qlclash0 2>/dev/null' _ "$ns"
check "no state is left by the refused starts" [ ! -e "$QLAUNCH_RUNTIME_DIR/_networks/clash" ]

# --- start, idempotent ---
run inns "$QL" net start default
check "net start default" [ "$rc" -eq 0 ]
check "... says what it made" has "started network default: bridge qlbr0, gateway 192.168.123.1"
run inns "$QL" net start default
check "a second start is a no-op that says so" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"already running"*"nothing to do"* ]]' _ "$rc" "$out"
check "the bridge has the gateway address" bash -c 'ip netns exec "$1" ip -4 addr show qlbr0 | grep -q "inet 192.168.123.1/24"' _ "$ns"
check "the nftables table exists" bash -c 'ip netns exec "$1" nft list tables | grep -q "table ip qlaunch_default"' _ "$ns"
run inns "$QL" net list
check "net list shows it running" matches "$out" "default +running +qlbr0 +192.168.123.0/24"

# --- two VMs on taps: DHCP, ping, masquerade ---
for vm in nat-a nat-b; do
    run inns "$QL" start "$work/$vm.ini" --wait-agent
    check "start $vm with mode=tap network=default" [ "$rc" -eq 0 ]
done
lease() { # VM: the address status reports once dnsmasq has leased one
    local i a
    for i in $(seq 60); do
        a=$("$QL" status "$1" --json | sed -n 's/.*"address": "\([0-9.]*\)".*/\1/p')
        [ -n "$a" ] && { echo "$a"; return; }
        sleep 0.5
    done
}
a_ip=$(lease nat-a); b_ip=$(lease nat-b)
check "nat-a got a lease in the DHCP range ($a_ip)" matches "$a_ip" '^192\.168\.123\.1[0-9][0-9]$'
check "nat-b got its fixed address from [hosts] ($b_ip)" [ "$b_ip" = 192.168.123.10 ]
run "$QL" exec nat-a -- ip -4 addr show eth0
check "the guest has the leased address on eth0" has "inet $a_ip/24"
run "$QL" status nat-a
check "status shows the tap, bridge, network and address" matches "$out" "nic 0: +tap virtio 52:54:00:[0-9a-f:]+ qltap[0-9]+ on qlbr0 network default address $a_ip"
run "$QL" exec nat-a -- ping -c 2 -W 3 "$b_ip"
check "nat-a pings nat-b" has "2 packets received"
run "$QL" exec nat-b -- ping -c 2 -W 3 192.168.123.1
check "nat-b pings the gateway" has "2 packets received"
ip netns exec "$up" timeout 30 socat -d -d TCP-LISTEN:9000,reuseaddr OPEN:/dev/null 2> "$work/socat.log" &
spid=$!
until_ok 5 grep -qs listening "$work/socat.log"
run "$QL" exec nat-a -- sh -c 'echo hello | nc 10.199.0.2 9000'
wait $spid
out=$(cat "$work/socat.log")
check "a guest's connection to the upstream host arrives from the uplink address (masqueraded)" \
    has "accepting connection from AF=2 10.199.0.1:"

# --- bench --tests net: tap and user mode side by side, in the namespace ---
prof "$work/nat-user.ini" nat-user "[net 0]\nmode=user\n"
run inns "$QL" bench "$work/nat-a.ini" "$work/nat-user.ini" --tests net --runs 1 --time 1 --out "$work/bnet"
check "bench of a tap and a user-mode profile with --tests net succeeds" [ "$rc" -eq 0 ]
for id in net-tcp-tx net-tcp-rx net-udp-jitter net-rr-p50 net-rr-p99; do
    for vm in nat-a nat-user; do
        line=$(grep "^$vm,[a-z]*,$id," "$work/bnet/results.csv")
        check "$vm $id: positive guest and host figures ($line)" \
            awk -v l="$line" 'BEGIN { split(l, c, ","); exit !(c[7] > 0 && c[9] > 0 && c[12] == "ok") }'
    done
done
check "the tap VM's server listened on the bridge's address" \
    grep -q '"host_addr": "192.168.123.1"' "$work/bnet/results.json"
check "the user-mode VM's server listened on loopback, reached at 10.0.2.2" \
    grep -q '"guest_addr": "10.0.2.2"' "$work/bnet/results.json"
tap_a=$(sed -n 's/.*"tap": "\(qltap[0-9]*\)".*/\1/p' "$QLAUNCH_RUNTIME_DIR/nat-a/meta.json")

# --- stop ---
run inns "$QL" net stop default
check "net stop while VMs use it is refused, naming them" has "$tap_a (VM nat-a)"
"$QL" stop -q nat-a >/dev/null
check "the VM's tap goes away with it" bash -c '! ip netns exec "$1" ip link show "$2" 2>/dev/null' _ "$ns" "$tap_a"
"$QL" stop -q nat-b >/dev/null
dpid=$(inns "$QL" net status default --json | sed -n 's/.*"dnsmasq_pid": \([0-9]*\).*/\1/p')
run inns "$QL" net stop default
check "net stop default" [ "$rc" -eq 0 ]
check "... lists what it removed" has "removed dnsmasq (pid $dpid), nft table ip qlaunch_default, bridge qlbr0"
links=$(inns ip -o link show)
check "no bridge or tap of ours is left" bash -c '[[ $1 != *qlbr0* && $1 != *qltap* ]]' _ "$links"
tables=$(inns nft list tables)
check "no nftables table of ours is left" bash -c '[[ $1 != *qlaunch* ]]' _ "$tables"
check "dnsmasq is gone" gone "$dpid"
check "its runtime dir is gone" [ ! -e "$QLAUNCH_RUNTIME_DIR/_networks/default" ]
run inns "$QL" net stop default
check "a second stop says there is nothing to do" has "network default is not running; nothing to do"

# --- a start cut short is recovered by stop ---
inns "$QL" net start default >/dev/null
dpid=$(inns "$QL" net status default --json | sed -n 's/.*"dnsmasq_pid": \([0-9]*\).*/\1/p')
kill -9 "$dpid"
run inns "$QL" net status default
check "with dnsmasq killed, status says partial" has "state:   partial"
run inns "$QL" net start default
check "start then refuses and says to run stop" has "run 'qlaunch net stop default' first"
run inns "$QL" net stop default
check "stop cleans up what is left" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"bridge qlbr0"* ]]' _ "$rc" "$out"
links=$(inns ip -o link show)
check "... no bridge left" bash -c '[[ $1 != *qlbr0* ]]' _ "$links"
check "the foreign bridge is still there" link_exists qlbusy0

# --- two networks whose names differ only in '-' and '_': their own tables ---
printf '[network]\nsubnet=192.168.130.0/24\nnat=no\ndns=no\n' > "$work/profiles/networks/lab-1.ini"
printf '[network]\nsubnet=192.168.131.0/24\nnat=yes\ndns=no\n' > "$work/profiles/networks/lab_1.ini"
run inns "$QL" net start lab-1
check "net start lab-1 (isolated, nat=no)" [ "$rc" -eq 0 ]
run inns "$QL" net start lab_1
check "net start lab_1" [ "$rc" -eq 0 ]
tables=$(inns nft list tables)
check "... each has a table of its own" bash -c '[[ $1 == *"table ip qlaunch_lab_h1"* && $1 == *"table ip qlaunch_lab__1"* ]]' _ "$tables"
check "... lab-1 keeps its isolation (its bridge's traffic is dropped, not masqueraded)" bash -c 't=$(ip netns exec "$1" nft list table ip qlaunch_lab_h1); [[ $t == *"iifname \"ql-lab-1\" drop"* && $t != *masquerade* ]]' _ "$ns"
inns "$QL" net stop lab_1 >/dev/null
check "stopping lab_1 leaves lab-1's table" bash -c 'ip netns exec "$1" nft list tables | grep -q "qlaunch_lab_h1"' _ "$ns"
inns "$QL" net stop lab-1 >/dev/null
# a table of the name a network would use, made by someone else
inns nft add table ip qlaunch_mine
printf '[network]\nsubnet=192.168.132.0/24\ndns=no\n' > "$work/profiles/networks/mine.ini"
run inns "$QL" net start mine
check "a table of that name not recorded as ours: start refuses, naming it" \
    bash -c '[ "$1" -ne 0 ] && [[ $2 == *"nft table ip qlaunch_mine already exists"* ]]' _ "$rc" "$out"
check "... and leaves it" bash -c 'ip netns exec "$1" nft list tables | grep -q "table ip qlaunch_mine"' _ "$ns"
run inns "$QL" net stop mine
check "... stop does not delete it either" bash -c 'ip netns exec "$1" nft list tables | grep -q "table ip qlaunch_mine"' _ "$ns"

done_testing
