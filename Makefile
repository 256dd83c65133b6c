# rampart build.
#
#   make            build ./rampart; never installs anything (the packages
#                   of `make deps` must be there)
#   make deps       install the Debian packages rampart needs (as root)
#   make test       deps, then every test: unit, end-to-end, kernel (root)
#   make demo       deps, then the live demo; make bench, make fuzz likewise
#   make check      formatting (.clang-format) and warnings as errors
#   make vmlinux    regenerate vmlinux.h from the running kernel's BTF
#   make install    install the binary, the units, the man pages, the completion
#   make deb        the Debian package; make package-test tests it (lintian,
#                   install/upgrade/remove in a throw-away root, a systemd boot)
#
# WERROR=1 turns warnings into errors (CI does).  See docs/hacking.md.

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
CLANG_FORMAT ?= clang-format
B       := build

# The BPF target architecture (bpf_tracing.h's PT_REGS etc.): the host's.
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/mips.*/mips/' -e 's/arm.*/arm/' \
	-e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/' -e 's/s390x/s390/')

WERROR  ?= 0
CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
           -Iinclude -Ipolicy -I$(B)
BPF_CFLAGS := -target bpf -g -O2 -Wall -Wno-unused-function -D__TARGET_ARCH_$(ARCH) \
              -I. -Iinclude -I$(B)
ifeq ($(WERROR),1)
CFLAGS     += -Werror
BPF_CFLAGS += -Werror
endif
LIBS    := -lbpf -lelf -lz -lmnl -lmicrohttpd

POLICY_SRC := $(wildcard policy/*.c)
POLICY_OBJ := $(POLICY_SRC:%.c=$(B)/%.o)
LOADER_SRC := $(wildcard loader/*.c)
LOADER_OBJ := $(LOADER_SRC:%.c=$(B)/%.o)
LOADER_LIB_OBJ := $(filter-out $(B)/loader/main.o,$(LOADER_OBJ))
BPF_SRC    := $(wildcard bpf/*.bpf.c)
SKELS      := $(BPF_SRC:bpf/%.bpf.c=$(B)/%.skel.h)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/%.o)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
E2E_BIN    := $(patsubst tests/e2e/%.c,$(B)/e2e/%,$(wildcard tests/e2e/test_*.c))
KTEST_BIN  := $(patsubst tests/kernel/%.c,$(B)/ktests/%,$(wildcard tests/kernel/test_*.c))
BENCH_BIN  := $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/*.c))
HDRS       := $(wildcard include/*.h policy/*.h loader/*.h tests/lib/*.h tests/bench/*.h)
C_SOURCES  := $(wildcard include/*.h policy/*.[ch] loader/*.[ch] bpf/*.[ch] tests/*/*.[ch])

# keep BPF objects and skeletons (make would delete them as intermediates)
.SECONDARY:

.PHONY: all deps test stress demo bench fuzz check check-build format vmlinux clean install install-files deb package-test

all: rampart

deps:
	@bash tests/deps.sh

rampart: $(B)/rampart
	ln -sf $(B)/rampart rampart

# ---------- BPF objects and their skeletons ----------

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(HDRS) vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# vmlinux.h is committed (a build host needs no BTF); this regenerates it.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp && mv vmlinux.h.tmp vmlinux.h

# ---------- user space ----------

$(B)/policy/%.o: policy/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/loader/%.o: loader/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/libpolicy.a: $(POLICY_OBJ)
	ar rcs $@ $^

$(B)/libloader.a: $(LOADER_LIB_OBJ)
	ar rcs $@ $^

$(B)/rampart: $(B)/loader/main.o $(B)/libloader.a $(B)/libpolicy.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---------- tests ----------

TEST_LIBS := $(B)/libtest.a $(B)/libloader.a $(B)/libpolicy.a $(LIBS)

$(B)/tests/lib/%.o: tests/lib/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -c $< -o $@

$(B)/libtest.a: $(TESTLIB_OBJ)
	ar rcs $@ $^

# unit tests (cmocka): policy/ and the loader's pure parts
$(B)/tests/%: tests/unit/%.c $(B)/libtest.a $(B)/libloader.a $(B)/libpolicy.a $(HDRS) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/lib -Iloader -o $@ $< $(TEST_LIBS) -lcmocka

