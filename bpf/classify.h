/* The packet classifier, BPF side: the maps the loader fills from the
 * compiled tables (policy/classify*.c, written by loader/classifier_maps.c)
 * and rp_classify() / rp_classify_decide(), a bounded sequence of array
 * lookups that finds the first matching entry of the flattened policy and
 * the continue/jump rules that matched before it.  The design, and why it
 * is exact: docs/classifier.md.
 *
 * Lookups per event, whatever the number of rules: 1 cls_config, then per
 * field the policy names one value lookup or a trie walk (at most 8 steps
 * for IPv4 and uids, 32 for IPv6; 4 and 16 where the trie is dense), per
 * combination 1 (dense) or 1 to 8 (sparse: buckets and fallback words)
 * lookups, and 1 cls_actions.  Fields no rule names cost nothing, and the
 * walk stops at the first class that decides the event alone.  All maps
 * are arrays, whose lookups the verifier inlines; the walk is one global
 * function (checked once, one call).  A policy split into parts (see
 * rampart_classifier.h) adds, per keyed part, a walk and at most
 * CLS_MAX_CANDS candidates, in one bpf_loop.  The user-space replay
 * cls_lookup() (policy/classify_lookup.c) performs exactly the same steps;
 * tests compare both with the reference walk.
 *
 * max_entries below are placeholders: the loader sets the real sizes from
 * cls_tables_sizes() with bpf_map__set_max_entries before loading.
 */
#ifndef RP_CLASSIFY_H
#define RP_CLASSIFY_H

#include "rampart_types.h"
#include "rampart_classifier.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_config);
} RP_MAP_CLS_CONFIG SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_block);
} RP_MAP_CLS_TAB SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_result);
} RP_MAP_CLS_ACTIONS SEC(".maps");

/* The lookup's working memory: handles kept across the walk and the state
 * of the keyed parts' loop.  Not on the stack, which the datapath's own
 * frames leave small: in a per-CPU array for XDP and tc (a program runs to
 * completion on its CPU with bottom halves off), on the caller's stack for
 * the socket hooks (process context: preemption could reuse a per-CPU
 * copy; their frames are smaller). */
struct cls_pick {
	__u32 entry;  /* in: part 0's deciding entry; out: the first entry that decides */
	__u32 action; /* out: its action, CLS_NONE when part 0 decides */
};

struct cls_scratch {
	__u32 uid; /* the uid in network order: a trie key (words follow it) */
	__u32 n19, n22, n23;
	__u32 tree; /* the part whose tree is being walked */
	__u32 part; /* keyed parts: the part being walked */
	__u32 blk;  /* its candidate list; CLS_NONE: its tree comes first */
	__u32 k;    /* the next candidate of the list */
	__u32 zero; /* 0, which the verifier does not know (see cls_decide) */
	int err;
	struct cls_pick pick;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_scratch);
} RP_MAP_CLS_SCRATCH SEC(".maps");

/* The helpers are inlined: a BPF-to-BPF call and its return cost more than
 * an (inlined) array lookup on CPUs with return-stack mitigations (AMD
 * "Safe RET"), and handles are 32-bit words, so the judging path stays
 * well within the 512-byte stack. */

/* Word w of cls_tab. */
static __always_inline int cls_word(__u64 w, __u32 *out)
{
	__u32 blk = (__u32)(w / CLS_BLOCK_WORDS);
	struct cls_block *b = bpf_map_lookup_elem(&cls_tab, &blk);
	if (!b)
		return -1;
	*out = b->w[w & (CLS_BLOCK_WORDS - 1)];
	return 0;
}

/* Handle of an interval field's value. */
static __always_inline int cls_leaf_value(const struct cls_leaf_cfg *l, __u32 v, int carried, __u32 *h)
{
	if (l->mode == CLS_L_CONST) {
		*h = l->konst;
		return 0;
	}
	__u32 idx = l->base;
	if (carried) {
		__u32 clamp = l->clamp;
		idx += 1 + (v > clamp ? clamp : v);
	}
	return cls_word(idx, h);
}

