SHELL := /bin/bash
# qlaunch: plain Makefile. `make` builds qlaunch and libqmp.a; `make check`
# runs every test; see README.md for the other targets.
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKGS := glib-2.0 jansson
BUILD ?= build
WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -DSRCDIR=\"$(CURDIR)\" -I$(BUILD)/gen $(CFLAGS) $(EXTRA_CFLAGS) $(shell pkg-config --cflags $(PKGS))
LIBS = $(shell pkg-config --libs $(PKGS)) -lm
LDFLAGS_ALL = $(LDFLAGS) $(EXTRA_LDFLAGS)

QMP_SRC := qmp/qmp.c qmp/qga.c
CORE_SRC := launcher/disk.c launcher/qcow2.c launcher/cloudinit.c launcher/ini.c launcher/profile.c launcher/profile-read.c launcher/profile-devices.c launcher/profile-numa.c launcher/profile-platform.c launcher/cmdline.c launcher/accel.c launcher/proc.c launcher/vm.c launcher/platform.c launcher/share.c launcher/png.c \
            launcher/snapshot.c launcher/migrate.c launcher/migrate-probe.c launcher/resources.c launcher/bench.c launcher/scenario.c launcher/netfwd.c \
            launcher/network.c launcher/nat.c launcher/stats.c launcher/balloon.c launcher/export.c launcher/restore.c launcher/template.c launcher/lifecycle.c
CMD_SRC := launcher/cli.c launcher/cmd-cp.c launcher/cmd-disk.c launcher/cmd-ssh.c launcher/verbs.c launcher/cmd-start.c launcher/cmd-stop.c launcher/cmd-control.c \
           launcher/cmd-monitor.c launcher/cmd-guest.c launcher/cmd-info.c launcher/cmd-snapshot.c launcher/cmd-migrate.c launcher/cmd-bench.c launcher/cmd-bench-report.c launcher/cmd-bench-net.c launcher/cmd-scenario.c launcher/cmd-scenario-report.c launcher/cmd-forward.c launcher/cmd-net.c launcher/cmd-stats.c launcher/cmd-export.c launcher/cmd-profiles.c launcher/cmd-memory.c launcher/cmd-template.c launcher/cmd-display.c \
           launcher/main.c
UNIT_TESTS := test-profile test-cmdline test-qmp test-accel test-snapshot test-migrate test-bench test-net test-network test-stats test-png

# The program; `make sanitize` builds its own copy under build/san.
BIN ?= qlaunch

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
HEADERS := $(wildcard qmp/*.h launcher/*.h)

.PHONY: all deps guest image check unit integration net load sanitize fuzz valgrind bench bench-lab4 migrate-soak migrate-compare demo install uninstall format-check clean
all: $(BIN) $(BUILD)/libqmp.a libqmp.a

# Installs the missing Debian packages that building and running need
# (apt-get; sudo when not root; asks first on a terminal; never with
# QLAUNCH_AUTO_DEPS=0). The test, fuzz, valgrind, bench and net tools are
# asked for by their own targets (deps-GROUP).
deps:
	@scripts/install-deps.sh --check build run >/dev/null 2>&1 || scripts/install-deps.sh --ask build run
deps-%:
	@scripts/install-deps.sh --check $* >/dev/null 2>&1 || scripts/install-deps.sh --ask $*

$(BUILD)/obj/%.o: %.c $(HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The KVM probe's guest (launcher/kvm-probe.S), a flat multiboot image
# embedded in qlaunch as a byte array.
$(BUILD)/gen/kvm-probe.h: launcher/kvm-probe.S | deps
	@mkdir -p $(dir $@)
	$(CC) -c -o $(BUILD)/gen/kvm-probe.o $<
	ld -m elf_x86_64 -N -Ttext=0x100000 --build-id=none -nostdlib -e _start --no-warn-rwx-segments \
	    -o $(BUILD)/gen/kvm-probe.elf $(BUILD)/gen/kvm-probe.o
	objcopy -O binary $(BUILD)/gen/kvm-probe.elf $(BUILD)/gen/kvm-probe.bin
	{ echo '/* generated from launcher/kvm-probe.S by make */'; \
	  echo 'static const unsigned char kvm_probe_image[] = {'; \
	  od -An -v -tx1 $(BUILD)/gen/kvm-probe.bin | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/launcher/accel.o: $(BUILD)/gen/kvm-probe.h

$(BUILD)/libqmp.a: $(call obj,$(QMP_SRC))
	ar rcs $@ $^

libqmp.a: $(BUILD)/libqmp.a
	cp $< $@

$(BIN): $(call obj,$(CORE_SRC) $(CMD_SRC)) $(BUILD)/libqmp.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c $(call obj,$(CORE_SRC)) $(BUILD)/libqmp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS_ALL) $(LIBS)

# test-kvm.sh's /dev/kvm (LD_PRELOAD).
$(BUILD)/tests/kvm-shim.so: tests/integration/fake-kvm/kvm-shim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

$(BUILD)/tests/bench-%: tests/bench/bench-%.c tests/bench/bench-util.h $(BUILD)/libqmp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter-out %.h,$^) $(LDFLAGS_ALL) $(LIBS)

