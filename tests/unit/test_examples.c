/* The example policies do what their source documents say. */
#include "judge.h"

#define EX "policy/examples/"

struct ex {
	struct policy *p;
	char *text;
};

static struct ex load_ex(const char *path)
{
	struct ex e = { load_policy_file_ok(path), slurp(path) };
	return e;
}

static void free_ex(struct ex *e)
{
	free_policy(e->p);
	free(e->text);
}

static int warnings_of(const char *path, const char *needle)
{
	struct policy p;
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, NULL, NULL);
	assert_int_equal(policy_load_file(&p, path, &o, &d), 0);
	lint_policy(&p, &d);
	int n = 0;
	for (int i = 0; i < d.nmsgs; i++)
		if (d.msgs[i].level == DIAG_WARNING && (!needle || strstr(d.msgs[i].text, needle)))
			n++;
	diag_free(&d);
	policy_free(&p);
	return n;
}

/* Every example loads without errors. */
static void test_all_examples_load(void **state)
{
	const char *files[] = { EX "kerio-adsl-host.rules", EX "kerio-ics-gateway.rules",
				EX "netbios.rules",	    EX "active-ftp.rules",
				EX "isp-keepalive.rules",   EX "loopback.rules",
				EX "udp-dns-dhcp.rules",    EX "identd.rules",
				EX "jetico.rules",	    EX "spec-example.rules",
				"policy/default.rules" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct policy *p = load_policy_file_ok(files[i]);
		assert_true(p->nrules > 0);
		free_policy(p);
	}
}

/* Kerio, single host on ADSL. */
static void test_kerio_adsl_host(void **state)
{
	struct ex e = load_ex(EX "kerio-adsl-host.rules");
	int netbios = line_of(e.text, "deny in proto { tcp, udp } local port @netbios");
	int stealth = line_of(e.text, "deny in log");

	struct judged j = judge(e.p, "in proto tcp remote 203.0.113.9 port 40000 local port 445");
	assert_judged(j, VERDICT_DENY, "root", netbios);
	assert_true(j.log);
	assert_judged(judge(e.p, "in proto udp remote 203.0.113.9 port 137 local port 137"), VERDICT_DENY, "root",
		      netbios);
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.80 port 443"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow out "));
	assert_judged(judge(e.p, "in proto icmp icmp-type echo-request remote 198.51.100.1"), VERDICT_ALLOW, "root",
		      line_of(e.text, "ISP keep-alive"));
	assert_judged(judge(e.p, "in proto icmp icmp-type echo-request remote 198.51.100.2"), VERDICT_DENY, "root",
		      stealth);
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.9 port 40000 local port 22"), VERDICT_DENY, "root",
		      stealth);
	assert_judged(judge(e.p, "in proto tcp on lo remote 127.0.0.1 port 40000 local port 445"), VERDICT_ALLOW,
		      "root", line_of(e.text, "allow on lo"));
	assert_int_equal(warnings_of(EX "kerio-adsl-host.rules", NULL), 0);
	free_ex(&e);
}

/* Kerio/ICS gateway: LAN hosts pass through; the catch-all deny is last. */
static void test_kerio_ics_gateway(void **state)
{
	struct ex e = load_ex(EX "kerio-ics-gateway.rules");
	int catchall = line_of(e.text, "deny log");

	assert_judged(judge(e.p, "out event packet proto tcp on eth1 local 192.0.2.10 port 40000 "
				 "remote 198.51.100.80 port 80"),
		      VERDICT_ALLOW, "root", line_of(e.text, "allow out local @lan-hosts"));
	struct judged j = judge(e.p, "in event packet proto tcp on eth0 remote 203.0.113.9 port 4444 "
				     "local 192.0.2.10 port 22");
	assert_judged(j, VERDICT_DENY, "root", catchall);
	assert_true(j.log);
	assert_judged(judge(e.p, "in proto udp on eth1 remote 192.0.2.20 port 5353 local port 53"), VERDICT_ALLOW,
		      "root", line_of(e.text, "allow in on lan"));
	assert_judged(judge(e.p, "in proto udp on eth0 remote 203.0.113.20 port 5353 local port 53"), VERDICT_DENY,
		      "root", catchall);
	/* the catch-all is the last rule of root, as the document insists */
	const struct table *root = &e.p->tables[e.p->root];
	assert_int_equal(e.p->rules[root->rules[root->nrules - 1]].loc.line, catchall);
	free_ex(&e);
}

