/* Connection tracking in BPF maps, IPv4 and IPv6 in one key space.
 *
 * The key is canonical (endpoints ordered), so the XDP ingress program of
 * one interface and the tc egress program of another find the same entry
 * for both directions of a flow.
 *
 * Two tables, so that a flood of flows nobody answers can never evict or
 * block the flows that work (netfilter's early drop of unassured entries):
 *   rp_ct_new     LRU hash, conntrack-size entries: flows that have not
 *                 shown they are wanted yet (TCP before its handshake
 *                 completed; UDP and the rest before a reply and
 *                 RP_CT_ASSURE_NS of life).  When it is full the least
 *                 recently used of them goes, and while it is at least half
 *                 full its entries expire after RP_CT_PRESSURE_TIMEOUT_NS
 *                 idle (the sweeper decides).
 *   rp_conntrack  plain (preallocated) hash, conntrack-size entries: the
 *                 others, never evicted.  A flow moves here when it earns
 *                 it; when it is full the flow stays in rp_ct_new (counted).
 * A new flow is never allowed untracked.  Expired entries are deleted
 * lazily when a lookup finds them and by a sweeper: a bpf_timer in
 * rp_sweeper whose callback walks both tables every sweep interval.
 *
 * TCP: sequence numbers and windows are tracked per endpoint (struct
 * ct_tcp_peer, after netfilter's tcp_in_window), and a segment that would
 * change the state must fit them, so a blind attacker cannot close or
 * replace a flow (RFC 5961):
 *   - RST: closes only at the exact expected sequence number (what the
 *     receiver acknowledged last, or the sender's next); in the window
 *     otherwise: passed to the endpoint, which answers with a challenge
 *     ACK, state unchanged (pass-tcp-rst-in-window); outside it, or below
 *     what the receiver acknowledged: dropped (drop-tcp-out-of-window).
 *     In syn-sent a RST must acknowledge the SYN exactly.
 *   - SYN on a synchronized flow: passed (the endpoint answers it with a
 *     challenge ACK), state unchanged (pass-tcp-syn-in-flow).  Only in
 *     time-wait and closed, which only validated segments reach, does a
 *     SYN start a new flow.
 *   - SYN-ACK: must acknowledge the SYN exactly; a retransmitted SYN or
 *     SYN-ACK must repeat its numbers.
 *   - FIN, and every segment after the handshake until time-wait: inside
 *     the window (sequence number not beyond what the receiver allowed
 *     nor older than a window, ack not beyond what the other side sent
 *     nor older than a window).
 *   - Ordinary segments of an established flow cannot change the state,
 *     but they move the tracked numbers: inside the window too, else
 *     dropped.  The per-CPU flow cache passes most of them, only within a
 *     window of what it saw, and the numbers it passed are folded in
 *     before they matter (bpf/flowcache.h).
 */
#ifndef RP_CONNTRACK_H
#define RP_CONNTRACK_H

#include "rampart_maps.h"
#include "parse.h"
#include "flowcache.h"
#include "log.h"
#include "config.h"

#ifndef RP_CT_DEFAULT_SIZE
#define RP_CT_DEFAULT_SIZE 65536
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_CT_DEFAULT_SIZE); /* the loader sets conntrack-size */
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} RP_MAP_CONNTRACK SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RP_CT_DEFAULT_SIZE); /* the loader sets conntrack-size */
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} RP_MAP_CT_NEW SEC(".maps");

/* Size of rp_ct_new (the loader sets it with the map's size). */
const volatile __u32 rp_ct_new_capacity = RP_CT_DEFAULT_SIZE;

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
	__u64 half_open;     /* entries left in rp_ct_new after the last walk */
	__u32 armed;
	__u32 pressure; /* rp_ct_new was at least half full at the last walk */
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
	RP_CT_PASS = 0,	     /* packet of a tracked flow */
	RP_CT_NEW,	     /* no flow; this packet may start one: judge it */
	RP_CT_INVALID,	     /* no flow and cannot start one */
	RP_CT_BAD_STATE,     /* tracked, but impossible in the flow's state */
	RP_CT_STATELESS,     /* ICMP informational other than echo: judged each time, not tracked */
	RP_CT_OUT_OF_WINDOW, /* TCP: would change the state, but does not fit the window: drop */
	RP_CT_RST_IGNORED,   /* TCP: RST in the window, not exact: pass, state unchanged */
	RP_CT_SYN_IGNORED,   /* TCP: SYN on a synchronized flow: pass, state unchanged */
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

