#!/usr/bin/env bash
# [cloud-init] and qlaunch ssh. The NoCloud seed qlaunch writes is an
# ISO9660 image labelled cidata that the guest sees as a read-only disk;
# every value is a YAML string, so a newline, ": ", "#" and quotes in
# runcmd= or ssh-key= add no key (the seed is parsed back with a YAML
# parser); with no key of the user's, one is made for the VM; user-data= is
# used byte for byte. qlaunch ssh logs in as the seed's user with its key
# (the embedded guest's init hands the seed's keys to dropbear), exits with
# the remote command's code and checks the host key the agent read. (The
# embedded guest has no cloud-init itself: a cloud image applying the seed
# is not tested here.)
. "$(dirname "$0")/lib.sh"
export HOME=$work/home # no ~/.ssh: qlaunch makes a key for the VM
mkdir -p "$HOME"
PY=/usr/bin/python3 # Debian's, with python3-yaml

# seed_file VM FILE: FILE from VM's seed, on stdout
seed_file() { bsdtar -xOf "$QLAUNCH_STATE_DIR/$1/cidata.iso" "$2"; }

cat "$top/profiles/tiny.ini" > "$work/ci.ini"
cat >> "$work/ci.ini" <<'EOF'

[cloud-init]
user=student
hostname=lab-1.example
packages=sysbench, openssh-server
ssh-key=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest key: x#y 'q" \\z
runcmd=echo "a: b" # not a comment\necho 'single' "double"\nkey: injected\n- also: injected\n  ]}{[ &anchor *alias !tag %dir @at `tick
EOF
run "$QL" start "$work/ci.ini" --wait-agent
check_all "a VM with [cloud-init] starts" '[ "$rc" -eq 0 ]'
seed=$QLAUNCH_STATE_DIR/ci/cidata.iso
check_all "its seed is in the VM's state dir, 0600" '[ "$(stat -c %a "$seed")" = 600 ]'
vol=$(xorriso -indev "$seed" -pvd_info 2>&1 | sed -n "s/^Volume Id *: *//p")
check "... an ISO9660 image labelled cidata (NoCloud)" [ "$vol" = cidata ]
# the ISO9660 volume id: 32 bytes at 40 into the volume descriptor at 32 KiB
run "$QL" exec ci -- sh -c 'cat /sys/block/vdb/ro; dd if=/dev/vdb bs=1 skip=32808 count=6 2>/dev/null'
check "the guest sees it as a read-only disk with that label" [ "$out" = "$(printf '1\ncidata')" ]

seed_file ci user-data > "$work/user-data"
seed_file ci meta-data > "$work/meta-data"
check "user-data starts with #cloud-config" [ "$(head -1 "$work/user-data")" = "#cloud-config" ]
res=$("$PY" - "$work/user-data" "$work/meta-data" <<'PY'
import sys, yaml
ud = yaml.safe_load(open(sys.argv[1]))
md = yaml.safe_load(open(sys.argv[2]))
want_run = ['echo "a: b" # not a comment', "echo 'single' \"double\"", "key: injected",
            "- also: injected", ']}{[ &anchor *alias !tag %dir @at `tick']
checks = {
    "keys": sorted(ud) == sorted(["hostname", "manage_etc_hosts", "users", "ssh_pwauth",
                                  "packages", "runcmd"]),
    "runcmd": ud["runcmd"] == want_run,
    "packages": ud["packages"] == ["sysbench", "openssh-server"],
    "user": [u["name"] for u in ud["users"]] == ["student"] and sorted(ud["users"][0]) ==
            sorted(["name", "sudo", "shell", "lock_passwd", "ssh_authorized_keys"]),
    "sshkey": ud["users"][0]["ssh_authorized_keys"] ==
           ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest key: x#y 'q\" \\z"],
    "hostname": ud["hostname"] == "lab-1.example" and md == {"instance-id": "qlaunch-ci",
                                                             "local-hostname": "lab-1.example"},
}
print(" ".join(k for k, v in checks.items() if not v) or "none")
PY
)
check_all "the seed parses as YAML with only qlaunch's keys, user, host and packages (failed: $res)" '[ -n "$res" ] && [[ $res != *keys* && $res != *user* && $res != *hostname* && $res != *packages* ]]'
check_all "... and runcmd's lines and the key, with newlines, ': ', '#', quotes and YAML's signs, stay strings" '[ -n "$res" ] && [[ $res != *runcmd* && $res != *sshkey* ]]'
run "$QL" stop ci

