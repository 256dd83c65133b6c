/* Packet parsing for the datapath: Ethernet, up to RP_MAX_VLAN 802.1Q/802.1ad
 * tags (or no link layer at all: devices whose packets start with the IP
 * header), IPv4 (options skipped), IPv6 with its extension-header chain (up to
 * RP_MAX_EXTHDR headers), fragments, TCP, UDP (and SCTP/UDPLite ports),
 * ICMP, ICMPv6 including the inner header quoted by an ICMP error.
 *
 * rp_parse_l3/ext/l4() return RP_PARSE_OK for an IP packet that may be judged, or the
 * enum rp_counter explaining what else it is: RPC_PASS_NONIP for non-IP
 * frames, an RPC_DROP_* reason for everything malformed or evasive.  Every
 * length is checked against both the frame and the IP header's own length
 * field, so nothing is read past either.
 */
#ifndef RP_PARSE_H
#define RP_PARSE_H

#include "rampart_maps.h"

#define RP_PARSE_OK (-1)

#define RP_MAX_VLAN	    2
#define RP_MAX_EXTHDR	    8
#define RP_MAX_INNER_EXTHDR 2

#ifndef ETH_P_IP
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#endif

#define RP_TCP_FIN 0x01
#define RP_TCP_SYN 0x02
#define RP_TCP_RST 0x04
#define RP_TCP_PSH 0x08
#define RP_TCP_ACK 0x10
#define RP_TCP_URG 0x20

#define RP_WSCALE_NONE 0xff
#define RP_WSCALE_MAX  14 /* RFC 7323 */

#define RP_IPPROTO_HOPOPTS  0
#define RP_IPPROTO_ICMP	    1
#define RP_IPPROTO_TCP	    6
#define RP_IPPROTO_UDP	    17
#define RP_IPPROTO_ROUTING  43
#define RP_IPPROTO_FRAGMENT 44
#define RP_IPPROTO_AH	    51
#define RP_IPPROTO_ICMPV6   58
#define RP_IPPROTO_DSTOPTS  60
#define RP_IPPROTO_MH	    135
#define RP_IPPROTO_SCTP	    132
#define RP_IPPROTO_UDPLITE  136

enum rp_frag { RP_FRAG_NONE = 0, RP_FRAG_FIRST = 1, RP_FRAG_LATER = 2 };

enum rp_icmp_err { RP_ICMPERR_NO = 0, RP_ICMPERR_INNER = 1, RP_ICMPERR_BAD_INNER = 2 };

struct rp_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct rp_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* What the datapath knows about a packet.  Addresses in network order,
 * IPv4 as ::ffff:a.b.c.d; ports in network order. */
struct rp_pkt {
	/* always written by rp_parse_l3() */
	__u32 saddr[4];
	__u32 daddr[4];
	__u32 l3off; /* start of the IP header */
	__u32 l4off; /* start of the transport header */
	__u32 l3end; /* end of the IP datagram (IP length field), <= frame length */
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* transport protocol after the extension headers */
	__u8 ttl;    /* TTL / hop limit */
	__u8 pad0;
	__u16 vid; /* VLAN id of the outer 802.1Q/802.1ad tag in the frame (0: untagged) */
	__u16 pad1;
	/* zeroed by rp_pkt_reset(): written only on some paths */
	__u16 sport;
	__u16 dport;
	__u16 frag_offset; /* bytes */
	__u16 l4hlen;	   /* transport header length (TCP data offset * 4, 8 for UDP/ICMP) */
	__u32 frag_id;	   /* IPv4 id or IPv6 fragment identification */
	__u8 tcp_flags;
	__u8 frag;	/* enum rp_frag */
	__u8 has_ports; /* tcp/udp/sctp/udplite (not for later fragments) */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_err; /* enum rp_icmp_err */
	__u8 is_echo;  /* ICMP echo request/reply: sport = dport = identifier */
	__u8 echo_request;
	/* read only when the path above set them */
	__u32 seq; /* TCP, network order */
	__u32 ack_seq;
	__u16 tcp_win; /* TCP window field, host order (unscaled) */
	__u8 wscale;   /* TCP SYN: its window scale option (RP_WSCALE_NONE: none) */
	__u8 pad2;
	/* ICMP errors: the quoted packet, as the original sender sent it */
	__u32 in_saddr[4];
	__u32 in_daddr[4];
	__u16 in_sport;
	__u16 in_dport;
	__u8 in_proto;
	__u8 in_pad[3];
};

