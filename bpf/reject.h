/* `reject`: turn the packet into its answer, in place.
 *   TCP          -> RST (RFC 793: if the segment had ACK, seq = its ack and
 *                   flag RST; else seq 0, ack = its seq + length (+1 for SYN
 *                   and FIN), flags RST|ACK); IP options / IPv6 extension
 *                   headers are not echoed.
 *   anything else-> ICMP destination unreachable (UDP: port unreachable,
 *                   others: administratively prohibited) or ICMPv6 the same
 *                   (port unreachable / administratively prohibited), quoting
 *                   the offending packet from its IP header on, up to
 *                   RP_QUOTE_MAX bytes (at least IP header + 8 bytes).
 * Never answered (dropped instead, counted as drop-reject-unanswerable):
 * packets to or from a broadcast or multicast address (also a unicast IP
 * address in a broadcast/multicast frame: a subnet-directed broadcast),
 * from an unspecified source, ICMP errors and RSTs (RFC 1122 4.2.2.12,
 * RFC 792) - a reject must never multiply a packet.  Answers are bounded
 * per CPU (option reject-rate, a token bucket): over the limit the packet
 * is dropped and counted (drop-reject-rate-limited).  Checksums are
 * computed in full.
 * Where the answer goes: XDP sends it back out of the interface (XDP_TX);
 * tc ingress sends it out of the interface it came from (bpf_redirect), tc
 * egress hands it to the local stack (bpf_redirect with BPF_F_INGRESS) so
 * the local application sees the RST/unreachable at once; see
 * rampart.bpf.c. */
#ifndef RP_REJECT_H
#define RP_REJECT_H

#include "parse.h"
#include "log.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_rate_bucket);
} RP_MAP_REJECT_BUCKET SEC(".maps");

/* May a reject be answered now (reject-rate per CPU)? */
static __always_inline int rp_reject_take(const struct rp_config *cfg)
{
	__u32 zero = 0;
	struct rp_rate_bucket *b = bpf_map_lookup_elem(&rp_reject_bucket, &zero);
	return b && rp_bucket_take(b, bpf_ktime_get_ns(), cfg->reject_rate, 0);
}

#define RP_QUOTE_MAX 512
#define RP_REPLY_TTL 64

struct rp_rst4 {
	struct iphdr ip;
	struct tcphdr tcp;
};
struct rp_rst6 {
	struct ipv6hdr ip6;
	struct tcphdr tcp;
};
struct rp_icmp_hdr {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u32 unused; /* or MTU for packet-too-big, not sent here */
};
struct rp_unr4 {
	struct iphdr ip;
	struct rp_icmp_hdr icmp;
};
struct rp_unr6 {
	struct ipv6hdr ip6;
	struct rp_icmp_hdr icmp;
};

static __always_inline __u16 rp_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of 16-bit words of a fixed-size stack buffer (len even). */
static __always_inline __u64 rp_sum_words(const void *buf, const int len)
{
	const __u16 *w = buf;
	__u64 s = 0;
#pragma unroll
	for (int i = 0; i < len / 2; i++)
		s += w[i];
	return s;
}

/* Sum of the q bytes (multiple of 4) at offset off of the packet.  Global
 * functions (one per context type) so the verifier walks the loop once. */
static __always_inline __u64 rp_sum_range(void *data, void *end, __u32 off, __u32 q)
{
	__u64 s = 0;
	if (off > 0x3fff)
		return 0;
	void *start = data + off;
	for (int i = 0; i < RP_QUOTE_MAX / 4; i++) {
		if (i * 4 >= q)
			return s;
		__u32 *w = start + i * 4;
		if ((void *)(w + 1) > end)
			return s;
		__u32 x = *w;
		s += (x & 0xffff) + (x >> 16);
	}
	return s;
}

__noinline __u64 rp_sum_xdp(struct xdp_md *ctx, __u32 off, __u32 q)
{
	if (!ctx)
		return 0;
	return rp_sum_range((void *)(long)ctx->data, (void *)(long)ctx->data_end, off, q);
}

