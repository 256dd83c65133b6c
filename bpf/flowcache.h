/* The established-flow cache: a per-CPU, direct-mapped copy of "this flow
 * is tracked and its next ordinary packet passes", in front of the
 * conntrack hash table.
 *
 * Why: a hash-map lookup is a call into the kernel (jhash over the 40-byte
 * key, bucket walk, memcmp), and calls and returns are what costs most on
 * CPUs with return-stack mitigations (AMD "Safe RET").  Array lookups are
 * inlined by the verifier, so a hit here costs a few loads and compares.
 *
 * Correctness: the cache only answers PASS, and only when the conntrack
 * would answer PASS without changing anything:
 *   - filled after the conntrack passed the packet, only for a TCP flow in
 *     ESTABLISHED or a UDP/other/ICMP-echo flow that has seen its reply
 *     (states where the conntrack's answer does not depend on direction);
 *   - TCP segments with SYN, FIN or RST are never answered here (they may
 *     change the state), nor are fragments (a first fragment must be
 *     remembered in rp_frags);
 *   - an entry is valid only until the flow's last-seen time + min(1 s,
 *     the state's timeout): the conntrack refreshes last-seen when it moved
 *     by more than a second, so from then on the slow path runs again,
 *     refreshes it and re-fills the slot; an entry can never outlive the
 *     flow's own timeout;
 *   - a TCP segment it passes cannot change the state, but it moves the
 *     flow's sequence numbers: it is answered only within a window of
 *     what this CPU saw (see struct rp_fc_entry), the entry notes the
 *     highest end and ack of each endpoint, and the conntrack folds them
 *     in, so its window checks know what the caches passed.  Those numbers
 *     are never lost: an entry is folded in whatever happened to the
 *     generation since (they are facts about segments that passed) as long
 *     as it is of the same flow (its created_ns, kept in the entry), an
 *     entry another flow's fill pushes out is folded into its flow first,
 *     and the map is shared by applies.  A lost number would be a flow
 *     whose peer acknowledges data the conntrack never saw: dropped as out
 *     of window, with every retransmission, until the connection dies (an
 *     idle request-response connection such as FTP's control connection
 *     or iperf3's, after an apply or a generation counter shared with a
 *     closing flow);
 *   - nor may an old number come back: sequence numbers compare modulo
 *     2^32, so an entry left behind on a CPU the flow no longer uses would
 *     look ahead again once the flow is more than 2 GB further, and
 *     folded in it would move the flow back (its next segments out of
 *     window).  So an entry is folded only while it has numbers no fold
 *     took yet (noted != folded), and the conntrack takes every CPU's
 *     whenever one of its numbers enters another 64 MB block
 *     (RP_FC_BLOCK_SHIFT); a hit never takes an entry's numbers out of
 *     their block, so no cache runs more than a block ahead of the
 *     conntrack either.  An entry's numbers are thus taken while they are
 *     at most three blocks and two windows behind the flow's, less than
 *     2 GB for windows below 900 MB (the largest, scale 14, is 1 GB);
 *   - every deletion or state change of a conntrack entry (BPF or user
 *     space) bumps a generation counter chosen by the flow's hash
 *     (rp_ct_gen, shared by all CPUs and pinned with the state maps); an
 *     entry remembers the generation it was filled under (read before the
 *     conntrack lookup) and is ignored once it moved.
 * Modes, neighbour discovery, fragments and ICMP errors are decided before
 * the conntrack, so before this cache too.
 */
#ifndef RP_FLOWCACHE_H
#define RP_FLOWCACHE_H

#include "rampart_maps.h"
#include "parse.h"

/* RP_FC_SLOTS (include/rampart_maps.h) slots per CPU, 88 bytes each */
struct rp_fc_entry {
	struct ct_key key __attribute__((aligned(8)));
	__u32 gen;    /* rp_ct_gen[slot] when filled */
	__u8 wscales; /* TCP: endpoint a's window scale (low 4 bits) and b's */
	/* TCP: end or ack may be ahead of the conntrack entry while noted !=
	 * folded.  This CPU moves noted when it notes a number; a fold (by
	 * any CPU) sets folded to the noted it read before the numbers: a
	 * number noted meanwhile stays to be folded */
	__u8 folded;
	__u8 fast_gen; /* the conntrack entry's fast-path stamp (bpf/fastpath.h) */
	__u8 noted;
	__u64 valid_until;  /* coarse ns; 0: empty */
	__u64 flow_created; /* the flow's created_ns: which flow of this key it is */
	/* TCP, per endpoint (a, b of the key): the highest sequence end and
	 * ack it sent through this CPU's cache (from the conntrack entry when
	 * filled), and its largest window then.  A segment is answered here
	 * only when it stays within a window of them and opens no larger
	 * window; the conntrack folds these numbers in (this CPU's on its slow
	 * path, every CPU's before a SYN, FIN or RST is checked, or when a
	 * segment does not fit this CPU's view), so its window checks know
	 * what the caches passed */
	__u32 end[2];
	__u32 ack[2];
	__u32 win[2];
};