/* Cheaper than zeroing the whole struct on every packet. */
static __always_inline void rp_pkt_reset(struct rp_pkt *p)
{
	__u32 *w = (__u32 *)&p->sport;
	w[0] = 0;
	w[1] = 0;
	w[2] = 0;
	w[3] = 0;
	w[4] = 0;
}
_Static_assert(__builtin_offsetof(struct rp_pkt, seq) - __builtin_offsetof(struct rp_pkt, sport) == 20,
	       "rp_pkt_reset must cover sport..echo_request");

static __always_inline void rp_addr4(__u32 *dst, __u32 a)
{
	dst[0] = 0;
	dst[1] = 0;
	dst[2] = bpf_htonl(0xffff);
	dst[3] = a;
}

static __always_inline void rp_addr6(__u32 *dst, const struct in6_addr *a)
{
	dst[0] = a->in6_u.u6_addr32[0];
	dst[1] = a->in6_u.u6_addr32[1];
	dst[2] = a->in6_u.u6_addr32[2];
	dst[3] = a->in6_u.u6_addr32[3];
}

static __always_inline int rp_is_exthdr(__u8 nh)
{
	return nh == RP_IPPROTO_HOPOPTS || nh == RP_IPPROTO_ROUTING || nh == RP_IPPROTO_FRAGMENT ||
	       nh == RP_IPPROTO_AH || nh == RP_IPPROTO_DSTOPTS || nh == RP_IPPROTO_MH;
}

static __always_inline int rp_icmp4_is_error(__u8 type)
{
	/* dest-unreach, source-quench, redirect, time-exceeded, parameter-problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static __always_inline int rp_icmp6_is_error(__u8 type)
{
	/* dest-unreach, packet-too-big, time-exceeded, parameter-problem */
	return type >= 1 && type <= 4;
}

/* The first 8 bytes of the quoted transport header: ports or echo id. */
static __always_inline void rp_parse_inner_l4(struct rp_pkt *p, void *l4, void *end, __u32 limit_ok)
{
	if (!limit_ok || l4 + 8 > end) {
		p->icmp_err = RP_ICMPERR_BAD_INNER;
		return;
	}
	__u8 *b = l4;
	if (p->in_proto == RP_IPPROTO_ICMP || p->in_proto == RP_IPPROTO_ICMPV6) {
		/* an error about an echo we sent: key by the identifier */
		__u16 id = *(__u16 *)(b + 4);
		__u8 t = b[0];
		if (!(t == 8 || t == 0 || t == 128 || t == 129)) {
			p->icmp_err = RP_ICMPERR_BAD_INNER; /* errors about errors are never related */
			return;
		}
		p->in_sport = id;
		p->in_dport = id;
	} else if (p->in_proto == RP_IPPROTO_TCP || p->in_proto == RP_IPPROTO_UDP || p->in_proto == RP_IPPROTO_SCTP ||
		   p->in_proto == RP_IPPROTO_UDPLITE) {
		p->in_sport = *(__u16 *)b;
		p->in_dport = *(__u16 *)(b + 2);
	} else {
		p->in_sport = 0;
		p->in_dport = 0;
	}
	p->icmp_err = RP_ICMPERR_INNER;
}

