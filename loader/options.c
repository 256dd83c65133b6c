/* The option parser and the help it prints (see options.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "options.h"

enum { GLOBAL_PIN_DIR, GLOBAL_JSON, GLOBAL_VERBOSE, GLOBAL_HELP };

/* The global options, accepted before or after the command. */
static const struct opt global_opts[] = {
	[GLOBAL_PIN_DIR] = OPTION("--pin-dir", NULL, "DIR",
				  "the instance's pin dir in bpffs (default " PINS_DEFAULT_DIR ")", OPT_STRING,
				  struct cli, pin_dir),
	[GLOBAL_JSON] = OPTION("--json", NULL, NULL, "one JSON document (log -f: one object per line)", OPT_FLAG,
			       struct cli, json),
	[GLOBAL_VERBOSE] = OPTION("--verbose", "-v", NULL, "say more, libbpf's debug output too (or RAMPART_DEBUG=1)",
				  OPT_FLAG, struct cli, verbose),
	/* (not stored: it stops the parsing) */
	[GLOBAL_HELP] = OPTION("--help", "-h", NULL, "this help", OPT_FLAG, struct cli, verbose),
	OPT_END,
};

static const struct opt *find_opt(const struct opt *opts, const char *name, size_t len)
{
	for (const struct opt *o = opts; o && o->name; o++)
		if ((strlen(o->name) == len && !strncmp(o->name, name, len)) ||
		    (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len)))
			return o;
	return NULL;
}

static int bad(const char *cmd, const char *fmt, const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, a, b);
	if (cmd)
		pr_err("%s\n(run `rampart %s --help` for usage)", msg, cmd);
	else
		pr_err("%s\n(run `rampart --help` for usage)", msg);
	return -RP_EUSAGE;
}

static bool one_of(const char *v, const char *const *choices)
{
	for (int i = 0; choices && choices[i]; i++)
		if (!strcmp(v, choices[i]))
			return true;
	return false;
}

/* Stores val (NULL for a flag) as o says, into base. */
static int store(const struct opt *o, void *base, const char *val, const char *cmd)
{
	char *slot = (char *)base + o->offset;
	char *end;
	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)slot = true;
		return 0;
	case OPT_STRING:
		*(const char **)slot = val;
		return 0;
	case OPT_LIST: {
		struct opt_list *l = (struct opt_list *)slot;
		if (l->n >= OPT_LIST_MAX)
			return bad(cmd, "at most 64 %s", o->name, NULL);
		l->v[l->n++] = val;
		return 0;
	}
	case OPT_UINT: {
		struct opt_uint *u = (struct opt_uint *)slot;
		errno = 0;
		unsigned long v = strtoul(val, &end, 10);
		if (*end || errno || v > 0x7fffffff || val[0] == '-')
			return bad(cmd, "%s takes a number, got `%s`", o->name, val);
		u->v = (uint32_t)v;
		u->set = true;
		return 0;
	}
	case OPT_CHOICE:
		if (!one_of(val, o->choices))
			return bad(cmd, "%s takes %s", o->name, o->arg);
		*(const char **)slot = val;
		return 0;
	}
	return -EINVAL;
}

/* argv[*i] is an option of opts (or of the global ones): stores it,
 * taking its value from the same word or the next. */
static int take_option(struct cli *c, const struct command *cmd, int argc, char **argv, int *i)
{
	const char *w = argv[*i], *eq = strchr(w, '=');
	size_t len = eq ? (size_t)(eq - w) : strlen(w);
	const char *cname = cmd ? cmd->name : NULL;
	void *base = c;
	const struct opt *o = find_opt(global_opts, w, len);
	if (!o && cmd) {
		o = find_opt(cmd->opts, w, len);
		base = c->opts;
	}
	if (!o)
		return bad(cname, "unknown option `%s`", w, NULL);
	if (o == &global_opts[GLOBAL_HELP])
		return 1;
	if (o->kind == OPT_FLAG) {
		if (eq)
			return bad(cname, "%s takes no value", o->name, NULL);
		return store(o, base, NULL, cname);
	}
	const char *val = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!val || !*val)
		return bad(cname, "%s needs a value (%s)", o->name, o->arg);
	return store(o, base, val, cname);
}

