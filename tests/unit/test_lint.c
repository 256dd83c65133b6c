/* `rampart check` warnings: what a user is told about a legal but suspect policy. */
#include "judge.h"

struct linted {
	struct diag d;
	struct policy p;
};

static struct linted *lint_text(const char *text)
{
	struct linted *l = calloc(1, sizeof(*l));
	struct load_opts o = { 0 };
	diag_init(&l->d, NULL, NULL);
	if (policy_load_string(&l->p, "lint.rules", text, &o, &l->d) != 0 || l->d.nerrors)
		fail_msg("policy has errors:\n%s", text);
	lint_policy(&l->p, &l->d);
	return l;
}

static void free_linted(struct linted *l)
{
	diag_free(&l->d);
	policy_free(&l->p);
	free(l);
}

static int count_warnings(const struct linted *l, const char *needle)
{
	int n = 0;
	for (int i = 0; i < l->d.nmsgs; i++)
		if (l->d.msgs[i].level == DIAG_WARNING && strstr(l->d.msgs[i].text, needle))
			n++;
	return n;
}

static int warning_line(const struct linted *l, const char *needle)
{
	for (int i = 0; i < l->d.nmsgs; i++)
		if (l->d.msgs[i].level == DIAG_WARNING && strstr(l->d.msgs[i].text, needle))
			return l->d.msgs[i].loc.line;
	return -1;
}

static void test_clean_policy_has_no_warnings(void **state)
{
	struct linted *l = lint_text("addresses lan = { 192.0.2.0/24 }\n"
				     "table root default deny {\n"
				     "    allow in remote @lan\n"
				     "    allow out\n"
				     "}\n");
	assert_int_equal(l->d.nwarnings, 0);
	free_linted(l);
}

/* Jetico tutorial: a port-138 reject put after the allow is never reached. */
static void test_shadowed_by_one_rule(void **state)
{
	struct linted *l = lint_text("table root default deny {\n"
				     "    reject in app /usr/bin/firefox\n"
				     "    allow out app /usr/bin/firefox\n"
				     "    reject app /usr/bin/firefox remote port 138\n"
				     "}\n");
	/* both directions of the port-138 rule are covered: in by line 2, out by line 3 */
	assert_int_equal(count_warnings(l, "never match"), 1);
	assert_int_equal(warning_line(l, "never match"), 4);
	assert_true(diag_has(&l->d, DIAG_WARNING, "lines 2, 3"));
	free_linted(l);
}

static void test_shadowed_by_catch_all(void **state)
{
	struct linted *l = lint_text("table root default deny {\n"
				     "    deny log\n"
				     "    allow in proto tcp local port 22\n"
				     "}\n");
	assert_int_equal(warning_line(l, "never match"), 3);
	assert_true(diag_has(&l->d, DIAG_WARNING, "the rule at line 2 decides"));
	free_linted(l);
}

static void test_shadowed_by_port_union(void **state)
{
	struct linted *l = lint_text("table root default deny {\n"
				     "    allow in proto tcp local port 1-1000\n"
				     "    deny in proto tcp local port 1001-65535\n"
				     "    reject in proto tcp local port { 999-1002 }\n"
				     "}\n");
	assert_int_equal(warning_line(l, "never match"), 4);
	assert_true(diag_has(&l->d, DIAG_WARNING, "lines 2, 3"));
	free_linted(l);
}