/* The 40-byte key read as five 64-bit words (keys are 8-byte aligned:
 * rp_scratch.k, rp_fc_entry.key, hash-map keys). */
_Static_assert(sizeof(struct ct_key) == 40, "ct_key: five 64-bit words");
_Static_assert(sizeof(struct rp_fc_entry) == 88, "struct rp_fc_entry layout");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_FC_SLOTS);
	__type(key, __u32);
	__type(value, struct rp_fc_entry);
} RP_MAP_FLOW_CACHE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_CT_GEN_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} RP_MAP_CT_GEN SEC(".maps");

/* rp_flow_hash (include/rampart_maps.h, where the tests find it too)
 * picks the cache slot (high bits) and the generation slot (low bits). */

/* This CPU's slot for the key of hash h. */
static __always_inline struct rp_fc_entry *rp_fc_slot_entry(__u32 h)
{
	__u32 slot = rp_flow_cache_slot(h);
	return bpf_map_lookup_elem(&rp_flow_cache, &slot);
}

static __always_inline __u32 rp_ct_gen_slot(__u32 h)
{
	return h & (RP_CT_GEN_SLOTS - 1);
}

/* Read the generation before looking at the conntrack entry: a change
 * made after this read bumps it, and the entry filled now is stale. */
static __always_inline __u32 rp_ct_gen_read(__u32 h)
{
	__u32 s = rp_ct_gen_slot(h);
	__u32 *g = bpf_map_lookup_elem(&rp_ct_gen, &s);
	return g ? *(volatile __u32 *)g : 0;
}

/* After a conntrack entry was deleted or left a cacheable state. */
static __always_inline void rp_ct_gen_bump(__u32 h)
{
	__u32 s = rp_ct_gen_slot(h);
	__u32 *g = bpf_map_lookup_elem(&rp_ct_gen, &s);
	if (g)
		__sync_fetch_and_add(g, 1);
}

