/* The packet classifier, BPF side: the maps the loader fills from the
 * compiled tables (policy/classify*.c, written by loader/classifier_maps.c)
 * and rp_classify(), a fixed sequence of array lookups that finds the
 * first matching entry of the flattened policy and the continue/jump
 * rules that matched before it.  The design, and why it is exact:
 * docs/classifier.md.
 *
 * Lookups per event, whatever the number of rules: 1 cls_config, then per
 * field the policy names one value lookup or a trie walk (at most 4 steps
 * for IPv4 and uids, 32 for IPv6), per combination 1 (dense) or 1 to 4
 * (sparse: two buckets, two fallback records) lookups, and 1 cls_actions.
 * Fields no rule names cost nothing, and the walk stops at the first class
 * that decides the event alone.  All maps are arrays, whose lookups the
 * verifier inlines: no helper call on the whole path.  The user-space
 * replay cls_lookup() (policy/classify_lookup.c) performs exactly the same
 * steps; tests compare both with the reference walk.
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
} cls_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_block);
} cls_tab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_result);
} cls_actions SEC(".maps");

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

/* The multibit trie walk; the key is left-aligned in (hi, lo).  Without
 * branches on the stride or the key half, so that the verifier follows
 * one path per step instead of one per combination of strides. */
static __always_inline int cls_trie(__u32 e, __u64 hi, __u64 lo, __u32 *h)
{
	__u32 pos = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < CLS_T_MAX_STEPS; i++) {
		if (!(e & CLS_T_CHILD))
			break;
		__u32 wide = (e >> 30) & 1; /* CLS_T_STRIDE8 */
		__u32 st = 4 + 4 * wide;
		__u64 sel = -(__u64)((pos >> 6) & 1); /* all ones past bit 64 */
		__u64 word = (hi & ~sel) | (lo & sel);
		__u32 idx = (__u32)(word >> ((64 - (pos & 63) - st) & 63)) & (0xf | (0xf0 * wide));
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

/* Handle of an address (network order, IPv4 as ::ffff:a.b.c.d) or uid. */
static __always_inline int cls_leaf_prefix(const struct cls_leaf_cfg *l, const __u32 *addr, __u32 uid, int carried,
					   __u32 *h)
{
	if (l->mode == CLS_L_CONST || !carried) {
		*h = l->konst;
		return 0;
	}
	if (!addr)
		return cls_trie(l->root4, (__u64)uid << 32, 0, h);
	if (addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0xffff))
		return cls_trie(l->root4, (__u64)bpf_ntohl(addr[3]) << 32, 0, h);
	return cls_trie(l->root6, (__u64)bpf_ntohl(addr[0]) << 32 | bpf_ntohl(addr[1]),
			(__u64)bpf_ntohl(addr[2]) << 32 | bpf_ntohl(addr[3]), h);
}

/* One bucket of a sparse node: 1 and *r, *below when (ka, kb) is in it. */
static __always_inline int cls_bucket(__u32 blk, __u32 ka, __u32 kb, __u32 *r, __u32 *below)
{
	struct cls_block *b = bpf_map_lookup_elem(&cls_tab, &blk);
	if (!b)
		return 0;
#pragma unroll
	for (int s = 0; s < CLS_BUCKET_PAIRS; s++) {
		if (b->w[4 * s] == ka && b->w[4 * s + 1] == kb) {
			*r = b->w[4 * s + 2];
			*below = b->w[4 * s + 3];
			return 1;
		}
	}
	return 0;
}

static __always_inline int cls_probe(const struct cls_node_cfg *n, __u32 ka, __u32 kb, __u32 *r, __u32 *below)
{
	__u32 h1 = cls_hash1(ka, kb, n->seed);
	return cls_bucket(n->base + (h1 & n->mask), ka, kb, r, below) ||
	       cls_bucket(n->base + (cls_hash2(h1) & n->mask), ka, kb, r, below);
}

/* The cls_info of a class (4 words, 4-aligned: within one block). */
static __always_inline const __u32 *cls_info(__u32 base, __u32 hdl)
{
	__u64 w = (__u64)base + 4 * (__u64)(hdl & CLS_H_ID);
	__u32 blk = (__u32)(w / CLS_BLOCK_WORDS);
	struct cls_block *b = bpf_map_lookup_elem(&cls_tab, &blk);
	if (!b)
		return 0;
	return &b->w[w & 12];
}

/* Handle of an inner node from its children's handles a (left), b (right). */
static __always_inline int cls_node(const struct cls_node_cfg *n, __u32 a, __u32 b, __u32 *h)
{
	__u32 mode = n->mode, r, below;

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
	__u32 both = a & b;
	if ((both & (CLS_H_WILD | CLS_H_SHARED)) && cls_probe(n, a & CLS_H_ID, b & CLS_H_ID, &r, &below)) {
		*h = r;
		return 0;
	}
	const __u32 *ia = cls_info(n->info_a, a);
	const __u32 *ib = cls_info(n->info_b, b);
	if (!ia || !ib)
		return -1;
	if ((both & CLS_H_FIRST) && ia[1] == ib[1]) {
		*h = ia[1];
		return 0;
	}
	if ((both & CLS_H_SHARED) && cls_probe(n, CLS_PROJ | ia[2], ib[2], &r, &below) && below < ia[3] &&
	    below < ib[3]) {
		*h = r;
		return 0;
	}
	*h = ((b & CLS_H_WILD) && !(a & CLS_H_WILD)) ? ib[0] : ia[0];
	return 0;
}

