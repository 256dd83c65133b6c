/* `rampart apply [FILE] [--iface IF]... [--cgroup PATH]` and `rampart unload`. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "apply.h"
#include "cli.h"
#include "json.h"
#include "log.h"

struct apply_opts {
	struct target_opts target;
};

static const struct opt apply_opts[] = {
	TARGET_OPTIONS(struct apply_opts),
	OPT_END,
};

/* The interface's attachments in apply's and boot's JSON: "xdp" and "tc"
 * (as before: the XDP mode, the tc egress kind) and what judges arriving
 * packets ("ingress": xdp, tcx, clsact or none). */
void print_iface_json(const struct apply_iface *f)
{
	printf(", \"ingress\": \"%s\", \"xdp\": \"%s\", \"tc\": \"%s\", \"link\": \"%s\"",
	       f->ingress ? f->ingress : "none", f->ingress && !strcmp(f->ingress, "xdp") ? "native" : "none",
	       f->egress ? f->egress : "none", f->role.l3 ? "ip" : "ether");
	if (f->role.bridge_port)
		printf(", \"bridge_port\": true");
}

static void print_json(const struct apply_req *rq, const struct apply_report *r)
{
	printf("{\"file\": ");
	json_str(stdout, rq->file);
	printf(", \"sha256\": \"%s\", \"rules\": %d, \"tables\": %d, \"generation\": %u, "
	       "\"replaced\": %s, \"state_kept\": %s, \"seconds\": %.3f, \"interfaces\": [",
	       r->sha256, r->nrules, r->ntables, r->generation, r->replaced ? "true" : "false",
	       r->state_reused ? "true" : "false", r->seconds);
	for (int i = 0; i < r->nifaces; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(stdout, r->ifaces[i].name);
		print_iface_json(&r->ifaces[i]);
		printf(", \"added\": %s}", r->ifaces[i].added ? "true" : "false");
	}
	printf("], \"detached\": [");
	for (int i = 0; i < r->ndetached; i++) {
		printf("%s", i ? ", " : "");
		json_str(stdout, r->detached[i]);
	}
	printf("], \"not_protected\": [");
	for (int i = 0; i < r->nrefused; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(stdout, r->refused[i].name);
		printf(", \"reason\": ");
		json_str(stdout, r->refused[i].role.refused);
		printf("}");
	}
	printf("], \"wan\": ");
	if (r->wan[0])
		json_str(stdout, r->wan);
	else
		printf("null");
	printf(", \"cgroup\": ");
	if (r->cgroup[0])
		json_str(stdout, r->cgroup);
	else
		printf("null");
	printf(", \"socket_hooks\": %d, \"classifier\": ", r->nsock_hooks);
	json_str(stdout, r->classifier[0] ? r->classifier + 2 : "");
	printf("}\n");
}

static void print_text(const struct apply_req *rq, const struct apply_report *r)
{
	printf("applied %s (sha256 %.12s) in %.2f s\n", rq->file, r->sha256, r->seconds);
	printf("  %d rule%s in %d table%s, generation %u%s\n", r->nrules, r->nrules == 1 ? "" : "s", r->ntables,
	       r->ntables == 1 ? "" : "s", r->generation,
	       !r->replaced	 ? ""
	       : r->state_reused ? "; replaced the running policy atomically, flows kept"
				 : "; replaced the running policy atomically");
	for (int i = 0; i < r->nifaces; i++) {
		char what[128];
		printf("  %-16s %s%s%s\n", r->ifaces[i].name, apply_iface_summary(&r->ifaces[i], what, sizeof(what)),
		       r->ifaces[i].added && r->replaced ? ", newly attached" : "",
		       !strcmp(r->ifaces[i].name, r->wan) ? ", wan (gateway mode)" : "");
	}
	for (int i = 0; i < r->nrefused; i++)
		printf("  %-16s NOT PROTECTED: %s\n", r->refused[i].name, r->refused[i].role.refused);
	for (int i = 0; i < r->ndetached; i++)
		printf("  %-16s detached\n", r->detached[i]);
	if (r->cgroup[0])
		printf("  cgroup %s: %d socket hooks %s (network, connect, listen, send)\n", r->cgroup, r->nsock_hooks,
		       r->sock_fresh ? "attached" : "switched");
	if (r->classifier[0])
		printf("%s\n", r->classifier);
	printf("  pinned in %s, mode enforcing\n", rq->pins->path);
}

/* The request of apply, boot, daemon and reset: FILE (or --policy) and
 * the target options. */
void apply_req_from(struct apply_req *rq, struct cli *c, const struct target_opts *t, const char *file)
{
	memset(rq, 0, sizeof(*rq));
	rq->pins = &c->pins;
	rq->file = file ? file : t->policy ? t->policy : DEFAULT_POLICY_FILE;
	rq->ifnames = t->iface.v;
	rq->nifnames = t->iface.n;
	rq->cgroup = t->cgroup;
}

static int cmd_apply(struct cli *c)
{
	struct apply_opts *o = c->opts;
	struct apply_req rq;
	struct apply_report rep;
	apply_req_from(&rq, c, &o->target, c->argc > 1 ? c->argv[1] : NULL);
	int e = apply_policy(&rq, &rep);
	if (e)
		return exit_code(e);
	if (c->json)
		print_json(&rq, &rep);
	else
		print_text(&rq, &rep);
	return EXIT_OK;
}

static int cmd_unload(struct cli *c)
{
	return exit_code(unload_pins(&c->pins, stdout));
}

const struct command apply_command = {
	.name = "apply",
	.run = cmd_apply,
	.opts = apply_opts,
	.opts_size = sizeof(struct apply_opts),
	.args = "[FILE]",
	.arg_name = "FILE",
	.max_args = 1,
	.root = true,
	.help = "compile, load, attach and pin a policy (replaces a running one atomically)",
};

const struct command unload_command = {
	.name = "unload",
	.run = cmd_unload,
	.max_args = 0,
	.root = true,
	.help = "detach and unpin everything in the pin dir",
};
