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
	struct cls_out *o;
	struct cls_tables *t;
	uint32_t nrules;
	int bad_implicit[CLS_NODES]; /* first entry with conditions, none on the node's fields */
	uint8_t *final[CLS_NODES];   /* 0 unknown, 1 no, 2 yes */
	uint32_t *action[CLS_NODES]; /* final classes: result id, CLS_NONE until known */
	struct ivec unc;	     /* unconditional records */
	int err;		     /* a candidate list too long, too many blocks */
};

/* ---------- the word array ---------- */

uint32_t cls_tab_alloc(struct cls_out *o, size_t n, uint32_t fill)
{
	struct cls_tables *t = o->t;
	if (t->ntab + n > o->tabcap) {
		while (t->ntab + n > o->tabcap)
			o->tabcap = o->tabcap ? 2 * o->tabcap : 4096;
		t->tab = xrealloc(t->tab, o->tabcap * sizeof(uint32_t));
	}
	uint32_t at = t->ntab;
	for (size_t i = 0; i < n; i++)
		t->tab[at + i] = fill;
	t->ntab += (uint32_t)n;
	return at;
}

/* Pads to a block boundary; returns the next block. */
uint32_t cls_tab_align(struct cls_out *o)
{
	uint32_t r = o->t->ntab % CLS_BLOCK_WORDS;
	if (r)
		cls_tab_alloc(o, CLS_BLOCK_WORDS - r, 0);
	return o->t->ntab / CLS_BLOCK_WORDS;
}

static uint32_t tab_alloc(struct emitter *m, size_t n, uint32_t fill)
{
	return cls_tab_alloc(m->o, n, fill);
}

static uint32_t tab_align(struct emitter *m)
{
	return cls_tab_align(m->o);
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

static bool same_action(const struct cls_out *o, uint32_t id, const struct cls_result *r, const int32_t *rec)
{
	return !memcmp(&o->t->actions[id], r, sizeof(*r)) && !memcmp(o->arec[id], rec, sizeof(o->arec[id]));
}

/* The id of an action (a result and the entries of its records: the same
 * rule may be several entries, when jumped to from several places). */
uint32_t cls_intern_action(struct cls_out *o, const struct cls_result *r, const int32_t *rec)
{
	struct cls_tables *t = o->t;
	if (2 * (t->nactions + 1) > o->amask) {
		uint32_t cap = o->amask ? 2 * (o->amask + 1) : 1024;
		free(o->aht);
		o->aht = calloc(cap, sizeof(uint32_t));
		if (!o->aht)
			abort();
		o->amask = cap - 1;
		for (uint32_t i = 0; i < t->nactions; i++) {
			uint32_t h = result_hash(&t->actions[i]) & o->amask;
			while (o->aht[h])
				h = (h + 1) & o->amask;
			o->aht[h] = i + 1;
		}
	}
	uint32_t h = result_hash(r) & o->amask;
	while (o->aht[h]) {
		if (same_action(o, o->aht[h] - 1, r, rec))
			return o->aht[h] - 1;
		h = (h + 1) & o->amask;
	}
	if (t->nactions == o->actcap) {
		o->actcap = o->actcap ? 2 * o->actcap : 256;
		t->actions = xrealloc(t->actions, o->actcap * sizeof(*t->actions));
		o->arec = xrealloc(o->arec, o->actcap * sizeof(*o->arec));
	}
	t->actions[t->nactions] = *r;
	memcpy(o->arec[t->nactions], rec, sizeof(o->arec[0]));
	o->aht[h] = ++t->nactions;
	return t->nactions - 1;
}

void cls_out_free(struct cls_out *o)
{
	free(o->aht);
	free(o->arec);
	o->aht = NULL;
	o->arec = NULL;
}

static uint32_t entry_slot(const struct flat_entry *e, uint32_t nrules)
{
	return e->rule >= 0 ? (uint32_t)e->rule : nrules + (uint32_t)e->table;
}

static void add_record(const struct emitter *m, struct cls_result *r, int32_t *rec, int e)
{
	if (r->nrecords == CLS_MAX_RECORDS) {
		if (!r->overflow)
			rec[CLS_MAX_RECORDS] = m->c->gmap[e];
		r->overflow = 1;
		return;
	}
	const struct flat_entry *fe = &m->c->fp->e[e];
	rec[r->nrecords] = m->c->gmap[e];
	r->records[r->nrecords].slot = entry_slot(fe, m->nrules);
	r->records[r->nrecords].verdict = (uint8_t)fe->verdict;
	r->records[r->nrecords].log = fe->log;
	r->nrecords++;
}

/* Walks a final class's entries before its cut in order (the list's and
 * the unconditional records), calling fn on each. */
static void class_walk(struct emitter *m, int node, uint32_t id, void (*fn)(struct emitter *, int, void *), void *arg)
{
	const struct cstore *s = &m->c->node[node];
	const int *l = cstore_list(s, id);
	uint32_t n = s->c[id].n;
	int cut = s->c[id].cut;
	size_t i = 0, k = 0;
	for (;;) {
		int e;
		if (i < m->unc.n && m->unc.v[i] < cut && (k >= n || m->unc.v[i] < l[k]))
			e = m->unc.v[i++];
		else if (k < n && l[k] < cut)
			e = l[k++];
		else
			break;
		fn(m, e, arg);
	}
}

struct action_acc {
	struct cls_result r;
	int32_t rec[CLS_MAX_RECORDS + 1];
};

static void action_add(struct emitter *m, int e, void *arg)
{
	struct action_acc *a = arg;
	add_record(m, &a->r, a->rec, e);
}

/* The action deciding by entry `cut` after the records in acc. */
static uint32_t finish_action(struct emitter *m, struct action_acc *a, int cut)
{
	const struct flat_entry *fe = &m->c->fp->e[cut];
	a->r.entry = (uint32_t)m->c->gmap[cut];
	a->r.slot = entry_slot(fe, m->nrules);
	a->r.verdict = (uint8_t)fe->verdict;
	a->r.log = fe->log;
	return cls_intern_action(m->o, &a->r, a->rec);
}

static void acc_init(struct action_acc *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i <= CLS_MAX_RECORDS; i++)
		a->rec[i] = -1;
}

