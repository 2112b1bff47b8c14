#!/usr/bin/env bash
# What a newcomer meets first: exit codes that tell the truth, usage errors,
# suggestions, profiles that cannot silently take another VM's place.
. "$(dirname "$0")/lib.sh"
export QLAUNCH_PROFILE_PATH=$work/profiles
mkdir -p "$work/profiles"

# --- status: 0 running or paused, 1 unresponsive/refused, 3 not running, 4 no such VM
run "$QL" status nosuchvm
check "status of no such VM: exit 4 (rc $rc)" [ "$rc" -eq 4 ]
check "... says so and where to look" has "no VM named 'nosuchvm'"
run "$QL" status nosuchvm --json
check "... --json carries it: state not found, exit 4" bash -c '[ "$1" -eq 4 ] && [[ $2 == *"\"state\": \"not found\""* ]]' _ "$rc" "$out"
run "$QL" status TINY
check "status TINY: exit 4 with did you mean 'tiny'" bash -c '[ "$1" -eq 4 ] && [[ $2 == *"did you mean '"'"'tiny'"'"'?"* ]]' _ "$rc" "$out"
run "$QL" status tiny
check "status of a stopped VM that has a profile: exit 3, shut off (rc $rc)" bash -c '[ "$1" -eq 3 ] && [[ $2 == *"state:   shut off"* ]]' _ "$rc" "$out"

# --- usage errors exit 2
for c in "bench" "export tiny" "net start" "forward add tiny" "list extra" "start a b" "snapshot sav tiny x" "net strat default" "forward ad tiny"; do
    run "$QL" $c
    check "'qlaunch $c' is a usage error: exit 2 (rc $rc)" [ "$rc" -eq 2 ]
done
run "$QL" list extra
check "list extra says it takes no arguments" has "takes no arguments, got 'extra'"
run "$QL" start a b
check "start a b says there are too many" has "too many arguments (2 given, at most 1)"
run "$QL" snapshot sav tiny x
check "snapshot sav: did you mean 'save'" has "did you mean 'save'?"
run "$QL" net strat default
check "net strat: did you mean 'start'" has "did you mean 'start'?"
run "$QL" -q list
check "global options before the verb are taken (-q list: rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 != *"unknown verb"* ]]' _ "$rc" "$out"
run "$QL" -v status nosuchvm
check "... -v status: the verb runs (rc $rc)" [ "$rc" -eq 4 ]
run "$QL" help start
check "help start shows start's options" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"--wait-agent"* ]]' _ "$rc" "$out"
run "$QL" help frobnicate
check "help of no verb: exit 2" [ "$rc" -eq 2 ]
run "$QL" --help
check "--help puts a long argument list on a line of its own" bash -c '! grep -qE "^  snapshot save\|load\|delete VM NAME +internal" <<< "$1"' _ "$out"
run "$QL" stop "$top/profiles/tiny.ini"
check "stop PROFILE.ini names the VM that profile is" has "its VM is 'tiny'"

# --- listing what there is
run "$QL" list
check "list with no VM says so" has "no VMs are running"
cp "$top/profiles/tiny.ini" "$work/profiles/web.ini"
run "$QL" profiles
check "profiles lists a profile on the search path with its origin" matches "$out" "web +web +shut off +\\\$QLAUNCH_PROFILE_PATH +$work/profiles/web.ini"
run "$QL" profiles --names
check "profiles --names gives web and tiny" bash -c '[[ $1 == *web* && $1 == *tiny* ]]' _ "$out"
run "$QL" list --all
check "list --all shows web, stopped" matches "$out" "web +shut off"

comp=$top/scripts/qlaunch-completion.bash
out=$(bash -c 'source "$1"; COMP_WORDS=("$2" start we); COMP_CWORD=2; _qlaunch; echo "${COMPREPLY[*]}"' _ "$comp" "$QL")
check "completion offers profiles from the binary's search path (\$QLAUNCH_PROFILE_PATH: web)" [ "$out" = web ]
out=$(bash -c 'source "$1"; COMP_WORDS=("$2" export web --format p); COMP_CWORD=4; _qlaunch; echo "${COMPREPLY[*]}"' _ "$comp" "$QL")
check "completion offers option values (--format p -> proxmox)" [ "$out" = proxmox ]
out=$(bash -c 'source "$1"; complete -p ./qlaunch' _ "$comp")
check "completion is registered for ./qlaunch too" has "_qlaunch"

