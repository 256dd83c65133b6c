/* The policy parser: every declaration and condition form, includes, and
 * error messages with their exact positions (all errors of a file). */
#include "testutil.h"

static const struct ast_rule *only_rule(const struct parsed *ps)
{
	assert_int_equal(ps->ast.ntables, 1);
	assert_int_equal(ps->ast.tables[0].nrules, 1);
	return &ps->ast.tables[0].rules[0];
}

/* Parses "table t {\n<rule>\n}\n" and expects no error. */
static struct parsed *parse_rule_ok(const char *rule)
{
	char *text;
	assert_true(asprintf(&text, "table t {\n%s\n}\n", rule) > 0);
	struct parsed *ps = parse_text(text);
	free(text);
	if (ps->out.d.nerrors)
		fail_msg("unexpected errors for `%s`:\n%s", rule, captured_text(&ps->out));
	assert_int_equal(ps->rc, 0);
	return ps;
}

/* Parses "table t {\n<rule>\n}\n" and expects exactly one error. */
static struct parsed *parse_rule_bad(const char *rule)
{
	char *text;
	assert_true(asprintf(&text, "table t {\n%s\n}\n", rule) > 0);
	struct parsed *ps = parse_text(text);
	free(text);
	if (ps->out.d.nerrors != 1)
		fail_msg("expected 1 error for `%s`, got %d:\n%s", rule, ps->out.d.nerrors, captured_text(&ps->out));
	assert_int_equal(ps->rc, -1);
	return ps;
}

static void assert_cond(const struct ast_rule *r, enum field f, const char *first_item, int n)
{
	const struct ast_cond *c = find_ast_cond(r, f);
	if (!c)
		fail_msg("no condition on %s", field_name(f));
	assert_int_equal(c->list.n, n);
	assert_string_equal(c->list.items[0].text, first_item);
}

/* ---------- declarations ---------- */

static void test_set_declarations(void **state)
{
	struct parsed *ps = parse_text("addresses trusted = { 192.0.2.0/24, 2001:db8::/32, 198.51.100.7 }\n"
				       "ports     netbios = { 135-139, 445 }\n"
				       "apps      browsers = { /usr/bin/firefox, @other }\n"
				       "cgroups   web = /system.slice/nginx.service\n");
	assert_int_equal(ps->rc, 0);
	assert_int_equal(ps->ast.nsets, 4);
	const struct ast_set *s = &ps->ast.sets[0];
	assert_int_equal(s->kind, SET_ADDRESSES);
	assert_string_equal(s->name, "trusted");
	assert_true(s->list.braced);
	assert_false(s->list.negated);
	assert_int_equal(s->list.n, 3);
	assert_string_equal(s->list.items[1].text, "2001:db8::/32");
	assert_int_equal(s->list.items[1].loc.line, 1);
	assert_int_equal(s->list.items[1].loc.col, 37);
	assert_int_equal(ps->ast.sets[1].kind, SET_PORTS);
	assert_string_equal(ps->ast.sets[1].list.items[0].text, "135-139");
	assert_int_equal(ps->ast.sets[2].kind, SET_APPS);
	assert_int_equal(ps->ast.sets[2].list.items[1].kind, AST_SETREF);
	assert_string_equal(ps->ast.sets[2].list.items[1].text, "other");
	assert_int_equal(ps->ast.sets[3].kind, SET_CGROUPS);
	assert_false(ps->ast.sets[3].list.braced);
	assert_int_equal(ps->ast.sets[3].list.n, 1);
	assert_int_equal(ps->ast.sets[3].loc.line, 4);
	parsed_free(ps);
}

static void test_multiline_braces_and_trailing_comma(void **state)
{
	struct parsed *ps = parse_text("addresses a = {\n"
				       "    192.0.2.1,   # first\n"
				       "\n"
				       "    192.0.2.2,\n"
				       "}\n"
				       "ports p = { 1\n"
				       "          , 2 }\n");
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_int_equal(ps->ast.nsets, 2);
	assert_int_equal(ps->ast.sets[0].list.n, 2);
	assert_int_equal(ps->ast.sets[0].list.items[1].loc.line, 4);
	assert_int_equal(ps->ast.sets[0].list.items[1].loc.col, 5);
	assert_int_equal(ps->ast.sets[1].list.n, 2);
	parsed_free(ps);
}

static void test_negated_sets_and_empty_set(void **state)
{
	struct parsed *ps = parse_text("addresses notlan = ! { 192.0.2.0/24 }\n"
				       "ports high = !1-1023\n"
				       "addresses later = { }\n");
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_true(ps->ast.sets[0].list.negated);
	assert_true(ps->ast.sets[1].list.negated);
	assert_string_equal(ps->ast.sets[1].list.items[0].text, "1-1023");
	assert_int_equal(ps->ast.sets[2].list.n, 0);
	parsed_free(ps);
}

