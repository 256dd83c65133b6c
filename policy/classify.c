/* The classifier compiler: Recursive Flow Classification over the
 * flattened policy.  See docs/classifier.md for the design; in short:
 *
 * A class of a node (a field, or a combination of fields along CLS_TREE)
 * is a set of entries: those that do not constrain the node's fields
 * (implicit, shared by every class of the node) plus a sorted list of
 * "specific" entries that constrain some of the node's fields and match
 * on all of them.  Pruning: an entry is "decisive" at a node when it is a
 * terminal entry constraining no field outside the node — then any event
 * in the class matches it, and every later entry is irrelevant.  So a
 * class is (cut = first decisive entry, specific entries <= cut); the root
 * default (the first entry with no condition at all) is decisive
 * everywhere, so cut always exists.
 *
 * Combining classes a (left, fields A) and b (right, fields B):
 *   T = S(a) & S(b) = implicit(A u B)
 *       u wild(a)   (a's specific entries that do not constrain B)
 *       u wild(b)
 *       u X(a, b)   (entries specific to both, in both lists)
 * truncated at min(cut a, cut b) and at the first entry decisive for A u B.
 * Only pairs that may differ from a cheap fallback are stored:
 *   solo(a) = a combined with b's base class (no specific entries);
 *   if b has no wild entries, X(a, b) empty  ->  result == solo(a)
 *   (b's cut is then the global default, since a decisive entry of b would
 *   be wild), and symmetrically.  So candidates are the pairs with X
 *   non-empty (found through an inverted index entry -> classes) and the
 *   pairs where both are wild; a candidate is stored only when the lookup
 *   would otherwise not find its result: through the same decisive first
 *   entry on both sides (cls_class.first), or through a pair of
 *   projections (shared entries only) decided before any wild entry
 *   (stored once for all pairs with those projections), or the fallback.
 *   The proofs are in docs/classifier.md; the differential tests check
 *   them, and the compiler checks its own shortcuts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "classify_int.h"
#include "fields.h"

const int cls_tree[CLS_INNER][2] = CLS_TREE_INIT;

/* ---------- small growable arrays ---------- */

void *cls_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}
#define xrealloc cls_xrealloc

/* ---------- class store of one node (interning) ---------- */

