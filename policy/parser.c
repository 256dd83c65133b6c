/* Parser of the policy language (docs/policy.md): tokens -> ast_policy.
 *
 * It checks structure only; the values (addresses, ports, paths, ...) are
 * checked by the resolver, which has each item's position.  On an error the
 * parser reports it and skips to the end of the statement (for a rule: to
 * the end of its line) so that every mistake in a file is reported in one
 * run, without a cascade of follow-up errors. */
#include "policy.h"
#include "suggest.h"
#include "lexer.h"

#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INCLUDE_DEPTH  16
#define MAX_INCLUDED_FILES 1000

/* A file on the include stack, or one already included. */
struct file_id {
	dev_t dev;
	ino_t ino;
	bool known; /* false for a string source (no file behind it) */
	const char *name;
};

struct parse_ctx {
	struct ast_policy *ast;
	struct sources *srcs;
	struct diag *d;
	struct file_id stack[MAX_INCLUDE_DEPTH + 1];
	int depth;
	struct file_id *done; /* every file parsed so far */
	int ndone;
};

struct parser {
	struct parse_ctx *ctx;
	const struct source *src;
	struct diag *d;
	struct lexer lx;
	struct token tok;  /* current token */
	struct token prev; /* the one before */
	bool resume;	   /* the current token starts a new statement: do not skip it */
};

static const char *const statement_words[] = { "addresses", "ports",   "apps",	"cgroups", "interface",
					       "option",    "include", "table", NULL };
static const char *const verdict_words[] = { "allow", "deny", "reject", "ask", "continue", "jump", NULL };
static const char *const condition_words[] = { "in",	 "out", "proto",     "ip4",  "ip6",    "local",
					       "remote", "on",	"icmp-type", "app",  "cgroup", "user",
					       "event",	 "log", "comment",   "port", NULL };

#define VERDICT_LIST "allow, deny, reject, ask, continue, jump TABLE"
#define NAME_RULE    "names start with a letter or `_` and contain only letters, digits, `_`, `.` and `-`"

/* ---------- small helpers ---------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s);
	if (!c)
		abort();
	return c;
}

#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

static bool in_list(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

static bool valid_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

/* How a token is named in a message. */
static const char *describe(const struct token *t, char *buf, size_t n)
{
	switch (t->kind) {
	case TOK_WORD:
		snprintf(buf, n, "`%.40s%s`", t->text, strlen(t->text) > 40 ? "..." : "");
		return buf;
	case TOK_SETREF:
		snprintf(buf, n, "`@%.40s%s`", t->text, strlen(t->text) > 40 ? "..." : "");
		return buf;
	case TOK_STRING:
		return "a quoted string";
	default:
		return tok_kind_name(t->kind);
	}
}

/* ---------- token stream ---------- */

static void next(struct parser *p)
{
	p->prev = p->tok;
	p->tok = lexer_next(&p->lx);
}

static bool at_end_of_statement(const struct parser *p)
{
	return p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF;
}

static bool is_word(const struct parser *p, const char *w)
{
	return p->tok.kind == TOK_WORD && strcmp(p->tok.text, w) == 0;
}

/* Where "missing X at the end of this line" points: just after the
 * previous token when the current one is the line end. */
static struct src_loc here(const struct parser *p)
{
	return p->tok.loc;
}

