/* Diagnostics and the source registry.  Messages are printed as they are
 * reported (so a user sees them even if a later step crashes) and kept in
 * memory for tests and `check --json`. */
#include "diag.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_ERRORS 1000
/* A policy larger than this is certainly a mistake (a log file, an image). */
#define MAX_SOURCE_SIZE	   (16 << 20)

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort(); /* out of memory: nothing sensible to report */
	return q;
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s);
	if (!c)
		abort();
	return c;
}

/* ---------- source registry ---------- */

void sources_init(struct sources *s)
{
	memset(s, 0, sizeof(*s));
}

void sources_free(struct sources *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->v[i]->name);
		free(s->v[i]->text);
		free(s->v[i]);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct source *sources_push(struct sources *s, const char *name, char *text, size_t len)
{
	struct source *src = xrealloc(NULL, sizeof(*src));
	src->name = xstrdup(name);
	src->text = text;
	src->len = len;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = src;
	return src;
}

struct source *sources_add_string(struct sources *s, const char *name, const char *text)
{
	return sources_push(s, name, xstrdup(text), strlen(text));
}

const char *sources_strerror(int err)
{
	if (err == SOURCES_EBINARY)
		return "binary file (contains a NUL byte), not a policy";
	if (err == SOURCES_ENOTREG)
		return "not a regular file";
	if (err == EFBIG)
		return "file too large for a policy (more than 16 MiB)";
	return strerror(err);
}

struct source *sources_add_file(struct sources *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* no wait on a FIFO */
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	/* Only regular files: a device (/dev/zero, a tty) or a FIFO would
	 * block or never end. */
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : SOURCES_ENOTREG;
		return NULL;
	}
	/* Read until EOF rather than trusting st_size: pipes and /proc files. */
	size_t len = 0, cap = 4096;
	char *buf = xrealloc(NULL, cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > MAX_SOURCE_SIZE) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	/* The lexer stops at the first NUL: refuse instead of silently
	 * ignoring the rest of the file. */
	if (memchr(buf, '\0', len)) {
		free(buf);
		errno = SOURCES_EBINARY;
		return NULL;
	}
	return sources_push(s, path, buf, len);
}

const struct source *sources_find(const struct sources *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (int i = 0; i < s->n; i++) /* loc.file normally points at the name itself */
		if (s->v[i]->name == name)
			return s->v[i];
	for (int i = s->n - 1; i >= 0; i--)
		if (strcmp(s->v[i]->name, name) == 0)
			return s->v[i];
	return NULL;
}

/* ---------- diagnostics ---------- */

void diag_init(struct diag *d, FILE *out, const struct sources *srcs)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->srcs = srcs;
}

void diag_free(struct diag *d)
{
	for (int i = 0; i < d->nmsgs; i++)
		free(d->msgs[i].text);
	free(d->msgs);
	d->msgs = NULL;
	d->nmsgs = d->cap = 0;
}

static const char *level_name(enum diag_level l)
{
	switch (l) {
	case DIAG_ERROR:
		return "error";
	case DIAG_WARNING:
		return "warning";
	default:
		return "note";
	}
}

/* Bytes that could mess up a terminal (escape sequences) are shown as '?';
 * one byte stays one column so the caret stays aligned. */
static int shown_char(unsigned char c)
{
	if (c == '\t' || (c >= 0x20 && c != 0x7f))
		return c;
	return '?';
}

static void print_quote(FILE *out, const struct source *src, int line, int col)
{
	const char *p = src->text, *end = src->text + src->len;
	for (int l = 1; l < line; l++) {
		const char *nl = memchr(p, '\n', end - p);
		if (!nl)
			return; /* no such line */
		p = nl + 1;
	}
	const char *eol = memchr(p, '\n', end - p);
	if (!eol)
		eol = end;
	if (eol > p && eol[-1] == '\r')
		eol--;
	fputs("  ", out);
	for (const char *q = p; q < eol; q++)
		fputc(shown_char((unsigned char)*q), out);
	fputc('\n', out);
	if (col <= 0)
		return;
	/* Past the end of the line (e.g. "missing X at end of line"): point
	 * just after the last character. */
	if (col > eol - p + 1)
		col = eol - p + 1;
	fputs("  ", out);
	for (int i = 0; i < col - 1; i++)
		fputc(p[i] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

static void diag_vreport(struct diag *d, enum diag_level level, struct src_loc loc, const char *fmt, va_list ap)
{
	int max = d->max_errors > 0 ? d->max_errors : DEFAULT_MAX_ERRORS;
	int count;
	if (level == DIAG_ERROR)
		count = d->nerrors++;
	else if (level == DIAG_WARNING)
		count = d->nwarnings++;
	else
		count = d->nmsgs; /* notes: bounded by the total */
	if (count >= max || d->nmsgs >= 3 * max) {
		if (level == DIAG_ERROR && count == max && d->out)
			fprintf(d->out, "rampart: note: too many errors; only the first %d are shown\n", max);
		return;
	}

	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	if (d->nmsgs == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->msgs = xrealloc(d->msgs, d->cap * sizeof(*d->msgs));
	}
	d->msgs[d->nmsgs++] = (struct diag_msg){ .level = level, .loc = loc, .text = text };

	if (!d->out)
		return;
	const char *lv = level_name(level);
	if (!loc.file)
		fprintf(d->out, "rampart: %s: %s\n", lv, text);
	else if (loc.line <= 0)
		fprintf(d->out, "%s: %s: %s\n", loc.file, lv, text);
	else {
		if (loc.col > 0)
			fprintf(d->out, "%s:%d:%d: %s: %s\n", loc.file, loc.line, loc.col, lv, text);
		else
			fprintf(d->out, "%s:%d: %s: %s\n", loc.file, loc.line, lv, text);
		const struct source *src = sources_find(d->srcs, loc.file);
		if (src)
			print_quote(d->out, src, loc.line, loc.col);
	}
	fflush(d->out);
}

void diag_error(struct diag *d, struct src_loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vreport(d, DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void diag_warning(struct diag *d, struct src_loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vreport(d, DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

void diag_note(struct diag *d, struct src_loc loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vreport(d, DIAG_NOTE, loc, fmt, ap);
	va_end(ap);
}

bool diag_has(const struct diag *d, enum diag_level level, const char *needle)
{
	for (int i = 0; i < d->nmsgs; i++)
		if (d->msgs[i].level == level && strstr(d->msgs[i].text, needle))
			return true;
	return false;
}
