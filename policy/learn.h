/* What an "always" answer to an `ask` question writes into the policy
 * (docs/ask.md): the rule, built from what the question carries and the
 * scope the user chose, and the policy file's text with that rule inserted
 * just before the `ask` rule that fired (or at the end of the table whose
 * default is `ask`).  Pure functions on text: no file is read or written
 * here (the agent, loader/ask.c, does that atomically). */
#ifndef RAMPART_LEARN_H
#define RAMPART_LEARN_H

#include <stddef.h>
#include "fields.h"

/* Which events the learned rule covers. */
enum learn_scope {
	LEARN_HOST_PORT, /* this application with this remote host on this port */
	LEARN_PORT,	 /* this application on this port, any host */
	LEARN_APP,	 /* this application, anywhere (in this direction) */
};

/* "host-port", "port", "app" -> scope; -1 for anything else. */
int learn_scope_parse(const char *s);

/* What the question carried (NULL / 0 / -1: not carried). */
struct learn_event {
	enum direction dir;
	enum event_type event;
	int proto;	     /* IP protocol number, 0: not carried */
	const char *app;     /* executable path */
	const char *remote;  /* remote address as text */
	int port;	     /* the service port: remote port going out, local port coming in; -1: none */
	const char *verdict; /* "allow", "deny", "reject" or "jump TABLE" */
	enum learn_scope scope;
};

/* The rule text into buf, e.g. "allow out app /usr/bin/curl proto tcp
 * remote 198.51.100.2 port 80".  0, -EINVAL when the scope needs what the
 * question does not carry (an application for LEARN_APP, a port for
 * LEARN_PORT, ...), -ENOSPC when buf is too small. */
int learn_rule_text(const struct learn_event *e, char *buf, size_t n);

/* A copy of text (malloc'ed; NULL when out of memory or when line is not
 * in text) with `# COMMENT` and RULE inserted as lines just before line
 * `line` (1-based), indented as that line is. */
char *learn_insert_before_line(const char *text, int line, const char *comment, const char *rule);

/* A copy of text with `# COMMENT` and RULE inserted as the last lines of
 * table TABLE's body (for a table whose default is ask): NULL when out of
 * memory or when the text has no such table. */
char *learn_insert_in_table(const char *text, const char *table, const char *comment, const char *rule);

#endif
