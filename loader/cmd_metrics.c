/* `rampart metrics`: the counters and state of the instance in the pin dir
 * in the Prometheus text exposition format (metrics.h), from the pins
 * alone.  Nothing loaded is not an error: rampart_loaded 0, exit 0, so a
 * scrape still sees the machine. */
#include <errno.h>
#include <stdio.h>
#include "cli.h"
#include "metrics.h"

static int cmd_metrics(struct cli *c)
{
	int e = metrics_write(stdout, &c->pins);
	if (fflush(stdout) != 0 && !e)
		e = -EIO;
	return exit_code(e);
}

const struct command metrics_command = {
	.name = "metrics",
	.run = cmd_metrics,
	.max_args = 0,
	.help = "the counters in the Prometheus text exposition format",
};
