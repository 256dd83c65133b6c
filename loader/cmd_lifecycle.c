/* The lifecycle commands (SPEC 4): `rampart boot`, `rampart stop`,
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
#include "args.h"
#include "json.h"
#include "pins.h"
#include "policy.h"
#include "view.h"

static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return EXIT_OK;
	fprintf(stderr, "rampart %s: must run as root (needs CAP_BPF and CAP_NET_ADMIN)\n", cmd);
	return EXIT_SYSTEM;
}

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
static bool policy_loaded(const char *dir, char *path, size_t n)
{
	struct rp_policy_info info;
	__u32 zero = 0;
	int fd = pins_open_map(dir, "rp_policy_info");
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

static int parse_uint(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 0x7fffffff || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cmd_boot(struct cli *c)
{
	struct apply_boot boot = { .timeout_s = 0, .fail_closed = false };
	struct apply_req rq = { .pin_dir = c->pin_dir, .boot = &boot };
	const char *ifnames[APPLY_MAX_IFACES + 1];
	const char *policy_file = DEFAULT_POLICY_FILE;
	bool have_timeout = false;

	static const char *const known[] = { "--timeout", "--fail", "--iface", "--cgroup", "--policy",
					     NULL };
	for (int i = 1; i < c->argc; i++) {
		struct arg a;
		if (arg_next(c, &i, known, &a))
			return EXIT_USAGE;
		if (!a.opt[0])
			return usage_error(c, "unexpected `%s` (takes --timeout S, --fail open|closed, "
					      "--iface IF, --cgroup PATH, --policy FILE)", a.val);
		if (!strcmp(a.opt, "--timeout")) {
			if (parse_uint(a.val, &boot.timeout_s))
				return usage_error(c, "--timeout takes a number of seconds (0: never open), got `%s`",
						   a.val);
			have_timeout = true;
		} else if (!strcmp(a.opt, "--fail")) {
			if (strcmp(a.val, "open") && strcmp(a.val, "closed"))
				return usage_error(c, "--fail takes `open` or `closed`, got `%s`", a.val);
			boot.fail_closed = !strcmp(a.val, "closed");
		} else if (!strcmp(a.opt, "--policy")) {
			policy_file = a.val; /* only read for option boot-timeout */
		} else if (apply_option(c, &a, &rq, ifnames) > 0) {
			return EXIT_USAGE;
		}
	}
	if (!have_timeout) {
		boot.timeout_s = policy_boot_timeout(policy_file);
		if (!boot.timeout_s)
			boot.timeout_s = BOOT_DEFAULT_TIMEOUT_S;
	}
	int rc = need_root("boot");
	if (rc)
		return rc;
	char running[256];
	if (policy_loaded(c->pin_dir, running, sizeof(running))) {
		fprintf(stderr, "rampart boot: a policy is already loaded in %s (%s); boot protection is for the "
				"start of the system: use `rampart apply`, `stop` or `shutdown`, or `rampart unload` "
				"first\n", c->pin_dir, running[0] ? running : "unnamed");
		return EXIT_SYSTEM;
	}

	struct apply_report rep;
	rc = apply_policy(&rq, &rep, stderr);
	if (rc != EXIT_OK)
		return rc;
	if (c->json) {
		printf("{\"mode\": \"boot\", \"pin_dir\": ");
		json_str(stdout, c->pin_dir);
		printf(", \"timeout_s\": %u, \"fail\": \"%s\", \"netns_hook\": %s, \"interfaces\": [",
		       boot.timeout_s, boot.fail_closed ? "closed" : "open", rep.netns_hook ? "true" : "false");
		for (int i = 0; i < rep.nifaces; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(stdout, rep.ifaces[i].name);
			print_iface_json(&rep.ifaces[i]);
			printf("}");
		}
		printf("]}\n");
		return EXIT_OK;
	}
	printf("boot protection pinned in %s: outbound traffic and its replies pass, new inbound is blocked\n",
	       c->pin_dir);
	for (int i = 0; i < rep.nifaces; i++) {
		char what[128];
		printf("  %-16s %s\n", rep.ifaces[i].name, apply_iface_summary(&rep.ifaces[i], what, sizeof(what)));
	}
	for (int i = 0; i < rep.nrefused; i++)
		printf("  %-16s NOT PROTECTED: %s\n", rep.refused[i].name, rep.refused[i].role.refused);
	if (rep.netns_hook)
		printf("  network namespace: SK_LOOKUP hook (new inbound TCP connections and UDP to unconnected "
		       "sockets on interfaces that appear later)\n");
	if (boot.fail_closed || !boot.timeout_s)
		printf("  keeps blocking until a policy is applied (--fail closed)\n");
	else
		printf("  opens by itself (mode open) if no policy is applied within %u s\n", boot.timeout_s);
	return EXIT_OK;
}

/* stop / shutdown: one write of the mode in the pinned configuration. */
static int set_mode(struct cli *c, uint32_t mode, uint32_t reason, const char *what)
{
	if (c->argc > 1)
		return usage_error(c, "takes no arguments (got `%s`)", c->argv[1]);
	int rc = need_root(c->argv[0]);
	if (rc)
		return rc;
	char err[512];
	if (pins_check_bpffs(c->pin_dir, err, sizeof(err))) {
		fprintf(stderr, "rampart %s: %s\n", c->argv[0], err);
		return EXIT_SYSTEM;
	}
	if (!pins_loaded(c->pin_dir)) {
		fprintf(stderr, "rampart %s: nothing is loaded in %s; run `rampart boot` or `rampart apply` "
				"first\n", c->argv[0], c->pin_dir);
		return EXIT_SYSTEM;
	}
	struct rp_config before;
	int e = lifecycle_set_mode(c->pin_dir, mode, reason, &before);
	if (e) {
		fprintf(stderr, "rampart %s: cannot write %s/maps/rp_config: %s\n", c->argv[0], c->pin_dir,
			strerror(-e));
		return EXIT_SYSTEM;
	}
	if (c->json) {
		printf("{\"mode\": \"%s\", \"previous\": \"%s\", \"reason\": \"%s\"}\n", mode_name(mode),
		       mode_name(before.mode), lifecycle_reason_name(reason));
	} else {
		printf("mode %s (was %s): %s\n", mode_name(mode), mode_name(before.mode), what);
	}
	return EXIT_OK;
}

int cmd_stop(struct cli *c)
{
	return set_mode(c, RP_MODE_OPEN, RP_REASON_STOP,
			"all traffic passes; the programs stay pinned, `rampart apply` enforces again");
}

int cmd_shutdown(struct cli *c)
{
	return set_mode(c, RP_MODE_LOCKDOWN, RP_REASON_SHUTDOWN,
			"all traffic in and out is blocked, established flows too");
}
