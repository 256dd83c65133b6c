#!/usr/bin/env bash
# Runs the kernel tests: every tests/kernel/t_*.sh (exit 0 pass, 77 skip,
# anything else fail), each in its own namespaces and pin dir.
# `run-kernel.sh --scripts T...` runs the test scripts T the same way, as
# any user (they skip themselves with 77 when they need more).
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; skip=0
scripts=(tests/kernel/t_*.sh) label=kernel
if [ "${1:-}" = --scripts ]; then
	shift
	scripts=("$@") label=scripts
elif [ "$(id -u)" != 0 ]; then
	echo "kernel: not root, kernel tests skipped (run make test as root)"
	[ -n "${RESULT_FILE:-}" ] && echo "0 0" > "$RESULT_FILE"
	exit 0
fi
for t in "${scripts[@]}"; do
	[ -e "$t" ] || continue
	log=$(mktemp)
	start=$(date +%s)
	timeout "${RP_SCRIPT_TIMEOUT:-600}" bash "$t" >"$log" 2>&1; rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass+1)); printf '  %-40s ok (%ss)\n' "$(basename "$t")" "$secs" ;;
	77) skip=$((skip+1)); printf '  %-40s skipped: %s\n' "$(basename "$t")" "$(tail -1 "$log")" ;;
	*) fail=$((fail+1)); printf '  %-40s FAILED (rc %s, %ss)\n' "$(basename "$t")" "$rc" "$secs"; tail -40 "$log" | sed 's/^/    /' ;;
	esac
	rm -f "$log"
done
echo "$label: $pass passed, $fail failed, $skip skipped"
[ -n "${RESULT_FILE:-}" ] && echo "$pass $fail" > "$RESULT_FILE"
[ "$fail" = 0 ]
