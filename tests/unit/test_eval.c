/* The reference interpreter: first match, continue, jump and return,
 * table defaults, and "a field the event does not carry never matches". */
#include "judge.h"

/* ---------- hand-built policies (no parser involved) ---------- */

struct hand {
	struct policy p;
};

static int hand_table(struct policy *p, const char *name, enum verdict dflt)
{
	p->tables = realloc(p->tables, (p->ntables + 1) * sizeof(*p->tables));
	p->tables[p->ntables] = (struct table){ .name = strdup(name), .dflt = dflt };
	if (strcmp(name, "root") == 0)
		p->root = p->ntables;
	return p->ntables++;
}

/* Appends a rule to table t; conditions are added with hand_cond. */
static int hand_rule(struct policy *p, int t, enum verdict v, int jump)
{
	p->rules = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	struct rule *r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	r->id = p->nrules;
	r->table = t;
	r->verdict = v;
	r->jump_table = jump;
	struct table *tb = &p->tables[t];
	tb->rules = realloc(tb->rules, (tb->nrules + 1) * sizeof(int));
	tb->rules[tb->nrules++] = p->nrules;
	return p->nrules++;
}

static void hand_cond(struct policy *p, int rule, enum field f, u128 lo, u128 hi)
{
	p->rules[rule].cond[f].used = true;
	vset_add(&p->rules[rule].cond[f].set, lo, hi);
}

static struct event mkev(int dir, int evt, int proto)
{
	struct event e;
	memset(&e, 0, sizeof(e));
	e.has[F_DIR] = true;
	e.val[F_DIR] = dir;
	e.has[F_EVENT] = true;
	e.val[F_EVENT] = evt;
	if (proto >= 0) {
		e.has[F_PROTO] = true;
		e.val[F_PROTO] = proto;
	}
	return e;
}

static void test_cond_matches_carried_and_not(void **state)
{
	struct cond unused = { 0 }, tcp = { .used = true };
	vset_add(&tcp.set, 6, 6);
	struct event e = mkev(DIR_OUT, EVENT_CONNECT, 6);
	assert_true(cond_matches(&unused, &e, F_PROTO));
	assert_true(cond_matches(&unused, &e, F_RADDR)); /* not named: any, carried or not */
	assert_true(cond_matches(&tcp, &e, F_PROTO));
	e.val[F_PROTO] = 17;
	assert_false(cond_matches(&tcp, &e, F_PROTO));
	e.has[F_PROTO] = false;
	e.val[F_PROTO] = 6; /* value left over, but not carried: never matches */
	assert_false(cond_matches(&tcp, &e, F_PROTO));
	/* even a condition that covers the whole domain needs the field */
	struct cond all = { .used = true };
	vset_add(&all.set, 0, field_max(F_RADDR));
	assert_false(cond_matches(&all, &e, F_RADDR));
	e.has[F_RADDR] = true;
	assert_true(cond_matches(&all, &e, F_RADDR));
	vset_free(&tcp.set);
	vset_free(&all.set);
}

static void test_rule_matches_reports_first_failing_field(void **state)
{
	struct rule r;
	memset(&r, 0, sizeof(r));
	r.cond[F_PROTO].used = true;
	vset_add(&r.cond[F_PROTO].set, 6, 6);
	r.cond[F_RPORT].used = true;
	vset_add(&r.cond[F_RPORT].set, 80, 80);
	struct event e = mkev(DIR_OUT, EVENT_CONNECT, 17);
	enum field f = F_COUNT;
	bool nc = true;
	assert_false(rule_matches(&r, &e, &f, &nc));
	assert_int_equal(f, F_PROTO);
	assert_false(nc);
	e.val[F_PROTO] = 6;
	assert_false(rule_matches(&r, &e, &f, &nc));
	assert_int_equal(f, F_RPORT);
	assert_true(nc); /* no port in the event */
	e.has[F_RPORT] = true;
	e.val[F_RPORT] = 80;
	assert_true(rule_matches(&r, &e, NULL, NULL));
	vset_free(&r.cond[F_PROTO].set);
	vset_free(&r.cond[F_RPORT].set);
}

