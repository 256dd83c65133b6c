/* The flattened form: jumps inlined, defaults explicit -- and judging with it
 * gives exactly what the reference interpreter gives, for every event. */
#include "judge.h"

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

static const char *ADDRS[] = { "192.0.2.0/25",
			       "192.0.2.128/25",
			       "198.51.100.0/24",
			       "2001:db8::/33",
			       "! 192.0.2.0/24",
			       "@nets",
			       "{ 203.0.113.1, 2001:db8::1 }",
			       "192.0.2.100-192.0.2.150",
			       "any" };
static const char *PORTS[] = { "22", "80", "1000-5000", "! 80", "{ 22, 443 }", "@web", "any" };
static const char *PROTOS[] = { "tcp", "udp", "icmp", "icmpv6", "{ tcp, udp }", "any" };
static const char *EVENTS[] = { "network", "connect", "accept", "{ send, receive }", "packet" };
static const char *APPS[] = { "/usr/bin/a", "/usr/bin/b", "@apps" };
static const char *CGROUPS[] = { "/a", "/a/b", "/c", "@cg" };
static const char *USERS[] = { "0", "1000", "0-999" };
static const char *IFACES[] = { "eth0", "wan", "lo" };
static const char *ICMPS[] = { "echo-request", "echo-reply", "dest-unreach" };
static const char *VERDICTS[] = { "allow", "deny", "reject", "ask", "continue" };

#define PICK(a) (a)[rand() % (int)(sizeof(a) / sizeof((a)[0]))]

static void random_rule(FILE *m, int table, int ntables)
{
	int v = rand() % 7;
	if (v >= 5 && table + 1 < ntables)
		fprintf(m, "    jump t%d", table + 1 + rand() % (ntables - table - 1));
	else
		fprintf(m, "    %s", VERDICTS[v % 5]);
	int k = rand() % 4;
	unsigned named = 0; /* a rule names each field once */
	for (int i = 0; i < k; i++) {
		int c = rand() % 12;
		if (named & (1u << c))
			continue;
		named |= 1u << c;
		switch (c) {
		case 0:
			fprintf(m, " %s", rand() % 2 ? "in" : "out");
			break;
		case 1:
			fprintf(m, " proto %s", PICK(PROTOS));
			break;
		case 2:
			fprintf(m, " %s", rand() % 2 ? "ip4" : "ip6");
			break;
		case 3:
			fprintf(m, " remote %s", PICK(ADDRS));
			break;
		case 4:
			fprintf(m, " remote port %s", PICK(PORTS));
			break;
		case 5:
			fprintf(m, " local %s port %s", PICK(ADDRS), PICK(PORTS));
			break;
		case 6:
			fprintf(m, " event %s", PICK(EVENTS));
			break;
		case 7:
			fprintf(m, " app %s", PICK(APPS));
			break;
		case 8:
			fprintf(m, " cgroup %s", PICK(CGROUPS));
			break;
		case 9:
			fprintf(m, " user %s", PICK(USERS));
			break;
		case 10:
			fprintf(m, " on %s", PICK(IFACES));
			break;
		case 11:
			fprintf(m, " icmp-type %s", PICK(ICMPS));
			break;
		}
	}
	if (rand() % 5 == 0)
		fprintf(m, " log");
	fprintf(m, "\n");
}

static char *random_policy(void)
{
	static const char *dflts[] = { "allow", "deny", "reject", "ask", "continue" };
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "addresses nets = { 198.51.100.128/25, 2001:db8:8000::/33 }\n"
		   "ports web = { 80, 443, 8080 }\n"
		   "apps apps = { /usr/bin/b, /usr/bin/c }\n"
		   "cgroups cg = { /a/b/c, /d }\n"
		   "interface wan = eth1\n");
	int ntables = 1 + rand() % 5;
	for (int t = 0; t < ntables; t++) {
		if (t == 0)
			fprintf(m, "table t0 default %s {\n", dflts[rand() % 4]);
		else if (rand() % 2)
			fprintf(m, "table t%d default %s {\n", t, dflts[rand() % 5]);
		else
			fprintf(m, "table t%d {\n", t);
		int nrules = rand() % 7;
		for (int r = 0; r < nrules; r++)
			random_rule(m, t, ntables);
		fprintf(m, "}\n");
	}
	/* root is t0 under its real name */
	fclose(m);
	char *root = strstr(text, "table t0 ");
	char *out = malloc(strlen(text) + 8);
	sprintf(out, "%.*stable root %s", (int)(root - text), text, root + strlen("table t0 "));
	free(text);
	/* jumps to t0 never happen (only forward), so the rename is safe */
	return out;
}

static const char *EV_ADDRS[] = { "192.0.2.5",	 "192.0.2.200", "198.51.100.7",	    "198.51.100.200",
				  "203.0.113.1", "2001:db8::1", "2001:db8:8000::1", "2001:db8::2" };

static struct event random_event(const struct policy *p)
{
	static const unsigned ports[] = { 22, 80, 443, 1000, 5000, 8080 };
	static const unsigned protos[] = { 6, 17, 1, 58 };
	static const unsigned users[] = { 0, 500, 1000, 65534 };
	static const unsigned icmps[] = { 8, 0, 3, 256 + 128, 256 + 129, 256 + 1 };
	struct event e;
	memset(&e, 0, sizeof(e));
	for (int f = 0; f < F_COUNT; f++) {
		e.has[f] = rand() % 4 != 0;
		switch (f) {
		case F_DIR:
			e.val[f] = rand() % 2;
			break;
		case F_EVENT:
			e.val[f] = rand() % EVENT_COUNT;
			break;
		case F_FAMILY:
			e.val[f] = rand() % 2 ? 4 : 6;
			break;
		case F_PROTO:
			e.val[f] = protos[rand() % 4];
			break;
		case F_LADDR:
		case F_RADDR:
			addr_parse(EV_ADDRS[rand() % 8], &e.val[f], NULL);
			break;
		case F_LPORT:
		case F_RPORT:
			e.val[f] = ports[rand() % 6];
			break;
		case F_ICMPTYPE:
			e.val[f] = icmps[rand() % 6];
			break;
		case F_IFACE:
			e.val[f] = rand() % (p->nifaces + 1);
			break;
		case F_APP:
			e.val[f] = rand() % (p->napps + 1);
			break;
		case F_CGROUP:
			e.val[f] = rand() % (p->ncgroups + 1);
			break;
		case F_USER:
			e.val[f] = users[rand() % 4];
			break;
		}
	}
	return e;
}

static void test_random_policies_agree(void **state)
{
	srand(20240501);
	int pairs = 0, decided_by_rule = 0, recorded_some = 0;
	int verdicts[VERDICT_COUNT] = { 0 };
	for (int iter = 0; iter < 400; iter++) {
		char *text = random_policy();
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
			struct event ev = random_event(&p);
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