static void error(struct parser *p, struct src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void error(struct parser *p, struct src_loc loc, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	diag_error(p->d, loc, "%s", msg);
	free(msg);
}

/* Report a problem with the current token, unless the lexer already did
 * (TOK_ERROR).  `%s` in fmt is replaced by the token's description. */
static void unexpected(struct parser *p, const char *fmt)
{
	if (p->tok.kind == TOK_ERROR)
		return;
	char buf[64];
	char *msg;
	if (asprintf(&msg, fmt, describe(&p->tok, buf, sizeof(buf))) < 0)
		abort();
	diag_error(p->d, here(p), "%s", msg);
	free(msg);
}

static bool is_line_start_keyword(const struct token *t)
{
	return t->kind == TOK_WORD && (in_list(t->text, statement_words) || in_list(t->text, verdict_words));
}

/* Skip the rest of a bad statement: to the end of the line, or past a `{`
 * opened on it.  A `{ ... }` left open is abandoned at a line that starts
 * like a new statement.  Inside a table, a `}` that is not matched on the
 * line closes the table and is left for the caller. */
static void sync(struct parser *p, bool in_table)
{
	int depth = 0;
	if (p->resume) {
		p->resume = false;
		return;
	}
	for (;;) {
		switch (p->tok.kind) {
		case TOK_EOF:
			return;
		case TOK_NEWLINE:
			if (depth == 0)
				return;
			next(p);
			while (p->tok.kind == TOK_NEWLINE)
				next(p);
			if (is_line_start_keyword(&p->tok))
				return;
			continue;
		case TOK_LBRACE:
			depth++;
			break;
		case TOK_RBRACE:
			if (depth > 0)
				depth--;
			else if (in_table)
				return;
			break;
		default:
			break;
		}
		next(p);
	}
}

/* After a complete statement only the line end may follow. */
static void expect_end(struct parser *p, const char *what, bool in_table)
{
	if (at_end_of_statement(p))
		return;
	if (in_table && p->tok.kind == TOK_RBRACE)
		return;
	char msg[160];
	snprintf(msg, sizeof(msg), "unexpected %%s after %s; write one statement per line", what);
	unexpected(p, msg);
	sync(p, in_table);
}

/* ---------- value lists ---------- */

/* What a list-taking keyword expects, for messages. */
struct list_what {
	const char *keyword; /* as written, e.g. "`remote`" */
	const char *example; /* e.g. "remote 192.0.2.0/24" */
	bool negatable;	     /* addresses and ports */
	bool in_decl;	     /* a set declaration: empty { } allowed, any word allowed */
};

static void add_item(struct ast_list *l, enum ast_item_kind kind, const struct token *t)
{
	struct ast_item *it = GROW(l->items, l->n);
	it->kind = kind;
	it->text = xstrdup(t->text);
	it->loc = t->loc;
}

static void check_setref(struct parser *p, const struct token *t)
{
	if (!valid_name(t->text))
		error(p, t->loc, "invalid set name `@%.40s`: " NAME_RULE, t->text);
}

/* `{ item, item, ... }`: may span lines, trailing comma allowed.  Returns
 * false when the list could not be parsed to its end (the caller skips
 * the rest of the statement); a recoverable mistake is reported and the
 * list goes on. */
static bool parse_braced(struct parser *p, struct ast_list *l, const struct list_what *w)
{
	struct src_loc open = p->tok.loc;
	l->braced = true;
	next(p);
	bool need_comma = false, newline_since_item = false;
	int nested = 0;
	for (;;) {
		switch (p->tok.kind) {
		case TOK_NEWLINE:
			newline_since_item = true;
			next(p);
			continue;
		case TOK_RBRACE:
			if (nested > 0) {
				nested--;
				next(p);
				continue;
			}
			next(p);
			if (l->n == 0 && !w->in_decl)
				error(p, open,
				      "empty list `{ }` after %s matches nothing; add values or remove the condition",
				      w->keyword);
			return true;
		case TOK_COMMA:
			if (!need_comma)
				error(p, p->tok.loc, "a value is missing before this `,`");
			need_comma = false;
			next(p);
			continue;
		case TOK_WORD:
		case TOK_SETREF:
			/* A line that starts like a statement: the `}` was forgotten. */
			if (newline_since_item && is_line_start_keyword(&p->tok)) {
				error(p, p->tok.loc, "unterminated `{` (opened at %d:%d); close the list with `}`",
				      open.line, open.col);
				p->resume = true;
				return false;
			}
			if (need_comma)
				error(p, p->tok.loc, "expected `,` between list items");
			if (p->tok.kind == TOK_SETREF)
				check_setref(p, &p->tok);
			add_item(l, p->tok.kind == TOK_WORD ? AST_LITERAL : AST_SETREF, &p->tok);
			need_comma = true;
			newline_since_item = false;
			next(p);
			continue;
		case TOK_EOF:
			error(p, open, "unterminated `{`: the list is not closed with `}` before the end of the file");
			return false;
		case TOK_LBRACE:
			error(p, p->tok.loc, "unexpected `{` inside a list: lists cannot be nested");
			need_comma = false;
			nested++;
			next(p);
			continue;
		case TOK_BANG:
			if (w->negatable)
				error(p, p->tok.loc,
				      "`!` cannot be used inside a list; negate the whole list, e.g. ! { a, b }");
			else
				error(p, p->tok.loc, "negation is only allowed for addresses and ports");
			need_comma = false;
			next(p);
			continue;
		case TOK_ERROR: /* already reported */
			need_comma = true;
			next(p);
			continue;
		default:
			unexpected(p, "unexpected %s in a list; items are separated by `,`");
			need_comma = false; /* one error for `a = b`, not two */
			next(p);
			continue;
		}
	}
}

/* LIST := [!] ( WORD | @set | { item, ... } ) */
static bool parse_list(struct parser *p, struct ast_list *l, const struct list_what *w)
{
	memset(l, 0, sizeof(*l));
	l->loc = p->tok.loc;
	if (p->tok.kind == TOK_BANG) {
		if (w->negatable)
			l->negated = true;
		else
			error(p, p->tok.loc, "negation is only allowed for addresses and ports");
		next(p);
		if (p->tok.kind == TOK_BANG) {
			error(p, p->tok.loc, "double negation `! !`; remove both");
			next(p);
		}
	}
	switch (p->tok.kind) {
	case TOK_WORD:
		if (!w->in_decl && (in_list(p->tok.text, condition_words) || in_list(p->tok.text, verdict_words))) {
			error(p, p->tok.loc, "%s needs a value before `%s` (e.g. %s)", w->keyword, p->tok.text,
			      w->example);
			return false;
		}
		add_item(l, AST_LITERAL, &p->tok);
		next(p);
		return true;
	case TOK_SETREF:
		check_setref(p, &p->tok);
		add_item(l, AST_SETREF, &p->tok);
		next(p);
		return true;
	case TOK_LBRACE:
		return parse_braced(p, l, w);
	default: {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s needs a value: one word, @set or { a, b } (e.g. %s); got %%s",
			 w->keyword, w->example);
		unexpected(p, msg);
		return false;
	}
	}
}

