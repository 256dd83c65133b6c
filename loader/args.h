/* Command options: `--name VALUE` or `--name=VALUE`, and positional words;
 * plus the options shared by the commands that load a policy. */
#ifndef RAMPART_ARGS_H
#define RAMPART_ARGS_H

#include "cli.h"
#include "apply.h"

struct arg {
	char opt[32];	 /* "--iface", or "" for a positional word */
	const char *val; /* the option's value, or the word */
};

/* Reads the command's argument *i (and its value, advancing *i).  Every
 * option takes a value; `known` lists the accepted ones (NULL-terminated).
 * Returns 0, or EXIT_USAGE after reporting an unknown option or a missing
 * value. */
int arg_next(struct cli *c, int *i, const char *const *known, struct arg *a);

/* --iface IF (repeatable, into ifnames[APPLY_MAX_IFACES]), --cgroup PATH and
 * --policy FILE, into rq.  Returns 0 when it took the option, -1 when the
 * option is not one of these, EXIT_USAGE after reporting a bad value. */
int apply_option(struct cli *c, const struct arg *a, struct apply_req *rq, const char **ifnames);

#endif
