/* Connection tracking in BPF maps, IPv4 and IPv6 in one table.
 *
 * The key is canonical (endpoints ordered), so the XDP ingress program of
 * one interface and the tc egress program of another find the same entry
 * for both directions of a flow.  The table is a plain (preallocated) hash,
 * not an LRU: an LRU would silently evict live flows.  When it is full a new
 * flow is denied and counted (RPC_DROP_CT_FULL), never allowed untracked.
 * Expired entries are deleted lazily when a lookup finds them and by a
 * sweeper: a bpf_timer in rp_sweeper whose callback walks the table with
 * bpf_for_each_map_elem every sweep interval.
 */
#ifndef RP_CONNTRACK_H
#define RP_CONNTRACK_H

#include "rampart_maps.h"
#include "parse.h"
#include "flowcache.h"

#ifndef RP_CT_DEFAULT_SIZE
#define RP_CT_DEFAULT_SIZE 65536
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_CT_DEFAULT_SIZE); /* the loader sets conntrack-size */
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} RP_MAP_CONNTRACK SEC(".maps");

/* The sweeper's timer also keeps a coarse clock for the fast path:
 * reading it is a plain load, where bpf_ktime_get_coarse_ns() is a call
 * (and calls are expensive on CPUs with return-stack mitigations).  It
 * ticks every RP_CLOCK_TICK_NS, so established flows see time in steps of
 * that much: ample for timeouts counted in seconds. */
struct rp_sweeper {
	struct bpf_timer timer;
	__u64 clock_ns;	     /* bpf_ktime_get_coarse_ns() at the last tick (0: not running) */
	__u64 next_sweep_ns; /* when the next table walk is due */
	__u64 runs;	     /* table walks */
	__u64 deleted;	     /* entries removed by walks */
	__u32 armed;
	__u32 pad;
};

#define RP_CLOCK_TICK_NS (100 * 1000000ull)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_sweeper);
} RP_MAP_SWEEPER SEC(".maps");

#define RP_NSEC		   1000000000ull
#define RP_CLOCK_MONOTONIC 1

/* Results of rp_ct_track(). */
enum rp_ct_res {
	RP_CT_PASS = 0,	 /* packet of a tracked flow */
	RP_CT_NEW,	 /* no flow; this packet may start one: judge it */
	RP_CT_INVALID,	 /* no flow and cannot start one */
	RP_CT_BAD_STATE, /* tracked, but impossible in the flow's state */
	RP_CT_STATELESS, /* ICMP informational other than echo: judged each time, not tracked */
};

/* Is endpoint (a, pa) <= (b, pb)?  Any fixed total order will do. */
static __always_inline int rp_ep_le(const __u32 *a, __u16 pa, const __u32 *b, __u16 pb)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return pa <= pb;
}

static __always_inline void rp_copy_addr(__u32 *d, const __u32 *s)
{
	__builtin_memcpy(d, s, 16);
}

/* Fill *k for the flow (src:sp -> dst:dp, proto).  Returns 1 when the
 * source is endpoint a. */
static __always_inline int rp_ct_key(struct ct_key *k, const __u32 *src, __u16 sp, const __u32 *dst, __u16 dp,
				     __u8 proto)
{
	int src_is_a = rp_ep_le(src, sp, dst, dp);
	const __u32 *a = src_is_a ? src : dst, *b = src_is_a ? dst : src;
	__builtin_memcpy(k->addr_a, a, 16);
	__builtin_memcpy(k->addr_b, b, 16);
	k->port_a = src_is_a ? sp : dp;
	k->port_b = src_is_a ? dp : sp;
	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	return src_is_a;
}

static __always_inline __u64 rp_ct_timeout(const struct rp_config *cfg, __u8 state)
{
	if (state >= CT_STATE_COUNT)
		return 0;
	return cfg->timeout_ns[state];
}

static __always_inline int rp_ct_expired(const struct rp_config *cfg, const struct ct_value *v, __u64 now)
{
	return now > v->last_seen_ns && now - v->last_seen_ns > rp_ct_timeout(cfg, v->state);
}

/* Can this packet (with no flow) start one? */
static __always_inline int rp_ct_can_start(const struct rp_pkt *p)
{
	if (p->proto == RP_IPPROTO_TCP)
		return (p->tcp_flags & (RP_TCP_SYN | RP_TCP_ACK | RP_TCP_RST | RP_TCP_FIN)) == RP_TCP_SYN;
	if (p->is_echo)
		return p->echo_request;
	return 1;
}

