/* The parse tree of a policy: what the user wrote, with positions, before
 * names are resolved.  Produced by parser.c, consumed by resolve.c. */
#ifndef RAMPART_AST_H
#define RAMPART_AST_H

#include <stdbool.h>
#include "diag.h"
#include "fields.h"

/* One element of a value list: a literal word (address, port, path, name...)
 * or a reference to a declared set (`@name`). */
enum ast_item_kind { AST_LITERAL, AST_SETREF };

struct ast_item {
	enum ast_item_kind kind;
	char *text; /* literal text, or the set name without '@' */
	struct src_loc loc;
};

/* `X`, `@set`, `{ X, @set, ... }`, optionally preceded by `!`. */
struct ast_list {
	bool negated;
	bool braced;
	struct ast_item *items;
	int n;
	struct src_loc loc;
};

/* One condition of a rule, already split per field: `local A port P` gives
 * two conditions (F_LADDR and F_LPORT); `ip4` gives F_FAMILY "4";
 * `in`/`out` gives F_DIR. */
struct ast_cond {
	enum field field;
	struct ast_list list;
	struct src_loc loc; /* the keyword */
};

struct ast_rule {
	enum verdict verdict;
	char *jump_target; /* VERDICT_JUMP only */
	struct src_loc target_loc;
	struct ast_cond *conds;
	int nconds;
	bool log;
	char *comment;	    /* NULL when none */
	struct src_loc loc; /* the verdict keyword */
};

struct ast_table {
	char *name;
	struct src_loc loc;
	bool has_default;
	enum verdict dflt;
	struct src_loc dflt_loc;
	struct ast_rule *rules;
	int nrules;
};

enum set_kind { SET_ADDRESSES, SET_PORTS, SET_APPS, SET_CGROUPS };

struct ast_set {
	enum set_kind kind;
	char *name;
	struct ast_list list;
	struct src_loc loc;
};

/* `interface wan = eth0` */
struct ast_iface {
	char *name;
	char *ifname;
	struct src_loc loc;
};

/* `option NAME VALUE` (VALUE kept as text, checked by the resolver).  A
 * value written as a list (`{ 21, 2121 }`, `@set`, `! ...`) has no text
 * (value NULL); every value is in `list` too. */
struct ast_option {
	char *name;
	char *value;
	struct ast_list list;
	struct src_loc loc, value_loc;
};

struct ast_policy {
	struct ast_set *sets;
	int nsets;
	struct ast_iface *ifaces;
	int nifaces;
	struct ast_option *options;
	int noptions;
	struct ast_table *tables;
	int ntables;
};

void ast_policy_free(struct ast_policy *p);
/* Free what one list / one rule owns (the struct itself is not freed). */
void ast_list_free(struct ast_list *l);
void ast_rule_free(struct ast_rule *r);

#endif
