/* The flattened form: jumps inlined, defaults explicit -- and judging with it
 * gives exactly what the reference interpreter gives, for every event. */
#include "judge.h"
#include "random_policy.h"

static struct policy *load(const char *text)
{
	return load_policy_text_ok(text);
}

static void flatten_ok(const struct policy *p, struct flat_policy *fp)
{
	struct diag d;
	diag_init(&d, stderr, NULL);
	assert_int_equal(flatten_policy(p, fp, &d), 0);
	assert_int_equal(d.nerrors, 0);
	diag_free(&d);
}

static int used_fields(const struct flat_entry *e)
{
	int n = 0;
	for (int f = 0; f < F_COUNT; f++)
		n += e->cond[f].used;
	return n;
}

/* Same verdict, deciding table/rule, log and recorded list. */
static void assert_same_result(const struct eval_result *a, const struct eval_result *b)
{
	assert_int_equal(a->verdict, b->verdict);
	assert_int_equal(a->table, b->table);
	assert_int_equal(a->rule, b->rule);
	assert_int_equal(a->log, b->log);
	assert_int_equal(a->nrecorded, b->nrecorded);
	for (int i = 0; i < a->nrecorded; i++)
		assert_int_equal(a->recorded[i], b->recorded[i]);
}

static void test_structure_of_spec_example(void **state)
{
	struct policy *p = load_policy_file_ok("policy/examples/spec-example.rules");
	struct flat_policy fp;
	flatten_ok(p, &fp);
	/* root's 6 rules; web-browser's 4 inlined under the jump; ask-user's
	 * default (ask) as one entry; the root default last */
	assert_int_equal(fp.n, 6 + 4 + 1 + 1);
	const struct flat_entry *last = &fp.e[fp.n - 1];
	assert_int_equal(last->kind, FLAT_TERMINAL);
	assert_int_equal(last->verdict, VERDICT_DENY);
	assert_int_equal(last->rule, -1);
	assert_int_equal(last->table, p->root);
	assert_int_equal(used_fields(last), 0);

	int jump_wb = -1;
	for (int i = 0; i < fp.n; i++)
		if (fp.e[i].kind == FLAT_RECORD && fp.e[i].verdict == VERDICT_JUMP && jump_wb < 0)
			jump_wb = i;
	assert_true(jump_wb >= 0);
	assert_false(fp.e[jump_wb].log); /* a jump without `log` */
	/* the inlined web-browser rules carry the jump's app condition */
	for (int i = jump_wb + 1; i <= jump_wb + 4; i++) {
		assert_string_equal(p->tables[fp.e[i].table].name, "web-browser");
		assert_true(fp.e[i].cond[F_APP].used);
		assert_true(vset_equal(&fp.e[i].cond[F_APP].set, &fp.e[jump_wb].cond[F_APP].set));
	}
	assert_true(fp.e[jump_wb + 2].cond[F_RPORT].used);
	assert_true(fp.e[jump_wb + 2].cond[F_PROTO].used);
	/* ask-user: its default ask, conditioned on nothing (the jump has none) */
	const struct flat_entry *ask = &fp.e[fp.n - 2];
	assert_int_equal(ask->kind, FLAT_TERMINAL);
	assert_int_equal(ask->verdict, VERDICT_ASK);
	assert_int_equal(ask->rule, -1);
	assert_string_equal(p->tables[ask->table].name, "ask-user");
	assert_int_equal(fp.e[fp.n - 3].kind, FLAT_RECORD); /* the jump to ask-user */
	flat_policy_free(&fp);
	assert_int_equal(fp.n, 0);
	free_policy(p);
}

/* Entries whose conjunction is empty can never match and are dropped. */
static void test_empty_conjunctions_are_dropped(void **state)
{
	struct policy *p = load("table root default deny {\n"
				"    jump t proto tcp\n"
				"    continue remote port 80 log\n"
				"}\n"
				"table t default reject {\n"
				"    allow proto udp\n" /* tcp AND udp: never */
				"    allow proto { tcp, udp } remote port 22\n"
				"    jump u\n"
				"}\n"
				"table u {\n"
				"    deny proto icmp\n" /* never under tcp */
				"    continue in\n"
				"}\n");
	struct flat_policy fp;
	flatten_ok(p, &fp);
	/* jump t; [allow tcp 22; jump u; [continue in]; t default]; continue; root default */
	assert_int_equal(fp.n, 7);
	assert_int_equal(fp.e[0].kind, FLAT_RECORD);
	assert_int_equal(fp.e[1].verdict, VERDICT_ALLOW);
	/* the conjunction keeps only tcp */
	assert_int_equal(fp.e[1].cond[F_PROTO].set.n, 1);
	assert_true(fp.e[1].cond[F_PROTO].set.r[0].lo == 6 && fp.e[1].cond[F_PROTO].set.r[0].hi == 6);
	assert_int_equal(fp.e[2].verdict, VERDICT_JUMP);
	assert_int_equal(fp.e[3].verdict, VERDICT_CONTINUE);
	assert_true(fp.e[3].log); /* continue always logs */
	assert_true(fp.e[3].cond[F_DIR].used && fp.e[3].cond[F_PROTO].used);
	assert_int_equal(fp.e[4].verdict, VERDICT_REJECT); /* t's default, under proto tcp */
	assert_int_equal(fp.e[4].rule, -1);
	assert_true(fp.e[4].cond[F_PROTO].used);
	assert_int_equal(fp.e[5].kind, FLAT_RECORD);
	assert_true(fp.e[5].log);
	assert_int_equal(fp.e[6].verdict, VERDICT_DENY);
	flat_policy_free(&fp);

	/* and it still judges like the interpreter */
	assert_judged(judge(p, "out proto tcp remote 192.0.2.1 port 22"), VERDICT_ALLOW, "t", 7);
	assert_judged(judge(p, "out proto tcp remote 192.0.2.1 port 80"), VERDICT_REJECT, "t", 0);
	assert_judged(judge(p, "out proto udp remote 192.0.2.1 port 80"), VERDICT_DENY, "root", 0);
	free_policy(p);
}