# end-to-end tests: the built binary as a user runs it
$(B)/e2e/%: tests/e2e/%.c $(B)/libtest.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(B)/libtest.a -lcmocka

# kernel tests (BPF_PROG_TEST_RUN etc.): the loader library and skeletons
$(B)/ktests/%: tests/kernel/%.c $(B)/libtest.a $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/lib -Iloader -o $@ $< $(TEST_LIBS) -lcmocka

# benchmarks (make bench): like the kernel tests, without cmocka
$(B)/bench/%: tests/bench/%.c $(B)/libtest.a $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -Iloader -o $@ $< $(TEST_LIBS)

test: deps
	@$(MAKE) --no-print-directory rampart $(UNIT_BIN) $(E2E_BIN) $(KTEST_BIN)
	@bash tests/run-all.sh

# the long floods and the 50 killed applies of docs/datapath.md "Under attack" (make test runs short ones)
stress: deps
	@$(MAKE) --no-print-directory rampart
	@RP_FLOOD_SECONDS=20 RP_APPLY_KILLS=50 RP_SCRIPT_TIMEOUT=1800 bash tests/run-kernel.sh --scripts tests/kernel/t_ct_flood.sh \
		tests/kernel/t_apply_kill.sh

demo: deps
	@$(MAKE) --no-print-directory rampart
	@bash tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory rampart $(BENCH_BIN)
	@bash tests/bench.sh

fuzz: deps
	@bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

# ---------- style ----------

# format: every C file as .clang-format says; warnings: everything built
# afresh with -Werror (in $(B)/check, so no object escapes the compiler)
check:
	$(CLANG_FORMAT) --dry-run --Werror $(C_SOURCES)
	@$(MAKE) --no-print-directory B=$(B)/check WERROR=1 check-build

check-build: $(B)/rampart $(UNIT_BIN) $(E2E_BIN) $(KTEST_BIN) $(BENCH_BIN)

format:
	$(CLANG_FORMAT) -i $(C_SOURCES)

# ---------- install ----------

# Installation paths (make install PREFIX=/usr for a distribution package).
# The shipped default policy always goes to /usr/share/rampart: that is
# where `rampart reset` looks (loader/cmd_reset.c).
PREFIX        ?= /usr/local
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/rampart
UNITDIR       ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

install: deps
	@$(MAKE) --no-print-directory install-files

# everything `make install` puts in place, without the dependency check
# (debian/rules calls this)
install-files: $(B)/rampart
	install -D -m 0755 $(B)/rampart $(DESTDIR)$(SBINDIR)/rampart
	install -D -m 0644 policy/default.rules $(DESTDIR)/usr/share/rampart/default.rules
	# the units name the binary and the documents where this install put them
	for u in dist/*.service; do \
		install -d $(DESTDIR)$(UNITDIR) && \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/usr/local/share/doc/rampart/|$(DOCDIR)/|g' \
			$$u > $(DESTDIR)$(UNITDIR)/$${u#dist/} && chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#dist/} || exit 1; \
	done
	install -D -m 0644 docs/man/rampart.8 $(DESTDIR)$(MANDIR)/man8/rampart.8
	install -D -m 0644 docs/man/rampart.rules.5 $(DESTDIR)$(MANDIR)/man5/rampart.rules.5
	install -D -m 0644 dist/bash-completion/rampart $(DESTDIR)$(COMPLETIONDIR)/rampart
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 docs/operations.md docs/policy.md docs/cli.md docs/kubernetes.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 policy/examples/*.rules $(DESTDIR)$(DOCDIR)/examples/
	# the active policy: a sample on first install, never overwritten
	[ -e $(DESTDIR)/etc/rampart/policy.rules ] || \
		install -D -m 0644 policy/default.rules $(DESTDIR)/etc/rampart/policy.rules

# The Debian package (dist/debian), built with dpkg-buildpackage from a copy
# of the source tree: build/deb/rampart_VERSION_ARCH.deb.
deb: deps
	@bash tests/deps.sh package
	@bash dist/debian/build-deb.sh

# Builds the package, runs lintian, and installs, checks, upgrades and
# removes it in a throw-away Debian root (tests/package/).
package-test: deb
	@bash tests/package/run.sh

clean:
	rm -rf $(B) rampart