/* ---------- rules ---------- */

struct rule_state {
	struct ast_rule r;
	bool have[F_COUNT];
	bool have_log;
};

static void add_cond(struct parser *p, struct rule_state *rs, enum field f, struct src_loc kw, struct ast_list *l)
{
	if (rs->have[f]) {
		if (f == F_DIR)
			error(p, kw,
			      "direction given twice in one rule; a rule without `in`/`out` "
			      "matches both directions");
		else if (f == F_FAMILY)
			error(p, kw,
			      "`ip4`/`ip6` given twice in one rule; leave both out to match "
			      "both families");
		else
			error(p, kw, "`%s` given twice in one rule; combine the values in { }", field_name(f));
		ast_list_free(l);
		return;
	}
	rs->have[f] = true;
	struct ast_cond *c = GROW(rs->r.conds, rs->r.nconds);
	c->field = f;
	c->list = *l;
	c->loc = kw;
}

/* A condition whose value is implied by its keyword (`in`, `ip4`). */
static void add_keyword_cond(struct parser *p, struct rule_state *rs, enum field f, const char *value)
{
	struct ast_list l = { .loc = p->tok.loc };
	struct token t = p->tok;
	t.text = (char *)value;
	add_item(&l, AST_LITERAL, &t);
	add_cond(p, rs, f, p->tok.loc, &l);
	next(p);
}

static bool parse_list_cond(struct parser *p, struct rule_state *rs, enum field f, struct src_loc kw,
			    const struct list_what *w)
{
	struct ast_list l;
	if (!parse_list(p, &l, w)) {
		ast_list_free(&l);
		return false;
	}
	add_cond(p, rs, f, kw, &l);
	return true;
}

/* `local ...` / `remote ...`: ADDRS [port PORTS] | port PORTS */
static bool parse_endpoint(struct parser *p, struct rule_state *rs, bool local)
{
	struct src_loc kw = p->tok.loc;
	enum field faddr = local ? F_LADDR : F_RADDR, fport = local ? F_LPORT : F_RPORT;
	const struct list_what addr = {
		local ? "`local`" : "`remote`",
		local ? "local 192.0.2.1 or local port 80" : "remote 192.0.2.0/24 or remote port 80",
		true,
		false,
	};
	const struct list_what port = {
		local ? "`local port`" : "`remote port`",
		local ? "local port { 80, 443 }" : "remote port 1024-65535",
		true,
		false,
	};
	next(p);
	if (!is_word(p, "port")) {
		if (!parse_list_cond(p, rs, faddr, kw, &addr))
			return false;
		if (!is_word(p, "port"))
			return true;
	}
	struct src_loc pkw = p->tok.loc;
	next(p);
	return parse_list_cond(p, rs, fport, pkw, &port);
}