static void test_interface_and_option(void **state)
{
	struct parsed *ps = parse_text("interface wan = eth0\n"
				       "option boot-timeout 300\n"
				       "option ask-default \"deny\"\n");
	assert_int_equal(ps->rc, 0);
	assert_int_equal(ps->ast.nifaces, 1);
	assert_string_equal(ps->ast.ifaces[0].name, "wan");
	assert_string_equal(ps->ast.ifaces[0].ifname, "eth0");
	assert_int_equal(ps->ast.noptions, 2);
	assert_string_equal(ps->ast.options[0].name, "boot-timeout");
	assert_string_equal(ps->ast.options[0].value, "300");
	assert_int_equal(ps->ast.options[0].value_loc.col, 21);
	assert_string_equal(ps->ast.options[1].value, "deny");
	assert_int_equal(ps->ast.options[1].loc.line, 3);
	parsed_free(ps);
}

static void test_tables_and_defaults(void **state)
{
	struct parsed *ps = parse_text("table root default deny {\n"
				       "    allow in\n"
				       "}\n"
				       "table empty {}\n"
				       "table ask-user default ask {\n"
				       "}\n");
	assert_int_equal(ps->rc, 0);
	assert_int_equal(ps->ast.ntables, 3);
	const struct ast_table *t = find_ast_table(&ps->ast, "root");
	assert_non_null(t);
	assert_true(t->has_default);
	assert_int_equal(t->dflt, VERDICT_DENY);
	assert_int_equal(t->dflt_loc.col, 20);
	assert_int_equal(t->nrules, 1);
	assert_int_equal(t->rules[0].loc.line, 2);
	assert_int_equal(t->rules[0].loc.col, 5);
	t = find_ast_table(&ps->ast, "empty");
	assert_false(t->has_default);
	assert_int_equal(t->nrules, 0);
	assert_int_equal(find_ast_table(&ps->ast, "ask-user")->dflt, VERDICT_ASK);
	parsed_free(ps);
}

static void test_spec_example_parses(void **state)
{
	struct parsed *ps = parse_text("addresses trusted = { 192.0.2.0/24 }\n"
				       "addresses blocked = { 203.0.113.0/24 }\n"
				       "apps browsers     = { /usr/bin/curl, /usr/bin/wget }\n"
				       "\n"
				       "table web-browser {\n"
				       "    allow event network\n"
				       "    allow out proto tcp remote port { 80, 443, 8000, 8080 }\n"
				       "    allow out proto udp remote port 53\n"
				       "    reject in\n"
				       "}\n"
				       "\n"
				       "table ask-user default ask {\n"
				       "}\n"
				       "\n"
				       "table root default deny {\n"
				       "    allow on lo\n"
				       "    deny remote @blocked log\n"
				       "    allow remote @trusted\n"
				       "    deny in proto { tcp, udp } local port { 135-139, 445 } log\n"
				       "    jump web-browser app @browsers\n"
				       "    jump ask-user\n"
				       "}\n");
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_int_equal(ps->ast.nsets, 3);
	assert_int_equal(ps->ast.ntables, 3);
	const struct ast_table *root = find_ast_table(&ps->ast, "root");
	assert_int_equal(root->nrules, 6);
	assert_int_equal(root->rules[4].verdict, VERDICT_JUMP);
	assert_string_equal(root->rules[4].jump_target, "web-browser");
	assert_int_equal(root->rules[4].target_loc.col, 10);
	assert_cond(&root->rules[4], F_APP, "browsers", 1);
	assert_true(root->rules[1].log);
	assert_int_equal(find_ast_table(&ps->ast, "web-browser")->rules[1].nconds, 3);
	parsed_free(ps);
}

/* ---------- rules and conditions ---------- */

static void test_every_verdict(void **state)
{
	const char *v[] = { "allow", "deny", "reject", "ask", "continue" };
	for (int i = 0; i < 5; i++) {
		struct parsed *ps = parse_rule_ok(v[i]);
		const struct ast_rule *r = only_rule(ps);
		assert_int_equal(r->verdict, i);
		assert_int_equal(r->nconds, 0);
		assert_null(r->jump_target);
		parsed_free(ps);
	}
}

static void test_direction_conditions(void **state)
{
	struct parsed *ps = parse_rule_ok("allow in proto tcp");
	const struct ast_rule *r = only_rule(ps);
	assert_cond(r, F_DIR, "in", 1);
	assert_int_equal(find_ast_cond(r, F_DIR)->loc.col, 7);
	parsed_free(ps);
	/* also written among the conditions */
	ps = parse_rule_ok("deny proto tcp out");
	assert_cond(only_rule(ps), F_DIR, "out", 1);
	parsed_free(ps);
}

