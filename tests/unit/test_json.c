/* The JSON writer of --json output (loader/json.c): every string it writes
 * is one valid JSON string literal, whatever bytes a policy holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "json.h"

static void assert_json(const char *in, const char *want)
{
	struct capture c;
	capture_open(&c);
	json_str(c.f, in);
	assert_string_equal(capture_text(&c), want);
	capture_close(&c);
}

static void test_plain_and_null(void **state)
{
	assert_json("policy.rules", "\"policy.rules\"");
	assert_json("", "\"\"");
	assert_json(NULL, "null");
}

static void test_escapes(void **state)
{
	assert_json("a\"b\\c", "\"a\\\"b\\\\c\"");
	assert_json("line\nnext\ttab\rret", "\"line\\nnext\\ttab\\rret\"");
	assert_json("\x01\x1f", "\"\\u0001\\u001f\"");
}

static void test_utf8_kept_invalid_replaced(void **state)
{
	assert_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\"");
	/* a lone continuation byte, a truncated sequence, an overlong lead */
	assert_json("a\x80z", "\"a\\ufffdz\"");
	assert_json("a\xe2\x82", "\"a\\ufffd\\ufffd\"");
	assert_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_null),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8_kept_invalid_replaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
