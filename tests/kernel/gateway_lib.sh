# A gateway topology for the tests and the demo (source after lib.sh,
# traffic_lib.sh and rp_setup): namespace A becomes a gateway between the
# LAN (lib.sh's veth: A 192.0.2.1 / 2001:db8::1, the LAN host B 192.0.2.2
# / 2001:db8::2) and a WAN host in namespace W (198.51.100.2 /
# 2001:db8:b::2, the gateway's wan side .1 / ::1), with forwarding on,
# nftables masquerading the LAN's IPv4 behind the wan address (Kerio's
# ICS) and IPv6 routed.  W is removed by the cleanup.
#
#   rp_gateway_setup        build it; sets W WAN LAN W4 G4W W6 G6W
#   in_w CMD...             CMD in the WAN host's namespace

in_w() { nsenter --net=/run/netns/$W "$@"; }

rp_gateway_setup() {
	W=rpw$RP_ID WAN=rpwn$RP_ID LAN=$RP_IF_A
	W4=198.51.100.2 G4W=198.51.100.1 W6=2001:db8:b::2 G6W=2001:db8:b::1
	RP_CLEANUP_EXTRA="$RP_CLEANUP_EXTRA; ip netns del $W 2>/dev/null"
	ip netns add "$W"
	ip link add "$WAN" netns "$RP_NS_A" type veth peer name eth0 netns "$W"
	in_a ip addr add $G4W/24 dev "$WAN"
	in_a ip -6 addr add $G6W/64 dev "$WAN" nodad
	in_a ip link set "$WAN" up
	in_w ip link set lo up
	in_w ip addr add $W4/24 dev eth0
	in_w ip -6 addr add $W6/64 dev eth0 nodad
	in_w ip link set eth0 up
	in_b ip route add default via $RP_A4
	in_b ip -6 route add default via $RP_A6
	in_w ip -6 route add 2001:db8::/64 via $G6W
	in_w ip route add 192.0.2.0/24 via $G4W # a WAN host trying to reach the LAN directly
	in_a sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	in_a nft -f - <<N
table ip rpnat {
	chain post { type nat hook postrouting priority srcnat; oifname "$WAN" masquerade; }
}
N
}

# rp_bg_w CMD...: CMD in the background in the WAN host's namespace.
rp_bg_w() {
	nsenter --net=/run/netns/$W "$@" &
	RP_BG_PIDS="$RP_BG_PIDS $!"
}
