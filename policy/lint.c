/* Warnings of `rampart check`: things that are legal but almost certainly
 * not what the author meant (Kerio: "processing will never reach it"). */
#include <stdio.h>
#include <stdlib.h>
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

/* A rule is shadowed when one earlier deciding rule of its table covers it,
 * or when earlier deciding rules that agree with it on every field but one
 * together cover that field (e.g. ports split over several rules). */
static bool shadowing_rules(const struct policy *p, const struct table *t, int pos, char *lines, size_t len)
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
	for (int g = 0; g < F_COUNT; g++) {
		/* A field the rule leaves open can only be covered by a union when
		 * every event carries it (e.g. `in` + `out` rules cover "both"). */
		struct vset want = { 0 };
		if (r->cond[g].used)
			vset_copy(&want, &r->cond[g].set);
		else if (g == F_FAMILY)
			vset_add(&want, 4, 4), vset_add(&want, 6, 6);
		else if (always_carried(g))
			vset_add(&want, 0, field_max(g));
		else
			continue;
		struct vset acc = { 0 }, tmp;
		lines[0] = 0;
		for (int i = 0; i < pos; i++) {
			const struct rule *e = &p->rules[t->rules[i]];
			if (!is_terminal(e->verdict) || !e->cond[g].used || !covers_except(e, r, g))
				continue;
			struct vset part;
			vset_intersect(&part, &e->cond[g].set, &want);
			if (vset_empty(&part)) {
				vset_free(&part);
				continue;
			}
			vset_union(&tmp, &acc, &part);
			vset_free(&acc);
			vset_free(&part);
			acc = tmp;
			append_line(lines, len, e);
		}
		bool covered = !vset_empty(&acc) && vset_subset(&want, &acc);
		vset_free(&acc);
		vset_free(&want);
		if (covered)
			return true;
	}
	return false;
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
static void lint_source_port_hole(const struct rule *r, struct diag *d)
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
	diag_warning(d, r->loc,
		     "inbound allow trusts only the remote (source) port, which the sender picks: "
		     "any host can reach any local port this way; add `remote ADDRS` or `local port`");
}

void lint_policy(const struct policy *p, struct diag *d)
{
	char lines[512];

	for (int t = 0; t < p->ntables; t++) {
		const struct table *tb = &p->tables[t];
		for (int i = 0; i < tb->nrules; i++) {
			const struct rule *r = &p->rules[tb->rules[i]];
			if (shadowing_rules(p, tb, i, lines, sizeof(lines))) {
				bool one = !strchr(lines, ',');
				diag_warning(d, r->loc,
					     "rule can never match: %s %s %s every event it would match "
					     "(processing will never reach it; move it above)",
					     one ? "the rule at line" : "the rules at lines", lines,
					     one ? "decides" : "decide");
				continue;
			}
			lint_impossible(r, d);
			lint_source_port_hole(r, d);
		}
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
