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

struct pin_dir;

/* Writes the exposition of the instance pinned in pd to f.  With nothing
 * loaded: rampart_loaded 0 and mode "unloaded".  0, or -errno after saying
 * what went wrong (log.h). */
int metrics_write(FILE *f, const struct pin_dir *pd);

/* The same into path, atomically: written beside it as a hidden temporary
 * file (one that node-exporter's *.prom pattern skips) and renamed over it,
 * so a reader sees the old or the new file, never half of one.  0 or
 * -errno. */
int metrics_write_file(const char *path, const struct pin_dir *pd);

#endif
