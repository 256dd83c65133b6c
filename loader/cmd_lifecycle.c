/* The lifecycle commands (docs/operations.md): `rampart boot`, `rampart stop`,
 * `rampart shutdown`.  See docs/operations.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "apply.h"
#include "boot.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "pins.h"
#include "policy.h"
#include "view.h"

struct boot_opts {
	struct opt_uint timeout;
	const char *fail;
	struct target_opts target;
};

static const char *const fail_choices[] = { "open", "closed", NULL };

static const struct opt boot_opts[] = {
	OPTION("--timeout", NULL, "S",
	       "open by itself after S seconds without a policy (0: never; default: the policy's boot-timeout, else "
	       "300)",
	       OPT_UINT, struct boot_opts, timeout),
	OPTION("--fail", NULL, "open|closed", "after the timeout: open (permit all) or closed (keep blocking inbound)",
	       OPT_CHOICE, struct boot_opts, fail, .choices = fail_choices),
	TARGET_OPTIONS(struct boot_opts),
	OPT_END,
};

/* The policy file's `option boot-timeout`, when it can be read without the
 * network (no host name resolution this early); 0 when not. */
static uint32_t policy_boot_timeout(const char *file)
{
	struct policy p;
	struct diag d;
	struct load_opts lo = { .resolve_hosts = false, .lookup_users = false };
	uint32_t t = 0;
	if (access(file, R_OK) != 0)
		return 0;
	memset(&p, 0, sizeof(p));
	diag_init(&d, NULL, NULL);
	if (policy_load_file(&p, file, &lo, &d) == 0 && d.nerrors == 0 && p.opt.boot_timeout > 0)
		t = (uint32_t)p.opt.boot_timeout;
	diag_free(&d);
	policy_free(&p);
	return t;
}

/* A real policy (not the boot set) is loaded in dir. */
static bool policy_loaded(const struct pin_dir *pd, char *path, size_t n)
{
	struct rp_policy_info info;
	__u32 zero = 0;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_POLICY_INFO));
	bool yes = false;
	if (fd < 0)
		return false;
	if (bpf_map_lookup_elem(fd, &zero, &info) == 0 && (info.nrules || info.path[0])) {
		snprintf(path, n, "%s", info.path);
		yes = true;
	}
	close(fd);
	return yes;
}

static void print_boot(const struct cli *c, const struct apply_boot *boot, const struct apply_report *rep)
{
	if (c->json) {
		printf("{\"mode\": \"boot\", \"pin_dir\": ");
		json_str(stdout, c->pins.path);
		printf(", \"timeout_s\": %u, \"fail\": \"%s\", \"netns_hook\": %s, \"interfaces\": [", boot->timeout_s,
		       boot->fail_closed ? "closed" : "open", rep->netns_hook ? "true" : "false");
		for (int i = 0; i < rep->nifaces; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(stdout, rep->ifaces[i].name);
			print_iface_json(&rep->ifaces[i]);
			printf("}");
		}
		printf("]}\n");
		return;
	}
	printf("boot protection pinned in %s: outbound traffic and its replies pass, new inbound is blocked\n",
	       c->pins.path);
	for (int i = 0; i < rep->nifaces; i++) {
		char what[128];
		printf("  %-16s %s\n", rep->ifaces[i].name, apply_iface_summary(&rep->ifaces[i], what, sizeof(what)));
	}
	for (int i = 0; i < rep->nrefused; i++)
		printf("  %-16s NOT PROTECTED: %s\n", rep->refused[i].name, rep->refused[i].role.refused);
	if (rep->netns_hook)
		printf("  network namespace: SK_LOOKUP hook (new inbound TCP connections and UDP to unconnected "
		       "sockets on interfaces that appear later)\n");
	if (boot->fail_closed || !boot->timeout_s)
		printf("  keeps blocking until a policy is applied (--fail closed)\n");
	else
		printf("  opens by itself (mode open) if no policy is applied within %u s\n", boot->timeout_s);
}

