/* The classifier's tables, from the classes classify.c built: one array of
 * words (cls_tab) holding the value arrays, the tries, the dense and
 * sparse combination tables and their fallback information, the actions
 * (cls_actions) and the configuration.  Layout: rampart_classifier.h;
 * design: docs/classifier.md.
 *
 * Handles.  A class is written as a handle: its id and the flags its
 * parent's combination reads, or, when the class is final (it alone
 * decides the event), CLS_H_FINAL and the id of its action, so the lookup
 * stops there.  A class of node N is final when every entry before its cut
 * either does not match (it constrains N's fields and is not in the list),
 * or is in the list and constrains only N's fields, or constrains nothing
 * (an unconditional continue rule): then the records and the deciding
 * entry are known from the class alone.  Every class of the root is final. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "classify_int.h"

#define xrealloc cls_xrealloc

struct emitter {
	struct compiler *c;
	struct cls_tables *t;
	uint32_t nrules;
	size_t tabcap;
	int bad_implicit[CLS_NODES]; /* first entry with conditions, none on the node's fields */
	uint8_t *final[CLS_NODES];   /* 0 unknown, 1 no, 2 yes */
	uint32_t *action[CLS_NODES]; /* final classes: action id, CLS_NONE until known */
	struct ivec unc;             /* unconditional records */
	uint32_t *aht;               /* action interning: id + 1 */
	uint32_t amask;
	size_t actcap;
};

/* ---------- the word array ---------- */

static uint32_t tab_alloc(struct emitter *m, size_t n, uint32_t fill)
{
	struct cls_tables *t = m->t;
	if (t->ntab + n > m->tabcap) {
		while (t->ntab + n > m->tabcap)
			m->tabcap = m->tabcap ? 2 * m->tabcap : 4096;
		t->tab = xrealloc(t->tab, m->tabcap * sizeof(uint32_t));
	}
	uint32_t at = t->ntab;
	for (size_t i = 0; i < n; i++)
		t->tab[at + i] = fill;
	t->ntab += (uint32_t)n;
	return at;
}

/* Pads to a block boundary; returns the next block. */
static uint32_t tab_align(struct emitter *m)
{
	uint32_t r = m->t->ntab % CLS_BLOCK_WORDS;
	if (r)
		tab_alloc(m, CLS_BLOCK_WORDS - r, 0);
	return m->t->ntab / CLS_BLOCK_WORDS;
}

/* ---------- actions ---------- */