# no ssh-key=, no key of the user's: one for the VM
sed -i '/^ssh-key=/d; /^runcmd=/d' "$work/ci.ini"
run "$QL" start "$work/ci.ini"
key=$QLAUNCH_STATE_DIR/ci/ssh/id_ed25519
check_all "with no key of the user's, a key is made for the VM" '[ "$rc" -eq 0 ] && has "made an ssh key for VM ci: $key" && [ "$(stat -c %a "$key")" = 600 ]'
check_all "... and its public half is in the seed" 'seed_file ci user-data | grep -qF "$(cut -d" " -f1,2 "$key.pub")"'
# ssh: the embedded guest runs dropbear and authorizes the seed's keys
run "$QL" ssh ci -- id -un
check_all "qlaunch ssh VM -- id -un logs in as the cloud-init user with the VM's key" '[ "$rc" -eq 0 ] && [ "$(tail -1 <<<"$out")" = student ]'
check "... through a forward it added to port 22" has "forwarding 127.0.0.1:"
guest_key=$("$QL" exec ci -- cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1,2)
kh=$QLAUNCH_STATE_DIR/ci/ssh/known_hosts
check_all "... checking the host key the agent read from the guest (known_hosts of the VM's own)" '[ -n "$guest_key" ] && grep -qF "$guest_key" "$kh" && [ "$(wc -l < "$kh")" = 1 ]'
run "$QL" ssh ci -- sh -c 'exit 7'
check "qlaunch ssh exits with the remote command's code" [ "$rc" -eq 7 ]
run "$QL" ssh ci -- printf '%s|' 'two words' "it's" '$HOME' ';'
check "... and the arguments arrive as given, none parsed by the guest's shell" [ "$out" = "two words|it's|\$HOME|;|" ]
"$QL" ssh-config ci > "$work/ssh_config"
run ssh -F "$work/ssh_config" -o BatchMode=yes ci -- echo via-config
check_all "ssh-config prints a Host block ssh uses as it is" '[ "$rc" -eq 0 ] && has via-config && grep -q "StrictHostKeyChecking yes" "$work/ssh_config"'
echo "[127.0.0.1]:$(sed -n 's/^  Port //p' "$work/ssh_config") ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey1" > "$kh"
run ssh -F "$work/ssh_config" -o BatchMode=yes ci -- true
check_all "a host key other than the guest's is refused (StrictHostKeyChecking)" '[ "$rc" -eq 255 ] && has "Host key verification failed"'
run "$QL" stop ci
mkdir -p "$HOME/.ssh" && ssh-keygen -q -t ed25519 -N '' -C mine -f "$HOME/.ssh/id_ed25519"
run "$QL" start "$work/ci.ini" --wait ssh
check_all "start --wait ssh returns when the guest's ssh server answers, saying so" '[ "$rc" -eq 0 ] && has "waiting for ssh of ci" && has "ssh of ci ready"'
check_all "the user's own ~/.ssh/id_ed25519.pub is used when there is one" '[ "$rc" -eq 0 ] && seed_file ci user-data | grep -qF "$(cut -d" " -f1,2 "$HOME/.ssh/id_ed25519.pub")"'
user_line=$(seed_file ci user-data | grep -c 'name: "student"')
check "user= names the user" [ "$user_line" = 1 ]
run "$QL" ssh ci -- id -un
check_all "qlaunch ssh then logs in with the user's own key" '[ "$rc" -eq 0 ] && [ "$(tail -1 <<<"$out")" = student ]'
run "$QL" stop ci

# user-data= and network-config= verbatim
printf '#cloud-config\n# mine, byte for byte\nruncmd: [ [ touch, /tmp/x ] ]\n' > "$work/my-ud"
printf 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n' > "$work/my-nc"
sed -e '/^\[cloud-init\]/,$d' "$top/profiles/tiny.ini" > "$work/ud.ini"
printf '[cloud-init]\nuser-data=%s\nnetwork-config=%s\n' "$work/my-ud" "$work/my-nc" >> "$work/ud.ini"
run "$QL" start "$work/ud.ini"
check_all "user-data= and network-config= go in as they are" '[ "$rc" -eq 0 ] && cmp -s <(seed_file ud user-data) "$work/my-ud" && cmp -s <(seed_file ud network-config) "$work/my-nc"'
run "$QL" stop ud
run "$QL" start "$work/ud.ini" --wait cloud-init --timeout 60
check_all "start --wait cloud-init on a guest without cloud-init fails saying so, and the VM runs" '[ "$rc" -ne 0 ] && has "could not run cloud-init" && has "(the VM runs)" && "$QL" status ud >/dev/null 2>&1'
run "$QL" stop ud
run "$QL" start "$work/ud.ini" --wait bogus
check_all "start --wait takes agent, ssh or cloud-init" '[ "$rc" -eq 2 ] && has "is not agent, ssh or cloud-init" && [ ! -e "$QLAUNCH_RUNTIME_DIR/ud/qemu.pid" ]'
run "$QL" cmdline "$work/ud.ini"
check "cmdline shows the seed attached read-only" has "file=$QLAUNCH_STATE_DIR/ud/cidata.iso,if=none,id=drive-cidata,format=raw,readonly=on"

done_testing