__noinline __u64 rp_sum_skb(struct __sk_buff *skb, __u32 off, __u32 q)
{
	if (!skb)
		return 0;
	return rp_sum_range((void *)(long)skb->data, (void *)(long)skb->data_end, off, q);
}

static __always_inline __u64 rp_sum_addrs6(const __u32 *a, const __u32 *b)
{
	__u64 s = 0;
#pragma unroll
	for (int i = 0; i < 4; i++)
		s += (a[i] & 0xffff) + (a[i] >> 16) + (b[i] & 0xffff) + (b[i] >> 16);
	return s;
}

static __always_inline int rp_addr_not_unicast(const __u32 *a, __u8 family)
{
	if (family == 4) {
		__u32 v = bpf_ntohl(a[3]);
		return (v >> 28) == 0xe || v == 0xffffffff || v == 0;
	}
	return (bpf_ntohl(a[0]) >> 24) == 0xff || (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* May this packet be answered at all?  0, or the counter saying why not. */
static __always_inline int rp_reject_check(const struct rp_pkt *p)
{
	if (rp_addr_not_unicast(p->daddr, p->family) || rp_addr_not_unicast(p->saddr, p->family) ||
	    p->icmp_err != RP_ICMPERR_NO)
		return RPC_DROP_REJECT_NOT_UNICAST;
	if (p->proto == RP_IPPROTO_TCP && (p->tcp_flags & RP_TCP_RST))
		return RPC_DROP_REJECT_NOT_UNICAST;
	return 0;
}

static __always_inline void rp_ip4_fill(struct iphdr *ip, __u32 src, __u32 dst, __u8 proto, __u16 tot, __u16 frag)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(tot);
	ip->id = 0;
	ip->frag_off = bpf_htons(frag);
	ip->ttl = RP_REPLY_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = src;
	ip->daddr = dst;
	ip->check = rp_csum_fold(rp_sum_words(ip, sizeof(*ip)));
}

static __always_inline void rp_ip6_fill(struct ipv6hdr *ip6, const __u32 *src, const __u32 *dst, __u8 nh, __u16 plen)
{
	__u32 *w = (__u32 *)ip6;
	w[0] = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(plen);
	ip6->nexthdr = nh;
	ip6->hop_limit = RP_REPLY_TTL;
	__builtin_memcpy(&ip6->saddr, src, 16);
	__builtin_memcpy(&ip6->daddr, dst, 16);
}

/* The TCP RST header for packet p (addresses reversed). */
static __always_inline void rp_rst_tcp(struct tcphdr *t, const struct rp_pkt *p)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->source = p->dport;
	t->dest = p->sport;
	t->doff = 5;
	t->rst = 1;
	if (p->tcp_flags & RP_TCP_ACK) {
		t->seq = p->ack_seq;
	} else {
		__u32 seglen = p->l3end - p->l4off - p->l4hlen;
		if (p->tcp_flags & RP_TCP_SYN)
			seglen++;
		if (p->tcp_flags & RP_TCP_FIN)
			seglen++;
		t->seq = 0;
		t->ack_seq = bpf_htonl(bpf_ntohl(p->seq) + seglen);
		t->ack = 1;
	}
}

/* Build the RST headers (IP + TCP, no options) into buf; returns their size. */
static __always_inline int rp_build_rst(void *buf, const struct rp_pkt *p)
{
	if (p->family == 4) {
		struct rp_rst4 *r = buf;
		rp_rst_tcp(&r->tcp, p);
		rp_ip4_fill(&r->ip, p->daddr[3], p->saddr[3], RP_IPPROTO_TCP, sizeof(*r), 0x4000);
		__u64 s = (p->daddr[3] & 0xffff) + (p->daddr[3] >> 16) + (p->saddr[3] & 0xffff) + (p->saddr[3] >> 16) +
			  bpf_htons(RP_IPPROTO_TCP) + bpf_htons(sizeof(struct tcphdr));
		s += rp_sum_words(&r->tcp, sizeof(r->tcp));
		r->tcp.check = rp_csum_fold(s);
		return sizeof(*r);
	}
	struct rp_rst6 *r = buf;
	rp_rst_tcp(&r->tcp, p);
	rp_ip6_fill(&r->ip6, p->daddr, p->saddr, RP_IPPROTO_TCP, sizeof(struct tcphdr));
	__u64 s = rp_sum_addrs6(p->daddr, p->saddr) + bpf_htons(sizeof(struct tcphdr)) + bpf_htons(RP_IPPROTO_TCP);
	s += rp_sum_words(&r->tcp, sizeof(r->tcp));
	r->tcp.check = rp_csum_fold(s);
	return sizeof(*r);
}

