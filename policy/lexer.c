/* Tokenizer of the policy language.  Works on arbitrary bytes: every byte
 * either belongs to a token, is skipped as space/comment, or is reported as
 * an error once, so the lexer always advances and always terminates. */
#include "lexer.h"

#include <stdlib.h>
#include <string.h>

void lexer_init(struct lexer *lx, const struct source *src, struct diag *d)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->p = src->text;
	lx->line = 1;
	lx->col = 1;
	lx->d = d;
}

void lexer_free(struct lexer *lx)
{
	for (int i = 0; i < lx->nowned; i++)
		free(lx->owned[i]);
	free(lx->owned);
	lx->owned = NULL;
	lx->nowned = lx->capowned = 0;
}

const char *tok_kind_name(enum tok_kind k)
{
	switch (k) {
	case TOK_EOF:
		return "end of file";
	case TOK_NEWLINE:
		return "end of line";
	case TOK_WORD:
		return "word";
	case TOK_STRING:
		return "quoted string";
	case TOK_LBRACE:
		return "`{`";
	case TOK_RBRACE:
		return "`}`";
	case TOK_COMMA:
		return "`,`";
	case TOK_EQUALS:
		return "`=`";
	case TOK_BANG:
		return "`!`";
	case TOK_SETREF:
		return "set reference";
	case TOK_ERROR:
		return "invalid token";
	}
	return "token";
}

static char *own(struct lexer *lx, const char *s, size_t n)
{
	char *t = malloc(n + 1);
	if (!t)
		abort();
	memcpy(t, s, n);
	t[n] = '\0';
	if (lx->nowned == lx->capowned) {
		lx->capowned = lx->capowned ? 2 * lx->capowned : 64;
		lx->owned = realloc(lx->owned, lx->capowned * sizeof(*lx->owned));
		if (!lx->owned)
			abort();
	}
	lx->owned[lx->nowned++] = t;
	return t;
}

/* Control bytes and non-ASCII are not allowed outside strings and comments:
 * look-alike Unicode in an address or a path would silently never match. */
static bool is_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\0') || c >= 0x7f;
}

static bool is_word_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("#\"{},=!@", c);
}

static void advance(struct lexer *lx, int n)
{
	lx->p += n;
	lx->col += n;
}

static struct src_loc here(const struct lexer *lx)
{
	return (struct src_loc){ .file = lx->src->name, .line = lx->line, .col = lx->col };
}

static void report_bad_byte(struct lexer *lx, struct src_loc loc, unsigned char c)
{
	if (c >= 0x80)
		diag_error(lx->d, loc,
			   "unexpected character (byte 0x%02X): non-ASCII text is only allowed in "
			   "quoted strings and comments",
			   c);
	else
		diag_error(lx->d, loc, "unexpected control character (byte 0x%02X); remove it", c);
}

/* A run of word bytes, possibly with bad bytes mixed in: one WORD, or one
 * ERROR reported at the first bad byte. */
static struct token lex_word(struct lexer *lx, struct token t, int skip)
{
	advance(lx, skip);
	const char *start = lx->p;
	const char *bad = NULL;
	struct src_loc badloc = { 0 };
	for (;;) {
		unsigned char c = (unsigned char)*lx->p;
		if (is_word_byte(c)) {
			advance(lx, 1);
		} else if (is_bad_byte(c)) {
			if (!bad) {
				bad = lx->p;
				badloc = here(lx);
			}
			advance(lx, 1);
		} else {
			break;
		}
	}
	if (bad) {
		report_bad_byte(lx, badloc, (unsigned char)*bad);
		t.kind = TOK_ERROR;
	}
	t.text = own(lx, start, lx->p - start);
	return t;
}

static struct token lex_string(struct lexer *lx, struct token t)
{
	advance(lx, 1); /* opening quote */
	size_t cap = 64, n = 0;
	char *buf = malloc(cap);
	bool bad = false;
	if (!buf)
		abort();
	for (;;) {
		unsigned char c = (unsigned char)*lx->p;
		if (c == '\0' || c == '\n') {
			diag_error(lx->d, t.loc, "unterminated string; close it with `\"` on the same line");
			t.kind = TOK_ERROR;
			break;
		}
		if (c == '"') {
			advance(lx, 1);
			break;
		}
		if (c == '\\' && (lx->p[1] == '"' || lx->p[1] == '\\')) {
			c = (unsigned char)lx->p[1];
			advance(lx, 1);
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			if (!bad)
				diag_error(lx->d, here(lx), "control character (byte 0x%02X) in a string; remove it",
					   c);
			bad = true;
		}
		advance(lx, 1);
		if (n + 2 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		buf[n++] = (char)c;
	}
	if (bad)
		t.kind = TOK_ERROR;
	t.text = own(lx, buf, n);
	free(buf);
	return t;
}

struct token lexer_next(struct lexer *lx)
{
	/* Spaces and comments. */
	for (;;) {
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r') {
			advance(lx, 1);
		} else if (c == '#') {
			while (*lx->p && *lx->p != '\n')
				advance(lx, 1);
		} else {
			break;
		}
	}

	struct token t = { .kind = TOK_EOF, .text = "", .loc = here(lx) };
	unsigned char c = (unsigned char)*lx->p;
	switch (c) {
	case '\0':
		return t;
	case '\n':
		t.kind = TOK_NEWLINE;
		t.text = "\n";
		lx->p++;
		lx->line++;
		lx->col = 1;
		return t;
	case '{':
		t.kind = TOK_LBRACE;
		t.text = "{";
		advance(lx, 1);
		return t;
	case '}':
		t.kind = TOK_RBRACE;
		t.text = "}";
		advance(lx, 1);
		return t;
	case ',':
		t.kind = TOK_COMMA;
		t.text = ",";
		advance(lx, 1);
		return t;
	case '=':
		t.kind = TOK_EQUALS;
		t.text = "=";
		advance(lx, 1);
		return t;
	case '!':
		t.kind = TOK_BANG;
		t.text = "!";
		advance(lx, 1);
		return t;
	case '"':
		t.kind = TOK_STRING;
		return lex_string(lx, t);
	case '@':
		if (!is_word_byte((unsigned char)lx->p[1]) && !is_bad_byte((unsigned char)lx->p[1])) {
			diag_error(lx->d, t.loc, "`@` must be followed by a set name, e.g. @trusted");
			advance(lx, 1);
			t.kind = TOK_ERROR;
			t.text = "@";
			return t;
		}
		t.kind = TOK_SETREF;
		return lex_word(lx, t, 1);
	default:
		t.kind = TOK_WORD;
		if (is_word_byte(c) || is_bad_byte(c))
			return lex_word(lx, t, 0);
		/* Unreachable: every byte is space, special, word or bad. */
		advance(lx, 1);
		t.kind = TOK_ERROR;
		return t;
	}
}
