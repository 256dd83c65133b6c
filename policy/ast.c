/* Freeing the parse tree (every string in it is owned by it). */
#include "ast.h"

#include <stdlib.h>
#include <string.h>

void ast_list_free(struct ast_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i].text);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void ast_rule_free(struct ast_rule *r)
{
	for (int i = 0; i < r->nconds; i++)
		ast_list_free(&r->conds[i].list);
	free(r->conds);
	free(r->jump_target);
	free(r->comment);
}

void ast_policy_free(struct ast_policy *p)
{
	for (int i = 0; i < p->nsets; i++) {
		free(p->sets[i].name);
		ast_list_free(&p->sets[i].list);
	}
	free(p->sets);
	for (int i = 0; i < p->nifaces; i++) {
		free(p->ifaces[i].name);
		free(p->ifaces[i].ifname);
	}
	free(p->ifaces);
	for (int i = 0; i < p->noptions; i++) {
		free(p->options[i].name);
		free(p->options[i].value);
		ast_list_free(&p->options[i].list);
	}
	free(p->options);
	for (int i = 0; i < p->ntables; i++) {
		struct ast_table *t = &p->tables[i];
		for (int j = 0; j < t->nrules; j++)
			ast_rule_free(&t->rules[j]);
		free(t->rules);
		free(t->name);
	}
	free(p->tables);
	memset(p, 0, sizeof(*p));
}
