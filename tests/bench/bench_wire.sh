#!/usr/bin/env bash
# Side-by-side wire benchmark (issue 12): a UDP flood over a veth pair in
# which every packet is a new flow (trafgen on one core, source port counting
# up) that only the last rule matches, and drops.  Measured in one run for
# no firewall (the generator's ceiling), iptables, nftables with one rule per
# entry (linear), nftables with one set, xdp-filter and rampart (default
# attachment on a veth: tc ingress; and `option ingress-hook xdp`), at
# BENCH_WIRE_SIZES rules (default 10,1000,10000,100000; 100 000 only for
# the O(1) ones: nft set, rampart; xdp-filter's address map holds 10 000).
# Then bulk TCP (iperf3) in both directions through each, at the smallest
# size.  Prints packets/s received by the protected side and ratios, writes
# BENCH_WIRE_OUT.csv/.png (default build/bench/wire; gnuplot draws the chart).
# BENCH_WIRE_SECONDS: flood seconds per measurement (default 3);
# BENCH_WIRE_BULK=0 skips the iperf3 part.
set -u
RP_ID=bw$$
cd "$(dirname "$0")/../.."
. tests/kernel/lib.sh
. tests/kernel/traffic_lib.sh
rp_setup
for t in trafgen iperf3 nft iptables-restore xdp-filter bpftool; do
	command -v $t >/dev/null || { echo "bench_wire: $t is not installed"; exit 1; }
done
SIZES=${BENCH_WIRE_SIZES:-10,1000,10000,100000} SECS=${BENCH_WIRE_SECONDS:-3}
OUT=${BENCH_WIRE_OUT:-build/bench/wire}
mkdir -p "$(dirname "$OUT")"
FLOOD_PORT=9
mac_a=$(in_a ip -j link show dev "$RP_IF_A" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])')

# ---------- rule sets: N-1 entries that never match, then the flood's ----------

# entry I (0-based) that never matches: (203.0.113.H or 198.51.100.H, port P)
entry() { local i=$1; echo "$((i % 2 ? 203 : 198)).$((i % 2 ? 0 : 51)).$((i % 2 ? 113 : 100)).$(((i / 2) % 256)) $((1000 + i / 512))"; }
entries() { local n=$1 i; for ((i = 0; i < n - 1; i++)); do entry $i; done; }

iptables_rules() {
	echo "*filter"
	echo ":INPUT ACCEPT [0:0]"
	entries "$1" | while read -r a p; do echo "-A INPUT -s $a -p udp --dport $p -j DROP"; done
	echo "-A INPUT -s $RP_B4 -p udp --dport $FLOOD_PORT -j DROP"
	echo "COMMIT"
}
nft_linear() {
	echo "table ip rpwire {"
	echo " chain input { type filter hook input priority 0;"
	entries "$1" | while read -r a p; do echo "  ip saddr $a udp dport $p drop"; done
	echo "  ip saddr $RP_B4 udp dport $FLOOD_PORT drop"
	echo " }"
	echo "}"
}
nft_set() {
	echo "table ip rpwire {"
	echo " set s { type ipv4_addr . inet_service; elements = {"
	entries "$1" | while read -r a p; do echo "  $a . $p,"; done
	echo "  $RP_B4 . $FLOOD_PORT }"
	echo " }"
	echo " chain input { type filter hook input priority 0; ip saddr . udp dport @s drop; }"
	echo "}"
}
rampart_rules() { # N [option line]
	[ -n "${2:-}" ] && echo "$2"
	echo "table root default allow {"
	entries "$1" | while read -r a p; do echo "    deny in proto udp remote $a local port $p"; done
	echo "    deny in proto udp remote $RP_B4 local port $FLOOD_PORT"
	echo "}"
}
# xdp-filter keeps its maps in bpffs under a fixed name: run it in a mount
# namespace of its own with a private bpffs, so that nothing is pinned on
# the host and other runs do not meet it.  The flood is denied by its UDP
# port filter; N-1 IPv6 addresses fill its address map (a hash: lookups
# cost the same at any size).
xdp_filter_load() {
	local n=$1 batch="$RP_TMP/xf.batch" i
	: > "$batch"
	for ((i = 1; i < n; i++)); do
		printf 'map update pinned /sys/fs/bpf/xdp-filter/filter_ipv6 key 0x20 0x01 0x0d 0xb8 0 0 0 0 0 0 0 0 0 0 0x%02x 0x%02x value 1 0 0 0 0 0 0 0\n' \
			$((i / 256)) $((i % 256)) >> "$batch"
	done
	unshare -m --propagation private sh -c '
		mount -t bpf bpf /sys/fs/bpf &&
		nsenter --net=/run/netns/'"$RP_NS_A"' xdp-filter load -m native '"$RP_IF_A"' &&
		nsenter --net=/run/netns/'"$RP_NS_A"' xdp-filter port '"$FLOOD_PORT"' -p udp -m dst &&
		{ [ ! -s '"$batch"' ] || bpftool batch file '"$batch"' >/dev/null; }' || return 1
}
xdp_filter_unload() { in_a ip link set dev "$RP_IF_A" xdp off; }

