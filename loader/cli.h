/* The rampart command line: the commands (each in its cmd_*.c, with its
 * table of options, see options.h; the list in main.c) and what they share.
 * What every command receives, struct cli, is options.h's. */
#ifndef RAMPART_CLI_H
#define RAMPART_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include "log.h"
#include "options.h"
#include "pins.h"

#define DEFAULT_POLICY_FILE OPTIONS_DEFAULT_POLICY

/* Prints "rampart CMD: MESSAGE" and a pointer to `rampart CMD --help`;
 * returns EXIT_USAGE. */
int usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options of the commands that load a policy (apply, boot, daemon, reset). */
struct target_opts {
	struct opt_list iface; /* --iface IF... */
	const char *cgroup;    /* --cgroup PATH */
	const char *policy;    /* --policy FILE */
};

/* The apply request of the target options (cmd_apply.c): FILE when given,
 * else --policy, else the default policy file. */
struct apply_req;
void apply_req_from(struct apply_req *rq, struct cli *c, const struct target_opts *t, const char *file);

/* The commands (each in its cmd_*.c, listed in main.c). */
extern const struct command check_command, explain_command, apply_command, unload_command, status_command,
	rules_command, metrics_command, flows_command, log_command, boot_command, daemon_command, reset_command,
	stop_command, shutdown_command, ask_command;

/* The --iface, --cgroup and --policy entries of an options table whose
 * struct holds a struct target_opts called `target`. */
#define TARGET_OPTIONS(type)                                                                                          \
	OPTION("--iface", NULL, "IF", "protect interface IF (repeatable; default: the ones attached before, or all)", \
	       OPT_LIST, type, target.iface),                                                                         \
		OPTION("--cgroup", NULL, "PATH", "the cgroup2 subtree for the socket hooks (see docs/cli.md)",        \
		       OPT_STRING, type, target.cgroup),                                                              \
		OPTION("--policy", NULL, "FILE", "the policy file (default " DEFAULT_POLICY_FILE ")", OPT_STRING,     \
		       type, target.policy)

/* Prints the pinned log (--json per c->json): what is buffered when stop
 * is NULL, else (like `log -f`) until *stop, calling tick(arg) at least
 * every 200 ms.  An exit code. (cmd_log.c) */
int log_serve(struct cli *c, volatile sig_atomic_t *stop, void (*tick)(void *), void *arg);

/* The `ask` agent's front (cmd_ask.c): questions in the terminal, or with
 * json the line protocol, on stdin/stdout; also `daemon --ask`.
 * ask_front_step waits up to timeout_ms for questions and answers: 0, 1
 * when the --json input ended, or -errno. */
struct ask_front;
int ask_front_open(struct ask_front **fp, struct pin_dir *pd, bool json);
int ask_front_step(struct ask_front *f, int timeout_ms);
void ask_front_close(struct ask_front *f);

#endif
