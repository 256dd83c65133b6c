/* Diagnostics as a user sees them: compiler-style lines with the quoted
 * source and a caret; and the source registry. */
#include "testutil.h"
#include <sys/stat.h>

struct fixture {
	struct sources srcs;
	struct captured c;
	const struct source *src;
};

static struct fixture *fixture(const char *text)
{
	struct fixture *f = calloc(1, sizeof(*f));
	sources_init(&f->srcs);
	f->src = sources_add_string(&f->srcs, "pol.rules", text);
	captured_init(&f->c, &f->srcs);
	return f;
}

static void fixture_free(struct fixture *f)
{
	captured_free(&f->c);
	sources_free(&f->srcs);
	free(f);
}

static struct src_loc at(const struct fixture *f, int line, int col)
{
	return (struct src_loc){ .file = f->src->name, .line = line, .col = col };
}

static void test_error_with_line_and_caret(void **state)
{
	struct fixture *f = fixture("table root {\n    allow remot 1.2.3.4\n}\n");
	diag_error(&f->c.d, at(f, 2, 11), "unknown condition `%s`", "remot");
	assert_string_equal(captured_text(&f->c), "pol.rules:2:11: error: unknown condition `remot`\n"
						  "      allow remot 1.2.3.4\n"
						  "            ^\n");
	fixture_free(f);
}

static void test_warning_and_note_levels(void **state)
{
	struct fixture *f = fixture("a\nb\n");
	diag_warning(&f->c.d, at(f, 1, 1), "w%d", 1);
	diag_note(&f->c.d, at(f, 2, 1), "n");
	assert_string_equal(captured_text(&f->c), "pol.rules:1:1: warning: w1\n  a\n  ^\n"
						  "pol.rules:2:1: note: n\n  b\n  ^\n");
	assert_int_equal(f->c.d.nwarnings, 1);
	assert_int_equal(f->c.d.nerrors, 0);
	assert_int_equal(f->c.d.nmsgs, 2);
	fixture_free(f);
}

static void test_no_line_and_no_file(void **state)
{
	struct fixture *f = fixture("x\n");
	diag_error(&f->c.d, at(f, 0, 0), "cannot read policy");
	diag_error(&f->c.d, (struct src_loc){ 0 }, "no such interface %s", "eth9");
	assert_string_equal(captured_text(&f->c), "pol.rules: error: cannot read policy\n"
						  "rampart: error: no such interface eth9\n");
	assert_int_equal(f->c.d.nerrors, 2);
	fixture_free(f);
}

static void test_whole_line_has_no_caret(void **state)
{
	struct fixture *f = fixture("one\ntwo\n");
	diag_warning(&f->c.d, at(f, 2, 0), "shadowed");
	assert_string_equal(captured_text(&f->c), "pol.rules:2: warning: shadowed\n  two\n");
	fixture_free(f);
}

static void test_tabs_keep_the_caret_aligned(void **state)
{
	struct fixture *f = fixture("\tallow\tfoo\n");
	diag_error(&f->c.d, at(f, 1, 8), "bad");
	assert_string_equal(captured_text(&f->c), "pol.rules:1:8: error: bad\n  \tallow\tfoo\n  \t     \t^\n");
	fixture_free(f);
}

static void test_caret_after_end_of_line(void **state)
{
	struct fixture *f = fixture("table x\n");
	diag_error(&f->c.d, at(f, 1, 50), "missing `{`");
	assert_string_equal(captured_text(&f->c), "pol.rules:1:50: error: missing `{`\n  table x\n         ^\n");
	fixture_free(f);
}

static void test_control_bytes_are_not_echoed(void **state)
{
	struct fixture *f = fixture("a\x1b[2Jb\r\n");
	diag_error(&f->c.d, at(f, 1, 2), "bad");
	assert_string_equal(captured_text(&f->c), "pol.rules:1:2: error: bad\n  a?[2Jb\n   ^\n");
	fixture_free(f);
}

static void test_line_past_the_end_is_not_quoted(void **state)
{
	struct fixture *f = fixture("only\n");
	diag_error(&f->c.d, at(f, 7, 1), "far");
	assert_string_equal(captured_text(&f->c), "pol.rules:7:1: error: far\n");
	fixture_free(f);
}

static void test_unknown_file_is_not_quoted(void **state)
{
	struct fixture *f = fixture("x\n");
	diag_error(&f->c.d, (struct src_loc){ "other.rules", 1, 1 }, "e");
	assert_string_equal(captured_text(&f->c), "other.rules:1:1: error: e\n");
	fixture_free(f);
}

static void test_messages_are_recorded(void **state)
{
	struct fixture *f = fixture("a\nb\nc\n");
	diag_error(&f->c.d, at(f, 3, 2), "first %s", "problem");
	diag_warning(&f->c.d, at(f, 1, 1), "a warning");
	assert_int_equal(f->c.d.nmsgs, 2);
	assert_int_equal(f->c.d.msgs[0].level, DIAG_ERROR);
	assert_string_equal(f->c.d.msgs[0].text, "first problem");
	assert_int_equal(f->c.d.msgs[0].loc.line, 3);
	assert_int_equal(f->c.d.msgs[0].loc.col, 2);
	assert_ptr_equal(f->c.d.msgs[0].loc.file, f->src->name);
	assert_int_equal(f->c.d.msgs[1].level, DIAG_WARNING);
	assert_true(diag_has(&f->c.d, DIAG_ERROR, "problem"));
	assert_false(diag_has(&f->c.d, DIAG_WARNING, "problem"));
	assert_true(diag_has(&f->c.d, DIAG_WARNING, "warn"));
	assert_false(diag_has(&f->c.d, DIAG_NOTE, ""));
	fixture_free(f);
}

