#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fields.h"
#include "format.h"

int addr_family(const uint32_t addr[4])
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == htonl(0xffff) ? 4 : 6;
}

const char *fmt_addr(char *buf, size_t n, const uint32_t addr[4])
{
	if (addr_family(addr) == 4) {
		if (!inet_ntop(AF_INET, &addr[3], buf, (socklen_t)n))
			snprintf(buf, n, "?");
	} else if (!inet_ntop(AF_INET6, addr, buf, (socklen_t)n)) {
		snprintf(buf, n, "?");
	}
	return buf;
}

const char *fmt_endpoint(char *buf, size_t n, const uint32_t addr[4], uint16_t port, bool has_port)
{
	char a[INET6_ADDRSTRLEN];
	fmt_addr(a, sizeof(a), addr);
	if (!has_port)
		snprintf(buf, n, "%s", a);
	else if (addr_family(addr) == 6)
		snprintf(buf, n, "[%s]:%u", a, port);
	else
		snprintf(buf, n, "%s:%u", a, port);
	return buf;
}

bool proto_has_ports(int proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

const char *fmt_proto(char *buf, size_t n, int proto)
{
	const char *name = proto_name(proto);
	if (name)
		snprintf(buf, n, "%s", name);
	else
		snprintf(buf, n, "%d", proto);
	return buf;
}

const char *fmt_duration(char *buf, size_t n, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;
	if (s < 60)
		snprintf(buf, n, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, n, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, n, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, n, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return buf;
}

const char *fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	double v = (double)bytes / 1024;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

const char *fmt_time_local(char *buf, size_t n, uint64_t realtime_ns, bool ms)
{
	time_t t = (time_t)(realtime_ns / 1000000000ull);
	struct tm tm;
	char s[32];
	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	if (ms)
		snprintf(buf, n, "%s.%03u", s, (unsigned)(realtime_ns / 1000000ull % 1000));
	else
		snprintf(buf, n, "%s", s);
	return buf;
}

const char *fmt_time_utc(char *buf, size_t n, uint64_t realtime_ns)
{
	time_t t = (time_t)(realtime_ns / 1000000000ull);
	struct tm tm;
	char s[32];
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03uZ", s, (unsigned)(realtime_ns / 1000000ull % 1000));
	return buf;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t now_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t mono_to_realtime_ns(uint64_t mono_ns)
{
	uint64_t mono = now_mono_ns(), real = now_realtime_ns();
	return mono >= mono_ns ? real - (mono - mono_ns) : real + (mono_ns - mono);
}

const char *fmt_hex(char *buf, size_t buflen, const uint8_t *b, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= buflen; i++)
		o += (size_t)snprintf(buf + o, buflen - o, "%02x", b[i]);
	return buf;
}

const char *fmt_tcp_flags(char *buf, size_t n, uint8_t flags)
{
	static const char *const names[] = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" };
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < 8; i++)
		if (flags & (1u << i) && o < n)
			o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "," : "", names[i]);
	return buf;
}

void columns_init(struct columns *t, int ncols, unsigned right_align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right_align = right_align;
}

void columns_add(struct columns *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof(char *));
		if (!c)
			return; /* out of memory: the row is left out rather than crashing */
		t->cells = c;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

void columns_print(const struct columns *t, FILE *f, const char *indent)
{
	int w[32] = { 0 };
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols && c < 32; c++) {
			const char *s = t->cells[r * t->ncols + c];
			int len = s ? (int)strlen(s) : 0;
			if (len > w[c])
				w[c] = len;
		}
	for (int r = 0; r < t->nrows; r++) {
		char *line = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&line, &len);
		if (!m)
			return;
		fputs(indent ? indent : "", m);
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			s = s ? s : "";
			bool last = c == t->ncols - 1;
			if (t->right_align & (1u << c))
				fprintf(m, "%*s", w[c], s);
			else if (last)
				fputs(s, m);
			else
				fprintf(m, "%-*s", w[c], s);
			if (!last)
				fputs("  ", m);
		}
		fclose(m);
		while (len && line[len - 1] == ' ')
			line[--len] = '\0'; /* empty trailing cells leave no trailing blanks */
		fprintf(f, "%s\n", line);
		free(line);
	}
}

void columns_free(struct columns *t)
{
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
