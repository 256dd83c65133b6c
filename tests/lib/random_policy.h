/* Random policies and events for the differential tests: the reference
 * interpreter (eval_event), the flattened policy (flat_eval), the
 * user-space classifier (cls_lookup) and the BPF classifier must judge
 * every one alike (tests/unit/test_flatten.c, tests/unit/test_classify.c,
 * tests/kernel/test_classify_bpf.c).  Deterministic under srand(). */
#ifndef RAMPART_TEST_RANDOM_POLICY_H
#define RAMPART_TEST_RANDOM_POLICY_H

#include "policy.h"

/* How big a random policy gets: 1 to `tables` tables, each with fewer
 * than `rules` rules that try fewer than `fields` conditions. */
struct random_policy_size {
	int tables, rules, fields;
};

/* A number below n. */
unsigned rnd(unsigned n);
/* A policy text (free() it): named sets, tables that jump forward only,
 * every field, every verdict, log flags.  The root table is "root". */
char *random_policy_text(const struct random_policy_size *size);
/* An event for policy p: each field present or not, with values that hit
 * the policies' sets and miss them (interface ids out of range too). */
void random_policy_event(const struct policy *p, struct event *e);

#endif