/* root: continue; jump A; deny.  A (default continue): allow proto tcp. */
static void test_hand_built_jump_and_return(void **state)
{
	struct policy p;
	memset(&p, 0, sizeof(p));
	int root = hand_table(&p, "root", VERDICT_DENY);
	int a = hand_table(&p, "A", VERDICT_CONTINUE);
	int rc = hand_rule(&p, root, VERDICT_CONTINUE, -1);
	int rj = hand_rule(&p, root, VERDICT_JUMP, a);
	int rd = hand_rule(&p, root, VERDICT_DENY, -1);
	int ra = hand_rule(&p, a, VERDICT_ALLOW, -1);
	hand_cond(&p, ra, F_PROTO, 6, 6);
	p.rules[rd].log = true;

	struct eval_result r;
	struct event tcp = mkev(DIR_OUT, EVENT_CONNECT, 6);
	eval_event(&p, &tcp, &r, true);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(r.table, a);
	assert_int_equal(r.rule, ra);
	assert_false(r.log);
	assert_int_equal(r.nrecorded, 2);
	assert_int_equal(r.recorded[0], rc);
	assert_int_equal(r.recorded[1], rj);
	assert_int_equal(r.nsteps, 3);
	assert_int_equal(r.steps[0].kind, STEP_CONTINUE);
	assert_int_equal(r.steps[1].kind, STEP_JUMP);
	assert_int_equal(r.steps[1].table, root);
	assert_int_equal(r.steps[2].kind, STEP_MATCH);
	assert_int_equal(r.steps[2].table, a);
	eval_result_free(&r);

	struct event udp = mkev(DIR_OUT, EVENT_SEND, 17);
	eval_event(&p, &udp, &r, true);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.table, root);
	assert_int_equal(r.rule, rd);
	assert_true(r.log);
	assert_int_equal(r.nsteps, 5);
	assert_int_equal(r.steps[2].kind, STEP_NOMATCH);
	assert_int_equal(r.steps[2].field, F_PROTO);
	assert_int_equal(r.steps[2].rule, ra);
	assert_int_equal(r.steps[3].kind, STEP_RETURN);
	assert_int_equal(r.steps[3].table, a);
	assert_int_equal(r.steps[3].rule, -1);
	assert_int_equal(r.steps[4].kind, STEP_MATCH);
	eval_result_free(&r);

	/* without tracing no steps are kept, the verdict is the same */
	eval_event(&p, &udp, &r, false);
	assert_int_equal(r.nsteps, 0);
	assert_null(r.steps);
	assert_int_equal(r.verdict, VERDICT_DENY);
	eval_result_free(&r);

	/* A with a deciding default: ends there (STEP_DEFAULT, rule -1, table A) */
	p.tables[a].dflt = VERDICT_REJECT;
	eval_event(&p, &udp, &r, true);
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_int_equal(r.table, a);
	assert_int_equal(r.rule, -1);
	assert_false(r.log);
	assert_int_equal(r.steps[r.nsteps - 1].kind, STEP_DEFAULT);
	assert_int_equal(r.steps[r.nsteps - 1].table, a);
	eval_result_free(&r);

	/* no rule in root decides: root default */
	p.tables[a].dflt = VERDICT_CONTINUE;
	p.rules[rd].verdict = VERDICT_CONTINUE;
	p.tables[root].dflt = VERDICT_ASK;
	eval_event(&p, &udp, &r, true);
	assert_int_equal(r.verdict, VERDICT_ASK);
	assert_int_equal(r.table, root);
	assert_int_equal(r.rule, -1);
	assert_int_equal(r.nrecorded, 3);
	assert_int_equal(r.recorded[2], rd);
	assert_int_equal(r.steps[r.nsteps - 1].kind, STEP_DEFAULT);
	eval_result_free(&r);
	policy_free(&p);
}

/* ---------- from policy text ---------- */

static struct policy *load(const char *text)
{
	return load_policy_text_ok(text);
}

static struct event parse_ev(const struct policy *p, const char *text)
{
	struct event ev;
	struct diag d;
	diag_init(&d, stderr, NULL);
	if (event_parse(&ev, p, text, &d) != 0)
		fail_msg("bad event `%s`", text);
	diag_free(&d);
	return ev;
}

