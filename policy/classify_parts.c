/* cls_compile(): one tree over the whole policy when its cross products
 * stay within the budgets, else a partition (see "Parts" in
 * rampart_classifier.h and docs/classifier.md):
 *
 *   part 0      the continue/jump rules, and the terminal rules no keyed
 *               part takes, in a tree over every field;
 *   keyed part  per key field K (local or remote address or port), the
 *               terminal rules that name K narrowly: a tree over K and
 *               the small fields, whose final classes are candidate lists;
 *               each candidate's other address and port conditions are
 *               checked directly.
 *
 * A rule's key is the field where the fewest rules overlap it: its
 * overlap on K is the largest number of terminal rules whose K condition
 * contains one value of its own.  A candidate list of a keyed part only
 * holds rules that all contain that value, so it is never longer than the
 * overlap of any rule in it: keying only rules of overlap <= KEY_MAX_OVERLAP
 * bounds the lists, and so the work per packet, whatever the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "classify_int.h"

#define xrealloc cls_xrealloc

#define KEY_LIST     32 /* candidates per list before a new part is opened */
#define KEY_LIST_MAX 63 /* ... before a rule stays in part 0 (first try) */

static const int big_fields[4] = { F_LADDR, F_RADDR, F_LPORT, F_RPORT };
#define BIG_MASK ((1u << F_LADDR) | (1u << F_RADDR) | (1u << F_LPORT) | (1u << F_RPORT))

/* ---------- list lengths per key field, as rules are keyed ---------- */

/* Ports: a segment tree with range add and range max over 0..65535. */
struct port_load {
	int32_t mx[2 * 65536], lz[2 * 65536];
};

static void pl_add(struct port_load *t, int node, int l, int r, int lo, int hi, int w)
{
	if (hi < l || r < lo)
		return;
	if (lo <= l && r <= hi) {
		t->mx[node] += w;
		t->lz[node] += w;
		return;
	}
	int m = (l + r) / 2;
	pl_add(t, 2 * node, l, m, lo, hi, w);
	pl_add(t, 2 * node + 1, m + 1, r, lo, hi, w);
	int a = t->mx[2 * node], b = t->mx[2 * node + 1];
	t->mx[node] = (a > b ? a : b) + t->lz[node];
}

static int pl_max(const struct port_load *t, int node, int l, int r, int lo, int hi)
{
	if (hi < l || r < lo)
		return 0;
	if (lo <= l && r <= hi)
		return t->mx[node];
	int m = (l + r) / 2;
	int a = pl_max(t, 2 * node, l, m, lo, hi), b = pl_max(t, 2 * node + 1, m + 1, r, lo, hi);
	return (a > b ? a : b) + t->lz[node];
}

/* Addresses: the forest of the rules' prefixes (sets split into CIDR
 * blocks); add[p] counts keyed rules owning prefix p, best[p] the largest
 * number over the points of p of keyed rules at or below p covering it. */
struct addr_forest {
	size_t n;
	u128 *value;
	int *len;
	int32_t *parent;
	/* per rule: its prefixes (node ids) */
	int32_t *first; /* index into nodes_of, per entry; nodes_of[first[e]..first[e+1]) */
	int32_t *nodes_of;
};

struct addr_load {
	const struct addr_forest *fo;
	int32_t *add, *best;
};

static bool pcontains(u128 pv, int plen, u128 v)
{
	return plen == 0 || (pv >> (128 - plen)) == (v >> (128 - plen));
}

