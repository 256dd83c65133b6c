/* The gateway fast path: packets of confirmed forwarded flows leave from
 * tc ingress (FIB lookup, TTL/hop limit decrement, new MAC addresses,
 * bpf_redirect) instead of climbing the IP stack.  Like nftables'
 * flowtable, but before the stack allocates anything more.
 *
 * When is a flow confirmed?  Its packets must first cross the stack
 * unchanged, once in each direction: the egress program sees a forwarded
 * packet (it arrived on another interface, no local socket) whose tuple is
 * the one the conntrack entry was created with at ingress.  That proves
 * the stack forwarded it (routing, the forward chain of nftables/iptables
 * said yes) and did not rewrite it.  A NATed flow never gets both: its
 * rewritten direction leaves under a new tuple (tracked in an entry marked
 * CT_F_FORWARDED, never confirmed), only the direction the stack restored
 * matches the original entry; NAT stays the stack's job.  The
 * confirmation is a stamp of the policy generation plus one bit per
 * direction in the conntrack entry (ct_value.fast_gen), copied into the per-CPU flow
 * cache entry (bpf/flowcache.h), so the fast path costs no extra hash
 * lookup: a policy apply changes the generation and every flow goes
 * through the stack again until its egress confirms it anew.
 *
 * What is never sent on by the fast path (it goes to the stack, which
 * does what it always does): packets the flow cache does not answer (TCP
 * SYN/FIN/RST, fragments, flows not established or not yet replied,
 * anything a mode, the implicit rules or an ICMP error check decided),
 * IPv4 options, IPv6 extension headers, TTL/hop limit <= 1 (the stack
 * sends time exceeded), VLAN-tagged frames, non-unicast frames, an
 * unresolved next hop (the stack resolves it: fast-path-fallback-neighbour),
 * a packet too big for the way out (the stack fragments it or sends ICMP
 * fragmentation needed / packet too big: fast-path-fallback-mtu), a way
 * out through the interface it came in on (the stack sends a redirect),
 * and ways out through devices without a link-layer address (tun,
 * wireguard: no Ethernet header to write).
 *
 * Only tc ingress uses it: an XDP redirect to a device without XDP
 * transmit support (a veth whose peer has no XDP program) loses the
 * packet, and XDP cannot fall back once it redirected.
 */
#ifndef RP_FASTPATH_H
#define RP_FASTPATH_H

#include "rampart_maps.h"
#include "parse.h"
#include "conntrack.h"
#include "log.h"

#define RP_ETH_HLEN	 14
#define RP_PACKET_HOST	 0 /* skb->pkt_type */
#define RP_AF_INET	 2
#define RP_AF_INET6	 10
#define RP_TC_ACT_NONE	 -2 /* not sent on: the caller carries on as usual */
#define RP_IPV4_HLEN_MIN 20
#define RP_IPV6_HLEN	 40

/* ct_value.fast_gen: the policy generation in the low six bits (never 0)
 * and which directions left the stack unchanged under it.  Wrapping after
 * 63 applies only lets a flow keep the fast path that it would keep
 * anyway: established flows survive an apply (docs/cli.md), the stamp
 * makes them cross the stack once more. */
#define RP_FP_GEN_MASK 0x3f
#define RP_FP_ORIG_OK  0x40
#define RP_FP_REPLY_OK 0x80

static __always_inline __u8 rp_fp_gen(const struct rp_config *cfg)
{
	return (__u8)(cfg->generation % RP_FP_GEN_MASK) + 1;
}

/* Both directions confirmed under this generation. */
static __always_inline __u8 rp_fp_stamp(const struct rp_config *cfg)
{
	return rp_fp_gen(cfg) | RP_FP_ORIG_OK | RP_FP_REPLY_OK;
}

/* A packet the flow cache may answer, and whose headers the fast path can
 * rewrite: no fragments, no IPv4 options, no IPv6 extension headers, no
 * VLAN tag, a TTL that survives the decrement. */
static __always_inline int rp_fp_candidate(const struct rp_config *cfg, const struct rp_pkt *p)
{
	if (!(cfg->flags & RP_CFG_F_FAST_PATH) || cfg->mode != RP_MODE_ENFORCING)
		return 0;
	if (p->frag != RP_FRAG_NONE || (p->tcp_flags & (RP_TCP_SYN | RP_TCP_FIN | RP_TCP_RST)) || p->vid ||
	    p->icmp_err != RP_ICMPERR_NO || p->ttl <= 1 || p->l3off != RP_ETH_HLEN)
		return 0;
	__u32 hlen = p->l4off - p->l3off;
	return p->family == 4 ? hlen == RP_IPV4_HLEN_MIN : hlen == RP_IPV6_HLEN;
}

/* This CPU's flow cache entry of flow k, when it is current and carries
 * the stamp of this policy generation. */
static __always_inline struct rp_fc_entry *rp_fp_cached(const struct ct_key *k, __u8 stamp, __u64 now)
{
	__u32 h = rp_flow_hash(k);
	struct rp_fc_entry *e = rp_fc_slot_entry(h);
	if (!e || now > e->valid_until || !rp_fc_key_eq(&e->key, k) || e->gen != rp_ct_gen_read(h))
		return 0;
	return e->fast_gen == stamp ? e : 0;
}