/* ---------- time ---------- */

static __always_inline __u64 rp_ct_timeout(const struct rp_config *cfg, __u8 state)
{
	if (state >= CT_STATE_COUNT)
		return 0;
	return cfg->timeout_ns[state];
}

static __always_inline int rp_ct_idle_over(const struct ct_value *v, __u64 now, __u64 timeout)
{
	return now > v->last_seen_ns && now - v->last_seen_ns > timeout;
}

static __always_inline int rp_ct_expired(const struct rp_config *cfg, const struct ct_value *v, __u64 now)
{
	return rp_ct_idle_over(v, now, rp_ct_timeout(cfg, v->state));
}

/* An entry of rp_ct_new: its state's timeout, shortened while the table
 * is under pressure. */
static __always_inline __u64 rp_ct_new_timeout(const struct rp_config *cfg, const struct ct_value *v, int pressure)
{
	__u64 to = rp_ct_timeout(cfg, v->state);
	return pressure && to > RP_CT_PRESSURE_TIMEOUT_NS ? RP_CT_PRESSURE_TIMEOUT_NS : to;
}

static __always_inline int rp_ct_pressure(void)
{
	__u32 zero = 0;
	struct rp_sweeper *sw = bpf_map_lookup_elem(&rp_sweeper, &zero);
	return sw && sw->pressure;
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

/* ---------- TCP sequence numbers and windows ---------- */

/* The sequence number after the segment (SYN and FIN count one). */
static __always_inline __u32 rp_tcp_end(const struct rp_pkt *p, __u32 seq)
{
	return seq + rp_tcp_payload(p) + !!(p->tcp_flags & RP_TCP_SYN) + !!(p->tcp_flags & RP_TCP_FIN);
}

/* An endpoint's SYN (or SYN-ACK): where its sequence space starts. */
static __always_inline void rp_tcp_peer_init(struct ct_tcp_peer *t, const struct rp_pkt *p)
{
	__u32 end = rp_tcp_end(p, bpf_ntohl(p->seq));
	t->end = end;
	t->maxend = end;
	t->maxwin = p->tcp_win ? p->tcp_win : 1;
	t->maxack = 0;
	t->wscale = p->wscale != RP_WSCALE_NONE ? p->wscale : 0;
	t->flags = CT_TP_SEEN | (p->wscale != RP_WSCALE_NONE ? CT_TP_WSCALE : 0);
}

/* Fits the segment (seq .. end, acknowledging ack) both endpoints'
 * windows?  netfilter's four tcp_in_window conditions. */
static __always_inline int rp_tcp_in_window(const struct ct_tcp_peer *s, const struct ct_tcp_peer *r, __u32 seq,
					    __u32 end, __u32 ack)
{
	__u32 maxackwin = s->maxwin > 66000 ? s->maxwin : 66000;
	return !rp_seq_after(seq, s->maxend) &&		    /* not beyond what the receiver allowed */
	       rp_seq_after(end, s->end - r->maxwin - 1) && /* not older than the receiver's window */
	       !rp_seq_after(ack, r->end) &&		    /* acknowledges nothing not sent */
	       rp_seq_after(ack, r->end - maxackwin - 1);   /* nor anything older than a window */
}

/* Move the tracked numbers with a segment from s to r (ack: its ack, or
 * r->end without ACK).  netfilter's updates after tcp_in_window. */
static __always_inline void rp_tcp_note(struct ct_tcp_peer *s, struct ct_tcp_peer *r, const struct rp_pkt *p, __u32 end,
					__u32 ack)
{
	__u32 win = p->tcp_win;
	if (!(p->tcp_flags & RP_TCP_SYN))
		win <<= s->wscale & 15;
	if (s->maxwin < win)
		s->maxwin = win;
	if (rp_seq_after(end, s->end))
		s->end = end;
	if (p->tcp_flags & RP_TCP_ACK) {
		if (!(s->flags & CT_TP_MAXACK) || rp_seq_after(ack, s->maxack)) {
			s->maxack = ack;
			s->flags |= CT_TP_MAXACK;
		}
	}
	if ((r->flags & CT_TP_SEEN) && rp_seq_after(end, s->maxend))
		r->maxwin += end - s->maxend;
	if (rp_seq_after(ack + win, r->maxend - 1))
		r->maxend = ack + win + (win == 0);
}

/* A RST from s.  Returns RP_CT_PASS with the flow closed, or why not. */
static __always_inline int rp_ct_tcp_rst(struct ct_value *v, struct ct_tcp_peer *s, struct ct_tcp_peer *r,
					 const struct rp_pkt *p, int from_orig, __u32 seq, __u32 ack)
{
	__u8 st = v->state;
	if (st == CT_TCP_CLOSED)
		return RP_CT_PASS;
	if (st == CT_TCP_SYN_SENT) {
		/* RFC 793: acceptable in syn-sent when it acknowledges the SYN */
		if (from_orig ? seq != s->end : (!(p->tcp_flags & RP_TCP_ACK) || ack != r->end))
			return RP_CT_OUT_OF_WINDOW;
		return RP_CT_PASS;
	}
	/* synchronized: exactly where the receiver expects it (what it
	 * acknowledged last), or at the sender's next sequence number */
	if (seq == s->end || ((r->flags & CT_TP_MAXACK) && seq == r->maxack))
		return RP_CT_PASS;
	if ((r->flags & CT_TP_MAXACK) && rp_seq_after(r->maxack, seq))
		return RP_CT_OUT_OF_WINDOW; /* below what the receiver already has */
	if (rp_tcp_in_window(s, r, seq, seq, ack))
		return RP_CT_RST_IGNORED; /* RFC 5961 3.2: the endpoint sends a challenge ACK */
	return RP_CT_OUT_OF_WINDOW;
}

/* TCP state machine for a segment of a tracked flow.  from_orig: sent by
 * the endpoint that opened the flow; si: the sender is endpoint b (1) or
 * a (0) of the key.  Returns RP_CT_PASS, RP_CT_NEW when a fresh SYN reuses
 * the ports of a finished flow, or why the segment does not belong
 * (RP_CT_BAD_STATE, RP_CT_OUT_OF_WINDOW: dropped) or is passed without
 * changing anything (RP_CT_RST_IGNORED, RP_CT_SYN_IGNORED). */
static __always_inline int rp_ct_tcp(struct ct_value *v, const struct rp_pkt *p, int from_orig, int si, __u64 now)
{
	__u8 fl = p->tcp_flags;
	__u8 syn = fl & RP_TCP_SYN, ack = fl & RP_TCP_ACK, fin = fl & RP_TCP_FIN;
	__u8 st = v->state, nst = st;
	__u8 flags = v->flags;
	struct ct_tcp_peer *s = si ? &v->tcp[1] : &v->tcp[0];
	struct ct_tcp_peer *r = si ? &v->tcp[0] : &v->tcp[1];
	__u32 seq = bpf_ntohl(p->seq), end = rp_tcp_end(p, seq);
	__u32 ackn = ack ? bpf_ntohl(p->ack_seq) : r->end;

	/* the common case first: an ordinary segment of an established
	 * connection (it cannot change the state) */
	if (st == CT_TCP_ESTABLISHED && !(fl & (RP_TCP_SYN | RP_TCP_FIN | RP_TCP_RST))) {
		if (!rp_tcp_in_window(s, r, seq, end, ackn))
			return RP_CT_OUT_OF_WINDOW;
		rp_tcp_note(s, r, p, end, ackn);
		if (now > v->last_seen_ns + RP_NSEC)
			v->last_seen_ns = now;
		return RP_CT_PASS;
	}
	if (!from_orig)
		flags |= CT_F_REPLIED;
	if (fl & RP_TCP_RST) {
		int res = rp_ct_tcp_rst(v, s, r, p, from_orig, seq, ackn);
		if (res != RP_CT_PASS)
			return res;
		nst = CT_TCP_CLOSED;
		goto out;
	}
	switch (st) {
	case CT_TCP_SYN_SENT:
		if (from_orig) {
			if (!(syn && !ack))
				return RP_CT_BAD_STATE; /* nothing but SYN before the SYN-ACK */
			if (end != s->end)
				rp_tcp_peer_init(s, p); /* a new initial sequence number: tried again */
			break;
		}
		if (!syn)
			return RP_CT_BAD_STATE; /* stray ACK/data to an unanswered SYN */
		if (ack && ackn != r->end)
			return RP_CT_OUT_OF_WINDOW; /* a SYN-ACK acknowledges the SYN, exactly */
		/* SYN-ACK, or SYN of a simultaneous open */
		rp_tcp_peer_init(s, p);
		s->maxend = s->end + r->maxwin; /* what the SYN's window allows */
		if (!(s->flags & CT_TP_WSCALE) || !(r->flags & CT_TP_WSCALE))
			s->wscale = r->wscale = 0; /* scaling only when both announced it (RFC 7323) */
		rp_tcp_note(s, r, p, end, ackn);
		nst = CT_TCP_SYN_RECV;
		break;
	case CT_TCP_SYN_RECV:
		if (syn) {
			/* a retransmitted SYN or SYN-ACK repeats its numbers */
			if (end != s->end || (ack && ackn != r->end))
				return RP_CT_OUT_OF_WINDOW;
			break;
		}
		if (!rp_tcp_in_window(s, r, seq, end, ackn))
			return RP_CT_OUT_OF_WINDOW;
		rp_tcp_note(s, r, p, end, ackn);
		if (fin) {
			flags |= from_orig ? CT_F_FIN_ORIG : CT_F_FIN_REPLY;
			nst = CT_TCP_FIN_WAIT;
		} else if (ack) {
			nst = CT_TCP_ESTABLISHED;
		}
		break;
	case CT_TCP_ESTABLISHED:
	case CT_TCP_FIN_WAIT:
	case CT_TCP_CLOSING:
		if (syn)
			return RP_CT_SYN_IGNORED; /* RFC 5961 4: the endpoint sends a challenge ACK */
		if (!rp_tcp_in_window(s, r, seq, end, ackn))
			return RP_CT_OUT_OF_WINDOW;
		rp_tcp_note(s, r, p, end, ackn);
		if (fin)
			flags |= from_orig ? CT_F_FIN_ORIG : CT_F_FIN_REPLY;
		if (st == CT_TCP_CLOSING) {
			if (ack && !fin)
				nst = CT_TCP_TIME_WAIT;
		} else if ((flags & (CT_F_FIN_ORIG | CT_F_FIN_REPLY)) == (CT_F_FIN_ORIG | CT_F_FIN_REPLY)) {
			nst = CT_TCP_CLOSING;
		} else if (fin) {
			nst = CT_TCP_FIN_WAIT;
		}
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

/* A new flow's first packet: the originator's side of a TCP flow starts
 * with its SYN. */
static __always_inline void rp_ct_init_value(struct ct_value *v, const struct rp_pkt *p, int src_is_a)
{
	if (p->proto == RP_IPPROTO_TCP)
		rp_tcp_peer_init(src_is_a ? &v->tcp[0] : &v->tcp[1], p);
}

/* ---------- lookups ---------- */

/* How long the flow cache may answer for v: until the conntrack would
 * refresh last-seen (1 s), and never past the state's timeout. */
static __always_inline __u64 rp_fc_until(const struct rp_config *cfg, const struct ct_value *v)
{
	__u64 to = rp_ct_timeout(cfg, v->state);
	return v->last_seen_ns + (to < RP_NSEC ? to : RP_NSEC);
}

/* This CPU's flow cache answers for flow k (conntrack entry v) from now
 * on.  hg: the key's hash (high half) and the generation read before the
 * lookup; kept: this slow path took numbers of this CPU's entry of the
 * flow (rp_fc_fill).  An entry of another flow in the slot may hold
 * numbers its conntrack entry lacks: taken first.  Global: verified once,
 * and the programs that inline the lookups stay small. */
__noinline int rp_ct_cache(const struct ct_key *k, __u64 hg, __u64 valid_until, const struct ct_value *v, int kept)
{
	if (!k || !v)
		return 0;
	struct rp_fc_entry *e = rp_fc_slot_entry(hg >> 32);
	if (!e)
		return 0;
	if (rp_fc_pushes_out(e, k)) {
		struct ct_value *o = bpf_map_lookup_elem(&rp_conntrack, &e->key);
		if (o && o->state == CT_TCP_ESTABLISHED)
			rp_fc_take(o, e); /* only when e is of o's flow (created_ns) */
	}
	rp_fc_fill(e, k, (__u32)hg, valid_until, v, kept);
	return 0;
}

/* The flow has earned its place in rp_conntrack: copy it there and mark
 * v CT_F_MOVED (the sweeper deletes it).  Returns 0, 1 when another CPU
 * had copied it first (what this packet changed in v is not in that copy)
 * or -1 when rp_conntrack is full (the flow stays where it is, counted
 * once). */
static __always_inline int rp_ct_promote(const struct ct_key *k, struct ct_value *v)
{
	long e = bpf_map_update_elem(&rp_conntrack, k, v, BPF_NOEXIST);
	if (e && e != -17 /* EEXIST: another CPU moved it just now */) {
		if (!(v->flags & CT_F_NO_ROOM)) {
			v->flags |= CT_F_NO_ROOM;
			rp_count(RPC_CT_ESTABLISHED_FULL);
		}
		return -1;
	}
	v->flags |= CT_F_MOVED;
	return e ? 1 : 0;
}

/* The flow of key k in either table, expired ones deleted.  *assured: it
 * was found in rp_conntrack. */
static __always_inline struct ct_value *rp_ct_find(const struct rp_config *cfg, const struct ct_key *k, __u32 h,
						   __u64 now, int *assured)
{
	struct ct_value *v = bpf_map_lookup_elem(&rp_conntrack, k);
	*assured = 1;
	if (v) {
		if (!rp_ct_expired(cfg, v, now))
			return v;
		bpf_map_delete_elem(&rp_conntrack, k);
		rp_ct_gen_bump(h);
	}
	*assured = 0;
	v = bpf_map_lookup_elem(&rp_ct_new, k);
	if (v && rp_ct_idle_over(v, now, rp_ct_new_timeout(cfg, v, rp_ct_pressure()))) {
		bpf_map_delete_elem(&rp_ct_new, k);
		v = 0;
	}
	if (!v || (v->flags & CT_F_MOVED)) {
		/* another CPU may have moved the flow between the two lookups
		 * (rp_ct_promote copies, then marks): look once more */
		v = bpf_map_lookup_elem(&rp_conntrack, k);
		*assured = !!v;
	}
	return v;
}

/* Does a segment from endpoint si fit the flow's windows as this entry
 * knows them? */
static __always_inline int rp_tcp_fits(const struct ct_value *v, const struct rp_pkt *p, int si)
{
	const struct ct_tcp_peer *s = si ? &v->tcp[1] : &v->tcp[0];
	const struct ct_tcp_peer *r = si ? &v->tcp[0] : &v->tcp[1];
	__u32 seq = bpf_ntohl(p->seq);
	__u32 ack = (p->tcp_flags & RP_TCP_ACK) ? bpf_ntohl(p->ack_seq) : r->end;
	return rp_tcp_in_window(s, r, seq, rp_tcp_end(p, seq), ack);
}

/* The time the datapath goes by: the sweeper's tick, or the real clock
 * while no timer runs (no flow was ever created, so nothing to compare
 * with). */
static __always_inline __u64 rp_ct_clock(void)
{
	__u32 zero = 0;
	struct rp_sweeper *sw = bpf_map_lookup_elem(&rp_sweeper, &zero);
	if (sw && sw->clock_ns)
		return sw->clock_ns;
	return bpf_ktime_get_coarse_ns();
}

#define RP_CTT_ASSURED	 0x1 /* v is in rp_conntrack */
#define RP_CTT_FROM_ORIG 0x2 /* sent by the flow's originator */
#define RP_CTT_SI	 0x4 /* sent by endpoint b of the key */
#define RP_CTT_CACHE	 0x8 /* may fill the flow cache */

/* A TCP segment of a tracked flow.  hg: the key's hash (high half) and
 * the generation read before the lookup; bits: RP_CTT_*.  Global: verified
 * once, on its own stack (the programs' stacks are full). */
__noinline int rp_ct_track_tcp(const struct rp_pkt *p, struct ct_value *v, const struct ct_key *k, __u64 hg, __u32 bits)
{
	struct rp_config *cfg = rp_config_own(); /* this generation's timeouts (slot 0 is every other one's) */
	if (!p || !v || !k || !cfg)
		return RP_CT_BAD_STATE;
	__u32 h = hg >> 32, gen = (__u32)hg;
	int assured = bits & RP_CTT_ASSURED, si = !!(bits & RP_CTT_SI);
	__u64 now = rp_ct_clock();
	__u8 st0 = v->state;
	int cached = assured && st0 == CT_TCP_ESTABLISHED; /* caches may hold its numbers */
	struct rp_fc_blocks blocks = {};
	int kept = 0;
	if (cached) {
		/* what the flow caches passed: this CPU's always; every CPU's
		 * before a segment that may close the flow is checked, and when
		 * one does not fit what this CPU knows */
		rp_fc_blocks_of(&blocks, v);
		kept = rp_fc_take_local(v, k, h);
		if ((p->tcp_flags & (RP_TCP_FIN | RP_TCP_RST)) || !rp_tcp_fits(v, p, si))
			rp_fc_take_all(v, k, h);
	}
	int r = rp_ct_tcp(v, p, !!(bits & RP_CTT_FROM_ORIG), si, now);
	/* a number entered another block: every CPU's entry, while none can
	 * be far behind (flowcache.h) */
	if (cached && r == RP_CT_PASS && rp_fc_blocks_moved(&blocks, v))
		rp_fc_take_all(v, k, h);
	int moved = 0;
	if (r == RP_CT_NEW) {
		bpf_map_delete_elem(assured ? (void *)&rp_conntrack : (void *)&rp_ct_new, k);
		if (assured)
			rp_ct_gen_bump(h);
	} else if (r != RP_CT_PASS) {
		/* nothing changed */
	} else if (v->state != CT_TCP_ESTABLISHED) {
		if (cached)
			rp_ct_gen_bump(h); /* FIN or RST: cached copies are stale */
		else if (!assured)
			moved = v->flags & CT_F_MOVED;
	} else if (!assured) {
		moved = rp_ct_promote(k, v) == 1; /* the handshake completed */
	} else if (bits & RP_CTT_CACHE) {
		rp_ct_cache(k, (__u64)h << 32 | gen, rp_fc_until(cfg, v), v, kept);
	}
	/* A segment read from rp_ct_new while another CPU moved the flow to
	 * rp_conntrack (the handshake's last ACK and the first data cross on
	 * two CPUs): this segment's numbers went into the copy left behind.
	 * Track it again where the flow lives now, or its sender's numbers
	 * stay short and what the peer acknowledges next looks out of window. */
	if (moved) {
		struct ct_value *a = bpf_map_lookup_elem(&rp_conntrack, k);
		if (a)
			r = rp_ct_tcp(a, p, !!(bits & RP_CTT_FROM_ORIG), si, now);
	}
	return r;
}

/* Look the packet's flow up and advance its state.  *k is filled with the
 * flow's key, *src_is_a with the packet's side.  Ordinary packets of
 * established flows are answered by the per-CPU flow cache
 * (bpf/flowcache.h) when it has them. */
static __always_inline int rp_ct_track(const struct rp_config *cfg, const struct rp_pkt *p, struct ct_key *k,
				       int *src_is_a, __u64 now)
{
	*src_is_a = rp_ct_key(k, p->saddr, p->sport, p->daddr, p->dport, p->proto);
	int si = !*src_is_a;
	__u32 h = rp_flow_hash(k);
	int cacheable = p->frag == RP_FRAG_NONE && !(p->tcp_flags & (RP_TCP_SYN | RP_TCP_FIN | RP_TCP_RST));
	if (cacheable && rp_fc_hit(k, h, p, si, now))
		return RP_CT_PASS;
	__u32 gen = rp_ct_gen_read(h); /* before the lookup: see flowcache.h */
	int assured;
	struct ct_value *v = rp_ct_find(cfg, k, h, now, &assured);
	if (!v) {
		if ((p->proto == RP_IPPROTO_ICMP || p->proto == RP_IPPROTO_ICMPV6) && p->icmp_type && !p->is_echo)
			return RP_CT_STATELESS;
		/* ICMPv6 type 0 (reserved); ICMPv6 in IPv4 is a plain protocol, tracked */
		if (p->proto == RP_IPPROTO_ICMPV6 && p->family == 6 && !p->is_echo)
			return RP_CT_STATELESS;
		return rp_ct_can_start(p) ? RP_CT_NEW : RP_CT_INVALID;
	}
	int from_orig = !!(v->flags & CT_F_ORIG_IS_A) == *src_is_a;
	if (p->proto == RP_IPPROTO_TCP)
		return rp_ct_track_tcp(p, v, k, (__u64)h << 32 | gen,
				       (assured ? RP_CTT_ASSURED : 0) | (from_orig ? RP_CTT_FROM_ORIG : 0) |
					       (si ? RP_CTT_SI : 0) | (cacheable ? RP_CTT_CACHE : 0));
	if (!from_orig && !(v->flags & CT_F_REPLIED)) {
		v->flags |= CT_F_REPLIED;
		if (now > v->last_seen_ns)
			v->last_seen_ns = now;
	} else if (now > v->last_seen_ns + RP_NSEC) {
		v->last_seen_ns = now;
	}
	if (!(v->flags & CT_F_REPLIED))
		return RP_CT_PASS;
	if (!assured) {
		/* answered, and still going after a while: a stream, not a probe */
		if (now > v->created_ns + RP_CT_ASSURE_NS)
			rp_ct_promote(k, v);
	} else if (cacheable) {
		/* both directions seen: nothing but time changes the entry any more */
		rp_ct_cache(k, (__u64)h << 32 | gen, rp_fc_until(cfg, v), v, 0);
	}
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
	if (v && !rp_ct_expired(cfg, v, now))
		return 1;
	v = bpf_map_lookup_elem(&rp_ct_new, kp);
	return v && !rp_ct_expired(cfg, v, now);
}

/* ---------- the sweeper ---------- */

struct rp_sweep_ctx {
	const struct rp_config *cfg;
	__u64 now;
	__u64 deleted;
	int pressure;
};

static long rp_sweep_elem(struct bpf_map *map, struct ct_key *k, struct ct_value *v, struct rp_sweep_ctx *c)
{
	if (rp_ct_expired(c->cfg, v, c->now)) {
		if (bpf_map_delete_elem(map, k) == 0) {
			c->deleted++;
			rp_ct_gen_bump(rp_flow_hash(k));
		}
	}
	return 0;
}

/* rp_ct_new: never cached, so no generation to bump; the copies of moved
 * flows go too (no program holds one a sweep interval later) */
static long rp_sweep_new_elem(struct bpf_map *map, struct ct_key *k, struct ct_value *v, struct rp_sweep_ctx *c)
{
	int moved = v->flags & CT_F_MOVED;
	if ((moved || rp_ct_idle_over(v, c->now, rp_ct_new_timeout(c->cfg, v, c->pressure))) &&
	    bpf_map_delete_elem(map, k) == 0 && !moved)
		c->deleted++;
	return 0;
}

static __always_inline __u64 rp_sweep_interval(const struct rp_config *cfg)
{
	return cfg->sweep_interval_ns ? cfg->sweep_interval_ns : 5 * RP_NSEC;
}

#endif
