/* Resolution: literals become value sets, names are looked up, and every
 * mistake is reported where it was made. */
#include "testutil.h"

struct loaded {
	struct policy p;
	struct diag d;
	int rc;
};

static struct loaded *load_with(const char *text, bool hosts, bool users)
{
	struct loaded *l = calloc(1, sizeof(*l));
	struct load_opts o = { .resolve_hosts = hosts, .lookup_users = users };
	diag_init(&l->d, NULL, NULL);
	l->rc = policy_load_string(&l->p, "test.rules", text, &o, &l->d);
	return l;
}

static struct loaded *load(const char *text)
{
	return load_with(text, false, false);
}

/* Loads a policy that must have no errors. */
static struct loaded *load_ok(const char *text)
{
	struct loaded *l = load(text);
	if (l->rc != 0 || l->d.nerrors) {
		for (int i = 0; i < l->d.nmsgs; i++)
			fprintf(stderr, "%d:%d: %s\n", l->d.msgs[i].loc.line, l->d.msgs[i].loc.col, l->d.msgs[i].text);
		fail_msg("unexpected errors in:\n%s", text);
	}
	return l;
}

static void unload(struct loaded *l)
{
	diag_free(&l->d);
	policy_free(&l->p);
	free(l);
}

/* 1-based column of needle in line `line` of text. */
static int col_of(const char *text, int line, const char *needle)
{
	const char *q = text;
	for (int i = 1; i < line; i++)
		q = strchr(q, '\n') + 1;
	const char *eol = strchr(q, '\n');
	const char *hit = strstr(q, needle);
	if (!hit || (eol && hit > eol))
		fail_msg("`%s` not on line %d", needle, line);
	return (int)(hit - q) + 1;
}

static const struct rule *rule_at(const struct policy *p, int i)
{
	return &p->rules[i];
}

static const struct cond *cond_of(const struct policy *p, int rule, enum field f)
{
	return &p->rules[rule].cond[f];
}

static u128 A(const char *s)
{
	u128 a;
	if (!addr_parse(s, &a, NULL))
		fail_msg("bad test address %s", s);
	return a;
}

static void assert_one_range(const struct cond *c, u128 lo, u128 hi)
{
	assert_true(c->used);
	assert_int_equal(c->set.n, 1);
	assert_true(c->set.r[0].lo == lo);
	assert_true(c->set.r[0].hi == hi);
}

/* ---------- addresses ---------- */

