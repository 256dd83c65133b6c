/* The metrics endpoint of the daemon (metrics_http.h) on libmicrohttpd:
 * GET /metrics answers the exposition (200, or 503 when the pins cannot be
 * read), any other path 404, any other method 405. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "log.h"
#include "pins.h"
#include "metrics.h"
#include "metrics_http.h"

struct metrics_http {
	struct MHD_Daemon *mhd;
	const struct pin_dir *pd;
};

int metrics_listen_parse(const char *addr, struct sockaddr_storage *sa)
{
	char host[64];
	const char *colon;
	memset(sa, 0, sizeof(*sa));
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(end - addr - 1), addr + 1);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	}
	char *rest;
	unsigned long port = strtoul(colon + 1, &rest, 10);
	if (!colon[1] || *rest || port == 0 || port > 65535)
		return -EINVAL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	if (!host[0]) {
		v6->sin6_family = AF_INET6; /* in6addr_any, dual stack */
		v6->sin6_port = htons((uint16_t)port);
	} else if (addr[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
	} else if (addr[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
	} else {
		return -EINVAL;
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return reply(conn, status, strdup(text), strlen(text), "text/plain; charset=utf-8");
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			     const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct metrics_http *h = cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "rampart serves its metrics at /metrics\n");
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	int e = metrics_write(f, h->pd);
	fclose(f);
	if (e) {
		free(body);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "cannot read rampart's pins; see the daemon's messages\n");
	}
	return reply(conn, MHD_HTTP_OK, body, len, METRICS_CONTENT_TYPE);
}

struct metrics_http *metrics_http_start(const struct sockaddr_storage *sa, const struct pin_dir *pd)
{
	struct metrics_http *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->pd = pd;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	bool any6 = sa->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	if (sa->ss_family == AF_INET6)
		flags |= any6 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	uint16_t port = ntohs(sa->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
							: ((const struct sockaddr_in *)sa)->sin_port);
	errno = 0;
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, serve, h, MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->mhd) {
		pr_err("cannot serve the metrics: %s", errno ? strerror(errno) : "libmicrohttpd could not start");
		free(h);
		return NULL;
	}
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
