/* Events written in rule-condition syntax (`rampart explain`): what is
 * carried, what is inferred, and errors with their columns. */
#include "testutil.h"

static struct policy P;

static int setup(void **state)
{
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, NULL, NULL);
	int rc = policy_load_string(&P, "ev.rules",
				    "interface wan = eth0\n"
				    "cgroups web = { /system.slice/nginx.service }\n"
				    "table root {\n"
				    "    allow on lo\n"
				    "    allow on wan\n"
				    "    allow app /usr/bin/curl\n"
				    "    allow app /usr/bin/wget\n"
				    "    allow cgroup /system.slice\n"
				    "    allow cgroup @web\n"
				    "}\n",
				    &o, &d);
	diag_free(&d);
	return rc;
}

static int teardown(void **state)
{
	policy_free(&P);
	return 0;
}

static struct event ok(const char *text)
{
	struct event ev;
	struct captured c;
	captured_init(&c, NULL);
	if (event_parse(&ev, &P, text, &c.d) != 0 || c.d.nerrors)
		fail_msg("event `%s`: %s", text, captured_text(&c));
	captured_free(&c);
	return ev;
}

#define assert_field(ev, f, v)                         \
	do {                                           \
		assert_true((ev).has[f]);              \
		assert_true((ev).val[f] == (u128)(v)); \
	} while (0)

static int carried(const struct event *ev)
{
	int n = 0;
	for (int f = 0; f < F_COUNT; f++)
		n += ev->has[f];
	return n;
}

static void test_tcp_inference(void **state)
{
	struct event e = ok("out proto tcp remote 192.0.2.1 port 80");
	assert_field(e, F_EVENT, EVENT_CONNECT);
	assert_field(e, F_DIR, DIR_OUT);
	assert_field(e, F_FAMILY, 4);
	assert_field(e, F_PROTO, 6);
	u128 a;
	addr_parse("192.0.2.1", &a, NULL);
	assert_field(e, F_RADDR, a);
	assert_field(e, F_RPORT, 80);
	assert_false(e.has[F_LPORT]);
	assert_false(e.has[F_LADDR]);
	assert_false(e.has[F_APP]);
	assert_false(e.has[F_USER]);
	assert_int_equal(carried(&e), 6);

	e = ok("in proto tcp remote 203.0.113.5 port 40000 local port 80");
	assert_field(e, F_EVENT, EVENT_ACCEPT);
	assert_field(e, F_DIR, DIR_IN);
	assert_field(e, F_LPORT, 80);
	assert_field(e, F_RPORT, 40000);

	/* no direction: tcp defaults to an outbound connection */
	e = ok("proto tcp remote 192.0.2.1 port 443");
	assert_field(e, F_EVENT, EVENT_CONNECT);
	assert_field(e, F_DIR, DIR_OUT);

	/* listen is inbound, and needs no address */
	e = ok("event listen proto tcp local port 8080");
	assert_field(e, F_EVENT, EVENT_LISTEN);
	assert_field(e, F_DIR, DIR_IN);
	assert_false(e.has[F_FAMILY]);

	/* a v4-mapped peer of a dual-stack socket is an IPv4 peer to the kernel */
	e = ok("out proto tcp remote ::ffff:192.0.2.1 port 80");
	assert_field(e, F_FAMILY, 4);
	assert_field(e, F_RADDR, a);
}

static void test_udp_and_packet_inference(void **state)
{
	struct event e = ok("out proto udp remote 2001:db8::53 port 53");
	assert_field(e, F_EVENT, EVENT_SEND);
	assert_field(e, F_DIR, DIR_OUT);
	assert_field(e, F_FAMILY, 6);
	e = ok("in proto udp remote 192.0.2.1 port 67 local port 68");
	assert_field(e, F_EVENT, EVENT_RECEIVE);
	assert_field(e, F_DIR, DIR_IN);

	e = ok("in proto icmp icmp-type echo-request remote 192.0.2.1");
	assert_field(e, F_EVENT, EVENT_PACKET);
	assert_field(e, F_DIR, DIR_IN);
	assert_field(e, F_FAMILY, 4);
	assert_field(e, F_ICMPTYPE, 8);
	e = ok("out proto icmp icmp-type 8");
	assert_field(e, F_EVENT, EVENT_PACKET);
	assert_field(e, F_DIR, DIR_OUT);
	assert_field(e, F_FAMILY, 4); /* from proto icmp */
	/* packet without a direction: in */
	e = ok("proto icmpv6 icmp-type echo-request");
	assert_field(e, F_DIR, DIR_IN);
	assert_field(e, F_FAMILY, 6);
	assert_field(e, F_ICMPTYPE, 256 + 128);
	/* icmp-type alone implies the ICMP of the family */
	e = ok("icmp-type echo-request remote 2001:db8::1");
	assert_field(e, F_PROTO, 58);
	assert_field(e, F_ICMPTYPE, 256 + 128);
	e = ok("icmp-type 3 remote 192.0.2.1");
	assert_field(e, F_PROTO, 1);
	assert_field(e, F_ICMPTYPE, 3);
	/* other protocols are packets too */
	e = ok("in proto gre remote 192.0.2.1");
	assert_field(e, F_EVENT, EVENT_PACKET);
	e = ok("in remote 192.0.2.1");
	assert_field(e, F_EVENT, EVENT_PACKET);
	assert_false(e.has[F_PROTO]);
	/* sctp carries ports */
	e = ok("out proto sctp remote 192.0.2.1 port 9");
	assert_field(e, F_RPORT, 9);
	assert_field(e, F_EVENT, EVENT_PACKET);
	/* a forwarded packet: event packet, whatever the proto */
	e = ok("out event packet proto tcp on eth1 local 192.0.2.10 port 40000 remote 198.51.100.80 port 80");
	assert_field(e, F_EVENT, EVENT_PACKET);
	assert_field(e, F_DIR, DIR_OUT);
	assert_field(e, F_LPORT, 40000);
}

