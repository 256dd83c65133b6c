/* `rampart daemon --metrics-listen ADDR`: serves the exposition of
 * metrics.h at http://ADDR/metrics with libmicrohttpd (its own thread; each
 * scrape reads the pins afresh). */
#ifndef RAMPART_METRICS_HTTP_H
#define RAMPART_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct metrics_http;
struct pin_dir;

/* ADDR: "HOST:PORT" with a numeric IPv4 host, "[IPV6]:PORT", or ":PORT"
 * (every address, IPv4 and IPv6).  0 or -EINVAL. */
int metrics_listen_parse(const char *addr, struct sockaddr_storage *sa);

/* Starts serving; NULL after saying why it cannot (address in use, ...). */
struct metrics_http *metrics_http_start(const struct sockaddr_storage *sa, const struct pin_dir *pd);
void metrics_http_stop(struct metrics_http *h);

#endif