/* Quote length: from the IP header on, a multiple of 4 (checksummed by
 * words), at most RP_QUOTE_MAX. */
static __always_inline __u32 rp_quote_len(const struct rp_pkt *p)
{
	__u32 q = p->l3end - p->l3off;
	if (q > RP_QUOTE_MAX)
		q = RP_QUOTE_MAX;
	return q & ~3u;
}

/* Build the IP + ICMP(v6) unreachable headers into buf (checksum without the
 * quote: the caller adds the quote's sum).  Returns the header size. */
static __always_inline int rp_build_unreach(void *buf, const struct rp_pkt *p, __u32 q)
{
	int udp = p->proto == RP_IPPROTO_UDP;
	if (p->family == 4) {
		struct rp_unr4 *r = buf;
		r->icmp.type = 3;
		r->icmp.code = udp ? 3 : 13; /* port unreachable / communication administratively prohibited */
		r->icmp.csum = 0;
		r->icmp.unused = 0;
		rp_ip4_fill(&r->ip, p->daddr[3], p->saddr[3], RP_IPPROTO_ICMP, sizeof(*r) + q, 0);
		return sizeof(*r);
	}
	struct rp_unr6 *r = buf;
	r->icmp.type = 1;
	r->icmp.code = udp ? 4 : 1; /* port unreachable / administratively prohibited */
	r->icmp.csum = 0;
	r->icmp.unused = 0;
	rp_ip6_fill(&r->ip6, p->daddr, p->saddr, RP_IPPROTO_ICMPV6, sizeof(struct rp_icmp_hdr) + q);
	return sizeof(*r);
}

static __always_inline __u64 rp_unreach_sum(const void *buf, const struct rp_pkt *p, __u32 q)
{
	if (p->family == 4) {
		const struct rp_unr4 *r = buf;
		return rp_sum_words(&r->icmp, sizeof(r->icmp));
	}
	const struct rp_unr6 *r = buf;
	return rp_sum_words(&r->icmp, sizeof(r->icmp)) + rp_sum_addrs6(p->daddr, p->saddr) +
	       bpf_htons(sizeof(struct rp_icmp_hdr) + q) + bpf_htons(RP_IPPROTO_ICMPV6);
}

union rp_reply {
	struct rp_rst4 rst4;
	struct rp_rst6 rst6;
	struct rp_unr4 unr4;
	struct rp_unr6 unr6;
};

/* Swap the MAC addresses of the frame at data (14 bytes checked by caller). */
static __always_inline void rp_swap_mac(void *data)
{
	__u8 tmp[6];
	__builtin_memcpy(tmp, data, 6);
	__builtin_memcpy(data, data + 6, 6);
	__builtin_memcpy(data + 6, tmp, 6);
}

/* ---------- XDP ---------- */

/* Returns 0 with the answer in place (the caller returns XDP_TX), or the
 * rp_counter saying why no answer could be built (never 0: the caller
 * drops and counts it). */
