# Helpers for the socket-hook tests (t_app_*.sh; source after lib.sh and
# traffic_lib.sh).  Applications are copies of python3 running app.py, each
# copy a distinct executable (its own inode), started inside a child cgroup
# of the test's cgroup in the protected namespace.

# app.py as the applications run it: a copy in $RP_TMP (made by app_copy),
# which every user can read; the checkout may be private (say under a 0700
# home directory) and some tests run an application as another user.
RP_APP_PY=

# The real python3 executable (not a wrapper script such as a pyenv shim).
RP_PYTHON=$(readlink -f /usr/bin/python3 2>/dev/null)
[ -x "$RP_PYTHON" ] || RP_PYTHON=$(python3 -c 'import sys; print(sys.executable)')

# app_copy NAME [FILE]: $RP_TMP/NAME, a copy of FILE (default python3);
# the first call also copies app.py (and serve.py, which it imports) and
# lets every user into $RP_TMP.
app_copy() {
	if [ -z "$RP_APP_PY" ]; then
		chmod 755 "$RP_TMP"
		RP_APP_PY=$RP_TMP/app.py
		install -m 644 "$RP_ROOT/tests/kernel/app.py" "$RP_ROOT/tests/kernel/serve.py" "$RP_TMP/" ||
			fail "cannot copy app.py"
	fi
	cp "$(readlink -f "${2:-$RP_PYTHON}")" "$RP_TMP/$1" || fail "cannot copy ${2:-python3}"
	chmod 755 "$RP_TMP/$1"
}

# in_cg CGROUP CMD...: CMD in the protected namespace, inside CGROUP (a
# directory under $RP_CG): the shell moves itself in, then execs CMD.
in_cg() {
	local cg=$1; shift
	in_a sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@"
}

# app_run CGROUP APP ARGS...: app.py run by the copy $RP_TMP/APP in CGROUP.
app_run() {
	local cg=$1 app=$2; shift 2
	in_cg "$cg" timeout 10 "$RP_TMP/$app" "$RP_APP_PY" "$@" 2>/dev/null
}

# app_expect WANT CGROUP APP ARGS...: asserts app.py's first word; an
# error (eperm, refused) must come at once, not after a timeout.
app_expect() {
	local want=$1 cg=$2 app=$3; shift 3
	local out; out=$(app_run "$cg" "$app" "$@")
	local got=${out%% *} ms=${out#* }
	[ "$got" = "$want" ] || fail "$app in ${cg#$RP_CG/} $* : expected $want, got '$out'"
	case $want in eperm|refused)
		[ "$ms" -lt 500 ] || fail "$app $*: $want only after $ms ms (must fail at once)";;
	esac
	ok "$app (cgroup ${cg#$RP_CG/}) $* -> $got${ms:+ ($ms ms)}"
}

# app_serve CGROUP APP PROTO PORT [SECONDS]: app.py serve in the background;
# waits until it listens (or fails: prints its error and returns 1).
app_serve() {
	local cg=$1 app=$2 proto=$3 port=$4 secs=${5:-40}
	local log=$RP_TMP/serve-$app-$port.log
	# not through a function: $! must be the process itself (nsenter execs
	# sh, which execs timeout), so that the cleanup's kill reaches it
	nsenter --net=/run/netns/$RP_NS_A sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
		timeout $((secs + 5)) "$RP_TMP/$app" "$RP_APP_PY" serve "$proto" "$port" "$secs" >"$log" 2>/dev/null &
	RP_BG_PIDS="$RP_BG_PIDS $!"
	for _ in $(seq 50); do
		[ -s "$log" ] && break
		sleep 0.1
	done
	cat "$log"
	[ "$(head -1 "$log")" = listening ]
}
