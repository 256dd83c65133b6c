# rampart build.  `make` builds everything, `make test` runs all tests,
# `make demo` runs the demo, `make bench` the benchmarks, `make fuzz` the fuzzer.
# Missing Debian packages are installed by `make deps` (run by the others).

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
B       := build

CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
           -Iinclude -Ipolicy -I$(B)
BPF_CFLAGS := -target bpf -g -O2 -Wall -Wno-unused-function -D__TARGET_ARCH_x86 \
              -I. -Iinclude -I$(B)

POLICY_SRC := $(wildcard policy/*.c)
POLICY_OBJ := $(POLICY_SRC:%.c=$(B)/%.o)
LOADER_SRC := $(wildcard loader/*.c)
LOADER_OBJ := $(LOADER_SRC:%.c=$(B)/%.o)
BPF_SRC    := $(wildcard bpf/*.bpf.c)
BPF_OBJ    := $(BPF_SRC:bpf/%.bpf.c=$(B)/bpf/%.bpf.o)
SKELS      := $(BPF_SRC:bpf/%.bpf.c=$(B)/%.skel.h)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
KTEST_SRC  := $(wildcard tests/kernel/test_*.c)
KTEST_BIN  := $(KTEST_SRC:tests/kernel/%.c=$(B)/ktests/%)
BENCH_SRC  := $(wildcard tests/bench/*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
LOADER_LIB_OBJ := $(filter-out $(B)/loader/main.o,$(LOADER_OBJ))
HDRS       := $(wildcard include/*.h policy/*.h loader/*.h)

# keep BPF objects and skeletons (make would delete them as intermediates)
.SECONDARY:

.PHONY: all deps test unit-test kernel-test demo bench fuzz clean install

all: deps rampart

deps:
	@bash tests/deps.sh

vmlinux.h:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(B)/libpolicy.a: $(POLICY_OBJ)
	ar rcs $@ $^

$(B)/policy/%.o: policy/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(HDRS) vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(B)/loader/%.o: loader/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/rampart: $(LOADER_OBJ) $(B)/libpolicy.a
	$(CC) $(CFLAGS) -o $@ $(LOADER_OBJ) $(B)/libpolicy.a -lbpf -lelf -lz

rampart: $(B)/rampart $(KTEST_BIN)
	ln -sf $(B)/rampart rampart

$(B)/libloader.a: $(LOADER_LIB_OBJ)
	ar rcs $@ $^

# Kernel tests (BPF_PROG_TEST_RUN etc.): may use the loader library and skeletons.
$(B)/ktests/%: tests/kernel/%.c $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS) $(wildcard tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iloader -o $@ $< $(B)/libloader.a $(B)/libpolicy.a -lbpf -lelf -lz -lcmocka

# Benchmarks (make bench): like the kernel tests, without cmocka.
$(B)/bench/%: tests/bench/%.c $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS) $(wildcard tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iloader -o $@ $< $(B)/libloader.a $(B)/libpolicy.a -lbpf -lelf -lz

$(B)/tests/%: tests/unit/%.c $(B)/libpolicy.a $(HDRS) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libpolicy.a -lcmocka

unit-test: deps $(UNIT_BIN) rampart
	@bash tests/run-unit.sh $(UNIT_BIN)

kernel-test: deps rampart
	@bash tests/run-kernel.sh

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@bash tests/run-all.sh $(UNIT_BIN)

demo: all
	@bash tests/demo.sh

bench: all $(BENCH_BIN)
	@bash tests/bench.sh

fuzz: deps
	@bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

install: all
	install -D -m 0755 $(B)/rampart $(DESTDIR)/usr/local/sbin/rampart
	install -D -m 0644 policy/default.rules $(DESTDIR)/usr/share/rampart/default.rules
	for u in dist/*.service; do install -D -m 0644 $$u $(DESTDIR)/usr/local/lib/systemd/system/$${u#dist/}; done
	install -D -m 0644 docs/operations.md $(DESTDIR)/usr/local/share/doc/rampart/operations.md
	# the active policy: a sample on first install, never overwritten
	[ -e $(DESTDIR)/etc/rampart/policy.rules ] || \
		install -D -m 0644 policy/default.rules $(DESTDIR)/etc/rampart/policy.rules

clean:
	rm -rf $(B) rampart