static void af_build(struct addr_forest *al, const struct flat_policy *fp, int nlive, int f)
{
	struct pitems items = { 0 };
	for (int e = 0; e < nlive; e++) {
		const struct cond *c = &fp->e[e].cond[f];
		if (fp->e[e].kind != FLAT_TERMINAL || !c->used)
			continue;
		for (int i = 0; i < c->set.n; i++)
			cls_range_to_prefixes(c->set.r[i].lo, c->set.r[i].hi, 128, e, &items);
	}
	qsort(items.v, items.n, sizeof(*items.v), cls_cmp_pitem);
	memset(al, 0, sizeof(*al));
	size_t cap = items.n ? items.n : 1;
	al->value = xrealloc(NULL, cap * sizeof(u128));
	al->len = xrealloc(NULL, cap * sizeof(int));
	al->parent = xrealloc(NULL, cap * sizeof(int32_t));
	al->first = calloc((size_t)(unsigned)nlive + 1, sizeof(int32_t));
	al->nodes_of = xrealloc(NULL, cap * sizeof(int32_t));
	int32_t *node_of_item = xrealloc(NULL, cap * sizeof(int32_t));
	int32_t stack[130];
	int sp = 0;
	for (size_t i = 0; i < items.n; i++) {
		if (!al->n || items.v[i].value != al->value[al->n - 1] || items.v[i].len != al->len[al->n - 1]) {
			while (sp > 0 && !pcontains(al->value[stack[sp - 1]], al->len[stack[sp - 1]], items.v[i].value))
				sp--;
			al->value[al->n] = items.v[i].value;
			al->len[al->n] = items.v[i].len;
			al->parent[al->n] = sp ? stack[sp - 1] : -1;
			stack[sp++] = (int32_t)al->n++;
		}
		node_of_item[i] = (int32_t)al->n - 1;
		al->first[items.v[i].e + 1]++;
	}
	for (int e = 0; e < nlive; e++)
		al->first[e + 1] += al->first[e];
	int32_t *fill = xrealloc(NULL, ((size_t)nlive + 1) * sizeof(int32_t));
	memcpy(fill, al->first, ((size_t)nlive + 1) * sizeof(int32_t));
	for (size_t i = 0; i < items.n; i++)
		al->nodes_of[fill[items.v[i].e]++] = node_of_item[i];
	free(fill);
	free(node_of_item);
	free(items.v);
}

static void af_free(struct addr_forest *al)
{
	free(al->value);
	free(al->len);
	free(al->parent);
	free(al->first);
	free(al->nodes_of);
}

static int al_max(const struct addr_load *al, int32_t p)
{
	int v = al->best[p];
	for (int32_t a = al->fo->parent[p]; a >= 0; a = al->fo->parent[a])
		v += al->add[a];
	return v;
}

static void al_add(struct addr_load *al, int32_t p, int w)
{
	al->add[p] += w;
	al->best[p] += w;
	for (int32_t c = p, a = al->fo->parent[p]; a >= 0; c = a, a = al->fo->parent[a]) {
		int v = al->add[a] + al->best[c];
		if (v <= al->best[a])
			break;
		al->best[a] = v;
	}
}

/* ---------- the partition ---------- */

/* How many candidates a rule keyed on K gives: the product of the sizes of
 * its other address (CIDR blocks) and port (ranges) conditions; more than
 * 4: too many (5). */
struct count_acc {
	int n;
};

static void count_block(u128 v, int len, void *arg)
{
	(void)v;
	(void)len;
	((struct count_acc *)arg)->n++;
}

static int split_count(const struct flat_entry *e, int key)
{
	long n = 1;
	for (int i = 0; i < 4 && n <= 4; i++) {
		int f = big_fields[i];
		if (f == key || !e->cond[f].used)
			continue;
		if (f == F_LPORT || f == F_RPORT) {
			n *= e->cond[f].set.n;
			continue;
		}
		struct count_acc k = { 0 };
		for (int r = 0; r < e->cond[f].set.n && k.n <= 4; r++)
			cls_cidr_split(e->cond[f].set.r[r].lo, e->cond[f].set.r[r].hi, 128, count_block, &k);
		n *= k.n;
	}
	return n > 4 ? 5 : (int)n;
}

/* The list lengths of one keyed part. */
struct part_load {
	int field;
	struct port_load *pl; /* ports */
	struct addr_load al;  /* addresses */
};

static void part_load_init(struct part_load *L, int f, const struct addr_forest *fo)
{
	memset(L, 0, sizeof(*L));
	L->field = f;
	if (f == F_LPORT || f == F_RPORT) {
		L->pl = calloc(1, sizeof(struct port_load));
		if (!L->pl)
			abort();
	} else {
		L->al.fo = fo;
		L->al.add = calloc(fo->n ? fo->n : 1, sizeof(int32_t));
		L->al.best = calloc(fo->n ? fo->n : 1, sizeof(int32_t));
	}
}

static void part_load_free(struct part_load *L)
{
	free(L->pl);
	free(L->al.add);
	free(L->al.best);
}

/* The longest list rule e would be in, keyed in this part (w candidates). */
static int load_of(const struct part_load *L, const struct flat_policy *fp, int e, int w)
{
	int f = L->field, m = 0;
	const struct vset *s = &fp->e[e].cond[f].set;
	if (L->pl) {
		for (int r = 0; r < s->n; r++) {
			if (s->r[r].lo > 65535)
				continue;
			int v = pl_max(L->pl, 1, 0, 65535, (int)s->r[r].lo,
				       s->r[r].hi > 65535 ? 65535 : (int)s->r[r].hi);
			if (v > m)
				m = v;
		}
	} else {
		const struct addr_forest *fo = L->al.fo;
		for (int32_t k = fo->first[e]; k < fo->first[e + 1]; k++) {
			int v = al_max(&L->al, fo->nodes_of[k]);
			if (v > m)
				m = v;
		}
	}
	return m + w;
}