static const struct {
	const char *word;
	enum field field;
	struct list_what what;
} list_conditions[] = {
	{ "proto", F_PROTO, { "`proto`", "proto tcp or proto { tcp, udp }", false, false } },
	{ "on", F_IFACE, { "`on`", "on eth0", false, false } },
	{ "icmp-type", F_ICMPTYPE, { "`icmp-type`", "icmp-type echo-request", false, false } },
	{ "app", F_APP, { "`app`", "app /usr/bin/curl or app @browsers", false, false } },
	{ "cgroup", F_CGROUP, { "`cgroup`", "cgroup /system.slice/nginx.service", false, false } },
	{ "user", F_USER, { "`user`", "user www-data or user 1000", false, false } },
	{ "event", F_EVENT, { "`event`", "event connect or event { listen, accept }", false, false } },
};

/* One condition or option.  Returns false when the rest of the line
 * cannot be made sense of. */
static bool parse_condition(struct parser *p, struct rule_state *rs)
{
	if (p->tok.kind == TOK_BANG) {
		error(p, p->tok.loc,
		      "negation is only allowed for addresses and ports: put `!` "
		      "before the value, e.g. remote ! @trusted");
		next(p);
		return true;
	}
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "unexpected %s in a rule; expected a condition (e.g. remote, proto) "
			      "or an option (log, comment)");
		return false;
	}
	const char *w = p->tok.text;
	struct src_loc kw = p->tok.loc;

	if (strcmp(w, "in") == 0 || strcmp(w, "out") == 0) {
		add_keyword_cond(p, rs, F_DIR, w);
		return true;
	}
	if (strcmp(w, "ip4") == 0 || strcmp(w, "ip6") == 0) {
		add_keyword_cond(p, rs, F_FAMILY, w[2] == '4' ? "4" : "6");
		return true;
	}
	if (strcmp(w, "local") == 0 || strcmp(w, "remote") == 0)
		return parse_endpoint(p, rs, w[0] == 'l');
	for (size_t i = 0; i < sizeof(list_conditions) / sizeof(list_conditions[0]); i++)
		if (strcmp(w, list_conditions[i].word) == 0) {
			next(p);
			return parse_list_cond(p, rs, list_conditions[i].field, kw, &list_conditions[i].what);
		}
	if (strcmp(w, "log") == 0) {
		if (rs->have_log)
			diag_warning(p->d, kw, "`log` given twice in one rule");
		rs->have_log = true;
		rs->r.log = true;
		next(p);
		return true;
	}
	if (strcmp(w, "comment") == 0) {
		next(p);
		if (p->tok.kind != TOK_STRING) {
			unexpected(p, "`comment` needs a quoted string, e.g. comment \"why this rule\"; "
				      "got %s");
			return false;
		}
		if (rs->r.comment)
			error(p, kw, "`comment` given twice in one rule; keep one");
		else
			rs->r.comment = xstrdup(p->tok.text);
		next(p);
		return true;
	}
	if (strcmp(w, "port") == 0) {
		error(p, kw, "`port` must follow `local` or `remote`, e.g. remote port 80");
		return false;
	}
	if (in_list(w, verdict_words)) {
		error(p, kw,
		      "a rule has one verdict; `%s` here starts another rule: put it on its "
		      "own line",
		      w);
		return false;
	}
	const char *s = suggest_name(w, condition_words, -1);
	if (s)
		error(p, kw, "unknown condition `%.40s`; did you mean `%s`?", w, s);
	else
		error(p, kw,
		      "unknown condition `%.40s`; expected one of: in, out, proto, ip4, ip6, "
		      "local, remote, on, icmp-type, app, cgroup, user, event, or the options "
		      "log, comment \"TEXT\"",
		      w);
	return false;
}