static void test_network_inference(void **state)
{
	struct event e = ok("app /usr/bin/curl");
	assert_field(e, F_EVENT, EVENT_NETWORK);
	assert_field(e, F_DIR, DIR_OUT);
	assert_field(e, F_APP, 1);
	assert_string_equal(e.app, "/usr/bin/curl");
	assert_false(e.has[F_FAMILY]);
	assert_false(e.has[F_RADDR]);
	assert_int_equal(carried(&e), 3);
	e = ok("user 1000");
	assert_field(e, F_EVENT, EVENT_NETWORK);
	assert_field(e, F_USER, 1000);
	e = ok("cgroup /system.slice/nginx.service/worker");
	assert_field(e, F_EVENT, EVENT_NETWORK);
	e = ok("event network proto tcp app /usr/bin/wget ip6");
	assert_field(e, F_EVENT, EVENT_NETWORK);
	assert_field(e, F_PROTO, 6);
	assert_field(e, F_FAMILY, 6);
	assert_field(e, F_APP, 2);
	/* an app with a remote address is not a network event */
	e = ok("app /usr/bin/curl remote 192.0.2.1");
	assert_field(e, F_EVENT, EVENT_PACKET);
}

static void test_ids_from_the_policy(void **state)
{
	struct event e = ok("in proto tcp on lo remote 127.0.0.1 port 4000 local port 22");
	assert_field(e, F_IFACE, 1);
	assert_string_equal(e.iface, "lo");
	e = ok("in proto tcp on eth0 remote 192.0.2.1 port 4000 local port 22");
	assert_field(e, F_IFACE, 2); /* the wan alias is eth0 */
	e = ok("in proto tcp on eth7 remote 192.0.2.1 port 4000 local port 22");
	assert_field(e, F_IFACE, 0); /* carried, but not named in the policy */
	assert_string_equal(e.iface, "eth7");
	e = ok("app /usr/bin/nc");
	assert_field(e, F_APP, 0);
	e = ok("app //usr/bin//wget");
	assert_field(e, F_APP, 2);
	assert_string_equal(e.app, "/usr/bin/wget");
	e = ok("cgroup /system.slice/nginx.service");
	assert_field(e, F_CGROUP, policy_cgroup_value(&P, "/system.slice/nginx.service"));
	assert_true(e.val[F_CGROUP] == 2);
	e = ok("cgroup system.slice/cron.service/");
	assert_field(e, F_CGROUP, 1);
	assert_string_equal(e.cgroup, "/system.slice/cron.service");
	e = ok("cgroup /user.slice");
	assert_field(e, F_CGROUP, 0);
	e = ok("user root");
	assert_field(e, F_USER, 0);
	e = ok("in proto tcp remote ::ffff:192.0.2.1 port 1 local port 2");
	u128 a;
	addr_parse("192.0.2.1", &a, NULL);
	assert_field(e, F_RADDR, a);
}

/* Errors: message and column. */
static void expect_error(const char *text, const char *needle, int col)
{
	struct event ev;
	struct diag d;
	diag_init(&d, NULL, NULL);
	assert_int_equal(event_parse(&ev, &P, text, &d), -1);
	const struct diag_msg *m = find_msg(&d, DIAG_ERROR, needle);
	if (!m)
		fail_msg("`%s`: no error containing \"%s\" (%s)", text, needle, d.nmsgs ? d.msgs[0].text : "none");
	assert_int_equal(m->loc.line, 1);
	assert_int_equal(m->loc.col, col);
	assert_string_equal(m->loc.file, "event"); /* still valid after event_parse */
	diag_free(&d);
}