# ---------- the flood ----------

# (/sys/class/net shows the host's devices: read the namespace's /proc/net/dev)
rx_packets() {
	in_a awk -v d="$RP_IF_A" '{ split($0, a, ":"); gsub(/ /, "", a[1]); if (a[1] == d) { split(a[2], f, " "); print f[2] } }' /proc/net/dev
}

# pps: packets/s the protected side received (its veth's rx_packets: what
# it accepted into its queue and processed) while trafgen floods for SECS
pps() {
	local conf="$RP_TMP/flood.cfg"
	cat > "$conf" <<T
{
  eth(da=$mac_a, type=0x0800),
  ipv4(saddr=$RP_B4, daddr=$RP_A4, ttl=64),
  udp(sp=dinc(1024, 65535), dp=$FLOOD_PORT),
  fill(0x00, 18)
}
T
	in_b timeout -s INT $((SECS + 2)) trafgen --cpus 1 --dev "$RP_IF_B" --conf "$conf" --qdisc-path >"$RP_TMP/trafgen.log" 2>&1 &
	local tg=$!
	sleep 1
	local r0 t0 r1 t1
	r0=$(rx_packets) t0=$(date +%s%N)
	sleep "$SECS"
	r1=$(rx_packets) t1=$(date +%s%N)
	wait $tg 2>/dev/null
	[ -n "${BENCH_WIRE_DEBUG:-}" ] && cat "$RP_TMP/trafgen.log" >&2
	echo $(((r1 - r0) * 1000000000 / (t1 - t0)))
}

# gbps in|out: iperf3 -t 3 into the protected side (peer -> A) or out of it
gbps() {
	local r
	if [ "$1" = in ]; then
		r=$(in_b timeout 15 iperf3 -c $RP_A4 -p 5201 -t 3 -J 2>/dev/null)
	else
		r=$(in_a timeout 15 iperf3 -c $RP_B4 -p 5202 -t 3 -J 2>/dev/null)
	fi
	echo "$r" | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null || echo 0
}

# setup FIREWALL N / teardown FIREWALL: put the firewall with N rules in
# place on the protected side (rules that allow iperf3 come first)
setup() {
	local fw=$1 n=$2
	case $fw in
	none) ;;
	iptables) iptables_rules "$n" > "$RP_TMP/ipt" && in_a iptables-restore < "$RP_TMP/ipt" ;;
	nft-linear) nft_linear "$n" > "$RP_TMP/nft" && in_a nft -f "$RP_TMP/nft" ;;
	nft-set) nft_set "$n" > "$RP_TMP/nft" && in_a nft -f "$RP_TMP/nft" ;;
	xdp-filter) xdp_filter_load "$n" ;;
	rampart) rampart_rules "$n" > "$RP_TMP/r" && rp_apply "$RP_TMP/r" --iface "$RP_IF_A" >/dev/null ;;
	rampart-xdp) rampart_rules "$n" "option ingress-hook xdp" > "$RP_TMP/r" &&
		rp_apply "$RP_TMP/r" --iface "$RP_IF_A" >/dev/null ;;
	esac
}
teardown() {
	case $1 in
	iptables) in_a iptables -F INPUT ;;
	nft-*) in_a nft delete table ip rpwire ;;
	xdp-filter) xdp_filter_unload ;;
	rampart*) rp_r unload >/dev/null ;;
	esac
}
fits() { # does firewall $1 take $2 rules in this bench?
	case $1 in
	none) [ "$2" = "$FIRST" ] ;;
	iptables | nft-linear) [ "$2" -le 10000 ] ;;
	xdp-filter) [ "$2" -le 10000 ] ;;
	*) true ;;
	esac
}

