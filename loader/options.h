/* One option parser for every command (as xdp-tools' params.h): each
 * command describes its options in a table (name, argument, help, where
 * the value goes), and parsing, `rampart COMMAND --help` and the usage
 * errors all come from that table.
 *
 * Options are `--name VALUE` or `--name=VALUE` (a flag takes no value),
 * anywhere among the positional words; `--` ends the options.  The global
 * options (--pin-dir, --json, -v, --help) are accepted before or after the
 * command. */
#ifndef RAMPART_OPTIONS_H
#define RAMPART_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "pins.h"

enum opt_kind {
	OPT_FLAG,   /* bool */
	OPT_STRING, /* const char * (the last one given wins) */
	OPT_LIST,   /* struct opt_list: repeatable */
	OPT_UINT,   /* struct opt_uint: a number of 0..INT32_MAX */
	OPT_CHOICE, /* const char *, one of opt.choices */
};

#define OPT_LIST_MAX 64

/* The policy file of every command that reads one, unless told otherwise. */
#define OPTIONS_DEFAULT_POLICY "/etc/rampart/policy.rules"

struct opt_list {
	const char *v[OPT_LIST_MAX];
	int n;
};

struct opt_uint {
	uint32_t v;
	bool set;
};

struct opt {
	const char *name;  /* "--iface" */
	const char *alias; /* "-f", or NULL */
	const char *arg;   /* "IF" in the help; NULL for a flag */
	const char *help;
	enum opt_kind kind;
	size_t offset;		    /* of the value in the command's options struct */
	const char *const *choices; /* OPT_CHOICE: the accepted values, NULL-terminated */
};

/* An entry of an options table: OPTION("--iface", NULL, "IF", "help", OPT_LIST, struct x, member). */
#define OPTION(nm, al, a, h, k, type, member, ...)                                                                   \
	{                                                                                                            \
		.name = (nm), .alias = (al), .arg = (a), .help = (h), .kind = (k), .offset = offsetof(type, member), \
		__VA_ARGS__                                                                                          \
	}
#define OPT_END              \
	{                    \
		.name = NULL \
	}

struct command;

/* A parsed command line: what every command receives. */
struct cli {
	/* global options */
	const char *pin_dir; /* --pin-dir as given (default PINS_DEFAULT_DIR) */
	bool json;	     /* --json */
	bool verbose;	     /* -v (or RAMPART_DEBUG=1) */
	struct pin_dir pins; /* the pin dir instance every command works on */
	/* the command */
	const struct command *cmd;
	void *opts; /* its options struct */
	int argc;   /* its positional words, argv[0] = the command's name */
	char **argv;
};

struct command {
	const char *name;
	int (*run)(struct cli *c); /* an exit code */
	const struct opt *opts;	   /* OPT_END-terminated, or NULL */
	size_t opts_size;	   /* the options struct (c->opts), zeroed before parsing */
	const char *args;	   /* positional words in the help: "[FILE]", "EVENT..." */
	const char *arg_name;	   /* one of them in messages: "FILE" */
	int max_args;		   /* at most this many positional words (-1: any) */
	bool root;		   /* needs root: checked after parsing */
	const char *help;	   /* one line */
};

/* Parses argv[0..argc) (the words after the program name): the global
 * options into c, the command's options into a new c->opts, its positional
 * words into c->argv[1..c->argc) (c->argv[0] is the command's name).
 * cmds is NULL-terminated.  Returns 0 with c->cmd set; 1 when it printed help (exit 0); -errno after
 * printing a usage error (exit_code() makes it 2). */
int options_parse(struct cli *c, const struct command *const *cmds, int argc, char **argv);
/* `rampart --help`: the commands; `rampart COMMAND --help`: one command. */
void options_usage(FILE *f, const struct command *const *cmds);
void options_command_help(FILE *f, const struct command *cmd);

#endif
