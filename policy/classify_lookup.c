/* cls_lookup(): the lookups bpf/classify.h performs, in user space, over
 * the same tables (the words of cls_tab, the configuration, the actions),
 * in the same order: the tests compare both with the reference walk. */
#include <string.h>
#include "classify_int.h"

static const uint32_t *tab_word(const struct cls_tables *t, uint64_t w)
{
	return w < t->ntab ? &t->tab[w] : NULL;
}

/* Looks up (ka, kb) in a sparse node's buckets. */
static const uint32_t *probe(const struct cls_tables *t, const struct cls_node_cfg *n, uint32_t ka, uint32_t kb)
{
	uint32_t h1 = cls_hash1(ka, kb, n->seed);
	uint32_t bk[2] = { h1 & n->mask, cls_hash2(h1) & n->mask };
	for (int i = 0; i < 2; i++) {
		const uint32_t *w = tab_word(t, ((uint64_t)n->base + bk[i]) * CLS_BLOCK_WORDS);
		if (!w || !tab_word(t, ((uint64_t)n->base + bk[i]) * CLS_BLOCK_WORDS + CLS_BLOCK_WORDS - 1))
			return NULL;
		for (int s = 0; s < CLS_BUCKET_PAIRS; s++)
			if (w[4 * s] == ka && w[4 * s + 1] == kb)
				return &w[4 * s];
	}
	return NULL;
}

static const uint32_t *info(const struct cls_tables *t, uint32_t base, uint32_t h)
{
	uint64_t w = (uint64_t)base + 4 * (uint64_t)(h & CLS_H_ID);
	return tab_word(t, w + 3) ? &t->tab[w] : NULL;
}

int cls_tab_combine(const struct cls_tables *t, const struct cls_node_cfg *n, uint32_t a, uint32_t b, uint32_t *out)
{
	if (n->mode == CLS_N_DENSE) {
		const uint32_t *w = tab_word(t, n->base + (uint64_t)(a & CLS_H_ID) * n->nb + (b & CLS_H_ID));
		if (!w)
			return -1;
		*out = *w;
		return 0;
	}
	if (n->mode != CLS_N_SPARSE)
		return -1;
	uint32_t both = a & b;
	const uint32_t *p;
	if ((both & (CLS_H_WILD | CLS_H_SHARED)) && (p = probe(t, n, a & CLS_H_ID, b & CLS_H_ID))) {
		*out = p[2];
		return 0;
	}
	const uint32_t *ia = info(t, n->info_a, a), *ib = info(t, n->info_b, b);
	if (!ia || !ib)
		return -1;
	if ((both & CLS_H_FIRST) && ia[1] == ib[1]) {
		*out = ia[1];
		return 0;
	}
	if ((both & CLS_H_SHARED) && (p = probe(t, n, CLS_PROJ | ia[2], ib[2])) && p[3] < ia[3] && p[3] < ib[3]) {
		*out = p[2];
		return 0;
	}
	bool b_only = (b & CLS_H_WILD) && !(a & CLS_H_WILD);
	*out = b_only ? ib[0] : ia[0];
	return 0;
}

/* The multibit trie walk: key left-aligned in (hi, lo). */
static int trie_walk(const struct cls_tables *t, uint32_t e, uint64_t hi, uint64_t lo, uint32_t *out)
{
	uint32_t pos = 0;
	for (int i = 0; i < CLS_T_MAX_STEPS && (e & CLS_T_CHILD); i++) {
		uint32_t st = (e & CLS_T_STRIDE8) ? 8 : 4;
		uint64_t word = pos < 64 ? hi : lo;
		uint32_t idx = (uint32_t)(word >> (64 - (pos & 63) - st)) & ((1u << st) - 1);
		const uint32_t *w =
			tab_word(t, ((uint64_t)(e & CLS_T_NODE) + (idx >> 4)) * CLS_BLOCK_WORDS + (idx & 15));
		if (!w)
			return -1;
		e = *w;
		pos += st;
	}
	if (e & CLS_T_CHILD)
		return -1;
	*out = e;
	return 0;
}