/* The multibit trie walk over a key of network-order words (a[0] holds
 * its first 32 bits), read from memory at each step: few values stay in
 * registers, so the walk needs little stack.  No branch on the stride, so
 * that the verifier follows one path per step. */
static __always_inline int cls_trie(__u32 e, const __u32 *a, __u32 *h)
{
	__u32 pos = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < CLS_T_MAX_STEPS; i++) {
		if (!(e & CLS_T_CHILD))
			break;
		__u32 wide = (e >> 30) & 1; /* CLS_T_STRIDE8 */
		__u32 st = 4 + 4 * wide;
		__u32 w = bpf_ntohl(a[(pos >> 5) & 3]);
		__u32 idx = (w >> ((32 - (pos & 31) - st) & 31)) & (0xf | (0xf0 * wide));
		__u32 blk = (e & CLS_T_NODE) + (idx >> 4);
		struct cls_block *b = bpf_map_lookup_elem(&cls_tab, &blk);
		if (!b)
			return -1;
		e = b->w[idx & 15];
		pos += st;
	}
	if (e & CLS_T_CHILD)
		return -1;
	*h = e;
	return 0;
}

/* Handle of an address (network order, IPv4 as ::ffff:a.b.c.d) or of the
 * uid (its network-order copy in the scratch). */
static __always_inline int cls_leaf_prefix(const struct cls_leaf_cfg *l, const __u32 *addr, int carried, __u32 *h)
{
	if (l->mode == CLS_L_CONST || !carried) {
		*h = l->konst;
		return 0;
	}
	if (addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0xffff))
		return cls_trie(l->root4, &addr[3], h);
	return cls_trie(l->root6, addr, h);
}

/* One bucket of a sparse node: the pair (ka, kb)'s r and below, as
 * below << 32 | r, or ~0 when it is not there (values, not pointers: they
 * stay in registers). */
static __always_inline __u64 cls_bucket(__u32 blk, __u32 ka, __u32 kb)
{
	struct cls_block *b = bpf_map_lookup_elem(&cls_tab, &blk);
	if (!b)
		return ~0ull;
#pragma unroll
	for (int s = 0; s < CLS_BUCKET_PAIRS; s++)
		if (b->w[4 * s] == ka && b->w[4 * s + 1] == kb)
			return (__u64)b->w[4 * s + 3] << 32 | b->w[4 * s + 2];
	return ~0ull;
}

/* The configuration of the tree being walked, looked up again where it is
 * needed (an inlined array lookup) rather than kept in a register across
 * the walk's lookups: that would cost stack, of which the datapath's
 * frames leave little. */
static __always_inline const struct cls_part_cfg *cls_part_cfg(const struct cls_scratch *s)
{
	__u32 zero = 0;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);
	return c ? &c->part[s->tree & (CLS_MAX_PARTS - 1)] : 0;
}

static __always_inline const struct cls_node_cfg *cls_node_cfg(const struct cls_scratch *s, int nd)
{
	const struct cls_part_cfg *p = cls_part_cfg(s);
	return p ? &p->node[nd - CLS_LEAVES] : 0;
}

/* One probe of a sparse node (bucket 1, or 2 after it): below << 32 | r,
 * or ~0.  The node's configuration is looked up again rather than kept. */
static __always_inline __u64 cls_probe(const struct cls_scratch *s, int nd, __u32 ka, __u32 kb)
{
	const struct cls_node_cfg *n = cls_node_cfg(s, nd);
	if (!n)
		return ~0ull;
	__u64 v = cls_bucket(n->base + (cls_hash1(ka, kb, n->seed) & n->mask), ka, kb);
	if (v != ~0ull)
		return v;
	n = cls_node_cfg(s, nd);
	if (!n)
		return ~0ull;
	return cls_bucket(n->base + (cls_hash2(cls_hash1(ka, kb, n->seed)) & n->mask), ka, kb);
}

/* Word k of the cls_info of handle h of node nd's left (side 0) or right
 * (side 1) child, or CLS_NONE when a lookup misses.  Read word by word,
 * each time from the maps: kept values would cost stack. */
