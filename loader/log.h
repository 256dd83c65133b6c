/* Messages of the rampart command line, and its error convention.
 *
 * Inside the loader a function returns 0 or a negative errno and says what
 * went wrong, where and what to do through this one helper; only the
 * command boundary turns an error into an exit code (exit_code()).
 * libbpf's own output comes through here too (libbpf_set_print): its
 * warnings always, its debug output (the verifier's log, ...) with -v or
 * RAMPART_DEBUG=1.  The messages:
 *
 *   pr_err    "rampart CMD: MESSAGE"     (stderr)
 *   pr_info   "rampart CMD: MESSAGE"     (stderr: what a long-running command does)
 *   pr_warn   "warning: MESSAGE"         (stderr)
 *   pr_note   "note: MESSAGE"            (stderr)
 *   pr_debug  "rampart CMD: debug: MESSAGE", with -v only
 *
 * pr_err_r(err, ...) prints "MESSAGE: strerror(-err)" and returns err, for
 * `return pr_err_r(-errno, "cannot pin %s", path);`. */
#ifndef RAMPART_LOG_H
#define RAMPART_LOG_H

#include <errno.h>
#include <stdbool.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_NOTE, LOG_INFO, LOG_DEBUG };

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK = 0,
	EXIT_POLICY = 1,
	EXIT_USAGE = 2,
	EXIT_SYSTEM = 3,
};

/* Two errnos stand for what is not a system error (exit_code()): */
#define RP_EPOLICY EBADMSG	/* the policy has errors (its diagnostics say which) */
#define RP_EUSAGE  EDESTADDRREQ /* the request names nothing to act on */

/* The command the messages are of ("apply"), verbosity (-v; RAMPART_DEBUG
 * in the environment turns it on too); routes libbpf's output. */
void log_init(const char *cmd, bool verbose);
/* The command name given to log_init ("" before). */
const char *log_cmd(void);
bool log_verbose(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_err_r(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)	   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_info(...)	   log_msg(LOG_INFO, __VA_ARGS__)
#define pr_warn(...)	   log_msg(LOG_WARN, __VA_ARGS__)
#define pr_note(...)	   log_msg(LOG_NOTE, __VA_ARGS__)
#define pr_debug(...)	   log_msg(LOG_DEBUG, __VA_ARGS__)
#define pr_err_r(err, ...) log_err_r((err), __VA_ARGS__)

/* The exit code (docs/cli.md) of a 0/-errno: 0 ok, 1 policy error (-RP_EPOLICY),
 * 2 usage error (-RP_EUSAGE), 3 anything else (a system error). */
int exit_code(int err);

#endif
