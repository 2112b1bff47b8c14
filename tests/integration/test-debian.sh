#!/usr/bin/env bash
# A real system: the Debian 12 image scripts/build-image.sh makes (make
# check builds it first, or takes it from QLAUNCH_IMAGE_CACHE) boots from
# its disk through GRUB and systemd, with a cloud-init seed qlaunch wrote;
# qlaunch ssh logs in as the seed's user; qemu-guest-agent under systemd
# answers exec; start --wait cloud-init sees cloud-init done; stop is a
# clean systemd power-off; a virtio-fs share is mounted by cloud-init's
# bootcmd; a second VM on the same base has its own overlay
# and the base's checksum never changes. Under TCG a boot takes about a
# minute here: every wait polls with a deadline.
. "$(dirname "$0")/lib.sh"

image=$top/build/images/debian-12.qcow2
if [ ! -f "$image" ]; then
    not_ok "the Debian image exists (make image, or scripts/build-image.sh debian-12 as root)"
    done_testing; exit 1
fi
export HOME=$work/home   # no key of the user's: qlaunch makes one per VM
mkdir -p "$HOME"
base_sum=$(sha256sum "$image" | cut -d' ' -f1)

# prof NAME: the shipped profile, named NAME, its base the built image, a
# console log to read systemd's shutdown from
prof() {
    sed -e "s|^base=.*|base=$image|" -e 's/^hostname=.*/hostname='"$1"'/' \
        -e 's/^\[cloud-init\]/[cloud-init]\nuser=student/' "$top/profiles/debian-12.ini" > "$work/$1.ini"
    printf '\n[serial]\nlog=%s\n' "$work/$1.console" >> "$work/$1.ini"
}
prof deb1
prof deb2
mkdir -p "$work/project" && echo from-host > "$work/project/h.txt"
printf '\n[share src]\npath=%s\n' "$work/project" >> "$work/deb1.ini"

t0=$SECONDS
run "$QL" start "$work/deb1.ini" --wait ssh
t_ssh=$((SECONDS - t0))
check_all "the Debian image boots through GRUB and systemd to a working ssh" '[ "$rc" -eq 0 ]'
echo "# start to ssh: ${t_ssh} s"
check "... from its disk: GRUB loaded the kernel, root on the overlay" grep -aq "root=LABEL=debian-12-root" "$work/deb1.console"
info=$(qemu-img info -U --output=json "$QLAUNCH_STATE_DIR/deb1/root.qcow2")
check_all "... whose disk is an overlay on the image, grown to 10 GiB" '[[ $info == *"\"backing-filename\": \"$image\""* ]] && [[ $info == *"\"virtual-size\": 10737418240"* ]]'

# cloud-init restarts sshd late in its config stage: the ssh checks wait
# for it to finish (through the agent), so they do not meet the restart
ci_done() { "$QL" exec deb1 -- cloud-init status 2>/dev/null | grep -q "status: done"; }
check "cloud-init finishes" until_ok 600 ci_done
run "$QL" ssh deb1 -- id -un
check_all "qlaunch ssh logs in as the cloud-init user" '[ "$rc" -eq 0 ] && [ "$out" = student ]'
run "$QL" ssh deb1 -- sudo -n id -u
check "... who has sudo without a password" [ "$out" = 0 ]
run "$QL" ssh deb1 -- exit 7
check "... and the remote exit code comes back" [ "$rc" -eq 7 ]
run "$QL" ssh deb1 -- df --output=size -B1M /
check "cloud-init grew the root file system to the overlay's size" [ "$(echo "$out" | tail -1 | tr -d ' ')" -gt 9000 ]

run "$QL" exec deb1 -- systemctl is-active qemu-guest-agent.service
check_all "the agent is qemu-guest-agent under systemd and answers exec" '[ "$rc" -eq 0 ] && [ "$out" = active ]'
run "$QL" ssh deb1 -- cat /mnt/src/h.txt
check "cloud-init's bootcmd mounted the virtio-fs share" [ "$out" = from-host ]
run "$QL" ssh deb1 -- sudo -n sh -c 'echo from-debian > /mnt/src/d.txt'
check "... and the host reads what the guest wrote" [ "$(cat "$work/project/d.txt" 2>/dev/null)" = from-debian ]
run "$QL" exec deb1 -- cat /etc/hostname
check "cloud-init set the hostname" [ "$out" = deb1 ]
run "$QL" exec deb1 -- sh -c 'echo mine > /root/deb1.txt && sync'

run "$QL" start "$work/deb2.ini" --wait cloud-init
check_all "a second VM on the same base runs cloud-init to done" '[ "$rc" -eq 0 ]'
check_all "... on an overlay of its own" '[ -f "$QLAUNCH_STATE_DIR/deb2/root.qcow2" ] && [ "$QLAUNCH_STATE_DIR/deb2/root.qcow2" != "$QLAUNCH_STATE_DIR/deb1/root.qcow2" ]'
run "$QL" exec deb2 -- cat /root/deb1.txt
check "... which does not see the first VM's file" [ "$rc" -ne 0 ]
run "$QL" exec deb2 -- cat /etc/machine-id
id2=$out
run "$QL" exec deb1 -- cat /etc/machine-id
check_all "... and has a machine-id of its own (none is baked into the image)" '[ -n "$id2" ] && [ "$id2" != "$out" ]'
run "$QL" exec deb2 -- cloud-init status
check "cloud-init status says done" has "status: done"

run "$QL" stop deb1
check_all "stop powers the guest off" '[ "$rc" -eq 0 ] && has "stopped deb1 (guest agent shutdown"'
check "... as a clean systemd shutdown" grep -aqE "reboot: Power down|System Power Off" "$work/deb1.console"
check "... that unmounted the root file system" grep -aq "Unmounting" "$work/deb1.console"
run "$QL" stop deb2
check "the second VM stops" [ "$rc" -eq 0 ]
check "the base's checksum is unchanged after both VMs ran" [ "$(sha256sum "$image" | cut -d' ' -f1)" = "$base_sum" ]

run "$QL" start "$work/deb1.ini" --wait agent
run "$QL" exec deb1 -- cat /root/deb1.txt
check "a restart of the first VM keeps its own writes" [ "$out" = mine ]
check "... and mounts the share again (bootcmd runs at every boot)" until_ok 60 sh -c "'$QL' exec deb1 -- cat /mnt/src/h.txt 2>/dev/null | grep -q from-host"
run "$QL" stop deb1

done_testing
