/* `rampart explain [--policy FILE] [--json] EVENT`: the path an event takes
 * through the tables, judged by the reference interpreter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "json.h"
#include "log.h"
#include "policy.h"

static const char *step_name(enum step_kind k)
{
	switch (k) {
	case STEP_NOMATCH:
		return "nomatch";
	case STEP_MATCH:
		return "match";
	case STEP_CONTINUE:
		return "continue";
	case STEP_JUMP:
		return "jump";
	case STEP_RETURN:
		return "return";
	case STEP_DEFAULT:
		return "default";
	}
	return "?";
}

static void rule_ref(char *buf, size_t len, const struct policy *p, int rule)
{
	if (rule < 0)
		snprintf(buf, len, "(default)");
	else
		snprintf(buf, len, "%s:%d", p->rules[rule].loc.file, p->rules[rule].loc.line);
}

/* The table a RETURN step goes back to: the table of the matching JUMP. */
static int return_target(const struct eval_result *r, int upto)
{
	int depth = 0;
	for (int i = upto - 1; i >= 0; i--) {
		if (r->steps[i].kind == STEP_RETURN)
			depth++;
		else if (r->steps[i].kind == STEP_JUMP && depth-- == 0)
			return r->steps[i].table;
	}
	return -1;
}

static void print_json(const struct policy *p, const char *evtext, const struct eval_result *r)
{
	char ref[4200];
	printf("{\"event\": ");
	json_str(stdout, evtext);
	printf(", \"verdict\": \"%s\", \"table\": ", verdict_name(r->verdict));
	json_str(stdout, p->tables[r->table].name);
	printf(", \"rule\": ");
	if (r->rule >= 0) {
		rule_ref(ref, sizeof(ref), p, r->rule);
		json_str(stdout, ref);
	} else {
		printf("null");
	}
	printf(", \"log\": %s, \"trace\": [", r->log ? "true" : "false");
	for (int i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];
		printf("%s{\"step\": \"%s\", \"table\": ", i ? ", " : "", step_name(s->kind));
		json_str(stdout, p->tables[s->table].name);
		if (s->rule >= 0) {
			rule_ref(ref, sizeof(ref), p, s->rule);
			printf(", \"rule\": ");
			json_str(stdout, ref);
			printf(", \"text\": ");
			json_str(stdout, p->rules[s->rule].text);
		}
		switch (s->kind) {
		case STEP_NOMATCH:
			printf(", \"field\": ");
			json_str(stdout, field_name(s->field));
			printf(", \"not_carried\": %s", s->not_carried ? "true" : "false");
			break;
		case STEP_JUMP:
			printf(", \"to\": ");
			json_str(stdout, p->tables[p->rules[s->rule].jump_table].name);
			break;
		case STEP_RETURN: {
			int to = return_target(r, i);
			printf(", \"to\": ");
			json_str(stdout, to >= 0 ? p->tables[to].name : NULL);
			break;
		}
		case STEP_MATCH:
		case STEP_DEFAULT:
			printf(", \"verdict\": \"%s\"", verdict_name(r->verdict));
			break;
		case STEP_CONTINUE:
			break;
		}
		printf("}");
	}
	printf("]}\n");
}

static void print_text(const struct policy *p, const char *evtext, const struct eval_result *r)
{
	char ref[4200];
	int depth = 0;

	printf("event: %s\n", evtext);
	for (int i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];
		const char *tname = p->tables[s->table].name;
		printf("%*s", 2 + 2 * depth, "");
		if (s->rule >= 0) {
			rule_ref(ref, sizeof(ref), p, s->rule);
			printf("%s  %-40s  ", ref, p->rules[s->rule].text);
		}
		switch (s->kind) {
		case STEP_NOMATCH:
			printf("no match: %s%s\n", field_name(s->field),
			       s->not_carried ? " (the event does not carry it)" : "");
			break;
		case STEP_CONTINUE:
			printf("match: continue (recorded)\n");
			break;
		case STEP_JUMP:
			printf("match: jump to table %s\n", p->tables[p->rules[s->rule].jump_table].name);
			depth++;
			break;
		case STEP_MATCH:
			printf("match: %s\n", verdict_name(r->verdict));
			break;
		case STEP_RETURN: {
			int to = return_target(r, i);
			printf("end of table %s (default continue): return to %s\n", tname,
			       to >= 0 ? p->tables[to].name : "?");
			if (depth > 0)
				depth--;
			break;
		}
		case STEP_DEFAULT:
			printf("end of table %s: default %s\n", tname, verdict_name(r->verdict));
			break;
		}
	}
	if (r->rule >= 0) {
		rule_ref(ref, sizeof(ref), p, r->rule);
		printf("verdict: %s (table %s, rule %s)\n", verdict_name(r->verdict), p->tables[r->table].name, ref);
	} else {
		printf("verdict: %s (table %s, default)\n", verdict_name(r->verdict), p->tables[r->table].name);
	}
}

struct explain_opts {
	const char *policy;
};

static const struct opt explain_opts[] = {
	OPTION("--policy", NULL, "FILE", "the policy file (default " DEFAULT_POLICY_FILE ")", OPT_STRING,
	       struct explain_opts, policy),
	OPT_END,
};

/* The event's words as one text. */
static char *join_words(int n, char **w)
{
	size_t len = 1;
	for (int j = 0; j < n; j++)
		len += strlen(w[j]) + 1;
	char *text = calloc(1, len);
	for (int j = 0; text && j < n; j++) {
		if (j)
			strcat(text, " ");
		strcat(text, w[j]);
	}
	return text;
}

static int cmd_explain(struct cli *c)
{
	const struct explain_opts *o = c->opts;
	const char *file = o->policy ? o->policy : DEFAULT_POLICY_FILE;
	if (c->argc < 2)
		return usage_error(c,
				   "needs an EVENT, e.g. `in proto tcp remote 203.0.113.5 port 40000 local port 80`");
	char *evtext = join_words(c->argc - 1, c->argv + 1);
	if (!evtext)
		return EXIT_SYSTEM;

	struct policy p;
	struct diag d;
	struct load_opts lo = { .resolve_hosts = true, .lookup_users = true };
	int rc = EXIT_OK;
	diag_init(&d, stderr, NULL);
	if (policy_load_file(&p, file, &lo, &d) != 0 || d.nerrors) {
		pr_err("%s: the policy has errors; fix them (see `rampart check %s`)", file, file);
		rc = EXIT_POLICY;
		goto out;
	}
	struct event ev;
	struct diag ed;
	diag_init(&ed, stderr, NULL);
	if (event_parse(&ev, &p, evtext, &ed) != 0 || ed.nerrors) {
		diag_free(&ed);
		rc = EXIT_USAGE;
		goto out;
	}
	diag_free(&ed);

	char shown[8192];
	event_format(&ev, shown, sizeof(shown));
	struct eval_result r;
	eval_event(&p, &ev, &r, true);
	if (c->json)
		print_json(&p, shown, &r);
	else
		print_text(&p, shown, &r);
	eval_result_free(&r);
out:
	diag_free(&d);
	policy_free(&p);
	free(evtext);
	return rc;
}

const struct command explain_command = {
	.name = "explain",
	.run = cmd_explain,
	.opts = explain_opts,
	.opts_size = sizeof(struct explain_opts),
	.args = "EVENT...",
	.max_args = -1,
	.help = "show the path an event takes through the tables and the verdict",
};
