/* The rampart command line: shared options and one function per command. */
#ifndef RAMPART_CLI_H
#define RAMPART_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes (SPEC 1). */
enum {
	EXIT_OK = 0,
	EXIT_POLICY = 1,
	EXIT_USAGE = 2,
	EXIT_SYSTEM = 3,
};

#define DEFAULT_PIN_DIR "/sys/fs/bpf/rampart"
#define DEFAULT_POLICY_FILE "/etc/rampart/policy.rules"

struct cli {
	const char *pin_dir;
	bool json;
	const char *prog;
	int argc;      /* command arguments, global options removed, argv[0] = command */
	char **argv;
};

/* Prints "rampart CMD: MESSAGE" and returns EXIT_USAGE. */
int usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_check(struct cli *c);
int cmd_explain(struct cli *c);
int cmd_apply(struct cli *c);   /* cmd_apply.c */
int cmd_unload(struct cli *c);  /* cmd_apply.c */
int cmd_status(struct cli *c);  /* cmd_status.c */
int cmd_rules(struct cli *c);   /* cmd_rules.c */
int cmd_metrics(struct cli *c); /* cmd_metrics.c */
int cmd_flows(struct cli *c);   /* cmd_flows.c */
int cmd_log(struct cli *c);     /* cmd_log.c */
int cmd_daemon(struct cli *c);  /* cmd_daemon.c */
int cmd_reset(struct cli *c);   /* cmd_reset.c */
/* Prints the pinned log (like `log -f`, --json per c->json) until *stop,
 * calling tick(arg) at least every 200 ms.  An exit code. (cmd_log.c) */
int log_serve(struct cli *c, volatile sig_atomic_t *stop, void (*tick)(void *), void *arg);
int cmd_boot(struct cli *c);    /* cmd_lifecycle.c */
int cmd_stop(struct cli *c);    /* cmd_lifecycle.c */
int cmd_shutdown(struct cli *c); /* cmd_lifecycle.c */

#endif