static __always_inline __u32 cls_info_word(const struct cls_scratch *s, int nd, int side, __u32 h, int k)
{
	const struct cls_node_cfg *n = cls_node_cfg(s, nd);
	__u32 w;

	if (!n || cls_word((__u64)(side ? n->info_b : n->info_a) + 4 * (__u64)(h & CLS_H_ID) + k, &w))
		return CLS_NONE;
	return w;
}

/* Handle of inner node nd from its children's handles a (left), b (right). */
static __always_inline int cls_node(const struct cls_scratch *s, int nd, __u32 a, __u32 b, __u32 *h)
{
	const struct cls_node_cfg *n = cls_node_cfg(s, nd);
	__u64 v;

	if (!n)
		return -1;
	__u32 mode = n->mode;
	if (mode == CLS_N_CONST) {
		*h = n->konst;
		return 0;
	}
	if (mode == CLS_N_LEFT) {
		*h = a;
		return 0;
	}
	if (mode == CLS_N_RIGHT) {
		*h = b;
		return 0;
	}
	if (mode == CLS_N_DENSE)
		return cls_word((__u64)n->base + (__u64)(a & CLS_H_ID) * n->nb + (b & CLS_H_ID), h);
	/* sparse (see cls_info in rampart_classifier.h) */
	if ((a & b & (CLS_H_WILD | CLS_H_SHARED)) && (v = cls_probe(s, nd, a & CLS_H_ID, b & CLS_H_ID)) != ~0ull) {
		*h = (__u32)v;
		return 0;
	}
	if (a & b & CLS_H_FIRST) {
		__u32 first = cls_info_word(s, nd, 0, a, 1);
		if (first != CLS_NONE && first == cls_info_word(s, nd, 1, b, 1)) {
			*h = first;
			return 0;
		}
	}
	if (a & b & CLS_H_SHARED) {
		__u32 ka = CLS_PROJ | cls_info_word(s, nd, 0, a, 2);
		if ((v = cls_probe(s, nd, ka, cls_info_word(s, nd, 1, b, 2))) != ~0ull &&
		    (__u32)(v >> 32) < cls_info_word(s, nd, 0, a, 3) &&
		    (__u32)(v >> 32) < cls_info_word(s, nd, 1, b, 3)) {
			*h = (__u32)v;
			return 0;
		}
	}
	int b_only = (b & CLS_H_WILD) && !(a & CLS_H_WILD);
	*h = cls_info_word(s, nd, b_only, b_only ? b : a, 0);
	return *h == CLS_NONE ? -1 : 0;
}

static __always_inline int cls_carried(const struct cls_fields *f, int field, int flag)
{
	return flag && !(f->absent & CLS_ABSENT(field));
}

/* Stop at the first handle that decides the event alone. */
#define CLS_FINAL_EXIT(hdl)              \
	do {                             \
		if ((hdl)&CLS_H_FINAL) { \
			*res = (hdl);    \
			return 0;        \
		}                        \
	} while (0)

/* One leaf of the tree: leaf_fn (cls_leaf_value, cls_leaf_prefix) looks
 * the event's value v of field up in the part's leaf table. */
#define CLS_LEAF(leaf_fn, field, v, flag, out)                                                  \
	do {                                                                                    \
		const struct cls_part_cfg *p = cls_part_cfg(s);                                 \
		if (!p || leaf_fn(&p->leaf[field], (v), cls_carried(f, field, (flag)), &(out))) \
			return -1;                                                              \
		CLS_FINAL_EXIT(out);                                                            \
	} while (0)
#define CLS_VALUE(field, v, flag, out)	   CLS_LEAF(cls_leaf_value, field, v, flag, out)
#define CLS_PREFIX(field, addr, flag, out) CLS_LEAF(cls_leaf_prefix, field, addr, flag, out)

#define CLS_NODE(nd, a, b, out)                          \
	do {                                             \
		if (cls_node(s, (nd), (a), (b), &(out))) \
			return -1;                       \
		CLS_FINAL_EXIT(out);                     \
	} while (0)

