#!/usr/bin/env bash
# The whole KVM path on any machine: an LD_PRELOAD shim answers qlaunch's
# /dev/kvm checks and a QEMU wrapper first on PATH runs the real QEMU on
# TCG for "-accel kvm". Nothing in qlaunch is told it is a test: it finds
# the wrapper as it finds QEMU, probes, caches and starts as on a laptop
# with working KVM. Also: a KVM whose guest hangs, -cpu host aborting on an
# MSR, the cache keyed by the QEMU binary, an interrupted probe.
. "$(dirname "$0")/lib.sh"

shim=${KVM_SHIM:-$top/build/tests/kvm-shim.so}
if [ ! -f "$shim" ]; then
    not_ok "the shim $shim is built (make build/tests/kvm-shim.so)"
    done_testing
    exit 1
fi
REAL_QEMU=$(command -v qemu-system-x86_64)
mkdir -p "$work/bin"
cp "$top/tests/integration/fake-kvm/qemu-system-x86_64" "$work/bin/"
export REAL_QEMU FAKE_KVM_LOG=$work/qemu-argv.log
cache=$XDG_CACHE_HOME/qlaunch/kvm-probe
# kq CMD...: qlaunch on the "KVM host"
# (an ASan build of qlaunch wants its runtime first: the shim goes first here)
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
kq() { PATH="$work/bin:$PATH" LD_PRELOAD=$shim "$QL" "$@"; }
probes() { grep -c -- '-kernel .*kvm-probe-' "$FAKE_KVM_LOG" 2>/dev/null || true; }
prof() { # FILE NAME ACCEL
    printf '[vm]\nname=%s\nmemory=256M\ncpus=1\naccel=%s\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\nappend=console=ttyS0 quiet no_timer_check\n[net 0]\nmode=none\n[agent]\nenabled=true\n' \
        "$2" "$3" > "$1"
}
prof "$work/k.ini" k auto
prof "$work/kk.ini" kk kvm

# --- a working KVM: probed once, cached, used ---
run kq doctor
check "doctor: the probe passes" has "probe passed: a guest took an exception and a timer interrupt"
check "... under -accel kvm -cpu host, with the probe guest" grep -q -- '^-accel kvm -cpu host -m 32M .*-kernel ' "$FAKE_KVM_LOG"
check "... doctor says how long it took and that it just ran" matches "$out" 'probe took [0-9.]+ s with -cpu host; run just now'
check "... accel=auto chooses kvm" matches "$out" 'accel=auto +kvm \(auto: probe passed'
check "... and no QEMU module warning reaches the user" bash -c '[[ $1 != *"module ui-"* && $1 != *"qemu-system-gui"* ]]' _ "$out"
check "the answer is cached, keyed by boot id and the QEMU binary" grep -q " $work/bin/qemu-system-x86_64 " "$cache"
run kq doctor --json
check "doctor again: the cached answer, with when" has "cached at "
check "... no second probe ran ($(probes))" [ "$(probes)" -eq 1 ]
check "... and --json is JSON, without QEMU's warnings" bash -c 'json_pp <<< "$1" >/dev/null && [[ $1 != *"module ui-"* ]]' _ "$out"

run kq start "$work/k.ini" --wait-agent
check "start accel=auto on a working KVM (rc $rc)" [ "$rc" -eq 0 ]
check "... says kvm and why" has "accel kvm: auto: probe passed"
check "... runs QEMU with -accel kvm -cpu host" grep -q -- '^-name guest=k,.* -accel kvm -cpu host -m 256M' "$FAKE_KVM_LOG"
check "... the probe's and the VM's QEMU are the same absolute binary" \
    grep -q "\"argv\": \[\"$work/bin/qemu-system-x86_64\"" <(json_pp < "$QLAUNCH_RUNTIME_DIR/k/meta.json" | tr -d '\n ' | sed 's/,/, /g; s/:/: /g')
run kq status k --json
check "status --json: accel kvm, cpu host" bash -c '[[ $1 == *"\"accel\": \"kvm\""* ]] && grep -q "\"cpu_model\": *\"host\"" "$2"' _ "$out" "$QLAUNCH_RUNTIME_DIR/k/meta.json"
run kq exec k -- echo guest-runs
check "... and its guest answers" has "guest-runs"
kq kill k >/dev/null

run kq bench "$work/k.ini" --tests cpu --runs 1 --time 1 --out "$work/b"
check "bench on a working KVM (rc $rc)" [ "$rc" -eq 0 ]
check "... results.json: accel kvm, cpu host, and why" bash -c \
    'grep -q "\"accel\": \"kvm\"" "$1" && grep -q "\"cpu_model\": \"host\"" "$1" && grep -q "probe passed" "$1"' _ "$work/b/results.json"