static const char *SPEC = "addresses trusted = { 192.0.2.0/24 }\n"   /* 1 */
			  "addresses blocked = { 203.0.113.0/24 }\n" /* 2 */
			  "apps browsers     = { /usr/bin/curl, /usr/bin/wget }\n"
			  "\n"
			  "table web-browser {\n"					  /* 5 */
			  "    allow event network\n"					  /* 6 */
			  "    allow out proto tcp remote port { 80, 443, 8000, 8080 }\n" /* 7 */
			  "    allow out proto udp remote port 53\n"			  /* 8 */
			  "    reject in\n"						  /* 9 */
			  "}\n"
			  "\n"
			  "table ask-user default ask {\n" /* 12 */
			  "}\n"
			  "\n"
			  "table root default deny {\n"					     /* 15 */
			  "    allow on lo\n"						     /* 16 */
			  "    deny remote @blocked log\n"				     /* 17 */
			  "    allow remote @trusted\n"					     /* 18 */
			  "    deny in proto { tcp, udp } local port { 135-139, 445 } log\n" /* 19 */
			  "    jump web-browser app @browsers\n"			     /* 20 */
			  "    jump ask-user\n"						     /* 21 */
			  "}\n";

static int line_of_rule(const struct policy *p, int rule)
{
	return rule >= 0 ? p->rules[rule].loc.line : 0;
}

static void test_spec_example_curl_port_80_and_22(void **state)
{
	struct policy *p = load(SPEC);
	struct event ev = parse_ev(p, "out proto tcp remote 198.51.100.9 port 80 app /usr/bin/curl "
				      "event connect");
	struct eval_result r;
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_string_equal(p->tables[r.table].name, "web-browser");
	assert_int_equal(line_of_rule(p, r.rule), 7);
	assert_int_equal(r.nrecorded, 1); /* the jump to web-browser */
	assert_int_equal(line_of_rule(p, r.recorded[0]), 20);
	/* trace: lo, blocked, trusted, netbios fail; jump; network fails; match */
	assert_int_equal(r.nsteps, 7);
	assert_int_equal(r.steps[0].kind, STEP_NOMATCH);
	assert_int_equal(r.steps[0].field, F_IFACE);
	assert_true(r.steps[0].not_carried); /* the event says nothing about the interface */
	assert_int_equal(r.steps[1].field, F_RADDR);
	assert_false(r.steps[1].not_carried);
	assert_int_equal(r.steps[3].field, F_DIR);
	assert_int_equal(r.steps[4].kind, STEP_JUMP);
	assert_int_equal(r.steps[5].kind, STEP_NOMATCH);
	assert_int_equal(r.steps[5].field, F_EVENT);
	assert_int_equal(r.steps[6].kind, STEP_MATCH);
	eval_result_free(&r);

	ev = parse_ev(p, "out proto tcp remote 198.51.100.9 port 22 app /usr/bin/curl event connect");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_ASK);
	assert_string_equal(p->tables[r.table].name, "ask-user");
	assert_int_equal(r.rule, -1);
	assert_int_equal(r.nrecorded, 2);
	assert_int_equal(line_of_rule(p, r.recorded[1]), 21);
	/* web-browser returned (default continue), then ask-user's default decided */
	bool returned = false;
	for (int i = 0; i < r.nsteps; i++)
		if (r.steps[i].kind == STEP_RETURN)
			returned = !strcmp(p->tables[r.steps[i].table].name, "web-browser");
	assert_true(returned);
	assert_int_equal(r.steps[r.nsteps - 1].kind, STEP_DEFAULT);
	eval_result_free(&r);

	/* blocked wins over everything below it, and logs */
	ev = parse_ev(p, "out proto tcp remote 203.0.113.1 port 80 app /usr/bin/curl");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(line_of_rule(p, r.rule), 17);
	assert_true(r.log);
	assert_int_equal(r.nrecorded, 0);
	eval_result_free(&r);

	/* an app that is not a browser goes straight to ask-user */
	ev = parse_ev(p, "out proto tcp remote 198.51.100.9 port 80 app /usr/bin/nc");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_ASK);
	assert_int_equal(r.nrecorded, 1);
	assert_int_equal(line_of_rule(p, r.recorded[0]), 21);
	eval_result_free(&r);

	/* inbound to a browser: rejected by web-browser */
	ev = parse_ev(p, "in proto tcp remote 198.51.100.9 port 3333 local port 8080 app /usr/bin/wget");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_int_equal(line_of_rule(p, r.rule), 9);
	eval_result_free(&r);
	free_policy(p);
}