static void test_proto_condition(void **state)
{
	struct parsed *ps = parse_rule_ok("allow proto { tcp, udp }");
	const struct ast_cond *c = find_ast_cond(only_rule(ps), F_PROTO);
	assert_non_null(c);
	assert_true(c->list.braced);
	assert_int_equal(c->list.n, 2);
	assert_string_equal(c->list.items[1].text, "udp");
	assert_int_equal(c->list.items[1].loc.col, 20);
	assert_int_equal(c->loc.col, 7);
	parsed_free(ps);
}

static void test_family_conditions(void **state)
{
	struct parsed *ps = parse_rule_ok("allow ip4");
	assert_cond(only_rule(ps), F_FAMILY, "4", 1);
	parsed_free(ps);
	ps = parse_rule_ok("allow ip6");
	assert_cond(only_rule(ps), F_FAMILY, "6", 1);
	parsed_free(ps);
}

static void test_local_and_remote_with_ports(void **state)
{
	struct parsed *ps = parse_rule_ok("allow local 192.0.2.1 port 80 remote ! @lan port { 1024-65535 }");
	const struct ast_rule *r = only_rule(ps);
	assert_int_equal(r->nconds, 4);
	assert_cond(r, F_LADDR, "192.0.2.1", 1);
	assert_cond(r, F_LPORT, "80", 1);
	assert_int_equal(find_ast_cond(r, F_LPORT)->loc.col, 23); /* the `port` keyword */
	const struct ast_cond *ra = find_ast_cond(r, F_RADDR);
	assert_true(ra->list.negated);
	assert_int_equal(ra->list.items[0].kind, AST_SETREF);
	assert_string_equal(ra->list.items[0].text, "lan");
	assert_int_equal(ra->list.loc.col, 38);
	assert_cond(r, F_RPORT, "1024-65535", 1);
	parsed_free(ps);
}

static void test_port_only_endpoints(void **state)
{
	struct parsed *ps = parse_rule_ok("allow local port 22 remote port ! { 0-1023 }");
	const struct ast_rule *r = only_rule(ps);
	assert_int_equal(r->nconds, 2);
	assert_null(find_ast_cond(r, F_LADDR));
	assert_null(find_ast_cond(r, F_RADDR));
	assert_cond(r, F_LPORT, "22", 1);
	assert_true(find_ast_cond(r, F_RPORT)->list.negated);
	parsed_free(ps);
}

static void test_any_is_kept_as_a_literal(void **state)
{
	struct parsed *ps = parse_rule_ok("allow remote any port 80 proto any");
	const struct ast_rule *r = only_rule(ps);
	assert_cond(r, F_RADDR, "any", 1);
	assert_cond(r, F_PROTO, "any", 1);
	assert_cond(r, F_RPORT, "80", 1);
	parsed_free(ps);
}

static void test_other_conditions(void **state)
{
	struct parsed *ps = parse_rule_ok("allow on wan icmp-type { echo-request, 3 } app /usr/bin/curl "
					  "cgroup /system.slice/x.service user www-data "
					  "event { connect, send }");
	const struct ast_rule *r = only_rule(ps);
	assert_int_equal(r->nconds, 6);
	assert_cond(r, F_IFACE, "wan", 1);
	assert_cond(r, F_ICMPTYPE, "echo-request", 2);
	assert_cond(r, F_APP, "/usr/bin/curl", 1);
	assert_cond(r, F_CGROUP, "/system.slice/x.service", 1);
	assert_cond(r, F_USER, "www-data", 1);
	assert_cond(r, F_EVENT, "connect", 2);
	parsed_free(ps);
}

static void test_options_log_and_comment(void **state)
{
	struct parsed *ps = parse_rule_ok("deny in log comment \"stealth \\\"drop\\\"\"");
	const struct ast_rule *r = only_rule(ps);
	assert_true(r->log);
	assert_string_equal(r->comment, "stealth \"drop\"");
	parsed_free(ps);
	ps = parse_rule_ok("allow");
	assert_false(only_rule(ps)->log);
	assert_null(only_rule(ps)->comment);
	parsed_free(ps);
}

static void test_jump_rule(void **state)
{
	struct parsed *ps = parse_rule_ok("jump web-browser out app @browsers log");
	const struct ast_rule *r = only_rule(ps);
	assert_int_equal(r->verdict, VERDICT_JUMP);
	assert_string_equal(r->jump_target, "web-browser");
	assert_int_equal(r->target_loc.line, 2);
	assert_int_equal(r->target_loc.col, 6);
	assert_cond(r, F_DIR, "out", 1);
	assert_true(r->log);
	parsed_free(ps);
}

static void test_one_line_table(void **state)
{
	struct parsed *ps = parse_text("table t { allow in }\n");
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_int_equal(ps->ast.tables[0].nrules, 1);
	parsed_free(ps);
}