static __always_inline void rp_parse_inner4(struct rp_pkt *p, void *data, void *end, __u32 off)
{
	struct iphdr *ip = data + off;
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5) {
		p->icmp_err = RP_ICMPERR_BAD_INNER;
		return;
	}
	rp_addr4(p->in_saddr, ip->saddr);
	rp_addr4(p->in_daddr, ip->daddr);
	p->in_proto = ip->protocol;
	/* a quoted later fragment carries no transport header */
	if (bpf_ntohs(ip->frag_off) & 0x1fff) {
		p->icmp_err = RP_ICMPERR_BAD_INNER;
		return;
	}
	off += ip->ihl * 4;
	rp_parse_inner_l4(p, data + off, end, off <= p->l3end - 8);
}

static __always_inline void rp_parse_inner6(struct rp_pkt *p, void *data, void *end, __u32 off)
{
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > end || ip6->version != 6) {
		p->icmp_err = RP_ICMPERR_BAD_INNER;
		return;
	}
	rp_addr6(p->in_saddr, &ip6->saddr);
	rp_addr6(p->in_daddr, &ip6->daddr);
	__u8 nh = ip6->nexthdr;
	off += sizeof(*ip6);
	for (int i = 0; i < RP_MAX_INNER_EXTHDR; i++) {
		if (!rp_is_exthdr(nh))
			break;
		struct ipv6_opt_hdr *h = data + off;
		if ((void *)h + 8 > end) {
			p->icmp_err = RP_ICMPERR_BAD_INNER;
			return;
		}
		if (nh == RP_IPPROTO_FRAGMENT) {
			struct rp_ip6_frag *fh = (void *)h;
			if (bpf_ntohs(fh->frag_off) & 0xfff8) {
				p->icmp_err = RP_ICMPERR_BAD_INNER;
				return;
			}
			off += 8;
		} else if (nh == RP_IPPROTO_AH) {
			off += (h->hdrlen + 2) * 4;
		} else {
			off += (h->hdrlen + 1) * 8;
		}
		nh = h->nexthdr;
	}
	if (rp_is_exthdr(nh)) {
		p->icmp_err = RP_ICMPERR_BAD_INNER;
		return;
	}
	p->in_proto = nh;
	rp_parse_inner_l4(p, data + off, end, off <= p->l3end - 8);
}

/* Transport header.  `tiny` is the verdict for a header cut short: a first
 * fragment that does not hold the whole header is an evasion attempt
 * (RFC 1858), anything else is a truncated packet. */