/* RULE := VERDICT [DIRECTION] CONDITION* OPTION*  (one line) */
static void parse_rule(struct parser *p, struct ast_table *t)
{
	int errors_before = p->d->nerrors;
	struct rule_state rs;
	memset(&rs, 0, sizeof(rs));
	rs.r.loc = p->tok.loc;

	enum verdict v;
	if (p->tok.kind != TOK_WORD || !verdict_from_name(p->tok.text, &v)) {
		const char *s = p->tok.kind == TOK_WORD ? suggest_name(p->tok.text, verdict_words, -1) : NULL;
		if (s)
			error(p, p->tok.loc, "unknown verdict `%.40s`; did you mean `%s`?", p->tok.text, s);
		else if (p->tok.kind == TOK_WORD && in_list(p->tok.text, condition_words))
			error(p, p->tok.loc, "a rule starts with its verdict (" VERDICT_LIST "), e.g. `allow %s ...`",
			      p->tok.text);
		else
			unexpected(p, "expected a verdict (" VERDICT_LIST "), got %s");
		sync(p, true);
		return;
	}
	rs.r.verdict = v;
	next(p);
	bool ok = true;
	if (v == VERDICT_JUMP) {
		if (p->tok.kind != TOK_WORD || in_list(p->tok.text, condition_words)) {
			unexpected(p, "`jump` needs a table name, e.g. jump web-browser; got %s");
			ok = false;
		} else {
			if (!valid_name(p->tok.text))
				error(p, p->tok.loc, "invalid table name `%.40s`: " NAME_RULE, p->tok.text);
			rs.r.jump_target = xstrdup(p->tok.text);
			rs.r.target_loc = p->tok.loc;
			next(p);
		}
	}
	while (ok && !at_end_of_statement(p) && p->tok.kind != TOK_RBRACE)
		ok = parse_condition(p, &rs);
	if (!ok)
		sync(p, true);
	if (!ok || p->d->nerrors != errors_before) {
		ast_rule_free(&rs.r);
		return;
	}
	*GROW(t->rules, t->nrules) = rs.r;
}

/* ---------- declarations ---------- */

/* Rules up to the closing `}` (the `{` was consumed). */
static void parse_table_body(struct parser *p, struct ast_table *t, struct src_loc open)
{
	for (;;) {
		while (p->tok.kind == TOK_NEWLINE)
			next(p);
		if (p->tok.kind == TOK_EOF) {
			error(p, open,
			      "unterminated `{` of table `%s`: add `}` on a line after its "
			      "last rule",
			      t->name);
			return;
		}
		if (p->tok.kind == TOK_RBRACE) {
			next(p);
			expect_end(p, "`}`", false);
			return;
		}
		if (p->tok.kind == TOK_WORD && in_list(p->tok.text, statement_words)) {
			if (strcmp(p->tok.text, "table") != 0)
				error(p, p->tok.loc,
				      "table `%s` (opened at %d:%d) is not closed: add `}` before this "
				      "line (`%s` is not allowed inside a table)",
				      t->name, open.line, open.col, p->tok.text);
			else
				error(p, p->tok.loc,
				      "table `%s` (opened at %d:%d) is not closed: add `}` before this "
				      "line",
				      t->name, open.line, open.col);
			return;
		}
		parse_rule(p, t);
	}
}

/* Duplicate names (also across includes) are reported by the resolver. */
static void add_table(struct parser *p, struct ast_table *t)
{
	*GROW(p->ctx->ast->tables, p->ctx->ast->ntables) = *t;
}

/* table NAME [default VERDICT] { RULE* } */
static void parse_table(struct parser *p)
{
	struct ast_table t;
	memset(&t, 0, sizeof(t));
	t.loc = p->tok.loc;
	next(p);
	bool header_ok = true;
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "`table` needs a name, e.g. table web-browser {; got %s");
		header_ok = false;
	} else {
		if (!valid_name(p->tok.text))
			error(p, p->tok.loc, "invalid table name `%.40s`: " NAME_RULE, p->tok.text);
		t.name = xstrdup(p->tok.text);
		next(p);
		if (is_word(p, "default")) {
			next(p);
			enum verdict v;
			if (p->tok.kind == TOK_WORD && verdict_from_name(p->tok.text, &v)) {
				if (v == VERDICT_JUMP)
					error(p, p->tok.loc,
					      "a table default cannot be `jump`; end the "
					      "table with a `jump` rule instead");
				t.has_default = true;
				t.dflt = v;
				t.dflt_loc = p->tok.loc;
				next(p);
			} else {
				unexpected(p, "`default` needs a verdict (allow, deny, reject, ask, "
					      "continue); got %s");
				header_ok = false;
			}
		}
	}
	if (!t.name)
		t.name = xstrdup("?");

	if (header_ok && p->tok.kind == TOK_LBRACE) {
		struct src_loc open = p->tok.loc;
		next(p);
		parse_table_body(p, &t, open);
	} else if (header_ok && at_end_of_statement(p)) {
		error(p, here(p), "table `%s` is missing `{` at the end of this line", t.name);
		/* If the body follows (Allman-style `{` on the next line, or
		 * rules), take it as the table's to avoid an error per rule. */
		while (p->tok.kind == TOK_NEWLINE)
			next(p);
		if (p->tok.kind == TOK_LBRACE) {
			struct src_loc open = p->tok.loc;
			next(p);
			parse_table_body(p, &t, open);
		} else if (p->tok.kind == TOK_WORD && in_list(p->tok.text, verdict_words)) {
			parse_table_body(p, &t, t.loc);
		}
	} else {
		if (header_ok)
			unexpected(p, "unexpected %s in a table header; expected `{` "
				      "(table NAME [default VERDICT] {)");
		/* Skip to the `{` of this line, if any, and take the body. */
		while (!at_end_of_statement(p) && p->tok.kind != TOK_LBRACE)
			next(p);
		if (p->tok.kind == TOK_LBRACE) {
			struct src_loc open = p->tok.loc;
			next(p);
			parse_table_body(p, &t, open);
		}
	}
	add_table(p, &t);
}