run kq start "$work/kk.ini"
check "accel=kvm is accepted where the probe passed (rc $rc)" [ "$rc" -eq 0 ]
kq kill kk >/dev/null

# --- a QEMU upgrade re-probes ---
touch -d '2 minutes ago' "$work/bin/qemu-system-x86_64"
n0=$(probes)
run kq doctor
check "the QEMU binary changed: doctor probes again ($n0 -> $(probes))" [ "$(probes)" -eq $((n0 + 1)) ]
check "... and says it just ran" has "run just now"

# --- -cpu host aborts on MSR 0x10a: the next model runs the guest ---
rm -f "$cache"
export FAKE_KVM=msr
run kq start "$work/k.ini" --wait-agent
check "-cpu host aborts: start still gets KVM (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"accel kvm"* ]]' _ "$rc" "$out"
check "... the reason names both models tried" bash -c '[[ $1 == *"-cpu host: QEMU exited"*"MSR 0x10a"* && $1 == *"-cpu host,-arch-capabilities: "* ]]' _ "$out"
check "... and the VM runs the model that passed" grep -q -- '^-name guest=k,.* -accel kvm -cpu host,-arch-capabilities ' "$FAKE_KVM_LOG"
kq kill k >/dev/null

# --- a KVM under which the guest hangs (kvm_pvm) ---
rm -f "$cache"
export FAKE_KVM=hang
run kq doctor
secs=$(sed -n 's/.*probe took \([0-9.]*\) s.*/\1/p' <<< "$out" | head -1)
check "a hanging KVM: the probe fails, every model tried (took $secs s)" \
    bash -c '[[ $1 == *"probe failed"* && $1 == *"-cpu host: the guest hung"* && $1 == *"-cpu qemu64: the guest hung"* ]]' _ "$out"
check "... no hung probe QEMU is left" until_ok 10 bash -c '! pgrep -f "[f]ake-kvm-hang" >/dev/null'
run kq start "$work/k.ini" --wait-agent
check "... start accel=auto falls back to TCG, saying why" \
    bash -c '[ "$1" -eq 0 ] && [[ $2 == *"accel tcg: auto: KVM not usable"*"the guest hung"* ]]' _ "$rc" "$out"
check "... and runs QEMU with -accel tcg" grep -q -- '^-name guest=k,.* -accel tcg ' "$FAKE_KVM_LOG"
kq kill k >/dev/null
run kq start "$work/kk.ini"
check "... accel=kvm is refused with the reason and what to do" \
    bash -c '[ "$1" -ne 0 ] && [[ $2 == *"KVM does not run guests here"*"--force"* ]]' _ "$rc" "$out"

# --- an interrupted probe caches nothing and leaves nothing ---
for sig in INT TERM; do
    rm -f "$cache"
    n0=$(probes)
    PATH="$work/bin:$PATH" LD_PRELOAD=$shim bg "$work/int.log" "$QL" start "$work/k.ini"
    check "SIG$sig: the probe QEMU is running" until_ok 20 bash -c '[ "$(grep -c -- "-kernel .*kvm-probe-" "$1")" -gt "$2" ] && pgrep -f "[f]ake-kvm-hang" >/dev/null' _ "$FAKE_KVM_LOG" "$n0"
    hp=$(pgrep -f "[f]ake-kvm-hang" | head -1)
    check "... in a process group of its own (a Ctrl-C reaches qlaunch alone)" \
        [ "$(ps -o pgid= -p "${hp:-1}" | tr -d ' ')" != "$(ps -o pgid= -p "$bg" | tr -d ' ')" ]
    kill -"$sig" "$bg"
    bg_wait "$work/int.log"
    check "... qlaunch exits 1 and says so (rc $rc)" \
        bash -c '[ "$1" -eq 1 ] && [[ $2 == *"interrupted during the KVM probe"*"nothing cached"* ]]' _ "$rc" "$out"
    check "... nothing is cached" [ ! -e "$cache" ]
    check "... the probe QEMU is gone" until_ok 10 gone "${hp:-999999}"
    check "... and no VM was started" [ ! -e "$QLAUNCH_RUNTIME_DIR/k/qemu.pid" ]
done
unset FAKE_KVM
run kq start "$work/k.ini" --wait-agent
check "after an interrupted probe the next start probes again and gets KVM" has "accel kvm: auto: probe passed"
kq kill k >/dev/null

done_testing
