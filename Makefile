# kvmshim: /dev/kvm-shaped CUSE devices for KVM features a host lacks.
#
#   make                  build everything
#   make check            unit tests natively, end-to-end tests in the lab VM
#   make demo             the daemon with a demo client (lab VM without /dev/cuse)
#   make SANITIZE=address,undefined check
#   make deps | install | uninstall | format | bench | clean
#   make fuzz             coverage-guided fuzzer of the engine (clang)

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
SANITIZE ?=

comma := ,
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build/san-$(subst $(comma),-,$(SANITIZE))
endif

# Debian package for each pkg-config module we build against
DEB_PKGS := libfuse3-dev libcap-dev libsystemd-dev check libseccomp-dev \
	pkg-config
# what the lab VM, the man page lint and the unit check need at test time
DEB_TOOLS := qemu-system-x86 busybox-static cpio mandoc systemd fuse3

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
ifeq ($(CI),true)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif

FUSE_CFLAGS := $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)
FUSE_LIBS := $(shell $(PKG_CONFIG) --libs fuse3 2>/dev/null)
CAP_LIBS := $(shell $(PKG_CONFIG) --libs libcap 2>/dev/null)
SYSTEMD_LIBS := $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
SECCOMP_LIBS := $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null)

OPT ?= -O2
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -I. -Iuapi -D_GNU_SOURCE \
	-DKVMSHIM_VERSION='"$(VERSION)"' -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) -pthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

