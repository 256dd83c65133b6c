/* Random policies and events (see random_policy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "random_policy.h"

static const char *ADDRS[] = { "192.0.2.0/25",
			       "192.0.2.128/25",
			       "198.51.100.0/24",
			       "2001:db8::/33",
			       "! 192.0.2.0/24",
			       "@nets",
			       "{ 203.0.113.1, 2001:db8::1 }",
			       "192.0.2.100-192.0.2.150",
			       "192.0.2.7",
			       "any" };
static const char *PORTS[] = { "22", "80", "1000-5000", "! 80", "{ 22, 443 }", "@web", "any" };
static const char *PROTOS[] = { "tcp", "udp", "icmp", "icmpv6", "{ tcp, udp }", "any" };
static const char *EVENTS[] = { "network", "connect", "accept", "{ send, receive }", "packet" };
static const char *APPS[] = { "/usr/bin/a", "/usr/bin/b", "@apps" };
static const char *CGROUPS[] = { "/a", "/a/b", "/c", "@cg" };
static const char *USERS[] = { "0", "1000", "0-999" };
static const char *IFACES[] = { "eth0", "wan", "lo" };
static const char *ICMPS[] = { "echo-request", "echo-reply", "dest-unreach" };
static const char *VERDICTS[] = { "allow", "deny", "reject", "ask", "continue" };

#define PICK(a) (a)[rnd((unsigned)(sizeof(a) / sizeof((a)[0])))]

unsigned rnd(unsigned n)
{
	return (unsigned)rand() % n;
}

/* The conditions a rule may name: the words, and the lists their
 * values are picked from (b: a second value, for `local ADDR port PORT`). */
static const char *DIRS[] = { "out", "in" };
static const char *FAMILIES[] = { "ip6", "ip4" };
#define LIST(a) a, (unsigned)(sizeof(a) / sizeof((a)[0]))
#define NONE	NULL, 0
static const struct condition {
	const char *fmt;
	const char **a;
	unsigned na;
	const char **b;
	unsigned nb;
} CONDITIONS[] = {
	{ " %s", LIST(DIRS), NONE },
	{ " proto %s", LIST(PROTOS), NONE },
	{ " %s", LIST(FAMILIES), NONE },
	{ " remote %s", LIST(ADDRS), NONE },
	{ " remote port %s", LIST(PORTS), NONE },
	{ " local %s port %s", LIST(ADDRS), LIST(PORTS) },
	{ " event %s", LIST(EVENTS), NONE },
	{ " app %s", LIST(APPS), NONE },
	{ " cgroup %s", LIST(CGROUPS), NONE },
	{ " user %s", LIST(USERS), NONE },
	{ " on %s", LIST(IFACES), NONE },
	{ " icmp-type %s", LIST(ICMPS), NONE },
};
#define NCONDITIONS (int)(sizeof(CONDITIONS) / sizeof(CONDITIONS[0]))

static void random_condition(FILE *m, const struct condition *c)
{
	const char *a = c->a[rnd(c->na)];
	if (c->b)
		fprintf(m, c->fmt, a, c->b[rnd(c->nb)]);
	else
		fprintf(m, c->fmt, a);
}

static void random_rule(FILE *m, int table, int ntables, int fields)
{
	int v = (int)rnd(7);
	if (v >= 5 && table + 1 < ntables)
		fprintf(m, "    jump t%d", table + 1 + (int)rnd((unsigned)(ntables - table - 1)));
	else
		fprintf(m, "    %s", VERDICTS[v % 5]);
	unsigned named = 0; /* a rule names each field once */
	for (int i = (int)rnd((unsigned)fields); i > 0; i--) {
		int c = (int)rnd(NCONDITIONS);
		if (named & (1u << c))
			continue;
		named |= 1u << c;
		random_condition(m, &CONDITIONS[c]);
	}
	if (rnd(5) == 0)
		fprintf(m, " log");
	fprintf(m, "\n");
}

char *random_policy_text(const struct random_policy_size *size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "addresses nets = { 198.51.100.128/25, 2001:db8:8000::/33 }\n"
		   "ports web = { 80, 443, 8080 }\n"
		   "apps apps = { /usr/bin/b, /usr/bin/c }\n"
		   "cgroups cg = { /a/b/c, /d }\n"
		   "interface wan = eth1\n");
	int ntables = 1 + (int)rnd((unsigned)size->tables);
	for (int t = ntables - 1; t >= 0; t--) {
		if (t == 0) /* a root table without a default is refused */
			fprintf(m, "table root default %s {\n", VERDICTS[rnd(4)]);
		else if (rnd(2))
			fprintf(m, "table t%d default %s {\n", t, VERDICTS[rnd(5)]);
		else
			fprintf(m, "table t%d {\n", t);
		int nrules = (int)rnd((unsigned)size->rules);
		for (int r = 0; r < nrules; r++)
			random_rule(m, t, ntables, size->fields);
		fprintf(m, "}\n");
	}
	fclose(m);
	return text;
}

static const char *EV_ADDRS[] = { "192.0.2.5",	 "192.0.2.7",	"192.0.2.200",	    "198.51.100.7", "198.51.100.200",
				  "203.0.113.1", "2001:db8::1", "2001:db8:8000::1", "2001:db8::2" };

void random_policy_event(const struct policy *p, struct event *e)
{
	static const unsigned ports[] = { 22, 80, 443, 1000, 5000, 8080 };
	static const unsigned protos[] = { 6, 17, 1, 58 };
	static const unsigned users[] = { 0, 500, 1000, 65534 };
	static const unsigned icmps[] = { 8, 0, 3, 256 + 128, 256 + 129, 256 + 1 };
	memset(e, 0, sizeof(*e));
	for (int f = 0; f < F_COUNT; f++) {
		e->has[f] = rnd(4) != 0;
		switch (f) {
		case F_DIR:
			e->val[f] = rnd(2);
			break;
		case F_EVENT:
			e->val[f] = rnd(EVENT_COUNT);
			break;
		case F_FAMILY:
			e->val[f] = rnd(2) ? 4 : 6;
			break;
		case F_PROTO:
			e->val[f] = PICK(protos);
			break;
		case F_LADDR:
		case F_RADDR:
			addr_parse(PICK(EV_ADDRS), &e->val[f], NULL);
			break;
		case F_LPORT:
		case F_RPORT:
			e->val[f] = PICK(ports);
			break;
		case F_ICMPTYPE:
			e->val[f] = PICK(icmps);
			break;
		case F_IFACE:
			e->val[f] = rnd((unsigned)p->nifaces + 2);
			break;
		case F_APP:
			e->val[f] = rnd((unsigned)p->napps + 1);
			break;
		case F_CGROUP:
			e->val[f] = rnd((unsigned)p->ncgroups + 1);
			break;
		case F_USER:
			e->val[f] = PICK(users);
			break;
		}
	}
}
