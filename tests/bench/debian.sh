#!/usr/bin/env bash
# make bench, a real system: the Debian 12 image (scripts/build-image.sh)
# under TCG, each run on a fresh overlay so cloud-init does its first boot.
#  - qlaunch start to a working qlaunch ssh, and to cloud-init's "finished"
#    line on the console;
#  - the same image and seed through virt-install --import --cloud-init with
#    Debian's libvirt (libvirt-daemon-system + virtinst: scripts/install-deps.sh
#    compare; run as root), to the same console line. libvirt 9.0's user
#    networking has no port forward (that needs passt), so its ssh time is not
#    measured; virt-install's own return is reported too;
#  - qlaunch cp of a 64 MiB file in and out against scp -O over the forward.
# Results: build/bench/debian.json (medians). Not a test: it reports.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ql=$top/qlaunch
reps=${BENCH_REPS:-3}
mib=${BENCH_CP_MIB:-64}
image=$top/build/images/debian-12.qcow2
[ -f "$image" ] || "$top/scripts/build-image.sh" debian-12
work=$(mktemp -d /tmp/qlaunch-bench-deb.XXXXXX)
chmod 755 "$work"   # libvirt's QEMU user reads the overlays
export QLAUNCH_RUNTIME_DIR=$work/run QLAUNCH_STATE_DIR=$work/state XDG_CACHE_HOME=$work/cache HOME=$work/home
mkdir -p "$HOME"
lv=qemu:///system
cleanup() {
    for pf in "$work"/run/*/qemu.pid; do [ -f "$pf" ] && kill -9 "$(cat "$pf")" 2>/dev/null; done
    if command -v virsh >/dev/null; then
        for d in $(virsh -c $lv list --all --name 2>/dev/null | grep '^qlbench-' || true); do
            virsh -c $lv destroy "$d" >/dev/null 2>&1 || true
            virsh -c $lv undefine "$d" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
out=$top/build/bench/debian.json
mkdir -p "$top/build/bench"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
rate() { awk -v m="$mib" -v ms="$1" 'BEGIN {printf "%.1f", m / (ms / 1000)}'; }
timed() { local t0; t0=$(now_ms); "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }; echo $(( $(now_ms) - t0 )); }
# await_line FILE DEADLINE_S: until cloud-init's last stage says finished
await_line() {
    local end=$((SECONDS + $2))
    until grep -aq "Cloud-init v. .* finished at" "$1" 2>/dev/null; do
        [ $SECONDS -lt "$end" ] || { echo "bench: no cloud-init finished line in $1 after $2 s" >&2; exit 1; }
        sleep 0.1
    done
}

# ---- qlaunch
ql_ssh=() ql_ci=()
for i in $(seq "$reps"); do
    sed -e "s|^base=.*|base=$image|" -e 's/^\[cloud-init\]/[cloud-init]\nuser=student/' \
        "$top/profiles/debian-12.ini" > "$work/qd$i.ini"
    printf '\n[serial]\nlog=%s\n' "$work/qd$i.console" >> "$work/qd$i.ini"
    t0=$(now_ms)
    "$ql" start -q "$work/qd$i.ini" >/dev/null
    until "$ql" ssh -q "qd$i" -- true >/dev/null 2>&1; do sleep 0.1; done
    ql_ssh+=($(( $(now_ms) - t0 )))
    await_line "$work/qd$i.console" 900
    ql_ci+=($(( $(now_ms) - t0 )))
    [ "$i" = "$reps" ] || "$ql" kill -q "qd$i" >/dev/null
done

# ---- cp against scp, on the last VM
vm=qd$reps
"$ql" ssh-config "$vm" > "$work/ssh_config"
head -c $((mib << 20)) /dev/urandom > "$work/f.bin"
cp_in=() cp_out=() scp_in=() scp_out=()
for _ in $(seq "$reps"); do
    cp_in+=($(timed "$ql" cp "$work/f.bin" "$vm:/root/f.bin"))
    cp_out+=($(timed "$ql" cp "$vm:/root/f.bin" "$work/back.bin"))
    scp_in+=($(timed scp -O -q -F "$work/ssh_config" "$work/f.bin" "$vm:/tmp/g.bin"))
    scp_out+=($(timed scp -O -q -F "$work/ssh_config" "$vm:/tmp/g.bin" "$work/back2.bin"))
done
cmp -s "$work/f.bin" "$work/back.bin" && cmp -s "$work/f.bin" "$work/back2.bin" || { echo "bench: a copy differs" >&2; exit 1; }
"$ql" kill -q "$vm" >/dev/null

# ---- virt-install, same image, same kind of seed, same size
lv_json=null
if command -v virt-install >/dev/null && [ "$(id -u)" = 0 ]; then
    pgrep -x libvirtd >/dev/null || libvirtd -d
    pgrep -x virtlogd >/dev/null || virtlogd -d
    until virsh -c $lv version >/dev/null 2>&1; do sleep 0.1; done
    ssh-keygen -q -t ed25519 -N '' -f "$work/lvkey"
    printf '#cloud-config\nusers:\n  - name: student\n    sudo: "ALL=(ALL) NOPASSWD:ALL"\n    ssh_authorized_keys:\n      - "%s"\n' \
        "$(cat "$work/lvkey.pub")" > "$work/user-data"
    lv_ci=() lv_ret=()
    for i in $(seq "$reps"); do
        qemu-img create -q -f qcow2 -b "$image" -F qcow2 "$work/lv$i.qcow2" 10G
        chmod 666 "$work/lv$i.qcow2"
        printf 'instance-id: qlbench-%s\nlocal-hostname: qlbench-%s\n' "$i" "$i" > "$work/meta-data"
        t0=$(now_ms)
        virt-install --connect $lv --import --name "qlbench-$i" --memory 1024 --vcpus 2 \
            --virt-type qemu --osinfo generic --disk "path=$work/lv$i.qcow2,format=qcow2,bus=virtio" \
            --cloud-init "user-data=$work/user-data,meta-data=$work/meta-data" --network user \
            --graphics none --serial "file,path=$work/lv$i.console" --noautoconsole \
            > "$work/virt-install.log" 2>&1 || { cat "$work/virt-install.log" >&2; exit 1; }
        lv_ret+=($(( $(now_ms) - t0 )))
        await_line "$work/lv$i.console" 900
        lv_ci+=($(( $(now_ms) - t0 )))
        virsh -c $lv destroy "qlbench-$i" >/dev/null 2>&1 || true
        virsh -c $lv undefine "qlbench-$i" >/dev/null 2>&1 || true
    done
    lv_json="{\"version\": \"$(virt-install --version)\", \"returned_ms\": $(median "${lv_ret[@]}"), \"start_to_cloud_init_finished_ms\": $(median "${lv_ci[@]}"), \"runs_ms\": [$(IFS=,; echo "${lv_ci[*]}")]}"
else
    echo "bench: virt-install not run (needs virtinst + libvirt-daemon-system, and root): scripts/install-deps.sh compare" >&2
fi

m_ci=$(median "${cp_in[@]}") m_co=$(median "${cp_out[@]}") m_si=$(median "${scp_in[@]}") m_so=$(median "${scp_out[@]}")
cat > "$out" <<JSON
{
  "image": "debian-12", "image_inputs": "$(cat "$image.inputs" 2>/dev/null)", "accel": "tcg", "reps": $reps,
  "qlaunch": {"start_to_ssh_ms": $(median "${ql_ssh[@]}"), "start_to_cloud_init_finished_ms": $(median "${ql_ci[@]}"),
              "ssh_runs_ms": [$(IFS=,; echo "${ql_ssh[*]}")], "cloud_init_runs_ms": [$(IFS=,; echo "${ql_ci[*]}")]},
  "virt_install": $lv_json,
  "file_mib": $mib,
  "cp_in_mib_s": $(rate "$m_ci"), "cp_out_mib_s": $(rate "$m_co"),
  "scp_in_mib_s": $(rate "$m_si"), "scp_out_mib_s": $(rate "$m_so")
}
JSON
cat "$out"
