/* Loading a policy: read, parse (with includes), resolve.  The policy owns
 * every source it read, so diagnostics -- and each src_loc.file pointer in
 * the policy -- stay valid for as long as the policy lives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static int load_source(struct policy *p, const struct source *src, const struct load_opts *o, struct diag *d)
{
	static const struct load_opts defaults = { 0 };
	struct ast_policy ast;
	int before = d->nerrors;

	memset(&ast, 0, sizeof(ast));
	parse_source(&ast, &p->srcs, src, d);
	/* Resolve even after parse errors: the parser keeps what it understood,
	 * and the user gets every mistake in one run. */
	resolve_policy(p, &ast, o ? o : &defaults, d);
	ast_policy_free(&ast);
	return d->nerrors > before ? -1 : 0;
}

/* Shared start of both loaders.  d may be NULL (errors are then only
 * reflected in the return value). */
static struct diag *begin(struct policy *p, const char *name, struct diag *d, struct diag *local)
{
	memset(p, 0, sizeof(*p));
	sources_init(&p->srcs);
	p->main_file = strdup(name ? name : "");
	if (!p->main_file)
		abort();
	if (!d) {
		diag_init(local, NULL, NULL);
		d = local;
	}
	if (!d->srcs)
		d->srcs = &p->srcs;
	return d;
}

int policy_load_file(struct policy *p, const char *path, const struct load_opts *o, struct diag *d)
{
	struct diag local;
	struct diag *dd = begin(p, path, d, &local);
	int rc;

	const struct source *src = sources_add_file(&p->srcs, path);
	if (!src) {
		diag_error(dd, (struct src_loc){ p->main_file, 0, 0 }, "cannot read policy %s: %s", path,
			   strerror(errno));
		rc = -1;
	} else {
		rc = load_source(p, src, o, dd);
	}
	if (dd == &local)
		diag_free(&local);
	return rc;
}

int policy_load_string(struct policy *p, const char *name, const char *text, const struct load_opts *o, struct diag *d)
{
	struct diag local;
	struct diag *dd = begin(p, name, d, &local);

	const struct source *src = sources_add_string(&p->srcs, name ? name : "", text ? text : "");
	int rc = load_source(p, src, o, dd);
	if (dd == &local)
		diag_free(&local);
	return rc;
}

void policy_unresolved_str(const struct policy *p, char *buf, size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < p->nunresolved && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " " : "", p->unresolved[i]);
}

void policy_free(struct policy *p)
{
	for (int i = 0; i < p->ntables; i++) {
		free(p->tables[i].name);
		free(p->tables[i].rules);
	}
	free(p->tables);
	for (int i = 0; i < p->nrules; i++) {
		for (int f = 0; f < F_COUNT; f++)
			vset_free(&p->rules[i].cond[f].set);
		free(p->rules[i].comment);
		free(p->rules[i].text);
	}
	free(p->rules);
	for (int i = 0; i < p->nifaces; i++)
		free(p->ifaces[i]);
	free(p->ifaces);
	free(p->iface_pats);
	for (int i = 0; i < p->napps; i++)
		free(p->apps[i]);
	free(p->apps);
	for (int i = 0; i < p->nunresolved; i++)
		free(p->unresolved[i]);
	free(p->unresolved);
	for (int i = 0; i < p->ncgroups; i++)
		free(p->cgroups[i].path);
	free(p->cgroups);
	for (int i = 0; i < p->nsets; i++)
		free(p->sets[i].name);
	free(p->sets);
	sources_free(&p->srcs);
	free(p->main_file);
	memset(p, 0, sizeof(*p));
}