static void test_address_literals(void **state)
{
	struct loaded *l = load_ok("table root {\n"
				   "    allow remote 192.0.2.7\n"
				   "    allow remote 192.0.2.0/24\n"
				   "    allow remote 2001:db8::/32\n"
				   "    allow remote 198.51.100.10-198.51.100.20\n"
				   "    allow remote { 192.0.2.1, 192.0.2.2, 192.0.2.3 }\n"
				   "    allow remote any port 80\n"
				   "    allow local 0.0.0.0/0\n"
				   "    allow local ::/0\n"
				   "    allow remote 2001:db8::1-2001:db8::ff\n"
				   "}\n");
	struct policy *p = &l->p;
	assert_int_equal(p->nrules, 9);
	assert_one_range(cond_of(p, 0, F_RADDR), A("192.0.2.7"), A("192.0.2.7"));
	assert_one_range(cond_of(p, 1, F_RADDR), A("192.0.2.0"), A("192.0.2.255"));
	assert_one_range(cond_of(p, 2, F_RADDR), A("2001:db8::"), A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_one_range(cond_of(p, 3, F_RADDR), A("198.51.100.10"), A("198.51.100.20"));
	assert_one_range(cond_of(p, 4, F_RADDR), A("192.0.2.1"), A("192.0.2.3")); /* merged */
	assert_false(cond_of(p, 5, F_RADDR)->used);				  /* any: no condition */
	assert_true(cond_of(p, 5, F_RPORT)->used);
	assert_one_range(cond_of(p, 6, F_LADDR), A("0.0.0.0"), A("255.255.255.255"));
	assert_one_range(cond_of(p, 7, F_LADDR), 0, ~(u128)0);
	assert_one_range(cond_of(p, 8, F_RADDR), A("2001:db8::1"), A("2001:db8::ff"));
	/* an IPv4 address literal adds no family condition */
	assert_false(cond_of(p, 0, F_FAMILY)->used);
	assert_int_equal(l->d.nwarnings, 0);
	unload(l);
}

static void test_host_bits_warning(void **state)
{
	const char *text = "table root {\n"
			   "    allow remote 192.0.2.5/24\n"
			   "}\n";
	struct loaded *l = load_ok(text);
	assert_int_equal(l->d.nwarnings, 1);
	const struct diag_msg *m = find_msg(&l->d, DIAG_WARNING, "host bits set");
	assert_non_null(m);
	assert_string_equal(m->text, "host bits set in 192.0.2.5/24; it means 192.0.2.0/24");
	assert_int_equal(m->loc.line, 2);
	assert_int_equal(m->loc.col, col_of(text, 2, "192.0.2.5"));
	assert_one_range(cond_of(&l->p, 0, F_RADDR), A("192.0.2.0"), A("192.0.2.255"));
	unload(l);
	l = load_ok("table root {\n    allow remote 2001:db8::1/64\n}\n");
	assert_true(diag_has(&l->d, DIAG_WARNING, "it means 2001:db8::/64"));
	unload(l);
}

static void test_address_errors(void **state)
{
	const char *text = "table root {\n"
			   "    allow remote 192.0.2.0/33\n"	      /* 2 */
			   "    allow remote 2001:db8::/129\n"	      /* 3 */
			   "    allow remote 192.0.2.9-192.0.2.1\n"   /* 4 */
			   "    allow remote 192.0.2.1-2001:db8::1\n" /* 5 */
			   "    allow remote 192.0.2.300\n"	      /* 6 */
			   "    allow remote example.com\n"	      /* 7 */
			   "    allow local 192.0.2.1-foo\n"	      /* 8 */
			   "}\n";
	struct loaded *l = load(text);
	assert_int_equal(l->rc, -1);
	assert_int_equal(l->d.nerrors, 7);
	assert_error_at(&l->d, "out of range 0-32 for an IPv4", 2, col_of(text, 2, "192"));
	assert_error_at(&l->d, "out of range 0-128 for an IPv6", 3, col_of(text, 3, "2001"));
	assert_error_at(&l->d, "reversed range `192.0.2.9-192.0.2.1`", 4, col_of(text, 4, "192"));
	assert_error_at(&l->d, "mixes IPv4 and IPv6", 5, col_of(text, 5, "192"));
	assert_error_at(&l->d, "bad address `192.0.2.300`", 6, col_of(text, 6, "192"));
	assert_error_at(&l->d, "host names are not resolved here", 7, col_of(text, 7, "example"));
	assert_error_at(&l->d, "bad address range `192.0.2.1-foo`", 8, col_of(text, 8, "192"));
	unload(l);
}

static void test_host_names_resolved_when_asked(void **state)
{
	struct loaded *l = load_with("table root {\n    allow remote localhost\n}\n", true, false);
	assert_int_equal(l->d.nerrors, 0);
	const struct cond *c = cond_of(&l->p, 0, F_RADDR);
	assert_true(c->used);
	assert_true(vset_contains(&c->set, A("127.0.0.1")));
	assert_false(vset_contains(&c->set, A("127.0.0.2")));
	unload(l);
	/* a name that does not resolve: a warning, the name matches nothing
	 * (negated: its whole condition matches nothing), listed as unresolved */
	const char *text = "table root {\n    allow remote { no-such-host.invalid, 192.0.2.1 }\n"
			   "    allow remote ! { no-such-host.invalid }\n}\n";
	l = load_with(text, true, false);
	assert_int_equal(l->d.nerrors, 0);
	assert_true(diag_has(&l->d, DIAG_WARNING, "cannot resolve host `no-such-host.invalid`"));
	c = cond_of(&l->p, 0, F_RADDR);
	assert_true(vset_contains(&c->set, A("192.0.2.1")));
	assert_false(vset_contains(&c->set, A("192.0.2.2")));
	c = cond_of(&l->p, 1, F_RADDR);
	assert_true(c->used);
	assert_true(vset_empty(&c->set));
	assert_int_equal(l->p.nunresolved, 1);
	assert_string_equal(l->p.unresolved[0], "no-such-host.invalid");
	unload(l);
}

static void test_address_negation_is_128_bit(void **state)
{
	struct loaded *l = load_ok("addresses lan = { 192.0.2.0/24 }\n"
				   "table root {\n"
				   "    allow remote ! 192.0.2.0/24\n"
				   "    allow remote ! @lan\n"
				   "    allow remote ! { 192.0.2.0/24, 2001:db8::/32 }\n"
				   "    allow remote ! any\n"
				   "}\n");
	const struct cond *c = cond_of(&l->p, 0, F_RADDR);
	assert_true(c->used);
	assert_int_equal(c->set.n, 2);
	assert_true(vset_contains(&c->set, A("2001:db8::1"))); /* IPv6 too: intended */
	assert_true(vset_contains(&c->set, A("198.51.100.1")));
	assert_false(vset_contains(&c->set, A("192.0.2.77")));
	assert_true(vset_contains(&c->set, 0));
	assert_true(vset_contains(&c->set, ~(u128)0));
	assert_true(vset_equal(&c->set, &cond_of(&l->p, 1, F_RADDR)->set));
	assert_false(vset_contains(&cond_of(&l->p, 2, F_RADDR)->set, A("2001:db8::1")));
	/* `! any` matches nothing (but is still a condition) */
	assert_true(cond_of(&l->p, 3, F_RADDR)->used);
	assert_true(vset_empty(&cond_of(&l->p, 3, F_RADDR)->set));
	unload(l);
}

/* ---------- ports, protocols, events, directions ---------- */

static void test_port_literals(void **state)
{
	struct loaded *l = load_ok("ports netbios = { 135-139, 445 }\n"
				   "table root {\n"
				   "    allow remote port 80\n"
				   "    allow local port 1024-65535\n"
				   "    allow local port @netbios\n"
				   "    allow remote port ! { 0-1023 }\n"
				   "    allow remote port { 80, 81, 82, 8080 }\n"
				   "    allow remote port any\n"
				   "}\n");
	struct policy *p = &l->p;
	assert_one_range(cond_of(p, 0, F_RPORT), 80, 80);
	assert_one_range(cond_of(p, 1, F_LPORT), 1024, 65535);
	const struct cond *nb = cond_of(p, 2, F_LPORT);
	assert_int_equal(nb->set.n, 2);
	assert_true(vset_contains(&nb->set, 137) && vset_contains(&nb->set, 445));
	assert_false(vset_contains(&nb->set, 140));
	assert_one_range(cond_of(p, 3, F_RPORT), 1024, 65535);
	assert_int_equal(cond_of(p, 4, F_RPORT)->set.n, 2);
	assert_false(cond_of(p, 5, F_RPORT)->used);
	assert_int_equal(p->sets[0].uses, 1);
	unload(l);
}

static void test_port_errors(void **state)
{
	const char *text = "table root {\n"
			   "    allow remote port 70000\n"
			   "    allow remote port 2000-1000\n"
			   "    allow local port http\n"
			   "    allow local port 10-99999\n"
			   "}\n";
	struct loaded *l = load(text);
	assert_int_equal(l->d.nerrors, 4);
	assert_error_at(&l->d, "port 70000 out of range 0-65535", 2, col_of(text, 2, "70000"));
	assert_error_at(&l->d, "reversed range `2000-1000`", 3, col_of(text, 3, "2000"));
	assert_error_at(&l->d, "bad port `http`", 4, col_of(text, 4, "http"));
	assert_error_at(&l->d, "port 99999 out of range 0-65535", 5, col_of(text, 5, "10-"));
	unload(l);
}

static void test_proto_event_dir_family(void **state)
{
	struct loaded *l = load_ok("table root {\n"
				   "    allow in proto tcp\n"
				   "    allow out proto { udp, icmp, 132 }\n"
				   "    allow proto any event connect\n"
				   "    allow ip6 event { listen, accept }\n"
				   "    allow ip4 proto icmpv6\n"
				   "}\n");
	struct policy *p = &l->p;
	assert_one_range(cond_of(p, 0, F_DIR), DIR_IN, DIR_IN);
	assert_one_range(cond_of(p, 0, F_PROTO), 6, 6);
	assert_one_range(cond_of(p, 1, F_DIR), DIR_OUT, DIR_OUT);
	assert_int_equal(cond_of(p, 1, F_PROTO)->set.n, 3);
	assert_true(vset_contains(&cond_of(p, 1, F_PROTO)->set, 132));
	assert_false(cond_of(p, 2, F_PROTO)->used);
	assert_one_range(cond_of(p, 2, F_EVENT), EVENT_CONNECT, EVENT_CONNECT);
	assert_false(cond_of(p, 2, F_DIR)->used); /* no direction: both */
	assert_one_range(cond_of(p, 3, F_FAMILY), 6, 6);
	assert_one_range(cond_of(p, 3, F_EVENT), EVENT_LISTEN, EVENT_ACCEPT);
	assert_one_range(cond_of(p, 4, F_FAMILY), 4, 4);
	assert_one_range(cond_of(p, 4, F_PROTO), 58, 58);
	unload(l);

	const char *text = "table root {\n"
			   "    allow event conect\n"
			   "    allow proto tcpp\n"
			   "    allow proto 300\n"
			   "}\n";
	l = load(text);
	assert_int_equal(l->d.nerrors, 3);
	const struct diag_msg *m = find_msg(&l->d, DIAG_ERROR, "unknown event");
	assert_non_null(m);
	assert_string_equal(m->text, "unknown event `conect`; events are network, connect, listen, "
				     "accept, send, receive, packet");
	assert_int_equal(m->loc.line, 2);
	assert_int_equal(m->loc.col, col_of(text, 2, "conect"));
	assert_error_at(&l->d, "unknown protocol `tcpp`", 3, col_of(text, 3, "tcpp"));
	assert_error_at(&l->d, "protocol 300 out of range 0-255", 4, col_of(text, 4, "300"));
	unload(l);
}

static void test_icmp_types(void **state)
{
	struct loaded *l = load_ok("table root {\n"
				   "    allow icmp-type echo-request\n"
				   "    allow proto icmp icmp-type 3\n"
				   "    allow proto icmpv6 icmp-type 135\n"
				   "    allow proto { icmp, icmpv6 } icmp-type { 0, echo-reply }\n"
				   "    allow icmp-type neighbour-solicitation\n"
				   "}\n");
	struct policy *p = &l->p;
	const struct cond *c = cond_of(p, 0, F_ICMPTYPE);
	assert_int_equal(c->set.n, 2);
	assert_true(vset_contains(&c->set, 8));
	assert_true(vset_contains(&c->set, 256 + 128));
	assert_one_range(cond_of(p, 1, F_ICMPTYPE), 3, 3);
	assert_one_range(cond_of(p, 2, F_ICMPTYPE), 256 + 135, 256 + 135);
	c = cond_of(p, 3, F_ICMPTYPE);
	assert_true(vset_contains(&c->set, 0));
	assert_true(vset_contains(&c->set, 256));
	assert_true(vset_contains(&c->set, 256 + 129));
	assert_one_range(cond_of(p, 4, F_ICMPTYPE), 256 + 135, 256 + 135); /* IPv6 only */
	unload(l);

	const char *text = "table root {\n"
			   "    allow icmp-type 8\n"
			   "    allow proto tcp icmp-type 8\n"
			   "    allow proto icmp icmp-type 256\n"
			   "    allow icmp-type echo-requets\n"
			   "}\n";
	l = load(text);
	assert_int_equal(l->d.nerrors, 4);
	assert_error_at(&l->d, "icmp-type 8 is a number, so the rule must say `proto icmp`", 2, col_of(text, 2, "8"));
	const struct diag_msg *m = nth_msg(&l->d, DIAG_ERROR, 1);
	assert_int_equal(m->loc.line, 3);
	assert_non_null(strstr(m->text, "`proto icmpv6`"));
	assert_error_at(&l->d, "icmp-type 256 out of range 0-255", 4, col_of(text, 4, "256"));
	assert_error_at(&l->d, "unknown icmp-type `echo-requets`", 5, col_of(text, 5, "echo"));
	unload(l);
}

/* ---------- apps, interfaces, users ---------- */

static void test_apps_interned_in_order(void **state)
{
	struct loaded *l = load_ok("apps browsers = { /usr/bin/firefox, /usr/bin/curl }\n"
				   "table root {\n"
				   "    allow app /usr/bin/wget\n"
				   "    allow app //usr//bin/curl\n"
				   "    allow app @browsers\n"
				   "    allow app { /usr/bin/wget, /opt/x }\n"
				   "}\n");
	struct policy *p = &l->p;
	/* sets are resolved first, then the rules in order */
	assert_int_equal(p->napps, 4);
	assert_string_equal(p->apps[0], "/usr/bin/firefox");
	assert_string_equal(p->apps[1], "/usr/bin/curl");
	assert_string_equal(p->apps[2], "/usr/bin/wget");
	assert_string_equal(p->apps[3], "/opt/x");
	assert_int_equal(policy_app_id(p, "/usr/bin/curl"), 2);
	assert_int_equal(policy_app_id(p, "/usr//bin/curl"), 2);
	assert_int_equal(policy_app_id(p, "/usr/bin/nc"), 0);
	assert_one_range(cond_of(p, 0, F_APP), 3, 3);
	assert_one_range(cond_of(p, 1, F_APP), 2, 2); /* duplicate slashes collapsed */
	assert_one_range(cond_of(p, 2, F_APP), 1, 2);
	unload(l);
}

static void test_app_must_be_absolute(void **state)
{
	const char *text = "apps a = { bin/x }\n"
			   "table root {\n"
			   "    allow app curl\n"
			   "}\n";
	struct loaded *l = load(text);
	assert_int_equal(l->d.nerrors, 2);
	const struct diag_msg *m = find_msg(&l->d, DIAG_ERROR, "`curl`");
	assert_non_null(m);
	assert_string_equal(m->text, "application path must be absolute: `curl`");
	assert_int_equal(m->loc.line, 3);
	assert_int_equal(m->loc.col, col_of(text, 3, "curl"));
	assert_error_at(&l->d, "application path must be absolute: `bin/x`", 1, col_of(text, 1, "bin/x"));
	unload(l);
}

static void test_interfaces_and_aliases(void **state)
{
	struct loaded *l = load_ok("interface wan = eth0\n"
				   "table root {\n"
				   "    allow on lo\n"
				   "    allow on wan\n"
				   "    allow on eth0\n"
				   "    allow on { eth1, wan }\n"
				   "}\n");
	struct policy *p = &l->p;
	assert_int_equal(p->nifaces, 3);
	assert_string_equal(p->ifaces[0], "lo");
	assert_string_equal(p->ifaces[1], "eth0");
	assert_string_equal(p->ifaces[2], "eth1");
	assert_one_range(cond_of(p, 1, F_IFACE), 2, 2);
	assert_one_range(cond_of(p, 2, F_IFACE), 2, 2);
	assert_one_range(cond_of(p, 3, F_IFACE), 2, 3);
	assert_int_equal(policy_iface_id(p, "eth0"), 2);
	assert_int_equal(policy_iface_id(p, "wan"), 0); /* ids are by real name */
	assert_int_equal(policy_iface_id(p, "eth9"), 0);
	unload(l);

	const char *text = "table root {\n    allow on averyveryverylongname0\n}\n";
	l = load(text);
	assert_error_at(&l->d, "bad interface name `averyveryverylongname0`", 2, col_of(text, 2, "avery"));
	unload(l);
}

static void test_users(void **state)
{
	struct loaded *l = load_ok("table root {\n"
				   "    allow user 1000\n"
				   "    allow user { 0, 100-199 }\n"
				   "}\n");
	assert_one_range(cond_of(&l->p, 0, F_USER), 1000, 1000);
	assert_int_equal(cond_of(&l->p, 1, F_USER)->set.n, 2);
	assert_true(vset_contains(&cond_of(&l->p, 1, F_USER)->set, 150));
	unload(l);

	const char *text = "table root {\n    allow user root\n}\n";
	l = load(text);
	assert_int_equal(l->d.nerrors, 1);
	assert_error_at(&l->d, "user names are not looked up here: `root`", 2, col_of(text, 2, "root"));
	unload(l);

	l = load_with(text, false, true);
	assert_int_equal(l->d.nerrors, 0);
	assert_one_range(cond_of(&l->p, 0, F_USER), 0, 0);
	unload(l);

	text = "table root {\n    allow user no-such-user-here\n}\n";
	l = load_with(text, false, true);
	assert_error_at(&l->d, "unknown user `no-such-user-here`", 2, col_of(text, 2, "no-such"));
	unload(l);
}

/* ---------- cgroups ---------- */

static void test_cgroup_numbering(void **state)
{
	struct loaded *l = load_ok("cgroups web = { system.slice/nginx.service, /system.slice/php/ }\n"
				   "table root {\n"
				   "    allow cgroup /system.slice\n"
				   "    allow cgroup @web\n"
				   "    allow cgroup /user.slice//user-1000.slice\n"
				   "    allow cgroup /system.slice-extra\n"
				   "}\n");
	struct policy *p = &l->p;
	/* preorder: a cgroup is followed by its named descendants */
	assert_int_equal(p->ncgroups, 5);
	assert_string_equal(p->cgroups[0].path, "/system.slice");
	assert_string_equal(p->cgroups[1].path, "/system.slice/nginx.service");
	assert_string_equal(p->cgroups[2].path, "/system.slice/php");
	assert_string_equal(p->cgroups[3].path, "/system.slice-extra");
	assert_string_equal(p->cgroups[4].path, "/user.slice/user-1000.slice");
	for (int i = 0; i < p->ncgroups; i++)
		assert_int_equal(p->cgroups[i].pre, i + 1);
	assert_int_equal(p->cgroups[0].post, 3);
	assert_int_equal(p->cgroups[1].post, 2);
	assert_int_equal(p->cgroups[3].post, 4);
	assert_one_range(cond_of(p, 0, F_CGROUP), 1, 3);
	assert_one_range(cond_of(p, 1, F_CGROUP), 2, 3);
	assert_one_range(cond_of(p, 3, F_CGROUP), 4, 4);
	/* an event's value: nearest named ancestor-or-self */
	assert_int_equal(policy_cgroup_value(p, "/system.slice"), 1);
	assert_int_equal(policy_cgroup_value(p, "system.slice/"), 1);
	assert_int_equal(policy_cgroup_value(p, "/system.slice/nginx.service/x/y"), 2);
	assert_int_equal(policy_cgroup_value(p, "/system.slice/cron.service"), 1);
	assert_int_equal(policy_cgroup_value(p, "/system.slice-extra/a"), 4);
	assert_int_equal(policy_cgroup_value(p, "/user.slice"), 0);
	assert_int_equal(policy_cgroup_value(p, "/"), 0);
	unload(l);

	l = load_ok("table root {\n    allow cgroup /\n    allow cgroup /a\n}\n");
	assert_int_equal(l->p.ncgroups, 2);
	assert_string_equal(l->p.cgroups[0].path, "/");
	assert_int_equal(l->p.cgroups[0].post, 2);
	assert_int_equal(policy_cgroup_value(&l->p, "/b"), 1);
	unload(l);

	const char *text = "table root {\n    allow cgroup /a/../b\n}\n";
	l = load(text);
	assert_error_at(&l->d, "must not contain `.` or `..`", 2, col_of(text, 2, "/a/"));
	unload(l);
}

/* ---------- sets ---------- */

static void test_set_references(void **state)
{
	struct loaded *l = load_ok("addresses a = { 192.0.2.1 }\n"
				   "addresses b = { @a, 192.0.2.2 }\n"
				   "addresses c = { @b, @a, 2001:db8::1 }\n"
				   "addresses unused = { 198.51.100.1 }\n"
				   "table root {\n"
				   "    allow remote @c\n"
				   "    allow local @a\n"
				   "}\n");
	struct policy *p = &l->p;
	const struct cond *c = cond_of(p, 0, F_RADDR);
	assert_int_equal(c->set.n, 2);
	assert_one_range(cond_of(p, 1, F_LADDR), A("192.0.2.1"), A("192.0.2.1"));
	assert_true(vset_contains(&c->set, A("192.0.2.2")));
	assert_true(vset_contains(&c->set, A("2001:db8::1")));
	assert_int_equal(p->nsets, 4);
	assert_string_equal(p->sets[0].name, "a");
	assert_int_equal(p->sets[0].kind, SET_ADDRESSES);
	assert_int_equal(p->sets[0].uses, 3);
	assert_int_equal(p->sets[1].uses, 1);
	assert_int_equal(p->sets[2].uses, 1);
	assert_int_equal(p->sets[3].uses, 0);
	assert_int_equal(p->sets[1].loc.line, 2);
	unload(l);
}

static void test_set_errors(void **state)
{
	const char *text = "cgroups web = { /system.slice/nginx.service }\n" /* 1 */
			   "addresses lan = { 192.0.2.0/24 }\n"		     /* 2 */
			   "addresses x = { @y }\n"			     /* 3 */
			   "addresses y = { @x }\n"			     /* 4 */
			   "ports p = { @lan }\n"			     /* 5 */
			   "addresses lan = { 198.51.100.0/24 }\n"	     /* 6 */
			   "table root {\n"				     /* 7 */
			   "    allow remote @web\n"			     /* 8 */
			   "    allow remote @lna\n"			     /* 9 */
			   "    allow remote @nothing-like-it\n"	     /* 10 */
			   "    allow app @lan\n"			     /* 11 */
			   "}\n";
	struct loaded *l = load(text);
	const struct diag_msg *m = find_msg(&l->d, DIAG_ERROR, "set `web`");
	assert_non_null(m);
	assert_string_equal(m->text, "set `web` is a cgroups set but `remote` needs addresses");
	assert_int_equal(m->loc.line, 8);
	assert_int_equal(m->loc.col, col_of(text, 8, "@web"));
	assert_error_at(&l->d, "unknown set `@lna`; did you mean `@lan`?", 9, col_of(text, 9, "@lna"));
	assert_error_at(&l->d, "unknown set `@nothing-like-it`; declare it first", 10, col_of(text, 10, "@nothing"));
	assert_error_at(&l->d, "set `lan` is an addresses set but `app` needs apps", 11, col_of(text, 11, "@lan"));
	assert_error_at(&l->d, "set `lan` is an addresses set but set `p` needs ports", 5, col_of(text, 5, "@lan"));
	assert_error_at(&l->d, "set `lan` is already defined at line 2", 6, 1);
	m = find_msg(&l->d, DIAG_ERROR, "set cycle");
	assert_non_null(m);
	assert_string_equal(m->text, "set cycle: x -> y -> x; a set cannot contain itself");
	assert_int_equal(m->loc.line, 4);
	assert_int_equal(m->loc.col, col_of(text, 4, "@x"));
	assert_int_equal(l->d.nerrors, 7);
	unload(l);
}

/* ---------- tables and jumps ---------- */

static void test_tables_defaults_and_root(void **state)
{
	struct loaded *l = load_ok("table a {\n"
				   "    allow\n"
				   "}\n"
				   "table b default reject {\n"
				   "}\n");
	struct policy *p = &l->p;
	assert_int_equal(p->ntables, 3);
	assert_string_equal(p->tables[p->root].name, "root");
	assert_int_equal(p->tables[p->root].dflt, VERDICT_DENY);
	assert_false(p->tables[p->root].dflt_explicit);
	assert_int_equal(p->tables[p->root].loc.line, 0); /* made up: nobody wrote it */
	assert_int_equal(p->tables[p->root].nrules, 0);
	assert_int_equal(p->tables[0].dflt, VERDICT_CONTINUE);
	assert_false(p->tables[0].dflt_explicit);
	assert_int_equal(p->tables[1].dflt, VERDICT_REJECT);
	assert_true(p->tables[1].dflt_explicit);
	assert_int_equal(p->tables[1].loc.line, 4);
	unload(l);

	l = load_ok("table root {\n}\n");
	assert_int_equal(l->p.tables[l->p.root].dflt, VERDICT_DENY);
	assert_false(l->p.tables[l->p.root].dflt_explicit);
	assert_int_equal(l->p.tables[l->p.root].loc.line, 1);
	unload(l);

	l = load_ok("table root default allow {\n}\n");
	assert_int_equal(l->p.tables[l->p.root].dflt, VERDICT_ALLOW);
	assert_true(l->p.tables[l->p.root].dflt_explicit);
	unload(l);

	const char *text = "table root default continue {\n}\n";
	l = load(text);
	assert_error_at(&l->d, "table `root` cannot default to continue", 1, col_of(text, 1, "continue"));
	unload(l);
}

static void test_rule_fields(void **state)
{
	const char *text = "table root default deny {\n"
			   "    allow   out proto tcp   remote port { 80,\n"
			   "        443 }   log comment \"web # not a comment\"  # a comment\n"
			   "    jump t in\n"
			   "}\n"
			   "table t {\n"
			   "  continue  remote 192.0.2.1\n"
			   "}\n";
	struct loaded *l = load_ok(text);
	struct policy *p = &l->p;
	assert_int_equal(p->nrules, 3);
	const struct rule *r = rule_at(p, 0);
	assert_int_equal(r->id, 0);
	assert_int_equal(r->table, p->root);
	assert_int_equal(r->verdict, VERDICT_ALLOW);
	assert_true(r->log);
	assert_string_equal(r->comment, "web # not a comment");
	assert_int_equal(r->loc.line, 2);
	assert_int_equal(r->loc.col, 5);
	assert_string_equal(r->loc.file, "test.rules");
	assert_string_equal(r->text, "allow out proto tcp remote port { 80, 443 } log comment "
				     "\"web # not a comment\"");
	r = rule_at(p, 1);
	assert_int_equal(r->verdict, VERDICT_JUMP);
	assert_string_equal(p->tables[r->jump_table].name, "t");
	assert_false(r->log);
	assert_null(r->comment);
	assert_string_equal(r->text, "jump t in");
	r = rule_at(p, 2);
	assert_string_equal(r->text, "continue remote 192.0.2.1");
	assert_int_equal(r->table, 1);
	assert_int_equal(p->tables[1].nrules, 1);
	assert_int_equal(p->tables[1].rules[0], 2);
	assert_int_equal(p->tables[1].loc.line, 6);
	unload(l);
}

static void test_jump_errors(void **state)
{
	const char *text = "table root {\n"	       /* 1 */
			   "    jump a\n"	       /* 2 */
			   "    jump web-browsr\n"     /* 3 */
			   "    jump nowhere-at-all\n" /* 4 */
			   "}\n"		       /* 5 */
			   "table a {\n"	       /* 6 */
			   "    jump b proto tcp\n"    /* 7 */
			   "}\n"		       /* 8 */
			   "table b {\n"	       /* 9 */
			   "    jump a\n"	       /* 10 */
			   "    jump b\n"	       /* 11 */
			   "}\n"		       /* 12 */
			   "table web-browser {\n"     /* 13 */
			   "}\n"		       /* 14 */
			   "table a {\n"	       /* 15 */
			   "}\n";
	struct loaded *l = load(text);
	assert_error_at(&l->d, "unknown table `web-browsr` in jump; did you mean `web-browser`?", 3,
			col_of(text, 3, "web-browsr"));
	assert_error_at(&l->d, "unknown table `nowhere-at-all` in jump; define it", 4, col_of(text, 4, "nowhere"));
	const struct diag_msg *m = find_msg(&l->d, DIAG_ERROR, "jump cycle: a");
	assert_non_null(m);
	assert_non_null(strstr(m->text, "jump cycle: a -> b -> a;"));
	assert_int_equal(m->loc.line, 10); /* the jump that closes it */
	assert_int_equal(m->loc.col, 5);
	assert_error_at(&l->d, "jump cycle: b -> b;", 11, 5);
	assert_error_at(&l->d, "table `a` is already defined at line 6", 15, 1);
	assert_int_equal(l->d.nerrors, 5);
	unload(l);
}

static void test_duplicate_interfaces(void **state)
{
	const char *text = "interface wan = eth0\n"
			   "interface lan = eth1\n"
			   "interface wan = eth2\n"
			   "table root {\n}\n";
	struct loaded *l = load(text);
	assert_int_equal(l->d.nerrors, 1);
	assert_error_at(&l->d, "interface `wan` is already defined at line 1", 3, 1);
	unload(l);
}

/* ---------- options ---------- */

static void test_options(void **state)
{
	struct loaded *l = load_ok("table root {\n}\n");
	struct options *o = &l->p.opt;
	assert_int_equal(o->boot_timeout, 300);
	assert_int_equal(o->ask_timeout, 30);
	assert_int_equal(o->ask_default, VERDICT_DENY);
	assert_int_equal(o->log_rate, 10);
	assert_int_equal(o->conntrack_size, 65536);
	assert_int_equal(o->tcp_timeout, 3600);
	assert_int_equal(o->udp_timeout, 60);
	assert_int_equal(o->icmp_timeout, 30);
	assert_false(o->ancestry);
	unload(l);

	l = load_ok("option boot-timeout 120\n"
		    "option ask-timeout 15\n"
		    "option ask-default reject\n"
		    "option log-rate 5/s\n"
		    "option conntrack-size 1000\n"
		    "option tcp-timeout 7200\n"
		    "option udp-timeout 30s\n"
		    "option icmp-timeout 10\n"
		    "option ancestry on\n"
		    "table root {\n}\n");
	o = &l->p.opt;
	assert_int_equal(o->boot_timeout, 120);
	assert_int_equal(o->ask_timeout, 15);
	assert_int_equal(o->ask_default, VERDICT_REJECT);
	assert_int_equal(o->log_rate, 5);
	assert_int_equal(o->conntrack_size, 1000);
	assert_int_equal(o->tcp_timeout, 7200);
	assert_int_equal(o->udp_timeout, 30);
	assert_int_equal(o->icmp_timeout, 10);
	assert_true(o->ancestry);
	unload(l);

	l = load_ok("option log-rate 7\noption ask-default allow\noption ancestry off\ntable root {\n}\n");
	assert_int_equal(l->p.opt.log_rate, 7);
	assert_int_equal(l->p.opt.ask_default, VERDICT_ALLOW);
	assert_false(l->p.opt.ancestry);
	unload(l);

	const char *text = "option boot-timout 10\n"   /* 1 */
			   "option ask-default ask\n"  /* 2 */
			   "option log-rate fast\n"    /* 3 */
			   "option ancestry yes\n"     /* 4 */
			   "option conntrack-size 0\n" /* 5 */
			   "option colour blue\n"      /* 6 */
			   "option tcp-timeout -5\n"   /* 7 */
			   "table root {\n}\n";
	l = load(text);
	assert_int_equal(l->d.nerrors, 7);
	assert_error_at(&l->d, "unknown option `boot-timout`; did you mean `boot-timeout`?", 1, 1);
	assert_error_at(&l->d, "bad value `ask` for option ask-default: expected allow, deny or reject", 2,
			col_of(text, 2, "default ") + 8);
	assert_error_at(&l->d, "bad value `fast` for option log-rate: expected N/s or N", 3, col_of(text, 3, "fast"));
	assert_error_at(&l->d, "bad value `yes` for option ancestry: expected on or off", 4, col_of(text, 4, "yes"));
	assert_error_at(&l->d, "bad value `0` for option conntrack-size", 5, col_of(text, 5, "0"));
	assert_error_at(&l->d, "unknown option `colour`; options are boot-timeout, ask-timeout", 6, 1);
	assert_error_at(&l->d, "bad value `-5` for option tcp-timeout: expected SECONDS", 7, col_of(text, 7, "-5"));
	unload(l);

	l = load_ok("option ask-timeout 5\noption ask-timeout 6\ntable root {\n}\n");
	assert_int_equal(l->p.opt.ask_timeout, 6);
	assert_true(diag_has(&l->d, DIAG_WARNING, "option `ask-timeout` was already set at line 1"));
	unload(l);
}

/* The FTP helper's options: on by default for port 21; ports as in a rule
 * (numbers, ranges, sets), merged into at most 8 ranges. */
static void test_ftp_options(void **state)
{
	struct loaded *l = load_ok("table root {\n}\n");
	struct options *o = &l->p.opt;
	assert_true(o->ftp_helper);
	assert_int_equal(o->ftp_timeout, 30);
	assert_int_equal(o->ftp_nports, 1);
	assert_int_equal(o->ftp_ports[0].lo, 21);
	assert_int_equal(o->ftp_ports[0].hi, 21);
	unload(l);

	l = load_ok("ports ftp-alt = { 2121, 2122 }\n"
		    "option ftp-helper off\n"
		    "option ftp-timeout 10s\n"
		    "option ftp-ports { 21, @ftp-alt, 8000-8010, 2123 }\n"
		    "table root {\n}\n");
	o = &l->p.opt;
	assert_false(o->ftp_helper);
	assert_int_equal(o->ftp_timeout, 10);
	assert_int_equal(o->ftp_nports, 3); /* 21, 2121-2123, 8000-8010 */
	assert_int_equal(o->ftp_ports[1].lo, 2121);
	assert_int_equal(o->ftp_ports[1].hi, 2123);
	assert_int_equal(o->ftp_ports[2].lo, 8000);
	assert_int_equal(o->ftp_ports[2].hi, 8010);
	unload(l);

	l = load_ok("option ftp-ports 2121\ntable root {\n}\n");
	assert_int_equal(l->p.opt.ftp_nports, 1);
	assert_int_equal(l->p.opt.ftp_ports[0].lo, 2121);
	unload(l);

	const char *text = "option ftp-ports any\n"				  /* 1 */
			   "option ftp-ports { 1, 3, 5, 7, 9, 11, 13, 15, 17 }\n" /* 2 */
			   "option ftp-ports 70000\n"				  /* 3 */
			   "option ftp-helper { on }\n"				  /* 4 */
			   "option ftp-timeout 0\n"				  /* 5 */
			   "option ftp-ports @nothing\n"			  /* 6 */
			   "table root {\n}\n";
	l = load(text);
	assert_int_equal(l->d.nerrors, 6);
	assert_error_at(&l->d, "option ftp-ports needs ports (e.g. 21 or { 21, 2121 }), not `any`", 1,
			col_of(text, 1, "any"));
	assert_error_at(&l->d, "option ftp-ports names 9 separate ports or ranges; at most 8", 2, col_of(text, 2, "{"));
	assert_error_at(&l->d, "port 70000 out of range", 3, col_of(text, 3, "70000"));
	assert_error_at(&l->d, "option ftp-helper takes one value, not a list: expected on or off", 4,
			col_of(text, 4, "{"));
	assert_error_at(&l->d, "bad value `0` for option ftp-timeout", 5, col_of(text, 5, "0"));
	assert_error_at(&l->d, "unknown set `@nothing`", 6, col_of(text, 6, "@nothing"));
	unload(l);
}

/* Every error is reported, not just the first; the policy still frees. */
static void test_all_errors_reported(void **state)
{
	const char *text = "table root {\n"
			   "    allow remote 192.0.2.1/40\n"
			   "    allow app relative\n"
			   "    allow remote port 65536\n"
			   "    jump missing\n"
			   "}\n";
	struct loaded *l = load(text);
	assert_int_equal(l->rc, -1);
	assert_int_equal(l->d.nerrors, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nth_msg(&l->d, DIAG_ERROR, i)->loc.line, i + 2);
	/* the good parts are still there */
	assert_int_equal(l->p.nrules, 4);
	unload(l);
}

/* Sources stay with the policy: locations and messages remain valid. */
static void test_policy_owns_sources(void **state)
{
	struct policy p;
	struct captured c;
	struct load_opts o = { 0 };
	captured_init(&c, NULL);
	assert_int_equal(policy_load_string(&p, "mine.rules", "table root {\n    allow app x\n}\n", &o, &c.d), -1);
	/* the diag quotes the offending line from the policy's own sources */
	assert_ptr_equal(c.d.srcs, &p.srcs);
	assert_non_null(strstr(captured_text(&c), "mine.rules:2:15: error"));
	assert_non_null(strstr(captured_text(&c), "    allow app x"));
	assert_string_equal(p.main_file, "mine.rules");
	assert_int_equal(p.srcs.n, 1);
	assert_ptr_equal(p.rules[0].loc.file, p.srcs.v[0]->name);
	policy_free(&p);
	assert_int_equal(p.nrules, 0);
	captured_free(&c);

	/* a missing file is an error, not a crash */
	struct diag d;
	diag_init(&d, NULL, NULL);
	assert_int_equal(policy_load_file(&p, "/nonexistent/policy.rules", &o, &d), -1);
	assert_true(diag_has(&d, DIAG_ERROR, "cannot read policy /nonexistent/policy.rules"));
	policy_free(&p);
	diag_free(&d);
}

static void test_load_file_with_include(void **state)
{
	char *dir = make_temp_dir();
	char *inc = write_temp_file(dir, "sets.rules", "addresses lan = { 192.0.2.0/24 }\n");
	char *main_text;
	assert_true(asprintf(&main_text, "include \"%s\"\ntable root {\n    allow remote @lan\n}\n", inc) > 0);
	char *path = write_temp_file(dir, "main.rules", main_text);
	struct policy p;
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, NULL, NULL);
	assert_int_equal(policy_load_file(&p, path, &o, &d), 0);
	assert_int_equal(p.srcs.n, 2);
	assert_string_equal(p.sets[0].loc.file, inc);
	assert_int_equal(p.sets[0].uses, 1);
	assert_string_equal(p.rules[0].text, "allow remote @lan");
	policy_free(&p);
	diag_free(&d);
	remove_tree(dir);
	free(dir);
	free(inc);
	free(path);
	free(main_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_literals),
		cmocka_unit_test(test_host_bits_warning),
		cmocka_unit_test(test_address_errors),
		cmocka_unit_test(test_host_names_resolved_when_asked),
		cmocka_unit_test(test_address_negation_is_128_bit),
		cmocka_unit_test(test_port_literals),
		cmocka_unit_test(test_port_errors),
		cmocka_unit_test(test_proto_event_dir_family),
		cmocka_unit_test(test_icmp_types),
		cmocka_unit_test(test_apps_interned_in_order),
		cmocka_unit_test(test_app_must_be_absolute),
		cmocka_unit_test(test_interfaces_and_aliases),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_cgroup_numbering),
		cmocka_unit_test(test_set_references),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_tables_defaults_and_root),
		cmocka_unit_test(test_rule_fields),
		cmocka_unit_test(test_jump_errors),
		cmocka_unit_test(test_duplicate_interfaces),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_ftp_options),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_policy_owns_sources),
		cmocka_unit_test(test_load_file_with_include),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