/* Egress: a forwarded packet that passed the conntrack, from endpoint a
 * of the flow key or not (src_is_a).  It left with the tuple its flow was
 * created with at ingress: confirm its direction. */
static __always_inline void rp_fp_confirm(const struct rp_config *cfg, const struct rp_pkt *p, const struct ct_key *k,
					  int src_is_a, __u64 now)
{
	if (!rp_fp_candidate(cfg, p))
		return;
	__u8 stamp = rp_fp_stamp(cfg);
	if (rp_fp_cached(k, stamp, now))
		return; /* confirmed already */
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, k);
	if (!v || (v->flags & CT_F_FORWARDED))
		return;
	if (p->proto == RP_IPPROTO_TCP ? v->state != CT_TCP_ESTABLISHED : !(v->flags & CT_F_REPLIED))
		return;
	__u8 fg = v->fast_gen;
	if ((fg & RP_FP_GEN_MASK) != rp_fp_gen(cfg))
		fg = rp_fp_gen(cfg); /* confirmed under another policy: again */
	int from_orig = !!(v->flags & CT_F_ORIG_IS_A) == src_is_a;
	fg |= from_orig ? RP_FP_ORIG_OK : RP_FP_REPLY_OK;
	v->fast_gen = fg;
	/* this CPU's copy now; other CPUs copy the stamp when they refill */
	struct rp_fc_entry *e = rp_fc_slot_entry(rp_flow_hash(k));
	if (e && rp_fc_key_eq(&e->key, k))
		e->fast_gen = fg;
}

/* The FIB lookup of a packet as it arrived on ifindex (also the datapath's
 * "addressed to this host?" question). */
static __always_inline void rp_fib_params(struct bpf_fib_lookup *f, const struct rp_pkt *p, __u32 ifindex)
{
	f->ifindex = ifindex;
	f->l4_protocol = p->proto;
	f->sport = p->sport;
	f->dport = p->dport;
	if (p->family == 4) {
		f->family = RP_AF_INET;
		f->ipv4_src = p->saddr[3];
		f->ipv4_dst = p->daddr[3];
	} else {
		f->family = RP_AF_INET6;
		__builtin_memcpy(f->ipv6_src, p->saddr, 16);
		__builtin_memcpy(f->ipv6_dst, p->daddr, 16);
	}
}

static __always_inline int rp_fp_mac_set(const unsigned char *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) != 0;
}

/* Decrement the TTL (the IPv4 header checksum follows incrementally, as
 * the kernel's ip_decrease_ttl does) or the hop limit, and write the new
 * MAC addresses.  0, or -1 when the headers are not in the linear area. */
static __always_inline int rp_fp_rewrite(struct __sk_buff *skb, const struct rp_pkt *p, const struct bpf_fib_lookup *f)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if (p->family == 4) {
		struct iphdr *ip = data + RP_ETH_HLEN;
		if ((void *)(ip + 1) > end)
			return -1;
		__u32 check = ip->check;
		check += bpf_htons(0x0100);
		ip->check = (__u16)(check + (check >= 0xffff));
		ip->ttl--;
	} else {
		struct ipv6hdr *ip6 = data + RP_ETH_HLEN;
		if ((void *)(ip6 + 1) > end)
			return -1;
		ip6->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, f->dmac, 6);
	__builtin_memcpy(eth->h_source, f->smac, 6);
	return 0;
}

/* tc ingress, a packet the conntrack passed: send it on past the stack
 * (TC_ACT_REDIRECT) or leave it to the stack (RP_TC_ACT_NONE). */
static __always_inline int rp_fp_forward(struct __sk_buff *skb, const struct rp_config *cfg, const struct rp_pkt *p,
					 const struct ct_key *k, __u64 now)
{
	if (!rp_fp_candidate(cfg, p) || skb->pkt_type != RP_PACKET_HOST || skb->vlan_present)
		return RP_TC_ACT_NONE;
	if (!rp_fp_cached(k, rp_fp_stamp(cfg), now))
		return RP_TC_ACT_NONE;
	struct bpf_fib_lookup f = {};
	rp_fib_params(&f, p, skb->ifindex);
	/* the length each packet will have on the wire: a GRO/GSO packet is
	 * cut into segments of gso_size bytes of payload on the way out */
	f.tot_len = skb->gso_size ? p->l4off - p->l3off + p->l4hlen + skb->gso_size : p->l3end - p->l3off;
	long r = bpf_fib_lookup(skb, &f, sizeof(f), 0);
	if (r == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		rp_count(RPC_FAST_FALLBACK_MTU);
		return RP_TC_ACT_NONE;
	}
	if (r == BPF_FIB_LKUP_RET_NO_NEIGH) {
		rp_count(RPC_FAST_FALLBACK_NEIGH);
		return RP_TC_ACT_NONE;
	}
	if (r != BPF_FIB_LKUP_RET_SUCCESS || f.ifindex == skb->ifindex || !rp_fp_mac_set(f.smac))
		return RP_TC_ACT_NONE;
	if (rp_fp_rewrite(skb, p, &f))
		return RP_TC_ACT_NONE;
	rp_count(RPC_FAST_FORWARD);
	return bpf_redirect(f.ifindex, 0);
}

#endif