CORE_SRC := $(wildcard core/*.c)
CUSE_SRC := $(filter-out cuse/main.c,$(wildcard cuse/*.c))
UNIT_SRC := $(wildcard test/unit/*.c)
E2E_LIB_SRC := $(wildcard test/e2e/lib/*.c)
E2E_SRC := $(wildcard test/e2e/t_*.c)
BENCH_SRC := $(wildcard bench/*.c)

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CUSE_OBJ := $(CUSE_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
E2E_LIB_OBJ := $(E2E_LIB_SRC:%.c=$(BUILD)/%.o)

CORE_LIB := $(BUILD)/libkvmshim-core.a
CUSE_LIB := $(BUILD)/libkvmshim-cuse.a
DAEMON := $(BUILD)/kvmshimd
UNIT := $(BUILD)/test/unit-tests
E2E_BINS := $(E2E_SRC:test/e2e/%.c=$(BUILD)/test/e2e/%)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
DEMO := $(BUILD)/test/kvmshim-demo
UNIT_CLIENT := $(BUILD)/test/unit-client

CTL := $(BUILD)/kvmshimctl
RUN := $(BUILD)/kvmshim-run
PROGRAMS := $(DAEMON) $(CTL) $(RUN)
TESTS := $(UNIT) $(E2E_BINS) $(DEMO) $(UNIT_CLIENT)

.PHONY: all check check-unit check-e2e check-native check-headers demo \
	bench deps deps-for install uninstall check-install check-all \
	demo-run format clean fuzz

all: $(PROGRAMS) $(TESTS) $(BENCH_BINS)

$(BUILD)/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/cuse/%.o: cuse/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -c $< -o $@

# Every test/unit/check_NAME.c defines Suite *suite_NAME(void).
UNIT_SUITES := $(patsubst test/unit/check_%.c,%,$(wildcard test/unit/check_*.c))
$(BUILD)/test/unit/suites.h: Makefile $(wildcard test/unit/check_*.c)
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach s,$(UNIT_SUITES),'KS_SUITE($(s))') > $@.tmp
	@mv $@.tmp $@

$(BUILD)/test/unit/main.o: $(BUILD)/test/unit/suites.h

$(BUILD)/test/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/test/unit $(FUSE_CFLAGS) $(CHECK_CFLAGS) \
		-c $< -o $@

$(BUILD)/test/e2e/lib/%.o: test/e2e/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/test/e2e/%: test/e2e/%.c $(E2E_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(E2E_LIB_OBJ) -o $@ $(ALL_LDFLAGS)

$(DEMO): test/demo/demo.c $(E2E_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(E2E_LIB_OBJ) -o $@ $(ALL_LDFLAGS)

$(UNIT_CLIENT): test/labvm/systemd/unit_client.c $(E2E_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(E2E_LIB_OBJ) -o $@ $(ALL_LDFLAGS)

$(BUILD)/bench/%: bench/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(CORE_LIB) -o $@ $(ALL_LDFLAGS) -lm

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(CUSE_LIB): $(CUSE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): $(BUILD)/cuse/main.o $(CUSE_LIB) $(CORE_LIB)
	$(CC) $^ -o $@ $(ALL_LDFLAGS) $(FUSE_LIBS) $(CAP_LIBS) $(SYSTEMD_LIBS)

# kvmshimctl talks to the control socket only: no engine, no libfuse.
$(CTL): ctl/kvmshimctl.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(ALL_LDFLAGS)

# kvmshim-run: the launcher and supervisor; no engine, no libfuse.
RUN_SRC := $(wildcard run/*.c)
RUN_OBJ := $(RUN_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/run/%.o: run/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(RUN): $(RUN_OBJ)
	$(CC) $^ -o $@ $(ALL_LDFLAGS) $(SECCOMP_LIBS)

# A stand-in for an unmodified VMM (only <linux/kvm.h>), static and
# dynamic, and the lab VM kernel's own KVM modules (a real /dev/kvm under
# TCG): extra files for the lab VM.
VMM_DIR := $(BUILD)/labvm-extra/opt/kvmshim/vmm
VMM_BINS := $(VMM_DIR)/vmm-static $(VMM_DIR)/vmm-dynamic
VMM_CFLAGS := -std=gnu11 $(WARN) $(OPT) -g -D_GNU_SOURCE -pthread
KVM_KO := $(BUILD)/labvm-extra/lib/modules/kvm/kvm.ko
$(VMM_DIR)/vmm-static: test/e2e/vmm.c
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -static $< -o $@
$(VMM_DIR)/vmm-dynamic: test/e2e/vmm.c
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) $< -o $@
$(KVM_KO):
	@mkdir -p $(dir $@)
	@kdir=$$(test/labvm/kernel.sh) || exit 1; \
	for m in irqbypass kvm-amd kvm-intel kvm; do \
		ko=$$(find $$kdir/lib/modules -name "$$m.ko*" | head -n 1); \
		case $$ko in \
		'') ;; \
		*.xz) xz -dc "$$ko" >$(dir $@)$$m.ko ;; \
		*.zst) zstd -qdc "$$ko" >$(dir $@)$$m.ko ;; \
		*) cp "$$ko" $(dir $@)$$m.ko ;; \
		esac; \
	done
all check-native: $(VMM_BINS)
check-e2e: $(VMM_BINS) $(KVM_KO)

$(UNIT): $(UNIT_OBJ) $(CUSE_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(ALL_LDFLAGS) $(CHECK_LIBS) $(FUSE_LIBS) $(CAP_LIBS) \
		$(SYSTEMD_LIBS)

# The core must stay free of libfuse.
check-headers:
	@! grep -ln 'fuse' core/*.c core/*.h || \
		{ echo 'core/ must not use libfuse'; exit 1; }
	@for h in uapi/kvmshim/*.h; do \
		echo "#include \"$${h#uapi/}\"" | \
		$(CC) -std=c99 -Wall -Wextra -Werror -Iuapi -x c -fsyntax-only - \
		|| exit 1; done

check-unit: $(UNIT) check-headers
	$(UNIT)

# the lab VM also gets the installed tree, to start it as the unit does,
# and then boots once more with systemd as PID 1 to run the unit itself
check-e2e: $(PROGRAMS) $(E2E_BINS) $(UNIT_CLIENT) $(SERVICE)
	$(MAKE) -s install DESTDIR=$(abspath $(BUILD))/labvm-extra PREFIX=/usr
	test/labvm/run.sh --build $(BUILD) e2e
	test/labvm/run.sh --build $(BUILD) systemd

check-native: $(PROGRAMS) $(E2E_BINS)
	test/e2e/run-all.sh $(BUILD)

# "make check" and "make demo" work on a fresh machine: they install the
# missing Debian packages first (as root), then build with what pkg-config
# now finds, in a second make.
check:
	@$(MAKE) --no-print-directory deps-for
	@$(MAKE) --no-print-directory check-all

check-all: check-unit check-install check-e2e

demo:
	@$(MAKE) --no-print-directory deps-for
	@$(MAKE) --no-print-directory demo-run

demo-run: $(PROGRAMS) $(DEMO)
	@if [ -c /dev/cuse ] && [ "$$(id -u)" = 0 ]; then \
		test/demo/run-demo.sh $(BUILD); \
	else \
		test/labvm/run.sh --build $(BUILD) demo; \
	fi

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

# libFuzzer needs clang; the engine is built again with coverage.
FUZZ_BUILD := build/fuzz
FUZZ_SAN := address,undefined
fuzz:
	$(MAKE) CC=clang SANITIZE=fuzzer-no-link,$(FUZZ_SAN) \
		BUILD=$(FUZZ_BUILD) $(FUZZ_BUILD)/libkvmshim-core.a
	clang -std=gnu11 $(WARN) -O1 -g -I. -Iuapi -D_GNU_SOURCE \
		-fsanitize=fuzzer,$(FUZZ_SAN) -fno-sanitize-recover=all \
		fuzz/engine_fuzz.c $(FUZZ_BUILD)/libkvmshim-core.a \
		-o $(FUZZ_BUILD)/engine_fuzz -pthread

MISSING = $(shell for p in $(DEB_PKGS) $(DEB_TOOLS); do \
	dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	grep -q 'ok installed' || echo $$p; done)

# Installs what is missing; does nothing when everything is there.
deps:
	@missing="$(strip $(MISSING))"; \
	if [ -z "$$missing" ]; then \
		echo "all dependencies are installed"; exit 0; fi; \
	echo "installing: $$missing"; \
	apt-get install -y --no-install-recommends $$missing || \
	{ apt-get update -q && \
	  apt-get install -y --no-install-recommends $$missing; }

deps-for:
	@missing="$(strip $(MISSING))"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps; \
		else echo "missing packages: $$missing;" \
			"run 'sudo make deps' first" >&2; exit 1; fi; fi

# Where make install puts things; systemd, udev and modules-load.d also
# search /usr/local/lib, so the default PREFIX works for all of them.
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

SERVICE := $(BUILD)/systemd/kvmshimd@.service
MANPAGES := man/kvmshim.7 man/kvmshimd.8 man/kvmshimctl.1 man/kvmshim-run.1

# the unit names the installed daemon, so it follows SBINDIR every time
$(SERVICE): systemd/kvmshimd@.service.in FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		$< > $@.tmp && mv $@.tmp $@
.PHONY: FORCE

install: $(PROGRAMS) $(SERVICE)
	install -D -m 755 $(DAEMON) $(DESTDIR)$(SBINDIR)/kvmshimd
	install -D -m 755 $(CTL) $(DESTDIR)$(BINDIR)/kvmshimctl
	install -D -m 755 $(RUN) $(DESTDIR)$(BINDIR)/kvmshim-run
	install -D -m 644 -t $(DESTDIR)$(INCLUDEDIR)/kvmshim \
		uapi/kvmshim/kvm.h uapi/kvmshim/kvmshim.h
	install -D -m 644 $(SERVICE) $(DESTDIR)$(SYSTEMDUNITDIR)/kvmshimd@.service
	install -D -m 644 systemd/60-kvmshim.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-kvmshim.rules
	install -D -m 644 systemd/kvmshim-modules.conf \
		$(DESTDIR)$(MODULESLOADDIR)/kvmshim.conf
	install -D -m 644 systemd/kvmshim-sysusers.conf \
		$(DESTDIR)$(SYSUSERSDIR)/kvmshim.conf
	for m in $(MANPAGES); do \
		install -D -m 644 $$m \
		$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/kvmshimd $(DESTDIR)$(BINDIR)/kvmshimctl \
		$(DESTDIR)$(BINDIR)/kvmshim-run \
		$(DESTDIR)$(INCLUDEDIR)/kvmshim/kvm.h \
		$(DESTDIR)$(INCLUDEDIR)/kvmshim/kvmshim.h \
		$(DESTDIR)$(SYSTEMDUNITDIR)/kvmshimd@.service \
		$(DESTDIR)$(UDEVRULESDIR)/60-kvmshim.rules \
		$(DESTDIR)$(MODULESLOADDIR)/kvmshim.conf \
		$(DESTDIR)$(SYSUSERSDIR)/kvmshim.conf
	for m in $(MANPAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/kvmshim

# Lints the manual, verifies the unit, checks the installed file list.
check-install: $(PROGRAMS) $(SERVICE)
	test/install/check-install.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
