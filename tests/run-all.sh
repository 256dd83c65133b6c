#!/usr/bin/env bash
# `make test`: unit tests (cmocka), then, as root, the kernel tests
# (cmocka binaries in build/ktests and tests/kernel/t_*.sh).  Ends with one
# "N passed, N failed" line over everything.
set -u
cd "$(dirname "$0")/.."
tot_p=0; tot_f=0
res=$(mktemp); trap 'rm -f "$res"' EXIT
echo "== unit tests"
RESULT_FILE=$res bash tests/run-unit.sh "$@"
read -r p f < "$res"; tot_p=$((tot_p+p)); tot_f=$((tot_f+f))
echo "== documentation and command-line tests"
echo "0 0" > "$res"
RESULT_FILE=$res bash tests/run-kernel.sh --scripts tests/docs/t_*.sh
read -r p f < "$res"; tot_p=$((tot_p+p)); tot_f=$((tot_f+f))
if [ "$(id -u)" = 0 ]; then
	if ls build/ktests/test_* >/dev/null 2>&1; then
		echo "== kernel tests (BPF_PROG_TEST_RUN)"
		echo "0 0" > "$res"
		RESULT_FILE=$res bash tests/run-unit.sh build/ktests/test_*
		read -r p f < "$res"; tot_p=$((tot_p+p)); tot_f=$((tot_f+f))
	fi
	echo "== kernel tests (namespaces, real traffic)"
	echo "0 0" > "$res"
	RESULT_FILE=$res bash tests/run-kernel.sh
	read -r p f < "$res"; tot_p=$((tot_p+p)); tot_f=$((tot_f+f))
else
	echo "== kernel tests skipped: not root"
fi
echo
echo "total: $tot_p passed, $tot_f failed"
[ "$tot_f" = 0 ]