static uint32_t be32(const uint32_t *w)
{
	return __builtin_bswap32(*w);
}

static int leaf_prefix(const struct cls_tables *t, const struct cls_leaf_cfg *l, int f, const struct cls_fields *in,
		       bool carried, uint32_t *out)
{
	if (!carried) {
		*out = l->konst;
		return 0;
	}
	if (f == F_USER)
		return trie_walk(t, l->root4, (uint64_t)in->uid << 32, 0, out);
	const uint32_t *a = f == F_LADDR ? in->laddr : in->raddr;
	if (a[0] == 0 && a[1] == 0 && be32(&a[2]) == 0xffff)
		return trie_walk(t, l->root4, (uint64_t)be32(&a[3]) << 32, 0, out);
	return trie_walk(t, l->root6, (uint64_t)be32(&a[0]) << 32 | be32(&a[1]),
			 (uint64_t)be32(&a[2]) << 32 | be32(&a[3]), out);
}

struct walk {
	const struct cls_tables *t;
	const struct cls_part_cfg *pc;
	const struct cls_fields *in;
	uint32_t h[CLS_NODES];
	bool final;
	uint32_t result;
};

static bool carried(const struct cls_fields *f, int field)
{
	int flag = 1;
	switch (field) {
	case F_LPORT:
	case F_RPORT:
		flag = f->has_ports;
		break;
	case F_ICMPTYPE:
		flag = f->has_icmp;
		break;
	case F_APP:
		flag = f->has_app;
		break;
	case F_CGROUP:
		flag = f->has_cgroup;
		break;
	case F_USER:
		flag = f->has_user;
		break;
	}
	return flag && !(f->absent & CLS_ABSENT(field));
}

static uint32_t field_value(const struct cls_fields *f, int field)
{
	switch (field) {
	case F_DIR:
		return f->dir;
	case F_EVENT:
		return f->event;
	case F_FAMILY:
		return f->family;
	case F_PROTO:
		return f->proto;
	case F_IFACE:
		return f->iface;
	case F_LPORT:
		return f->lport;
	case F_RPORT:
		return f->rport;
	case F_ICMPTYPE:
		return f->icmp_type;
	case F_APP:
		return f->app;
	case F_CGROUP:
		return f->cgroup;
	default:
		return 0;
	}
}

/* Evaluates node (children first, left before right, as the BPF code);
 * stops at the first final handle.  Returns -1 when a lookup misses. */
static int eval(struct walk *w, int node)
{
	const struct cls_part_cfg *pc = w->pc;
	uint32_t h;
	if (node < CLS_LEAVES) {
		const struct cls_leaf_cfg *l = &pc->leaf[node];
		bool c = carried(w->in, node);
		if (l->mode == CLS_L_CONST) {
			h = l->konst;
		} else if (l->mode == CLS_L_TRIE) {
			if (leaf_prefix(w->t, l, node, w->in, c, &h))
				return -1;
		} else {
			uint32_t v = field_value(w->in, node);
			const uint32_t *p =
				tab_word(w->t, (uint64_t)l->base + (c ? 1 + (v > l->clamp ? l->clamp : v) : 0));
			if (!p)
				return -1;
			h = *p;
		}
	} else {
		const struct cls_node_cfg *n = &pc->node[node - CLS_LEAVES];
		int A = cls_tree[node - CLS_LEAVES][0], B = cls_tree[node - CLS_LEAVES][1];
		if (n->mode == CLS_N_CONST) {
			h = n->konst;
		} else {
			if (n->mode != CLS_N_RIGHT && (eval(w, A) || w->final))
				return w->final ? 0 : -1;
			if (n->mode != CLS_N_LEFT && (eval(w, B) || w->final))
				return w->final ? 0 : -1;
			if (n->mode == CLS_N_LEFT)
				h = w->h[A];
			else if (n->mode == CLS_N_RIGHT)
				h = w->h[B];
			else if (cls_tab_combine(w->t, n, w->h[A], w->h[B], &h))
				return -1;
		}
	}
	w->h[node] = h;
	if (h & CLS_H_FINAL) {
		w->final = true;
		w->result = h & CLS_H_ID;
	}
	return 0;
}