static uint32_t list_hash(int cut, const int *l, uint32_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull * ((uint64_t)(uint32_t)cut + 1) + n;
	for (uint32_t i = 0; i < n; i++) {
		h ^= (uint32_t)l[i];
		h *= 0x100000001B3ull;
		h ^= h >> 31;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static void cstore_grow_ht(struct cstore *s)
{
	uint32_t cap = s->htmask ? 2 * (s->htmask + 1) : 1024;
	free(s->ht);
	s->ht = calloc(cap, sizeof(uint32_t));
	if (!s->ht)
		abort();
	s->htmask = cap - 1;
	for (uint32_t id = 0; id < s->nc; id++) {
		uint32_t h = s->c[id].hash & s->htmask;
		while (s->ht[h])
			h = (h + 1) & s->htmask;
		s->ht[h] = id + 1;
	}
}

/* The id of class (cut, list), adding it when new.  -1: too many classes. */
int64_t cstore_intern(struct cstore *s, int cut, const int *l, uint32_t n)
{
	uint32_t hash = list_hash(cut, l, n);
	if (2 * (s->nc + 1) > s->htmask)
		cstore_grow_ht(s);
	uint32_t h = hash & s->htmask;
	while (s->ht[h]) {
		const struct cclass *c = &s->c[s->ht[h] - 1];
		if (c->hash == hash && c->cut == cut && c->n == n && !memcmp(&s->arena.v[c->off], l, n * sizeof(int)))
			return s->ht[h] - 1;
		h = (h + 1) & s->htmask;
	}
	if (s->nc >= CLS_MAX_CLASSES)
		return -1;
	if (s->nc == s->capc) {
		s->capc = s->capc ? 2 * s->capc : 64;
		s->c = xrealloc(s->c, s->capc * sizeof(*s->c));
	}
	struct cclass *c = &s->c[s->nc];
	c->off = s->arena.n;
	c->n = n;
	c->cut = cut;
	c->hash = hash;
	for (uint32_t i = 0; i < n; i++)
		ivec_push(&s->arena, l[i]);
	s->ht[h] = ++s->nc;
	return s->nc - 1;
}

const int *cstore_list(const struct cstore *s, uint32_t id)
{
	return s->arena.v + s->c[id].off;
}

void cstore_free(struct cstore *s)
{
	free(s->arena.v);
	free(s->c);
	free(s->ht);
	memset(s, 0, sizeof(*s));
}

/* ---------- compiler state (classify_int.h) ---------- */

static const char *node_name(int node, char *buf, size_t len)
{
	if (node < CLS_LEAVES) {
		snprintf(buf, len, "%s", field_name(node));
		return buf;
	}
	char l[96], r[96];
	node_name(cls_tree[node - CLS_LEAVES][0], l, sizeof(l));
	node_name(cls_tree[node - CLS_LEAVES][1], r, sizeof(r));
	snprintf(buf, len, "%s, %s", l, r);
	return buf;
}

static int fail(struct compiler *c, int node, const char *what)
{
	char nb[256];
	c->over_budget = true;
	snprintf(c->err, c->errlen,
		 "policy too large for the classifier: %s for the combinations of %s; "
		 "rules that each name their own values of several of these fields multiply; "
		 "use sets (addresses/ports groups) in fewer rules, or split the policy",
		 what, node_name(node, nb, sizeof(nb)));
	return -1;
}

bool cls_decisive(const struct compiler *c, int e, uint32_t mask)
{
	return c->terminal[e] && !(c->uses[e] & ~mask);
}

static int work(struct compiler *c, uint64_t n, int node)
{
	c->work += n;
	if (c->work > c->opt.max_work)
		return fail(c, node, "too many steps of compilation");
	return 0;
}

/* Prunes a sorted list of specific entries of a node whose implicit cut is
 * `cut`: keeps entries up to the first decisive one; returns the new length
 * and sets *cutp. */
static uint32_t prune(const struct compiler *c, int *l, uint32_t n, uint32_t mask, int cut, int *cutp)
{
	uint32_t k = 0;
	for (; k < n && l[k] <= cut; k++) {
		if (cls_decisive(c, l[k], mask)) {
			*cutp = l[k];
			return k + 1;
		}
	}
	*cutp = cut;
	return k;
}

/* ---------- leaves: interval fields ---------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t seg_of(const uint64_t *start, uint32_t nseg, uint64_t v)
{
	uint32_t lo = 0, hi = nseg - 1; /* last start <= v */
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;
		if (start[mid] <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int build_leaf_interval(struct compiler *c, int f)
{
	const struct flat_policy *fp = c->fp;
	uint64_t max = (uint64_t)field_max(f);
	size_t nb = 1, capb = 64;
	uint64_t *b = xrealloc(NULL, capb * sizeof(uint64_t));
	b[0] = 0;
	for (int e = 0; e < c->nlive; e++) {
		if (!(c->uses[e] & (1u << f)))
			continue;
		const struct vset *s = &fp->e[e].cond[f].set;
		for (int i = 0; i < s->n; i++) {
			if (nb + 2 > capb) {
				capb *= 2;
				b = xrealloc(b, capb * sizeof(uint64_t));
			}
			if (s->r[i].lo > max)
				continue;
			b[nb++] = (uint64_t)s->r[i].lo;
			if (s->r[i].hi < max)
				b[nb++] = (uint64_t)s->r[i].hi + 1;
		}
	}
	qsort(b, nb, sizeof(uint64_t), cmp_u64);
	uint32_t nseg = 0;
	for (size_t i = 0; i < nb; i++)
		if (!nseg || b[i] != b[nseg - 1])
			b[nseg++] = b[i];
	uint64_t clampv = b[nseg - 1];
	if (clampv > CLS_MAX_ARRAY_VAL) {
		free(b);
		snprintf(c->err, c->errlen,
			 "classifier: the policy names %s values up to %llu; at most %u are supported", field_name(f),
			 (unsigned long long)clampv, CLS_MAX_ARRAY_VAL);
		return -1;
	}

	/* entries per segment (CSR), in entry order: count, then fill */
	uint64_t *start = calloc(nseg + 1, sizeof(uint64_t));
	uint64_t *pos = calloc(nseg + 1, sizeof(uint64_t));
	int *lists = NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (int e = 0; e < c->nlive; e++) {
			if (!(c->uses[e] & (1u << f)))
				continue;
			const struct vset *s = &fp->e[e].cond[f].set;
			for (int i = 0; i < s->n; i++) {
				if (s->r[i].lo > max)
					continue;
				uint64_t hi = s->r[i].hi > max ? max : (uint64_t)s->r[i].hi;
				uint32_t s0 = seg_of(b, nseg, (uint64_t)s->r[i].lo), s1 = seg_of(b, nseg, hi);
				if (pass == 0 && work(c, s1 - s0 + 1, f)) {
					free(b);
					free(start);
					free(pos);
					return -1;
				}
				for (uint32_t k = s0; k <= s1; k++) {
					if (pass == 0)
						start[k + 1]++;
					else
						lists[pos[k]++] = e;
				}
			}
		}
		if (pass == 0) {
			for (uint32_t k = 0; k < nseg; k++)
				start[k + 1] += start[k];
			memcpy(pos, start, (nseg + 1) * sizeof(uint64_t));
			lists = xrealloc(NULL, (start[nseg] ? start[nseg] : 1) * sizeof(int));
		}
	}
	uint32_t *seg_cls = xrealloc(NULL, nseg * sizeof(uint32_t));
	int rc = 0;
	for (uint32_t k = 0; k < nseg && !rc; k++) {
		uint64_t st = start[k];
		int cut;
		uint32_t n = prune(c, lists + st, (uint32_t)(start[k + 1] - st), 1u << f, c->nlive - 1, &cut);
		int64_t id = cstore_intern(&c->node[f], cut, lists + st, n);
		if (id < 0)
			rc = fail(c, f, "more than 16M classes");
		else
			seg_cls[k] = (uint32_t)id;
	}
	if (!rc) {
		c->nvalue[f] = (uint32_t)clampv + 2;
		c->value_cls[f] = xrealloc(NULL, c->nvalue[f] * sizeof(uint32_t));
		c->value_cls[f][0] = 0; /* not carried: the base class */
		for (uint32_t k = 0; k < nseg; k++) {
			uint64_t end = k + 1 < nseg ? b[k + 1] : clampv + 1;
			for (uint64_t v = b[k]; v < end; v++)
				c->value_cls[f][1 + v] = seg_cls[k];
		}
	}
	free(seg_cls);
	free(pos);
	free(lists);
	free(start);
	free(b);
	return rc;
}

/* ---------- leaves: prefix fields (addresses, uid) ---------- */

int cls_cmp_pitem(const void *x, const void *y)
{
	const struct pitem *a = x, *b = y;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return (a->e > b->e) - (a->e < b->e);
}

static u128 low_mask(int bits) /* 2^bits - 1, bits 0..128 */
{
	return bits >= 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
}

void cls_cidr_split(u128 lo, u128 hi, int width, void (*fn)(u128 value, int len, void *arg), void *arg)
{
	for (;;) {
		int k = 0; /* largest block 2^k aligned at lo and inside [lo, hi] */
		while (k < width && !((lo >> k) & 1) && (lo | low_mask(k + 1)) <= hi)
			k++;
		fn(lo, width - k, arg);
		u128 last = lo | low_mask(k);
		if (last >= hi)
			return;
		lo = last + 1;
	}
}

void cls_pitem_push(struct pitems *v, u128 value, int len, int e)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = (struct pitem){ value, len, e };
}

struct push_arg {
	struct pitems *v;
	int e;
};

static void push_block(u128 value, int len, void *arg)
{
	struct push_arg *a = arg;
	cls_pitem_push(a->v, value, len, a->e);
}

void cls_range_to_prefixes(u128 lo, u128 hi, int width, int e, struct pitems *v)
{
	struct push_arg a = { v, e };
	cls_cidr_split(lo, hi, width, push_block, &a);
}

static bool prefix_contains(u128 pv, int plen, u128 v, int width)
{
	if (plen == 0)
		return true;
	int sh = width - plen;
	return (pv >> sh) == (v >> sh);
}

struct pframe {
	u128 value;
	int len;
	int cut;
	struct ivec list;
};

static int build_leaf_prefix(struct compiler *c, int f)
{
	const struct flat_policy *fp = c->fp;
	int width = f == F_USER ? 32 : 128;
	u128 max = width == 128 ? ~(u128)0 : low_mask(width);
	struct pitems pi = { 0 };
	cls_range_to_prefixes(0, max, width, -1, &pi); /* the /0 */
	for (int e = 0; e < c->nlive; e++) {
		if (!(c->uses[e] & (1u << f)))
			continue;
		const struct vset *s = &fp->e[e].cond[f].set;
		for (int i = 0; i < s->n; i++) {
			if (s->r[i].lo > max)
				continue;
			cls_range_to_prefixes(s->r[i].lo, s->r[i].hi > max ? max : s->r[i].hi, width, e, &pi);
		}
	}
	struct pitem *items = pi.v;
	size_t n = pi.n;
	qsort(items, n, sizeof(*items), cls_cmp_pitem);

	struct pframe stack[130];
	int depth = 0;
	struct ivec merged = { 0 };
	int rc = 0;
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i;
		while (j < n && items[j].value == items[i].value && items[j].len == items[i].len)
			j++;
		while (depth > 0 &&
		       !prefix_contains(stack[depth - 1].value, stack[depth - 1].len, items[i].value, width))
			free(stack[--depth].list.v);
		const int *pl = depth ? stack[depth - 1].list.v : NULL;
		size_t pn = depth ? stack[depth - 1].list.n : 0;
		int pcut = depth ? stack[depth - 1].cut : c->nlive - 1;
		/* merge the parent's entries with this prefix's owners (<= parent's cut) */
		merged.n = 0;
		size_t a = 0, k = i;
		while (k < j && items[k].e < 0)
			k++;
		while (a < pn || (k < j && items[k].e <= pcut)) {
			bool own = k < j && items[k].e <= pcut;
			if (own && a < pn && items[k].e == pl[a]) {
				k++;
			} else if (own && (a >= pn || items[k].e < pl[a])) {
				ivec_push(&merged, items[k++].e);
			} else {
				ivec_push(&merged, pl[a++]);
			}
		}
		if (work(c, merged.n + 1, f)) {
			rc = -1;
			break;
		}
		int cut;
		uint32_t mn = prune(c, merged.v, (uint32_t)merged.n, 1u << f, pcut, &cut);
		int64_t id = cstore_intern(&c->node[f], cut, merged.v, mn);
		if (id < 0) {
			rc = fail(c, f, "more than 16M classes");
			break;
		}
		struct pframe *fr = &stack[depth++];
		fr->value = items[i].value;
		fr->len = items[i].len;
		fr->cut = cut;
		fr->list = (struct ivec){ 0 };
		for (uint32_t x = 0; x < mn; x++)
			ivec_push(&fr->list, merged.v[x]);

		if (c->npfx[f] == c->cappfx[f]) {
			c->cappfx[f] = c->cappfx[f] ? 2 * c->cappfx[f] : 1024;
			c->pfx[f] = xrealloc(c->pfx[f], c->cappfx[f] * sizeof(*c->pfx[f]));
		}
		c->pfx[f][c->npfx[f]++] =
			(struct leaf_prefix_out){ items[i].value << (128 - width), items[i].len, (uint32_t)id };
		i = j;
	}
	while (depth > 0)
		free(stack[--depth].list.v);
	free(merged.v);
	free(items);
	return rc;
}