static void load_add(struct part_load *L, const struct flat_policy *fp, int e, int w)
{
	const struct vset *s = &fp->e[e].cond[L->field].set;
	if (L->pl) {
		for (int r = 0; r < s->n; r++)
			if (s->r[r].lo <= 65535)
				pl_add(L->pl, 1, 0, 65535, (int)s->r[r].lo,
				       s->r[r].hi > 65535 ? 65535 : (int)s->r[r].hi, w);
	} else {
		const struct addr_forest *fo = L->al.fo;
		for (int32_t k = fo->first[e]; k < fo->first[e + 1]; k++)
			al_add(&L->al, fo->nodes_of[k], w);
	}
}

/* part[e]: the keyed part (1..) entry e goes to, or 0; key[p] the key
 * field of keyed part p.  Rules are keyed in order, each into the part
 * where its candidate lists stay shortest (counting its candidates, and
 * those of the rules keyed before it).  When every part would make a list
 * longer than KEY_LIST, a new part is opened (on the field where the rule
 * meets the fewest keyed rules), while there are fewer than
 * CLS_MAX_PARTS; then lists grow to KEY_LIST_MAX at most (to
 * CLS_MAX_CANDS - 1 with key_all); a rule that would exceed that, or
 * names no address or port, stays in part 0.  Returns the number of parts. */
static int choose_parts(const struct flat_policy *fp, int nlive, bool key_all, int *part, int *key)
{
	struct addr_forest fo[2];
	struct part_load L[CLS_MAX_PARTS];
	int np = 1;
	af_build(&fo[0], fp, nlive, F_LADDR);
	af_build(&fo[1], fp, nlive, F_RADDR);
	for (int e = 0; e < nlive; e++) {
		part[e] = 0;
		const struct flat_entry *fe = &fp->e[e];
		if (fe->kind != FLAT_TERMINAL)
			continue;
		int w[4];
		bool any = false;
		for (int i = 0; i < 4; i++) {
			w[i] = fe->cond[big_fields[i]].used ? split_count(fe, big_fields[i]) : 5;
			any = any || w[i] <= 4;
		}
		if (!any)
			continue;
		int best = 1 << 30, bp = 0, crowd[4] = { 0 };
		for (int p = 1; p < np; p++) {
			int i = 0;
			while (big_fields[i] != L[p].field)
				i++;
			if (w[i] > 4)
				continue;
			int m = load_of(&L[p], fp, e, w[i]);
			crowd[i] += m - w[i];
			if (m < best) {
				best = m;
				bp = p;
			}
		}
		if (best > KEY_LIST && np < CLS_MAX_PARTS) {
			int bi = -1;
			for (int i = 0; i < 4; i++)
				if (w[i] <= 4 && (bi < 0 || crowd[i] < crowd[bi]))
					bi = i;
			int f = big_fields[bi];
			part_load_init(&L[np], f, f == F_LADDR ? &fo[0] : &fo[1]);
			key[np] = f;
			bp = np++;
			best = w[bi];
		}
		if (best > (key_all ? CLS_MAX_CANDS - 1 : KEY_LIST_MAX))
			continue;
		int i = 0;
		while (big_fields[i] != L[bp].field)
			i++;
		part[e] = bp;
		load_add(&L[bp], fp, e, w[i]);
	}
	for (int p = 1; p < np; p++)
		part_load_free(&L[p]);
	af_free(&fo[0]);
	af_free(&fo[1]);
	return np;
}

/* A derived policy of the entries sel[0..n-1] (in order), then a final
 * default.  Keyed on `key`: the other big fields are left out (checked on
 * the candidates), and rules with such conditions become RECORD entries,
 * so that no class ends at them.  Conditions are shared, not copied. */
