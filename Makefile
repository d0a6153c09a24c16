# mars: top-level build. `make help` lists the targets.
#
# Everything is built into build/ (kernel objects stay in kmod/, as kbuild wants,
# and are git-ignored); downloaded kernels and tools live in .cache/.

SHELL := /bin/bash
.DEFAULT_GOAL := all

TOP   := $(CURDIR)
BUILD := $(TOP)/build
KABI  ?= $(shell . vm/lib.sh 2>/dev/null && mars_kabi 2>/dev/null)
KDIR  ?= /lib/modules/$(KABI)/build
# Module BTF (kfunc:/fentry on mars.ko), split against the guest kernel's BTF:
# scripts/kmod-btf says how and why. KMOD_BTF=0 builds mars.ko without it.
KMOD_BTF ?= 1
BTF_BASE ?= $(shell . vm/lib.sh 2>/dev/null && mars_kdir $(KABI))/vmlinux
# kbuild's own BTF step needs a vmlinux in the headers folder, which Debian does not
# ship: it is turned off (it would only print "Skipping BTF generation").
KBUILD := $(MAKE) -C $(KDIR) CONFIG_DEBUG_INFO_BTF_MODULES=

CC      ?= gcc
CLANG   ?= clang
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude/uapi -Iinclude -Iuserspace/store \
           -Iuserspace/ctl -Ilib/mlog -MMD -MP
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Userspace libraries, all from Debian (see docs/architecture.md, "Dependencies").
STORE_LIBS := -lisal
# libcrypto: SHA-256 of the logfile version chain (lib/mlog/mlog_user.c).
MLOG_LIBS  := -lisal -lcrypto
CTL_LIBS   := $(shell pkg-config --libs json-c yaml-0.1 2>/dev/null) $(STORE_LIBS) $(MLOG_LIBS)
# libbpf: map creation and pinning, skeletons, attaching marsctl top's program.
CTL_LIBS   += $(shell pkg-config --libs libbpf 2>/dev/null)
TEST_LIBS  := -lcmocka $(STORE_LIBS) $(MLOG_LIBS)