/* TCP state machine for a packet of a tracked flow.  from_orig: sent by
 * the endpoint that opened the flow.  Returns RP_CT_PASS, RP_CT_BAD_STATE,
 * or RP_CT_NEW when a fresh SYN reuses the ports of a closed flow. */
static __always_inline int rp_ct_tcp(struct ct_value *v, const struct rp_pkt *p, int from_orig, __u64 now)
{
	__u8 fl = p->tcp_flags;
	__u8 syn = fl & RP_TCP_SYN, ack = fl & RP_TCP_ACK, fin = fl & RP_TCP_FIN;
	__u8 st = v->state, nst = st;
	__u8 flags = v->flags;

	/* the common case first: a segment of an established connection */
	if (st == CT_TCP_ESTABLISHED && !(fl & (RP_TCP_SYN | RP_TCP_FIN | RP_TCP_RST))) {
		if (now > v->last_seen_ns + RP_NSEC)
			v->last_seen_ns = now;
		return RP_CT_PASS;
	}
	if (!from_orig)
		flags |= CT_F_REPLIED;
	if (fl & RP_TCP_RST) {
		nst = CT_TCP_CLOSED;
		goto out;
	}
	switch (st) {
	case CT_TCP_SYN_SENT:
		if (from_orig) {
			if (!(syn && !ack))
				return RP_CT_BAD_STATE; /* nothing but SYN before the SYN-ACK */
		} else {
			if (!syn)
				return RP_CT_BAD_STATE; /* stray ACK/data to an unanswered SYN */
			nst = CT_TCP_SYN_RECV;		/* SYN-ACK, or SYN of a simultaneous open */
		}
		break;
	case CT_TCP_SYN_RECV:
		if (syn)
			break; /* retransmitted SYN or SYN-ACK */
		if (fin) {
			flags |= from_orig ? CT_F_FIN_ORIG : CT_F_FIN_REPLY;
			nst = CT_TCP_FIN_WAIT;
		} else if (ack) {
			nst = CT_TCP_ESTABLISHED;
		}
		break;
	case CT_TCP_ESTABLISHED:
		if (fin) {
			flags |= from_orig ? CT_F_FIN_ORIG : CT_F_FIN_REPLY;
			nst = CT_TCP_FIN_WAIT;
		}
		break;
	case CT_TCP_FIN_WAIT:
		if (fin)
			flags |= from_orig ? CT_F_FIN_ORIG : CT_F_FIN_REPLY;
		if ((flags & (CT_F_FIN_ORIG | CT_F_FIN_REPLY)) == (CT_F_FIN_ORIG | CT_F_FIN_REPLY))
			nst = CT_TCP_CLOSING;
		break;
	case CT_TCP_CLOSING:
		if (ack && !fin)
			nst = CT_TCP_TIME_WAIT;
		break;
	case CT_TCP_TIME_WAIT:
	case CT_TCP_CLOSED:
		if (syn && !ack)
			return RP_CT_NEW; /* port reuse: a new connection, judged again */
		break;
	default:
		return RP_CT_BAD_STATE;
	}
out:
	if (nst != st || flags != v->flags) {
		v->state = nst;
		v->flags = flags;
		if (now > v->last_seen_ns)
			v->last_seen_ns = now;
	} else if (now > v->last_seen_ns + RP_NSEC) {
		v->last_seen_ns = now;
	}
	return RP_CT_PASS;
}

/* How long the flow cache may answer for v: until the conntrack would
 * refresh last-seen (1 s), and never past the state's timeout. */
static __always_inline __u64 rp_fc_until(const struct rp_config *cfg, const struct ct_value *v)
{
	__u64 to = rp_ct_timeout(cfg, v->state);
	return v->last_seen_ns + (to < RP_NSEC ? to : RP_NSEC);
}

/* Look the packet's flow up and advance its state.  *k is filled with the
 * flow's key, *src_is_a with the packet's side.  Ordinary packets of
 * established flows are answered by the per-CPU flow cache
 * (bpf/flowcache.h) when it has them. */
