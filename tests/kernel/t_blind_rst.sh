#!/usr/bin/env bash
# Blind RST/SYN (issue 9 item 1, docs/datapath.md "Under attack"): 10 000
# spoofed RSTs with random sequence numbers, then spoofed SYNs, on the
# 4-tuple of an established TCP stream, IPv4 and IPv6: the stream keeps
# flowing with zero resets and its entry stays established; then one RST at
# the exact sequence number (what an on-path attacker can send) closes it.
set -u
RP_ID=${RP_ID:-br$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/attack_lib.sh"
rp_setup

cat > "$RP_TMP/policy.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 7100
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A") || fail "apply: $out"
rp_bg in_a timeout 605 $RP_ATTACK echo-server 7100 600
rp_wait_port "$RP_NS_A" 7100 || fail "echo server did not start"
mac=$(rp_mac_a)

sport=40100
for A in $RP_A4 $RP_A6; do
	B=$RP_B4; [ "$A" = "$RP_A6" ] && B=$RP_B6
	sport=$((sport + 1))
	rm -f "$RP_TMP/stop"
	in_b timeout 200 $RP_ATTACK stream "$A" 7100 $sport 180 "$RP_TMP/stop" > "$RP_TMP/stream" &
	spid=$!
	sleep 1
	[ "$(rp_flow_state tcp $sport 7100)" = established ] || fail "$A: the stream is not tracked as established"
	drop0=$(rp_counter drop-tcp-out-of-window) rst0=$(rp_counter pass-tcp-rst-in-window)
	syn0=$(rp_counter pass-tcp-syn-in-flow)
	n=$(in_b timeout 60 $RP_ATTACK blind "$RP_IF_B" "$mac" "$B" $sport "$A" 7100 10000 1000) ||
		fail "$A: spoofing failed: $n"
	drop=$(( $(rp_counter drop-tcp-out-of-window) - drop0 ))
	rst=$(( $(rp_counter pass-tcp-rst-in-window) - rst0 )) syn=$(( $(rp_counter pass-tcp-syn-in-flow) - syn0 ))
	[ "$(rp_flow_state tcp $sport 7100)" = established ] ||
		fail "$A: after $n spoofed segments the flow is '$(rp_flow_state tcp $sport 7100)', not established"
	# a random sequence number is nearly always outside the window: dropped;
	# inside it the host answers with a challenge ACK (RFC 5961), as it does
	# to every SYN on the flow: both pass, the state unchanged
	[ $((drop + rst)) = 10000 ] && [ "$drop" -ge 9900 ] ||
		fail "$A: of 10000 spoofed RSTs $drop dropped as out of window, $rst passed in the window"
	[ "$syn" = 1000 ] || fail "$A: of 1000 spoofed SYNs $syn counted as pass-tcp-syn-in-flow"
	ok "$A: 10000 spoofed RSTs ($drop dropped out of window, $rst in it) and 1000 SYNs: the flow stays established"
	touch "$RP_TMP/stop"
	wait $spid
	res=$(cat "$RP_TMP/stream")
	case $res in ok\ *) ;; *) fail "$A: the stream broke: $res" ;; esac
	set -- $res
	[ "$2" -ge 20 ] || fail "$A: the stream moved only $2 lines: $res"
	ok "$A: the stream kept flowing ($2 echoes, longest wait $3 ms), zero resets"

	# one RST at the exact sequence number closes it (firewall and host);
	# a line every 3 s, so that the RST the attacker builds from the last
	# segment lands before the next one moves the numbers on
	in_b timeout 200 $RP_ATTACK stream "$A" 7100 $((sport + 10)) 180 - 3 > "$RP_TMP/stream" &
	spid=$!
	sleep 1
	seq=$(in_b timeout 10 $RP_ATTACK exact-rst "$RP_IF_B" "$mac" "$B" $((sport + 10)) "$A" 7100) ||
		fail "$A: exact RST: $seq"
	sleep 0.3
	st=$(rp_flow_state tcp $((sport + 10)) 7100)
	[ "$st" = closed ] || [ -z "$st" ] || fail "$A: after the exact RST (seq $seq) the flow is '$st'"
	wait $spid
	res=$(cat "$RP_TMP/stream")
	case $res in error\ *) ;; *) fail "$A: the stream survived an exact RST: $res" ;; esac
	ok "$A: one RST at the exact sequence number $seq closes the flow ($res)"
done