/* ---------- inner nodes ---------- */

struct triple {
	uint32_t a, b;
	int e; /* -1: both-wild candidate without a common entry */
};

static int cmp_triple(const void *x, const void *y)
{
	const struct triple *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return (p->e > q->e) - (p->e < q->e);
}

/* CSR lists per class: the class's specific entries filtered by a predicate. */
struct csr {
	size_t *start; /* nc + 1 */
	int *v;
};

static void csr_free(struct csr *s)
{
	free(s->start);
	free(s->v);
}

/* wild: entries not constraining `other`; shared: entries constraining it. */
static void csr_filter(const struct compiler *c, const struct cstore *s, uint32_t other, bool want_shared,
		       struct csr *out)
{
	out->start = xrealloc(NULL, (s->nc + 1) * sizeof(size_t));
	struct ivec v = { 0 };
	for (uint32_t id = 0; id < s->nc; id++) {
		out->start[id] = v.n;
		const int *l = cstore_list(s, id);
		for (uint32_t k = 0; k < s->c[id].n; k++)
			if (((c->uses[l[k]] & other) != 0) == want_shared)
				ivec_push(&v, l[k]);
	}
	out->start[s->nc] = v.n;
	out->v = v.v;
}

/* The class of the parent for (a, b) given X = common specific entries. */
static int64_t combine(struct compiler *c, int node, const struct cstore *sa, uint32_t a, const struct csr *wa,
		       const struct cstore *sb, uint32_t b, const struct csr *wb, const int *x, size_t nx,
		       struct ivec *buf)
{
	int lim = sa->c[a].cut < sb->c[b].cut ? sa->c[a].cut : sb->c[b].cut;
	const int *l1 = wa->v + wa->start[a], *l2 = wb->v + wb->start[b];
	size_t n1 = wa->start[a + 1] - wa->start[a], n2 = wb->start[b + 1] - wb->start[b];
	size_t i1 = 0, i2 = 0, i3 = 0;
	int cut = c->nlive - 1;
	buf->n = 0;
	for (;;) {
		int e = lim + 1;
		int which = 0;
		if (i1 < n1 && l1[i1] < e)
			e = l1[i1], which = 1;
		if (i2 < n2 && l2[i2] < e)
			e = l2[i2], which = 2;
		if (i3 < nx && x[i3] < e)
			e = x[i3], which = 3;
		if (!which)
			break;
		if (which == 1)
			i1++;
		else if (which == 2)
			i2++;
		else
			i3++;
		ivec_push(buf, e);
		if (cls_decisive(c, e, c->mask[node])) {
			cut = e;
			break;
		}
	}
	if (work(c, buf->n + 1, node))
		return -2;
	int64_t id = cstore_intern(&c->node[node], cut, buf->v, (uint32_t)buf->n);
	if (id < 0)
		fail(c, node, "more than 16M classes");
	return id;
}