static __always_inline int rp_fc_key_eq(const struct ct_key *x, const struct ct_key *y)
{
	const rp_flow_word *a = (const rp_flow_word *)x, *b = (const rp_flow_word *)y;
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* a is after b in sequence space (RFC 1982 arithmetic, as the kernel's after()) */
static __always_inline int rp_seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

/* Bytes of TCP payload in the packet. */
static __always_inline __u32 rp_tcp_payload(const struct rp_pkt *p)
{
	return p->l3end - p->l4off - p->l4hlen;
}

/* |x - y| <= w in sequence space (w < 2^31) */
static __always_inline int rp_seq_near(__u32 x, __u32 y, __u32 w)
{
	return x - y + w <= 2 * w;
}

/* Sequence space in blocks of 64 MB: a cache answers only within the
 * blocks of the numbers it has, and the conntrack folds every CPU's entry
 * in when one of its numbers enters another block (see the top). */
#define RP_FC_BLOCK_SHIFT 26

/* end and ack are in the blocks of the entry's e, a (one test: this is
 * the path of every cached packet) */
static __always_inline int rp_fc_same_blocks(__u32 end, __u32 e, __u32 ack, __u32 a)
{
	return (((end ^ e) | (ack ^ a)) >> RP_FC_BLOCK_SHIFT) == 0;
}

/* The compiler keeps the stores (or loads) on either side in order; the
 * CPUs do so themselves on x86 (TSO). */
static __always_inline void rp_fc_barrier(void)
{
	asm volatile("" ::: "memory");
}

static __always_inline __u32 rp_fc_wscale(const struct rp_fc_entry *e, int i)
{
	return (e->wscales >> (i ? 4 : 0)) & 15;
}

/* Has e numbers that no fold has taken yet? */
static __always_inline int rp_fc_ahead(const struct rp_fc_entry *e)
{
	return e->noted != e->folded;
}

/* Does the cache say this packet of flow k passes?  si: the packet's
 * sender is endpoint b (1) or a (0).  A TCP segment must stay within a
 * window of what this CPU saw of the flow (else the conntrack checks it);
 * the ones answered here are noted in the entry. */
static __always_inline int rp_fc_hit(const struct ct_key *k, __u32 h, const struct rp_pkt *p, int si, __u64 now)
{
	if (p->tcp_flags & 0x07) /* FIN, SYN, RST: the state machine decides */
		return 0;
	struct rp_fc_entry *e = rp_fc_slot_entry(h);
	if (!e || now > e->valid_until || !rp_fc_key_eq(&e->key, k))
		return 0;
	if (e->gen != rp_ct_gen_read(h))
		return 0;
	if (p->proto != RP_IPPROTO_TCP)
		return 1;
	si &= 1;
	int ri = si ^ 1;
	__u32 end = bpf_ntohl(p->seq) + rp_tcp_payload(p), ack = bpf_ntohl(p->ack_seq);
	__u32 win = (__u32)p->tcp_win << rp_fc_wscale(e, si);
	if (!(p->tcp_flags & 0x10) || !rp_seq_near(end, e->end[si], e->win[ri]) ||
	    !rp_seq_near(ack, e->ack[si], e->win[si]) || win > e->win[si] ||
	    !rp_fc_same_blocks(end, e->end[si], ack, e->ack[si]))
		return 0;
	int noted = 0;
	if (rp_seq_after(end, e->end[si])) {
		e->end[si] = end;
		noted = 1;
	}
	if (rp_seq_after(ack, e->ack[si])) {
		e->ack[si] = ack;
		noted = 1;
	}
	if (noted) {
		rp_fc_barrier(); /* the numbers before the mark (rp_fc_take reads in reverse) */
		e->noted++;
	}
	return 1;
}

/* Is e an entry of the flow v of key k (and not of an earlier flow that
 * had the same key)?  Whatever the generation: the numbers it noted are of
 * segments that passed. */
static __always_inline int rp_fc_of(const struct rp_fc_entry *e, const struct ct_key *k, const struct ct_value *v)
{
	return e->valid_until && e->flow_created == v->created_ns && rp_fc_key_eq(&e->key, k);
}

/* Filling e with flow k would push out another flow's numbers that its
 * conntrack entry may not have (bpf/conntrack.h folds them in first). */
static __always_inline int rp_fc_pushes_out(const struct rp_fc_entry *e, const struct ct_key *k)
{
	return e->valid_until && rp_fc_ahead(e) && !rp_fc_key_eq(&e->key, k);
}

/* Fill slot e with flow k, judged by the conntrack entry v (a TCP entry's
 * numbers start the cache's).  kept: e is this flow's, and rp_fc_take
 * just folded numbers of it in; those beyond v's are kept (another CPU
 * may have written v with older ones since), and only those: numbers a
 * fold took earlier may be long behind the flow. */
static __always_inline void rp_fc_fill(struct rp_fc_entry *e, const struct ct_key *k, __u32 gen, __u64 valid_until,
				       const struct ct_value *v, int kept)
{
	int keep = kept && rp_fc_of(e, k, v), ahead = 0;
	e->flow_created = 0; /* for rp_fc_take on other CPUs: being refilled */
	rp_fc_barrier();
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__u32 end = v->tcp[i].end, ack = v->tcp[i].maxack;
		if (keep && rp_seq_after(e->end[i], end)) {
			end = e->end[i];
			ahead = 1;
		}
		if (keep && rp_seq_after(e->ack[i], ack)) {
			ack = e->ack[i];
			ahead = 1;
		}
		e->end[i] = end;
		e->ack[i] = ack;
		e->win[i] = v->tcp[i].maxwin;
	}
	__builtin_memcpy(&e->key, k, sizeof(*k));
	e->wscales = (v->tcp[0].wscale & 15) | (v->tcp[1].wscale & 15) << 4;
	e->gen = gen;
	e->fast_gen = v->fast_gen;
	e->folded = e->noted - ahead;
	e->valid_until = valid_until;
	rp_fc_barrier();
	e->flow_created = v->created_ns;
}

/* The numbers an entry noted (a copy: another CPU may refill it) */
struct rp_fc_nums {
	__u32 end[2];
	__u32 ack[2];
};

/* Fold what a cache entry passed of its flow into the flow's entry v
 * (TCP, both endpoints synchronized).  The other endpoint's upper bound
 * follows the ack with the largest window seen (lenient: the exact window
 * of that ack is not kept). */
static __always_inline void rp_fc_fold(struct ct_value *v, const struct rp_fc_nums *n)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct ct_tcp_peer *t = &v->tcp[i], *o = &v->tcp[i ^ 1];
		if (rp_seq_after(n->end[i], t->end))
			t->end = n->end[i];
		if (!(t->flags & CT_TP_MAXACK) || !rp_seq_after(n->ack[i], t->maxack))
			continue;
		t->maxack = n->ack[i];
		if (rp_seq_after(n->ack[i] + t->maxwin, o->maxend))
			o->maxend = n->ack[i] + t->maxwin;
	}
}