static __always_inline int rp_parse_l4(struct rp_pkt *p, void *data, void *end)
{
	__u32 off = p->l4off;
	if (off > 0x3fff)
		return RPC_DROP_TRUNC_L4;
	int trunc = p->frag == RP_FRAG_FIRST ? RPC_DROP_FRAG_TINY : RPC_DROP_TRUNC_L4;

	if (p->frag == RP_FRAG_LATER) {
		/* No transport header here.  A later fragment whose data would
		 * land on the transport header of the first one overlaps it. */
		if (p->proto == RP_IPPROTO_TCP && p->frag_offset < 20)
			return RPC_DROP_FRAG_OVERLAP;
		if (p->frag_offset < 8)
			return RPC_DROP_FRAG_OVERLAP;
		return RP_PARSE_OK;
	}

	switch (p->proto) {
	case RP_IPPROTO_TCP: {
		struct tcphdr *th = data + off;
		if ((void *)(th + 1) > end || off + sizeof(*th) > p->l3end)
			return trunc;
		if (th->doff < 5)
			return RPC_DROP_TCP_DOFF;
		__u32 hl = th->doff * 4;
		if (off + hl > p->l3end)
			return trunc;
		__u8 fl = ((__u8 *)th)[13];
		p->tcp_flags = fl;
		p->l4hlen = hl;
		p->sport = th->source;
		p->dport = th->dest;
		p->seq = th->seq;
		p->ack_seq = th->ack_seq;
		p->tcp_win = bpf_ntohs(th->window);
		p->wscale = RP_WSCALE_NONE; /* the options are read for SYNs only (rp_tcp_opts_wscale) */
		p->has_ports = 1;
		__u8 f = fl & (RP_TCP_FIN | RP_TCP_SYN | RP_TCP_RST | RP_TCP_ACK);
		if (f == 0 || /* null scan */
		    (fl & (RP_TCP_SYN | RP_TCP_FIN)) == (RP_TCP_SYN | RP_TCP_FIN) ||
		    (fl & (RP_TCP_SYN | RP_TCP_RST)) == (RP_TCP_SYN | RP_TCP_RST) ||
		    (fl & (RP_TCP_FIN | RP_TCP_RST)) == (RP_TCP_FIN | RP_TCP_RST) ||
		    (fl & (RP_TCP_FIN | RP_TCP_ACK)) == RP_TCP_FIN || /* FIN without ACK, xmas */
		    ((fl & RP_TCP_URG) && !(fl & RP_TCP_ACK)))
			return RPC_DROP_TCP_FLAGS;
		return RP_PARSE_OK;
	}
	case RP_IPPROTO_UDP:
	case RP_IPPROTO_UDPLITE: {
		struct udphdr *uh = data + off;
		if ((void *)(uh + 1) > end || off + sizeof(*uh) > p->l3end)
			return trunc;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->has_ports = 1;
		p->l4hlen = 8;
		if (p->frag == RP_FRAG_NONE && p->proto == RP_IPPROTO_UDP) {
			__u32 ulen = bpf_ntohs(uh->len);
			/* IPv6 jumbograms use 0; rampart refuses jumbograms anyway */
			if (ulen < 8 || off + ulen > p->l3end)
				return RPC_DROP_UDP_LEN;
		}
		return RP_PARSE_OK;
	}
	case RP_IPPROTO_SCTP: {
		__u16 *ports = data + off;
		/* common header: ports, verification tag, checksum */
		if ((void *)ports + 12 > end || off + 12 > p->l3end)
			return trunc;
		p->sport = ports[0];
		p->dport = ports[1];
		p->has_ports = 1;
		p->l4hlen = 12;
		return RP_PARSE_OK;
	}
	case RP_IPPROTO_ICMP:
	case RP_IPPROTO_ICMPV6: {
		__u8 *ic = data + off;
		if ((void *)ic + 8 > end || off + 8 > p->l3end)
			return trunc;
		if ((p->proto == RP_IPPROTO_ICMP) != (p->family == 4))
			return RP_PARSE_OK; /* ICMP in IPv6 or ICMPv6 in IPv4: judged as a plain protocol */
		p->icmp_type = ic[0];
		p->icmp_code = ic[1];
		p->l4hlen = 8;
		if (p->family == 4) {
			if (ic[0] == 8 || ic[0] == 0) {
				p->is_echo = 1;
				p->echo_request = ic[0] == 8;
			} else if (rp_icmp4_is_error(ic[0])) {
				if (p->frag != RP_FRAG_NONE)
					p->icmp_err = RP_ICMPERR_BAD_INNER;
				else
					rp_parse_inner4(p, data, end, off + 8);
			}
		} else {
			if (ic[0] == 128 || ic[0] == 129) {
				p->is_echo = 1;
				p->echo_request = ic[0] == 128;
			} else if (rp_icmp6_is_error(ic[0])) {
				if (p->frag != RP_FRAG_NONE)
					p->icmp_err = RP_ICMPERR_BAD_INNER;
				else
					rp_parse_inner6(p, data, end, off + 8);
			}
		}
		if (p->is_echo) {
			p->sport = *(__u16 *)(ic + 4);
			p->dport = p->sport;
		}
		return RP_PARSE_OK;
	}
	default:
		return RP_PARSE_OK;
	}
}