/* NetBIOS blocked near the top; moved below an allow it is never reached. */
static void test_netbios(void **state)
{
	struct ex e = load_ex(EX "netbios.rules");
	int deny = line_of(e.text, "deny in proto");
	for (int port = 135; port <= 139; port++) {
		char ev[128];
		snprintf(ev, sizeof(ev), "in proto tcp remote 203.0.113.5 port 1025 local port %d", port);
		assert_judged(judge(e.p, ev), VERDICT_DENY, "root", deny);
	}
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.5 port 1025 local port 445"), VERDICT_DENY, "root",
		      deny);
	assert_judged(judge(e.p, "in proto udp remote 203.0.113.5 port 1025 local port 137"), VERDICT_DENY, "root",
		      deny);
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.5 port 1025 local port 140"), VERDICT_DENY, "root", 0);
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.5 port 1025 local port 22"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow in proto tcp local port"));
	free_ex(&e);

	/* "if the first rule denies any connection, you can have all the permit
	 * rules below, it won't work" -- and the reverse: a deny below a
	 * covering allow is reported. */
	struct policy p;
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, NULL, NULL);
	assert_int_equal(policy_load_string(&p, "late.rules",
					    "table root default deny {\n"
					    "    allow in proto tcp\n"
					    "    deny in proto tcp local port { 135-139, 445 }\n"
					    "}\n",
					    &o, &d),
			 0);
	lint_policy(&p, &d);
	assert_true(diag_has(&d, DIAG_WARNING, "never match"));
	assert_true(diag_has(&d, DIAG_WARNING, "line 2"));
	diag_free(&d);
	policy_free(&p);
}

/* Active FTP: no source-port-20 rule and no passive port range; the
 * policy allows only the control connection (the FTP helper admits the
 * announced data connections: tests/kernel/test_datapath.c, t_ftp.sh). */
static void test_active_ftp(void **state)
{
	struct ex e = load_ex(EX "active-ftp.rules");
	assert_int_equal(warnings_of(EX "active-ftp.rules", "remote (source) port"), 0);
	assert_true(e.p->opt.ftp_helper);
	assert_int_equal(e.p->opt.ftp_nports, 1);
	assert_int_equal(e.p->opt.ftp_ports[0].lo, 21);
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.21 port 21"), VERDICT_ALLOW, "root",
		      line_of(e.text, "control connections"));
	/* what Kerio's rules would let in or out, the policy does not */
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.21 port 20 local port 50000"), VERDICT_DENY, "root",
		      line_of(e.text, "deny in log"));
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.66 port 20 local port 22"), VERDICT_DENY, "root",
		      line_of(e.text, "deny in log"));
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.21 port 50000"), VERDICT_DENY, "root", 0);
	free_ex(&e);
}

/* Cable-modem keep-alive pings from the ISP only. */
static void test_isp_keepalive(void **state)
{
	struct ex e = load_ex(EX "isp-keepalive.rules");
	assert_judged(judge(e.p, "in proto icmp icmp-type echo-request remote 198.51.100.3"), VERDICT_ALLOW, "root",
		      line_of(e.text, "ISP keep-alive"));
	struct judged j = judge(e.p, "in proto icmp icmp-type echo-request remote 203.0.113.5");
	assert_judged(j, VERDICT_DENY, "root", line_of(e.text, "everyone else"));
	assert_true(j.log);
	assert_judged(judge(e.p, "in proto icmp icmp-type echo-request remote 198.51.100.16"), VERDICT_DENY, "root",
		      line_of(e.text, "everyone else"));
	assert_judged(judge(e.p, "out proto icmp icmp-type echo-request remote 203.0.113.5"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow out"));
	free_ex(&e);
}

/* Loopback: everything on lo and to loopback addresses. */
static void test_loopback(void **state)
{
	struct ex e = load_ex(EX "loopback.rules");
	assert_judged(judge(e.p, "in proto udp on lo remote 192.0.2.1 port 1459 local port 1459"), VERDICT_ALLOW,
		      "root", line_of(e.text, "allow on lo"));
	assert_judged(judge(e.p, "in proto udp remote 127.0.0.1 port 1459 local port 1459"), VERDICT_ALLOW, "root",
		      line_of(e.text, "loopback addresses"));
	assert_judged(judge(e.p, "in proto tcp remote ::1 port 40000 local port 25"), VERDICT_ALLOW, "root",
		      line_of(e.text, "loopback addresses"));
	assert_judged(judge(e.p, "in proto tcp remote 192.0.2.1 port 40000 local port 25"), VERDICT_DENY, "root", 0);
	free_ex(&e);
}

/* UDP only for DNS and DHCP. */
static void test_udp_dns_dhcp(void **state)
{
	struct ex e = load_ex(EX "udp-dns-dhcp.rules");
	int noudp = line_of(e.text, "deny proto udp log");
	assert_judged(judge(e.p, "out proto udp remote 192.0.2.53 port 53"), VERDICT_ALLOW, "root",
		      line_of(e.text, "\"DNS\""));
	assert_judged(judge(e.p, "out proto udp remote 2001:db8::53 port 53"), VERDICT_ALLOW, "root",
		      line_of(e.text, "\"DNS\""));
	assert_judged(judge(e.p, "out proto udp remote 198.51.100.1 port 53"), VERDICT_DENY, "root", noudp);
	assert_judged(judge(e.p, "out proto udp local port 68 remote 255.255.255.255 port 67"), VERDICT_ALLOW, "root",
		      line_of(e.text, "DHCP client"));
	assert_judged(judge(e.p, "in proto udp local port 68 remote 192.0.2.1 port 67"), VERDICT_ALLOW, "root",
		      line_of(e.text, "DHCP offers"));
	assert_judged(judge(e.p, "out proto udp remote 198.51.100.123 port 123"), VERDICT_DENY, "root", noudp);
	assert_judged(judge(e.p, "in proto udp remote 203.0.113.1 port 53 local port 5353"), VERDICT_DENY, "root",
		      noudp);
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.80 port 443"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow out proto tcp"));
	free_ex(&e);
}