static __always_inline int rp_reject_xdp(struct xdp_md *ctx, const struct rp_pkt *p, const struct rp_config *cfg)
{
	union rp_reply r;
	__u32 l3off = p->l3off;
	int why = rp_reject_check(p);
	if (why)
		return why;
	if (l3off > 22)
		return RPC_DROP_REJECT_FAILED;
	__u8 *eth = (void *)(long)ctx->data;
	if ((void *)(eth + 14) > (void *)(long)ctx->data_end)
		return RPC_DROP_REJECT_FAILED;
	if (eth[0] & 1) /* a broadcast/multicast frame: e.g. a subnet-directed broadcast */
		return RPC_DROP_REJECT_NOT_UNICAST;
	if (!rp_reject_take(cfg))
		return RPC_DROP_REJECT_RATE;
	__u32 old_len = ctx->data_end - ctx->data;

	if (p->proto == RP_IPPROTO_TCP && p->frag == RP_FRAG_NONE) {
		int hl = rp_build_rst(&r, p);
		/* shrink to eth + IP + TCP; the answer is never longer than the packet */
		if (bpf_xdp_adjust_tail(ctx, (int)(l3off + hl) - (int)old_len))
			return RPC_DROP_REJECT_FAILED;
		void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
		if (data + 14 > end)
			return RPC_DROP_REJECT_FAILED;
		rp_swap_mac(data);
		if (p->family == 4) {
			if (data + l3off + sizeof(struct rp_rst4) > end)
				return RPC_DROP_REJECT_FAILED;
			__builtin_memcpy(data + l3off, &r, sizeof(struct rp_rst4));
		} else {
			if (data + l3off + sizeof(struct rp_rst6) > end)
				return RPC_DROP_REJECT_FAILED;
			__builtin_memcpy(data + l3off, &r, sizeof(struct rp_rst6));
		}
		return 0;
	}

	__u32 q = rp_quote_len(p);
	int delta = p->family == 4 ? sizeof(struct rp_unr4) : sizeof(struct rp_unr6);
	rp_build_unreach(&r, p, q);
	/* room in front for the new IP + ICMP headers: the quote (the old IP
	 * header on) then already sits right after them */
	if (bpf_xdp_adjust_head(ctx, -delta))
		return RPC_DROP_REJECT_FAILED;
	if (bpf_xdp_adjust_tail(ctx, (int)(l3off + q) - (int)old_len))
		return RPC_DROP_REJECT_FAILED;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	/* the old L2 header, now at data + delta, moves to the front */
	if (data + delta + 22 > end || data + 22 > end)
		return RPC_DROP_REJECT_FAILED;
	void *old = data + delta;
	__builtin_memcpy(data, old + 6, 6);
	__builtin_memcpy(data + 6, old, 6);
	if (l3off == 14) {
		__builtin_memcpy(data + 12, old + 12, 2);
	} else if (l3off == 18) {
		__builtin_memcpy(data + 12, old + 12, 6);
	} else if (l3off == 22) {
		__builtin_memcpy(data + 12, old + 12, 10);
	} else {
		return RPC_DROP_REJECT_FAILED;
	}
	void *ip = data + l3off;
	if (p->family == 4) {
		if (ip + sizeof(struct rp_unr4) > end)
			return RPC_DROP_REJECT_FAILED;
		__u64 s = rp_unreach_sum(&r, p, q) + rp_sum_xdp(ctx, l3off + sizeof(struct rp_unr4), q);
		r.unr4.icmp.csum = rp_csum_fold(s);
		__builtin_memcpy(ip, &r, sizeof(struct rp_unr4));
	} else {
		if (ip + sizeof(struct rp_unr6) > end)
			return RPC_DROP_REJECT_FAILED;
		__u64 s = rp_unreach_sum(&r, p, q) + rp_sum_xdp(ctx, l3off + sizeof(struct rp_unr6), q);
		r.unr6.icmp.csum = rp_csum_fold(s);
		__builtin_memcpy(ip, &r, sizeof(struct rp_unr6));
	}
	return 0;
}

/* ---------- tc ---------- */

#ifndef TC_ACT_OK
#define TC_ACT_UNSPEC	(-1) /* no verdict: what the hook does without this program */
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define TC_ACT_STOLEN	4 /* taken: the sender sees it sent (a held packet, bpf/rampart.bpf.c rp_tc) */
#define TC_ACT_REDIRECT 7
#endif
#define RP_PACKET_BROADCAST 1
#define RP_PACKET_MULTICAST 2
#define RP_F_RECOMPUTE_CSUM 1 /* BPF_F_RECOMPUTE_CSUM: keeps a CHECKSUM_COMPLETE skb consistent */