static __always_inline int cls_carried(const struct cls_fields *f, int field, int flag)
{
	return flag && !(f->absent & CLS_ABSENT(field));
}

/* Stop at the first handle that decides the event alone. */
#define CLS_FINAL_EXIT(hdl)                 \
	do {                                \
		if ((hdl) & CLS_H_FINAL) {  \
			*res = (hdl);       \
			return 0;           \
		}                           \
	} while (0)

#define CLS_VALUE(field, v, flag, out)                                                                         \
	do {                                                                                                   \
		if (cls_leaf_value(&p->leaf[field], (v), cls_carried(f, field, (flag)), &(out)))                \
			return -1;                                                                             \
		CLS_FINAL_EXIT(out);                                                                           \
	} while (0)

#define CLS_NODE(nd, a, b, out)                                              \
	do {                                                                 \
		if (cls_node(&p->node[(nd) - CLS_LEAVES], (a), (b), &(out)))   \
			return -1;                                           \
		CLS_FINAL_EXIT(out);                                         \
	} while (0)

/* One part's tree, walked in the order of CLS_TREE_INIT (the remote side
 * first, so that blocklists decide early): *res gets the final handle.
 * Returns 0, or -1 when a lookup misses. */
static __always_inline int cls_tree(const struct cls_part_cfg *p, const struct cls_fields *f, __u32 *res)
{
	__u32 x, y, n19, n22, n23;

	/* 13 = raddr x rport; 15 = dir x proto; 19 = 13 x 15 */
	if (cls_leaf_prefix(&p->leaf[F_RADDR], f->raddr, 0, cls_carried(f, F_RADDR, 1), &x))
		return -1;
	CLS_FINAL_EXIT(x);
	CLS_VALUE(F_RPORT, f->rport, f->has_ports, y);
	CLS_NODE(13, x, y, n19);
	CLS_VALUE(F_DIR, f->dir, 1, x);
	CLS_VALUE(F_PROTO, f->proto, 1, y);
	CLS_NODE(15, x, y, n22);
	CLS_NODE(19, n19, n22, n19);
	/* 14 = laddr x lport; 20 = 14 x icmptype; 22 = 19 x 20 */
	if (cls_leaf_prefix(&p->leaf[F_LADDR], f->laddr, 0, cls_carried(f, F_LADDR, 1), &x))
		return -1;
	CLS_FINAL_EXIT(x);
	CLS_VALUE(F_LPORT, f->lport, f->has_ports, y);
	CLS_NODE(14, x, y, n22);
	CLS_VALUE(F_ICMPTYPE, f->icmp_type, f->has_icmp, x);
	CLS_NODE(20, n22, x, n22);
	CLS_NODE(22, n19, n22, n22);
	/* 16 = event x family; 17 = app x cgroup; 21 = 16 x 17 */
	CLS_VALUE(F_EVENT, f->event, 1, x);
	CLS_VALUE(F_FAMILY, f->family, 1, y);
	CLS_NODE(16, x, y, n23);
	CLS_VALUE(F_APP, f->app, f->has_app, x);
	CLS_VALUE(F_CGROUP, f->cgroup, f->has_cgroup, y);
	CLS_NODE(17, x, y, n19);
	CLS_NODE(21, n23, n19, n23);
	/* 18 = user x iface; 23 = 21 x 18; 24 = 22 x 23 */
	if (cls_leaf_prefix(&p->leaf[F_USER], 0, f->uid, cls_carried(f, F_USER, f->has_user), &x))
		return -1;
	CLS_FINAL_EXIT(x);
	CLS_VALUE(F_IFACE, f->iface, 1, y);
	CLS_NODE(18, x, y, n19);
	CLS_NODE(23, n23, n19, n23);
	CLS_NODE(24, n22, n23, x);
	CLS_FINAL_EXIT(x);
	return -1; /* every class of the root is final */
}

/* Part `part`'s tree: its final handle, or -1 when a lookup misses.  A
 * global function, so that the verifier checks the tree once, not once
 * for every path of every program that classifies (it costs one call). */
__noinline int cls_tree_walk(const struct cls_fields *f, __u32 part)
{
	__u32 zero = 0, h;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);

	if (!f || !c || cls_tree(&c->part[part & (CLS_MAX_PARTS - 1)], f, &h))
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