static void test_jump_log_flag(void **state)
{
	struct policy *p = load("table root default allow {\n"
				"    jump t log\n"
				"    jump t\n"
				"}\n"
				"table t {\n"
				"}\n");
	struct flat_policy fp;
	flatten_ok(p, &fp);
	assert_int_equal(fp.n, 3);
	assert_true(fp.e[0].log);
	assert_false(fp.e[1].log);
	assert_int_equal(fp.e[2].verdict, VERDICT_ALLOW);
	flat_policy_free(&fp);
	free_policy(p);
}

/* Too many entries once inlined: an error, not gigabytes. */
static void test_too_big_is_refused(void **state)
{
	/* 23 levels, each jumping twice to the next: 2^23 > FLAT_MAX_ENTRIES */
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "table root default deny {\n    jump t1\n    jump t1\n}\n");
	for (int i = 1; i <= 23; i++) {
		if (i < 23)
			fprintf(m, "table t%d {\n    jump t%d\n    jump t%d\n}\n", i, i + 1, i + 1);
		else
			fprintf(m, "table t%d {\n    continue\n}\n", i);
	}
	fclose(m);
	struct policy *p = load(text);
	struct flat_policy fp;
	struct diag d;
	diag_init(&d, NULL, NULL);
	assert_int_equal(flatten_policy(p, &fp, &d), -1);
	assert_int_equal(d.nerrors, 1);
	assert_true(diag_has(&d, DIAG_ERROR, "more than 4000000 rules"));
	assert_int_equal(fp.n, 0);
	assert_null(fp.e);
	diag_free(&d);
	free_policy(p);
	free(text);
}

/* ---------- randomized: eval_event == flat_eval ---------- */

static void test_random_policies_agree(void **state)
{
	struct random_policy_size size = { .tables = 5, .rules = 7, .fields = 4 };
	srand(20240501);
	int pairs = 0, decided_by_rule = 0, recorded_some = 0;
	int verdicts[VERDICT_COUNT] = { 0 };
	for (int iter = 0; iter < 400; iter++) {
		char *text = random_policy_text(&size);
		struct policy p;
		struct diag d;
		struct load_opts o = { 0 };
		diag_init(&d, NULL, NULL);
		if (policy_load_string(&p, "random.rules", text, &o, &d) != 0) {
			for (int i = 0; i < d.nmsgs; i++)
				fprintf(stderr, "%d: %s\n", d.msgs[i].loc.line, d.msgs[i].text);
			fail_msg("random policy did not load:\n%s", text);
		}
		diag_free(&d);
		struct flat_policy fp;
		flatten_ok(&p, &fp);
		for (int k = 0; k < 60; k++) {
			struct event ev;
			random_policy_event(&p, &ev);
			struct eval_result a, b;
			eval_event(&p, &ev, &a, false);
			flat_eval(&fp, &ev, &b);
			assert_same_result(&a, &b);
			pairs++;
			decided_by_rule += a.rule >= 0;
			recorded_some += a.nrecorded > 0;
			verdicts[a.verdict]++;
			eval_result_free(&a);
			eval_result_free(&b);
		}
		flat_policy_free(&fp);
		policy_free(&p);
		free(text);
	}
	assert_int_equal(pairs, 400 * 60);
	/* the generator exercises what matters, not just defaults */
	assert_true(decided_by_rule > pairs / 10);
	assert_true(recorded_some > pairs / 20);
	for (int v = VERDICT_ALLOW; v <= VERDICT_ASK; v++)
		assert_true(verdicts[v] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure_of_spec_example),
		cmocka_unit_test(test_empty_conjunctions_are_dropped),
		cmocka_unit_test(test_jump_log_flag),
		cmocka_unit_test(test_too_big_is_refused),
		cmocka_unit_test(test_random_policies_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