/* addresses|ports|apps|cgroups NAME = LIST */
static void parse_set(struct parser *p, enum set_kind kind)
{
	static const struct list_what what[] = {
		[SET_ADDRESSES] = { "`addresses`", "addresses trusted = { 192.0.2.0/24, 2001:db8::/32 }", true, true },
		[SET_PORTS] = { "`ports`", "ports web = { 80, 443 }", true, true },
		[SET_APPS] = { "`apps`", "apps browsers = { /usr/bin/firefox }", false, true },
		[SET_CGROUPS] = { "`cgroups`", "cgroups web = { /system.slice/nginx.service }", false, true },
	};
	struct src_loc kw = p->tok.loc;
	const char *kwtext = what[kind].keyword;
	next(p);
	if (p->tok.kind != TOK_WORD) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s needs a set name, e.g. %s; got %%s", kwtext, what[kind].example);
		unexpected(p, msg);
		sync(p, false);
		return;
	}
	struct ast_set s;
	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.loc = kw;
	struct token name = p->tok;
	bool ok = true;
	if (!valid_name(name.text)) {
		error(p, name.loc, "invalid set name `%.40s`: " NAME_RULE, name.text);
		ok = false;
	}
	next(p);
	if (p->tok.kind == TOK_EQUALS) {
		next(p);
	} else {
		unexpected(p, "expected `=` after set name, got %s");
		ok = false;
		/* Go on with the value if it is there, so its braces are consumed. */
		if (at_end_of_statement(p) || p->tok.kind == TOK_ERROR) {
			sync(p, false);
			return;
		}
	}
	if (!parse_list(p, &s.list, &what[kind])) {
		ast_list_free(&s.list);
		sync(p, false);
		return;
	}
	if (!ok) {
		ast_list_free(&s.list);
	} else {
		s.name = xstrdup(name.text);
		*GROW(p->ctx->ast->sets, p->ctx->ast->nsets) = s;
	}
	expect_end(p, "the set", false);
}

/* interface NAME = IFNAME */
static void parse_interface(struct parser *p)
{
	struct src_loc kw = p->tok.loc;
	next(p);
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "`interface` needs a name and an interface, e.g. interface wan = eth0; "
			      "got %s");
		sync(p, false);
		return;
	}
	struct token name = p->tok;
	if (!valid_name(name.text))
		error(p, name.loc, "invalid interface alias `%.40s`: " NAME_RULE, name.text);
	next(p);
	if (p->tok.kind != TOK_EQUALS) {
		unexpected(p, "expected `=` after interface alias (interface wan = eth0), got %s");
		sync(p, false);
		return;
	}
	next(p);
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "`interface` needs an interface name after `=`, e.g. interface wan = "
			      "eth0; got %s");
		sync(p, false);
		return;
	}
	struct ast_iface *i = GROW(p->ctx->ast->ifaces, p->ctx->ast->nifaces);
	i->name = xstrdup(name.text);
	i->ifname = xstrdup(p->tok.text);
	i->loc = kw;
	next(p);
	expect_end(p, "the interface name", false);
}