/* Does the event meet a candidate's checks? */
static __always_inline int cls_cand_ok(const struct cls_cand *c, const struct cls_fields *f)
{
	__u32 chk = c->check;

	if ((chk & CLS_C_LADDR) &&
	    (!cls_carried(f, F_LADDR, 1) || !cls_prefix_match(f->laddr, c->laddr, c->laddr_len)))
		return 0;
	if ((chk & CLS_C_RADDR) &&
	    (!cls_carried(f, F_RADDR, 1) || !cls_prefix_match(f->raddr, c->raddr, c->raddr_len)))
		return 0;
	if ((chk & CLS_C_LPORT) &&
	    (!cls_carried(f, F_LPORT, f->has_ports) || f->lport < c->lport_lo || f->lport > c->lport_hi))
		return 0;
	if ((chk & CLS_C_RPORT) &&
	    (!cls_carried(f, F_RPORT, f->has_ports) || f->rport < c->rport_lo || f->rport > c->rport_hi))
		return 0;
	return 1;
}

/* The keyed parts' answer, if it comes before pick->entry. */
struct cls_pick {
	__u32 entry;  /* in: part 0's deciding entry; out: the first entry that decides */
	__u32 action; /* out: its action, CLS_NONE when part 0 decides */
};

struct cls_loop_ctx {
	const struct cls_fields *f;
	const struct cls_config *c;
	struct cls_pick pick;
	__u32 part;  /* the keyed part being walked */
	__u32 blk;   /* its candidate list; CLS_NONE: its tree comes first */
	__u32 k;     /* the next candidate of the list */
	int err;
};

/* One step of the keyed parts (a bpf_loop callback): a part's tree, or
 * one of its candidates; a list ends at the first candidate the event
 * meets, at its end, or past the best entry so far. */
static int cls_keyed_step(__u32 i, void *arg)
{
	struct cls_loop_ctx *x = arg;
	__u32 h;

	if (x->part >= x->c->nparts || x->part >= CLS_MAX_PARTS)
		return 1;
	if (x->blk == CLS_NONE) {
		int t = cls_tree_walk(x->f, x->part);
		if (t < 0) {
			x->err = 1;
			return 1;
		}
		x->blk = (__u32)t & CLS_H_ID;
		x->k = 0;
		return 0;
	}
	h = x->blk + x->k++;
	const struct cls_cand *cd = bpf_map_lookup_elem(&cls_tab, &h);
	if (!cd) {
		x->err = 1;
		return 1;
	}
	int done = cd->entry >= x->pick.entry || x->k >= CLS_MAX_CANDS; /* CLS_NONE ends the list */
	if (!done && cls_cand_ok(cd, x->f)) {
		x->pick.entry = cd->entry;
		x->pick.action = cd->action;
		done = 1;
	}
	if (done) {
		x->part++;
		x->blk = CLS_NONE;
	}
	return 0;
}

/* The keyed parts.  A global function, and a bpf_loop callback for the
 * steps, so that the verifier checks them once rather than for every path
 * that reaches them: only policies split into parts pay the calls. */
__noinline int cls_keyed_parts(const struct cls_fields *f, struct cls_pick *pick)
{
	__u32 zero = 0;

	if (!f || !pick)
		return -1;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);
	if (!c || c->nparts < 2)
		return -1;
	/* part starts at 1, computed from the map so that the verifier does
	 * not track its value: it then checks the callback once for every
	 * part, instead of once per part number */
	__u32 np = c->nparts;
	asm volatile("" : "+r"(np)); /* the compiler must not fold np - c->nparts */
	struct cls_loop_ctx x = { .f = f, .c = c, .pick = *pick, .part = np - c->nparts + 1, .blk = CLS_NONE };
	bpf_loop(CLS_MAX_PARTS * (CLS_MAX_CANDS + 1), cls_keyed_step, &x, 0);
	*pick = x.pick;
	return x.err ? -1 : 0;
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

/* Classify an event into *d.  Returns 0, or -1 when the tables are not
 * (fully) written. */
static __always_inline int rp_classify_decide(const struct cls_fields *f, struct cls_decision *d)
{
	__u32 zero = 0;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);

	if (!c || !c->ready)
		return -1;
	int t = cls_tree_walk(f, 0);
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
	struct cls_pick pick = { .entry = act0->entry, .action = CLS_NONE };
	if (cls_keyed_parts(f, &pick))
		return -1;
	if (pick.action == CLS_NONE)
		return 0;
	d->act = bpf_map_lookup_elem(&cls_actions, &pick.action);
	if (!d->act)
		return -1;
	if (!act0->nrecords)
		return 0;
	int n = cls_records_before(a0, pick.entry);
	if (n < 0)
		return -1;
	d->nrec = (__u32)n & 0xff;
	d->overflow = (__u32)n >> 8;
	return 0;
}

/* Classify an event into *res.  Returns 0, or -1 when the tables are not
 * (fully) written: then *res says deny, by no rule (CLS_SLOT_NONE),
 * nothing recorded. */
static __always_inline int rp_classify(const struct cls_fields *f, struct cls_result *res)
{
	struct cls_decision d;

	if (rp_classify_decide(f, &d) == 0) {
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
