/* Internals of the classifier compiler, shared by its files:
 *   classify.c         classes: the leaves and the combinations (the sets
 *                      of entries, which pairs must be stored)
 *   classify_emit.c    the tables: handles, actions, tries, dense and
 *                      sparse combination tables, the configuration
 *   classify_lookup.c  cls_lookup(): the BPF lookups, in user space
 * Not part of any interface outside policy/. */
#ifndef RAMPART_CLASSIFY_INT_H
#define RAMPART_CLASSIFY_INT_H

#include <stdbool.h>
#include "classify.h"

extern const int cls_tree[CLS_INNER][2];

void *cls_xrealloc(void *p, size_t n);

struct ivec {
	int *v;
	size_t n, cap;
};

static inline void ivec_push(struct ivec *a, int x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = cls_xrealloc(a->v, a->cap * sizeof(int));
	}
	a->v[a->n++] = x;
}

/* ---------- CIDR blocks ---------- */

/* A prefix owned by an entry (e; -1: the /0 every field gets); value is
 * the prefix's first value (not shifted). */
struct pitem {
	u128 value;
	int len;
	int e;
};

struct pitems {
	struct pitem *v;
	size_t n, cap;
};

void cls_pitem_push(struct pitems *v, u128 value, int len, int e);
/* Splits [lo, hi] (within `width` bits) into CIDR prefixes owned by e, into v. */
void cls_range_to_prefixes(u128 lo, u128 hi, int width, int e, struct pitems *v);
int cls_cmp_pitem(const void *x, const void *y); /* by value, length, entry */
/* Calls fn for each CIDR block of [lo, hi] (values of `width` bits), in order. */
void cls_cidr_split(u128 lo, u128 hi, int width, void (*fn)(u128 value, int len, void *arg), void *arg);

/* ---------- interned classes of one node ---------- */

struct cclass {
	size_t off; /* into arena */
	uint32_t n; /* specific entries */
	int cut;    /* first decisive entry */
	uint32_t hash;
};

struct cstore {
	struct ivec arena;
	struct cclass *c;
	uint32_t nc, capc;
	uint32_t *ht; /* class id + 1 */
	uint32_t htmask;
};

int64_t cstore_intern(struct cstore *s, int cut, const int *l, uint32_t n);
const int *cstore_list(const struct cstore *s, uint32_t id);
void cstore_free(struct cstore *s);

/* ---------- compiler state ---------- */

/* A stored combination: class pair (below == CLS_NONE), or projection pair. */
struct pair_out {
	uint32_t a, b, r;
	uint32_t below;
};

/* A prefix of a prefix field and the class of the values it is the
 * longest matching prefix of.  value is left-aligned in 128 bits. */
struct leaf_prefix_out {
	u128 value;
	int len; /* 0..width */
	uint32_t cls;
};

enum node_kind { NK_COMBINE, NK_CONST, NK_LEFT, NK_RIGHT };

/* What all parts write into: the tables, and the actions (interned). */
struct cls_out {
	struct cls_tables *t;
	const struct flat_policy *gfp; /* the whole flattened policy */
	uint32_t nrules;
	struct cls_opts opt;
	size_t tabcap;
	uint32_t *aht; /* action interning: id + 1 */
	uint32_t amask;
	size_t actcap;
	int32_t (*arec)[CLS_MAX_RECORDS + 1]; /* per action: its records' entries, then the first past the limit */
	struct ivec gunc;		      /* the policy's unconditional records */
	uint32_t maxcands;		      /* longest candidate list emitted */
	uint32_t ncands;		      /* candidate blocks emitted */
};

/* One part: a tree over a subset of the entries (a derived flattened
 * policy whose entry i is the whole policy's gmap[i]).  A keyed part
 * leaves the fields in vmask out of its tree (they are checked on the
 * candidates); its entries with such conditions are RECORD entries of the
 * derived policy, so that no class ends at them. */
struct compiler {
	const struct flat_policy *fp;
	struct cls_out *out;
	int part;
	bool keyed;
	uint32_t vmask;
	const int *gmap;
	bool over_budget; /* failed on a budget: the caller may partition */
	struct cls_opts opt;
	int nlive;	/* entries 0..nlive-1 matter; nlive-1 is the first catch-all */
	uint16_t *uses; /* fields each entry constrains (bit per field) */
	uint8_t *terminal;
	uint32_t named; /* fields some live entry constrains */
	uint32_t mask[CLS_NODES];
	enum node_kind kind[CLS_NODES]; /* inner nodes; leaves: NK_CONST when not named */
	int parent[CLS_NODES];		/* -1 for the root */
	struct cstore node[CLS_NODES];
	/* per child of a combining node (index: the child) */
	uint32_t *solo[CLS_NODES];
	uint32_t *first[CLS_NODES]; /* the parent's class of the first entry alone, or CLS_NONE */
	uint32_t *sid[CLS_NODES];   /* projection ids */
	uint32_t *minwild[CLS_NODES];
	uint8_t *wild[CLS_NODES]; /* bit 0 wild, bit 1 shared */
	/* leaves */
	uint32_t *value_cls[F_COUNT]; /* interval fields: index 0 = not carried, 1 + v */
	uint32_t nvalue[F_COUNT];
	struct leaf_prefix_out *pfx[F_COUNT]; /* prefix fields, sorted by value, length */
	size_t npfx[F_COUNT], cappfx[F_COUNT];
	/* combining nodes */
	struct pair_out *pairs[CLS_NODES];
	size_t npairs[CLS_NODES], cappairs[CLS_NODES];
	size_t total_pairs;
	uint64_t work;
	char *err;
	size_t errlen;
};

#define W_WILD	 1
#define W_SHARED 2

bool cls_decisive(const struct compiler *c, int e, uint32_t mask);

/* classify.c: the classes of one part, emitted as part `part`.  Returns 0,
 * or -1 with err (c.over_budget tells a budget from other errors). */
int cls_build_part(struct cls_out *o, int part, const struct flat_policy *pfp, const int *gmap, bool keyed,
		   uint32_t vmask, bool *over_budget, char *err, size_t errlen);

/* classify_emit.c: the tables of one part from its built classes. */
int cls_emit(struct compiler *c);
uint32_t cls_tab_alloc(struct cls_out *o, size_t n, uint32_t fill);
uint32_t cls_tab_align(struct cls_out *o);
uint32_t cls_intern_action(struct cls_out *o, const struct cls_result *r, const int32_t *rec_entries);
void cls_out_free(struct cls_out *o);

/* classify_lookup.c: one combination over the emitted tables (also used by
 * the emitter to fill dense tables from sparse ones). */
int cls_tab_combine(const struct cls_tables *t, const struct cls_node_cfg *n, uint32_t a, uint32_t b, uint32_t *out);

#endif