STORE_SRCS := $(wildcard userspace/store/*.c)
# The logfile decoder (also built into mars.ko) and its userspace half.
MLOG_SRCS  := lib/mlog/mlog.c lib/mlog/mlog_user.c
CTL_SRCS   := $(wildcard userspace/ctl/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BPF_SRCS   := $(wildcard bpf/*.bpf.c)

STORE_OBJS  := $(STORE_SRCS:%.c=$(BUILD)/obj/%.o)
CTL_OBJS    := $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
STORE_AOBJS := $(STORE_SRCS:%.c=$(BUILD)/obj-asan/%.o)
MLOG_OBJS   := $(MLOG_SRCS:%.c=$(BUILD)/obj/%.o)
MLOG_AOBJS  := $(MLOG_SRCS:%.c=$(BUILD)/obj-asan/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
UNIT_ABINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit-asan/%)
BPF_OBJS    := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
# Test tools run in the guest (crash tests): one C file each, no libraries.
TOOLS       := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all help deps kmod kmod-test bpf userspace check check-unit check-vm \
        check-harness demo bench killloop crashtest crashstates lint shellcheck checkpatch clang-check fuzz clean distclean

help:
	@echo 'make deps          install build/test packages, fetch the guest kernel (idempotent)'
	@echo 'make               build mars.ko, the BPF objects and marsctl'
	@echo 'make demo          deps + build + a guided tour of mars in the VM'
	@echo 'make check         deps + build + every test suite; ends with "N passed, N failed"'
	@echo 'make check-unit    host unit tests (plain and ASan/UBSan)'
	@echo 'make check-vm      the BATS suites in one VM boot'
	@echo 'make check-harness the harness self-test (boots several VMs)'
	@echo 'make lint          shellcheck, checkpatch, clang build of userspace'
	@echo 'make fuzz          longer fuzzing runs'
	@echo 'make killloop      kill -9 during store writes, 1000 times, then verify'
	@echo 'make crashtest     power cuts (QEMU killed) under a writer, N=20 cycles, then verify'
	@echo 'make crashstates   every dm-log-writes crash point of 40-crashstates.bats'
	@echo 'make bench         benchmarks in the VM ("bench: <name> <value> <unit>" lines)'
	@echo 'vm/run --shell     a shell in the test VM'

deps:
	scripts/deps

demo:
	@scripts/demo

all: kmod kmod-test bpf userspace

# --- kernel ---------------------------------------------------------------------------
kmod:
	@test -d "$(KDIR)" || { echo "no kernel headers at $(KDIR): run 'make deps'" >&2; exit 1; }
	$(KBUILD) M=$(TOP)/kmod modules
ifeq ($(KMOD_BTF),1)
	@scripts/kmod-btf $(KDIR) $(BTF_BASE) $(BUILD)/btf kmod/mars.ko
endif

kmod-test:
	@test -d "$(KDIR)" || { echo "no kernel headers at $(KDIR): run 'make deps'" >&2; exit 1; }
	$(KBUILD) M=$(TOP)/tests/kmod modules

# --- BPF ------------------------------------------------------------------------------
bpf: $(BPF_OBJS) $(BPF_SKELS)

# asm/types.h (from linux/types.h) lives in the multiarch include folder.
BPF_INC := -I/usr/include/$(shell gcc -dumpmachine 2>/dev/null)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/uapi/linux/*.h)
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude/uapi -Ibpf \
		$(BPF_INC) -c $< -o $@

# Skeletons embed the BPF objects in marsctl; generated here, never committed.
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	bpftool gen skeleton $< > $@.tmp && mv $@.tmp $@

$(CTL_OBJS): $(BPF_SKELS)
$(CTL_OBJS): CFLAGS += -I$(BUILD)/bpf -Ibpf

# --- userspace ------------------------------------------------------------------------
userspace: $(BUILD)/marsctl $(BUILD)/libmarsstore.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj-asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/libmarsstore.a: $(STORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libmarsstore-asan.a: $(STORE_AOBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/marsctl: $(CTL_OBJS) $(MLOG_OBJS) $(BUILD)/libmarsstore.a
	$(CC) $(CFLAGS) -o $@ $(CTL_OBJS) $(MLOG_OBJS) $(BUILD)/libmarsstore.a $(CTL_LIBS)

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libmarsstore.a $(MLOG_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(MLOG_OBJS) $(BUILD)/libmarsstore.a $(TEST_LIBS)

$(BUILD)/unit-asan/%: tests/unit/%.c $(BUILD)/libmarsstore-asan.a $(MLOG_AOBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< $(MLOG_AOBJS) $(BUILD)/libmarsstore-asan.a $(TEST_LIBS)

$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

userspace: $(TOOLS)

-include $(shell find $(BUILD)/obj $(BUILD)/obj-asan $(BUILD)/tools -name '*.d' 2>/dev/null)

# --- tests ----------------------------------------------------------------------------
# Every suite writes TAP into build/results/; tests/summarize adds them up.
check:
	@scripts/check

RESULTS ?= $(BUILD)/results

check-unit: $(UNIT_BINS) $(UNIT_ABINS)
	tests/run-unit $(RESULTS) $(UNIT_BINS) $(UNIT_ABINS)

check-vm: all
	tests/run-vm $(RESULTS)

check-harness: all
	tests/run-harness $(RESULTS)

# Crash tests (docs/testing.md, "Crash tests"); MARS_CRASH_PLAIN=1 runs them on a
# plain resource. Both end with "crashtest: cycles C, acked writes verified W, losses L".
N ?= 20
crashtest: all
	tests/host/powercut.sh $(N)

crashstates: all
	MARS_CRASH_POINTS=all MARS_VM_SUITE_TIMEOUT=$${MARS_VM_SUITE_TIMEOUT:-7200} \
		tests/run-vm $(RESULTS) tests/bats/40-crashstates.bats

# --- lint -----------------------------------------------------------------------------
SH_FILES := $(shell git ls-files -- '*.sh' '*.bash' '*.bats' vm/run vm/fetch-kernel \
            vm/mkinitramfs vm/guest-init vm/initramfs-init scripts tests/run-* \
            tests/summarize tests/bench/run tests/bench/store tests/bench/datapath \
            tests/bench/tracing tests/bench/logger tests/bench/blkmq scripts/check scripts/deps scripts/checkpatch scripts/demo .ci/run 2>/dev/null)

lint: shellcheck checkpatch clang-check

shellcheck:
	shellcheck -x -s bash $(SH_FILES)

# lib/mlog/mlog.[ch] are kernel code shared with userspace, hence C99 fixed-width types
# (kmod/mlog.c, a link to lib/mlog/mlog.c, is checked there).
checkpatch:
	scripts/checkpatch $(filter-out %.mod.c kmod/mlog.c,$(wildcard kmod/*.c kmod/*.h tests/kmod/*.c)) \
		include/uapi/linux/mars.h
	scripts/checkpatch --ignore PREFER_KERNEL_TYPES lib/mlog/mlog.c lib/mlog/mlog.h

clang-check:
	$(MAKE) -B CC=$(CLANG) BUILD=$(BUILD)/clang userspace $(BUILD)/clang/libmarsstore-asan.a \
		$(MLOG_SRCS:%.c=$(BUILD)/clang/obj-asan/%.o)

fuzz:
	tests/run-fuzz $(RESULTS) 300

# Benchmarks print "bench: <name> <value> <unit>" lines (ratios against a baseline
# measured in the same run); they assert nothing. Output also in build/bench.log.
bench: all
	@mkdir -p $(BUILD)
	vm/run --mem 3G --disk 1G --timeout 3600 -- tests/bench/run 2>&1 | tee $(BUILD)/bench.log

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C $(KDIR) M=$(TOP)/kmod clean >/dev/null 2>&1
	-$(MAKE) -C $(KDIR) M=$(TOP)/tests/kmod clean >/dev/null 2>&1

distclean: clean
	rm -rf .cache

# --- store benchmark helper, kill -9 loop ----------------------------------------------
$(BUILD)/bench/store_bench: tests/bench/store_bench.c $(BUILD)/libmarsstore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libmarsstore.a $(STORE_LIBS)

userspace: $(BUILD)/bench/store_bench

# kill -9 during a stream of store batches: every acknowledged batch survives, no
# partial batch (check runs 20 iterations through tests/host/store-killloop.bats).
killloop: userspace
	tests/host/store-killloop.sh 1000
