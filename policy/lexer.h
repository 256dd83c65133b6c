/* Tokens of the policy language.  Shared by the policy parser and the event
 * parser of `rampart explain` (events use rule-condition syntax). */
#ifndef RAMPART_LEXER_H
#define RAMPART_LEXER_H

#include "diag.h"

enum tok_kind {
	TOK_EOF,
	TOK_NEWLINE, /* end of a statement (newlines inside { } are skipped by the parser) */
	TOK_WORD,    /* keyword, name, address, port, range, path: any run of
	                 characters other than space, #, ", {, }, ",", =, !, @ */
	TOK_STRING,  /* "..." (text without quotes, \" and \\ unescaped) */
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_COMMA,
	TOK_EQUALS,
	TOK_BANG,
	TOK_SETREF, /* @name (text is the name without '@') */
	TOK_ERROR,  /* bad character or unterminated string (already reported) */
};

struct token {
	enum tok_kind kind;
	char *text; /* owned by the lexer; valid until lexer_free */
	struct src_loc loc;
};

struct lexer {
	const struct source *src;
	const char *p;
	int line, col;
	struct diag *d;
	char **owned; /* token texts to free */
	int nowned, capowned;
};

void lexer_init(struct lexer *lx, const struct source *src, struct diag *d);
void lexer_free(struct lexer *lx);
/* Next token; comments are skipped, TOK_NEWLINE is returned once per line end. */
struct token lexer_next(struct lexer *lx);
const char *tok_kind_name(enum tok_kind k);

#endif
