# rampart build.  `make` builds everything, `make test` runs all tests,
# `make demo` runs the demo, `make bench` the benchmarks, `make fuzz` the fuzzer,
# `make install` installs, `make deb` builds the Debian package and
# `make package-test` tests it (lintian, install/check/remove in a chroot).
# Missing Debian packages are installed by `make deps` (run by the others).

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
B       := build

CFLAGS  ?= -O2 -g
CFLAGS  += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
           -Iinclude -Ipolicy -I$(B)
LDLIBS  := -lbpf -lelf -lz -lmnl -lmicrohttpd
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

.PHONY: all deps test unit-test kernel-test demo bench fuzz clean install install-files deb package-test

all: deps rampart

deps:
	@bash tests/deps.sh

vmlinux.h:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(B)/libpolicy.a: $(POLICY_OBJ)
	ar rcs $@ $^

$(B)/policy/%.o: policy/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(HDRS) vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(B)/loader/%.o: loader/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/rampart: $(LOADER_OBJ) $(B)/libpolicy.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LOADER_OBJ) $(B)/libpolicy.a $(LDLIBS)

rampart: $(B)/rampart $(KTEST_BIN)
	ln -sf $(B)/rampart rampart

$(B)/libloader.a: $(LOADER_LIB_OBJ)
	ar rcs $@ $^

# Kernel tests (BPF_PROG_TEST_RUN etc.): may use the loader library and skeletons.
$(B)/ktests/%: tests/kernel/%.c $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS) $(wildcard tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iloader -o $@ $< $(B)/libloader.a $(B)/libpolicy.a $(LDLIBS) -lcmocka

# Benchmarks (make bench): like the kernel tests, without cmocka.
$(B)/bench/%: tests/bench/%.c $(B)/libloader.a $(B)/libpolicy.a $(HDRS) $(SKELS) $(wildcard tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iloader -o $@ $< $(B)/libloader.a $(B)/libpolicy.a $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libpolicy.a $(HDRS) tests/unit/testutil.h $(wildcard tests/bench/*.h)
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
	install -m 0644 docs/operations.md docs/policy.md docs/kubernetes.md $(DESTDIR)$(DOCDIR)/
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