/* Jetico chapter 3, Events 1-3, on a small version of the tutorial's tables. */
static const char *JETICO = "addresses blocked = { 203.0.113.0/24 }\n"		/* 1 */
			    "addresses trusted = { 192.0.2.0/24 }\n"		/* 2 */
			    "table root default deny {\n"			/* 3 */
			    "    jump application event { network, connect }\n" /* 4 */
			    "}\n"
			    "table application {\n"		  /* 6 */
			    "    reject remote @blocked log\n"	  /* 7 */
			    "    allow remote @trusted\n"	  /* 8 */
			    "    continue app /usr/bin/firefox\n" /* 9 */
			    "    jump system-applications\n"	  /* 10 */
			    "    jump ask-user\n"		  /* 11 */
			    "}\n"
			    "table system-applications {\n"			 /* 13 */
			    "    allow event network app /usr/bin/gnome-shell\n" /* 14 */
			    "}\n"
			    "table web-browser default reject {\n"     /* 16 */
			    "    allow event network\n"		       /* 17 */
			    "    allow out proto tcp remote port 80\n" /* 18 */
			    "}\n"
			    "table ask-user {\n"			  /* 20 */
			    "    jump web-browser app /usr/bin/firefox\n" /* 21 */
			    "    ask\n"					  /* 22 */
			    "}\n";

static void test_jetico_events(void **state)
{
	struct policy *p = load(JETICO);
	struct eval_result r;

	/* Event 1: access to network for the shell: blocked/trusted cannot match
	 * (no address), system-applications allows */
	struct event ev = parse_ev(p, "event network app /usr/bin/gnome-shell");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_string_equal(p->tables[r.table].name, "system-applications");
	assert_int_equal(line_of_rule(p, r.rule), 14);
	assert_int_equal(r.nrecorded, 2);
	assert_int_equal(r.steps[1].kind, STEP_NOMATCH);
	assert_int_equal(r.steps[1].field, F_RADDR);
	assert_true(r.steps[1].not_carried);
	assert_true(r.steps[2].not_carried);
	eval_result_free(&r);

	/* Event 2: firefox: continue recorded, system-applications returns,
	 * ask-user sends it to web-browser, which allows network access */
	ev = parse_ev(p, "event network app /usr/bin/firefox");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_string_equal(p->tables[r.table].name, "web-browser");
	assert_int_equal(line_of_rule(p, r.rule), 17);
	assert_int_equal(r.nrecorded, 5); /* jump app, continue, jump sys, jump ask, jump web */
	assert_int_equal(line_of_rule(p, r.recorded[1]), 9);
	int ret = 0, cont = 0;
	for (int i = 0; i < r.nsteps; i++) {
		ret += r.steps[i].kind == STEP_RETURN;
		cont += r.steps[i].kind == STEP_CONTINUE;
	}
	assert_int_equal(ret, 1);
	assert_int_equal(cont, 1);
	eval_result_free(&r);

	/* Event 3: outbound to port 80 */
	ev = parse_ev(p, "out proto tcp remote 198.51.100.80 port 80 app /usr/bin/firefox");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(line_of_rule(p, r.rule), 18);
	eval_result_free(&r);

	/* to port 22: web-browser's default reject decides (does not return) */
	ev = parse_ev(p, "out proto tcp remote 198.51.100.80 port 22 app /usr/bin/firefox");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_string_equal(p->tables[r.table].name, "web-browser");
	assert_int_equal(r.rule, -1);
	assert_int_equal(r.steps[r.nsteps - 1].kind, STEP_DEFAULT);
	eval_result_free(&r);

	/* another program: ask */
	ev = parse_ev(p, "out proto tcp remote 198.51.100.80 port 80 app /usr/bin/nc");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_ASK);
	assert_int_equal(line_of_rule(p, r.rule), 22);
	eval_result_free(&r);

	/* zones first, whatever the application */
	ev = parse_ev(p, "out proto tcp remote 203.0.113.9 port 80 app /usr/bin/firefox");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_int_equal(line_of_rule(p, r.rule), 7);
	assert_true(r.log);
	eval_result_free(&r);

	/* events root does not send to application: root default deny */
	ev = parse_ev(p, "in proto tcp remote 192.0.2.1 port 4000 local port 22");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.rule, -1);
	assert_int_equal(r.nrecorded, 0);
	assert_int_equal(r.nsteps, 2);
	assert_int_equal(r.steps[0].field, F_EVENT);
	assert_int_equal(r.steps[1].kind, STEP_DEFAULT);
	eval_result_free(&r);
	free_policy(p);
}

