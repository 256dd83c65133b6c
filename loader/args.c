#include <string.h>
#include "args.h"

int arg_next(struct cli *c, int *i, const char *const *known, struct arg *a)
{
	const char *w = c->argv[*i];
	const char *eq = strchr(w, '=');

	memset(a, 0, sizeof(*a));
	if (w[0] != '-' || !w[1]) {
		a->val = w;
		return 0;
	}
	snprintf(a->opt, sizeof(a->opt), "%.*s", eq ? (int)(eq - w) : (int)strlen(w), w);
	bool ok = false;
	for (int k = 0; known[k]; k++)
		ok |= !strcmp(a->opt, known[k]);
	if (!ok)
		return usage_error(c, "unknown option `%s`", w);
	if (eq)
		a->val = eq + 1;
	else if (*i + 1 < c->argc)
		a->val = c->argv[++*i];
	if (!a->val || !*a->val)
		return usage_error(c, "%s needs a value", a->opt);
	return 0;
}

int apply_option(struct cli *c, const struct arg *a, struct apply_req *rq, const char **ifnames)
{
	if (!strcmp(a->opt, "--iface")) {
		if (rq->nifnames >= APPLY_MAX_IFACES)
			return usage_error(c, "at most %d --iface", APPLY_MAX_IFACES);
		ifnames[rq->nifnames++] = a->val;
		rq->ifnames = ifnames;
		return 0;
	}
	if (!strcmp(a->opt, "--cgroup")) {
		rq->cgroup = a->val;
		return 0;
	}
	if (!strcmp(a->opt, "--policy")) {
		rq->file = a->val;
		return 0;
	}
	return -1;
}
