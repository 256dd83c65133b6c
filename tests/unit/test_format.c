/* Formatting of the read-only commands (loader/format.c): addresses as the
 * datapath stores them (16 bytes, IPv4 mapped), endpoints, durations, byte
 * counts, TCP flags and aligned columns. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "format.h"

/* The datapath's form of an address. */
static void addr_of(const char *text, uint32_t out[4])
{
	memset(out, 0, 16);
	if (strchr(text, ':')) {
		assert_int_equal(inet_pton(AF_INET6, text, out), 1);
	} else {
		out[2] = htonl(0xffff);
		assert_int_equal(inet_pton(AF_INET, text, &out[3]), 1);
	}
}

static void test_addresses(void **state)
{
	char buf[FMT_ADDR_LEN];
	uint32_t a[4];
	addr_of("192.0.2.1", a);
	assert_int_equal(addr_family(a), 4);
	assert_string_equal(fmt_addr(buf, sizeof(buf), a), "192.0.2.1");
	addr_of("2001:db8::1", a);
	assert_int_equal(addr_family(a), 6);
	assert_string_equal(fmt_addr(buf, sizeof(buf), a), "2001:db8::1");
	addr_of("::", a);
	assert_int_equal(addr_family(a), 6);
	assert_string_equal(fmt_addr(buf, sizeof(buf), a), "::");
}

static void test_endpoints(void **state)
{
	char buf[FMT_ADDR_LEN];
	uint32_t a[4];
	addr_of("198.51.100.7", a);
	assert_string_equal(fmt_endpoint(buf, sizeof(buf), a, 80, true), "198.51.100.7:80");
	assert_string_equal(fmt_endpoint(buf, sizeof(buf), a, 80, false), "198.51.100.7");
	addr_of("2001:db8::7", a);
	assert_string_equal(fmt_endpoint(buf, sizeof(buf), a, 443, true), "[2001:db8::7]:443");
	assert_true(proto_has_ports(6) && proto_has_ports(17) && proto_has_ports(132) && proto_has_ports(136));
	assert_false(proto_has_ports(1) || proto_has_ports(58) || proto_has_ports(47));
}

static void test_protocols(void **state)
{
	char buf[16];
	assert_string_equal(fmt_proto(buf, sizeof(buf), 6), "tcp");
	assert_string_equal(fmt_proto(buf, sizeof(buf), 58), "icmpv6");
	assert_string_equal(fmt_proto(buf, sizeof(buf), 253), "253");
}

static void test_durations_and_bytes(void **state)
{
	char buf[32];
	const uint64_t s = 1000000000ull;
	assert_string_equal(fmt_duration(buf, sizeof(buf), 0), "0s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 42 * s), "42s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), 185 * s), "3m05s");
	assert_string_equal(fmt_duration(buf, sizeof(buf), (2 * 3600 + 7 * 60) * s), "2h07m");
	assert_string_equal(fmt_duration(buf, sizeof(buf), (4 * 86400 + 3 * 3600) * s), "4d03h");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 842), "842 B");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 1229), "1.2 KiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 3565158), "3.4 MiB");
	assert_string_equal(fmt_bytes(buf, sizeof(buf), 500ull << 30), "500 GiB");
}

static void test_flags_hex_and_time(void **state)
{
	char buf[64];
	const uint8_t b[] = { 0x00, 0xab, 0x10 };
	assert_string_equal(fmt_tcp_flags(buf, sizeof(buf), 0x12), "SYN,ACK");
	assert_string_equal(fmt_tcp_flags(buf, sizeof(buf), 0), "");
	assert_string_equal(fmt_hex(buf, sizeof(buf), b, sizeof(b)), "00ab10");
	assert_string_equal(fmt_time_utc(buf, sizeof(buf), 1714564803123000000ull), "2024-05-01T12:00:03.123Z");
}

static void test_columns_align(void **state)
{
	struct columns t;
	struct capture c;
	columns_init(&t, 3, 1u << 1);
	const char *r1[] = { "passed", "7", "flow 7" };
	const char *r2[] = { "new flows denied", "1200", NULL };
	columns_add(&t, r1);
	columns_add(&t, r2);
	capture_open(&c);
	columns_print(&t, c.f, "  ");
	/* left-aligned text, right-aligned numbers, the last column unpadded,
	 * NULL as "-" */
	assert_string_equal(capture_text(&c), "  passed               7  flow 7\n"
					      "  new flows denied  1200  -\n");
	capture_close(&c);
	columns_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),	   cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_protocols),	   cmocka_unit_test(test_durations_and_bytes),
		cmocka_unit_test(test_flags_hex_and_time), cmocka_unit_test(test_columns_align),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