/* Part s->tree's tree, walked in the order of CLS_TREE_INIT (the remote
 * side first, so that blocklists decide early): *res gets the final
 * handle.  Returns 0, or -1 when a lookup misses.  The handles kept across
 * lookups are in the scratch. */
static __always_inline int cls_tree(const struct cls_fields *f, struct cls_scratch *s, __u32 *res)
{
	__u32 x, y, z;

	/* 13 = raddr x rport; 15 = dir x proto; 19 = 13 x 15 */
	CLS_PREFIX(F_RADDR, f->raddr, 1, x);
	CLS_VALUE(F_RPORT, f->rport, f->has_ports, y);
	CLS_NODE(13, x, y, s->n19);
	CLS_VALUE(F_DIR, f->dir, 1, x);
	CLS_VALUE(F_PROTO, f->proto, 1, y);
	CLS_NODE(15, x, y, z);
	CLS_NODE(19, s->n19, z, s->n19);
	/* 14 = laddr x lport; 20 = 14 x icmptype; 22 = 19 x 20 */
	CLS_PREFIX(F_LADDR, f->laddr, 1, x);
	CLS_VALUE(F_LPORT, f->lport, f->has_ports, y);
	CLS_NODE(14, x, y, z);
	CLS_VALUE(F_ICMPTYPE, f->icmp_type, f->has_icmp, x);
	CLS_NODE(20, z, x, z);
	CLS_NODE(22, s->n19, z, s->n22);
	/* 16 = event x family; 17 = app x cgroup; 21 = 16 x 17 */
	CLS_VALUE(F_EVENT, f->event, 1, x);
	CLS_VALUE(F_FAMILY, f->family, 1, y);
	CLS_NODE(16, x, y, s->n23);
	CLS_VALUE(F_APP, f->app, f->has_app, x);
	CLS_VALUE(F_CGROUP, f->cgroup, f->has_cgroup, y);
	CLS_NODE(17, x, y, z);
	CLS_NODE(21, s->n23, z, s->n23);
	/* 18 = user x iface; 23 = 21 x 18; 24 = 22 x 23; the uid's key is
	 * its network-order copy (32 bits: the trie reads word 0 only) */
	s->uid = bpf_htonl(f->uid);
	do {
		const struct cls_part_cfg *p = cls_part_cfg(s);
		if (!p)
			return -1;
		if (p->leaf[F_USER].mode == CLS_L_CONST || !cls_carried(f, F_USER, f->has_user))
			x = p->leaf[F_USER].konst;
		else if (cls_trie(p->leaf[F_USER].root4, &s->uid, &x))
			return -1;
		CLS_FINAL_EXIT(x);
	} while (0);
	CLS_VALUE(F_IFACE, f->iface, 1, y);
	CLS_NODE(18, x, y, z);
	CLS_NODE(23, s->n23, z, s->n23);
	CLS_NODE(24, s->n22, s->n23, x);
	CLS_FINAL_EXIT(x);
	return -1; /* every class of the root is final */
}

/* Part `part`'s tree: its final handle, or -1 when a lookup misses.  A
 * global function, so that the verifier checks the tree once, not once
 * for every path of every program that classifies (it costs one call). */
__noinline int cls_tree_walk(const struct cls_fields *f, struct cls_scratch *s, __u32 part)
{
	__u32 h;

	if (!f || !s)
		return -1;
	s->tree = part;
	if (cls_tree(f, s, &h))
		return -1;
	return (int)h;
}

/* Does the address (network order) lie in the prefix? */
static __always_inline int cls_prefix_match(const __u32 *addr, const __u32 *val, __u32 len)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 bits = len > 32 * i ? len - 32 * i : 0;
		__u32 m = bits >= 32 ? 0xffffffffu : bits ? bpf_htonl(0xffffffffu << (32 - bits)) : 0;
		if ((addr[i] ^ val[i]) & m)
			return 0;
	}
	return 1;
}

