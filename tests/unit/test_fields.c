/* Names of verdicts, events, fields, protocols and ICMP types. */
#include "testutil.h"

static void test_verdict_names_round_trip(void **state)
{
	const char *names[] = { "allow", "deny", "reject", "ask", "continue", "jump" };
	for (int v = 0; v < VERDICT_COUNT; v++) {
		enum verdict out = VERDICT_COUNT;
		assert_string_equal(verdict_name(v), names[v]);
		assert_true(verdict_from_name(names[v], &out));
		assert_int_equal(out, v);
	}
	enum verdict out;
	assert_false(verdict_from_name("Allow", &out));
	assert_false(verdict_from_name("accept", &out));
	assert_false(verdict_from_name("", &out));
}

static void test_event_names_round_trip(void **state)
{
	const char *names[] = { "network", "connect", "listen", "accept", "send", "receive", "packet" };
	for (int e = 0; e < EVENT_COUNT; e++) {
		enum event_type out = EVENT_COUNT;
		assert_string_equal(event_name(e), names[e]);
		assert_true(event_from_name(names[e], &out));
		assert_int_equal(out, e);
	}
	enum event_type out;
	assert_false(event_from_name("recv", &out));
}

static void test_direction_and_field_names(void **state)
{
	assert_string_equal(direction_name(DIR_IN), "in");
	assert_string_equal(direction_name(DIR_OUT), "out");
	assert_string_equal(field_name(F_RADDR), "remote");
	assert_string_equal(field_name(F_RPORT), "remote port");
	assert_string_equal(field_name(F_LADDR), "local");
	assert_string_equal(field_name(F_LPORT), "local port");
	assert_string_equal(field_name(F_ICMPTYPE), "icmp-type");
	assert_string_equal(field_name(F_PROTO), "proto");
	assert_string_equal(field_name(F_IFACE), "on");
	assert_string_equal(field_name(F_APP), "app");
	assert_string_equal(field_name(F_CGROUP), "cgroup");
	assert_string_equal(field_name(F_USER), "user");
	assert_string_equal(field_name(F_EVENT), "event");
	for (int f = 0; f < F_COUNT; f++)
		assert_true(strlen(field_name(f)) > 0);
	assert_string_equal(field_name(F_COUNT), "?");
}

static void test_protocol_names(void **state)
{
	int p = -1;
	assert_true(proto_from_name("tcp", &p));
	assert_int_equal(p, 6);
	assert_true(proto_from_name("udp", &p));
	assert_int_equal(p, 17);
	assert_true(proto_from_name("icmp", &p));
	assert_int_equal(p, 1);
	assert_true(proto_from_name("icmpv6", &p));
	assert_int_equal(p, 58);
	assert_true(proto_from_name("ipv6-icmp", &p));
	assert_int_equal(p, 58);
	assert_true(proto_from_name("sctp", &p));
	assert_int_equal(p, 132);
	assert_true(proto_from_name("udplite", &p));
	assert_int_equal(p, 136);
	assert_true(proto_from_name("gre", &p));
	assert_int_equal(p, 47);
	assert_true(proto_from_name("esp", &p));
	assert_int_equal(p, 50);
	assert_true(proto_from_name("ah", &p));
	assert_int_equal(p, 51);
	assert_false(proto_from_name("any", &p)); /* the caller's business */
	assert_false(proto_from_name("TCPX", &p));
}

static void test_protocol_numbers(void **state)
{
	int p = -1;
	assert_true(proto_from_name("0", &p));
	assert_int_equal(p, 0);
	assert_true(proto_from_name("255", &p));
	assert_int_equal(p, 255);
	assert_true(proto_from_name("6", &p));
	assert_int_equal(p, 6);
	assert_false(proto_from_name("256", &p));
	assert_false(proto_from_name("-1", &p));
	assert_false(proto_from_name("+6", &p));
	assert_false(proto_from_name("6a", &p));
	assert_false(proto_from_name("0x06", &p));
	assert_false(proto_from_name("", &p));
	assert_false(proto_from_name("99999999999999999999", &p));
}

static void test_protocol_printing(void **state)
{
	assert_string_equal(proto_name(6), "tcp");
	assert_string_equal(proto_name(17), "udp");
	assert_string_equal(proto_name(1), "icmp");
	assert_string_equal(proto_name(58), "icmpv6");
	assert_null(proto_name(253));
}

static void check_icmp(const char *name, int v4, int v6)
{
	int a = -2, b = -2;
	assert_true(icmp_type_from_name(name, &a, &b));
	assert_int_equal(a, v4);
	assert_int_equal(b, v6);
}

static void test_icmp_types_match_both_families(void **state)
{
	check_icmp("echo-reply", 0, 129);
	check_icmp("dest-unreach", 3, 1);
	check_icmp("destination-unreachable", 3, 1);
	check_icmp("redirect", 5, 137);
	check_icmp("echo-request", 8, 128);
	check_icmp("router-advertisement", 9, 134);
	check_icmp("router-solicitation", 10, 133);
	check_icmp("time-exceeded", 11, 3);
	check_icmp("parameter-problem", 12, 4);
}

static void test_icmp_types_of_one_family(void **state)
{
	check_icmp("source-quench", 4, -1);
	check_icmp("timestamp-request", 13, -1);
	check_icmp("timestamp-reply", 14, -1);
	check_icmp("packet-too-big", -1, 2);
	check_icmp("neighbour-solicitation", -1, 135);
	check_icmp("neighbor-solicitation", -1, 135);
	check_icmp("neighbour-advertisement", -1, 136);
	check_icmp("neighbor-advertisement", -1, 136);
	check_icmp("mld-query", -1, 130);
	int a, b;
	assert_false(icmp_type_from_name("echo", &a, &b));
	assert_false(icmp_type_from_name("8", &a, &b)); /* numbers are the resolver's */
}

static void test_icmp_type_printing(void **state)
{
	assert_string_equal(icmp_type_name(4, 8), "echo-request");
	assert_string_equal(icmp_type_name(6, 128), "echo-request");
	assert_string_equal(icmp_type_name(4, 3), "dest-unreach");
	assert_string_equal(icmp_type_name(6, 1), "dest-unreach");
	assert_string_equal(icmp_type_name(6, 3), "time-exceeded");
	assert_string_equal(icmp_type_name(6, 135), "neighbour-solicitation");
	assert_string_equal(icmp_type_name(6, 2), "packet-too-big");
	assert_null(icmp_type_name(4, 2));
	assert_null(icmp_type_name(4, 200));
	assert_null(icmp_type_name(4, -1));
	assert_null(icmp_type_name(5, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names_round_trip),
		cmocka_unit_test(test_event_names_round_trip),
		cmocka_unit_test(test_direction_and_field_names),
		cmocka_unit_test(test_protocol_names),
		cmocka_unit_test(test_protocol_numbers),
		cmocka_unit_test(test_protocol_printing),
		cmocka_unit_test(test_icmp_types_match_both_families),
		cmocka_unit_test(test_icmp_types_of_one_family),
		cmocka_unit_test(test_icmp_type_printing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
