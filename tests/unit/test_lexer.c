/* The tokenizer: every token kind, positions, comments, strings, and bad
 * input reported with its position and never crashing or looping. */
#include "testutil.h"

#define MAX_TOKS 256

struct lexed {
	struct sources srcs;
	struct captured out;
	struct lexer lx;
	struct token t[MAX_TOKS];
	int n; /* including the final EOF */
};

static struct lexed *lex_source(struct lexed *lx)
{
	captured_init(&lx->out, &lx->srcs);
	lexer_init(&lx->lx, lx->srcs.v[0], &lx->out.d);
	do {
		assert_true(lx->n < MAX_TOKS);
		lx->t[lx->n] = lexer_next(&lx->lx);
	} while (lx->t[lx->n++].kind != TOK_EOF);
	return lx;
}

static struct lexed *lex(const char *text)
{
	struct lexed *lx = calloc(1, sizeof(*lx));
	sources_init(&lx->srcs);
	sources_add_string(&lx->srcs, "lex.rules", text);
	return lex_source(lx);
}

static void lexed_free(struct lexed *lx)
{
	lexer_free(&lx->lx);
	captured_free(&lx->out);
	sources_free(&lx->srcs);
	free(lx);
}

#define assert_tok(lx, i, k, txt, l, c)                      \
	do {                                                 \
		assert_int_equal((lx)->t[i].kind, (k));      \
		assert_string_equal((lx)->t[i].text, (txt)); \
		assert_int_equal((lx)->t[i].loc.line, (l));  \
		assert_int_equal((lx)->t[i].loc.col, (c));   \
	} while (0)

static void test_every_token_kind(void **state)
{
	struct lexed *lx = lex("allow { a, b } = ! @set \"str\"\n");
	assert_int_equal(lx->n, 12);
	assert_tok(lx, 0, TOK_WORD, "allow", 1, 1);
	assert_tok(lx, 1, TOK_LBRACE, "{", 1, 7);
	assert_tok(lx, 2, TOK_WORD, "a", 1, 9);
	assert_tok(lx, 3, TOK_COMMA, ",", 1, 10);
	assert_tok(lx, 4, TOK_WORD, "b", 1, 12);
	assert_tok(lx, 5, TOK_RBRACE, "}", 1, 14);
	assert_tok(lx, 6, TOK_EQUALS, "=", 1, 16);
	assert_tok(lx, 7, TOK_BANG, "!", 1, 18);
	assert_tok(lx, 8, TOK_SETREF, "set", 1, 20);
	assert_tok(lx, 9, TOK_STRING, "str", 1, 25);
	assert_int_equal(lx->t[10].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[11].kind, TOK_EOF);
	assert_int_equal(lx->out.d.nerrors, 0);
	lexed_free(lx);
}

static void test_positions_across_lines(void **state)
{
	struct lexed *lx = lex("table root {\n\tallow in\n}\n");
	assert_tok(lx, 0, TOK_WORD, "table", 1, 1);
	assert_tok(lx, 1, TOK_WORD, "root", 1, 7);
	assert_tok(lx, 2, TOK_LBRACE, "{", 1, 12);
	assert_int_equal(lx->t[3].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[3].loc.line, 1);
	assert_int_equal(lx->t[3].loc.col, 13);
	assert_tok(lx, 4, TOK_WORD, "allow", 2, 2); /* a tab is one column */
	assert_tok(lx, 5, TOK_WORD, "in", 2, 8);
	assert_tok(lx, 7, TOK_RBRACE, "}", 3, 1);
	assert_int_equal(lx->t[lx->n - 1].loc.line, 4);
	lexed_free(lx);
}

static void test_comments_are_skipped_but_end_the_line(void **state)
{
	struct lexed *lx = lex("a # comment { \" , ignored\n# whole line\nb#c\n");
	assert_int_equal(lx->n, 6);
	assert_tok(lx, 0, TOK_WORD, "a", 1, 1);
	assert_int_equal(lx->t[1].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[2].kind, TOK_NEWLINE); /* the comment-only line */
	assert_tok(lx, 3, TOK_WORD, "b", 3, 1);	      /* `#` ends a word */
	assert_int_equal(lx->t[4].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[5].kind, TOK_EOF);
	assert_int_equal(lx->out.d.nerrors, 0);
	lexed_free(lx);
}

static void test_newline_per_line_end(void **state)
{
	struct lexed *lx = lex("\n\n\nx");
	assert_int_equal(lx->t[0].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[1].kind, TOK_NEWLINE);
	assert_int_equal(lx->t[2].kind, TOK_NEWLINE);
	assert_tok(lx, 3, TOK_WORD, "x", 4, 1);
	assert_int_equal(lx->t[4].kind, TOK_EOF);
	lexed_free(lx);
}

static void test_string_escapes(void **state)
{
	struct lexed *lx = lex("comment \"say \\\"hi\\\" \\\\ back\\n\" x");
	assert_tok(lx, 1, TOK_STRING, "say \"hi\" \\ back\\n", 1, 9);
	assert_tok(lx, 2, TOK_WORD, "x", 1, 32);
	assert_int_equal(lx->out.d.nerrors, 0);
	lexed_free(lx);
}