/* Slot of a (sid a, sid b) key in the memo of projected pairs: the high
 * bits of a multiplicative hash, which depend on both halves. */
static size_t memo_slot(uint64_t key, size_t mask)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ull;
	return (size_t)(h ^ (h >> 29) ^ (h >> 47)) & mask;
}

static int build_inner(struct compiler *c, int node)
{
	int A = cls_tree[node - CLS_LEAVES][0], B = cls_tree[node - CLS_LEAVES][1];
	struct cstore *sa = &c->node[A], *sb = &c->node[B];
	struct csr wa, wb, xa, xb;
	struct ivec buf = { 0 };
	struct triple *tr = NULL;
	size_t ntr = 0, captr = 0;
	int rc = -1;

	csr_filter(c, sa, c->mask[B], false, &wa);
	csr_filter(c, sb, c->mask[A], false, &wb);
	csr_filter(c, sa, c->mask[B], true, &xa);
	csr_filter(c, sb, c->mask[A], true, &xb);
	c->solo[A] = xrealloc(NULL, sa->nc * sizeof(uint32_t));
	c->wild[A] = xrealloc(NULL, sa->nc);
	c->solo[B] = xrealloc(NULL, sb->nc * sizeof(uint32_t));
	c->first[A] = xrealloc(NULL, sa->nc * sizeof(uint32_t));
	c->first[B] = xrealloc(NULL, sb->nc * sizeof(uint32_t));
	c->wild[B] = xrealloc(NULL, sb->nc);

	/* the base class first, so that it is id 0 of the parent too */
	if (combine(c, node, sa, 0, &wa, sb, 0, &wb, NULL, 0, &buf) != 0)
		goto out;
	for (uint32_t a = 0; a < sa->nc; a++) {
		int64_t id = combine(c, node, sa, a, &wa, sb, 0, &wb, NULL, 0, &buf);
		if (id < 0)
			goto out;
		c->solo[A][a] = (uint32_t)id;
		c->wild[A][a] = (wa.start[a + 1] > wa.start[a] ? W_WILD : 0) |
				(xa.start[a + 1] > xa.start[a] ? W_SHARED : 0);
	}
	for (uint32_t b = 0; b < sb->nc; b++) {
		int64_t id = combine(c, node, sa, 0, &wa, sb, b, &wb, NULL, 0, &buf);
		if (id < 0)
			goto out;
		c->solo[B][b] = (uint32_t)id;
		c->wild[B][b] = (wb.start[b + 1] > wb.start[b] ? W_WILD : 0) |
				(xb.start[b + 1] > xb.start[b] ? W_SHARED : 0);
	}

	/* projections (shared entries only) and first wild entries */
	struct cstore proj[2] = { 0 };
	for (int side = 0; side < 2; side++) {
		const struct cstore *s = side ? sb : sa;
		const struct csr *w = side ? &wb : &wa, *x = side ? &xb : &xa;
		int ch = side ? B : A;
		c->sid[ch] = xrealloc(NULL, s->nc * sizeof(uint32_t));
		c->minwild[ch] = xrealloc(NULL, s->nc * sizeof(uint32_t));
		for (uint32_t id = 0; id < s->nc; id++) {
			c->minwild[ch][id] = w->start[id + 1] > w->start[id] ? (uint32_t)w->v[w->start[id]] : CLS_NONE;
			int64_t pid = cstore_intern(&proj[side], c->nlive - 1, x->v + x->start[id],
						    (uint32_t)(x->start[id + 1] - x->start[id]));
			if (pid < 0) {
				fail(c, node, "more than 16M classes");
				cstore_free(&proj[0]);
				cstore_free(&proj[1]);
				goto out;
			}
			c->sid[ch][id] = (uint32_t)pid;
		}
	}
	cstore_free(&proj[0]);
	cstore_free(&proj[1]);
	/* projected pairs already stored: (sid a, sid b) -> index + 1 */
	struct {
		uint64_t *key;
		uint32_t *val;
		size_t mask, n;
	} memo = { 0 };

	/* shortcut: the same first entry on both sides, deciding at this node */
	for (int side = 0; side < 2; side++) {
		const struct cstore *s = side ? sb : sa;
		uint32_t *first = c->first[side ? B : A];
		for (uint32_t x = 0; x < s->nc; x++) {
			first[x] = CLS_NONE;
			if (!s->c[x].n)
				continue;
			int e = cstore_list(s, x)[0];
			if (!cls_decisive(c, e, c->mask[node]))
				continue;
			int64_t id = cstore_intern(&c->node[node], e, &e, 1);
			if (id < 0) {
				fail(c, node, "more than 16M classes");
				goto out;
			}
			first[x] = (uint32_t)id;
		}
	}

	/* candidates 1: pairs sharing a specific entry (inverted index of b's) */
	int n = c->nlive;
	size_t *inv_start = calloc((size_t)n + 1, sizeof(size_t));
	for (uint32_t b = 0; b < sb->nc; b++)
		for (size_t k = xb.start[b]; k < xb.start[b + 1]; k++)
			inv_start[xb.v[k] + 1]++;
	for (int e = 0; e < n; e++)
		inv_start[e + 1] += inv_start[e];
	uint32_t *inv = xrealloc(NULL, (inv_start[n] ? inv_start[n] : 1) * sizeof(uint32_t));
	size_t *fill = xrealloc(NULL, ((size_t)n + 1) * sizeof(size_t));
	memcpy(fill, inv_start, ((size_t)n + 1) * sizeof(size_t));
	for (uint32_t b = 0; b < sb->nc; b++)
		for (size_t k = xb.start[b]; k < xb.start[b + 1]; k++)
			inv[fill[xb.v[k]]++] = b;
	free(fill);
	/* count the candidates first: a node over budget fails before
	 * anything is built */
	uint64_t nwa = 0, nwb = 0, total = 0;
	for (uint32_t a = 0; a < sa->nc; a++)
		nwa += c->wild[A][a] & W_WILD;
	for (uint32_t b = 0; b < sb->nc; b++)
		nwb += c->wild[B][b] & W_WILD;
	for (uint32_t a = 0; a < sa->nc; a++)
		for (size_t k = xa.start[a]; k < xa.start[a + 1]; k++)
			total += inv_start[xa.v[k] + 1] - inv_start[xa.v[k]];
	if (total + nwa * nwb > c->opt.max_cands) {
		char what[160];
		snprintf(what, sizeof(what),
			 "%llu candidate combinations (%llu x %llu classes that each need their own)",
			 (unsigned long long)(total + nwa * nwb), (unsigned long long)nwa, (unsigned long long)nwb);
		free(inv_start);
		free(inv);
		fail(c, node, what);
		goto out;
	}
	for (uint32_t a = 0; a < sa->nc; a++) {
		for (size_t k = xa.start[a]; k < xa.start[a + 1]; k++) {
			int e = xa.v[k];
			size_t cnt = inv_start[e + 1] - inv_start[e];
			if (ntr + cnt > c->opt.max_cands) {
				free(inv_start);
				free(inv);
				fail(c, node, "too many candidate combinations");
				goto out;
			}
			if (ntr + cnt > captr) {
				captr = 2 * (ntr + cnt) + 1024;
				tr = xrealloc(tr, captr * sizeof(*tr));
			}
			for (size_t q = inv_start[e]; q < inv_start[e + 1]; q++)
				tr[ntr++] = (struct triple){ a, inv[q], e };
		}
	}
	free(inv_start);
	free(inv);
	/* candidates 2: both classes bring entries the other side does not constrain */
	if (nwa && nwb) {
		if (ntr + nwa * nwb > captr) {
			captr = ntr + nwa * nwb;
			tr = xrealloc(tr, captr * sizeof(*tr));
		}
		for (uint32_t a = 0; a < sa->nc; a++)
			if (c->wild[A][a] & W_WILD)
				for (uint32_t b = 0; b < sb->nc; b++)
					if (c->wild[B][b] & W_WILD)
						tr[ntr++] = (struct triple){ a, b, -1 };
	}
	qsort(tr, ntr, sizeof(*tr), cmp_triple);

	struct ivec xs = { 0 };
	for (size_t i = 0; i < ntr;) {
		size_t j = i;
		xs.n = 0;
		while (j < ntr && tr[j].a == tr[i].a && tr[j].b == tr[i].b) {
			if (tr[j].e >= 0)
				ivec_push(&xs, tr[j].e);
			j++;
		}
		uint32_t a = tr[i].a, b = tr[i].b;
		int64_t r = combine(c, node, sa, a, &wa, sb, b, &wb, xs.v, xs.n, &buf);
		if (r < 0) {
			free(xs.v);
			goto out;
		}
		bool b_only = (c->wild[B][b] & W_WILD) && !(c->wild[A][a] & W_WILD);
		uint32_t fb = b_only ? c->solo[B][b] : c->solo[A][a];
		if (c->first[A][a] != CLS_NONE && c->first[A][a] == c->first[B][b]) {
			if ((uint32_t)r != c->first[A][a]) {
				snprintf(c->err, c->errlen, "classifier: internal error (first-entry shortcut)");
				free(xs.v);
				goto out;
			}
			i = j;
			continue; /* the lookup takes the shortcut, never the stored pairs */
		}
		if ((uint32_t)r == fb) {
			i = j;
			continue;
		}
		struct pair_out po = { a, b, (uint32_t)r, CLS_NONE };
		if (xs.n) {
			/* the projected pair: X alone, decided at its first decisive entry */
			int d = c->nlive - 1;
			size_t nx = 0;
			while (nx < xs.n) {
				int e = xs.v[nx++];
				if (cls_decisive(c, e, c->mask[node])) {
					d = e;
					break;
				}
			}
			if ((uint32_t)d < c->minwild[A][a] && (uint32_t)d < c->minwild[B][b]) {
				/* then r is exactly the projected class: store that once */
				int64_t pr = cstore_intern(&c->node[node], d, xs.v, (uint32_t)nx);
				if (pr != r) {
					snprintf(c->err, c->errlen, "classifier: internal error (projection)");
					free(xs.v);
					free(memo.key);
					free(memo.val);
					goto out;
				}
				uint64_t key = ((uint64_t)c->sid[A][a] << 32) | c->sid[B][b];
				if (2 * (memo.n + 1) > memo.mask) {
					size_t cap = memo.mask ? 2 * (memo.mask + 1) : 1024;
					uint64_t *nk = calloc(cap, sizeof(uint64_t));
					uint32_t *nv = calloc(cap, sizeof(uint32_t));
					for (size_t q = 0; memo.mask && q <= memo.mask; q++) {
						if (!memo.val[q])
							continue;
						size_t h = memo_slot(memo.key[q], cap - 1);
						while (nv[h])
							h = (h + 1) & (cap - 1);
						nk[h] = memo.key[q];
						nv[h] = memo.val[q];
					}
					free(memo.key);
					free(memo.val);
					memo.key = nk;
					memo.val = nv;
					memo.mask = cap - 1;
				}
				size_t h = memo_slot(key, memo.mask);
				while (memo.val[h] && memo.key[h] != key)
					h = (h + 1) & memo.mask;
				if (memo.val[h]) {
					i = j;
					continue;
				}
				memo.key[h] = key;
				memo.val[h] = 1;
				memo.n++;
				po = (struct pair_out){ c->sid[A][a], c->sid[B][b], (uint32_t)r, (uint32_t)d };
			}
		}
		if (c->total_pairs >= c->opt.max_pairs) {
			free(xs.v);
			free(memo.key);
			free(memo.val);
			fail(c, node, "too many stored combinations");
			goto out;
		}
		if (c->npairs[node] == c->cappairs[node]) {
			c->cappairs[node] = c->cappairs[node] ? 2 * c->cappairs[node] : 256;
			c->pairs[node] = xrealloc(c->pairs[node], c->cappairs[node] * sizeof(struct pair_out));
		}
		c->pairs[node][c->npairs[node]++] = po;
		c->total_pairs++;
		i = j;
	}
	free(memo.key);
	free(memo.val);
	free(xs.v);
	rc = 0;
out:
	free(tr);
	free(buf.v);
	csr_free(&wa);
	csr_free(&wb);
	csr_free(&xa);
	csr_free(&xb);
	return rc;
}

