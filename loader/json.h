/* Minimal JSON writing for --json output (one document per command). */
#ifndef RAMPART_JSON_H
#define RAMPART_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal (quoted, escaped); NULL writes null. */
void json_str(FILE *f, const char *s);

#endif
