#!/usr/bin/env bash
# Cost of the socket hooks (issue 4): connect() latency and new-connection
# rate of a process in a hooked cgroup, against the same process with no
# hooks, with 10 and with 10 000 application rules (the app's own rule
# last).  TCP to a listener on lo in a test namespace (lo has no XDP/tc:
# only the hooks are measured).  Prints one table with the ratios.
set -u
RP_ID=${RP_ID:-bh$$}
. "$(dirname "$0")/../kernel/lib.sh"
. "$(dirname "$0")/../kernel/traffic_lib.sh"
. "$(dirname "$0")/../kernel/app_lib.sh"
rp_setup
rp_child_cgroup bench
app_copy bench-app
N=${BENCH_CONNECTS:-3000}
cat > "$RP_TMP/bench.py" <<'PY'
import socket, sys, time
n = int(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(4096); port = srv.getsockname()[1]
lat = []
t0 = time.perf_counter()
for i in range(n):
    s = socket.socket()
    a = time.perf_counter()
    s.connect(("127.0.0.1", port))
    lat.append(time.perf_counter() - a)
    c, _ = srv.accept(); c.close(); s.close()
total = time.perf_counter() - t0
lat.sort()
print("%.2f %.2f %.0f" % (lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6, n / total))
PY
run() { in_cg "$RP_CG/bench" "$RP_TMP/bench-app" "$RP_TMP/bench.py" "$N"; }
policy() { # N_RULES
	{ echo "table root default deny {"; echo "    allow on lo"
	  for i in $(seq $(($1 - 1))); do echo "    allow app /opt/bench/app-$i proto tcp remote port $i"; done
	  echo "    allow app $RP_TMP/bench-app"; echo "}"; } > "$RP_TMP/p$1.rules"
}
policy 10
policy 10000
# Rounds of none / 10 / 10 000 so that a slow moment of the machine hits
# every configuration alike; each figure is the median over the rounds.
ROUNDS=${BENCH_ROUNDS:-3}
: > "$RP_TMP/none"; : > "$RP_TMP/r10"; : > "$RP_TMP/r10k"
for _ in $(seq "$ROUNDS"); do
	in_a "$RAMPART" unload --pin-dir "$RP_PIN" >/dev/null 2>&1
	run >> "$RP_TMP/none"
	rp_apply "$RP_TMP/p10.rules" --iface "$RP_IF_A" --cgroup "$RP_CG" >/dev/null 2>&1 || fail "apply 10"
	run >> "$RP_TMP/r10"
	rp_apply "$RP_TMP/p10000.rules" --iface "$RP_IF_A" --cgroup "$RP_CG" >/dev/null 2>&1 || fail "apply 10000"
	run >> "$RP_TMP/r10k"
done
median() { # FILE -> "p50 p99 rate", each the median over the rounds
	python3 -c 'import sys,statistics as s; rows=[list(map(float,l.split())) for l in open(sys.argv[1]) if l.strip()]; print(" ".join("%.2f" % s.median(c) for c in zip(*rows)))' "$1"
}
base=$(median "$RP_TMP/none"); r10=$(median "$RP_TMP/r10"); r10k=$(median "$RP_TMP/r10k")
echo "TCP connect() to a listener on lo, $N connects per round, median of $ROUNDS rounds"
printf '%-22s %12s %12s %14s %10s %10s\n' "socket hooks" "connect p50" "connect p99" "new conn/s" "p50 ratio" "rate ratio"
line() {
	set -- "$1" $2
	python3 -c 'import sys; n,p50,p99,rate,b50,brate=sys.argv[1],*map(float,sys.argv[2:]); print("%-22s %9.1f us %9.1f us %14.0f %10.2f %10.2f" % (n,p50,p99,rate,p50/b50,rate/brate))' "$1" "$2" "$3" "$4" ${base% * *} ${base##* }
}
line "none" "$base"
line "10 app rules" "$r10"
line "10000 app rules" "$r10k"
