#!/usr/bin/env bash
# Randomized differential test of the socket hooks against the reference
# interpreter (issue 4: "the kernel's verdict for any event equals the
# reference interpreter's").  Random policies over applications (three
# copies of python3 and a copy that never runs), cgroups (siblings s1, s2,
# s2/inner and their parent, the test's cgroup), users (root, uid 4242),
# events, protocols, ports and addresses (the peer's, and documentation
# addresses with no host), with allow/deny/reject/ask, continue, jump and
# table defaults; each applied with --iface and --cgroup on the test's
# cgroup.  Random socket actions (socket creation; TCP/UDP connect; UDP
# sendto; bind/listen) run as a chosen application in a chosen cgroup as a
# chosen user; the outcome (success, EPERM, ECONNREFUSED, and ENETUNREACH
# for an allowed call to an address with no route) must be what
# `rampart explain --json` gives for the events the hooks judge: the
# network event at socket creation, then connect/send/listen.  Peer
# listeners answer on every port of the pool, so an allowed call succeeds.
#
#   RAMPART_APPDIFF_POLICIES  number of policies (default 15)
#   RAMPART_APPDIFF_ACTIONS   actions per policy (default 20)
#   RAMPART_APPDIFF_SEED      seed to replay a run (printed at the start)
set -u
RP_ID=${RP_ID:-ad$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
[ -x "$RAMPART" ] || { echo "build/rampart not built"; exit 77; }
command -v setpriv >/dev/null || { echo "setpriv not installed"; exit 77; }
rp_setup
rp_child_cgroup s1
mkdir -p "$RP_CG/s2/inner"
app_copy app-a; app_copy app-b; app_copy app-c; app_copy app-idle
install -m 644 "$RP_ROOT/tests/kernel/app_diff.py" "$RP_TMP/app_diff.py"   # uid 4242 runs it too
CGREL=${RP_CG#$(rp_cgroup2_mount)}

POLICIES=${RAMPART_APPDIFF_POLICIES:-15}
ACTIONS=${RAMPART_APPDIFF_ACTIONS:-20}
SEED=${RAMPART_APPDIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $SEED: $POLICIES policies x $ACTIONS actions (replay: RAMPART_APPDIFF_SEED=$SEED)"

# the peer answers on every port of the pool, TCP and UDP, v4 and v6
for p in 7001 7002 7003; do
	listen in_b tcp $p 600
	listen in_b udp $p 600
done

# a case the random runs found: a UDP socket of AF_INET6 connected to a
# v4-mapped peer is judged once, at connect(); the kernel runs the sendmsg4
# hook for each of its send()s, which must not be judged as new `send` events
cat > "$RP_TMP/mapped.rules" <<P
table root default deny {
    allow event { network, connect, listen }
    deny event send
}
P
out=$(rp_apply "$RP_TMP/mapped.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
act() { in_cg "$RP_CG/s1" timeout 10 "$RP_TMP/app-a" -S "$RP_TMP/app_diff.py" act "$@"; }
for args in "connect udp ::ffff:192.0.2.2 7001" "connect udp ::ffff:192.0.2.2 7001 from :: 7002" \
	"connect udp 192.0.2.2 7001" "connect udp 2001:db8::2 7001"; do
	out=$(act $args)
	case $out in *'"stage": "call", "res": "ok"'*) ok "$args: connected and answered";;
	*) fail "$args (send event denied, connect allowed): $out";; esac
done
for h in ::ffff:192.0.2.2 192.0.2.2 2001:db8::2; do
	out=$(act sendto $h 7001)
	case $out in *'"stage": "call", "res": "eperm"'*) ok "sendto $h: denied as a send event";;
	*) fail "sendto $h (send events denied): $out";; esac
done

timeout 500 python3 "$RP_TMP/app_diff.py" drive --rampart "$RAMPART" --pin "$RP_PIN" \
	--ns "$RP_NS_A" --iface "$RP_IF_A" --cg "$RP_CG" --cgrel "$CGREL" --tmp "$RP_TMP" \
	--apps app-a,app-b,app-c --idle "$RP_TMP/app-idle" \
	--policies "$POLICIES" --actions "$ACTIONS" --seed "$SEED"
rc=$?
[ $rc = 0 ] || fail "differential test failed (rc $rc; replay with RAMPART_APPDIFF_SEED=$SEED)"
# the hooks stayed on the test's cgroup, never the root
bpftool cgroup show "$(rp_cgroup2_mount)" | grep -q rp_connect4 && fail "hooks attached to the cgroup2 root"
echo PASS