/* option NAME VALUE */
static void parse_option(struct parser *p)
{
	struct src_loc kw = p->tok.loc;
	next(p);
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "`option` needs a name and a value, e.g. option boot-timeout 300; "
			      "got %s");
		sync(p, false);
		return;
	}
	struct token name = p->tok;
	next(p);
	if (p->tok.kind == TOK_LBRACE || p->tok.kind == TOK_SETREF || p->tok.kind == TOK_BANG) {
		/* a list (option ftp-ports { 21, 2121 }): the resolver says
		 * whether the option takes one */
		char kwbuf[64];
		snprintf(kwbuf, sizeof(kwbuf), "`option %.40s`", name.text);
		const struct list_what w = { kwbuf, "option ftp-ports { 21, 2121 }", true, false };
		struct ast_list l;
		struct src_loc vl = p->tok.loc;
		if (!parse_list(p, &l, &w)) {
			ast_list_free(&l);
			sync(p, false);
			return;
		}
		struct ast_option *o = GROW(p->ctx->ast->options, p->ctx->ast->noptions);
		o->name = xstrdup(name.text);
		o->value = NULL;
		o->list = l;
		o->loc = kw;
		o->value_loc = vl;
		expect_end(p, "the option value", false);
		return;
	}
	if (p->tok.kind != TOK_WORD && p->tok.kind != TOK_STRING) {
		char msg[200];
		snprintf(msg, sizeof(msg), "option `%.40s` needs a value, e.g. option boot-timeout 300; got %%s",
			 name.text);
		unexpected(p, msg);
		sync(p, false);
		return;
	}
	struct ast_option *o = GROW(p->ctx->ast->options, p->ctx->ast->noptions);
	o->name = xstrdup(name.text);
	o->value = xstrdup(p->tok.text);
	o->loc = kw;
	o->value_loc = p->tok.loc;
	memset(&o->list, 0, sizeof(o->list));
	o->list.loc = p->tok.loc;
	add_item(&o->list, AST_LITERAL, &p->tok);
	next(p);
	expect_end(p, "the option value", false);
}

/* ---------- include ---------- */

static void parse_file(struct parse_ctx *ctx, const struct source *src);

static struct file_id identify(const char *path)
{
	struct file_id id = { .name = path };
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		id.known = true;
	}
	return id;
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

/* The glob pattern relative to the including file's directory, with glob
 * characters in that directory's name escaped. */
static char *include_pattern(const char *including, const char *pattern)
{
	const char *slash = strrchr(including, '/');
	if (pattern[0] == '/' || !slash)
		return xstrdup(pattern);
	size_t dirlen = slash - including + 1;
	char *out = xrealloc(NULL, 2 * dirlen + strlen(pattern) + 1), *o = out;
	for (size_t i = 0; i < dirlen; i++) {
		if (strchr("*?[\\", including[i]))
			*o++ = '\\';
		*o++ = including[i];
	}
	strcpy(o, pattern);
	return out;
}

static void include_one(struct parser *p, const char *path, struct src_loc loc)
{
	struct parse_ctx *ctx = p->ctx;
	struct file_id id = identify(path);
	for (int i = 0; i <= ctx->depth; i++) {
		if (!same_file(&ctx->stack[i], &id))
			continue;
		size_t n = 64;
		for (int j = i; j <= ctx->depth; j++)
			n += strlen(ctx->stack[j].name) + 4;
		char *chain = xrealloc(NULL, n + strlen(path));
		chain[0] = '\0';
		for (int j = i; j <= ctx->depth; j++) {
			strcat(chain, ctx->stack[j].name);
			strcat(chain, " -> ");
		}
		strcat(chain, path);
		error(p, loc, "include cycle: %s; remove one of these includes", chain);
		free(chain);
		return;
	}
	for (int i = 0; i < ctx->ndone; i++)
		if (same_file(&ctx->done[i], &id)) {
			diag_warning(p->d, loc, "`%s` is already included (as `%s`); skipping it", path,
				     ctx->done[i].name);
			return;
		}
	if (ctx->depth >= MAX_INCLUDE_DEPTH) {
		error(p, loc, "includes nested too deeply (more than %d levels)", MAX_INCLUDE_DEPTH);
		return;
	}
	if (ctx->ndone >= MAX_INCLUDED_FILES) {
		error(p, loc, "too many included files (more than %d)", MAX_INCLUDED_FILES);
		return;
	}
	struct source *src = sources_add_file(ctx->srcs, path);
	if (!src) {
		error(p, loc, "cannot read included file `%s`: %s", path, sources_strerror(errno));
		return;
	}
	id.name = src->name;
	*GROW(ctx->done, ctx->ndone) = id;
	ctx->stack[++ctx->depth] = id;
	parse_file(ctx, src);
	ctx->depth--;
}