static void derive(const struct flat_policy *fp, const int *sel, int n, int key, struct flat_policy *out, int *gmap,
		   int dflt)
{
	out->n = n + 1;
	out->e = calloc((size_t)out->n, sizeof(struct flat_entry));
	if (!out->e)
		abort();
	for (int i = 0; i < n; i++) {
		const struct flat_entry *g = &fp->e[sel[i]];
		struct flat_entry *d = &out->e[i];
		*d = *g;
		gmap[i] = sel[i];
		if (key < 0)
			continue;
		for (int k = 0; k < 4; k++) {
			int f = big_fields[k];
			if (f == key || !g->cond[f].used)
				continue;
			d->cond[f] = (struct cond){ 0 };
			d->kind = FLAT_RECORD; /* checked on the candidates: never ends a class */
		}
	}
	struct flat_entry *d = &out->e[n];
	memset(d, 0, sizeof(*d));
	*d = fp->e[dflt];
	for (int f = 0; f < F_COUNT; f++)
		d->cond[f] = (struct cond){ 0 };
	d->kind = FLAT_TERMINAL;
	gmap[n] = dflt;
}

static void out_reset(struct cls_out *o)
{
	struct cls_tables *t = o->t;
	free(t->tab);
	free(t->actions);
	struct cls_opts opt = o->opt;
	const struct flat_policy *gfp = o->gfp;
	uint32_t nrules = o->nrules;
	struct ivec gunc = o->gunc;
	int nlive = t->nlive;
	cls_out_free(o);
	memset(t, 0, sizeof(*t));
	memset(o, 0, sizeof(*o));
	o->t = t;
	o->opt = opt;
	o->gfp = gfp;
	o->nrules = nrules;
	o->gunc = gunc;
	t->nlive = nlive;
}

static int build(struct cls_out *o, int part, const int *sel, int n, int key, int dflt, bool *over, char *err,
		 size_t errlen)
{
	struct flat_policy d;
	int *gmap = xrealloc(NULL, (size_t)(n + 1) * sizeof(int));
	uint32_t vmask = key < 0 ? 0 : BIG_MASK & ~(1u << key);
	int rc;
	if (key < 0 && n == dflt) {
		/* every live entry: the policy itself (entries past the default are dead) */
		for (int i = 0; i <= n; i++)
			gmap[i] = i;
		rc = cls_build_part(o, part, o->gfp, gmap, false, 0, over, err, errlen);
	} else {
		derive(o->gfp, sel, n, key, &d, gmap, dflt);
		rc = cls_build_part(o, part, &d, gmap, key >= 0, vmask, over, err, errlen);
		free(d.e);
	}
	free(gmap);
	return rc;
}

/* Part 0 and the keyed parts. */
static int partition(struct cls_out *o, int nlive, bool key_all, bool *over, char *err, size_t errlen)
{
	const struct flat_policy *fp = o->gfp;
	int *part = xrealloc(NULL, (size_t)nlive * sizeof(int));
	int *sel = xrealloc(NULL, (size_t)nlive * sizeof(int));
	int key[CLS_MAX_PARTS], rc = -1;
	int np = choose_parts(fp, nlive, key_all, part, key);
	for (int p = 0; p < np; p++) {
		int n = 0;
		for (int e = 0; e < nlive - 1; e++)
			if (part[e] == p)
				sel[n++] = e;
		o->t->part_key[p] = p ? key[p] : -1;
		o->t->nkeyed[p] = (uint32_t)n;
		if (build(o, p, sel, n, p ? key[p] : -1, nlive - 1, over, err, errlen))
			goto out;
	}
	o->t->config.nparts = (uint32_t)np;
	rc = 0;
out:
	free(part);
	free(sel);
	return rc;
}

/* With keyed parts: the entries of each action's records (cls_config.rec_base). */
static void emit_records(struct cls_out *o)
{
	struct cls_tables *t = o->t;
	uint32_t base = cls_tab_alloc(o, t->nactions, CLS_NONE);
	t->config.rec_base = base;
	for (uint32_t a = 0; a < t->nactions; a++) {
		uint32_t n = t->actions[a].nrecords;
		if (!n)
			continue;
		uint32_t at = cls_tab_alloc(o, n + 1, CLS_NONE);
		t->tab[base + a] = at;
		for (uint32_t i = 0; i <= n; i++)
			t->tab[at + i] = o->arec[a][i] < 0 ? CLS_NONE : (uint32_t)o->arec[a][i];
	}
}

int cls_compile(const struct flat_policy *fp, uint32_t nrules, struct cls_tables *t, char *err, size_t errlen)
{
	struct cls_opts o = { 0 };
	return cls_compile_opts(fp, nrules, &o, t, err, errlen);
}

