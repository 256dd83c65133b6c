/* rampart's counters and state in the Prometheus text exposition format
 * (version 0.0.4), read from the pins alone like `status` and `rules`:
 * `rampart metrics` prints it, `rampart daemon --metrics-file` keeps a file
 * for node-exporter's textfile collector and `--metrics-listen` serves it
 * over HTTP (metrics_http.c).  The metric names are listed in rampart(8). */
#ifndef RAMPART_METRICS_H
#define RAMPART_METRICS_H

#include <stdio.h>

/* The media type of the exposition (Prometheus text format 0.0.4). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the exposition of the instance pinned in dir to f.  With nothing
 * loaded: rampart_loaded 0 and mode "unloaded".  0, or an exit code after
 * printing what went wrong as "rampart CMD: ..." on stderr. */
int metrics_write(FILE *f, const char *dir, const char *cmd);

/* The same into path, atomically: written beside it as a hidden temporary
 * file (one that node-exporter's *.prom pattern skips) and renamed over it,
 * so a reader sees the old or the new file, never half of one.  0, or an
 * exit code after printing why. */
int metrics_write_file(const char *path, const char *dir, const char *cmd);

#endif