# libFuzzer targets (clang), each run for FUZZ_SECONDS from its seed corpus;
# a crash stops make and leaves build/fuzz/crash-TARGET-* to replay with
# build/fuzz/fuzz-TARGET FILE.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := qmp profile argv qcow2
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(BUILD)/gen -D_GNU_SOURCE -DSRCDIR=\"$(CURDIR)\" $(shell pkg-config --cflags $(PKGS))
$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(CORE_SRC) $(QMP_SRC) $(HEADERS) tests/qemu-opts.h $(BUILD)/gen/kvm-probe.h | deps deps-fuzz
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(QMP_SRC) $(LIBS)

fuzz: $(addprefix $(BUILD)/fuzz/fuzz-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$t && \
	    echo "fuzz-$$t: $(FUZZ_SECONDS) s" && \
	    $(BUILD)/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	        -artifact_prefix=$(BUILD)/fuzz/crash-$$t- -print_final_stats=1 \
	        $$(test -f tests/fuzz/$$t.dict && echo -dict=tests/fuzz/$$t.dict) \
	        $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>&1 | \
	        grep -E 'stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|Test unit written|^==' ; \
	    test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

# libqmp's unit tests under valgrind: no errors, no definite leaks.
valgrind: $(BUILD)/tests/test-qmp | deps-valgrind
	G_SLICE=always-malloc G_DEBUG=gc-friendly valgrind --quiet --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite --suppressions=/usr/share/glib-2.0/valgrind/glib.supp \
	    $(BUILD)/tests/test-qmp

guest: deps
	scripts/build-guest.sh

# The Debian 12 system image test-debian boots (root: debootstrap; rebuilt
# only when its inputs change; QLAUNCH_IMAGE_CACHE=DIR keeps it outside).
image: | deps-image
	scripts/build-image.sh debian-12

unit: $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
	tests/run-tests.sh unit $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

integration: $(BIN) guest $(BUILD)/tests/kvm-shim.so | deps-test
	KVM_SHIM=$(abspath $(BUILD))/tests/kvm-shim.so QLAUNCH_BIN=$(abspath $(BIN)) tests/run-tests.sh integration tests/integration/test-*.sh

# Network tests, in namespaces they create (root).
net: $(BIN) guest | deps-net
	QLAUNCH_BIN=$(abspath $(BIN)) tests/run-tests.sh net tests/net/test-*.sh

# Load: LOAD_VMS VMs x LOAD_ROUNDS rounds, leak counts in $(BUILD)/load.json.
LOAD_ROUNDS ?= 10
LOAD_VMS ?= 20
export LOAD_ROUNDS LOAD_VMS
load: $(BIN) guest
	LOAD_REPORT=$(abspath $(BUILD))/load.json QLAUNCH_BIN=$(abspath $(BIN)) tests/run-tests.sh load tests/load/test-*.sh

# The suites check runs after the unit tests.
CHECK_SUITES ?= tests/integration/test-*.sh tests/net/test-*.sh tests/load/test-*.sh
# The ones sanitize runs again under ASan + UBSan: every verb's paths, but
# not the suites whose time goes to long guest workloads (bench, faults,
# kvm, install, memory, migrate, nat, load), which make check runs once:
# CI's time (run-tests.sh prints each program's).
SAN_SUITES ?= $(addprefix tests/integration/test-,$(addsuffix .sh,cli errors firmware lifecycle \
	restore snapshot template watch disks cloudinit share)) tests/net/test-usernet.sh
check: $(BIN) guest image $(addprefix $(BUILD)/tests/,$(UNIT_TESTS)) $(BUILD)/tests/kvm-shim.so | deps-test
	KVM_SHIM=$(abspath $(BUILD))/tests/kvm-shim.so LOAD_REPORT=$(abspath $(BUILD))/load.json QLAUNCH_BIN=$(abspath $(BIN)) tests/run-tests.sh all $(addprefix $(BUILD)/tests/,$(UNIT_TESTS)) $(CHECK_SUITES)

# ASan + UBSan build of everything, then the same tests.
sanitize:
	$(MAKE) BUILD=build/san BIN=build/san/qlaunch EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" CFLAGS=-g \
	    CHECK_SUITES="$(SAN_SUITES)" check

# How often a guest survives a live migration here (SOAK_MIGRATIONS, 150).
migrate-soak: qlaunch guest
	tests/bench/migrate-soak.sh

# guest RAM compared page by page on both sides of each migration (CMP_MODE,
# CMP_LOAD, CMP_FAST_PATH, CMP_MIGRATIONS: see the script)
migrate-compare: qlaunch guest
	tests/bench/migrate-compare.sh

bench: qlaunch guest image $(BUILD)/tests/bench-lifecycle $(BUILD)/tests/bench-watch | deps-bench
	tests/bench/lifecycle.sh
	tests/bench/boot.sh
	tests/bench/probe.sh
	tests/bench/migrate.sh
	tests/bench/net.sh
	tests/bench/watch.sh
	tests/bench/install.sh
	tests/bench/cp.sh
	tests/bench/debian.sh
	./qlaunch bench tiny --out $(BUILD)/bench/sysbench

bench-lab4: qlaunch guest
	./qlaunch bench --scenario profiles/scenarios/lab4.ini --out $(BUILD)/bench/lab4

demo: qlaunch guest
	scripts/demo.sh

# libqmp.pc is written for this PREFIX (pkg-config --cflags --libs libqmp)
install: qlaunch libqmp.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/qlaunch \
	    $(DESTDIR)$(PREFIX)/share/qlaunch/profiles/scenarios $(DESTDIR)$(PREFIX)/share/qlaunch/profiles/networks
	install -m 0755 qlaunch $(DESTDIR)$(PREFIX)/bin/qlaunch
	install -m 0644 libqmp.a $(DESTDIR)$(PREFIX)/lib/libqmp.a
	install -m 0644 qmp/qmp.h $(DESTDIR)$(PREFIX)/include/qlaunch/qmp.h
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include/qlaunch\n\nName: libqmp\nDescription: QMP and QEMU guest agent client library (qlaunch)\nVersion: %s\nRequires: glib-2.0 jansson\nLibs: -L$${libdir} -lqmp\nCflags: -I$${includedir}\n' \
	    '$(PREFIX)' "$$(sed -n 's/^#define QLAUNCH_VERSION "\(.*\)"/\1/p' launcher/cli.h)" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libqmp.pc
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/libqmp.pc
	install -m 0644 profiles/*.ini $(DESTDIR)$(PREFIX)/share/qlaunch/profiles/
	install -m 0644 profiles/scenarios/*.ini $(DESTDIR)$(PREFIX)/share/qlaunch/profiles/scenarios/
	install -m 0644 profiles/networks/*.ini $(DESTDIR)$(PREFIX)/share/qlaunch/profiles/networks/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 launcher/man/qlaunch.1 $(DESTDIR)$(PREFIX)/share/man/man1/qlaunch.1
	install -m 0644 launcher/man/qlaunch-profile.5 $(DESTDIR)$(PREFIX)/share/man/man5/qlaunch-profile.5
	install -m 0644 scripts/qlaunch-completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/qlaunch
	if [ -f build/guest/vmlinuz ]; then install -d $(DESTDIR)$(PREFIX)/share/qlaunch/guest && \
	    install -m 0644 build/guest/vmlinuz build/guest/vmlinux build/guest/initrd.img \
	    $(DESTDIR)$(PREFIX)/share/qlaunch/guest/ && \
	    install -m 0755 build/guest/qlaunch-probe $(DESTDIR)$(PREFIX)/share/qlaunch/guest/; fi

INSTALLED := bin/qlaunch lib/libqmp.a lib/pkgconfig/libqmp.pc include/qlaunch/qmp.h \
	share/man/man1/qlaunch.1 share/man/man5/qlaunch-profile.5 \
	share/bash-completion/completions/qlaunch
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))
	rm -rf $(DESTDIR)$(PREFIX)/share/qlaunch
	-rmdir $(DESTDIR)$(PREFIX)/include/qlaunch 2>/dev/null

format-check:
	clang-format --dry-run --Werror qmp/*.[ch] launcher/*.[ch] tests/unit/*.c tests/bench/*.c

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/san $(BUILD)/libqmp.a qlaunch libqmp.a