static int cmd_boot(struct cli *c)
{
	struct boot_opts *o = c->opts;
	struct apply_boot boot = { .timeout_s = o->timeout.v, .fail_closed = o->fail && !strcmp(o->fail, "closed") };
	struct apply_req rq;
	struct apply_report rep;
	apply_req_from(&rq, c, &o->target, NULL);
	rq.boot = &boot; /* --policy is only read for its option boot-timeout */
	if (!o->timeout.set) {
		boot.timeout_s = policy_boot_timeout(rq.file);
		if (!boot.timeout_s)
			boot.timeout_s = BOOT_DEFAULT_TIMEOUT_S;
	}
	char running[256];
	if (policy_loaded(&c->pins, running, sizeof(running))) {
		pr_err("a policy is already loaded in %s (%s); boot protection is for the start of the system: use "
		       "`rampart apply`, `stop` or `shutdown`, or `rampart unload` first",
		       c->pins.path, running[0] ? running : "unnamed");
		return EXIT_SYSTEM;
	}
	int e = apply_policy(&rq, &rep);
	if (e)
		return exit_code(e);
	print_boot(c, &boot, &rep);
	return EXIT_OK;
}

/* stop / shutdown: the mode in the pinned configuration, under the apply lock. */
static int set_mode(struct cli *c, uint32_t mode, uint32_t reason, const char *what)
{
	struct rp_config before;
	char path[PINS_PATH_MAX];
	int e = pins_check_bpffs(&c->pins);
	if (e)
		return exit_code(e);
	if (!pins_loaded(&c->pins)) {
		pr_err("nothing is loaded in %s; run `rampart boot` or `rampart apply` first", c->pins.path);
		return EXIT_SYSTEM;
	}
	/* at once, then again under the apply lock: an apply in progress
	 * carries the mode over to its programs (apply.c, follow_mode) and
	 * cannot switch in after this one (docs/datapath.md, "Under attack") */
	e = lifecycle_set_mode(&c->pins, mode, reason, &before);
	if (!e && !(e = pins_lock(&c->pins))) {
		e = lifecycle_set_mode(&c->pins, mode, reason, NULL);
		pins_unlock(&c->pins);
	}
	if (e) {
		pr_err_r(e, "cannot write %s", pins_map(&c->pins, RP_NAME(RP_MAP_CONFIG), false, path));
		return exit_code(e);
	}
	if (c->json)
		printf("{\"mode\": \"%s\", \"previous\": \"%s\", \"reason\": \"%s\"}\n", mode_name(mode),
		       mode_name(before.mode), lifecycle_reason_name(reason));
	else
		printf("mode %s (was %s): %s\n", mode_name(mode), mode_name(before.mode), what);
	return EXIT_OK;
}

static int cmd_stop(struct cli *c)
{
	return set_mode(c, RP_MODE_OPEN, RP_REASON_STOP,
			"all traffic passes; the programs stay pinned, `rampart apply` enforces again");
}

static int cmd_shutdown(struct cli *c)
{
	return set_mode(c, RP_MODE_LOCKDOWN, RP_REASON_SHUTDOWN,
			"all traffic in and out is blocked, established flows too");
}

const struct command boot_command = {
	.name = "boot",
	.run = cmd_boot,
	.opts = boot_opts,
	.opts_size = sizeof(struct boot_opts),
	.max_args = 0,
	.root = true,
	.help = "boot protection: outbound only until a policy is applied (opens after the timeout)",
};

const struct command stop_command = {
	.name = "stop",
	.run = cmd_stop,
	.max_args = 0,
	.root = true,
	.help = "mode open: permit all traffic, programs stay pinned",
};

const struct command shutdown_command = {
	.name = "shutdown",
	.run = cmd_shutdown,
	.max_args = 0,
	.root = true,
	.help = "mode lockdown: block all traffic in and out",
};
