/* Flattening: inline every jump so judging becomes one linear walk.
 *
 * An event reaches a rule of table T only if it matched every jump rule on
 * the path from root to T, so each rule of T becomes an entry whose
 * conditions are the conjunction (per-field intersection) of that path's
 * conditions and its own.  Then, walking entries in order:
 *   - a continue or jump rule that matches is recorded (FLAT_RECORD) and the
 *     walk goes on, exactly as the interpreter goes on (into T for a jump);
 *   - a verdict rule decides (FLAT_TERMINAL);
 *   - a table whose default is not continue decides for every event that
 *     entered it and got no verdict inside: a TERMINAL entry with the path's
 *     conditions only, after the table's rules;
 *   - a table with default continue adds nothing: the walk simply goes on
 *     with the entries after the jump, which is the interpreter's return.
 * The root default comes last with no conditions, so every event is decided.
 * An entry whose conjunction is empty on some field can never match and is
 * dropped (with everything inlined under it). */
#include <stdlib.h>
#include <string.h>
#include "policy.h"

struct flat_builder {
	const struct policy *p;
	struct flat_policy *fp;
	int cap;
	bool counting; /* only count entries (to refuse a too big policy cheaply) */
	long count;
	bool overflow;
};

static void conds_free(struct cond *c)
{
	for (int f = 0; f < F_COUNT; f++) {
		vset_free(&c[f].set);
		c[f].used = false;
	}
}

/* out = a AND b, field by field.  Returns false when some field can match
 * nothing (then out is freed). */
static bool conjoin(struct cond *out, const struct cond *a, const struct cond *b)
{
	memset(out, 0, sizeof(struct cond) * F_COUNT);
	for (int f = 0; f < F_COUNT; f++) {
		if (a[f].used && b[f].used) {
			out[f].used = true;
			vset_intersect(&out[f].set, &a[f].set, &b[f].set);
		} else if (a[f].used || b[f].used) {
			out[f].used = true;
			vset_copy(&out[f].set, a[f].used ? &a[f].set : &b[f].set);
		}
		if (out[f].used && vset_empty(&out[f].set)) {
			conds_free(out);
			return false;
		}
	}
	return true;
}

/* Appends an entry with a copy of cond (the caller keeps its own, which a
 * jump still needs as the path of the inlined table). */
static bool emit(struct flat_builder *b, enum flat_kind kind, enum verdict v, int rule, int table, bool log,
		 const struct cond *cond)
{
	struct flat_policy *fp = b->fp;
	if (++b->count > FLAT_MAX_ENTRIES) {
		b->overflow = true;
		return false;
	}
	if (b->counting)
		return true;
	if (fp->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		fp->e = realloc(fp->e, (size_t)b->cap * sizeof(*fp->e));
		if (!fp->e)
			abort();
	}
	struct flat_entry *e = &fp->e[fp->n++];
	e->kind = kind;
	e->verdict = v;
	e->rule = rule;
	e->table = table;
	e->log = log;
	for (int f = 0; f < F_COUNT; f++) {
		e->cond[f].used = cond[f].used;
		if (cond[f].used)
			vset_copy(&e->cond[f].set, &cond[f].set);
		else
			e->cond[f].set = (struct vset){ 0 };
	}
	return true;
}

/* Inline table t for events satisfying `path`. */
static bool flatten_table(struct flat_builder *b, int t, const struct cond *path)
{
	const struct policy *p = b->p;
	const struct table *tb = &p->tables[t];

	for (int i = 0; i < tb->nrules; i++) {
		const struct rule *r = &p->rules[tb->rules[i]];
		struct cond c[F_COUNT];
		if (!conjoin(c, path, r->cond))
			continue;
		bool ok;
		switch (r->verdict) {
		case VERDICT_CONTINUE:
			ok = emit(b, FLAT_RECORD, VERDICT_CONTINUE, r->id, t, true, c);
			break;
		case VERDICT_JUMP:
			ok = emit(b, FLAT_RECORD, VERDICT_JUMP, r->id, t, r->log, c) &&
			     flatten_table(b, r->jump_table, c);
			break;
		default:
			ok = emit(b, FLAT_TERMINAL, r->verdict, r->id, t, r->log, c);
			break;
		}
		conds_free(c);
		if (!ok)
			return false;
	}
	if (t != p->root && tb->dflt != VERDICT_CONTINUE)
		return emit(b, FLAT_TERMINAL, tb->dflt, -1, t, false, path);
	return true;
}

