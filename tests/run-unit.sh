#!/usr/bin/env bash
# Runs cmocka test binaries; prints a line per binary and a total.
# Writes "PASSED FAILED" to $RESULT_FILE when set (used by run-all.sh).
set -u
pass=0; fail=0; bad=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}; f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f))
	printf '  %-40s %4d passed %4d failed\n' "$(basename "$t")" "$p" "$f"
	if [ "$f" != 0 ]; then bad="$bad $t"; printf '%s\n' "$out" | grep -E 'FAILED|ERROR|error|Failure|fail' | head -40 | sed 's/^/    /'; fi
done
echo "unit: $pass passed, $fail failed"
[ -n "${RESULT_FILE:-}" ] && echo "$pass $fail" > "$RESULT_FILE"
[ "$fail" = 0 ]
