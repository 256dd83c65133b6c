/* The rule an "always" answer learns, and where it goes (learn.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "learn.h"

int learn_scope_parse(const char *s)
{
	static const char *const names[] = {
		[LEARN_HOST_PORT] = "host-port", [LEARN_PORT] = "port", [LEARN_APP] = "app"
	};
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (s && !strcmp(s, names[i]))
			return i;
	return -1;
}

/* Appends to buf (at *len); false when it does not fit. */
static bool put(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= n - *len)
		return false;
	*len += (size_t)w;
	return true;
}

static const char *proto_word(int proto, char *buf, size_t n)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	}
	snprintf(buf, n, "%d", proto);
	return buf;
}

int learn_rule_text(const struct learn_event *e, char *buf, size_t n)
{
	size_t len = 0;
	bool in = e->dir == DIR_IN;
	bool has_port = e->port >= 0;
	if (e->scope == LEARN_APP && !e->app)
		return -EINVAL;
	if (e->scope == LEARN_PORT && !has_port)
		return -EINVAL;
	if (e->scope == LEARN_HOST_PORT && !e->remote && !has_port)
		return -EINVAL;
	if (!n)
		return -ENOSPC;
	buf[0] = 0;
	char pb[16];
	bool ok = put(buf, n, &len, "%s %s", e->verdict, in ? "in" : "out");
	if (ok && e->app)
		ok = put(buf, n, &len, " app %s", e->app);
	/* events that carry no remote end (socket creation, bind) are
	 * learned for that event only */
	if (ok && (e->event == EVENT_NETWORK || e->event == EVENT_LISTEN))
		ok = put(buf, n, &len, " event %s", event_name(e->event));
	if (ok && e->scope != LEARN_APP && e->proto)
		ok = put(buf, n, &len, " proto %s", proto_word(e->proto, pb, sizeof(pb)));
	bool with_host = e->scope == LEARN_HOST_PORT && e->remote;
	if (ok && with_host)
		ok = put(buf, n, &len, " remote %s", e->remote);
	/* `remote A port P` going out; the service port of an inbound event is local */
	const char *port_kw = in ? " local port" : with_host ? " port" : " remote port";
	if (ok && e->scope != LEARN_APP && has_port)
		ok = put(buf, n, &len, "%s %d", port_kw, e->port);
	return ok ? 0 : -ENOSPC;
}

/* text with `INDENT# COMMENT\nINDENTRULE\n` inserted at offset at
 * (prefix "\n" when at is not the start of a line, suffix `after`). */
static char *splice(const char *text, size_t at, const char *indent, size_t indent_len, const char *comment,
		    const char *rule, const char *after)
{
	bool mid_line = at > 0 && text[at - 1] != '\n';
	size_t tl = strlen(text);
	size_t n = tl + 2 * indent_len + strlen(comment) + strlen(rule) + strlen(after) + 8;
	char *out = malloc(n);
	if (!out)
		return NULL;
	snprintf(out, n, "%.*s%s%.*s# %s\n%.*s%s\n%s%s", (int)at, text, mid_line ? "\n" : "", (int)indent_len, indent,
		 comment, (int)indent_len, indent, rule, after, text + at);
	return out;
}

char *learn_insert_before_line(const char *text, int line, const char *comment, const char *rule)
{
	const char *p = text;
	for (int l = 1; l < line && p; l++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (line < 1 || !p || !*p)
		return NULL;
	size_t ind = strspn(p, " \t");
	return splice(text, (size_t)(p - text), p, ind, comment, rule, "");
}

/* The offset just past a word at p that equals w (followed by no name
 * character), or 0. */
static size_t word_at(const char *p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(p, w, n))
		return 0;
	char c = p[n];
	return isalnum((unsigned char)c) || c == '_' || c == '-' ? 0 : n;
}

/* Offset of the '}' that closes the brace opened at or after from; text
 * in comments and strings does not count.  -1 when there is none. */
static long closing_brace(const char *text, size_t from)
{
	int depth = 0;
	for (const char *p = text + from; *p; p++) {
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			if (!*p)
				break;
		} else if (*p == '"') {
			for (p++; *p && *p != '"' && *p != '\n'; p++)
				;
			if (!*p)
				break;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}' && --depth == 0) {
			return p - text;
		}
	}
	return -1;
}

char *learn_insert_in_table(const char *text, const char *table, const char *comment, const char *rule)
{
	for (const char *line = text; *line;) {
		const char *p = line + strspn(line, " \t");
		size_t k = word_at(p, "table");
		if (k && (p[k] == ' ' || p[k] == '\t')) {
			const char *name = p + k + strspn(p + k, " \t");
			size_t nk = word_at(name, table);
			if (nk) {
				long close = closing_brace(text, (size_t)(name + nk - text));
				if (close < 0)
					return NULL;
				/* the table's own indentation, one level deeper */
				size_t tind = (size_t)(p - line);
				char indent[64];
				snprintf(indent, sizeof(indent), "%.*s    ", (int)(tind < 48 ? tind : 48), line);
				const char *bl = text + close;
				while (bl > text && bl[-1] != '\n')
					bl--;
				bool brace_alone = strspn(bl, " \t") == (size_t)(text + close - bl);
				if (brace_alone)
					return splice(text, (size_t)(bl - text), indent, strlen(indent), comment, rule,
						      "");
				/* `{ }` or `{ ... }` on one line: the brace goes on a line of its own */
				char after[64];
				snprintf(after, sizeof(after), "%.*s", (int)(tind < 48 ? tind : 48), line);
				return splice(text, (size_t)close, indent, strlen(indent), comment, rule, after);
			}
		}
		const char *nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
	return NULL;
}