FWS="none iptables nft-linear nft-set xdp-filter rampart rampart-xdp"
IFS=, read -ra NS <<< "$SIZES"
FIRST=${NS[0]}
# rp_bg: nsenter execs iperf3, so the pid the cleanup kills is the server's
# (a backgrounded shell function's pid is a subshell's: it left servers behind)
rp_bg in_a iperf3 -s -p 5201 >/dev/null 2>&1
rp_bg in_b iperf3 -s -p 5202 >/dev/null 2>&1
declare -A PPS IN OUT
for n in "${NS[@]}"; do
	for fw in $FWS; do
		fits $fw "$n" || continue
		setup $fw "$n" || { echo "bench_wire: $fw with $n rules did not load"; PPS[$fw,$n]=0; continue; }
		PPS[$fw,$n]=$(pps)
		if [ "$n" = "$FIRST" ] && [ "${BENCH_WIRE_BULK:-1}" = 1 ]; then
			IN[$fw]=$(gbps in)
			OUT[$fw]=$(gbps out)
		fi
		teardown $fw
		echo "  measured $fw, $n rules: ${PPS[$fw,$n]} pps" >&2
	done
done

# ---------- report ----------

ceiling=${PPS[none,$FIRST]}
echo "wire flood: UDP over a veth pair, every packet a new flow matched by the last rule (drop);"
echo "trafgen on one core, $SECS s per cell; packets/s the protected side received"
echo "generator's ceiling (no firewall): $ceiling pps"
printf '%-8s' rules
for fw in $FWS; do [ $fw = none ] || printf ' %12s' $fw; done
printf ' %14s\n' "rampart/best"
: > "$OUT.csv"
echo "rules,$(echo $FWS | tr ' ' ,)" > "$OUT.csv"
for n in "${NS[@]}"; do
	printf '%-8s' "$n"
	best=0 line="$n,$ceiling"
	for fw in $FWS; do
		[ $fw = none ] && continue
		v=${PPS[$fw,$n]:-}
		line="$line,${v:-}"
		printf ' %12s' "${v:--}"
		case $fw in rampart*) ;; *) [ -n "$v" ] && [ "$v" -gt "$best" ] && best=$v ;; esac
	done
	r=$(python3 -c "print('%.2f' % (max(${PPS[rampart,$n]:-0}, ${PPS[rampart-xdp,$n]:-0}) / max($best, 1)))")
	printf ' %13sx\n' "$r"
	echo "$line" >> "$OUT.csv"
done
[ "${BENCH_WIRE_BULK:-1}" = 1 ] && echo && echo "bulk TCP (iperf3 -t 3, one stream) with the $FIRST-rule set, Gbit/s (ratio to nft-linear)"
[ "${BENCH_WIRE_BULK:-1}" = 1 ] && printf '  %-12s %16s %16s\n' "" "into protected" "out of it"
for fw in $FWS; do
	[ "${BENCH_WIRE_BULK:-1}" = 1 ] || break
	printf '  %-12s %8s (%4sx) %8s (%4sx)\n' $fw "${IN[$fw]}" \
		"$(python3 -c "print('%.2f' % (${IN[$fw]} / max(${IN[nft-linear]}, 0.01)))")" "${OUT[$fw]}" \
		"$(python3 -c "print('%.2f' % (${OUT[$fw]} / max(${OUT[nft-linear]}, 0.01)))")"
done
if command -v gnuplot >/dev/null; then
	gnuplot <<G
set terminal pngcairo size 900,500 noenhanced
set output "$OUT.png"
set datafile separator ","
set title "UDP flood over a veth, every packet a new flow matched by the last rule ($(date -u +%F))"
set xlabel "rules"
set ylabel "packets/s received"
set logscale x
set logscale y
set key outside right
set grid
plot for [c=2:$(( $(echo $FWS | wc -w) + 1 ))] "$OUT.csv" using 1:c with linespoints title columnheader(c)
G
	echo "chart: $OUT.png"
else
	echo "no chart: gnuplot is not installed (apt-get install gnuplot-nox)"
fi