/* Entries if nothing were pruned (saturating), memoised per table. */
static double upper_bound(const struct policy *p, int t, double *memo)
{
	if (memo[t] >= 0)
		return memo[t];
	const struct table *tb = &p->tables[t];
	double n = t != p->root && tb->dflt != VERDICT_CONTINUE;
	for (int i = 0; i < tb->nrules && n <= FLAT_MAX_ENTRIES; i++) {
		const struct rule *r = &p->rules[tb->rules[i]];
		n += 1;
		if (r->verdict == VERDICT_JUMP)
			n += upper_bound(p, r->jump_table, memo);
	}
	return memo[t] = n;
}

static bool build(struct flat_builder *b, enum verdict rdflt)
{
	struct cond none[F_COUNT];
	memset(none, 0, sizeof(none));
	b->count = 0;
	return flatten_table(b, b->p->root, none) && emit(b, FLAT_TERMINAL, rdflt, -1, b->p->root, false, none);
}

int flatten_policy(const struct policy *p, struct flat_policy *fp, struct diag *d)
{
	struct flat_builder b = { .p = p, .fp = fp };

	fp->e = NULL;
	fp->n = 0;
	const struct table *root = &p->tables[p->root];
	/* Root cannot return anywhere: a continue default (only possible in a
	 * hand-built policy) denies, as in eval_event. */
	enum verdict rdflt = root->dflt == VERDICT_CONTINUE ? VERDICT_DENY : root->dflt;

	/* Inlining can multiply entries; when it might exceed the limit, count
	 * first (pruning included) rather than allocate gigabytes and fail. */
	double *memo = malloc((size_t)(p->ntables ? p->ntables : 1) * sizeof(double));
	if (!memo)
		abort();
	for (int t = 0; t < p->ntables; t++)
		memo[t] = -1;
	bool big = upper_bound(p, p->root, memo) + 1 > FLAT_MAX_ENTRIES;
	free(memo);
	bool ok = true;
	if (big) {
		b.counting = true;
		ok = build(&b, rdflt);
		b.counting = false;
	}
	if (!ok || !build(&b, rdflt)) {
		if (b.overflow)
			diag_error(d, root->loc,
				   "the policy expands to more than %d rules once jumps are inlined; "
				   "jump to big tables from fewer places or merge conditions into sets",
				   FLAT_MAX_ENTRIES);
		flat_policy_free(fp);
		return -1;
	}
	return 0;
}

void flat_policy_free(struct flat_policy *fp)
{
	for (int i = 0; i < fp->n; i++)
		conds_free(fp->e[i].cond);
	free(fp->e);
	fp->e = NULL;
	fp->n = 0;
}

void flat_eval(const struct flat_policy *fp, const struct event *ev, struct eval_result *r)
{
	int cap = 0;

	memset(r, 0, sizeof(*r));
	r->verdict = VERDICT_DENY;
	r->rule = -1;
	r->table = -1;
	for (int i = 0; i < fp->n; i++) {
		const struct flat_entry *e = &fp->e[i];
		bool match = true;
		for (int f = 0; f < F_COUNT && match; f++)
			match = cond_matches(&e->cond[f], ev, f);
		if (!match)
			continue;
		if (e->kind == FLAT_RECORD) {
			if (r->nrecorded == cap) {
				cap = cap ? 2 * cap : 8;
				r->recorded = realloc(r->recorded, (size_t)cap * sizeof(int));
				if (!r->recorded)
					abort();
			}
			r->recorded[r->nrecorded++] = e->rule;
			continue;
		}
		r->verdict = e->verdict;
		r->table = e->table;
		r->rule = e->rule;
		r->log = e->log;
		return;
	}
}