/* Does the event meet a candidate's checks?  A global function: the
 * verifier checks it once per program instead of at every step of the
 * keyed parts' loop, where it multiplied the work of checking the socket
 * hooks (69 000 instructions each, 49 000 without). */
__noinline int cls_cand_ok(const struct cls_cand *c, const struct cls_fields *f)
{
	if (!c || !f)
		return 0;
	__u32 chk = c->check;

	if ((chk & CLS_C_LADDR) && (!cls_carried(f, F_LADDR, 1) || !cls_prefix_match(f->laddr, c->laddr, c->laddr_len)))
		return 0;
	if ((chk & CLS_C_RADDR) && (!cls_carried(f, F_RADDR, 1) || !cls_prefix_match(f->raddr, c->raddr, c->raddr_len)))
		return 0;
	if ((chk & CLS_C_LPORT) &&
	    (!cls_carried(f, F_LPORT, f->has_ports) || f->lport < c->lport_lo || f->lport > c->lport_hi))
		return 0;
	if ((chk & CLS_C_RPORT) &&
	    (!cls_carried(f, F_RPORT, f->has_ports) || f->rport < c->rport_lo || f->rport > c->rport_hi))
		return 0;
	return 1;
}

/* One step of the keyed parts (a bpf_loop callback): a part's tree, or
 * one of its candidates; a list ends at the first candidate the event
 * meets, at its end, or past the best entry so far. */
#define CLS_CAND_BATCH 8

struct cls_loop {
	struct cls_scratch *s;
	const struct cls_fields *f;
};

static int cls_keyed_step(__u32 i, void *arg)
{
	const struct cls_loop *l = arg;
	struct cls_scratch *x = l->s;
	const struct cls_fields *f = l->f;
	__u32 h, zero = 0;

	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);
	if (!x || !f || !c)
		return 1;
	if (x->part >= c->nparts || x->part >= CLS_MAX_PARTS)
		return 1;
	if (x->blk == CLS_NONE) {
		int t = cls_tree_walk(f, x, x->part);
		if (t < 0) {
			x->err = 1;
			return 1;
		}
		x->blk = (__u32)t & CLS_H_ID;
		x->k = x->zero;
	}
	/* a few candidates per call: most lists end within one */
	for (int j = 0; j < CLS_CAND_BATCH; j++) {
		h = x->blk + x->k++;
		const struct cls_cand *cd = bpf_map_lookup_elem(&cls_tab, &h);
		if (!cd) {
			x->err = 1;
			return 1;
		}
		int done = cd->entry >= x->pick.entry || x->k >= CLS_MAX_CANDS; /* CLS_NONE ends the list */
		if (!done && cls_cand_ok(cd, f)) {
			x->pick.entry = cd->entry;
			x->pick.action = cd->action;
			done = 1;
		}
		if (done) {
			x->part++;
			x->blk = CLS_NONE;
			return 0;
		}
	}
	return 0;
}

/* Part 0's records before entry `before` (action a0): how many, and 256
 * when one more matched past CLS_MAX_RECORDS (their entries are at
 * rec_base, see cls_config); -1 when a lookup misses.  A global function:
 * its callers see an unknown count, so the verifier does not check their
 * loops over the records once per possible count. */
__noinline int cls_records_before(__u32 a0, __u32 before)
{
	__u32 zero = 0, off, e, n = 0;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);
	const struct cls_result *act0 = bpf_map_lookup_elem(&cls_actions, &a0);

	if (!c || !act0 || cls_word((__u64)c->rec_base + a0, &off))
		return -1;
	__u32 nrec = act0->nrecords;
	for (__u32 i = 0; i < CLS_MAX_RECORDS; i++) {
		if (i >= nrec)
			break;
		if (cls_word((__u64)off + i, &e))
			return -1;
		if (e >= before)
			return (int)n;
		n++;
	}
	if (n == CLS_MAX_RECORDS && act0->overflow && !cls_word((__u64)off + CLS_MAX_RECORDS, &e) && e < before)
		return (int)n | 256;
	return (int)n;
}