/* identd: 113 from the mail server only; others refused at once. */
static void test_identd(void **state)
{
	struct ex e = load_ex(EX "identd.rules");
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.25 port 40000 local port 113"), VERDICT_ALLOW, "root",
		      line_of(e.text, "identd for our mail server"));
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.26 port 40000 local port 113"), VERDICT_REJECT, "root",
		      line_of(e.text, "refuse at once"));
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.25 port 40000 local port 25"), VERDICT_DENY, "root",
		      0);
	free_ex(&e);
}

/* Jetico chapter 3: Events 1, 2 (ask, then "handle as Web Browser") and 3. */
static void test_jetico_events(void **state)
{
	struct ex e = load_ex(EX "jetico.rules");
	/* Event 1: explorer's access to network, allowed by System Applications */
	struct judged j = judge(e.p, "event network proto tcp app /usr/bin/gnome-shell");
	assert_judged(j, VERDICT_ALLOW, "system-applications", line_of(e.text, "explorer.exe\""));
	assert_int_equal(j.nrecorded, 2); /* jump application, jump system-applications */
	/* Event 2: iexplorer: System Applications returns (default continue), Ask User asks */
	j = judge(e.p, "event network proto tcp app /usr/bin/firefox");
	assert_judged(j, VERDICT_ASK, "ask-user", line_of(e.text, "ask the user"));
	assert_int_equal(j.nrecorded, 3);
	/* a network event has no address: the zones cannot match it */
	j = judge(e.p, "event network proto tcp app /usr/bin/wget");
	assert_judged(j, VERDICT_ALLOW, "web-browser", line_of(e.text, "allow event network\n"));

	/* The user answers "handle as Web Browser": a rule just before `ask`. */
	char *at = strstr(e.text, "    ask ");
	assert_non_null(at);
	char *learned = malloc(strlen(e.text) + 128);
	sprintf(learned, "%.*s    jump web-browser app /usr/bin/firefox\n%s", (int)(at - e.text), e.text, at);
	struct policy *p = load_policy_text_ok(learned);
	j = judge(p, "event network proto tcp app /usr/bin/firefox");
	assert_judged(j, VERDICT_ALLOW, "web-browser", line_of(learned, "allow event network\n"));
	/* Event 3: outbound connection to port 80 */
	j = judge(p, "out proto tcp remote 198.51.100.80 port 80 app /usr/bin/firefox");
	assert_judged(j, VERDICT_ALLOW, "web-browser", line_of(learned, "allow out proto tcp remote port"));
	/* ... but not to 22, and inbound is rejected by the Web Browser table */
	j = judge(p, "out proto tcp remote 198.51.100.80 port 22 app /usr/bin/firefox");
	assert_judged(j, VERDICT_ASK, "ask-user", line_of(learned, "ask the user"));
	j = judge(p, "in proto tcp remote 198.51.100.80 port 40000 local port 8080 app /usr/bin/firefox");
	assert_judged(j, VERDICT_REJECT, "web-browser", line_of(learned, "reject in"));
	/* zones come first whatever the application */
	j = judge(p, "out proto tcp remote 203.0.113.7 port 80 app /usr/bin/firefox");
	assert_judged(j, VERDICT_REJECT, "application", line_of(learned, "1 Blocked Zone"));
	j = judge(p, "out proto tcp remote 192.0.2.7 port 22 app /usr/bin/unknown");
	assert_judged(j, VERDICT_ALLOW, "application", line_of(learned, "2 Trusted Zone"));
	free_policy(p);
	free(learned);
	free_ex(&e);
}

