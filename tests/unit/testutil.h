/* Helpers shared by the unit tests: parse a policy text into an ast with
 * its diagnostics captured in memory, and temporary files for includes. */
#ifndef RAMPART_TESTUTIL_H
#define RAMPART_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>
#include "policy.h"
#include "lexer.h"

/* ---------- captured diagnostics ---------- */

/* A diag printing into a memory buffer (read it with captured_text). */
struct captured {
	struct diag d;
	FILE *f;
	char *buf;
	size_t len;
};

static inline void captured_init(struct captured *c, const struct sources *srcs)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	diag_init(&c->d, c->f, srcs);
}

static inline const char *captured_text(struct captured *c)
{
	fflush(c->f);
	return c->buf ? c->buf : "";
}

static inline void captured_free(struct captured *c)
{
	diag_free(&c->d);
	fclose(c->f);
	free(c->buf);
}

/* Number of recorded messages of a level. */
static inline int count_msgs(const struct diag *d, enum diag_level level)
{
	int n = 0;
	for (int i = 0; i < d->nmsgs; i++)
		n += d->msgs[i].level == level;
	return n;
}

/* The i-th recorded message of a level (fails the test when missing). */
static inline const struct diag_msg *nth_msg(const struct diag *d, enum diag_level level, int i)
{
	int want = i;
	for (int k = 0; k < d->nmsgs; k++)
		if (d->msgs[k].level == level && i-- == 0)
			return &d->msgs[k];
	fail_msg("no message #%d of level %d (%d recorded)", want, level, d->nmsgs);
	return NULL;
}

/* The first message of a level containing needle, or NULL. */
static inline const struct diag_msg *find_msg(const struct diag *d, enum diag_level level, const char *needle)
{
	for (int k = 0; k < d->nmsgs; k++)
		if (d->msgs[k].level == level && strstr(d->msgs[k].text, needle))
			return &d->msgs[k];
	return NULL;
}

/* Asserts that an error containing `needle` was reported at line:col. */
#define assert_error_at(d, needle, l, c)                                         \
	do {                                                                     \
		const struct diag_msg *m_ = find_msg((d), DIAG_ERROR, (needle)); \
		if (!m_)                                                         \
			fail_msg("no error containing \"%s\"", (needle));        \
		assert_int_equal(m_->loc.line, (l));                             \
		assert_int_equal(m_->loc.col, (c));                              \
	} while (0)

/* ---------- parsing ---------- */

struct parsed {
	struct ast_policy ast;
	struct sources srcs;
	struct captured out;
	int rc;
};

/* Parses text (named `name` in messages) with parse_source. */
static inline struct parsed *parse_text_named(const char *name, const char *text)
{
	struct parsed *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	sources_init(&ps->srcs);
	captured_init(&ps->out, &ps->srcs);
	const struct source *src = sources_add_string(&ps->srcs, name, text);
	ps->rc = parse_source(&ps->ast, &ps->srcs, src, &ps->out.d);
	return ps;
}

static inline struct parsed *parse_text(const char *text)
{
	return parse_text_named("test.rules", text);
}

/* Parses a file (with its includes). */
static inline struct parsed *parse_path(const char *path)
{
	struct parsed *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	sources_init(&ps->srcs);
	captured_init(&ps->out, &ps->srcs);
	const struct source *src = sources_add_file(&ps->srcs, path);
	if (!src)
		fail_msg("cannot read %s", path);
	ps->rc = parse_source(&ps->ast, &ps->srcs, src, &ps->out.d);
	return ps;
}

static inline void parsed_free(struct parsed *ps)
{
	ast_policy_free(&ps->ast);
	captured_free(&ps->out);
	sources_free(&ps->srcs);
	free(ps);
}

static inline const struct ast_table *find_ast_table(const struct ast_policy *a, const char *name)
{
	for (int i = 0; i < a->ntables; i++)
		if (strcmp(a->tables[i].name, name) == 0)
			return &a->tables[i];
	return NULL;
}

/* The condition of a rule on field f, or NULL. */
static inline const struct ast_cond *find_ast_cond(const struct ast_rule *r, enum field f)
{
	for (int i = 0; i < r->nconds; i++)
		if (r->conds[i].field == f)
			return &r->conds[i];
	return NULL;
}

/* ---------- temporary files ---------- */

/* A fresh directory under /tmp (free the result; remove with remove_tree). */
static inline char *make_temp_dir(void)
{
	char *dir = strdup("/tmp/rampart-test-XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Writes dir/name (creating nothing else); returns the path (free it). */
static inline char *write_temp_file(const char *dir, const char *name, const char *text)
{
	char *path;
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static inline int remove_tree_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void remove_tree(const char *dir)
{
	nftw(dir, remove_tree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