/* include "GLOB" */
static void parse_include(struct parser *p)
{
	struct src_loc kw = p->tok.loc;
	next(p);
	if (p->tok.kind != TOK_STRING) {
		unexpected(p, "`include` needs a quoted path or pattern, e.g. include \"conf.d/*.rules\"; "
			      "got %s");
		sync(p, false);
		return;
	}
	struct token pat = p->tok;
	next(p);
	expect_end(p, "the included path", false);
	if (!pat.text[0]) {
		error(p, pat.loc, "`include` needs a non-empty path");
		return;
	}
	char *full = include_pattern(p->src->name, pat.text);
	bool wildcard = strpbrk(pat.text, "*?[") != NULL;
	glob_t g;
	int rc = glob(full, GLOB_MARK, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		if (wildcard)
			diag_warning(p->d, pat.loc, "include pattern \"%s\" matches no file", full);
		else
			error(p, pat.loc, "include not found: %s", full);
	} else if (rc != 0) {
		error(p, pat.loc, "cannot expand include \"%s\" (%s)", full,
		      rc == GLOB_NOSPACE ? "out of memory" : "read error");
	} else {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *path = g.gl_pathv[i];
			size_t len = strlen(path);
			if (len && path[len - 1] == '/') { /* a directory (GLOB_MARK) */
				if (!wildcard)
					error(p, pat.loc,
					      "include: `%s` is a directory; include its "
					      "files with \"%s*.rules\"",
					      path, pat.text);
				continue;
			}
			include_one(p, path, pat.loc);
		}
	}
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(full);
	(void)kw;
}

/* ---------- statements ---------- */

static void parse_statement(struct parser *p)
{
	if (p->tok.kind == TOK_RBRACE) {
		error(p, p->tok.loc, "`}` without matching `{`");
		next(p);
		sync(p, false);
		return;
	}
	if (p->tok.kind != TOK_WORD) {
		unexpected(p, "expected a declaration (addresses, ports, apps, cgroups, interface, "
			      "option, include) or a table, got %s");
		sync(p, false);
		return;
	}
	const char *w = p->tok.text;
	if (strcmp(w, "addresses") == 0)
		parse_set(p, SET_ADDRESSES);
	else if (strcmp(w, "ports") == 0)
		parse_set(p, SET_PORTS);
	else if (strcmp(w, "apps") == 0)
		parse_set(p, SET_APPS);
	else if (strcmp(w, "cgroups") == 0)
		parse_set(p, SET_CGROUPS);
	else if (strcmp(w, "interface") == 0)
		parse_interface(p);
	else if (strcmp(w, "option") == 0)
		parse_option(p);
	else if (strcmp(w, "include") == 0)
		parse_include(p);
	else if (strcmp(w, "table") == 0)
		parse_table(p);
	else {
		if (in_list(w, verdict_words))
			error(p, p->tok.loc, "rules must be inside a table, e.g. table root { ... }");
		else {
			const char *s = suggest_name(w, statement_words, -1);
			if (s)
				error(p, p->tok.loc, "unknown statement `%.40s`; did you mean `%s`?", w, s);
			else
				error(p, p->tok.loc,
				      "unknown statement `%.40s`; expected a declaration "
				      "(addresses, ports, apps, cgroups, interface, option, "
				      "include) or a table",
				      w);
		}
		sync(p, false);
	}
}

static void parse_file(struct parse_ctx *ctx, const struct source *src)
{
	struct parser p = { .ctx = ctx, .src = src, .d = ctx->d };
	lexer_init(&p.lx, src, ctx->d);
	next(&p);
	for (;;) {
		while (p.tok.kind == TOK_NEWLINE)
			next(&p);
		if (p.tok.kind == TOK_EOF)
			break;
		parse_statement(&p);
	}
	lexer_free(&p.lx);
}

int parse_source(struct ast_policy *ast, struct sources *srcs, const struct source *src, struct diag *d)
{
	struct parse_ctx ctx = { .ast = ast, .srcs = srcs, .d = d };
	int errors_before = d->nerrors;
	ctx.stack[0] = identify(src->name);
	ctx.stack[0].name = src->name;
	*GROW(ctx.done, ctx.ndone) = ctx.stack[0];
	parse_file(&ctx, src);
	free(ctx.done);
	return d->nerrors == errors_before ? 0 : -1;
}
