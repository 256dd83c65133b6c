#!/usr/bin/env bash
# Bulk TCP into a protected veth (iperf3, one stream): the everyday case of a
# container host.  Measured in one run for: no firewall, nftables with
# `ct state established accept` (input hook), rampart as it attaches by
# default (tc ingress on a veth) and rampart with `option ingress-hook xdp`
# (native XDP on the veth); both directions (into the protected side, out of
# it).  Prints Gbit/s and the ratio to nftables.  BENCH_SECONDS (default 4),
# BENCH_ROUNDS (default 2, the best round counts).
set -u
RP_ID=bb$$
cd "$(dirname "$0")/../.."
. tests/kernel/lib.sh
. tests/kernel/traffic_lib.sh
rp_setup
command -v iperf3 >/dev/null || { echo "iperf3 not installed (apt-get install iperf3)"; exit 1; }
SECS=${BENCH_SECONDS:-4} ROUNDS=${BENCH_ROUNDS:-2}
# in the foreground of rp_bg, so that the cleanup kills exactly these two
rp_bg in_a iperf3 -s -p 5201 >/dev/null 2>&1
rp_bg in_b iperf3 -s -p 5202 >/dev/null 2>&1
sleep 0.5
cat > "$RP_TMP/tc.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 5201
}
P
{ echo 'option ingress-hook xdp'; cat "$RP_TMP/tc.rules"; } > "$RP_TMP/xdp.rules"

# gbps DIR: the best of ROUNDS iperf3 runs, in (peer -> protected) or out
gbps() {
	local best=0 r
	for _ in $(seq "$ROUNDS"); do
		if [ "$1" = in ]; then
			r=$(in_b iperf3 -c $RP_A4 -p 5201 -t "$SECS" -J 2>/dev/null)
		else
			r=$(in_a iperf3 -c $RP_B4 -p 5202 -t "$SECS" -J 2>/dev/null)
		fi
		r=$(echo "$r" | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null || echo 0)
		best=$(python3 -c "print(max($best, $r))")
	done
	echo "$best"
}
nft_on() {
	in_a nft -f - <<'N'
table inet rpbench {
	chain input { type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif lo accept
		tcp dport 5201 accept
	}
}
N
}
declare -A IN OUT
IN[none]=$(gbps in); OUT[none]=$(gbps out)
nft_on; IN[nft]=$(gbps in); OUT[nft]=$(gbps out); in_a nft delete table inet rpbench
rp_apply "$RP_TMP/tc.rules" --iface "$RP_IF_A" >/dev/null || fail "apply"
IN[rampart-tc]=$(gbps in); OUT[rampart-tc]=$(gbps out)
rp_apply "$RP_TMP/xdp.rules" --iface "$RP_IF_A" >/dev/null || fail "apply xdp"
IN[rampart-xdp]=$(gbps in); OUT[rampart-xdp]=$(gbps out)
rp_r unload >/dev/null

echo "bulk TCP over a veth pair, iperf3 -t $SECS, best of $ROUNDS, Gbit/s (ratio to nftables)"
printf '  %-34s %16s %16s\n' "" "into protected" "out of it"
for k in none nft rampart-tc rampart-xdp; do
	label=$k
	case $k in
	none) label="no firewall" ;;
	nft) label="nftables (ct established accept)" ;;
	rampart-tc) label="rampart (default: tc ingress)" ;;
	rampart-xdp) label="rampart (ingress-hook xdp)" ;;
	esac
	printf '  %-34s %8s (%4sx) %8s (%4sx)\n' "$label" "${IN[$k]}" \
		"$(python3 -c "print('%.2f' % (${IN[$k]} / max(${IN[nft]}, 0.01)))")" "${OUT[$k]}" \
		"$(python3 -c "print('%.2f' % (${OUT[$k]} / max(${OUT[nft]}, 0.01)))")"
done