/* The action of a final class: its records (the list's entries before the
 * cut and the unconditional records, in order), then the cut. */
static uint32_t class_action(struct emitter *m, int node, uint32_t id)
{
	struct action_acc a;
	acc_init(&a);
	class_walk(m, node, id, action_add, &a);
	return finish_action(m, &a, m->c->node[node].c[id].cut);
}

/* ---------- candidate lists (keyed parts) ---------- */

/* A candidate's checks: the entry's conditions on the fields the part's
 * tree leaves out, each one interval (a port range, an address prefix);
 * an entry with sets there gives one candidate per combination. */
struct cand_acc {
	uint32_t first; /* block of the list */
	uint32_t n;
};

static void cand_fill_addr(uint8_t *len, uint32_t *w, u128 value, int plen)
{
	*len = (uint8_t)plen;
	for (int i = 0; i < 4; i++)
		w[i] = __builtin_bswap32((uint32_t)(value >> (96 - 32 * i)));
}

static void emit_cand(struct emitter *m, struct cand_acc *a, const struct cls_cand *cd)
{
	uint32_t at = tab_alloc(m, CLS_BLOCK_WORDS, 0);
	memcpy(&m->t->tab[at], cd, sizeof(*cd));
	a->n++;
	m->o->ncands++;
}

/* The prefixes of an address set (ranges split into CIDR blocks): at most
 * max of them, else -1. */
struct prefix_acc {
	u128 *val;
	int *len;
	int n, max;
};

static void prefix_add(u128 value, int len, void *arg)
{
	struct prefix_acc *a = arg;
	if (a->n < a->max) {
		a->val[a->n] = value;
		a->len[a->n] = len;
	}
	a->n++;
}

static int addr_prefixes(const struct vset *s, u128 *val, int *len, int max)
{
	struct prefix_acc a = { val, len, 0, max };
	for (int i = 0; i < s->n && a.n <= max; i++)
		cls_cidr_split(s->r[i].lo, s->r[i].hi, 128, prefix_add, &a);
	return a.n > max ? -1 : a.n;
}

#define CAND_MAX_SPLIT 4