/* ---------- the tree over what the policy names ---------- */

static void cstore_copy(struct cstore *dst, const struct cstore *src)
{
	memset(dst, 0, sizeof(*dst));
	for (uint32_t id = 0; id < src->nc; id++)
		cstore_intern(dst, src->c[id].cut, cstore_list(src, id), src->c[id].n);
}

/* Which inner nodes combine: a subtree no live entry names has only the
 * base class (its handle is a constant); a node with one such child has
 * exactly the classes of the other child (same lists, same cuts, since no
 * entry constrains the constant side), so it passes that child's handle on. */
static void plan_tree(struct compiler *c)
{
	for (int node = 0; node < CLS_NODES; node++)
		c->parent[node] = -1;
	for (int node = 0; node < CLS_NODES; node++) {
		if (node < CLS_LEAVES) {
			c->mask[node] = 1u << node;
			c->kind[node] = (c->named & c->mask[node]) ? NK_COMBINE : NK_CONST;
			continue;
		}
		int A = cls_tree[node - CLS_LEAVES][0], B = cls_tree[node - CLS_LEAVES][1];
		c->parent[A] = c->parent[B] = node;
		c->mask[node] = c->mask[A] | c->mask[B];
		bool na = c->named & c->mask[A], nb = c->named & c->mask[B];
		c->kind[node] = na && nb ? NK_COMBINE : na ? NK_LEFT : nb ? NK_RIGHT : NK_CONST;
	}
}

