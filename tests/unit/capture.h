/* What a function wrote to a FILE, captured in memory (for the loader's
 * printing functions). */
#ifndef RAMPART_TEST_CAPTURE_H
#define RAMPART_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static inline FILE *capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	return c->f;
}

/* The text so far (owned by c). */
static inline const char *capture_text(struct capture *c)
{
	fflush(c->f);
	return c->buf ? c->buf : "";
}

static inline void capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

#endif