static void test_string_keeps_specials_and_utf8(void **state)
{
	struct lexed *lx = lex("\"a # b { } , = ! @c caf\xc3\xa9\"");
	assert_int_equal(lx->n, 2);
	assert_tok(lx, 0, TOK_STRING, "a # b { } , = ! @c caf\xc3\xa9", 1, 1);
	assert_int_equal(lx->out.d.nerrors, 0);
	lexed_free(lx);
}

static void test_empty_string(void **state)
{
	struct lexed *lx = lex("\"\"");
	assert_tok(lx, 0, TOK_STRING, "", 1, 1);
	lexed_free(lx);
}

static void test_unterminated_string(void **state)
{
	struct lexed *lx = lex("allow comment \"oops\nnext");
	assert_int_equal(lx->t[2].kind, TOK_ERROR);
	assert_int_equal(lx->t[3].kind, TOK_NEWLINE); /* the line end is not swallowed */
	assert_tok(lx, 4, TOK_WORD, "next", 2, 1);
	assert_int_equal(lx->out.d.nerrors, 1);
	assert_error_at(&lx->out.d, "unterminated string", 1, 15);
	lexed_free(lx);
}

static void test_unterminated_string_at_eof(void **state)
{
	struct lexed *lx = lex("\"abc\\");
	assert_int_equal(lx->t[0].kind, TOK_ERROR);
	assert_int_equal(lx->t[1].kind, TOK_EOF);
	assert_error_at(&lx->out.d, "unterminated string", 1, 1);
	lexed_free(lx);
}

static void test_control_character_in_string(void **state)
{
	struct lexed *lx = lex("\"a\x1b[31mb\" c");
	assert_int_equal(lx->t[0].kind, TOK_ERROR);
	assert_tok(lx, 1, TOK_WORD, "c", 1, 11);
	assert_int_equal(lx->out.d.nerrors, 1);
	assert_error_at(&lx->out.d, "control character (byte 0x1B) in a string", 1, 3);
	lexed_free(lx);
}

static void test_words_stop_at_specials(void **state)
{
	struct lexed *lx = lex("a=b,c{d}e!f@g\"h\"");
	assert_tok(lx, 0, TOK_WORD, "a", 1, 1);
	assert_int_equal(lx->t[1].kind, TOK_EQUALS);
	assert_tok(lx, 2, TOK_WORD, "b", 1, 3);
	assert_int_equal(lx->t[3].kind, TOK_COMMA);
	assert_tok(lx, 4, TOK_WORD, "c", 1, 5);
	assert_int_equal(lx->t[5].kind, TOK_LBRACE);
	assert_tok(lx, 6, TOK_WORD, "d", 1, 7);
	assert_int_equal(lx->t[7].kind, TOK_RBRACE);
	assert_tok(lx, 8, TOK_WORD, "e", 1, 9);
	assert_int_equal(lx->t[9].kind, TOK_BANG);
	assert_tok(lx, 10, TOK_WORD, "f", 1, 11);
	assert_tok(lx, 11, TOK_SETREF, "g", 1, 12);
	assert_tok(lx, 12, TOK_STRING, "h", 1, 14);
	lexed_free(lx);
}

static void test_values_are_single_words(void **state)
{
	struct lexed *lx = lex("192.0.2.0/24 2001:db8::1 198.51.100.10-198.51.100.20 /usr/bin/x-y_z "
			       "icmp-type 1024-65535");
	assert_tok(lx, 0, TOK_WORD, "192.0.2.0/24", 1, 1);
	assert_tok(lx, 1, TOK_WORD, "2001:db8::1", 1, 14);
	assert_tok(lx, 2, TOK_WORD, "198.51.100.10-198.51.100.20", 1, 26);
	assert_tok(lx, 3, TOK_WORD, "/usr/bin/x-y_z", 1, 54);
	assert_tok(lx, 4, TOK_WORD, "icmp-type", 1, 69);
	assert_tok(lx, 5, TOK_WORD, "1024-65535", 1, 79);
	assert_int_equal(lx->t[6].kind, TOK_EOF);
	lexed_free(lx);
}

static void test_non_ascii_outside_strings_is_an_error(void **state)
{
	struct lexed *lx = lex("app /usr/bin/caf\xc3\xa9 log");
	assert_int_equal(lx->t[1].kind, TOK_ERROR); /* one token for the whole word */
	assert_tok(lx, 2, TOK_WORD, "log", 1, 20);
	assert_int_equal(lx->out.d.nerrors, 1);
	assert_error_at(&lx->out.d, "unexpected character (byte 0xC3)", 1, 17);
	lexed_free(lx);
}