/* The example of docs/policy.md and the acceptance events. */
static void test_spec_example(void **state)
{
	struct ex e = load_ex(EX "spec-example.rules");
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.9 port 80 app /usr/bin/curl event connect"),
		      VERDICT_ALLOW, "web-browser", line_of(e.text, "allow out proto tcp"));
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.9 port 22 app /usr/bin/curl event connect"),
		      VERDICT_ASK, "ask-user", 0);
	struct judged j = judge(e.p, "out proto tcp remote 203.0.113.1 port 80 app /usr/bin/curl");
	assert_judged(j, VERDICT_DENY, "root", line_of(e.text, "deny remote @blocked"));
	assert_true(j.log);
	assert_judged(judge(e.p, "in proto tcp remote 192.0.2.9 port 3333 local port 445"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow remote @trusted"));
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.9 port 3333 local port 445"), VERDICT_DENY, "root",
		      line_of(e.text, "deny in proto"));
	assert_judged(judge(e.p, "in proto tcp remote 198.51.100.9 port 3333 local port 8080 app /usr/bin/wget"),
		      VERDICT_REJECT, "web-browser", line_of(e.text, "reject in"));
	assert_judged(judge(e.p, "event network app /usr/bin/wget"), VERDICT_ALLOW, "web-browser",
		      line_of(e.text, "allow event network"));
	assert_judged(judge(e.p, "event network app /usr/bin/nc"), VERDICT_ASK, "ask-user", 0);
	free_ex(&e);
}

/* The shipped default: outbound yes, inbound no, DHCP and IPv6 working. */
static void test_default_policy(void **state)
{
	struct ex e = load_ex("policy/default.rules");
	int inbound = line_of(e.text, "deny in log");
	assert_judged(judge(e.p, "out proto tcp remote 198.51.100.80 port 443"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow out"));
	assert_judged(judge(e.p, "out proto udp remote 2001:db8::53 port 53"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow out"));
	struct judged j = judge(e.p, "in proto tcp remote 203.0.113.9 port 40000 local port 22");
	assert_judged(j, VERDICT_DENY, "root", inbound);
	assert_true(j.log);
	assert_judged(judge(e.p, "in proto udp remote 192.0.2.1 port 67 local 255.255.255.255 port 68"), VERDICT_ALLOW,
		      "root", line_of(e.text, "DHCPv4"));
	assert_judged(judge(e.p, "in proto udp remote fe80::1 port 547 local fe80::2 port 546"), VERDICT_ALLOW, "root",
		      line_of(e.text, "DHCPv6"));
	assert_judged(judge(e.p, "in proto icmpv6 icmp-type router-advertisement remote fe80::1"), VERDICT_ALLOW,
		      "root", line_of(e.text, "autoconfiguration"));
	assert_judged(judge(e.p, "in proto icmp icmp-type echo-request remote 203.0.113.9"), VERDICT_DENY, "root",
		      inbound);
	assert_judged(judge(e.p, "in proto tcp on lo remote 127.0.0.1 port 40000 local port 22"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow on lo"));
	/* a server may listen; the connections it would accept are still denied */
	assert_judged(judge(e.p, "event listen proto tcp local port 22 app /usr/sbin/sshd"), VERDICT_ALLOW, "root",
		      line_of(e.text, "allow event listen"));
	assert_judged(judge(e.p, "in proto tcp remote 203.0.113.9 port 40000 local port 22 app /usr/sbin/sshd"),
		      VERDICT_DENY, "root", inbound);
	assert_int_equal(warnings_of("policy/default.rules", NULL), 0);
	free_ex(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_examples_load),
		cmocka_unit_test(test_kerio_adsl_host),
		cmocka_unit_test(test_kerio_ics_gateway),
		cmocka_unit_test(test_netbios),
		cmocka_unit_test(test_active_ftp),
		cmocka_unit_test(test_isp_keepalive),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_udp_dns_dhcp),
		cmocka_unit_test(test_identd),
		cmocka_unit_test(test_jetico_events),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_default_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