static int build_node(struct compiler *c, int node)
{
	if (node < CLS_LEAVES) {
		if (c->kind[node] == NK_CONST)
			return 0;
		return CLS_IS_PREFIX_FIELD(node) ? build_leaf_prefix(c, node) : build_leaf_interval(c, node);
	}
	int A = cls_tree[node - CLS_LEAVES][0], B = cls_tree[node - CLS_LEAVES][1];
	switch (c->kind[node]) {
	case NK_CONST:
		return 0;
	case NK_LEFT:
	case NK_RIGHT:
		cstore_free(&c->node[node]);
		cstore_copy(&c->node[node], &c->node[c->kind[node] == NK_LEFT ? A : B]);
		return 0;
	default:
		return build_inner(c, node);
	}
}

static void compiler_free(struct compiler *c)
{
	for (int i = 0; i < CLS_NODES; i++) {
		cstore_free(&c->node[i]);
		free(c->solo[i]);
		free(c->first[i]);
		free(c->sid[i]);
		free(c->minwild[i]);
		free(c->wild[i]);
		free(c->pairs[i]);
	}
	for (int f = 0; f < F_COUNT; f++) {
		free(c->value_cls[f]);
		free(c->pfx[f]);
	}
	free(c->uses);
	free(c->terminal);
}

