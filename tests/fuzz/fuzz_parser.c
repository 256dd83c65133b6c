/* libFuzzer target over the policy front end: the lexer on the raw bytes,
 * then the whole load (parse with includes, resolve) with no name lookups.
 * Any crash, sanitizer report, leak or hang is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "policy.h"
#include "lexer.h"

static char fuzz_dir[] = "/tmp/rampart-fuzz-XXXXXX";

static void remove_fuzz_dir(void)
{
	if (chdir(fuzz_dir) == 0) {
		unlink("a.rules");
		unlink("b.rules");
	}
	if (chdir("/") == 0)
		rmdir(fuzz_dir);
}

/* Relative includes resolve inside this directory, which holds two small
 * policy fragments so the include code is exercised too. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(fuzz_dir) || chdir(fuzz_dir) != 0)
		abort();
	atexit(remove_fuzz_dir);
	FILE *f = fopen("a.rules", "w");
	if (f) {
		fputs("addresses a = { 192.0.2.0/24 }\ntable inc {\n  allow remote @a\n}\n", f);
		fclose(f);
	}
	f = fopen("b.rules", "w");
	if (f) {
		fputs("include \"a.rules\"\nports p = { 80, 443 }\n", f);
		fclose(f);
	}
	return 0;
}

/* Includes may only reach the fuzz directory: an input naming an absolute
 * path or `..` could make the target read the whole file system. */
static bool include_escapes(const char *s)
{
	return strstr(s, "include") && (strstr(s, "..") || strstr(s, "\"/") || strstr(s, "\"\\"));
}

static void lex_all(const char *text)
{
	struct sources srcs;
	struct diag d;
	struct lexer lx;
	sources_init(&srcs);
	diag_init(&d, NULL, &srcs);
	lexer_init(&lx, sources_add_string(&srcs, "fuzz", text), &d);
	size_t n = 0, len = strlen(text);
	while (lexer_next(&lx).kind != TOK_EOF)
		if (++n > len) /* at most one token per byte */
			abort();
	lexer_free(&lx);
	diag_free(&d);
	sources_free(&srcs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* the text ends at the first NUL, as for a string source */

	lex_all(text);
	if (!include_escapes(text)) {
		static FILE *sink;
		if (!sink)
			sink = fopen("/dev/null", "w"); /* still format every message */
		struct policy p;
		struct diag d;
		struct load_opts o = { .resolve_hosts = false, .lookup_users = false };
		diag_init(&d, sink, NULL);
		policy_load_string(&p, "fuzz.rules", text, &o, &d);
		policy_free(&p);
		diag_free(&d);
	}
	free(text);
	return 0;
}