static void cand_add(struct emitter *m, int e, void *arg)
{
	struct cand_acc *a = arg;
	const struct flat_entry *ge = &m->o->gfp->e[m->c->gmap[e]];
	struct cls_cand base;
	memset(&base, 0, sizeof(base));
	base.entry = (uint32_t)m->c->gmap[e];
	struct action_acc act;
	acc_init(&act);
	/* decided by it after the unconditional records before it (the other
	 * records are part 0's, see cls_config.rec_base) */
	for (size_t i = 0; i < m->o->gunc.n && m->o->gunc.v[i] < (int)base.entry; i++) {
		int g = m->o->gunc.v[i];
		const struct flat_entry *fe = &m->o->gfp->e[g];
		act.rec[act.r.nrecords < CLS_MAX_RECORDS ? act.r.nrecords : CLS_MAX_RECORDS] = g;
		if (act.r.nrecords == CLS_MAX_RECORDS) {
			act.r.overflow = 1;
			break;
		}
		act.r.records[act.r.nrecords++] =
			(struct cls_record){ entry_slot(fe, m->nrules), (uint8_t)fe->verdict, fe->log, 0 };
	}
	base.action = finish_action(m, &act, e);
	/* one candidate per combination of the checked conditions' parts */
	u128 av[2][CAND_MAX_SPLIT];
	int al[2][CAND_MAX_SPLIT], na[2] = { 1, 1 }, np[2] = { 1, 1 };
	const int afield[2] = { F_LADDR, F_RADDR }, pfield[2] = { F_LPORT, F_RPORT };
	for (int s = 0; s < 2; s++) {
		if ((m->c->vmask & (1u << afield[s])) && ge->cond[afield[s]].used) {
			na[s] = addr_prefixes(&ge->cond[afield[s]].set, av[s], al[s], CAND_MAX_SPLIT);
			base.check |= s ? CLS_C_RADDR : CLS_C_LADDR;
		}
		if ((m->c->vmask & (1u << pfield[s])) && ge->cond[pfield[s]].used) {
			np[s] = ge->cond[pfield[s]].set.n;
			base.check |= s ? CLS_C_RPORT : CLS_C_LPORT;
		}
	}
	if (na[0] < 0 || na[1] < 0 || (long)na[0] * na[1] * np[0] * np[1] > CAND_MAX_SPLIT) {
		m->err = 1; /* the partition only keys entries that split little */
		return;
	}
	for (int i0 = 0; i0 < na[0]; i0++)
		for (int i1 = 0; i1 < na[1]; i1++)
			for (int j0 = 0; j0 < np[0]; j0++)
				for (int j1 = 0; j1 < np[1]; j1++) {
					struct cls_cand cd = base;
					if (cd.check & CLS_C_LADDR)
						cand_fill_addr(&cd.laddr_len, cd.laddr, av[0][i0], al[0][i0]);
					if (cd.check & CLS_C_RADDR)
						cand_fill_addr(&cd.raddr_len, cd.raddr, av[1][i1], al[1][i1]);
					if (cd.check & CLS_C_LPORT) {
						const struct vrange *r = &ge->cond[F_LPORT].set.r[j0];
						cd.lport_lo = (uint16_t)r->lo;
						cd.lport_hi = (uint16_t)(r->hi > 65535 ? 65535 : r->hi);
					}
					if (cd.check & CLS_C_RPORT) {
						const struct vrange *r = &ge->cond[F_RPORT].set.r[j1];
						cd.rport_lo = (uint16_t)r->lo;
						cd.rport_hi = (uint16_t)(r->hi > 65535 ? 65535 : r->hi);
					}
					emit_cand(m, a, &cd);
				}
}

/* The candidate list of a final class of a keyed part: its entries before
 * the cut, then the cut unless it is the part's end (no entry of the part
 * matches), then the end.  Returns the block of its first candidate. */