static void test_rule_list_spanning_lines(void **state)
{
	struct parsed *ps = parse_rule_ok("allow remote port {\n   80,\n   443,\n} log\nallow in");
	assert_int_equal(ps->ast.tables[0].nrules, 2);
	const struct ast_rule *r = &ps->ast.tables[0].rules[0];
	assert_cond(r, F_RPORT, "80", 2);
	assert_true(r->log);
	assert_int_equal(ps->ast.tables[0].rules[1].loc.line, 6);
	parsed_free(ps);
}

/* ---------- errors: one at a time, with exact positions ---------- */

static void test_error_unknown_condition_suggests(void **state)
{
	struct parsed *ps = parse_rule_bad("    allow in remot 192.0.2.1");
	assert_error_at(&ps->out.d, "unknown condition `remot`; did you mean `remote`?", 2, 14);
	assert_int_equal(ps->ast.tables[0].nrules, 0); /* a bad rule is dropped */
	parsed_free(ps);
	ps = parse_rule_bad("allow prot tcp");
	assert_error_at(&ps->out.d, "did you mean `proto`?", 2, 7);
	parsed_free(ps);
	ps = parse_rule_bad("allow frobnicate");
	assert_error_at(&ps->out.d, "unknown condition `frobnicate`; expected one of", 2, 7);
	parsed_free(ps);
}

static void test_error_field_given_twice(void **state)
{
	struct parsed *ps = parse_rule_bad("allow remote port 80 remote port 443");
	assert_error_at(&ps->out.d, "`remote port` given twice in one rule; combine the values in { }", 2, 29);
	parsed_free(ps);
	ps = parse_rule_bad("allow in proto tcp out");
	assert_error_at(&ps->out.d, "direction given twice", 2, 20);
	parsed_free(ps);
	ps = parse_rule_bad("allow ip4 ip6");
	assert_error_at(&ps->out.d, "`ip4`/`ip6` given twice", 2, 11);
	parsed_free(ps);
}

static void test_error_negation_only_for_addresses_and_ports(void **state)
{
	struct parsed *ps = parse_rule_bad("deny proto ! tcp");
	assert_error_at(&ps->out.d, "negation is only allowed for addresses and ports", 2, 12);
	parsed_free(ps);
	ps = parse_rule_bad("deny ! remote 192.0.2.1");
	assert_error_at(&ps->out.d, "negation is only allowed for addresses and ports", 2, 6);
	parsed_free(ps);
	ps = parse_text("apps a = ! /usr/bin/x\n");
	assert_error_at(&ps->out.d, "negation is only allowed for addresses and ports", 1, 10);
	parsed_free(ps);
	ps = parse_rule_bad("deny remote { !192.0.2.1 }");
	assert_error_at(&ps->out.d, "negate the whole list", 2, 15);
	parsed_free(ps);
	ps = parse_rule_bad("deny remote ! ! 192.0.2.1");
	assert_error_at(&ps->out.d, "double negation", 2, 15);
	parsed_free(ps);
}

static void test_error_verdicts(void **state)
{
	struct parsed *ps = parse_rule_bad("  alow in");
	assert_error_at(&ps->out.d, "unknown verdict `alow`; did you mean `allow`?", 2, 3);
	parsed_free(ps);
	ps = parse_rule_bad("xyzzy in");
	assert_error_at(&ps->out.d, "expected a verdict (allow, deny, reject, ask, continue, jump TABLE), got `xyzzy`",
			2, 1);
	parsed_free(ps);
	ps = parse_rule_bad("remote 192.0.2.1");
	assert_error_at(&ps->out.d, "a rule starts with its verdict", 2, 1);
	parsed_free(ps);
	ps = parse_rule_bad("allow in deny");
	assert_error_at(&ps->out.d, "a rule has one verdict", 2, 10);
	parsed_free(ps);
}

static void test_error_jump_needs_table(void **state)
{
	struct parsed *ps = parse_rule_bad("jump");
	assert_error_at(&ps->out.d, "`jump` needs a table name", 2, 5);
	parsed_free(ps);
	ps = parse_rule_bad("jump in");
	assert_error_at(&ps->out.d, "`jump` needs a table name", 2, 6);
	parsed_free(ps);
	ps = parse_rule_bad("jump 9lives");
	assert_error_at(&ps->out.d, "invalid table name `9lives`", 2, 6);
	parsed_free(ps);
}

static void test_error_comment_needs_string(void **state)
{
	struct parsed *ps = parse_rule_bad("allow comment why");
	assert_error_at(&ps->out.d, "`comment` needs a quoted string", 2, 15);
	parsed_free(ps);
	ps = parse_rule_bad("allow comment \"a\" comment \"b\"");
	assert_error_at(&ps->out.d, "`comment` given twice", 2, 19);
	parsed_free(ps);
}

