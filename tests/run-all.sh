#!/usr/bin/env bash
# `make test`: unit tests (cmocka), end-to-end tests of the built binary,
# then, as root, the kernel tests (cmocka binaries in build/ktests and
# tests/kernel/t_*.sh).  Ends with one "N passed, N failed" line over
# everything.
set -u
cd "$(dirname "$0")/.."
tot_p=0; tot_f=0
res=$(mktemp); trap 'rm -f "$res"' EXIT
# section TITLE RUNNER [ARGS]: runs one group, adds its figures to the total
section() {
	echo "== $1"; shift
	echo "0 0" > "$res"
	RESULT_FILE=$res bash "$@"
	read -r p f < "$res"; tot_p=$((tot_p+p)); tot_f=$((tot_f+f))
}
section "unit tests" tests/run-unit.sh build/tests/test_*
section "documentation and command-line tests" tests/run-kernel.sh --scripts tests/docs/t_*.sh
if ls build/e2e/test_* >/dev/null 2>&1; then
	section "end-to-end tests (the rampart binary)" tests/run-unit.sh build/e2e/test_*
fi
if [ "$(id -u)" = 0 ]; then
	if ls build/ktests/test_* >/dev/null 2>&1; then
		section "kernel tests (BPF_PROG_TEST_RUN)" tests/run-unit.sh build/ktests/test_*
	fi
	section "kernel tests (namespaces, real traffic)" tests/run-kernel.sh
else
	echo "== kernel tests skipped: not root"
fi
echo
echo "total: $tot_p passed, $tot_f failed"
[ "$tot_f" = 0 ]