static uint32_t class_cands(struct emitter *m, int node, uint32_t id)
{
	struct cand_acc a = { tab_align(m), 0 };
	class_walk(m, node, id, cand_add, &a);
	int cut = m->c->node[node].c[id].cut;
	if (cut != m->c->nlive - 1)
		cand_add(m, cut, &a);
	struct cls_cand end;
	memset(&end, 0, sizeof(end));
	end.entry = CLS_NONE;
	emit_cand(m, &a, &end);
	if (a.n > m->o->maxcands)
		m->o->maxcands = a.n;
	if (a.n - 1 > m->t->part_maxcands[m->c->part])
		m->t->part_maxcands[m->c->part] = a.n - 1;
	if (a.n > CLS_MAX_CANDS || a.first > CLS_H_ID)
		m->err = 1;
	return a.first;
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
			m->action[node][id] = c->keyed ? class_cands(m, node, id) : class_action(m, node, id);
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
	for (uint32_t i = 0; i < c->nvalue[f]; i++) {
		uint32_t h = handle(m, f, c->value_cls[f][i]); /* may grow the table */
		m->t->tab[lc->base + i] = h;
	}
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

static uint32_t build_trie(struct emitter *m, const struct tprefix *p, size_t n, int pos, int width, uint32_t dflt,
			   bool wide)
{
	if (!n)
		return dflt;
	/* 8 bits at once where the region holds enough prefixes to fill a
	 * 1 KiB node, or everywhere in a small trie; 4 otherwise (one 64-byte
	 * block) */
	int stride = (pos % 8 == 0 && pos + 8 <= width && (n >= 8 || wide)) ? 8 : 4;
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
		uint32_t e = build_trie(m, sub, ns, pos + stride, width, m->t->tab[at + s], wide);
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
		bool inside = o[i].len > rlen &&
			      (rlen == 0 || (o[i].value >> (128 - rlen)) == (region >> (128 - rlen)));
		if (!inside)
			continue;
		if (exclude_v4 && o[i].len >= 96 && (o[i].value >> 32) == v4net)
			continue; /* only IPv4-mapped addresses, which the IPv4 trie answers */
		p[np++] = (struct tprefix){ o[i].value << rlen, o[i].len - rlen, handle(m, f, o[i].cls) };
	}
	/* all strides 8 while that costs at most 4 MiB (1 KiB per node, one
	 * node per 8 bits of each prefix) */
	uint64_t bytes = 0;
	for (size_t i = 0; i < np; i++)
		bytes += (uint64_t)(p[i].len + 7) / 8 * 1024;
	uint32_t root = build_trie(m, p, np, 0, width, dflt, bytes <= (4u << 20));
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
		uint32_t solo = handle(m, parent, c->solo[child][id]); /* handles first: they may grow the table */
		uint32_t first = c->first[child][id] != CLS_NONE ? handle(m, parent, c->first[child][id]) : CLS_NONE;
		uint32_t *w = &m->t->tab[*at + 4 * id];
		w[0] = solo;
		w[1] = first;
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
			uint32_t r = handle(m, node, po->r); /* memoized: emit_combine made them all */
			uint32_t h1 = cls_hash1(ka, kb, seed);
			uint32_t b1 = h1 & (nbk - 1), b2 = cls_hash2(h1) & (nbk - 1);
			uint32_t *w1 = &m->t->tab[at + b1 * CLS_BLOCK_WORDS],
				 *w2 = &m->t->tab[at + b2 * CLS_BLOCK_WORDS];
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
			w[2] = r;
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
	/* every handle first (final ones emit actions or candidate lists), so
	 * that the table can be cut back to `mark` for a dense table */
	for (uint32_t id = 0; id < c->node[node].nc; id++)
		handle(m, node, id);
	for (uint32_t a = 0; a < na; a++)
		handle(m, A, a);
	for (uint32_t b = 0; b < nb; b++)
		handle(m, B, b);
	uint32_t mark = m->t->ntab;
	nc->mode = CLS_N_SPARSE;
	emit_info(m, A, node, &nc->info_a);
	emit_info(m, B, node, &nc->info_b);
	emit_buckets(m, node, nc);
	uint64_t sparse_words = m->t->ntab - mark, cells = (uint64_t)na * nb;
	if (c->out->opt.no_dense || cells > 4 * sparse_words + 4096 || cells > (2u << 20)) {
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
}

int cls_emit(struct compiler *c)
{
	struct emitter m = { .c = c, .o = c->out, .t = c->out->t, .nrules = c->out->nrules };
	struct cls_part_cfg *pc = &m.t->config.part[c->part];

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
	int err = m.err;
	emitter_free(&m);
	if (err)
		snprintf(c->err, c->errlen, "classifier: a candidate list is longer than %d", CLS_MAX_CANDS);
	return err ? -1 : 0;
}