# --- a copied profile: its own VM; one that keeps name= is refused while the other runs
run "$QL" cmdline web
check "a copy of tiny.ini is VM web (its file name)" has "guest=web,"
run "$QL" start -q web --wait-agent
check "start web (rc $rc)" [ "$rc" -eq 0 ]
run "$QL" status web
check "status of a running VM: exit 0 (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"state:   running"* ]]' _ "$rc" "$out"
printf '[vm]\nname=web\nmemory=128M\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[net 0]\nmode=none\n[agent]\nenabled=false\n' > "$work/copy.ini"
run "$QL" start "$work/copy.ini"
check "a second profile claiming running VM web is refused (rc $rc)" [ "$rc" -eq 1 ]
check "... naming both files" bash -c '[[ $1 == *"$2"* && $1 == *"$3"* && $1 == *"from another profile"* ]]' _ "$out" "$work/copy.ini" "$work/profiles/web.ini"
run "$QL" cmdline "$work/copy.ini"
check "cmdline shows that name= differs from the file name" has "names its VM 'web' ([vm] name=), not 'copy'"
disk=$work/state/web/data.qcow2
printf '[vm]\nmemory=128M\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[disk data]\nfile=%s\n[net 0]\nmode=none\n[agent]\nenabled=false\n' "$disk" > "$work/thief.ini"
run "$QL" start "$work/thief.ini"
check "a profile using running VM web's disk is refused (rc $rc)" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"is the disk of running VM web"* ]]' _ "$rc" "$out"
check "... and nothing of it runs" [ ! -e "$QLAUNCH_RUNTIME_DIR/thief" ]
run "$QL" pause web
run "$QL" status web
check "status of a paused VM: exit 0 (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"state:   paused"* ]]' _ "$rc" "$out"
run "$QL" resume web

# --- exec: options between the VM and "--" are qlaunch's
run "$QL" exec web -t 5 -- echo hello
check "exec VM -t 5 -- CMD: -t is qlaunch's, the command runs (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == "hello" ]]' _ "$rc" "$out"
run "$QL" exec web echo -n x
check "exec VM CMD -n: the command keeps its options" bash -c '[ "$1" -eq 0 ] && [[ $2 == "x" ]]' _ "$rc" "$out"

# --- an unresponsive QEMU: status exit 1
pid=$(cat "$QLAUNCH_RUNTIME_DIR/web/qemu.pid")
kill -STOP "$pid"
run "$QL" status web
kill -CONT "$pid"
check "status of a QEMU that does not answer: exit 1, unresponsive (rc $rc)" bash -c '[ "$1" -eq 1 ] && [[ $2 == *unresponsive* ]]' _ "$rc" "$out"

# --- size= of an existing disk is not silently ignored
"$QL" stop -q web >/dev/null 2>&1
sed -i 's/^size=1G/size=2G/' "$work/profiles/web.ini"
run "$QL" start web --wait-agent
check "start with size= other than the existing disk's says so" has "size= only applies when the disk is created"
"$QL" kill web >/dev/null 2>&1

# --- profile mistakes
printf '[vm]\nmemory=1G\ncpus=2\nmemory=2G\n[boot]\nkernel=@guest/vmlinuz\n' > "$work/twice.ini"
run "$QL" cmdline "$work/twice.ini"
check "a key given twice is refused, both lines named" has "[vm] memory: given twice (lines 2 and 4"
printf '[vm]\nmemory=999999999G\n[boot]\nkernel=@guest/vmlinuz\ninitrd=@guest/initrd.img\n[agent]\nenabled=false\n' > "$work/huge.ini"
run "$QL" start "$work/huge.ini"
check "memory=999999999G is refused with the host's figure (rc $rc)" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"more than this host could ever give (RAM "* ]]' _ "$rc" "$out"
printf '[vm]\nmemory=512M\n[boot]\ncdrom=%s/no.iso\n' "$work" > "$work/nocd.ini"
run "$QL" cmdline "$work/nocd.ini"
check "cmdline flags a missing cdrom= file" has "[boot] cdrom: $work/no.iso does not exist (start will refuse)"