/* A field the event does not carry never matches, negated or not. */
static void test_not_carried_never_matches(void **state)
{
	struct policy *p = load("table root default allow {\n"
				"    deny remote 192.0.2.0/24\n"
				"    deny remote ! 192.0.2.0/24\n"
				"    deny remote port ! 80\n"
				"    deny app /usr/bin/nc\n"
				"    reject user 0\n"
				"}\n");
	struct eval_result r;
	/* a network event has no remote address or port */
	struct event ev = parse_ev(p, "event network app /usr/bin/curl");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(r.rule, -1);
	assert_true(r.steps[0].not_carried);
	assert_true(r.steps[1].not_carried);
	assert_true(r.steps[2].not_carried);
	assert_false(r.steps[3].not_carried); /* app carried, other value */
	assert_int_equal(r.steps[3].field, F_APP);
	assert_true(r.steps[4].not_carried); /* no user written */
	eval_result_free(&r);
	/* forwarded traffic: no app, so the app rule cannot match */
	ev = parse_ev(p, "in event packet proto tcp remote 192.0.2.1 port 80");
	assert_false(ev.has[F_APP]);
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(p->rules[r.rule].loc.line, 2);
	eval_result_free(&r);
	/* negation matches the rest of the domain, IPv6 included */
	ev = parse_ev(p, "out proto tcp remote 2001:db8::1 port 80");
	eval_event(p, &ev, &r, false);
	assert_int_equal(p->rules[r.rule].loc.line, 3);
	eval_result_free(&r);
	free_policy(p);
}

static void test_negated_ports(void **state)
{
	struct policy *p = load("table root default deny {\n"
				"    allow out proto tcp remote port ! { 0-1023 }\n"
				"    reject out proto tcp\n"
				"}\n");
	assert_judged(judge(p, "out proto tcp remote 198.51.100.1 port 8080"), VERDICT_ALLOW, "root", 2);
	assert_judged(judge(p, "out proto tcp remote 198.51.100.1 port 1024"), VERDICT_ALLOW, "root", 2);
	assert_judged(judge(p, "out proto tcp remote 198.51.100.1 port 1023"), VERDICT_REJECT, "root", 3);
	assert_judged(judge(p, "out proto tcp remote 198.51.100.1 port 0"), VERDICT_REJECT, "root", 3);
	assert_judged(judge(p, "out proto udp remote 198.51.100.1 port 8080"), VERDICT_DENY, "root", 0);
	free_policy(p);
}

/* First match wins; later rules are not consulted. */
static void test_first_match_wins(void **state)
{
	struct policy *p = load("table root default deny {\n"
				"    reject in proto tcp local port 138\n"
				"    allow in proto tcp\n"
				"    deny in proto tcp local port 22\n"
				"}\n");
	assert_judged(judge(p, "in proto tcp remote 192.0.2.1 port 9 local port 138"), VERDICT_REJECT, "root", 2);
	assert_judged(judge(p, "in proto tcp remote 192.0.2.1 port 9 local port 22"), VERDICT_ALLOW, "root", 3);
	assert_judged(judge(p, "out proto tcp remote 192.0.2.1 port 22"), VERDICT_DENY, "root", 0);
	free_policy(p);
}

/* continue records and goes on; its log flag is irrelevant to the verdict. */
static void test_continue_records_in_order(void **state)
{
	struct policy *p = load("table root default allow {\n"
				"    continue proto tcp\n"
				"    continue remote port 80\n"
				"    continue proto udp\n"
				"    deny remote port 80 log\n"
				"}\n");
	struct eval_result r;
	struct event ev = parse_ev(p, "out proto tcp remote 192.0.2.1 port 80");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_true(r.log);
	assert_int_equal(r.nrecorded, 2);
	assert_int_equal(p->rules[r.recorded[0]].loc.line, 2);
	assert_int_equal(p->rules[r.recorded[1]].loc.line, 3);
	eval_result_free(&r);
	ev = parse_ev(p, "out proto udp remote 192.0.2.1 port 53");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_false(r.log);
	assert_int_equal(r.nrecorded, 1);
	assert_int_equal(p->rules[r.recorded[0]].loc.line, 4);
	eval_result_free(&r);
	free_policy(p);
}