/* Fold e, an entry of flow v, into v when it has numbers no fold took
 * yet, and mark them taken.  Any CPU may take any CPU's entry: the mark it
 * writes is the noted it read before the numbers, so one noted meanwhile
 * stays to be taken; and numbers read while the owner refilled the entry
 * (rp_fc_fill clears flow_created first) are not this flow's: left.
 * Returns whether it folded. */
static __always_inline int rp_fc_take(struct ct_value *v, struct rp_fc_entry *e)
{
	__u8 noted = *(volatile __u8 *)&e->noted;
	if (noted == e->folded)
		return 0;
	rp_fc_barrier();
	struct rp_fc_nums n = { { e->end[0], e->end[1] }, { e->ack[0], e->ack[1] } };
	rp_fc_barrier();
	if (*(volatile __u64 *)&e->flow_created != v->created_ns)
		return 0;
	rp_fc_fold(v, &n);
	e->folded = noted;
	return 1;
}

/* This CPU's cache entry of flow k (v), when it has one: whether it had
 * numbers to fold. */
static __always_inline int rp_fc_take_local(struct ct_value *v, const struct ct_key *k, __u32 h)
{
	struct rp_fc_entry *e = rp_fc_slot_entry(h);
	return e && rp_fc_of(e, k, v) && rp_fc_take(v, e);
}

struct rp_fc_take_ctx {
	struct ct_value *v;
	const struct ct_key *k;
	__u32 slot;
};

static long rp_fc_take_cpu(__u64 cpu, struct rp_fc_take_ctx *c)
{
	struct rp_fc_entry *e = bpf_map_lookup_percpu_elem(&rp_flow_cache, &c->slot, (__u32)cpu);
	if (!e)
		return 1; /* past the last CPU */
	if (rp_fc_of(e, c->k, c->v))
		rp_fc_take(c->v, e);
	return 0;
}

#define RP_FC_MAX_CPUS 8192

/* Every CPU's cache entry of flow k: before a segment that may change the
 * flow's state is checked against the window (or one that does not fit
 * this CPU's view), the entry must know everything the caches passed; and
 * when one of the flow's numbers entered another block, what an entry
 * left behind on some CPU holds must be taken before it can look ahead. */
static __always_inline void rp_fc_take_all(struct ct_value *v, const struct ct_key *k, __u32 h)
{
	struct rp_fc_take_ctx c = { .v = v, .k = k, .slot = rp_flow_cache_slot(h) };
	bpf_loop(RP_FC_MAX_CPUS, rp_fc_take_cpu, &c, 0);
}

/* The blocks of the flow's numbers (end and maxack of both endpoints). */
struct rp_fc_blocks {
	__u32 b[4];
};

static __always_inline void rp_fc_blocks_of(struct rp_fc_blocks *b, const struct ct_value *v)
{
	b->b[0] = v->tcp[0].end >> RP_FC_BLOCK_SHIFT;
	b->b[1] = v->tcp[1].end >> RP_FC_BLOCK_SHIFT;
	b->b[2] = v->tcp[0].maxack >> RP_FC_BLOCK_SHIFT;
	b->b[3] = v->tcp[1].maxack >> RP_FC_BLOCK_SHIFT;
}

static __always_inline int rp_fc_blocks_moved(const struct rp_fc_blocks *b, const struct ct_value *v)
{
	struct rp_fc_blocks now;
	rp_fc_blocks_of(&now, v);
	return ((b->b[0] ^ now.b[0]) | (b->b[1] ^ now.b[1]) | (b->b[2] ^ now.b[2]) | (b->b[3] ^ now.b[3])) != 0;
}

#endif
