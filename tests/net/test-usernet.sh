#!/usr/bin/env bash
# Networking without root privileges, inside a network namespace this test
# creates (traffic stays on its loopback): user-mode forwards reached from
# the host, a taken port, forwards added and removed at run time, net=,
# and two unprivileged VMs on one socket lan pinging each other.
. "$(dirname "$0")/../integration/lib.sh"

ns=qlaunch-it-$$
nobody_dir=$(mktemp -d /tmp/qlaunch-nobody.XXXXXX)
nobody_cleanup() {
    for pf in "$nobody_dir"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    rm -rf "$nobody_dir"
}
netns_extra_cleanup=nobody_cleanup
netns_open "$ns"
# fetch PORT: an HTTP GET to 127.0.0.1:PORT inside the namespace
fetch() { inns timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' _ "$1" 2>&1; }
prof() { # FILE NAME NET-LINES
    printf '[vm]\nname=%s\nmemory=192M\ncpus=1\naccel=tcg\n[boot]\nfirmware=qboot\nkernel=@guest/vmlinux\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n%b[agent]\nenabled=true\n' \
        "$2" "$3" > "$1"
}
p1=$((20000 + RANDOM % 20000)); p2=$((p1 + 1))

# --- user mode: a guest web server reached from the host through a forward ---
prof "$work/web.ini" web "[net 0]\nmode=user\nforward=tcp::$p1-:80\n"
run inns "$QL" start "$work/web.ini" --wait-agent
check "start a VM with forward tcp::$p1-:80 in the namespace" [ "$rc" -eq 0 ]
"$QL" exec web -- sh -c 'mkdir -p /tmp/www && echo hello-from-the-guest > /tmp/www/index.html && httpd -p 80 -h /tmp/www' >/dev/null
out=$(fetch $p1)
check "the guest's httpd answers on 127.0.0.1:$p1 of the host" has "hello-from-the-guest"
run "$QL" forward list web
check "forward list shows the profile's forward" has "127.0.0.1:$p1"
run "$QL" status web
check "status lists the NIC with its MAC and forward" matches "$out" "nic 0: +user virtio 52:54:00:[0-9a-f:]+ tcp:127.0.0.1:$p1->80"

prof "$work/web2.ini" web2 "[net 0]\nmode=user\nforward=tcp::$p1-:80\n"
run inns "$QL" start "$work/web2.ini"
check "a second VM asking for host port $p1 is refused" [ "$rc" -ne 0 ]
check "... naming the port and the VM that holds it" has "host port $p1 (tcp on 127.0.0.1) is taken by VM web"
check "... and the profile's group and key" has "web2.ini [net 0] forward tcp:127.0.0.1:$p1-:80"
check "... and nothing of web2 is left running" [ ! -e "$QLAUNCH_RUNTIME_DIR/web2/qemu.pid" ]

# --- forwards at run time ---
run inns "$QL" forward add web "tcp::$p2-:80"
check "forward add tcp::$p2-:80 on the running VM" [ "$rc" -eq 0 ]
out=$(fetch $p2)
check "the added forward reaches the guest" has "hello-from-the-guest"
run "$QL" forward list web --json
check "forward list --json shows both" bash -c '[[ $1 == *"\"host_port\": '$p1'"* && $1 == *"\"host_port\": '$p2'"* ]]' _ "$out"
run inns "$QL" forward add web "tcp::$p2-:81"
check "adding the same host port again names this VM as its holder" has "taken by VM web"
run "$QL" forward remove web "tcp:127.0.0.1:$p2"
check "forward remove" [ "$rc" -eq 0 ]
out=$(fetch $p2)
check "after remove the port no longer reaches the guest" bash -c '[[ $1 != *hello-from-the-guest* ]]' _ "$out"
run "$QL" forward remove web "tcp:127.0.0.1:$p2"
check "removing it twice says QEMU has no such rule" has "not found"
run "$QL" forward add web "tcp::99999-:80"
check "a bad rule is refused with an example" has "is not a forward (try tcp:127.0.0.1:8080-:80"
# --- forwards follow a local migration, the profile's and run-time ones ---
inns "$QL" forward add web "tcp::$p2-:80" >/dev/null
for round in 1 2; do
    run inns "$QL" migrate web --local --json
    check "migration $round of a VM with two forwards (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"\"forwards\": 2"* && $2 == *"\"forwards_lost\": []"* ]]' _ "$rc" "$out"
    out=$(fetch $p1)
    check "... the profile's forward reaches the guest on the new QEMU" has "hello-from-the-guest"
    out=$(fetch $p2)
    check "... so does the one added at run time" has "hello-from-the-guest"
done
"$QL" stop -q web >/dev/null

# --- net= and restrict= ---
prof "$work/subnet.ini" subnet "[net 0]\nmode=user\nnet=192.168.50.0/24\nrestrict=yes\n"
inns "$QL" start -q "$work/subnet.ini" --wait-agent >/dev/null
run "$QL" exec subnet -- ip -4 addr show eth0
check "net=192.168.50.0/24: the guest's DHCP address is in it" has "inet 192.168.50.15/24"
"$QL" stop -q subnet >/dev/null

# --- socket lan: two VMs of an unprivileged user ping each other ---
chown nobody: "$nobody_dir"
chmod 0700 "$nobody_dir"
asnobody() {
    ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
        env QLAUNCH_RUNTIME_DIR="$nobody_dir/run" QLAUNCH_STATE_DIR="$nobody_dir/state" \
        XDG_CACHE_HOME="$nobody_dir/cache" HOME="$nobody_dir" QLAUNCH_GUEST_DIR="$QLAUNCH_GUEST_DIR" \
        "$QL" "$@"
}
for vm in lan1 lan2; do
    prof "$nobody_dir/$vm.ini" $vm "[net 0]\nmode=socket\nlan=itlab$$\n"
    chown nobody: "$nobody_dir/$vm.ini"
    run asnobody start "$nobody_dir/$vm.ini" --wait-agent
    check "start $vm on lan itlab$$ as user nobody" [ "$rc" -eq 0 ]
done
qpid=$(cat "$nobody_dir/run/lan1/qemu.pid" 2>/dev/null)
check "its QEMU runs as nobody" [ "$(stat -c %U "/proc/$qpid" 2>/dev/null)" = nobody ]
asnobody exec lan1 -- sh -c 'ip addr add 192.168.77.1/24 dev eth0 && ip link set eth0 up' >/dev/null
asnobody exec lan2 -- sh -c 'ip addr add 192.168.77.2/24 dev eth0 && ip link set eth0 up' >/dev/null
run asnobody exec lan1 -- ping -c 3 -W 3 192.168.77.2
check "lan1 pings lan2 over the socket lan" has "3 packets received"
run asnobody exec lan2 -- ping -c 1 -W 3 192.168.77.1
check "lan2 pings lan1" has "1 packets received"
run asnobody status lan1
check "status shows the lan and its segment" matches "$out" "socket virtio 52:54:00:[0-9a-f:]+ lan itlab$$ \(239\.255\.[0-9]+\.[0-9]+:[0-9]+\)"
asnobody stop -q lan1 >/dev/null
asnobody stop -q lan2 >/dev/null

done_testing