/* Nested jumps return to the right place at every level. */
static void test_nested_returns(void **state)
{
	struct policy *p = load("table root default deny {\n" /* 1 */
				"    jump a\n"		      /* 2 */
				"    allow proto udp\n"	      /* 3 */
				"}\n"
				"table a {\n"		      /* 5 */
				"    jump b proto tcp\n"      /* 6 */
				"    reject remote port 80\n" /* 7 */
				"}\n"
				"table b {\n"		      /* 9 */
				"    allow remote port 443\n" /* 10 */
				"}\n"
				"table c default allow {\n" /* 12 */
				"}\n");
	struct eval_result r;
	struct event ev = parse_ev(p, "out proto tcp remote 192.0.2.1 port 443");
	eval_event(p, &ev, &r, false);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(p->rules[r.rule].loc.line, 10);
	assert_int_equal(r.nrecorded, 2);
	eval_result_free(&r);
	/* b returns to a, which rejects */
	ev = parse_ev(p, "out proto tcp remote 192.0.2.1 port 80");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_int_equal(p->rules[r.rule].loc.line, 7);
	eval_result_free(&r);
	/* b and a return to root, whose default decides */
	ev = parse_ev(p, "out proto tcp remote 192.0.2.1 port 22");
	eval_event(p, &ev, &r, true);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.rule, -1);
	int returns = 0;
	for (int i = 0; i < r.nsteps; i++)
		returns += r.steps[i].kind == STEP_RETURN;
	assert_int_equal(returns, 2);
	eval_result_free(&r);
	/* udp: a returns at once, root's allow */
	assert_judged(judge(p, "out proto udp remote 192.0.2.1 port 53"), VERDICT_ALLOW, "root", 3);
	free_policy(p);
}

/* Rules use the cgroup numbering: a cgroup matches its descendants. */
static void test_cgroup_descendants(void **state)
{
	struct policy *p = load("cgroups web = { /system.slice/nginx.service }\n"
				"table root default deny {\n"
				"    allow cgroup @web\n"
				"    reject cgroup /system.slice\n"
				"    ask cgroup /\n"
				"}\n");
	assert_judged(judge(p, "event network cgroup /system.slice/nginx.service"), VERDICT_ALLOW, "root", 3);
	assert_judged(judge(p, "event network cgroup /system.slice/nginx.service/worker"), VERDICT_ALLOW, "root", 3);
	assert_judged(judge(p, "event network cgroup /system.slice/sshd.service"), VERDICT_REJECT, "root", 4);
	assert_judged(judge(p, "event network cgroup /system.slice/nginx.service2"), VERDICT_REJECT, "root", 4);
	assert_judged(judge(p, "event network cgroup /user.slice"), VERDICT_ASK, "root", 5);
	assert_judged(judge(p, "event network app /usr/bin/x"), VERDICT_DENY, "root", 0);
	free_policy(p);
}

static void test_icmp_types_per_family(void **state)
{
	struct policy *p = load("table root default deny {\n"
				"    allow icmp-type echo-request\n"
				"    allow proto icmpv6 icmp-type 135\n"
				"    reject proto icmp icmp-type 3\n"
				"}\n");
	assert_judged(judge(p, "in proto icmp icmp-type echo-request remote 192.0.2.1"), VERDICT_ALLOW, "root", 2);
	assert_judged(judge(p, "in proto icmpv6 icmp-type echo-request remote 2001:db8::1"), VERDICT_ALLOW, "root", 2);
	assert_judged(judge(p, "in proto icmpv6 icmp-type 135 remote fe80::1"), VERDICT_ALLOW, "root", 3);
	/* 135 as ICMP (IPv4) is another type altogether */
	assert_judged(judge(p, "in proto icmp icmp-type 135 remote 192.0.2.1"), VERDICT_DENY, "root", 0);
	assert_judged(judge(p, "in proto icmp icmp-type 3 remote 192.0.2.1"), VERDICT_REJECT, "root", 4);
	assert_judged(judge(p, "in proto icmpv6 icmp-type 3 remote 2001:db8::1"), VERDICT_DENY, "root", 0);
	free_policy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cond_matches_carried_and_not),
		cmocka_unit_test(test_rule_matches_reports_first_failing_field),
		cmocka_unit_test(test_hand_built_jump_and_return),
		cmocka_unit_test(test_spec_example_curl_port_80_and_22),
		cmocka_unit_test(test_jetico_events),
		cmocka_unit_test(test_not_carried_never_matches),
		cmocka_unit_test(test_negated_ports),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_continue_records_in_order),
		cmocka_unit_test(test_nested_returns),
		cmocka_unit_test(test_cgroup_descendants),
		cmocka_unit_test(test_icmp_types_per_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
