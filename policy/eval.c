/* The reference interpreter: judges an event by walking the tables exactly
 * as docs/policy.md (and the Jetico tutorial) describe.  It is the ground truth
 * the flattened form and the kernel datapath are tested against, so it is
 * written to be obviously right rather than fast. */
#include <stdlib.h>
#include <string.h>
#include "policy.h"

bool cond_matches(const struct cond *c, const struct event *ev, enum field f)
{
	if (!c->used)
		return true;
	/* A field the event does not carry never matches (docs/policy.md). */
	if (!ev->has[f])
		return false;
	return vset_contains(&c->set, ev->val[f]);
}

bool rule_matches(const struct rule *r, const struct event *ev, enum field *failed, bool *not_carried)
{
	for (int f = 0; f < F_COUNT; f++) {
		if (!cond_matches(&r->cond[f], ev, f)) {
			if (failed)
				*failed = f;
			if (not_carried)
				*not_carried = !ev->has[f];
			return false;
		}
	}
	return true;
}

struct eval_ctx {
	const struct policy *p;
	const struct event *ev;
	struct eval_result *r;
	bool trace;
	int stepcap, reccap;
};

static void add_step(struct eval_ctx *c, enum step_kind kind, int table, int rule, enum field field, bool not_carried)
{
	if (!c->trace)
		return;
	struct eval_result *r = c->r;
	if (r->nsteps == c->stepcap) {
		c->stepcap = c->stepcap ? 2 * c->stepcap : 16;
		r->steps = realloc(r->steps, (size_t)c->stepcap * sizeof(*r->steps));
		if (!r->steps)
			abort();
	}
	r->steps[r->nsteps++] = (struct step){
		.kind = kind,
		.table = table,
		.rule = rule,
		.field = field,
		.not_carried = not_carried,
	};
}

static void record(struct eval_ctx *c, int rule)
{
	struct eval_result *r = c->r;
	if (r->nrecorded == c->reccap) {
		c->reccap = c->reccap ? 2 * c->reccap : 8;
		r->recorded = realloc(r->recorded, (size_t)c->reccap * sizeof(int));
		if (!r->recorded)
			abort();
	}
	r->recorded[r->nrecorded++] = rule;
}

static void decide(struct eval_ctx *c, enum verdict v, int table, int rule, bool log)
{
	c->r->verdict = v;
	c->r->table = table;
	c->r->rule = rule;
	c->r->log = log;
}

/* Judge the event with table t.  Returns true when a verdict was reached
 * (by a rule, or by a non-continue default); false when the table ended
 * undecided with default continue, so the caller resumes after its jump.
 * Jump cycles are rejected when the policy is resolved, so this ends. */
static bool eval_table(struct eval_ctx *c, int t)
{
	const struct table *tb = &c->p->tables[t];

	for (int i = 0; i < tb->nrules; i++) {
		int id = tb->rules[i];
		const struct rule *ru = &c->p->rules[id];
		enum field failed = 0;
		bool not_carried = false;

		if (!rule_matches(ru, c->ev, &failed, &not_carried)) {
			add_step(c, STEP_NOMATCH, t, id, failed, not_carried);
			continue;
		}
		switch (ru->verdict) {
		case VERDICT_CONTINUE:
			record(c, id);
			add_step(c, STEP_CONTINUE, t, id, 0, false);
			break;
		case VERDICT_JUMP:
			record(c, id);
			add_step(c, STEP_JUMP, t, id, 0, false);
			if (eval_table(c, ru->jump_table))
				return true;
			break;
		default:
			add_step(c, STEP_MATCH, t, id, 0, false);
			decide(c, ru->verdict, t, id, ru->log);
			return true;
		}
	}

	if (tb->dflt == VERDICT_CONTINUE && t != c->p->root) {
		add_step(c, STEP_RETURN, t, -1, 0, false);
		return false;
	}
	/* The resolver never lets root default to continue; should a hand-built
	 * policy do so, there is nothing to return to and the event is denied. */
	enum verdict v = tb->dflt == VERDICT_CONTINUE ? VERDICT_DENY : tb->dflt;
	add_step(c, STEP_DEFAULT, t, -1, 0, false);
	decide(c, v, t, -1, false);
	return true;
}

void eval_event(const struct policy *p, const struct event *ev, struct eval_result *r, bool trace)
{
	struct eval_ctx c = { .p = p, .ev = ev, .r = r, .trace = trace };

	memset(r, 0, sizeof(*r));
	r->rule = -1;
	r->table = p->root;
	eval_table(&c, p->root);
}

void eval_result_free(struct eval_result *r)
{
	free(r->recorded);
	free(r->steps);
	r->recorded = NULL;
	r->steps = NULL;
	r->nrecorded = r->nsteps = 0;
}