static const struct command *find_command(const struct command *const *cmds, const char *name)
{
	for (int i = 0; cmds[i]; i++)
		if (!strcmp(cmds[i]->name, name))
			return cmds[i];
	return NULL;
}

/* The command: the first positional word ("help CMD" is "CMD --help"). */
static int take_command(struct cli *c, const struct command *const *cmds, const char *w, bool *help)
{
	if (!strcmp(w, "help") && !*help) {
		*help = true;
		return 0;
	}
	c->cmd = find_command(cmds, w);
	if (c->cmd)
		log_init(c->cmd->name, c->verbose);
	if (!c->cmd) {
		pr_err("unknown command `%s`", w);
		options_usage(stderr, cmds);
		return -RP_EUSAGE;
	}
	c->opts = calloc(1, c->cmd->opts_size ? c->cmd->opts_size : 1);
	if (!c->opts)
		return -ENOMEM;
	c->argv[c->argc++] = (char *)c->cmd->name;
	return 0;
}

int options_parse(struct cli *c, const struct command *const *cmds, int argc, char **argv)
{
	bool help = false, words_only = false;
	c->argv = calloc((size_t)argc + 2, sizeof(char *));
	if (!c->argv)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int e = 0;
		if (!words_only && !strcmp(w, "--"))
			words_only = true;
		else if (!words_only && w[0] == '-' && w[1])
			e = take_option(c, c->cmd, argc, argv, &i);
		else if (!c->cmd)
			e = take_command(c, cmds, w, &help);
		else
			c->argv[c->argc++] = argv[i];
		if (e < 0)
			return e;
		help |= e == 1;
	}
	if (help) {
		if (c->cmd)
			options_command_help(stdout, c->cmd);
		else
			options_usage(stdout, cmds);
		return 1;
	}
	if (!c->cmd) {
		options_usage(stderr, cmds);
		return -RP_EUSAGE;
	}
	if (c->cmd->max_args >= 0 && c->argc - 1 > c->cmd->max_args) {
		if (c->cmd->max_args == 0)
			return bad(c->cmd->name, "takes no arguments (got `%s`)", c->argv[1], NULL);
		return bad(c->cmd->name, "takes at most one %s (got `%s` as well)", c->cmd->arg_name, c->argv[2]);
	}
	return 0;
}

/* "[--iface IF]... [--cgroup PATH]" */
static void print_synopsis(FILE *f, const struct command *cmd)
{
	if (cmd->args && *cmd->args)
		fprintf(f, " %s", cmd->args);
	for (const struct opt *o = cmd->opts; o && o->name; o++) {
		fprintf(f, " [%s%s%s%s%s]", o->alias ? o->alias : "", o->alias ? "|" : "", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
		if (o->kind == OPT_LIST)
			fputs("...", f);
	}
}

static void print_opts(FILE *f, const struct opt *opts)
{
	for (const struct opt *o = opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-22s %s\n", left, o->help);
	}
}

void options_usage(FILE *f, const struct command *const *cmds)
{
	fprintf(f, "usage: rampart [--pin-dir DIR] [--json] [-v] COMMAND [ARGS]\n\ncommands:\n");
	for (int i = 0; cmds[i]; i++) {
		fprintf(f, "  %-9s", cmds[i]->name); /* a space after every name (docs/man checks this list) */
		print_synopsis(f, cmds[i]);
		fprintf(f, "\n      %s\n", cmds[i]->help);
	}
	fprintf(f, "\nglobal options:\n");
	print_opts(f, global_opts);
	fprintf(f,
		"\n`rampart COMMAND --help` shows a command's options.\n"
		"Default policy: %s   default pin dir: %s\n"
		"Exit codes: 0 ok, 1 policy error, 2 usage error, 3 system error.\n",
		OPTIONS_DEFAULT_POLICY, PINS_DEFAULT_DIR);
}

void options_command_help(FILE *f, const struct command *cmd)
{
	fprintf(f, "usage: rampart %s", cmd->name);
	print_synopsis(f, cmd);
	fprintf(f, "\n\n%s\n", cmd->help);
	if (cmd->opts && cmd->opts->name) {
		fprintf(f, "\noptions:\n");
		print_opts(f, cmd->opts);
	}
	fprintf(f, "\nglobal options:\n");
	print_opts(f, global_opts);
}