/* Swap the MAC addresses at the front of the skb. */
static __always_inline int rp_swap_mac_skb(struct __sk_buff *skb)
{
	__u8 mac[12], sw[12];
	if (bpf_skb_load_bytes(skb, 0, mac, 12))
		return -1;
	__builtin_memcpy(sw, mac + 6, 6);
	__builtin_memcpy(sw + 6, mac, 6);
	return bpf_skb_store_bytes(skb, 0, sw, 12, 0) ? -1 : 0;
}

/* Returns 0 with the answer in place (the caller redirects it), or the
 * rp_counter saying why no answer could be built.  l3off: 14 for an
 * Ethernet frame (VLAN tags live in skb metadata at tc, not in the data),
 * 0 for a device without a link layer (the packet starts with IP). */
static __always_inline int rp_reject_tc(struct __sk_buff *skb, const struct rp_pkt *p, __u32 l3off,
					const struct rp_config *cfg)
{
	union rp_reply r;
	int why = rp_reject_check(p);
	if (why)
		return why;
	if (skb->pkt_type == RP_PACKET_BROADCAST || skb->pkt_type == RP_PACKET_MULTICAST)
		return RPC_DROP_REJECT_NOT_UNICAST;
	if (!rp_reject_take(cfg))
		return RPC_DROP_REJECT_RATE;
	if (p->l3off != l3off || (l3off != 0 && l3off != 14))
		return RPC_DROP_REJECT_FAILED;
	__u32 base = p->family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);

	if (p->proto == RP_IPPROTO_TCP && p->frag == RP_FRAG_NONE) {
		int hl = rp_build_rst(&r, p);
		__u32 extra = p->l4off - p->l3off - base; /* IP options / extension headers */
		if (extra > 0xfff)
			return RPC_DROP_REJECT_FAILED;
		if (extra && bpf_skb_adjust_room(skb, -(int)extra, BPF_ADJ_ROOM_NET, 0))
			return RPC_DROP_REJECT_FAILED;
		if (bpf_skb_change_tail(skb, l3off + hl, 0))
			return RPC_DROP_REJECT_FAILED;
		if (l3off && rp_swap_mac_skb(skb))
			return RPC_DROP_REJECT_FAILED;
		if (bpf_skb_store_bytes(skb, l3off, &r,
					p->family == 4 ? sizeof(struct rp_rst4) : sizeof(struct rp_rst6),
					RP_F_RECOMPUTE_CSUM))
			return RPC_DROP_REJECT_FAILED;
		return 0;
	}

	__u32 q = rp_quote_len(p);
	int delta = p->family == 4 ? sizeof(struct rp_unr4) : sizeof(struct rp_unr6);
	rp_build_unreach(&r, p, q);
	/* insert the new headers between L2 and the old IP header (the quote) */
	if (bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_MAC, 0))
		return RPC_DROP_REJECT_FAILED;
	if (bpf_skb_change_tail(skb, l3off + delta + q, 0))
		return RPC_DROP_REJECT_FAILED;
	if (bpf_skb_pull_data(skb, l3off + delta + q))
		return RPC_DROP_REJECT_FAILED;
	if (l3off && rp_swap_mac_skb(skb))
		return RPC_DROP_REJECT_FAILED;
	__u64 s = rp_unreach_sum(&r, p, q) + rp_sum_skb(skb, l3off + delta, q);
	if (p->family == 4) {
		r.unr4.icmp.csum = rp_csum_fold(s);
		if (bpf_skb_store_bytes(skb, l3off, &r, sizeof(struct rp_unr4), RP_F_RECOMPUTE_CSUM))
			return RPC_DROP_REJECT_FAILED;
	} else {
		r.unr6.icmp.csum = rp_csum_fold(s);
		if (bpf_skb_store_bytes(skb, l3off, &r, sizeof(struct rp_unr6), RP_F_RECOMPUTE_CSUM))
			return RPC_DROP_REJECT_FAILED;
	}
	return 0;
}

#endif
