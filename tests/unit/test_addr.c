/* Addresses as 128-bit values: IPv4 lives in ::ffff:0:0/96. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

static void test_parse_v4_is_mapped(void **state)
{
	u128 a;
	int fam = 0;
	assert_true(addr_parse("192.0.2.1", &a, &fam));
	assert_int_equal(fam, 4);
	assert_true(a == addr_from_v4(0xc0000201));
	assert_true(addr_is_v4(a));
	assert_true((a >> 32) == 0xffff);
	assert_true((uint32_t)a == 0xc0000201);
	assert_true(addr_parse("0.0.0.0", &a, &fam));
	assert_true(a == V4_MAPPED_PREFIX);
	assert_true(addr_parse("255.255.255.255", &a, NULL));
	assert_true(a == (V4_MAPPED_PREFIX | 0xffffffffu));
}

static void test_parse_v6(void **state)
{
	u128 a;
	int fam = 0;
	assert_true(addr_parse("2001:db8::1", &a, &fam));
	assert_int_equal(fam, 6);
	assert_true((uint64_t)(a >> 64) == 0x20010db800000000ull);
	assert_true((uint64_t)a == 1);
	assert_false(addr_is_v4(a));
	assert_true(addr_parse("::", &a, &fam));
	assert_true(a == 0);
	assert_true(addr_parse("::1", &a, NULL));
	assert_true(a == 1);
	assert_true(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a, NULL));
	assert_true(a == ~(u128)0);
	/* the mapped form written as IPv6 is the same value as the IPv4 address */
	u128 b;
	assert_true(addr_parse("::ffff:192.0.2.1", &a, &fam));
	assert_int_equal(fam, 6);
	assert_true(addr_parse("192.0.2.1", &b, NULL));
	assert_true(a == b);
}

static void test_parse_rejects_garbage(void **state)
{
	u128 a;
	assert_false(addr_parse("", &a, NULL));
	assert_false(addr_parse("192.0.2", &a, NULL));
	assert_false(addr_parse("192.0.2.256", &a, NULL));
	assert_false(addr_parse("192.0.2.1/24", &a, NULL));
	assert_false(addr_parse("2001:db8::1::2", &a, NULL));
	assert_false(addr_parse("example.com", &a, NULL));
	assert_false(addr_parse("1.2.3.4-1.2.3.5", &a, NULL));
}

static void test_format_roundtrip(void **state)
{
	const char *in[] = { "192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1",
			     "::1",	  "::",	     "fe80::1:2",	"2001:db8:0:1::" };
	char buf[64];
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		u128 a, b;
		assert_true(addr_parse(in[i], &a, NULL));
		assert_string_equal(addr_format(a, buf, sizeof(buf)), in[i]);
		assert_true(addr_parse(buf, &b, NULL));
		assert_true(a == b);
	}
	/* mapped prints dotted */
	assert_string_equal(addr_format(addr_from_v4(0x7f000001), buf, sizeof(buf)), "127.0.0.1");
	/* addr_format returns its buffer */
	assert_ptr_equal(addr_format(1, buf, sizeof(buf)), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_is_mapped),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test(test_format_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
