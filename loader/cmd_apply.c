/* `rampart apply [FILE] [--iface IF]... [--cgroup PATH]` and `rampart unload`. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "apply.h"
#include "cli.h"
#include "args.h"
#include "json.h"

static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return EXIT_OK;
	fprintf(stderr, "rampart %s: must run as root (needs CAP_BPF and CAP_NET_ADMIN)\n", cmd);
	return EXIT_SYSTEM;
}

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
	printf("  %d rule%s in %d table%s, generation %u%s\n", r->nrules, r->nrules == 1 ? "" : "s",
	       r->ntables, r->ntables == 1 ? "" : "s", r->generation,
	       !r->replaced ? ""
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
		printf("  cgroup %s: %d socket hooks %s (network, connect, listen, send)\n", r->cgroup,
		       r->nsock_hooks, r->sock_fresh ? "attached" : "switched");
	if (r->classifier[0])
		printf("%s\n", r->classifier);
	printf("  pinned in %s, mode enforcing\n", rq->pin_dir);
}

int cmd_apply(struct cli *c)
{
	struct apply_req rq = { .pin_dir = c->pin_dir, .file = NULL };
	const char *ifnames[APPLY_MAX_IFACES + 1];
	static const char *const known[] = { "--iface", "--cgroup", "--policy", NULL };

	for (int i = 1; i < c->argc; i++) {
		struct arg a;
		if (arg_next(c, &i, known, &a))
			return EXIT_USAGE;
		if (a.opt[0]) {
			if (apply_option(c, &a, &rq, ifnames) > 0)
				return EXIT_USAGE;
		} else if (rq.file) {
			return usage_error(c, "takes at most one FILE (got `%s` and `%s`)", rq.file, a.val);
		} else {
			rq.file = a.val;
		}
	}
	if (!rq.file)
		rq.file = DEFAULT_POLICY_FILE;
	int rc = need_root("apply");
	if (rc)
		return rc;

	struct apply_report rep;
	rc = apply_policy(&rq, &rep, stderr);
	if (rc == EXIT_OK) {
		if (c->json)
			print_json(&rq, &rep);
		else
			print_text(&rq, &rep);
	}
	return rc;
}

int cmd_unload(struct cli *c)
{
	if (c->argc > 1)
		return usage_error(c, "takes no arguments (the pin dir is --pin-dir, now %s)", c->pin_dir);
	int rc = need_root("unload");
	if (rc)
		return rc;
	return unload_pins(c->pin_dir, stdout);
}
