#!/bin/bash
# `make bench`: per-packet cost of the datapath next to an empty XDP program
# and xdp-tools' xdp-filter, new-flow cost at 10 .. 100 000 rules, apply time
# and map memory, ClassBench-style policies (apply, peak memory, check, new
# flows) and the targets of issue 12 (tests/bench/bench_datapath.c), then
# the cost of the socket hooks on connect() (tests/bench/bench_hooks.sh).  Results: docs/performance.md.
# Needs root for BPF_PROG_TEST_RUN.  Attaches nothing, pins nothing: the
# bench runs in its own network namespace and its programs and maps go away
# when it exits.  BENCH_ARGS passes options (e.g. "--repeat 200000 --runs 5",
# "--sizes 10,1000", "--classbench 0").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "make bench: needs root (BPF_PROG_TEST_RUN); run it with sudo" >&2
	exit 1
fi
echo "command: build/bench/bench_datapath ${BENCH_ARGS:-}"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
build/bench/bench_datapath ${BENCH_ARGS:-}
echo
echo "command: tests/bench/bench_hooks.sh (BENCH_CONNECTS=${BENCH_CONNECTS:-3000})"
bash tests/bench/bench_hooks.sh
echo
echo "command: tests/bench/bench_bulk.sh (BENCH_SECONDS=${BENCH_SECONDS:-4}, BENCH_ROUNDS=${BENCH_ROUNDS:-2})"
bash tests/bench/bench_bulk.sh
