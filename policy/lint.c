/* Warnings of `rampart check`: things that are legal but almost certainly
 * not what the author meant (Kerio: "processing will never reach it"). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "policy.h"

static bool is_terminal(enum verdict v)
{
	return v == VERDICT_ALLOW || v == VERDICT_DENY || v == VERDICT_REJECT || v == VERDICT_ASK;
}

/* Does `e` match every event `r` matches, looking at field f only? */
static bool covers_field(const struct rule *e, const struct rule *r, enum field f)
{
	if (!e->cond[f].used)
		return true;
	return r->cond[f].used && vset_subset(&r->cond[f].set, &e->cond[f].set);
}

static bool covers_except(const struct rule *e, const struct rule *r, int skip)
{
	for (int f = 0; f < F_COUNT; f++)
		if (f != skip && !covers_field(e, r, f))
			return false;
	return true;
}

static bool always_carried(enum field f)
{
	return f == F_DIR || f == F_EVENT || f == F_FAMILY || f == F_PROTO;
}

static void append_line(char *buf, size_t len, const struct rule *e)
{
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, "%s%d", used ? ", " : "", e->loc.line);
}

/* What a field must cover for a rule to be shadowed through that field (a
 * union of earlier rules): its set, or, when the rule leaves it open,
 * every value (only for fields every event carries; both families for
 * `family`).  false: no union can cover it. */
static bool union_target(const struct rule *r, int g, struct vset *want)
{
	*want = (struct vset){ 0 };
	if (r->cond[g].used)
		vset_copy(want, &r->cond[g].set);
	else if (g == F_FAMILY)
		vset_add(want, 4, 4), vset_add(want, 6, 6);
	else if (always_carried(g))
		vset_add(want, 0, field_max(g));
	else
		return false;
	return true;
}

/* Do the union of the contributors' g sets (in order) cover want?  lines
 * gets their lines. */
static bool union_covers(const struct policy *p, const struct table *t, const int *pos, int n, int g,
			 const struct vset *want, char *lines, size_t len)
{
	struct vset acc = { 0 }, tmp;
	lines[0] = 0;
	for (int k = 0; k < n; k++) {
		const struct rule *e = &p->rules[t->rules[pos[k]]];
		struct vset part;
		vset_intersect(&part, &e->cond[g].set, want);
		vset_union(&tmp, &acc, &part);
		vset_free(&acc);
		vset_free(&part);
		acc = tmp;
		append_line(lines, len, e);
	}
	bool covered = !vset_empty(&acc) && vset_subset(want, &acc);
	vset_free(&acc);
	return covered;
}

/* A rule is shadowed when one earlier deciding rule of its table covers it,
 * or when earlier deciding rules that agree with it on every field but one
 * together cover that field (e.g. ports split over several rules).  This
 * is the definition, rule by rule (for rules with an empty condition,
 * which the index cannot search); shadow_index below finds the same rules
 * without looking at every pair. */
static bool shadowing_rules_scan(const struct policy *p, const struct table *t, int pos, char *lines, size_t len)
{
	const struct rule *r = &p->rules[t->rules[pos]];

	lines[0] = 0;
	for (int i = 0; i < pos; i++) {
		const struct rule *e = &p->rules[t->rules[i]];
		if (is_terminal(e->verdict) && covers_except(e, r, -1)) {
			append_line(lines, len, e);
			return true;
		}
	}
	int *contrib = malloc(sizeof(int) * (size_t)(pos ? pos : 1));
	for (int g = 0; g < F_COUNT; g++) {
		struct vset want;
		if (!union_target(r, g, &want))
			continue;
		int n = 0;
		for (int i = 0; i < pos; i++) {
			const struct rule *e = &p->rules[t->rules[i]];
			if (!is_terminal(e->verdict) || !e->cond[g].used || !covers_except(e, r, g))
				continue;
			struct vset part;
			vset_intersect(&part, &e->cond[g].set, &want);
			if (!vset_empty(&part))
				contrib[n++] = i;
			vset_free(&part);
		}
		bool covered = union_covers(p, t, contrib, n, g, &want, lines, len);
		vset_free(&want);
		if (covered) {
			free(contrib);
			return true;
		}
	}
	free(contrib);
	return false;
}

