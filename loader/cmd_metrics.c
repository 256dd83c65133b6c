/* `rampart metrics`: the counters and state of the instance in the pin dir
 * in the Prometheus text exposition format (metrics.h), from the pins
 * alone.  Nothing loaded is not an error: rampart_loaded 0, exit 0, so a
 * scrape still sees the machine. */
#include <stdio.h>
#include "cli.h"
#include "metrics.h"

int cmd_metrics(struct cli *c)
{
	if (c->argc > 1)
		return usage_error(c, "takes no arguments (got `%s`)", c->argv[1]);
	int rc = metrics_write(stdout, c->pin_dir, "metrics");
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_SYSTEM;
	return rc;
}