static void test_log_twice_is_a_warning(void **state)
{
	struct parsed *ps = parse_rule_ok("deny log log");
	assert_true(only_rule(ps)->log);
	assert_int_equal(ps->out.d.nwarnings, 1);
	assert_true(diag_has(&ps->out.d, DIAG_WARNING, "`log` given twice"));
	parsed_free(ps);
}

static void test_error_missing_values(void **state)
{
	struct parsed *ps = parse_rule_bad("allow remote");
	assert_error_at(&ps->out.d, "`remote` needs a value", 2, 13);
	parsed_free(ps);
	ps = parse_rule_bad("allow proto log");
	assert_error_at(&ps->out.d, "`proto` needs a value before `log`", 2, 13);
	parsed_free(ps);
	ps = parse_rule_bad("allow local port");
	assert_error_at(&ps->out.d, "`local port` needs a value", 2, 17);
	parsed_free(ps);
	ps = parse_rule_bad("allow port 80");
	assert_error_at(&ps->out.d, "`port` must follow `local` or `remote`", 2, 7);
	parsed_free(ps);
	ps = parse_rule_bad("allow proto { }");
	assert_error_at(&ps->out.d, "empty list `{ }` after `proto` matches nothing", 2, 13);
	parsed_free(ps);
	ps = parse_rule_bad("allow user");
	assert_error_at(&ps->out.d, "`user` needs a value", 2, 11);
	parsed_free(ps);
}

static void test_error_lists(void **state)
{
	struct parsed *ps = parse_rule_bad("allow remote port { 80 443 }");
	assert_error_at(&ps->out.d, "expected `,` between list items", 2, 24);
	parsed_free(ps);
	ps = parse_rule_bad("allow remote port { 80,, 443 }");
	assert_error_at(&ps->out.d, "a value is missing before this `,`", 2, 24);
	parsed_free(ps);
	ps = parse_rule_bad("allow remote { a, { b } }");
	assert_error_at(&ps->out.d, "lists cannot be nested", 2, 19);
	parsed_free(ps);
	ps = parse_rule_bad("allow remote { a = b }");
	assert_error_at(&ps->out.d, "unexpected `=` in a list", 2, 18);
	parsed_free(ps);
	ps = parse_rule_bad("allow remote @9x");
	assert_error_at(&ps->out.d, "invalid set name `@9x`", 2, 14);
	parsed_free(ps);
}