/* The window scale option among a TCP SYN's n (<= 40) bytes of options,
 * copied to buf: RP_WSCALE_NONE when it has none.  Options that cannot
 * be read count as the largest scale: the window checks then err on the
 * side of a larger window. */
static __always_inline __u8 rp_tcp_opts_wscale(const __u8 *buf, __u32 n)
{
	__u32 i = 0;
	/* one way through each round, every other branch leaves the loop:
	 * the verifier walks 40 rounds, not 2^40 paths (the no-op's step of
	 * one is arithmetic, not a branch) */
	for (int k = 0; k < 40; k++) {
		if (i >= n)
			return RP_WSCALE_NONE;
		__u32 kind = buf[i & 63], len = buf[(i + 1) & 63];
		if (kind == 0) /* end of options */
			return RP_WSCALE_NONE;
		if (kind == 3)
			return len == 3 && i + 3 <= n
				       ? (buf[(i + 2) & 63] > RP_WSCALE_MAX ? RP_WSCALE_MAX : buf[(i + 2) & 63])
				       : RP_WSCALE_MAX;
		__u32 nop = ((kind ^ 1) - 1) >> 31; /* kind 1: one byte, no length */
		__u32 step = len + nop * (1 - len);
		__u32 bad = ((len - 2) >> 31) & (nop ^ 1); /* a length below 2 */
		bad |= (n - (i + step)) >> 31;		   /* past the options */
		if (bad)
			break;
		i += step;
	}
	return RP_WSCALE_MAX;
}

/* wire_len: the whole packet's length.  At tc egress a GSO packet is longer
 * than its linear part (end - data), so length fields are checked against it. */
static __always_inline int rp_parse_ip4(struct rp_pkt *p, void *data, void *end, __u32 off, __u32 wire_len)
{
	struct iphdr *ip = data + off;
	if ((void *)(ip + 1) > end)
		return RPC_DROP_TRUNC_L3;
	if (ip->version != 4)
		return RPC_DROP_BAD_VERSION;
	if (ip->ihl < 5)
		return RPC_DROP_BAD_IHL;
	__u32 hl = ip->ihl * 4;
	__u32 tot = bpf_ntohs(ip->tot_len);
	if (tot < hl || off + tot > wire_len)
		return RPC_DROP_BAD_LEN;
	p->family = 4;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	rp_addr4(p->saddr, ip->saddr);
	rp_addr4(p->daddr, ip->daddr);
	p->l3off = off;
	p->l4off = off + hl;
	p->l3end = off + tot;
	__u16 fo = bpf_ntohs(ip->frag_off);
	p->frag_offset = (fo & 0x1fff) * 8;
	if (p->frag_offset)
		p->frag = RP_FRAG_LATER;
	else if (fo & 0x2000)
		p->frag = RP_FRAG_FIRST;
	p->frag_id = ip->id;
	return RP_PARSE_OK;
}

/* The fixed IPv6 header.  The extension-header chain is walked afterwards,
 * one header per rp_parse_ext() call (p->proto = next header type,
 * p->l4off = where it starts). */
static __always_inline int rp_parse_ip6(struct rp_pkt *p, void *data, void *end, __u32 off, __u32 wire_len)
{
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > end)
		return RPC_DROP_TRUNC_L3;
	if (ip6->version != 6)
		return RPC_DROP_BAD_VERSION;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	/* payload length 0 is a jumbogram (RFC 2675): not on these links */
	if (plen == 0 || off + sizeof(*ip6) + plen > wire_len)
		return RPC_DROP_BAD_LEN;
	p->family = 6;
	p->ttl = ip6->hop_limit;
	rp_addr6(p->saddr, &ip6->saddr);
	rp_addr6(p->daddr, &ip6->daddr);
	p->l3off = off;
	p->l3end = off + sizeof(*ip6) + plen;
	p->proto = ip6->nexthdr;
	p->l4off = off + sizeof(*ip6);
	return RP_PARSE_OK;
}