int cls_build_part(struct cls_out *o, int part, const struct flat_policy *pfp, const int *gmap, bool keyed,
		   uint32_t vmask, bool *over_budget, char *err, size_t errlen)
{
	struct compiler c = { .fp = pfp,
			      .out = o,
			      .part = part,
			      .keyed = keyed,
			      .vmask = vmask,
			      .gmap = gmap,
			      .opt = o->opt,
			      .err = err,
			      .errlen = errlen };
	int rc = -1;

	*over_budget = false;
	c.uses = calloc(pfp->n ? pfp->n : 1, sizeof(uint16_t));
	c.terminal = calloc(pfp->n ? pfp->n : 1, 1);
	c.nlive = -1;
	for (int e = 0; e < pfp->n; e++) {
		for (int f = 0; f < F_COUNT; f++)
			if (pfp->e[e].cond[f].used)
				c.uses[e] |= 1u << f;
		c.terminal[e] = pfp->e[e].kind == FLAT_TERMINAL;
		c.named |= c.uses[e];
		if (c.terminal[e] && !c.uses[e]) {
			c.nlive = e + 1;
			break;
		}
	}
	if (c.nlive < 0) {
		snprintf(err, errlen, "classifier: the flattened policy has no final default entry");
		goto out;
	}
	plan_tree(&c);
	/* class 0 of every node: no specific entries, cut at the final default */
	for (int node = 0; node < CLS_NODES; node++)
		cstore_intern(&c.node[node], c.nlive - 1, NULL, 0);
	for (int node = 0; node < CLS_NODES; node++)
		if (build_node(&c, node))
			goto out;
	if (part == 0)
		for (int node = 0; node < CLS_NODES; node++)
			o->t->nclasses[node] = c.node[node].nc;
	if (cls_emit(&c))
		goto out;
	rc = 0;
out:
	*over_budget = c.over_budget;
	compiler_free(&c);
	return rc;
}