/* The final handle's id of part p's tree. */
static int part_walk(const struct cls_tables *t, int p, const struct cls_fields *f, uint32_t *id)
{
	struct walk w = { .t = t, .pc = &t->config.part[p], .in = f };
	if (eval(&w, CLS_ROOT) || !w.final)
		return -1;
	*id = w.result;
	return 0;
}

static bool prefix_match(const uint32_t *addr, const uint32_t *val, int len)
{
	for (int i = 0; i < 4; i++) {
		int bits = len - 32 * i;
		uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : __builtin_bswap32(~0u << (32 - bits));
		if ((addr[i] ^ val[i]) & m)
			return false;
	}
	return true;
}

/* Does the event meet a candidate's checks? */
static bool cand_ok(const struct cls_cand *c, const struct cls_fields *f)
{
	if ((c->check & CLS_C_LADDR) && (!carried(f, F_LADDR) || !prefix_match(f->laddr, c->laddr, c->laddr_len)))
		return false;
	if ((c->check & CLS_C_RADDR) && (!carried(f, F_RADDR) || !prefix_match(f->raddr, c->raddr, c->raddr_len)))
		return false;
	if ((c->check & CLS_C_LPORT) && (!carried(f, F_LPORT) || f->lport < c->lport_lo || f->lport > c->lport_hi))
		return false;
	if ((c->check & CLS_C_RPORT) && (!carried(f, F_RPORT) || f->rport < c->rport_lo || f->rport > c->rport_hi))
		return false;
	return true;
}

/* The first candidate of a list that the event meets, if it comes before
 * entry `before`: *entry and *action. */
static int cands_walk(const struct cls_tables *t, uint32_t blk, const struct cls_fields *f, uint32_t before,
		      uint32_t *entry, uint32_t *action)
{
	for (int k = 0; k < CLS_MAX_CANDS; k++) {
		uint64_t w = ((uint64_t)blk + k) * CLS_BLOCK_WORDS;
		if (!tab_word(t, w + CLS_BLOCK_WORDS - 1))
			return -1;
		const struct cls_cand *c = (const struct cls_cand *)&t->tab[w];
		if (c->entry == CLS_NONE || c->entry >= before)
			return 0;
		if (cand_ok(c, f)) {
			*entry = c->entry;
			*action = c->action;
			return 0;
		}
	}
	return 0;
}

int cls_lookup(const struct cls_tables *t, const struct cls_fields *f, struct cls_result *out)
{
	_Static_assert(sizeof(struct cls_cand) == sizeof(struct cls_block), "a candidate is a block");
	uint32_t a0, best, act = CLS_NONE;

	memset(out, 0, sizeof(*out));
	out->verdict = VERDICT_DENY;
	out->slot = out->entry = CLS_SLOT_NONE;
	if (!t->config.ready || part_walk(t, 0, f, &a0) || a0 >= t->nactions)
		return -1;
	const struct cls_result *r0 = &t->actions[a0];
	best = r0->entry;
	for (uint32_t p = 1; p < t->config.nparts && p < CLS_MAX_PARTS; p++) {
		uint32_t blk;
		if (part_walk(t, (int)p, f, &blk) || cands_walk(t, blk, f, best, &best, &act))
			return -1;
	}
	if (act == CLS_NONE) {
		*out = *r0;
		return 0;
	}
	if (act >= t->nactions)
		return -1;
	*out = t->actions[act];
	if (!r0->nrecords)
		return 0;
	/* part 0's records before the entry that decides (rec_base) */
	const uint32_t *off = tab_word(t, (uint64_t)t->config.rec_base + a0), *re;
	if (!off)
		return -1;
	out->nrecords = 0;
	out->overflow = 0;
	for (int i = 0; i < r0->nrecords; i++) {
		if (!(re = tab_word(t, (uint64_t)*off + i)))
			return -1;
		if (*re >= best)
			return 0;
		out->records[out->nrecords++] = r0->records[i];
	}
	if (r0->overflow && (re = tab_word(t, (uint64_t)*off + r0->nrecords)) && *re < best)
		out->overflow = 1;
	return 0;
}
