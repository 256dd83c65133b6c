/* Diagnostics: compiler-style errors and warnings with file:line:col, the
 * offending source line and a caret.  Every message is also kept in memory so
 * tests (and `check --json`) can inspect what was reported. */
#ifndef RAMPART_DIAG_H
#define RAMPART_DIAG_H

#include <stdio.h>
#include <stdbool.h>
#include <errno.h>

/* A position in a policy source.  `file` points into a struct source, which
 * lives as long as the struct sources that loaded it. */
struct src_loc {
	const char *file;
	int line; /* 1-based; 0 = no position (e.g. command line) */
	int col;  /* 1-based; 0 = whole line */
};

/* One loaded source file (or string).  Kept so diagnostics can quote lines. */
struct source {
	char *name;
	char *text; /* NUL-terminated contents */
	size_t len;
};

struct sources {
	struct source **v;
	int n, cap;
};

enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag_msg {
	enum diag_level level;
	struct src_loc loc;
	char *text;
};

struct diag {
	FILE *out;		    /* where to print as reported; NULL = silent */
	const struct sources *srcs; /* to quote the offending line; may be NULL */
	struct diag_msg *msgs;
	int nmsgs, cap;
	int nerrors, nwarnings;
	int max_errors; /* stop recording after this many errors (0 = 1000) */
};

void diag_init(struct diag *d, FILE *out, const struct sources *srcs);
void diag_free(struct diag *d);
void diag_error(struct diag *d, struct src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(struct diag *d, struct src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(struct diag *d, struct src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* True when some recorded message of `level` contains `needle` (for tests). */
bool diag_has(const struct diag *d, enum diag_level level, const char *needle);

/* Source registry.  sources_add_* return the new source (owned by srcs). */
void sources_init(struct sources *s);
void sources_free(struct sources *s);
struct source *sources_add_string(struct sources *s, const char *name, const char *text);
/* Reads a file; NULL with errno set on failure (SOURCES_EBINARY when the
 * file contains a NUL byte, EFBIG beyond 16 MiB, EISDIR for a directory,
 * SOURCES_ENOTREG for anything else that is not a regular file). */
struct source *sources_add_file(struct sources *s, const char *path);
#define SOURCES_EBINARY EILSEQ
#define SOURCES_ENOTREG ENODEV /* a device or FIFO: could block or never end */
/* strerror() that also explains the sources_add_file-specific errors. */
const char *sources_strerror(int err);
const struct source *sources_find(const struct sources *s, const char *name);

#endif