static void test_silent_diag_still_records(void **state)
{
	struct diag d;
	diag_init(&d, NULL, NULL);
	diag_error(&d, (struct src_loc){ "f", 1, 1 }, "x");
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.nmsgs, 1);
	assert_true(diag_has(&d, DIAG_ERROR, "x"));
	diag_free(&d);
	assert_int_equal(d.nmsgs, 0);
}

static void test_max_errors_stops_recording_but_counts(void **state)
{
	struct fixture *f = fixture("x\n");
	f->c.d.max_errors = 3;
	for (int i = 0; i < 5; i++)
		diag_error(&f->c.d, at(f, 0, 0), "e%d", i);
	diag_warning(&f->c.d, at(f, 0, 0), "still a warning");
	assert_int_equal(f->c.d.nerrors, 5);
	assert_int_equal(count_msgs(&f->c.d, DIAG_ERROR), 3);
	assert_false(diag_has(&f->c.d, DIAG_ERROR, "e3"));
	assert_true(diag_has(&f->c.d, DIAG_WARNING, "still a warning"));
	const char *out = captured_text(&f->c);
	assert_non_null(strstr(out, "e2\n"));
	assert_null(strstr(out, "e3"));
	assert_non_null(strstr(out, "too many errors"));
	fixture_free(f);
}

static void test_default_max_errors_is_1000(void **state)
{
	struct diag d;
	diag_init(&d, NULL, NULL);
	for (int i = 0; i < 1200; i++)
		diag_error(&d, (struct src_loc){ 0 }, "e");
	assert_int_equal(d.nerrors, 1200);
	assert_int_equal(d.nmsgs, 1000);
	diag_free(&d);
}

static void test_sources_find(void **state)
{
	struct sources s;
	sources_init(&s);
	struct source *a = sources_add_string(&s, "a.rules", "A");
	struct source *b = sources_add_string(&s, "b.rules", "BB\n");
	assert_int_equal(s.n, 2);
	assert_int_equal(b->len, 3);
	assert_string_equal(b->text, "BB\n");
	assert_ptr_equal(sources_find(&s, "a.rules"), a);
	assert_ptr_equal(sources_find(&s, b->name), b);
	assert_null(sources_find(&s, "c.rules"));
	assert_null(sources_find(NULL, "a.rules"));
	sources_free(&s);
	assert_int_equal(s.n, 0);
}

static void test_sources_add_file(void **state)
{
	char *dir = make_temp_dir();
	char *path = write_temp_file(dir, "p.rules", "table root {\n}\n");
	struct sources s;
	sources_init(&s);
	const struct source *src = sources_add_file(&s, path);
	assert_non_null(src);
	assert_string_equal(src->name, path);
	assert_string_equal(src->text, "table root {\n}\n");
	assert_int_equal(src->len, 15);

	char *missing;
	assert_true(asprintf(&missing, "%s/missing.rules", dir) > 0);
	errno = 0;
	assert_null(sources_add_file(&s, missing));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(sources_add_file(&s, dir));
	assert_int_equal(errno, EISDIR);
	errno = 0;
	assert_null(sources_add_file(&s, "/dev/null")); /* a device: could be endless */
	assert_int_equal(errno, SOURCES_ENOTREG);
	assert_string_equal(sources_strerror(SOURCES_ENOTREG), "not a regular file");
	assert_string_equal(sources_strerror(ENOENT), strerror(ENOENT));
	assert_int_equal(s.n, 1);
	sources_free(&s);
	remove_tree(dir);
	free(missing);
	free(path);
	free(dir);
}

static void test_big_file_is_read_whole(void **state)
{
	char *dir = make_temp_dir();
	size_t n = 100000;
	char *text = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		text[i] = i % 50 == 49 ? '\n' : 'x';
	text[n] = '\0';
	char *path = write_temp_file(dir, "big.rules", text);
	struct sources s;
	sources_init(&s);
	const struct source *src = sources_add_file(&s, path);
	assert_non_null(src);
	assert_int_equal(src->len, n);
	assert_memory_equal(src->text, text, n);
	sources_free(&s);
	remove_tree(dir);
	free(text);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_with_line_and_caret),
		cmocka_unit_test(test_warning_and_note_levels),
		cmocka_unit_test(test_no_line_and_no_file),
		cmocka_unit_test(test_whole_line_has_no_caret),
		cmocka_unit_test(test_tabs_keep_the_caret_aligned),
		cmocka_unit_test(test_caret_after_end_of_line),
		cmocka_unit_test(test_control_bytes_are_not_echoed),
		cmocka_unit_test(test_line_past_the_end_is_not_quoted),
		cmocka_unit_test(test_unknown_file_is_not_quoted),
		cmocka_unit_test(test_messages_are_recorded),
		cmocka_unit_test(test_silent_diag_still_records),
		cmocka_unit_test(test_max_errors_stops_recording_but_counts),
		cmocka_unit_test(test_default_max_errors_is_1000),
		cmocka_unit_test(test_sources_find),
		cmocka_unit_test(test_sources_add_file),
		cmocka_unit_test(test_big_file_is_read_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