/* Does the IPv6 chain go on with another extension header at p->l4off? */
static __always_inline int rp_ext_pending(const struct rp_pkt *p)
{
	return p->family == 6 && p->frag != RP_FRAG_LATER && rp_is_exthdr(p->proto);
}

/* Skip one IPv6 extension header (type p->proto at p->l4off). */
static __always_inline int rp_parse_ext(struct rp_pkt *p, void *data, void *end)
{
	__u32 o = p->l4off;
	__u8 nh = p->proto;
	if (o > 0x3fff)
		return RPC_DROP_TRUNC_L3;
	struct ipv6_opt_hdr *h = data + o;
	if ((void *)h + 8 > end || o + 8 > p->l3end)
		return RPC_DROP_TRUNC_L3;
	if (nh == RP_IPPROTO_HOPOPTS && o != p->l3off + sizeof(struct ipv6hdr))
		return RPC_DROP_EXT_CHAIN; /* hop-by-hop only ever comes first */
	if (nh == RP_IPPROTO_FRAGMENT) {
		struct rp_ip6_frag *fh = (void *)h;
		__u16 fo = bpf_ntohs(fh->frag_off);
		p->frag_offset = fo & 0xfff8;
		p->frag_id = fh->id;
		p->proto = fh->nexthdr;
		p->l4off = o + 8;
		if (p->frag_offset)
			p->frag = RP_FRAG_LATER; /* what follows is fragment data, not a header */
		else if (fo & 1)
			p->frag = RP_FRAG_FIRST;
		/* offset 0 and no more fragments: an atomic fragment (RFC 6946), a whole packet */
		return RP_PARSE_OK;
	}
	p->proto = h->nexthdr;
	if (nh == RP_IPPROTO_AH)
		p->l4off = o + (h->hdrlen + 2) * 4;
	else
		p->l4off = o + (h->hdrlen + 1) * 8;
	if (p->l4off > p->l3end)
		return RPC_DROP_TRUNC_L3;
	return RP_PARSE_OK;
}

/* Parse L2 and the fixed IP header of the frame at [data, end) into *p
 * (after rp_pkt_reset).  l3proto (network order) is 0 for a frame that
 * starts with an Ethernet header, else the ethertype of a packet that
 * starts with its IP header: devices without a link layer (tun, wireguard,
 * ipip/gre/sit, ppp) hand their programs the IP header first, and tc
 * knows the protocol from skb->protocol.  Then: rp_parse_ext() while
 * rp_ext_pending() (at most RP_MAX_EXTHDR times, else RPC_DROP_EXT_CHAIN),
 * then rp_parse_l4().  The steps are separate so that the datapath can
 * verify each once (see the global functions in rampart.bpf.c). */
static __always_inline int rp_parse_l3(struct rp_pkt *p, void *data, void *end, __u32 wire_len, __u16 l3proto)
{
	__u16 proto = l3proto;
	__u32 off = 0;
	p->vid = 0;
	if (!l3proto) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > end)
			return RPC_DROP_TRUNC_L2;
		proto = eth->h_proto;
		off = sizeof(*eth);
#pragma unroll
		for (int i = 0; i < RP_MAX_VLAN; i++) {
			if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
				break;
			struct rp_vlan_hdr *vh = data + off;
			if ((void *)(vh + 1) > end)
				return RPC_DROP_TRUNC_L2;
			if (i == 0)
				p->vid = bpf_ntohs(vh->tci) & 0xfff;
			proto = vh->proto;
			off += sizeof(*vh);
		}
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return RPC_DROP_VLAN_DEPTH;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return rp_parse_ip4(p, data, end, off, wire_len);
	if (proto == bpf_htons(ETH_P_IPV6))
		return rp_parse_ip6(p, data, end, off, wire_len);
	return RPC_PASS_NONIP;
}

#endif