static __always_inline int rp_ct_track(const struct rp_config *cfg, const struct rp_pkt *p, struct ct_key *k,
				       int *src_is_a, __u64 now)
{
	*src_is_a = rp_ct_key(k, p->saddr, p->sport, p->daddr, p->dport, p->proto);
	__u32 h = rp_fc_hash(k);
	int cacheable = p->frag == RP_FRAG_NONE && !(p->tcp_flags & (RP_TCP_SYN | RP_TCP_FIN | RP_TCP_RST));
	if (cacheable && rp_fc_hit(k, h, p->tcp_flags, now))
		return RP_CT_PASS;
	__u32 gen = rp_ct_gen_read(h); /* before the lookup: see flowcache.h */
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, k);
	if (v) {
		if (rp_ct_expired(cfg, v, now)) {
			bpf_map_delete_elem(&rp_conntrack, k);
			rp_ct_gen_bump(h);
			v = 0;
		}
	}
	if (!v) {
		if ((p->proto == RP_IPPROTO_ICMP || p->proto == RP_IPPROTO_ICMPV6) && p->icmp_type && !p->is_echo)
			return RP_CT_STATELESS;
		/* ICMPv6 type 0 (reserved); ICMPv6 in IPv4 is a plain protocol, tracked */
		if (p->proto == RP_IPPROTO_ICMPV6 && p->family == 6 && !p->is_echo)
			return RP_CT_STATELESS;
		return rp_ct_can_start(p) ? RP_CT_NEW : RP_CT_INVALID;
	}
	int from_orig = !!(v->flags & CT_F_ORIG_IS_A) == *src_is_a;
	if (p->proto == RP_IPPROTO_TCP) {
		__u8 st0 = v->state;
		int r = rp_ct_tcp(v, p, from_orig, now);
		if (r == RP_CT_NEW) {
			bpf_map_delete_elem(&rp_conntrack, k);
			rp_ct_gen_bump(h);
		} else if (st0 == CT_TCP_ESTABLISHED && v->state != CT_TCP_ESTABLISHED) {
			rp_ct_gen_bump(h); /* FIN or RST: cached copies are stale */
		} else if (r == RP_CT_PASS && cacheable && v->state == CT_TCP_ESTABLISHED) {
			rp_fc_fill(k, h, gen, rp_fc_until(cfg, v), v->fast_gen);
		}
		return r;
	}
	if (!from_orig && !(v->flags & CT_F_REPLIED)) {
		v->flags |= CT_F_REPLIED;
		if (now > v->last_seen_ns)
			v->last_seen_ns = now;
	} else if (now > v->last_seen_ns + RP_NSEC) {
		v->last_seen_ns = now;
	}
	/* both directions seen: nothing but time changes the entry any more */
	if (cacheable && (v->flags & CT_F_REPLIED))
		rp_fc_fill(k, h, gen, rp_fc_until(cfg, v), v->fast_gen);
	return RP_CT_PASS;
}

/* Is this ICMP error about a tracked flow, and addressed to the endpoint
 * that sent the quoted packet? */
static __always_inline int rp_ct_related(const struct rp_config *cfg, const struct rp_pkt *p, __u64 now,
					 struct ct_key *kbuf)
{
	struct ct_key *kp = kbuf;
	if (p->icmp_err != RP_ICMPERR_INNER)
		return 0;
	if (p->daddr[0] != p->in_saddr[0] || p->daddr[1] != p->in_saddr[1] || p->daddr[2] != p->in_saddr[2] ||
	    p->daddr[3] != p->in_saddr[3])
		return 0;
	rp_ct_key(kp, p->in_saddr, p->in_sport, p->in_daddr, p->in_dport, p->in_proto);
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, kp);
	if (!v || rp_ct_expired(cfg, v, now))
		return 0;
	return 1;
}

/* ---------- the sweeper ---------- */

struct rp_sweep_ctx {
	const struct rp_config *cfg;
	__u64 now;
	__u64 deleted;
};

static long rp_sweep_elem(struct bpf_map *map, struct ct_key *k, struct ct_value *v, struct rp_sweep_ctx *c)
{
	if (rp_ct_expired(c->cfg, v, c->now)) {
		if (bpf_map_delete_elem(map, k) == 0) {
			c->deleted++;
			rp_ct_gen_bump(rp_fc_hash(k));
		}
	}
	return 0;
}

static __always_inline __u64 rp_sweep_interval(const struct rp_config *cfg)
{
	return cfg->sweep_interval_ns ? cfg->sweep_interval_ns : 5 * RP_NSEC;
}

#endif
