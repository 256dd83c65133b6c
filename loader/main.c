/* rampart: the command-line entry point.  Global options (--pin-dir, --json)
 * may appear anywhere; everything else goes to the command. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

struct command {
	const char *name;
	int (*run)(struct cli *c);
	const char *args;
	const char *help;
};

static const struct command commands[] = {
	{ "check", cmd_check, "[FILE]", "parse and validate a policy; print errors and warnings" },
	{ "explain", cmd_explain, "[--policy FILE] [--json] EVENT",
	  "show the path an event takes through the tables and the verdict" },
	{ "apply", cmd_apply, "[FILE] [--iface IF]... [--cgroup PATH] [--policy FILE]",
	  "compile, load, attach and pin a policy (replaces a running one atomically)" },
	{ "unload", cmd_unload, "", "detach and unpin everything in the pin dir" },
	{ "status", cmd_status, "[--json]", "mode, policy, attachments, conntrack usage and totals" },
	{ "rules", cmd_rules, "[--json] [TABLE]...", "the loaded rules in order with their hit counters" },
	{ "metrics", cmd_metrics, "", "the counters in the Prometheus text exposition format" },
	{ "flows", cmd_flows, "[--json]", "the tracked connections (conntrack)" },
	{ "log", cmd_log, "[-f|--follow] [--json]",
	  "rule-match log events; reading consumes them (one reader sees each event)" },
	{ "boot", cmd_boot, "[--timeout S] [--fail open|closed] [--iface IF]... [--cgroup PATH] [--policy FILE]",
	  "boot protection: outbound only until a policy is applied (opens after the timeout)" },
	{ "daemon", cmd_daemon, "[--policy FILE] [--iface IF]... [--cgroup PATH] [--metrics-file PATH] "
	  "[--metrics-interval S] [--metrics-listen ADDR]",
	  "apply the policy, print the log, reload on SIGHUP or when the file changes" },
	{ "reset", cmd_reset, "[--policy FILE] [--iface IF]... [--cgroup PATH]",
	  "restore the shipped default policy as FILE (backup kept) and apply it" },
	{ "stop", cmd_stop, "", "mode open: permit all traffic, programs stay pinned" },
	{ "shutdown", cmd_shutdown, "", "mode lockdown: block all traffic in and out" },
};

static void print_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--pin-dir DIR] [--json] COMMAND [ARGS]\n\ncommands:\n", prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		/* long argument lists get the description on a line of its own */
		if (strlen(commands[i].args) > 34)
			fprintf(f, "  %-8s %s\n  %-8s %-34s %s\n", commands[i].name, commands[i].args, "", "",
				commands[i].help);
		else
			fprintf(f, "  %-8s %-34s %s\n", commands[i].name, commands[i].args, commands[i].help);
	}
	fprintf(f, "\nDefault policy: %s   default pin dir: %s\n"
		   "Exit codes: 0 ok, 1 policy error, 2 usage error, 3 system error.\n",
		DEFAULT_POLICY_FILE, DEFAULT_PIN_DIR);
}

int usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "rampart %s: ", c->argc > 0 ? c->argv[0] : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run `rampart --help` for usage)\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli c = { .pin_dir = DEFAULT_PIN_DIR, .prog = "rampart" };
	char **rest = calloc(argc + 1, sizeof(char *));
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--pin-dir")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rampart: --pin-dir needs a directory\n");
				return EXIT_USAGE;
			}
			c.pin_dir = argv[++i];
		} else if (!strncmp(a, "--pin-dir=", 10)) {
			c.pin_dir = a + 10;
		} else if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
			print_usage(stdout, c.prog);
			return EXIT_OK;
		} else {
			rest[n++] = argv[i];
		}
	}
	if (n == 0) {
		print_usage(stderr, c.prog);
		return EXIT_USAGE;
	}
	c.argc = n;
	c.argv = rest;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(rest[0], commands[i].name))
			return commands[i].run(&c);
	fprintf(stderr, "rampart: unknown command `%s`\n", rest[0]);
	print_usage(stderr, c.prog);
	return EXIT_USAGE;
}