static uint32_t result_hash(const struct cls_result *r)
{
	const uint8_t *p = (const uint8_t *)r;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n = offsetof(struct cls_result, records) + r->nrecords * sizeof(struct cls_record);
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t intern_action(struct emitter *m, const struct cls_result *r)
{
	struct cls_tables *t = m->t;
	if (2 * (t->nactions + 1) > m->amask) {
		uint32_t cap = m->amask ? 2 * (m->amask + 1) : 1024;
		free(m->aht);
		m->aht = calloc(cap, sizeof(uint32_t));
		if (!m->aht)
			abort();
		m->amask = cap - 1;
		for (uint32_t i = 0; i < t->nactions; i++) {
			uint32_t h = result_hash(&t->actions[i]) & m->amask;
			while (m->aht[h])
				h = (h + 1) & m->amask;
			m->aht[h] = i + 1;
		}
	}
	uint32_t h = result_hash(r) & m->amask;
	while (m->aht[h]) {
		if (!memcmp(&t->actions[m->aht[h] - 1], r, sizeof(*r)))
			return m->aht[h] - 1;
		h = (h + 1) & m->amask;
	}
	if (t->nactions == m->actcap) {
		m->actcap = m->actcap ? 2 * m->actcap : 256;
		t->actions = xrealloc(t->actions, m->actcap * sizeof(*t->actions));
	}
	t->actions[t->nactions] = *r;
	m->aht[h] = ++t->nactions;
	return t->nactions - 1;
}

static uint32_t entry_slot(const struct flat_entry *e, uint32_t nrules)
{
	return e->rule >= 0 ? (uint32_t)e->rule : nrules + (uint32_t)e->table;
}

static void add_record(const struct emitter *m, struct cls_result *r, int e)
{
	if (r->nrecords == CLS_MAX_RECORDS) {
		r->overflow = 1;
		return;
	}
	const struct flat_entry *fe = &m->c->fp->e[e];
	r->records[r->nrecords].slot = entry_slot(fe, m->nrules);
	r->records[r->nrecords].verdict = (uint8_t)fe->verdict;
	r->records[r->nrecords].log = fe->log;
	r->nrecords++;
}

/* The action of a final class: its records (the list's entries before the
 * cut and the unconditional records, in order), then the cut. */
static uint32_t class_action(struct emitter *m, int node, uint32_t id)
{
	const struct cstore *s = &m->c->node[node];
	const int *l = cstore_list(s, id);
	uint32_t n = s->c[id].n;
	int cut = s->c[id].cut;
	struct cls_result r;
	memset(&r, 0, sizeof(r));
	size_t i = 0, k = 0;
	for (;;) {
		int e;
		if (i < m->unc.n && m->unc.v[i] < cut && (k >= n || m->unc.v[i] < l[k]))
			e = m->unc.v[i++];
		else if (k < n && l[k] < cut)
			e = l[k++];
		else
			break;
		add_record(m, &r, e);
	}
	const struct flat_entry *fe = &m->c->fp->e[cut];
	r.entry = (uint32_t)cut;
	r.slot = entry_slot(fe, m->nrules);
	r.verdict = (uint8_t)fe->verdict;
	r.log = fe->log;
	return intern_action(m, &r);
}

static bool is_final(struct emitter *m, int node, uint32_t id)
{
	struct compiler *c = m->c;
	if (!m->final[node])
		m->final[node] = calloc(c->node[node].nc ? c->node[node].nc : 1, 1);
	if (m->final[node][id])
		return m->final[node][id] == 2;
	const struct cstore *s = &c->node[node];
	int cut = s->c[id].cut;
	bool fin = cut < m->bad_implicit[node];
	const int *l = cstore_list(s, id);
	for (uint32_t k = 0; fin && k < s->c[id].n && l[k] < cut; k++)
		if (c->uses[l[k]] & ~c->mask[node])
			fin = false;
	m->final[node][id] = fin ? 2 : 1;
	return fin;
}

/* The handle of class id of node N, as the lookup meets it. */
static uint32_t handle(struct emitter *m, int node, uint32_t id)
{
	struct compiler *c = m->c;
	if (is_final(m, node, id)) {
		if (!m->action[node]) {
			m->action[node] = xrealloc(NULL, c->node[node].nc * sizeof(uint32_t));
			memset(m->action[node], 0xff, c->node[node].nc * sizeof(uint32_t));
		}
		if (m->action[node][id] == CLS_NONE)
			m->action[node][id] = class_action(m, node, id);
		return CLS_H_FINAL | m->action[node][id];
	}
	int p = c->parent[node];
	if (c->kind[p] == NK_LEFT || c->kind[p] == NK_RIGHT)
		return handle(m, p, id); /* same classes, same ids */
	uint32_t h = id;
	if (c->wild[node][id] & W_WILD)
		h |= CLS_H_WILD;
	if (c->wild[node][id] & W_SHARED)
		h |= CLS_H_SHARED;
	if (c->first[node][id] != CLS_NONE)
		h |= CLS_H_FIRST;
	return h;
}

/* ---------- leaves ---------- */

static void emit_values(struct emitter *m, int f, struct cls_leaf_cfg *lc)
{
	struct compiler *c = m->c;
	lc->mode = CLS_L_VALUES;
	lc->base = tab_alloc(m, c->nvalue[f], 0);
	lc->clamp = c->nvalue[f] - 2;
	for (uint32_t i = 0; i < c->nvalue[f]; i++)
		m->t->tab[lc->base + i] = handle(m, f, c->value_cls[f][i]);
	lc->konst = m->t->tab[lc->base];
}

/* A multibit trie with leaf pushing over prefixes (value left-aligned in
 * 128 bits, len counted from bit `pos0`), all with len > pos, sorted by
 * value then length.  Returns the entry for the region [pos, ...) whose
 * longest covering prefix has handle dflt. */
struct tprefix {
	u128 value;
	int len;
	uint32_t h;
};

static uint32_t slot_of(u128 v, int pos, int stride)
{
	return (uint32_t)(v >> (128 - pos - stride)) & ((1u << stride) - 1);
}

static uint32_t build_trie(struct emitter *m, const struct tprefix *p, size_t n, int pos, int width, uint32_t dflt)
{
	if (!n)
		return dflt;
	/* 8 bits at once where the region holds enough prefixes to fill a
	 * 1 KiB node, 4 otherwise (one 64-byte block) */
	int stride = (pos % 8 == 0 && pos + 8 <= width && n >= 8) ? 8 : 4;
	uint32_t nslots = 1u << stride;
	uint32_t blk = tab_align(m);
	uint32_t at = tab_alloc(m, nslots, dflt);
	/* prefixes ending inside this node: expand, shorter first so longer override */
	for (int len = pos + 1; len <= pos + stride; len++)
		for (size_t i = 0; i < n; i++) {
			if (p[i].len != len)
				continue;
			uint32_t s0 = slot_of(p[i].value, pos, stride), cnt = 1u << (pos + stride - len);
			for (uint32_t s = s0; s < s0 + cnt; s++)
				m->t->tab[at + s] = p[i].h;
		}
	/* longer prefixes: one child per slot they fall in */
	for (size_t i = 0; i < n;) {
		if (p[i].len <= pos + stride) {
			i++;
			continue;
		}
		uint32_t s = slot_of(p[i].value, pos, stride);
		size_t j = i;
		while (j < n && slot_of(p[j].value, pos, stride) == s)
			j++;
		/* [i, j) share the slot; those ending inside were expanded above */
		size_t k = i;
		struct tprefix *sub = xrealloc(NULL, (j - i) * sizeof(*sub));
		size_t ns = 0;
		for (k = i; k < j; k++)
			if (p[k].len > pos + stride)
				sub[ns++] = p[k];
		uint32_t e = build_trie(m, sub, ns, pos + stride, width, m->t->tab[at + s]);
		free(sub);
		m->t->tab[at + s] = e;
		i = j;
	}
	m->t->ntrie += nslots;
	return CLS_T_CHILD | (stride == 8 ? CLS_T_STRIDE8 : 0) | blk;
}

/* The root entry of a trie over the prefixes of field f projected onto the
 * keys [lo_pos, 128) of the region (value, lo_pos) of the address space:
 * prefixes containing the region give the default, prefixes inside it are
 * shifted to start at bit 0. */
static uint32_t emit_trie(struct emitter *m, int f, u128 region, int rlen, int width, bool exclude_v4)
{
	struct compiler *c = m->c;
	const struct leaf_prefix_out *o = c->pfx[f];
	size_t n = c->npfx[f];
	uint32_t dflt = handle(m, f, 0);
	struct tprefix *p = xrealloc(NULL, (n ? n : 1) * sizeof(*p));
	size_t np = 0;
	u128 v4net = (u128)0xffff << 32;
	for (size_t i = 0; i < n; i++) {
		/* longest prefix containing the region: the items come in order of
		 * value then length, so the last containing one is the longest */
		bool contains = o[i].len <= rlen &&
				(o[i].len == 0 || (o[i].value >> (128 - o[i].len)) == (region >> (128 - o[i].len)));
		if (contains) {
			dflt = handle(m, f, o[i].cls);
			continue;
		}
		bool inside = o[i].len > rlen && (rlen == 0 || (o[i].value >> (128 - rlen)) == (region >> (128 - rlen)));
		if (!inside)
			continue;
		if (exclude_v4 && o[i].len >= 96 && (o[i].value >> 32) == v4net)
			continue; /* only IPv4-mapped addresses, which the IPv4 trie answers */
		p[np++] = (struct tprefix){ o[i].value << rlen, o[i].len - rlen, handle(m, f, o[i].cls) };
	}
	uint32_t root = build_trie(m, p, np, 0, width, dflt);
	free(p);
	return root;
}

static void emit_prefix_leaf(struct emitter *m, int f, struct cls_leaf_cfg *lc)
{
	lc->mode = CLS_L_TRIE;
	lc->konst = handle(m, f, 0); /* not carried: the base class */
	if (f == F_USER) {
		lc->root4 = emit_trie(m, f, 0, 0, 32, false);
		lc->root6 = lc->root4;
		return;
	}
	lc->root4 = emit_trie(m, f, (u128)0xffff << 32, 96, 32, false);
	lc->root6 = emit_trie(m, f, 0, 0, 128, true);
}

/* ---------- combinations ---------- */

static void emit_info(struct emitter *m, int child, int parent, uint32_t *at)
{
	struct compiler *c = m->c;
	uint32_t nc = c->node[child].nc;
	if (m->t->ntab % 4) /* a record never straddles two blocks */
		tab_alloc(m, 4 - m->t->ntab % 4, 0);
	*at = tab_alloc(m, (size_t)nc * 4, 0);
	for (uint32_t id = 0; id < nc; id++) {
		uint32_t *w = &m->t->tab[*at + 4 * id];
		w[0] = handle(m, parent, c->solo[child][id]);
		w[1] = c->first[child][id] != CLS_NONE ? handle(m, parent, c->first[child][id]) : CLS_NONE;
		w[2] = c->sid[child][id];
		w[3] = c->minwild[child][id];
	}
}

/* 2-choice hashing of the stored pairs into buckets of 4; a new seed, then
 * twice the buckets, if a bucket overflows. */
static void emit_buckets(struct emitter *m, int node, struct cls_node_cfg *nc)
{
	struct compiler *c = m->c;
	size_t np = c->npairs[node];
	uint32_t nbk = 1;
	while (nbk * CLS_BUCKET_PAIRS < 2 * np)
		nbk *= 2;
	uint32_t mark = m->t->ntab;
	for (uint32_t seed = 1;; seed++) {
		m->t->ntab = mark;
		uint32_t blk = tab_align(m);
		uint32_t at = tab_alloc(m, (size_t)nbk * CLS_BLOCK_WORDS, CLS_NONE);
		bool ok = true;
		for (size_t i = 0; i < np && ok; i++) {
			const struct pair_out *po = &c->pairs[node][i];
			bool proj = po->below != CLS_NONE;
			uint32_t ka = proj ? CLS_PROJ | po->a : po->a, kb = po->b;
			uint32_t h1 = cls_hash1(ka, kb, seed);
			uint32_t b1 = h1 & (nbk - 1), b2 = cls_hash2(h1) & (nbk - 1);
			uint32_t *w1 = &m->t->tab[at + b1 * CLS_BLOCK_WORDS], *w2 = &m->t->tab[at + b2 * CLS_BLOCK_WORDS];
			int f1 = 0, f2 = 0;
			while (f1 < CLS_BUCKET_PAIRS && w1[4 * f1] != CLS_NONE)
				f1++;
			while (f2 < CLS_BUCKET_PAIRS && w2[4 * f2] != CLS_NONE)
				f2++;
			uint32_t *w = f1 <= f2 ? w1 + 4 * f1 : w2 + 4 * f2;
			if ((f1 <= f2 ? f1 : f2) == CLS_BUCKET_PAIRS) {
				ok = false;
				break;
			}
			w[0] = ka;
			w[1] = kb;
			w[2] = handle(m, node, po->r);
			w[3] = po->below;
		}
		if (ok) {
			nc->base = blk;
			nc->mask = nbk - 1;
			nc->seed = seed;
			return;
		}
		if (seed % 4 == 0)
			nbk *= 2;
	}
}

/* A combination: sparse (buckets and fallback information), replaced by a
 * dense table of every pair when that is not much bigger. */
static void emit_combine(struct emitter *m, int node, struct cls_node_cfg *nc)
{
	struct compiler *c = m->c;
	int A = cls_tree[node - CLS_LEAVES][0], B = cls_tree[node - CLS_LEAVES][1];
	uint32_t na = c->node[A].nc, nb = c->node[B].nc;
	uint32_t mark = m->t->ntab;
	nc->mode = CLS_N_SPARSE;
	emit_info(m, A, node, &nc->info_a);
	emit_info(m, B, node, &nc->info_b);
	emit_buckets(m, node, nc);
	uint64_t sparse_words = m->t->ntab - mark, cells = (uint64_t)na * nb;
	if (c->opt.no_dense || cells > 4 * sparse_words + 4096 || cells > (1u << 24)) {
		m->t->npairs += (uint32_t)c->npairs[node];
		for (size_t i = 0; i < c->npairs[node]; i++)
			m->t->nprojected += c->pairs[node][i].below != CLS_NONE;
		return;
	}
	uint32_t *ha = xrealloc(NULL, na * sizeof(uint32_t)), *hb = xrealloc(NULL, nb * sizeof(uint32_t));
	uint32_t *cell = xrealloc(NULL, cells * sizeof(uint32_t));
	for (uint32_t a = 0; a < na; a++)
		ha[a] = handle(m, A, a);
	for (uint32_t b = 0; b < nb; b++)
		hb[b] = handle(m, B, b);
	for (uint32_t a = 0; a < na; a++)
		for (uint32_t b = 0; b < nb; b++) {
			uint32_t *r = &cell[(uint64_t)a * nb + b];
			*r = 0; /* a final child never gets here */
			if (!((ha[a] | hb[b]) & CLS_H_FINAL) && cls_tab_combine(m->t, nc, ha[a], hb[b], r))
				abort(); /* the sparse tables are complete */
		}
	m->t->ntab = mark;
	memset(nc, 0, sizeof(*nc));
	nc->mode = CLS_N_DENSE;
	nc->nb = nb;
	nc->base = tab_alloc(m, cells, 0);
	memcpy(&m->t->tab[nc->base], cell, cells * sizeof(uint32_t));
	m->t->ndense += (uint32_t)cells;
	free(cell);
	free(ha);
	free(hb);
}

static void emitter_free(struct emitter *m)
{
	for (int i = 0; i < CLS_NODES; i++) {
		free(m->final[i]);
		free(m->action[i]);
	}
	free(m->unc.v);
	free(m->aht);
}

int cls_emit(struct compiler *c, struct cls_tables *t, uint32_t nrules)
{
	struct emitter m = { .c = c, .t = t, .nrules = nrules };
	struct cls_config *cfg = &t->config;
	struct cls_part_cfg *pc = &cfg->part;

	for (int e = 0; e < c->nlive; e++)
		if (!c->uses[e] && !c->terminal[e])
			ivec_push(&m.unc, e);
	for (int node = 0; node < CLS_NODES; node++) {
		m.bad_implicit[node] = c->nlive;
		for (int e = 0; e < c->nlive; e++)
			if (c->uses[e] && !(c->uses[e] & c->mask[node])) {
				m.bad_implicit[node] = e;
				break;
			}
	}
	for (int f = 0; f < CLS_LEAVES; f++) {
		struct cls_leaf_cfg *lc = &pc->leaf[f];
		if (c->kind[f] == NK_CONST) {
			lc->mode = CLS_L_CONST;
			lc->konst = c->parent[f] >= 0 && c->kind[c->parent[f]] == NK_COMBINE ? handle(&m, f, 0) : 0;
		} else if (CLS_IS_PREFIX_FIELD(f)) {
			emit_prefix_leaf(&m, f, lc);
		} else {
			emit_values(&m, f, lc);
		}
	}
	for (int node = CLS_LEAVES; node < CLS_NODES; node++) {
		struct cls_node_cfg *nc = &pc->node[node - CLS_LEAVES];
		switch (c->kind[node]) {
		case NK_CONST:
			nc->mode = CLS_N_CONST;
			/* only the root's constant is ever used (a policy of unconditional rules) */
			nc->konst = node == CLS_ROOT ? handle(&m, node, 0) : 0;
			break;
		case NK_LEFT:
			nc->mode = CLS_N_LEFT;
			break;
		case NK_RIGHT:
			nc->mode = CLS_N_RIGHT;
			break;
		default:
			emit_combine(&m, node, nc);
		}
	}
	tab_align(&m);
	if (!t->ntab)
		tab_alloc(&m, CLS_BLOCK_WORDS, 0);
	cfg->ready = 1;
	cfg->nrules = nrules;
	emitter_free(&m);
	return 0;
}