static void test_error_unterminated_list(void **state)
{
	struct parsed *ps = parse_text("table t {\n"
				       "    allow remote port { 80, 443\n"
				       "    deny in\n"
				       "}\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "unterminated `{` (opened at 2:23)", 3, 5);
	assert_int_equal(ps->ast.tables[0].nrules, 1); /* `deny in` survives */
	assert_int_equal(ps->ast.tables[0].rules[0].verdict, VERDICT_DENY);
	parsed_free(ps);
	ps = parse_text("addresses a = { 1,\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "unterminated `{`", 1, 15);
	parsed_free(ps);
}

static void test_error_statements(void **state)
{
	struct parsed *ps = parse_text("allow in\n");
	assert_error_at(&ps->out.d, "rules must be inside a table", 1, 1);
	parsed_free(ps);
	ps = parse_text("tabel root {\n");
	assert_error_at(&ps->out.d, "unknown statement `tabel`; did you mean `table`?", 1, 1);
	parsed_free(ps);
	ps = parse_text("firewall on\n");
	assert_error_at(&ps->out.d, "unknown statement `firewall`; expected a declaration", 1, 1);
	parsed_free(ps);
	ps = parse_text("}\n");
	assert_error_at(&ps->out.d, "`}` without matching `{`", 1, 1);
	parsed_free(ps);
	ps = parse_text("= x\n");
	assert_error_at(&ps->out.d, "expected a declaration", 1, 1);
	parsed_free(ps);
	ps = parse_text("interface wan = eth0 eth1\n");
	assert_error_at(&ps->out.d, "unexpected `eth1` after the interface name", 1, 22);
	parsed_free(ps);
}

static void test_error_declarations(void **state)
{
	struct parsed *ps = parse_text("ports web { 80, 443 }\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "expected `=` after set name", 1, 11);
	parsed_free(ps);
	ps = parse_text("addresses = { 1 }\n");
	assert_error_at(&ps->out.d, "`addresses` needs a set name", 1, 11);
	parsed_free(ps);
	ps = parse_text("addresses 1bad = { 1 }\n");
	assert_error_at(&ps->out.d, "invalid set name `1bad`", 1, 11);
	assert_int_equal(ps->ast.nsets, 0);
	parsed_free(ps);
	ps = parse_text("interface wan eth0\n");
	assert_error_at(&ps->out.d, "expected `=` after interface alias", 1, 15);
	parsed_free(ps);
	ps = parse_text("interface wan =\n");
	assert_error_at(&ps->out.d, "`interface` needs an interface name", 1, 16);
	parsed_free(ps);
	ps = parse_text("option boot-timeout\n");
	assert_error_at(&ps->out.d, "option `boot-timeout` needs a value", 1, 20);
	parsed_free(ps);
	ps = parse_text("include conf.d/*.rules\n");
	assert_error_at(&ps->out.d, "`include` needs a quoted path", 1, 9);
	parsed_free(ps);
}

static void test_error_tables(void **state)
{
	struct parsed *ps = parse_text("table x\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "table `x` is missing `{`", 1, 8);
	parsed_free(ps);
	/* body on the following lines is still taken as the table's */
	ps = parse_text("table x\n{\n  allow in\n}\ntable y {\n}\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_int_equal(ps->ast.ntables, 2);
	assert_int_equal(find_ast_table(&ps->ast, "x")->nrules, 1);
	parsed_free(ps);
	ps = parse_text("table t default jump {\n}\n");
	assert_error_at(&ps->out.d, "a table default cannot be `jump`", 1, 17);
	parsed_free(ps);
	ps = parse_text("table t default {\n  allow\n}\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "`default` needs a verdict", 1, 17);
	assert_int_equal(ps->ast.tables[0].nrules, 1);
	parsed_free(ps);
	ps = parse_text("table {\n}\n");
	assert_error_at(&ps->out.d, "`table` needs a name", 1, 7);
	parsed_free(ps);
	ps = parse_text("table t.1-x_ {\n}\ntable -bad {\n}\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "invalid table name `-bad`", 3, 7);
	parsed_free(ps);
	ps = parse_text("table t {\n  allow\n");
	assert_error_at(&ps->out.d, "unterminated `{` of table `t`", 1, 9);
	parsed_free(ps);
	ps = parse_text("table t {\n  allow\ntable u {\n}\n");
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "table `t` (opened at 1:9) is not closed", 3, 1);
	assert_int_equal(ps->ast.ntables, 2);
	parsed_free(ps);
	ps = parse_text("table t {\n  include \"x\"\n}\n");
	assert_error_at(&ps->out.d, "`include` is not allowed inside a table", 2, 3);
	parsed_free(ps);
}

/* ---------- all errors of a file ---------- */

static void test_all_errors_are_reported(void **state)
{
	struct parsed *ps = parse_text("table root default deny {\n"
				       "    allow in remot 192.0.2.1\n"
				       "    allow out\n"
				       "    dney in\n"
				       "    allow proto ! tcp\n"
				       "    allow on lo\n"
				       "}\n");
	assert_int_equal(ps->out.d.nerrors, 3);
	assert_int_equal(nth_msg(&ps->out.d, DIAG_ERROR, 0)->loc.line, 2);
	assert_int_equal(nth_msg(&ps->out.d, DIAG_ERROR, 1)->loc.line, 4);
	assert_int_equal(nth_msg(&ps->out.d, DIAG_ERROR, 2)->loc.line, 5);
	/* the good rules are kept, in order */
	const struct ast_table *t = find_ast_table(&ps->ast, "root");
	assert_int_equal(t->nrules, 2);
	assert_int_equal(t->rules[0].loc.line, 3);
	assert_int_equal(t->rules[1].loc.line, 6);
	parsed_free(ps);
}

static void test_errors_across_statement_kinds(void **state)
{
	struct parsed *ps = parse_text("addresses a = { 1 2 }\n"
				       "ports = 80\n"
				       "allow in\n"
				       "table t {\n"
				       "  jump\n"
				       "}\n"
				       "}\n");
	assert_int_equal(ps->out.d.nerrors, 5);
	assert_int_equal(ps->rc, -1);
	static const int lines[] = { 1, 2, 3, 5, 7 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(nth_msg(&ps->out.d, DIAG_ERROR, i)->loc.line, lines[i]);
	parsed_free(ps);
}

static void test_printed_error_has_line_and_caret(void **state)
{
	struct parsed *ps = parse_text_named("p.rules", "table root {\n\tallow remot x\n}\n");
	assert_string_equal(captured_text(&ps->out),
			    "p.rules:2:8: error: unknown condition `remot`; did you mean `remote`?\n"
			    "  \tallow remot x\n"
			    "  \t      ^\n");
	parsed_free(ps);
}

/* ---------- includes ---------- */

static void test_include_relative_to_including_file(void **state)
{
	char *dir = make_temp_dir();
	char *sub;
	assert_true(asprintf(&sub, "%s/conf.d", dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	char *a = write_temp_file(sub, "10-a.rules", "addresses a = { 192.0.2.1 }\n");
	char *b = write_temp_file(sub, "20-b.rules", "table b {\n  allow\n}\n");
	char *main = write_temp_file(dir, "main.rules", "include \"conf.d/*.rules\"\ntable root {\n  jump b\n}\n");
	struct parsed *ps = parse_path(main);
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_int_equal(ps->rc, 0);
	assert_int_equal(ps->srcs.n, 3);
	assert_string_equal(ps->srcs.v[1]->name, a); /* sorted */
	assert_string_equal(ps->srcs.v[2]->name, b);
	assert_int_equal(ps->ast.nsets, 1);
	assert_string_equal(ps->ast.sets[0].loc.file, a);
	assert_int_equal(ps->ast.ntables, 2);
	assert_string_equal(ps->ast.tables[0].name, "b"); /* included where written */
	parsed_free(ps);
	remove_tree(dir);
	free(sub);
	free(a);
	free(b);
	free(main);
	free(dir);
}

static void test_include_errors_in_included_file(void **state)
{
	char *dir = make_temp_dir();
	char *inc = write_temp_file(dir, "bad.rules", "\n\nallow in\n");
	char *main = write_temp_file(dir, "main.rules", "include \"bad.rules\"\n");
	struct parsed *ps = parse_path(main);
	assert_int_equal(ps->out.d.nerrors, 1);
	const struct diag_msg *m = nth_msg(&ps->out.d, DIAG_ERROR, 0);
	assert_string_equal(m->loc.file, inc);
	assert_int_equal(m->loc.line, 3);
	assert_non_null(strstr(captured_text(&ps->out), "bad.rules:3:1: error: rules must be inside"));
	parsed_free(ps);
	remove_tree(dir);
	free(inc);
	free(main);
	free(dir);
}

static void test_include_not_found(void **state)
{
	char *dir = make_temp_dir();
	char *main = write_temp_file(dir, "main.rules", "include \"nope.rules\"\ninclude \"none/*.rules\"\n");
	struct parsed *ps = parse_path(main);
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_int_equal(ps->out.d.nwarnings, 1);
	assert_error_at(&ps->out.d, "include not found: ", 1, 9);
	assert_non_null(strstr(nth_msg(&ps->out.d, DIAG_ERROR, 0)->text, "/nope.rules"));
	assert_true(diag_has(&ps->out.d, DIAG_WARNING, "matches no file"));
	parsed_free(ps);
	remove_tree(dir);
	free(main);
	free(dir);
}

static void test_include_cycle(void **state)
{
	char *dir = make_temp_dir();
	char *a = write_temp_file(dir, "a.rules", "include \"b.rules\"\n");
	char *b = write_temp_file(dir, "b.rules", "table t {\n}\ninclude \"a.rules\"\n");
	struct parsed *ps = parse_path(a);
	assert_int_equal(ps->out.d.nerrors, 1);
	const struct diag_msg *m = nth_msg(&ps->out.d, DIAG_ERROR, 0);
	assert_non_null(strstr(m->text, "include cycle: "));
	assert_non_null(strstr(m->text, "a.rules -> "));
	assert_non_null(strstr(m->text, "b.rules -> "));
	assert_string_equal(m->loc.file, b);
	assert_int_equal(m->loc.line, 3);
	assert_int_equal(ps->ast.ntables, 1);
	parsed_free(ps);
	remove_tree(dir);
	free(a);
	free(b);
	free(dir);
}

static void test_include_self_and_twice(void **state)
{
	char *dir = make_temp_dir();
	char *c = write_temp_file(dir, "common.rules", "ports web = { 80 }\n");
	char *self = write_temp_file(dir, "self.rules",
				     "include \"common.rules\"\ninclude \"common.rules\"\n"
				     "include \"self.rules\"\n");
	struct parsed *ps = parse_path(self);
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_error_at(&ps->out.d, "include cycle", 3, 9);
	assert_int_equal(ps->out.d.nwarnings, 1);
	assert_true(diag_has(&ps->out.d, DIAG_WARNING, "already included"));
	assert_int_equal(ps->ast.nsets, 1);
	parsed_free(ps);
	remove_tree(dir);
	free(c);
	free(self);
	free(dir);
}

static void test_include_depth_limit(void **state)
{
	char *dir = make_temp_dir();
	for (int i = 0; i < 20; i++) {
		char name[32], text[64];
		snprintf(name, sizeof(name), "f%d.rules", i);
		snprintf(text, sizeof(text), "include \"f%d.rules\"\n", i + 1);
		free(write_temp_file(dir, name, text));
	}
	free(write_temp_file(dir, "f20.rules", "\n"));
	char *first;
	assert_true(asprintf(&first, "%s/f0.rules", dir) > 0);
	struct parsed *ps = parse_path(first);
	assert_int_equal(ps->out.d.nerrors, 1);
	assert_true(diag_has(&ps->out.d, DIAG_ERROR, "includes nested too deeply (more than 16"));
	assert_int_equal(ps->srcs.n, 17);
	parsed_free(ps);
	remove_tree(dir);
	free(first);
	free(dir);
}

static void test_include_directory_and_binary(void **state)
{
	char *dir = make_temp_dir();
	char *sub;
	assert_true(asprintf(&sub, "%s/d", dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	char *bin;
	assert_true(asprintf(&bin, "%s/bin.rules", dir) > 0);
	FILE *f = fopen(bin, "w");
	fwrite("a\0b", 1, 3, f);
	fclose(f);
	char *main = write_temp_file(dir, "main.rules", "include \"d\"\ninclude \"bin.rules\"\n");
	struct parsed *ps = parse_path(main);
	assert_int_equal(ps->out.d.nerrors, 2);
	assert_error_at(&ps->out.d, "is a directory", 1, 9);
	assert_error_at(&ps->out.d, "binary file", 2, 9);
	parsed_free(ps);
	remove_tree(dir);
	free(sub);
	free(bin);
	free(main);
	free(dir);
}

static void test_include_from_string_is_relative_to_cwd(void **state)
{
	char *dir = make_temp_dir();
	char *inc = write_temp_file(dir, "x.rules", "option a b\n");
	char old[4096];
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(dir), 0);
	struct parsed *ps = parse_text_named("<string>", "include \"x.rules\"\n");
	assert_int_equal(chdir(old), 0);
	assert_int_equal(ps->out.d.nerrors, 0);
	assert_int_equal(ps->ast.noptions, 1);
	parsed_free(ps);
	remove_tree(dir);
	free(inc);
	free(dir);
}

/* Arbitrary token soup never crashes the parser and always ends. */
static void test_token_soup(void **state)
{
	static const char *const words[] = {
		"table",   "root", "{",	    "}",     "allow", "jump",	   "remote",  "port",	 "!",
		"@s",	   ",",	   "=",	    "\"c\"", "\n",    "addresses", "include", "default", "log",
		"comment", "x",	   "proto", "local", "in",    "\"",	   "#",	      "\xff",
	};
	unsigned seed = 7;
	for (int round = 0; round < 2000; round++) {
		char buf[1024] = "";
		int n = 1 + round % 40;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			strcat(buf, words[(seed >> 16) % (sizeof(words) / sizeof(words[0]))]);
			strcat(buf, " ");
		}
		struct parsed *ps = parse_text(buf);
		assert_true(ps->rc == 0 || ps->out.d.nerrors > 0);
		parsed_free(ps);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_declarations),
		cmocka_unit_test(test_multiline_braces_and_trailing_comma),
		cmocka_unit_test(test_negated_sets_and_empty_set),
		cmocka_unit_test(test_interface_and_option),
		cmocka_unit_test(test_tables_and_defaults),
		cmocka_unit_test(test_spec_example_parses),
		cmocka_unit_test(test_every_verdict),
		cmocka_unit_test(test_direction_conditions),
		cmocka_unit_test(test_proto_condition),
		cmocka_unit_test(test_family_conditions),
		cmocka_unit_test(test_local_and_remote_with_ports),
		cmocka_unit_test(test_port_only_endpoints),
		cmocka_unit_test(test_any_is_kept_as_a_literal),
		cmocka_unit_test(test_other_conditions),
		cmocka_unit_test(test_options_log_and_comment),
		cmocka_unit_test(test_jump_rule),
		cmocka_unit_test(test_one_line_table),
		cmocka_unit_test(test_rule_list_spanning_lines),
		cmocka_unit_test(test_error_unknown_condition_suggests),
		cmocka_unit_test(test_error_field_given_twice),
		cmocka_unit_test(test_error_negation_only_for_addresses_and_ports),
		cmocka_unit_test(test_error_verdicts),
		cmocka_unit_test(test_error_jump_needs_table),
		cmocka_unit_test(test_error_comment_needs_string),
		cmocka_unit_test(test_log_twice_is_a_warning),
		cmocka_unit_test(test_error_missing_values),
		cmocka_unit_test(test_error_lists),
		cmocka_unit_test(test_error_unterminated_list),
		cmocka_unit_test(test_error_statements),
		cmocka_unit_test(test_error_declarations),
		cmocka_unit_test(test_error_tables),
		cmocka_unit_test(test_all_errors_are_reported),
		cmocka_unit_test(test_errors_across_statement_kinds),
		cmocka_unit_test(test_printed_error_has_line_and_caret),
		cmocka_unit_test(test_include_relative_to_including_file),
		cmocka_unit_test(test_include_errors_in_included_file),
		cmocka_unit_test(test_include_not_found),
		cmocka_unit_test(test_include_cycle),
		cmocka_unit_test(test_include_self_and_twice),
		cmocka_unit_test(test_include_depth_limit),
		cmocka_unit_test(test_include_directory_and_binary),
		cmocka_unit_test(test_include_from_string_is_relative_to_cwd),
		cmocka_unit_test(test_token_soup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