static void test_not_shadowed(void **state)
{
	/* narrower earlier rules, continue and jump rules do not shadow */
	struct linted *l = lint_text("table t {\n"
				     "    allow proto tcp\n"
				     "}\n"
				     "table root default deny {\n"
				     "    allow in proto tcp local port 22 remote 192.0.2.1\n"
				     "    continue in proto tcp\n"
				     "    jump t\n"
				     "    allow in proto tcp local port 22\n"
				     "    deny in proto udp\n"
				     "    allow in proto { tcp, udp }\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "never match"), 0);
	free_linted(l);
}

static void test_shadow_needs_every_field(void **state)
{
	/* the earlier rule names a field the later one does not: not covered */
	struct linted *l = lint_text("table root default deny {\n"
				     "    allow in proto tcp app /usr/bin/sshd\n"
				     "    deny in proto tcp\n"
				     "    deny in proto tcp app /usr/bin/sshd local port 22\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "never match"), 1);
	assert_int_equal(warning_line(l, "never match"), 4);
	free_linted(l);
}

static void test_field_not_carried(void **state)
{
	struct linted *l = lint_text("table root default deny {\n"
				     "    deny event network remote 203.0.113.0/24\n"
				     "    allow event packet app /usr/bin/curl\n"
				     "    allow event listen remote port 80\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "do not carry"), 3);
	assert_true(diag_has(&l->d, DIAG_WARNING, "`remote`"));
	free_linted(l);
}

static void test_empty_condition(void **state)
{
	struct linted *l = lint_text("table root default deny {\n"
				     "    allow remote port ! 0-65535\n"
				     "}\n");
	assert_int_equal(warning_line(l, "matches nothing"), 2);
	free_linted(l);
}

static void test_source_port_hole(void **state)
{
	struct linted *l = lint_text("addresses ftp = { 198.51.100.21 }\n"
				     "table root default deny {\n"
				     "    allow in proto tcp remote port 20\n"
				     "    allow proto tcp remote port 20\n"
				     "    allow in proto tcp remote @ftp port 20\n"
				     "    allow in proto tcp remote port 20 local port 1024-65535\n"
				     "    allow out proto tcp remote port 20\n"
				     "    deny in proto tcp remote port 20\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "source) port"), 2);
	assert_int_equal(warning_line(l, "source) port"), 3);
	/* port 20 is active FTP's: the FTP helper makes the rule unnecessary */
	assert_int_equal(count_warnings(l, "the FTP helper admits the data connections"), 2);
	free_linted(l);
	l = lint_text("option ftp-helper off\n"
		      "table root default deny {\n"
		      "    allow in proto tcp remote port 20\n"
		      "    allow in proto tcp remote port 8080\n"
		      "}\n");
	assert_int_equal(count_warnings(l, "source) port"), 2);
	assert_int_equal(count_warnings(l, "option ftp-helper on"), 1);
	free_linted(l);
}

static void test_unused_set(void **state)
{
	struct linted *l = lint_text("addresses used = { 192.0.2.1 }\n"
				     "addresses spare = { 192.0.2.2 }\n"
				     "ports web = { 80, 443 }\n"
				     "table root default deny {\n"
				     "    allow remote @used\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "never used"), 2);
	assert_true(diag_has(&l->d, DIAG_WARNING, "set `spare` is never used"));
	assert_true(diag_has(&l->d, DIAG_WARNING, "set `web` is never used"));
	assert_int_equal(warning_line(l, "`spare`"), 2);
	free_linted(l);
}

static void test_set_used_through_set(void **state)
{
	struct linted *l = lint_text("addresses a = { 192.0.2.1 }\n"
				     "addresses b = { @a, 192.0.2.2 }\n"
				     "table root default deny {\n"
				     "    allow remote @b\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "never used"), 0);
	free_linted(l);
}

static void test_table_never_jumped(void **state)
{
	struct linted *l = lint_text("table orphan {\n"
				     "    allow\n"
				     "}\n"
				     "table used {\n"
				     "    allow\n"
				     "}\n"
				     "table root default deny {\n"
				     "    jump used proto tcp\n"
				     "}\n");
	assert_int_equal(count_warnings(l, "never jumped to"), 1);
	assert_true(diag_has(&l->d, DIAG_WARNING, "table `orphan` is never jumped to"));
	assert_int_equal(warning_line(l, "never jumped to"), 1);
	free_linted(l);
}

static void test_root_default_implicit(void **state)
{
	struct linted *l = lint_text("table root {\n    allow out\n}\n");
	assert_int_equal(count_warnings(l, "no explicit default"), 1);
	assert_int_equal(warning_line(l, "no explicit default"), 1);
	free_linted(l);

	l = lint_text("table root default deny {\n    allow out\n}\n");
	assert_int_equal(count_warnings(l, "no explicit default"), 0);
	free_linted(l);
}

static void test_no_root_table(void **state)
{
	struct linted *l = lint_text("table other {\n    allow\n}\n");
	assert_int_equal(count_warnings(l, "no table `root`"), 1);
	/* and, with no root, everything is denied */
	assert_judged(judge(&l->p, "out proto tcp remote 192.0.2.1 port 80"), VERDICT_DENY, "root", 0);
	free_linted(l);
}

static void test_warning_format(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct policy p;
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, out, NULL);
	assert_int_equal(policy_load_string(&p, "fmt.rules",
					    "table root default deny {\n"
					    "    deny\n"
					    "    allow out\n"
					    "}\n",
					    &o, &d),
			 0);
	lint_policy(&p, &d);
	fclose(out);
	assert_non_null(strstr(buf, "fmt.rules:3:5: warning: rule can never match"));
	assert_non_null(strstr(buf, "\n      allow out\n"));
	assert_non_null(strstr(buf, "\n      ^\n"));
	diag_free(&d);
	policy_free(&p);
	free(buf);
}

/* ---------- the shadowing analysis against its definition ---------- */

/* The definition (SPEC: a rule never matches when one earlier deciding
 * rule covers it, or earlier deciding rules that agree with it on every
 * field but one cover that field together), pair by pair: what lint's
 * index must find, with the same covering lines. */
static bool ref_terminal(const struct rule *e)
{
	return e->verdict <= VERDICT_ASK;
}

static bool ref_covers(const struct rule *e, const struct rule *r, int skip)
{
	for (int f = 0; f < F_COUNT; f++)
		if (f != skip && e->cond[f].used &&
		    (!r->cond[f].used || !vset_subset(&r->cond[f].set, &e->cond[f].set)))
			return false;
	return true;
}

static bool ref_shadowed(const struct policy *p, const struct table *t, int pos, char *lines)
{
	const struct rule *r = &p->rules[t->rules[pos]];
	lines[0] = 0;
	for (int i = 0; i < pos; i++) {
		const struct rule *e = &p->rules[t->rules[i]];
		if (ref_terminal(e) && ref_covers(e, r, -1)) {
			sprintf(lines, "the rule at line %d ", e->loc.line);
			return true;
		}
	}
	for (int g = 0; g < F_COUNT; g++) {
		struct vset want = { 0 }, acc = { 0 }, tmp;
		if (r->cond[g].used)
			vset_copy(&want, &r->cond[g].set);
		else if (g == F_FAMILY)
			vset_add(&want, 4, 4), vset_add(&want, 6, 6);
		else if (g == F_DIR || g == F_EVENT || g == F_PROTO)
			vset_add(&want, 0, field_max(g));
		else
			continue;
		int n = 0;
		char buf[512] = "";
		for (int i = 0; i < pos; i++) {
			const struct rule *e = &p->rules[t->rules[i]];
			if (!ref_terminal(e) || !e->cond[g].used || !ref_covers(e, r, g))
				continue;
			struct vset part;
			vset_intersect(&part, &e->cond[g].set, &want);
			if (!vset_empty(&part)) {
				vset_union(&tmp, &acc, &part);
				vset_free(&acc);
				acc = tmp;
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%d", n++ ? ", " : "",
					 e->loc.line);
			}
			vset_free(&part);
		}
		bool covered = !vset_empty(&acc) && vset_subset(&want, &acc);
		vset_free(&acc);
		vset_free(&want);
		if (covered) {
			sprintf(lines, n == 1 ? "the rule at line %s " : "the rules at lines %s ", buf);
			return true;
		}
	}
	return false;
}

static const char *LINT_ADDRS[] = { "192.0.2.0/24",    "192.0.2.0/25",	"192.0.2.128/25", "192.0.2.7",
				    "198.51.100.0/24", "2001:db8::/32", "2001:db8::/33",  "2001:db8:8000::/33",
				    "0.0.0.0/0",       "::/0" };
static const char *LINT_PORTS[] = { "22", "80", "1-1000", "1001-65535", "0-65535", "80-443", "{ 22, 80 }", "444-1000" };

/* Random tables whose rules split and nest their values, so that unions
 * (both directions, port ranges split, prefix halves) shadow too. */
static void test_shadowing_matches_definition(void **state)
{
	srand(2024);
	int shadowed = 0, unions = 0;
	for (int iter = 0; iter < 300; iter++) {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		fprintf(m, "table root default deny {\n");
		int n = 2 + rand() % 25;
		for (int i = 0; i < n; i++) {
			static const char *const verdicts[] = { "allow", "deny", "reject", "continue" };
			fprintf(m, "    %s", verdicts[rand() % 4]);
			if (rand() % 3)
				fprintf(m, rand() % 2 ? " in" : " out");
			if (rand() % 3)
				fprintf(m, " proto %s", rand() % 2 ? "tcp" : "udp");
			if (rand() % 6 == 0)
				fprintf(m, rand() % 2 ? " ip4" : " ip6");
			if (rand() % 2)
				fprintf(m, " remote %s", LINT_ADDRS[rand() % 10]);
			if (rand() % 2)
				fprintf(m, " local port %s", LINT_PORTS[rand() % 8]);
			if (rand() % 8 == 0)
				fprintf(m, " event %s", rand() % 2 ? "packet" : "connect");
			fprintf(m, "\n");
		}
		fprintf(m, "}\n");
		fclose(m);
		struct linted *l = lint_text(text);
		const struct table *t = &l->p.tables[l->p.root];
		for (int pos = 0; pos < t->nrules; pos++) {
			char lines[600];
			const struct rule *r = &l->p.rules[t->rules[pos]];
			bool want = ref_shadowed(&l->p, t, pos, lines);
			bool got = false;
			for (int i = 0; i < l->d.nmsgs; i++)
				if (l->d.msgs[i].loc.line == r->loc.line && strstr(l->d.msgs[i].text, "never match") &&
				    !strstr(l->d.msgs[i].text, "condition") && !strstr(l->d.msgs[i].text, "events")) {
					got = true;
					if (!strstr(l->d.msgs[i].text, lines))
						fail_msg("line %d: lint says \"%s\", the definition \"%s\"\n%s",
							 r->loc.line, l->d.msgs[i].text, lines, text);
				}
			if (want != got)
				fail_msg("line %d: lint %s, the definition %s\n%s", r->loc.line,
					 got ? "shadowed" : "not", want ? "shadowed" : "not", text);
			shadowed += want;
			unions += want && strstr(lines, "lines") != NULL;
		}
		free_linted(l);
		free(text);
	}
	assert_true(shadowed > 300 && unions > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadowing_matches_definition),
		cmocka_unit_test(test_clean_policy_has_no_warnings),
		cmocka_unit_test(test_shadowed_by_one_rule),
		cmocka_unit_test(test_shadowed_by_catch_all),
		cmocka_unit_test(test_shadowed_by_port_union),
		cmocka_unit_test(test_not_shadowed),
		cmocka_unit_test(test_shadow_needs_every_field),
		cmocka_unit_test(test_field_not_carried),
		cmocka_unit_test(test_empty_condition),
		cmocka_unit_test(test_source_port_hole),
		cmocka_unit_test(test_unused_set),
		cmocka_unit_test(test_set_used_through_set),
		cmocka_unit_test(test_table_never_jumped),
		cmocka_unit_test(test_root_default_implicit),
		cmocka_unit_test(test_no_root_table),
		cmocka_unit_test(test_warning_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
