/* The rule an "always" answer learns and where it goes (policy/learn.c):
 * the rewritten text is still a valid policy, with the learned rule just
 * before the ask rule, deciding the event that was asked about. */
#include "judge.h"
#include "learn.h"

static char *learned(const char *text, int line, const char *rule)
{
	char *out = learn_insert_before_line(text, line, "learned 2026-01-01 from question 1", rule);
	assert_non_null(out);
	return out;
}

static void assert_valid(const char *text)
{
	struct policy p;
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, NULL, NULL);
	if (policy_load_string(&p, "learn.rules", text, &o, &d) != 0 || d.nerrors)
		fail_msg("not a valid policy:\n%s", text);
	lint_policy(&p, &d);
	if (d.nwarnings)
		fail_msg("%d warnings for:\n%s", d.nwarnings, text);
	diag_free(&d);
	policy_free(&p);
}

static void test_rule_text_per_scope(void **state)
{
	char b[256];
	struct learn_event e = { .dir = DIR_OUT,
				 .event = EVENT_CONNECT,
				 .proto = 6,
				 .app = "/usr/bin/curl",
				 .remote = "198.51.100.2",
				 .port = 8080,
				 .verdict = "allow",
				 .scope = LEARN_HOST_PORT };
	assert_int_equal(learn_rule_text(&e, b, sizeof(b)), 0);
	assert_string_equal(b, "allow out app /usr/bin/curl proto tcp remote 198.51.100.2 port 8080");
	e.scope = LEARN_PORT;
	assert_int_equal(learn_rule_text(&e, b, sizeof(b)), 0);
	assert_string_equal(b, "allow out app /usr/bin/curl proto tcp remote port 8080");
	e.scope = LEARN_APP;
	e.verdict = "jump web";
	assert_int_equal(learn_rule_text(&e, b, sizeof(b)), 0);
	assert_string_equal(b, "jump web out app /usr/bin/curl");
	/* inbound: the service port is the local one */
	struct learn_event in = { .dir = DIR_IN,
				  .event = EVENT_ACCEPT,
				  .proto = 6,
				  .remote = "2001:db8::2",
				  .port = 22,
				  .verdict = "deny",
				  .scope = LEARN_HOST_PORT };
	assert_int_equal(learn_rule_text(&in, b, sizeof(b)), 0);
	assert_string_equal(b, "deny in proto tcp remote 2001:db8::2 local port 22");
	/* a scope the question cannot fill */
	in.scope = LEARN_APP;
	assert_int_equal(learn_rule_text(&in, b, sizeof(b)), -EINVAL);
	in.scope = LEARN_PORT;
	in.port = -1;
	assert_int_equal(learn_rule_text(&in, b, sizeof(b)), -EINVAL);
	assert_int_equal(learn_rule_text(&e, b, 8), -ENOSPC);
	assert_int_equal(learn_scope_parse("port"), LEARN_PORT);
	assert_int_equal(learn_scope_parse("anywhere"), -1);
}

static const char POLICY[] = "table root default deny {\n"
			     "\tallow event network\n"
			     "\task out proto tcp\n"
			     "}\n";

static void test_insert_before_ask_rule(void **state)
{
	char *out = learned(POLICY, 3, "allow out proto tcp remote port 8080");
	assert_string_equal(out, "table root default deny {\n"
				 "\tallow event network\n"
				 "\t# learned 2026-01-01 from question 1\n"
				 "\tallow out proto tcp remote port 8080\n"
				 "\task out proto tcp\n"
				 "}\n");
	assert_valid(out);
	/* the learned rule decides the event that was asked about */
	struct policy *p = load_policy_text_ok(out);
	assert_judged(judge(p, "out proto tcp remote 198.51.100.2 port 8080"), VERDICT_ALLOW, "root", 4);
	assert_judged(judge(p, "out proto tcp remote 198.51.100.2 port 8081"), VERDICT_ASK, "root", 5);
	free_policy(p);
	free(out);
	assert_null(learn_insert_before_line(POLICY, 9, "c", "allow"));
	assert_null(learn_insert_before_line(POLICY, 0, "c", "allow"));
}

static void test_insert_in_table_with_default_ask(void **state)
{
	const char *text = "table ask-user default ask {\n"
			   "}\n"
			   "table root default deny {\n"
			   "    jump ask-user\n"
			   "}\n";
	char *out = learn_insert_in_table(text, "ask-user", "learned", "allow out proto udp remote port 53");
	assert_non_null(out);
	assert_string_equal(out, "table ask-user default ask {\n"
				 "    # learned\n"
				 "    allow out proto udp remote port 53\n"
				 "}\n"
				 "table root default deny {\n"
				 "    jump ask-user\n"
				 "}\n");
	assert_valid(out);
	free(out);
	/* `{ }` on the table's line; a table named like a prefix and one in a comment are not it */
	text = "# table ask { }\ntable ask-more default deny {\n}\n  table ask default ask { }\n"
	       "table root default deny {\n  jump ask-more\n  jump ask\n}\n";
	out = learn_insert_in_table(text, "ask", "learned", "allow in proto tcp local port 22");
	assert_non_null(out);
	assert_string_equal(out, "# table ask { }\ntable ask-more default deny {\n}\n  table ask default ask { \n"
				 "      # learned\n      allow in proto tcp local port 22\n  }\n"
				 "table root default deny {\n  jump ask-more\n  jump ask\n}\n");
	assert_valid(out);
	free(out);
	assert_null(learn_insert_in_table(text, "nope", "c", "allow"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_text_per_scope),
		cmocka_unit_test(test_insert_before_ask_rule),
		cmocka_unit_test(test_insert_in_table_with_default_ask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