int cls_compile_opts(const struct flat_policy *fp, uint32_t nrules, const struct cls_opts *opt, struct cls_tables *t,
		     char *err, size_t errlen)
{
	struct cls_out o = { .t = t, .gfp = fp, .nrules = nrules, .opt = *opt };
	int nlive = -1, rc = -1;
	bool over = false;

	memset(t, 0, sizeof(*t));
	if (errlen)
		err[0] = 0;
	if (!o.opt.max_work)
		o.opt.max_work = CLS_MAX_WORK;
	if (!o.opt.max_cands)
		o.opt.max_cands = CLS_MAX_CANDS_N;
	if (!o.opt.max_pairs)
		o.opt.max_pairs = CLS_MAX_PAIRS;
	for (int e = 0; e < fp->n && nlive < 0; e++) {
		bool uncond = true;
		for (int f = 0; f < F_COUNT; f++)
			uncond = uncond && !fp->e[e].cond[f].used;
		if (uncond && fp->e[e].kind == FLAT_TERMINAL)
			nlive = e + 1;
		else if (uncond)
			ivec_push(&o.gunc, e);
	}
	if (nlive < 0) {
		snprintf(err, errlen, "classifier: the flattened policy has no final default entry");
		goto out;
	}
	t->nlive = nlive;
	t->config.nparts = 1;
	if (!o.opt.force_parts) {
		/* one tree, on a smaller budget: when it is exceeded, parts are
		 * cheaper to build (and the attempt gives up quickly) */
		int *all = xrealloc(NULL, (size_t)nlive * sizeof(int));
		for (int e = 0; e < nlive; e++)
			all[e] = e;
		struct cls_opts saved = o.opt;
		uint64_t n = (uint64_t)nlive;
		o.opt.max_work = opt->max_work ? opt->max_work : CLS_MAIN_WORK > 256 * n ? CLS_MAIN_WORK : 256 * n;
		o.opt.max_cands = opt->max_cands			 ? opt->max_cands
				  : CLS_MAIN_CANDS < (1 << 20) + 128 * n ? CLS_MAIN_CANDS
									 : (1 << 20) + 128 * n;
		o.opt.max_pairs = opt->max_pairs ? opt->max_pairs : (1 << 16) + 32 * n;
		rc = build(&o, 0, all, nlive - 1, -1, nlive - 1, &over, err, errlen);
		o.opt = saved;
		free(all);
		if (rc && !over)
			goto out;
	}
	if (o.opt.force_parts || rc) {
		out_reset(&o);
		t->config.nparts = 1;
		rc = partition(&o, nlive, false, &over, err, errlen);
		if (rc && over) {
			/* part 0 (the rules whose lists would be long) is still too
			 * big: key every rule that names an address or a port */
			out_reset(&o);
			rc = partition(&o, nlive, true, &over, err, errlen);
		}
		if (rc)
			goto out;
		if (t->config.nparts > 1)
			emit_records(&o);
	}
	cls_tab_align(&o);
	if (!t->ntab)
		cls_tab_alloc(&o, CLS_BLOCK_WORDS, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	t->config.tag = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 48);
	t->config.ready = 1;
	t->config.nrules = nrules;
	t->maxcands = o.maxcands;
	t->ncands = o.ncands;
	rc = 0;
out:
	if (rc)
		cls_tables_free(t);
	cls_out_free(&o);
	free(o.gunc.v);
	return rc;
}

void cls_describe(const struct cls_tables *t, const char *indent, char *buf, size_t len)
{
	static const char *const key_name[F_COUNT] = {
		[F_LADDR] = "local address",
		[F_RADDR] = "remote address",
		[F_LPORT] = "local port",
		[F_RPORT] = "remote port",
	};
	struct cls_sizes s;
	size_t n = 0;
	cls_tables_sizes(t, &s);
#define OUT(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	if (t->config.nparts <= 1) {
		OUT("%sclassifier: one tree over every field (%u entries), %.1f MiB of tables", indent, t->nlive,
		    (double)s.bytes / (1 << 20));
		return;
	}
	OUT("%sclassifier: %u parts (their cross products would explode as one tree), %.1f MiB of tables", indent,
	    t->config.nparts, (double)s.bytes / (1 << 20));
	OUT("\n%s  part 0: a tree over every field: %u rules (continue/jump rules, rules no part is keyed on)", indent,
	    t->nkeyed[0]);
	for (uint32_t p = 1; p < t->config.nparts; p++)
		OUT("\n%s  part %u: a tree over the %s and the small fields, candidates checked on the other "
		    "addresses and ports: %u rules, lists of %u at most",
		    indent, p, key_name[t->part_key[p]] ? key_name[t->part_key[p]] : "?", t->nkeyed[p],
		    t->part_maxcands[p]);
#undef OUT
}