void cls_tables_free(struct cls_tables *t)
{
	free(t->tab);
	free(t->actions);
	memset(t, 0, sizeof(*t));
}

void cls_tables_sizes(const struct cls_tables *t, struct cls_sizes *s)
{
	s->blocks = t->ntab / CLS_BLOCK_WORDS ? t->ntab / CLS_BLOCK_WORDS : 1;
	s->actions = t->nactions ? t->nactions : 1;
	/* arrays: the values, plus the kernel's per-element pointer table */
	s->bytes = (uint64_t)s->blocks * (sizeof(struct cls_block) + 8) +
		   (uint64_t)s->actions * (((sizeof(struct cls_result) + 7) / 8 * 8) + 8) + sizeof(struct cls_config);
}

void cls_event_fields(const struct event *ev, struct cls_fields *f)
{
	memset(f, 0, sizeof(*f));
	for (int fi = 0; fi < F_COUNT; fi++)
		if (!ev->has[fi])
			f->absent |= CLS_ABSENT(fi);
	f->dir = (uint8_t)ev->val[F_DIR];
	f->event = (uint8_t)ev->val[F_EVENT];
	f->family = (uint8_t)ev->val[F_FAMILY];
	f->proto = (uint8_t)ev->val[F_PROTO];
	f->iface = (uint32_t)ev->val[F_IFACE];
	f->app = (uint32_t)ev->val[F_APP];
	f->cgroup = (uint32_t)ev->val[F_CGROUP];
	f->uid = (uint32_t)ev->val[F_USER];
	f->lport = (uint16_t)ev->val[F_LPORT];
	f->rport = (uint16_t)ev->val[F_RPORT];
	f->icmp_type = (uint16_t)ev->val[F_ICMPTYPE];
	f->has_ports = ev->has[F_LPORT] || ev->has[F_RPORT];
	f->has_icmp = ev->has[F_ICMPTYPE];
	f->has_app = ev->has[F_APP];
	f->has_cgroup = ev->has[F_CGROUP];
	f->has_user = ev->has[F_USER];
	uint8_t *la = (uint8_t *)f->laddr, *ra = (uint8_t *)f->raddr;
	for (int i = 0; i < 16; i++) {
		la[i] = (uint8_t)(ev->val[F_LADDR] >> (8 * (15 - i)));
		ra[i] = (uint8_t)(ev->val[F_RADDR] >> (8 * (15 - i)));
	}
}
