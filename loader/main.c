/* rampart: the command-line entry point.  Each command describes itself
 * (name, options, help) in its cmd_*.c; this is the list.  To add a
 * command: docs/hacking.md. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include "cli.h"
#include "log.h"

static const struct command *const commands[] = {
	&check_command,	 &explain_command,  &apply_command,   &unload_command,
	&status_command, &rules_command,    &metrics_command, &flows_command,
	&log_command,	 &boot_command,	    &daemon_command,  &reset_command,
	&stop_command,	 &shutdown_command, &ask_command,     NULL,
};

int usage_error(const struct cli *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s\n(run `rampart %s --help` for usage)", msg, c->cmd->name);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli c = { .pin_dir = PINS_DEFAULT_DIR };
	log_init("", false);
	int e = options_parse(&c, commands, argc - 1, argv + 1);
	if (e)
		return e == 1 ? EXIT_OK : exit_code(e);
	log_init(c.cmd->name, c.verbose);
	if (pins_init(&c.pins, c.pin_dir))
		return EXIT_USAGE;
	if (c.cmd->root && geteuid() != 0) {
		pr_err("must run as root (needs CAP_BPF and CAP_NET_ADMIN)");
		return EXIT_SYSTEM;
	}
	return c.cmd->run(&c);
}