static void test_errors(void **state)
{
	expect_error("in event connect", "`in` contradicts event connect, which is always out", 1);
	expect_error("out event accept proto tcp", "`out` contradicts event accept", 1);
	expect_error("out proto tcp remote 192.0.2.300", "bad address `192.0.2.300`", 22);
	expect_error("out proto tcp remote 192.0.2.0/24", "an event has a single IPv4 or IPv6", 22);
	expect_error("out proto tcp remote", "missing address or `port` after `remote`", 22);
	expect_error("out proto tcp remote port", "missing port number after `port`", 27);
	expect_error("out proto tcp remote port 70000", "bad port `70000`", 27);
	expect_error("out proto icmp remote 192.0.2.1 port 80",
		     "ports are only carried by tcp, udp, sctp and udplite events", 33);
	expect_error("remote port 80", "ports are only carried", 8);
	expect_error("out proto tcp frobnicate", "unknown word `frobnicate` in event", 15);
	expect_error("event conect", "unknown event `conect`; events are network", 7);
	expect_error("proto tcp proto udp", "`proto` given twice", 11);
	expect_error("proto tcpp", "unknown protocol `tcpp`", 7);
	expect_error("local 192.0.2.1 remote 2001:db8::1", "different families", 17);
	expect_error("ip6 remote 192.0.2.1", "`ip6` contradicts the event's IPv4 addresses", 1);
	expect_error("app curl", "application path must be absolute: `curl`", 5);
	expect_error("", "empty event", 1);
	expect_error("out remote { 192.0.2.1 }", "unexpected `{` in event", 12);
	expect_error("proto tcp icmp-type echo-request", "needs proto icmp or icmpv6", 21);
	expect_error("proto icmp icmp-type neighbour-solicitation", "does not exist in ICMP (IPv4)", 22);
	expect_error("proto icmp remote 2001:db8::1", "does not go with IPv6", 1);
	expect_error("icmp-type bogus", "unknown icmp-type `bogus`", 11);
	expect_error("cgroup /a/../b", "bad cgroup path", 8);
	expect_error("user no-such-user-here", "unknown user `no-such-user-here`", 6);
	expect_error("on", "missing interface name after `on`", 4);
}

static void test_format_roundtrip(void **state)
{
	const char *events[] = {
		"out proto tcp remote 192.0.2.1 port 80 app /usr/bin/curl",
		"in proto udp local 2001:db8::2 port 53 remote 2001:db8::1 port 5353 on lo",
		"in proto icmpv6 icmp-type neighbour-solicitation remote fe80::1",
		"event network app /usr/bin/wget cgroup /system.slice/nginx.service user 33",
		"event listen proto tcp local port 22",
	};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct event a = ok(events[i]), b;
		char buf[512];
		event_format(&a, buf, sizeof(buf));
		b = ok(buf);
		for (int f = 0; f < F_COUNT; f++) {
			assert_int_equal(a.has[f], b.has[f]);
			assert_true(a.val[f] == b.val[f]);
		}
	}
	struct event e = ok("out proto tcp remote 192.0.2.1 port 80 app /usr/bin/curl");
	char buf[512];
	event_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "out event connect proto tcp ip4 remote 192.0.2.1 port 80 "
				 "app /usr/bin/curl");
	e = ok("in proto icmp icmp-type echo-request remote 192.0.2.9");
	event_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "in event packet proto icmp ip4 remote 192.0.2.9 icmp-type "
				 "echo-request");
	/* a short buffer is cut, never overrun */
	char tiny[12];
	memset(tiny, 'x', sizeof(tiny));
	event_format(&e, tiny, 8);
	assert_int_equal(strlen(tiny), 7);
	assert_int_equal(tiny[11], 'x');
}

/* A diag without a source registry quotes the event text while printing. */
static void test_error_quotes_event_text(void **state)
{
	struct captured c;
	struct event ev;
	captured_init(&c, NULL);
	assert_int_equal(event_parse(&ev, &P, "out proto tcp remote 192.0.2.x", &c.d), -1);
	const char *out = captured_text(&c);
	assert_non_null(strstr(out, "event:1:22: error: bad address `192.0.2.x`"));
	assert_non_null(strstr(out, "  out proto tcp remote 192.0.2.x\n"));
	assert_non_null(strstr(out, "                       ^"));
	assert_null(c.d.srcs); /* left as it was */
	captured_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_inference),
		cmocka_unit_test(test_udp_and_packet_inference),
		cmocka_unit_test(test_network_inference),
		cmocka_unit_test(test_ids_from_the_policy),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_error_quotes_event_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