/* ---------- an index of a table's deciding rules ----------
 *
 * A rule e covers r (on every field, or every field but g) only if e names
 * no field r leaves open (but g), and e's sets contain r's smallest value
 * of every field it names: e matches r's "corner".  Rules are grouped by
 * the fields they name; within a group, per field, a segment tree whose
 * nodes list (in table order) the rules whose interval covers them answers
 * "which rules contain value v" in table order.  A query walks only the
 * group's most selective field. */

struct seg_field {
	u128 *bound; /* segment starts, sorted; bound[0] = 0 */
	int nseg;
	int *start;	    /* per tree node: its positions are item[start[n] .. start[n + 1]) */
	int *item;	    /* positions in the table, ascending per node */
	struct lo_pos *los; /* every interval's start and rule, by start */
	int nlos;
};

struct lo_pos {
	u128 lo;
	int pos;
};

struct group {
	uint32_t sig; /* fields the rules name */
	int *pos;     /* their positions, ascending */
	int n;
	struct seg_field f[F_COUNT];
};

struct shadow_index {
	struct group *g;
	int ng;
};

static int cmp_u128(const void *x, const void *y)
{
	u128 a = *(const u128 *)x, b = *(const u128 *)y;
	return a < b ? -1 : a > b;
}

static int cmp_lo_pos(const void *x, const void *y)
{
	const struct lo_pos *a = x, *b = y;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (a->pos > b->pos) - (a->pos < b->pos);
}

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* The first interval start >= v. */
static int lo_at_least(const struct seg_field *sf, u128 v)
{
	int lo = 0, hi = sf->nlos;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (sf->los[mid].lo < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int seg_of(const struct seg_field *sf, u128 v)
{
	int lo = 0, hi = sf->nseg - 1;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (sf->bound[mid] <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Visits the canonical nodes of [s0, s1]: pass 0 counts, pass 1 fills. */
static void seg_insert(struct seg_field *sf, int node, int l, int r, int s0, int s1, int posn, int *fill)
{
	if (s1 < l || r < s0)
		return;
	if (s0 <= l && r <= s1) {
		if (fill)
			sf->item[fill[node]++] = posn;
		else
			sf->start[node + 1]++;
		return;
	}
	int m = (l + r) / 2;
	seg_insert(sf, 2 * node, l, m, s0, s1, posn, fill);
	seg_insert(sf, 2 * node + 1, m + 1, r, s0, s1, posn, fill);
}

static void seg_build(struct seg_field *sf, const struct policy *p, const struct table *t, const struct group *g, int f)
{
	int nb = 1;
	for (int k = 0; k < g->n; k++)
		nb += 2 * p->rules[t->rules[g->pos[k]]].cond[f].set.n;
	sf->bound = malloc(sizeof(u128) * (size_t)nb);
	nb = 0;
	sf->bound[nb++] = 0;
	for (int k = 0; k < g->n; k++) {
		const struct vset *s = &p->rules[t->rules[g->pos[k]]].cond[f].set;
		for (int i = 0; i < s->n; i++) {
			sf->bound[nb++] = s->r[i].lo;
			if (s->r[i].hi != ~(u128)0)
				sf->bound[nb++] = s->r[i].hi + 1;
		}
	}
	qsort(sf->bound, (size_t)nb, sizeof(u128), cmp_u128);
	int u = 0;
	for (int i = 0; i < nb; i++)
		if (!u || sf->bound[i] != sf->bound[u - 1])
			sf->bound[u++] = sf->bound[i];
	sf->nseg = u;
	sf->los = malloc(sizeof(*sf->los) * (size_t)(nb ? nb : 1));
	sf->nlos = 0;
	for (int k = 0; k < g->n; k++) {
		const struct vset *s = &p->rules[t->rules[g->pos[k]]].cond[f].set;
		for (int i = 0; i < s->n; i++)
			sf->los[sf->nlos++] = (struct lo_pos){ s->r[i].lo, g->pos[k] };
	}
	qsort(sf->los, (size_t)sf->nlos, sizeof(*sf->los), cmp_lo_pos);
	int nodes = 4 * u + 4;
	sf->start = calloc((size_t)nodes + 1, sizeof(int));
	for (int pass = 0; pass < 2; pass++) {
		int *fill = NULL;
		if (pass) {
			for (int n = 0; n < nodes; n++)
				sf->start[n + 1] += sf->start[n];
			sf->item = malloc(sizeof(int) * (size_t)(sf->start[nodes] ? sf->start[nodes] : 1));
			fill = malloc(sizeof(int) * (size_t)nodes);
			memcpy(fill, sf->start, sizeof(int) * (size_t)nodes);
		}
		for (int k = 0; k < g->n; k++) {
			const struct vset *s = &p->rules[t->rules[g->pos[k]]].cond[f].set;
			for (int i = 0; i < s->n; i++)
				seg_insert(sf, 1, 0, u - 1, seg_of(sf, s->r[i].lo), seg_of(sf, s->r[i].hi), g->pos[k],
					   fill);
		}
		free(fill);
	}
}

/* The nodes on the path to value v's segment: their lists hold exactly
 * the rules whose interval contains v (each once).  Returns how many. */
static int seg_path(const struct seg_field *sf, u128 v, int *nodes, int *total)
{
	int s = seg_of(sf, v), node = 1, l = 0, r = sf->nseg - 1, n = 0;
	*total = 0;
	for (;;) {
		if (sf->start[node + 1] > sf->start[node]) {
			nodes[n++] = node;
			*total += sf->start[node + 1] - sf->start[node];
		}
		if (l == r)
			return n;
		int m = (l + r) / 2;
		if (s <= m)
			node = 2 * node, r = m;
		else
			node = 2 * node + 1, l = m + 1;
	}
}

static void shadow_index_build(struct shadow_index *x, const struct policy *p, const struct table *t)
{
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < t->nrules; i++) {
		const struct rule *e = &p->rules[t->rules[i]];
		if (!is_terminal(e->verdict))
			continue;
		uint32_t sig = 0;
		for (int f = 0; f < F_COUNT; f++)
			if (e->cond[f].used)
				sig |= 1u << f;
		int k = 0;
		while (k < x->ng && x->g[k].sig != sig)
			k++;
		if (k == x->ng) {
			x->g = realloc(x->g, sizeof(*x->g) * (size_t)(x->ng + 1));
			memset(&x->g[x->ng], 0, sizeof(x->g[0]));
			x->g[x->ng++].sig = sig;
		}
		struct group *g = &x->g[k];
		g->pos = realloc(g->pos, sizeof(int) * (size_t)(g->n + 1));
		g->pos[g->n++] = i;
	}
	for (int k = 0; k < x->ng; k++)
		for (int f = 0; f < F_COUNT; f++)
			if (x->g[k].sig & (1u << f))
				seg_build(&x->g[k].f[f], p, t, &x->g[k], f);
}

static void shadow_index_free(struct shadow_index *x)
{
	for (int k = 0; k < x->ng; k++) {
		for (int f = 0; f < F_COUNT; f++) {
			free(x->g[k].f[f].bound);
			free(x->g[k].f[f].start);
			free(x->g[k].f[f].item);
			free(x->g[k].f[f].los);
		}
		free(x->g[k].pos);
	}
	free(x->g);
}

/* The rules of group g whose `f` intervals overlap the set w, before
 * position `before`, ascending (ov gets them; returns how many).  *count
 * only (ov NULL): an upper bound. */
static int group_overlap(const struct group *g, int f, const struct vset *w, int before, int *ov, int *count)
{
	const struct seg_field *sf = &g->f[f];
	int n = 0, total = 0, nodes[160];
	for (int i = 0; i < w->n; i++) {
		int t, k = seg_path(sf, w->r[i].lo, nodes, &t);
		int a = lo_at_least(sf, w->r[i].lo + 1),
		    b = w->r[i].hi == ~(u128)0 ? sf->nlos : lo_at_least(sf, w->r[i].hi + 1);
		total += t + (b > a ? b - a : 0);
		if (!ov)
			continue;
		for (int j = 0; j < k; j++)
			for (int q = sf->start[nodes[j]]; q < sf->start[nodes[j] + 1]; q++)
				if (sf->item[q] < before)
					ov[n++] = sf->item[q];
		for (int q = a; q < b; q++)
			if (sf->los[q].pos < before)
				ov[n++] = sf->los[q].pos;
	}
	*count = total;
	if (!ov)
		return 0;
	qsort(ov, (size_t)n, sizeof(int), cmp_int);
	int u = 0;
	for (int i = 0; i < n; i++)
		if (!u || ov[i] != ov[u - 1])
			ov[u++] = ov[i];
	return u;
}

/* The rules of group g, before position `before`, that contain r's corner
 * on every field g names but `skip` (and, with want, whose skip intervals
 * overlap want), in table order: fn(e's position) until it returns true. */
static void group_walk(const struct group *g, const struct rule *r, int skip, const struct vset *want, int before,
		       bool (*fn)(int, void *), void *arg)
{
	int best = -1, bnodes[160], bn = 0, btotal = 0;
	for (int f = 0; f < F_COUNT; f++) {
		if (f == skip || !(g->sig & (1u << f)))
			continue;
		int nodes[160], total, n = seg_path(&g->f[f], r->cond[f].set.r[0].lo, nodes, &total);
		if (best < 0 || total < btotal) {
			best = f;
			btotal = total;
			bn = n;
			memcpy(bnodes, nodes, sizeof(int) * (size_t)n);
		}
	}
	int wtotal = 0;
	if (want && skip >= 0 && (g->sig & (1u << skip)))
		group_overlap(g, skip, want, before, NULL, &wtotal);
	if (want && skip >= 0 && (g->sig & (1u << skip)) && (best < 0 || wtotal < btotal)) {
		int *ov = malloc(sizeof(int) * (size_t)(wtotal ? wtotal : 1));
		int n = group_overlap(g, skip, want, before, ov, &wtotal);
		for (int i = 0; i < n; i++)
			if (fn(ov[i], arg))
				break;
		free(ov);
		return;
	}
	if (best < 0) { /* the group names no field but skip: each rule is a candidate */
		for (int k = 0; k < g->n && g->pos[k] < before; k++)
			if (fn(g->pos[k], arg))
				return;
		return;
	}
	/* merge the path's lists (each ascending) in table order */
	const struct seg_field *sf = &g->f[best];
	int head[160];
	for (int i = 0; i < bn; i++)
		head[i] = sf->start[bnodes[i]];
	for (;;) {
		int m = -1;
		for (int i = 0; i < bn; i++)
			if (head[i] < sf->start[bnodes[i] + 1] && (m < 0 || sf->item[head[i]] < sf->item[head[m]]))
				m = i;
		if (m < 0 || sf->item[head[m]] >= before)
			return;
		if (fn(sf->item[head[m]++], arg))
			return;
	}
}

struct shadow_query {
	const struct policy *p;
	const struct table *t;
	const struct rule *r;
	int g; /* -1: a single covering rule */
	const struct vset *want;
	int found;    /* single: the first covering position */
	int *contrib; /* union: the contributing positions */
	int n;
};

static bool single_cover(int posn, void *arg)
{
	struct shadow_query *q = arg;
	if (!covers_except(&q->p->rules[q->t->rules[posn]], q->r, -1))
		return false;
	if (q->found < 0 || posn < q->found)
		q->found = posn;
	return true;
}

/* Do two sets share a value?  (No allocation: this runs per candidate.) */
static bool vsets_meet(const struct vset *a, const struct vset *b)
{
	for (int i = 0, j = 0; i < a->n && j < b->n;) {
		if (a->r[i].hi < b->r[j].lo)
			i++;
		else if (b->r[j].hi < a->r[i].lo)
			j++;
		else
			return true;
	}
	return false;
}

static bool union_part(int posn, void *arg)
{
	struct shadow_query *q = arg;
	const struct rule *e = &q->p->rules[q->t->rules[posn]];
	if (vsets_meet(&e->cond[q->g].set, q->want) && covers_except(e, q->r, q->g))
		q->contrib[q->n++] = posn;
	return false;
}

static bool shadowing_rules(const struct policy *p, const struct table *t, const struct shadow_index *x, int pos,
			    char *lines, size_t len)
{
	const struct rule *r = &p->rules[t->rules[pos]];
	uint32_t sig = 0;
	for (int f = 0; f < F_COUNT; f++) {
		if (!r->cond[f].used)
			continue;
		if (vset_empty(&r->cond[f].set)) /* no corner: the definition */
			return shadowing_rules_scan(p, t, pos, lines, len);
		sig |= 1u << f;
	}
	struct shadow_query q = { .p = p, .t = t, .r = r, .g = -1, .found = -1 };
	lines[0] = 0;
	for (int k = 0; k < x->ng; k++)
		if (!(x->g[k].sig & ~sig))
			group_walk(&x->g[k], r, -1, NULL, q.found >= 0 ? q.found : pos, single_cover, &q);
	if (q.found >= 0) {
		append_line(lines, len, &p->rules[t->rules[q.found]]);
		return true;
	}
	q.contrib = malloc(sizeof(int) * (size_t)(pos ? pos : 1));
	bool covered = false;
	for (int g = 0; g < F_COUNT && !covered; g++) {
		struct vset want;
		if (!union_target(r, g, &want))
			continue;
		if (want.n == 1 && want.r[0].lo == want.r[0].hi) {
			/* one value: a rule that covers it and the other fields
			 * covers r alone, and there is none */
			vset_free(&want);
			continue;
		}
		q.g = g;
		q.want = &want;
		q.n = 0;
		for (int k = 0; k < x->ng; k++)
			if ((x->g[k].sig & (1u << g)) && !(x->g[k].sig & ~(sig | 1u << g)))
				group_walk(&x->g[k], r, g, &want, pos, union_part, &q);
		qsort(q.contrib, (size_t)q.n, sizeof(int), cmp_int);
		covered = union_covers(p, t, q.contrib, q.n, g, &want, lines, len);
		vset_free(&want);
	}
	free(q.contrib);
	return covered;
}

/* Which event types carry a field (docs/policy.md, Events).  Used to spot conditions
 * that can never hold, such as `remote` on `event network`. */
static bool event_carries(enum event_type ev, enum field f)
{
	switch (f) {
	case F_DIR:
	case F_EVENT:
	case F_FAMILY:
	case F_PROTO:
		return true;
	case F_APP:
	case F_CGROUP:
	case F_USER:
		return ev != EVENT_PACKET;
	case F_IFACE:
	case F_ICMPTYPE:
		return ev != EVENT_NETWORK && ev != EVENT_LISTEN;
	case F_LADDR:
	case F_LPORT:
		return ev != EVENT_NETWORK;
	case F_RADDR:
	case F_RPORT:
		return ev != EVENT_NETWORK && ev != EVENT_LISTEN;
	default:
		return true;
	}
}

static void lint_impossible(const struct rule *r, struct diag *d)
{
	for (int f = 0; f < F_COUNT; f++) {
		if (r->cond[f].used && vset_empty(&r->cond[f].set)) {
			diag_warning(d, r->loc, "rule can never match: its `%s` condition matches nothing",
				     field_name(f));
			return;
		}
	}
	if (!r->cond[F_EVENT].used)
		return;
	for (int f = 0; f < F_COUNT; f++) {
		if (!r->cond[f].used)
			continue;
		bool some = false;
		for (int ev = 0; ev < EVENT_COUNT; ev++)
			if (vset_contains(&r->cond[F_EVENT].set, ev) && event_carries(ev, f))
				some = true;
		if (!some) {
			diag_warning(d, r->loc, "rule can never match: the events it names do not carry `%s`",
				     field_name(f));
			return;
		}
	}
}

/* Kerio's active-FTP advice ("allow incoming TCP from any server, source
 * port 20") lets anyone reach every local port by choosing that source
 * port: warn when an inbound allow trusts nothing but the remote port. */
static void lint_source_port_hole(const struct policy *p, const struct rule *r, struct diag *d)
{
	if (r->verdict != VERDICT_ALLOW || !r->cond[F_RPORT].used)
		return;
	if (r->cond[F_DIR].used && !vset_contains(&r->cond[F_DIR].set, DIR_IN))
		return;
	if (r->cond[F_RADDR].used || r->cond[F_LPORT].used || r->cond[F_APP].used || r->cond[F_CGROUP].used ||
	    r->cond[F_USER].used)
		return;
	if (r->cond[F_EVENT].used && !vset_contains(&r->cond[F_EVENT].set, EVENT_ACCEPT) &&
	    !vset_contains(&r->cond[F_EVENT].set, EVENT_RECEIVE) && !vset_contains(&r->cond[F_EVENT].set, EVENT_PACKET))
		return;
	bool ftp_data = vset_contains(&r->cond[F_RPORT].set, 20);
	diag_warning(d, r->loc,
		     "inbound allow trusts only the remote (source) port, which the sender picks: "
		     "any host can reach any local port this way; add `remote ADDRS` or `local port`%s",
		     !ftp_data		 ? ""
		     : p->opt.ftp_helper ? " (active FTP needs no such rule: the FTP helper admits the data "
					   "connections a control connection announces)"
					 : " (or turn the FTP helper on: option ftp-helper on)");
}

void lint_policy(const struct policy *p, struct diag *d)
{
	char lines[512];

	for (int t = 0; t < p->ntables; t++) {
		const struct table *tb = &p->tables[t];
		struct shadow_index x;
		shadow_index_build(&x, p, tb);
		for (int i = 0; i < tb->nrules; i++) {
			const struct rule *r = &p->rules[tb->rules[i]];
			if (shadowing_rules(p, tb, &x, i, lines, sizeof(lines))) {
				bool one = !strchr(lines, ',');
				diag_warning(d, r->loc,
					     "rule can never match: %s %s %s every event it would match "
					     "(processing will never reach it; move it above)",
					     one ? "the rule at line" : "the rules at lines", lines,
					     one ? "decides" : "decide");
				continue;
			}
			lint_impossible(r, d);
			lint_source_port_hole(p, r, d);
		}
		shadow_index_free(&x);
	}

	for (int i = 0; i < p->nsets; i++)
		if (p->sets[i].uses == 0)
			diag_warning(d, p->sets[i].loc, "set `%s` is never used", p->sets[i].name);

	bool *jumped = calloc(p->ntables ? p->ntables : 1, sizeof(bool));
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].verdict == VERDICT_JUMP)
			jumped[p->rules[i].jump_table] = true;
	for (int t = 0; t < p->ntables; t++)
		if (t != p->root && !jumped[t])
			diag_warning(d, p->tables[t].loc, "table `%s` is never jumped to, so its rules are never used",
				     p->tables[t].name);
	free(jumped);

	const struct table *root = &p->tables[p->root];
	if (root->loc.line == 0)
		diag_warning(d, (struct src_loc){ p->main_file, 0, 0 },
			     "no table `root`: every event is denied; add `table root default deny { ... }`");
	else if (!root->dflt_explicit)
		diag_warning(d, root->loc,
			     "table `root` has no explicit default: events no rule decides are denied; "
			     "write `table root default deny {` to say so");
}
