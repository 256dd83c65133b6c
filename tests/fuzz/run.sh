#!/usr/bin/env bash
# Fuzzes the policy front end (tests/fuzz/fuzz_parser.c) with libFuzzer.
# Usage: tests/fuzz/run.sh [SECONDS]  (default 60).  Exits non-zero on a
# crash, sanitizer report, leak or timeout; the input is left in
# build/fuzz/artifacts/.
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/../.."
out="$PWD/build/fuzz"  # absolute: the target changes directory
mkdir -p "$out/corpus" "$out/artifacts"

echo "fuzz: building $out/fuzz_parser"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -D_GNU_SOURCE -Iinclude -Ipolicy \
	policy/*.c tests/fuzz/fuzz_parser.c -o "$out/fuzz_parser"

# Seeds: ours, the shipped examples and the default policy.
cp tests/fuzz/corpus/* "$out/corpus/"
for f in policy/examples/*.rules policy/default.rules; do
	[ -f "$f" ] && cp "$f" "$out/corpus/"
done

echo "fuzz: running for ${secs}s"
rc=0
"$out/fuzz_parser" -max_total_time="$secs" -max_len=8192 -timeout=10 \
	-dict="$PWD/tests/fuzz/policy.dict" -artifact_prefix="$out/artifacts/" \
	-print_final_stats=1 "$out/corpus" </dev/null || rc=$?
if [ "$rc" != 0 ]; then
	echo "fuzz: FAILED (exit $rc); reproduce with: $out/fuzz_parser $out/artifacts/<file>" >&2
	exit 1
fi
echo "fuzz: no crash in ${secs}s"

# The kernel/interpreter differential test (tests/kernel/test_differential.c),
# scaled up: needs root for BPF_PROG_TEST_RUN.
if [ "$(id -u)" = 0 ]; then
	cases=${RAMPART_DIFF_CASES:-30000}
	make -s build/ktests/test_differential
	echo "fuzz: differential test, $cases random policy x packet cases"
	if ! RAMPART_DIFF_CASES=$cases build/ktests/test_differential; then
		echo "fuzz: differential test FAILED (the seed is printed above)" >&2
		exit 1
	fi
else
	echo "fuzz: not root, differential test skipped"
fi
