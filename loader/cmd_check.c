/* `rampart check [FILE]`: parse, resolve and lint a policy. */
#include <stdio.h>
#include "cli.h"
#include "json.h"
#include "policy.h"
#include "apps.h"

static void json_msgs(FILE *f, const struct diag *d, enum diag_level level)
{
	bool first = true;
	fputc('[', f);
	for (int i = 0; i < d->nmsgs; i++) {
		const struct diag_msg *m = &d->msgs[i];
		if (m->level != level)
			continue;
		fprintf(f, "%s{\"file\": ", first ? "" : ", ");
		json_str(f, m->loc.file);
		fprintf(f, ", \"line\": %d, \"col\": %d, \"message\": ", m->loc.line, m->loc.col);
		json_str(f, m->text);
		fputc('}', f);
		first = false;
	}
	fputc(']', f);
}

static int cmd_check(struct cli *c)
{
	const char *file = c->argc > 1 ? c->argv[1] : DEFAULT_POLICY_FILE;

	struct policy p;
	struct diag d;
	struct load_opts o = { .resolve_hosts = true, .lookup_users = true };
	diag_init(&d, c->json ? NULL : stderr, NULL);
	int rc = policy_load_file(&p, file, &o, &d);
	if (rc == 0 && d.nerrors == 0)
		lint_policy(&p, &d);

	bool ok = d.nerrors == 0;
	if (c->json) {
		printf("{\"file\": ");
		json_str(stdout, file);
		printf(", \"ok\": %s, \"tables\": %d, \"rules\": %d, \"errors\": ", ok ? "true" : "false",
		       ok ? p.ntables : 0, ok ? p.nrules : 0);
		json_msgs(stdout, &d, DIAG_ERROR);
		printf(", \"warnings\": ");
		json_msgs(stdout, &d, DIAG_WARNING);
		printf(", \"unresolved\": [");
		for (int i = 0; ok && i < p.nunresolved; i++) {
			printf("%s", i ? ", " : "");
			json_str(stdout, p.unresolved[i]);
		}
		printf("], \"apps\": ");
		apps_report(&c->pins, stdout, APPS_REPORT_JSON);
		printf("}\n");
	} else if (ok) {
		printf("%s: ok: %d table%s, %d rule%s, %d warning%s\n", file, p.ntables, p.ntables == 1 ? "" : "s",
		       p.nrules, p.nrules == 1 ? "" : "s", d.nwarnings, d.nwarnings == 1 ? "" : "s");
		for (int i = 0; i < p.nunresolved; i++)
			printf("%s%s%s", i ? " " : "unresolved: ", p.unresolved[i],
			       i + 1 < p.nunresolved
				       ? ""
				       : " (match nothing until they resolve; `rampart daemon` retries)\n");
	} else {
		fprintf(stderr, "%s: %d error%s, %d warning%s\n", file, d.nerrors, d.nerrors == 1 ? "" : "s",
			d.nwarnings, d.nwarnings == 1 ? "" : "s");
	}
	/* the applications approved by the policy loaded in --pin-dir: warn
	 * about files replaced or modified since */
	if (!c->json)
		apps_report(&c->pins, stderr, APPS_REPORT_WARNINGS);
	diag_free(&d);
	policy_free(&p);
	return ok ? EXIT_OK : EXIT_POLICY;
}

const struct command check_command = {
	.name = "check",
	.run = cmd_check,
	.args = "[FILE]",
	.arg_name = "FILE",
	.max_args = 1,
	.help = "parse and validate a policy; print errors and warnings",
};