# --- net start --dry-run changes nothing, says everything
printf '[network]\nbridge=qlbrdry%s\nsubnet=10.251.77.0/24\ndhcp-range=10.251.77.10-10.251.77.50\n' "$$" > "$work/profiles/dry.ini"
mkdir -p "$work/profiles/networks" && mv "$work/profiles/dry.ini" "$work/profiles/networks/dry.ini"
run "$QL" net start dry --dry-run
check "net start --dry-run prints the nft table and the dnsmasq config (rc $rc)" bash -c '[ "$1" -eq 0 ] && [[ $2 == *"table ip qlaunch_dry"* && $2 == *"dhcp-range="* && $2 == *"ip link add qlbrdry"* ]]' _ "$rc" "$out"
check "... and changes nothing: no bridge, no nft table, no state" bash -c '! ip link show "qlbrdry$1" >/dev/null 2>&1 && ! nft list table ip qlaunch_dry >/dev/null 2>&1 && [ ! -e "$2/_networks/dry" ]' _ "$$" "$QLAUNCH_RUNTIME_DIR"

# --- make install / uninstall, libqmp through pkg-config, an installed qlaunch without the guest
# (the plain build: not the BUILD=, BIN= and sanitizer flags of a `make
# sanitize` that runs this test, which would reach make through MAKEFLAGS)
make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }
dest=$work/dest
run make -C "$top" -s install DESTDIR="$dest" PREFIX=/usr
check "make install into DESTDIR (rc $rc)" [ "$rc" -eq 0 ]
check "... installs libqmp.pc" [ -f "$dest/usr/lib/pkgconfig/libqmp.pc" ]
printf '#include <qmp.h>\nint main(void) { return qmp_conn_connect == 0; }\n' > "$work/use-libqmp.c"
run make -C "$top" -s install PREFIX="$work/prefix"
run bash -c 'cc -o "$1/use-libqmp" "$1/use-libqmp.c" $(PKG_CONFIG_PATH="$1/prefix/lib/pkgconfig" pkg-config --cflags --libs libqmp) && "$1/use-libqmp"' _ "$work"
check "a program builds and links against the installed libqmp with pkg-config (rc $rc)" [ "$rc" -eq 0 ]
rm -rf "$dest/usr/share/qlaunch/guest"
run bash -c 'cd "$1" && env -u QLAUNCH_GUEST_DIR QLAUNCH_PROFILE_PATH= "$2/usr/bin/qlaunch" start tiny' _ "$work" "$dest"
check "an installed qlaunch without the guest says how to get it, not 'make guest' (rc $rc)" bash -c '[ "$1" -eq 1 ] && [[ $2 == *"the embedded guest is not installed"* && $2 != *"(build the embedded guest: make guest)"* ]]' _ "$rc" "$out"
run make -C "$top" -s uninstall DESTDIR="$dest" PREFIX=/usr
left=$(find "$dest" -type f | sed "s|^$dest||" | tr '\n' ' ')
check "make uninstall removes every installed file${left:+ (left: $left)}" [ -z "$left" ]

# --- dependencies: QLAUNCH_AUTO_DEPS=0 never installs, says what is missing
run env QLAUNCH_AUTO_DEPS=0 "$top/scripts/install-deps.sh" bogus
check "install-deps refuses an unknown group (rc $rc)" [ "$rc" -eq 2 ]
run "$top/scripts/install-deps.sh" --check build run
check "install-deps --check build run: all there on this host (rc $rc)" [ "$rc" -eq 0 ]

done_testing