/* What decides an event: the action `act` (verdict, slot, entry, log),
 * and the continue/jump rules that matched before it: rec->records[0 ..
 * nrec), with overflow when more matched.  Both are map values
 * (read-only, valid for the program run).  rec is act, except when a
 * keyed part decides: then the records are part 0's before that entry. */
struct cls_decision {
	const struct cls_result *act;
	const struct cls_result *rec;
	__u32 nrec;
	__u32 overflow;
};

/* Classify an event into *d, with working memory s.  Returns 0, or -1
 * when the tables are not (fully) written. */
static __always_inline int cls_decide(const struct cls_fields *f, struct cls_decision *d, struct cls_scratch *s)
{
	__u32 zero = 0;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);

	if (!c || !c->ready)
		return -1;
	int t = cls_tree_walk(f, s, 0);
	if (t < 0)
		return -1;
	__u32 a0 = (__u32)t & CLS_H_ID;
	const struct cls_result *act0 = bpf_map_lookup_elem(&cls_actions, &a0);
	if (!act0)
		return -1;
	d->act = d->rec = act0;
	d->nrec = act0->nrecords;
	d->overflow = act0->overflow;
	if (c->nparts <= 1)
		return 0;
	/* the keyed parts, one step (a tree, a few candidates) per callback:
	 * the callback is checked once.  Its counters start from a 0 read from
	 * the map, so that the verifier does not follow their values (it would
	 * check the callback again for every part and candidate number, on
	 * the stack of the socket hooks) */
	__u32 np = c->nparts;
	asm volatile("" : "+r"(np)); /* the compiler must not fold np - c->nparts */
	s->zero = np - c->nparts;
	s->pick.entry = act0->entry;
	s->pick.action = CLS_NONE;
	s->part = s->zero + 1;
	s->blk = CLS_NONE;
	s->k = s->zero;
	s->err = 0;
	/* bpf_loop wants its context on the stack: a pointer to the scratch */
	struct cls_loop ctx = { s, f };
	bpf_loop(CLS_MAX_PARTS * (CLS_MAX_CANDS + 1), cls_keyed_step, &ctx, 0);
	if (s->err)
		return -1;
	if (s->pick.action == CLS_NONE)
		return 0;
	d->act = bpf_map_lookup_elem(&cls_actions, &s->pick.action);
	if (!d->act)
		return -1;
	if (!act0->nrecords)
		return 0;
	int n = cls_records_before(a0, s->pick.entry);
	if (n < 0)
		return -1;
	d->nrec = (__u32)n & 0xff;
	d->overflow = (__u32)n >> 8;
	return 0;
}

/* Classify an event into *d, from process context (the socket hooks):
 * the working memory is on the stack.  Returns 0, or -1 when the tables
 * are not (fully) written. */
static __always_inline int rp_classify_decide(const struct cls_fields *f, struct cls_decision *d)
{
	struct cls_scratch s;

	return cls_decide(f, d, &s);
}

/* Classify an event into *res, from XDP or tc (the working memory is
 * per-CPU).  Returns 0, or -1 when the tables are not (fully) written:
 * then *res says deny, by no rule (CLS_SLOT_NONE), nothing recorded. */
static __always_inline int rp_classify(const struct cls_fields *f, struct cls_result *res)
{
	struct cls_decision d;
	__u32 zero = 0;
	struct cls_scratch *s = bpf_map_lookup_elem(&cls_scratch, &zero);

	if (s && cls_decide(f, &d, s) == 0) {
		*res = *d.act;
		if (d.rec != d.act) {
			__u32 n = d.nrec;
			for (__u32 i = 0; i < CLS_MAX_RECORDS; i++) {
				if (i >= n)
					break;
				res->records[i] = d.rec->records[i];
			}
			res->nrecords = n;
			res->overflow = d.overflow;
		}
		return 0;
	}
	__builtin_memset(res, 0, sizeof(*res));
	res->verdict = VERDICT_DENY;
	res->slot = CLS_SLOT_NONE;
	res->entry = CLS_SLOT_NONE;
	return -1;
}

#endif
