/* Test helpers: load a policy and judge events written in `explain` syntax. */
#ifndef RAMPART_TEST_JUDGE_H
#define RAMPART_TEST_JUDGE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

struct judged {
	enum verdict verdict;
	char table[64];
	int line; /* line of the deciding rule, 0 when a table default decided */
	bool log;
	int nrecorded;
};

static inline struct policy *load_policy_file_ok(const char *path)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, stderr, NULL);
	int rc = policy_load_file(p, path, &o, &d);
	if (rc != 0 || d.nerrors)
		fail_msg("%s: %d errors", path, d.nerrors);
	diag_free(&d);
	return p;
}

static inline struct policy *load_policy_text_ok(const char *text)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct diag d;
	struct load_opts o = { 0 };
	diag_init(&d, stderr, NULL);
	int rc = policy_load_string(p, "test.rules", text, &o, &d);
	if (rc != 0 || d.nerrors)
		fail_msg("policy has %d errors:\n%s", d.nerrors, text);
	diag_free(&d);
	return p;
}

static inline void free_policy(struct policy *p)
{
	policy_free(p);
	free(p);
}

/* Judge with the reference interpreter and check the flat form agrees. */
static inline struct judged judge(const struct policy *p, const char *event_text)
{
	struct event ev;
	struct diag d;
	struct judged j = { 0 };
	diag_init(&d, stderr, NULL);
	if (event_parse(&ev, p, event_text, &d) != 0 || d.nerrors)
		fail_msg("bad event: %s", event_text);
	diag_free(&d);

	struct eval_result r, fr;
	eval_event(p, &ev, &r, false);
	j.verdict = r.verdict;
	snprintf(j.table, sizeof(j.table), "%s", p->tables[r.table].name);
	j.line = r.rule >= 0 ? p->rules[r.rule].loc.line : 0;
	j.log = r.log;
	j.nrecorded = r.nrecorded;

	struct flat_policy fp;
	diag_init(&d, stderr, NULL);
	assert_int_equal(flatten_policy(p, &fp, &d), 0);
	diag_free(&d);
	flat_eval(&fp, &ev, &fr);
	assert_int_equal(fr.verdict, r.verdict);
	assert_int_equal(fr.rule, r.rule);
	assert_int_equal(fr.nrecorded, r.nrecorded);
	flat_policy_free(&fp);
	eval_result_free(&fr);
	eval_result_free(&r);
	return j;
}

/* Line (1-based) of the first line of `text` containing `needle`. */
static inline int line_of(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle);
	if (!hit)
		fail_msg("`%s` not in policy", needle);
	int line = 1;
	for (const char *c = text; c < hit; c++)
		line += *c == '\n';
	return line;
}

/* Reads a whole file (for line_of over example files). */
static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	assert_non_null(buf);
	buf[len] = 0;
	return buf;
}

#define assert_judged(j, v, tbl, ln)                                            \
	do {                                                                    \
		struct judged _j = (j);                                         \
		assert_string_equal(verdict_name(_j.verdict), verdict_name(v)); \
		assert_string_equal(_j.table, (tbl));                           \
		assert_int_equal(_j.line, (ln));                                \
	} while (0)

#endif
