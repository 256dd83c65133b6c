#!/usr/bin/env bash
# Forwarded bulk TCP through a gateway (issue 12, the fast path of
# docs/gateway.md): LAN host - gateway - WAN host in three namespaces
# (tests/kernel/gateway_lib.sh, routed without NAT), iperf3 one stream
# LAN -> WAN and WAN -> LAN, measured in one run for: plain forwarding (no
# firewall), nftables forward chain (`ct state established accept`),
# nftables with a flowtable (`flow add @ft`: established flows skip the
# forward path), rampart with `option fast-path off` and rampart with the
# fast path (default).  Prints Gbit/s (best of BENCH_ROUNDS, default 2, of
# BENCH_SECONDS, default 3) and the ratio to nftables with a flowtable.
set -u
RP_ID=bg$$
cd "$(dirname "$0")/../.."
. tests/kernel/lib.sh
. tests/kernel/traffic_lib.sh
rp_setup
. tests/kernel/gateway_lib.sh
rp_gateway_setup
in_a nft delete table ip rpnat
command -v iperf3 >/dev/null || { echo "bench_gateway: iperf3 is not installed"; exit 1; }
SECS=${BENCH_SECONDS:-3} ROUNDS=${BENCH_ROUNDS:-2}
rp_bg_w iperf3 -s -p 5201 >/dev/null 2>&1
sleep 0.5

policy() { # FILE [OPTION-LINE]
	{ [ -n "${2:-}" ] && echo "$2"
	  echo "interface wan = $WAN"
	  echo "interface lan = $LAN"
	  echo "table root default deny {"
	  echo "    allow out proto tcp remote port 5201"
	  echo "}"; } > "$1"
}
policy "$RP_TMP/fast.rules"
policy "$RP_TMP/slow.rules" "option fast-path off"

nft_forward() { # [flowtable]
	local ft="" add=""
	if [ -n "${1:-}" ]; then
		ft="flowtable ft { hook ingress priority 0; devices = { $LAN, $WAN }; }"
		add="ip protocol tcp flow add @ft"
	fi
	in_a nft -f - <<N
table inet rpbench {
	$ft
	chain forward {
		type filter hook forward priority 0; policy drop;
		$add
		ct state established,related accept
		iifname "$LAN" tcp dport 5201 ct state new accept
	}
}
N
}

# gbps [-R]: the best of ROUNDS iperf3 runs LAN -> WAN (or WAN -> LAN with -R)
gbps() {
	local best=0 r
	for _ in $(seq "$ROUNDS"); do
		r=$(in_b timeout $((SECS + 10)) iperf3 -c $W4 -p 5201 -t "$SECS" -J "$@" 2>/dev/null |
			python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null || echo 0)
		best=$(python3 -c "print(max($best, $r))")
	done
	echo "$best"
}

declare -A UP DOWN
UP[none]=$(gbps); DOWN[none]=$(gbps -R)
nft_forward; UP[nft]=$(gbps); DOWN[nft]=$(gbps -R); in_a nft delete table inet rpbench
# flowtables need CONFIG_NF_FLOW_TABLE: without it the ratios are to plain nftables forwarding
base=nft-ft base_label="nftables + flowtable"
if nft_forward flowtable 2>/dev/null; then
	UP[nft-ft]=$(gbps); DOWN[nft-ft]=$(gbps -R); in_a nft delete table inet rpbench
else
	UP[nft-ft]=0 DOWN[nft-ft]=0 base=nft base_label="nftables forward (this kernel has no flowtables)"
fi
rp_apply "$RP_TMP/slow.rules" >/dev/null || fail "apply fast-path off"
UP[rp-slow]=$(gbps); DOWN[rp-slow]=$(gbps -R)
rp_apply "$RP_TMP/fast.rules" >/dev/null || fail "apply"
UP[rp-fast]=$(gbps); DOWN[rp-fast]=$(gbps -R)
fast=$(rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get("pass-fast-path", 0))')
rp_r unload >/dev/null

echo "forwarded bulk TCP through a gateway (veths, routed, no NAT), iperf3 -t $SECS, best of $ROUNDS, Gbit/s (ratio to $base_label)"
printf '  %-40s %16s %16s\n' "" "LAN -> WAN" "WAN -> LAN"
for k in none nft nft-ft rp-slow rp-fast; do
	case $k in
	none) label="forwarding, no firewall" ;;
	nft) label="nftables forward (ct established accept)" ;;
	nft-ft) label="nftables + flowtable" ;;
	rp-slow) label="rampart, option fast-path off" ;;
	rp-fast) label="rampart, fast path" ;;
	esac
	[ $k = nft-ft ] && [ $base = nft ] && { printf '  %-40s %16s %16s\n' "$label" "not available" "(no CONFIG_NF_FLOW_TABLE)"; continue; }
	printf '  %-40s %8s (%4sx) %8s (%4sx)\n' "$label" "${UP[$k]}" \
		"$(python3 -c "print('%.2f' % (${UP[$k]} / max(${UP[$base]}, 0.01)))")" "${DOWN[$k]}" \
		"$(python3 -c "print('%.2f' % (${DOWN[$k]} / max(${DOWN[$base]}, 0.01)))")"
done
echo "  (rampart fast path: $fast packets sent on by it)"
worst=$(python3 -c "print('%.2f' % min(${UP[rp-fast]} / max(${UP[$base]}, 0.01), ${DOWN[rp-fast]} / max(${DOWN[$base]}, 0.01)))")
met=missed
python3 -c "import sys; sys.exit(0 if $worst >= 1.5 else 1)" && met=met
[ $base = nft ] && met="not measurable here (no flowtables in this kernel); against $base_label"
echo "target: forwarded TCP with the fast path >= 1.5x nftables with a flowtable: worst ${worst}x -> $met"
