/* Minimal JSON writing for --json output (one document per command). */
#ifndef RAMPART_JSON_H
#define RAMPART_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal (quoted, escaped); NULL writes null. */
void json_str(FILE *f, const char *s);
/* Writes the space-separated words of s (at most n bytes) as an array of
 * JSON strings. */
void json_words(FILE *f, const char *s, size_t n);

#endif