static void test_control_byte_is_an_error(void **state)
{
	struct lexed *lx = lex("allow\x01 in\n\x7f");
	assert_int_equal(lx->t[0].kind, TOK_ERROR);
	assert_tok(lx, 1, TOK_WORD, "in", 1, 8);
	assert_int_equal(lx->t[3].kind, TOK_ERROR);
	assert_int_equal(lx->out.d.nerrors, 2);
	assert_error_at(&lx->out.d, "unexpected control character (byte 0x01)", 1, 6);
	assert_error_at(&lx->out.d, "byte 0x7F", 2, 1);
	lexed_free(lx);
}

static void test_lone_at_sign(void **state)
{
	struct lexed *lx = lex("remote @ x");
	assert_int_equal(lx->t[1].kind, TOK_ERROR);
	assert_tok(lx, 2, TOK_WORD, "x", 1, 10);
	assert_error_at(&lx->out.d, "`@` must be followed by a set name", 1, 8);
	lexed_free(lx);
}

static void test_crlf_line_ends(void **state)
{
	struct lexed *lx = lex("a\r\nb\r\n");
	assert_tok(lx, 0, TOK_WORD, "a", 1, 1);
	assert_int_equal(lx->t[1].kind, TOK_NEWLINE);
	assert_tok(lx, 2, TOK_WORD, "b", 2, 1);
	assert_int_equal(lx->out.d.nerrors, 0);
	lexed_free(lx);
}

static void test_stops_at_nul(void **state)
{
	struct lexed *lx = calloc(1, sizeof(*lx));
	sources_init(&lx->srcs);
	struct source *src = sources_add_string(&lx->srcs, "nul.rules", "abc def");
	src->text[3] = '\0'; /* as if the buffer held "abc\0def" */
	lex_source(lx);
	assert_int_equal(lx->n, 2);
	assert_tok(lx, 0, TOK_WORD, "abc", 1, 1);
	assert_int_equal(lx->t[1].kind, TOK_EOF);
	lexed_free(lx);
}

static void test_eof_is_sticky(void **state)
{
	struct lexed *lx = lex("x");
	assert_int_equal(lexer_next(&lx->lx).kind, TOK_EOF);
	assert_int_equal(lexer_next(&lx->lx).kind, TOK_EOF);
	lexed_free(lx);
}

static void test_token_kind_names(void **state)
{
	for (int k = TOK_EOF; k <= TOK_ERROR; k++) {
		assert_non_null(tok_kind_name(k));
		assert_true(strlen(tok_kind_name(k)) > 0);
	}
	assert_string_equal(tok_kind_name(TOK_NEWLINE), "end of line");
	assert_string_equal(tok_kind_name(TOK_LBRACE), "`{`");
}

/* Arbitrary bytes: the lexer always ends with EOF in at most one token per
 * byte (plus EOF), whatever the input. */
static void test_random_bytes_terminate(void **state)
{
	unsigned seed = 12345;
	char buf[200];
	for (int round = 0; round < 3000; round++) {
		int len = round % 199;
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			char c = (char)(seed >> 16);
			buf[i] = c ? c : '\n';
		}
		buf[len] = '\0';
		struct sources srcs;
		sources_init(&srcs);
		struct diag d;
		diag_init(&d, NULL, &srcs);
		struct lexer lx;
		lexer_init(&lx, sources_add_string(&srcs, "rand", buf), &d);
		int n = 0;
		while (lexer_next(&lx).kind != TOK_EOF)
			assert_true(++n <= len);
		lexer_free(&lx);
		diag_free(&d);
		sources_free(&srcs);
	}
}

static void test_file_with_nul_byte_is_refused(void **state)
{
	char *dir = make_temp_dir();
	char *path;
	assert_true(asprintf(&path, "%s/bin.rules", dir) > 0);
	FILE *f = fopen(path, "w");
	fwrite("table root {\0}\n", 1, 15, f);
	fclose(f);
	struct sources s;
	sources_init(&s);
	errno = 0;
	assert_null(sources_add_file(&s, path));
	assert_int_equal(errno, SOURCES_EBINARY);
	assert_non_null(strstr(sources_strerror(errno), "binary file"));
	assert_int_equal(s.n, 0);
	sources_free(&s);
	remove_tree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_token_kind),
		cmocka_unit_test(test_positions_across_lines),
		cmocka_unit_test(test_comments_are_skipped_but_end_the_line),
		cmocka_unit_test(test_newline_per_line_end),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_keeps_specials_and_utf8),
		cmocka_unit_test(test_empty_string),
		cmocka_unit_test(test_unterminated_string),
		cmocka_unit_test(test_unterminated_string_at_eof),
		cmocka_unit_test(test_control_character_in_string),
		cmocka_unit_test(test_words_stop_at_specials),
		cmocka_unit_test(test_values_are_single_words),
		cmocka_unit_test(test_non_ascii_outside_strings_is_an_error),
		cmocka_unit_test(test_control_byte_is_an_error),
		cmocka_unit_test(test_lone_at_sign),
		cmocka_unit_test(test_crlf_line_ends),
		cmocka_unit_test(test_stops_at_nul),
		cmocka_unit_test(test_eof_is_sticky),
		cmocka_unit_test(test_token_kind_names),
		cmocka_unit_test(test_random_bytes_terminate),
		cmocka_unit_test(test_file_with_nul_byte_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
