/* Resolution: the parse tree becomes a policy the interpreter, the
 * flattener and the kernel compiler can use directly.  Every name is looked
 * up here (sets, tables, interface aliases, users, hosts), every literal
 * becomes a value set over its field, and every mistake is reported with
 * its position -- all of them, not just the first, so one `check` run shows
 * the user everything to fix.
 *
 * Order of work:
 *   1. declarations: interface aliases, sets, tables (duplicates, defaults)
 *   2. cgroup numbering over every cgroup path named anywhere (a rule's
 *      `cgroup X` is the interval of X's preorder subtree, so all names must
 *      be known before any condition is built)
 *   3. sets (in declaration order, set-in-set references on demand, with
 *      cycle detection), then the rules of each table in order -- so
 *      application and interface ids follow first appearance in the text
 *   4. jump targets, then jump cycles
 *   5. options */
#include <fnmatch.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "policy.h"
#include "suggest.h"

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (!r)
		abort();
	return r;
}

/* ---------- small helpers ---------- */

static const char *set_kind_name(enum set_kind k)
{
	switch (k) {
	case SET_ADDRESSES:
		return "addresses";
	case SET_PORTS:
		return "ports";
	case SET_APPS:
		return "apps";
	case SET_CGROUPS:
		return "cgroups";
	}
	return "?";
}

/* Which set kind a field takes, or -1 when the field takes no sets. */
static int field_set_kind(enum field f)
{
	switch (f) {
	case F_LADDR:
	case F_RADDR:
		return SET_ADDRESSES;
	case F_LPORT:
	case F_RPORT:
		return SET_PORTS;
	case F_APP:
		return SET_APPS;
	case F_CGROUP:
		return SET_CGROUPS;
	default:
		return -1;
	}
}

/* The field whose literals a set of kind k holds. */
static enum field set_kind_field(enum set_kind k)
{
	switch (k) {
	case SET_ADDRESSES:
		return F_RADDR;
	case SET_PORTS:
		return F_RPORT;
	case SET_APPS:
		return F_APP;
	case SET_CGROUPS:
		return F_CGROUP;
	}
	return F_RADDR;
}

/* "line 3" or "other.rules:3" for pointing at an earlier definition. */
static const char *where(struct src_loc first, struct src_loc here, char *buf, size_t len)
{
	if (first.file && here.file && strcmp(first.file, here.file) != 0)
		snprintf(buf, len, "%s:%d", first.file, first.line);
	else
		snprintf(buf, len, "line %d", first.line);
	return buf;
}

/* Strict decimal number in [0, max]. */
static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v > max)
		return false;
	*out = v;
	return true;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* ---------- resolution context ---------- */

enum set_state { SET_NEW, SET_RESOLVING, SET_DONE, SET_FAILED };

struct rctx {
	struct policy *p;
	const struct ast_policy *ast;
	const struct load_opts *o;
	struct diag *d;
	/* sets, indexed like ast->sets (and p->sets) */
	struct vset *setval;
	enum set_state *setstate;
	bool *setunres;	 /* the set names a host that did not resolve */
	int unres_hits;	 /* host names that did not resolve, so far (with repeats) */
	bool list_unres; /* the list resolve_list did last named one */
	int *setstack, nsetstack;
	/* table index of each ast table; -1 for a duplicate */
	int *ast_table;
	/* line starts of the source last quoted (rule texts are taken in file
	 * order, so this keeps loading linear in the number of rules) */
	const struct source *lsrc;
	const char **lstart;
	int nlines;
};

static int find_set(const struct rctx *c, const char *name)
{
	for (int i = 0; i < c->ast->nsets; i++)
		if (strcmp(c->ast->sets[i].name, name) == 0)
			return i;
	return -1;
}

static int find_table(const struct policy *p, const char *name)
{
	for (int i = 0; i < p->ntables; i++)
		if (strcmp(p->tables[i].name, name) == 0)
			return i;
	return -1;
}

/* ---------- addresses ---------- */

static bool looks_like_host(const char *s)
{
	bool letter = false;
	if (!*s || *s == '-' || *s == '.')
		return false;
	for (const char *c = s; *c; c++) {
		if (isalpha((unsigned char)*c))
			letter = true;
		else if (!isdigit((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
			return false;
	}
	return letter;
}

/* Records a host name that did not resolve (once). */
static void policy_add_unresolved(struct policy *p, const char *name)
{
	for (int i = 0; i < p->nunresolved; i++)
		if (!strcmp(p->unresolved[i], name))
			return;
	p->unresolved = xrealloc(p->unresolved, (size_t)(p->nunresolved + 1) * sizeof(*p->unresolved));
	p->unresolved[p->nunresolved++] = xstrdup(name);
}

static bool resolve_host(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	if (!c->o || !c->o->resolve_hosts) {
		diag_error(c->d, it->loc,
			   "`%s` is a host name and host names are not resolved here; "
			   "write its address instead",
			   it->text);
		return false;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(it->text, NULL, &hints, &res);
	if (rc != 0) {
		/* the policy still applies (a boot must not wait for DNS, nor open
		 * because of it): the name matches nothing until it resolves;
		 * `rampart daemon` retries (docs/policy.md, "Host names") */
		diag_warning(c->d, it->loc,
			     "cannot resolve host `%s` (%s); rules naming it match nothing until it resolves", it->text,
			     rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		policy_add_unresolved(c->p, it->text);
		c->unres_hits++;
		return true;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		u128 a = 0;
		if (ai->ai_family == AF_INET) {
			a = addr_from_v4(ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr));
		} else if (ai->ai_family == AF_INET6) {
			const uint8_t *b = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr;
			for (int k = 0; k < 16; k++)
				a = (a << 8) | b[k];
		} else {
			continue;
		}
		vset_add(out, a, a);
	}
	freeaddrinfo(res);
	return true;
}

static bool parse_prefix(struct rctx *c, const struct ast_item *it, const char *slash, struct vset *out)
{
	char addr[128];
	size_t alen = slash - it->text;
	u128 a;
	int fam;
	unsigned long long plen;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, it->text, alen);
	addr[alen] = 0;
	if (!addr_parse(addr, &a, &fam))
		goto bad;
	int maxlen = fam == 4 ? 32 : 128;
	if (!parse_uint(slash + 1, ULLONG_MAX, &plen) || plen > (unsigned long long)maxlen) {
		diag_error(c->d, it->loc, "prefix length in `%s` out of range 0-%d for an IPv%d address", it->text,
			   maxlen, fam);
		return false;
	}
	int bits = (fam == 4 ? 32 : 128) - (int)plen; /* host bits */
	u128 host = bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
	u128 lo = a & ~host;
	if (a & host) {
		char net[64];
		diag_warning(c->d, it->loc, "host bits set in %s; it means %s/%llu", it->text,
			     addr_format(lo, net, sizeof(net)), plen);
	}
	vset_add(out, lo, lo | host);
	return true;
bad:
	diag_error(c->d, it->loc, "bad address prefix `%s`: expected ADDRESS/LENGTH, e.g. 192.0.2.0/24", it->text);
	return false;
}

/* A-B: 0 when the text is not a range of addresses (maybe a host name
 * with a dash), 1 when added, -1 after an error. */
static int parse_addr_range(struct rctx *c, const struct ast_item *it, const char *dash, struct vset *out)
{
	char left[128];
	size_t llen = dash - it->text;
	u128 a, b;
	int fa, fb;

	if (llen >= sizeof(left))
		return 0;
	memcpy(left, it->text, llen);
	left[llen] = 0;
	bool la = addr_parse(left, &a, &fa), lb = addr_parse(dash + 1, &b, &fb);
	if (!la && !lb)
		return 0;
	if (!la || !lb) {
		diag_error(c->d, it->loc,
			   "bad address range `%s`: expected ADDRESS-ADDRESS, e.g. "
			   "198.51.100.10-198.51.100.20",
			   it->text);
		return -1;
	}
	if (fa != fb) {
		diag_error(c->d, it->loc, "range `%s` mixes IPv4 and IPv6 addresses", it->text);
		return -1;
	}
	if (a > b) {
		diag_error(c->d, it->loc, "reversed range `%s`: the first address must not be greater than the second",
			   it->text);
		return -1;
	}
	vset_add(out, a, b);
	return 1;
}

static bool parse_address(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	const char *s = it->text;
	u128 a;
	const char *slash = strchr(s, '/');
	const char *dash = strchr(s, '-');

	if (addr_parse(s, &a, NULL)) {
		vset_add(out, a, a);
		return true;
	}
	if (slash)
		return parse_prefix(c, it, slash, out);
	if (dash) {
		int rc = parse_addr_range(c, it, dash, out);
		if (rc != 0)
			return rc > 0;
	}
	if (looks_like_host(s))
		return resolve_host(c, it, out);
	diag_error(c->d, it->loc,
		   "bad address `%s`: expected an address, a prefix (192.0.2.0/24), a range "
		   "(A-B), a host name or `any`",
		   s);
	return false;
}

/* ---------- ports, protocols, events, ... ---------- */

static bool parse_port_range(struct rctx *c, const struct ast_item *it, struct vset *out, const char *what,
			     unsigned long long max)
{
	const char *s = it->text;
	const char *dash = strchr(s, '-');
	unsigned long long lo, hi;
	char left[32];

	if (!dash) {
		if (!all_digits(s))
			goto bad;
		if (!parse_uint(s, max, &lo)) {
			diag_error(c->d, it->loc, "%s %s out of range 0-%llu", what, s, max);
			return false;
		}
		vset_add(out, lo, lo);
		return true;
	}
	if ((size_t)(dash - s) >= sizeof(left))
		goto bad;
	memcpy(left, s, dash - s);
	left[dash - s] = 0;
	if (!all_digits(left) || !all_digits(dash + 1))
		goto bad;
	if (!parse_uint(left, max, &lo)) {
		diag_error(c->d, it->loc, "%s %s out of range 0-%llu", what, left, max);
		return false;
	}
	if (!parse_uint(dash + 1, max, &hi)) {
		diag_error(c->d, it->loc, "%s %s out of range 0-%llu", what, dash + 1, max);
		return false;
	}
	if (lo > hi) {
		diag_error(c->d, it->loc, "reversed range `%s`: the first %s must not be greater than the second", s,
			   what);
		return false;
	}
	vset_add(out, lo, hi);
	return true;
bad:
	diag_error(c->d, it->loc, "bad %s `%s`: expected a number 0-%llu or a range N-M", what, s, max);
	return false;
}

static bool parse_proto(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	int proto;
	if (proto_from_name(it->text, &proto)) {
		vset_add(out, proto, proto);
		return true;
	}
	if (all_digits(it->text))
		diag_error(c->d, it->loc, "protocol %s out of range 0-255", it->text);
	else
		diag_error(c->d, it->loc,
			   "unknown protocol `%s`; use tcp, udp, icmp, icmpv6, another protocol "
			   "name, a number 0-255 or any",
			   it->text);
	return false;
}

static bool parse_event_name(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	enum event_type e;
	if (event_from_name(it->text, &e)) {
		vset_add(out, e, e);
		return true;
	}
	diag_error(c->d, it->loc,
		   "unknown event `%s`; events are network, connect, listen, accept, send, "
		   "receive, packet",
		   it->text);
	return false;
}

static bool parse_dir(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	if (strcmp(it->text, "in") == 0)
		vset_add(out, DIR_IN, DIR_IN);
	else if (strcmp(it->text, "out") == 0)
		vset_add(out, DIR_OUT, DIR_OUT);
	else {
		diag_error(c->d, it->loc, "bad direction `%s`: use in or out", it->text);
		return false;
	}
	return true;
}

static bool parse_family(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	const char *s = it->text;
	if (strcmp(s, "4") == 0 || strcmp(s, "ip4") == 0)
		vset_add(out, 4, 4);
	else if (strcmp(s, "6") == 0 || strcmp(s, "ip6") == 0)
		vset_add(out, 6, 6);
	else {
		diag_error(c->d, it->loc, "bad address family `%s`: use ip4 or ip6", s);
		return false;
	}
	return true;
}

/* icmp-type: a name matches ICMP and ICMPv6 alike (t and 256+t); a bare
 * number is ambiguous between the two, so the rule's own `proto` says which. */
static bool parse_icmp_type(struct rctx *c, const struct ast_item *it, const struct cond *proto, struct vset *out)
{
	int v4, v6;
	unsigned long long t;

	if (icmp_type_from_name(it->text, &v4, &v6)) {
		if (v4 >= 0)
			vset_add(out, v4, v4);
		if (v6 >= 0)
			vset_add(out, ICMPV6_TYPE_BASE + v6, ICMPV6_TYPE_BASE + v6);
		return true;
	}
	if (!all_digits(it->text)) {
		diag_error(c->d, it->loc,
			   "unknown icmp-type `%s`; use a name such as echo-request, echo-reply, "
			   "dest-unreach, time-exceeded, or a number 0-255 with proto icmp|icmpv6",
			   it->text);
		return false;
	}
	if (!parse_uint(it->text, 255, &t)) {
		diag_error(c->d, it->loc, "icmp-type %s out of range 0-255", it->text);
		return false;
	}
	bool v4p = proto && proto->used && vset_contains(&proto->set, 1);
	bool v6p = proto && proto->used && vset_contains(&proto->set, 58);
	if (!v4p && !v6p) {
		diag_error(c->d, it->loc,
			   "icmp-type %s is a number, so the rule must say `proto icmp` or "
			   "`proto icmpv6` (or use a type name such as echo-request)",
			   it->text);
		return false;
	}
	if (v4p)
		vset_add(out, t, t);
	if (v6p)
		vset_add(out, ICMPV6_TYPE_BASE + t, ICMPV6_TYPE_BASE + t);
	return true;
}

/* Collapse duplicate slashes (paths are otherwise kept as written). */
char *app_path_normalise(const char *s)
{
	char *r = xstrdup(s), *w = r;
	for (const char *q = s; *q; q++)
		if (!(*q == '/' && w > r && w[-1] == '/'))
			*w++ = *q;
	*w = 0;
	return r;
}

static uint32_t intern(char ***v, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return i + 1;
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	return *n;
}

static bool parse_app(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	if (it->text[0] != '/') {
		diag_error(c->d, it->loc, "application path must be absolute: `%s`", it->text);
		return false;
	}
	char *path = app_path_normalise(it->text);
	uint32_t id = intern(&c->p->apps, &c->p->napps, path);
	free(path);
	vset_add(out, id, id);
	return true;
}

/* ---------- cgroups ---------- */

/* Normalised cgroup path: leading '/', single slashes, no trailing '/',
 * "/" for the root.  NULL when it contains `.` or `..` components. */
char *cgroup_path_normalise(const char *s)
{
	size_t len = strlen(s);
	char *r = malloc(len + 2), *w = r;
	if (!r)
		abort();
	*w++ = '/';
	const char *q = s;
	while (*q) {
		while (*q == '/')
			q++;
		if (!*q)
			break;
		const char *e = strchr(q, '/');
		size_t n = e ? (size_t)(e - q) : strlen(q);
		if ((n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.')) {
			free(r);
			return NULL;
		}
		if (w > r + 1)
			*w++ = '/';
		memcpy(w, q, n);
		w += n;
		q += n;
	}
	*w = 0;
	return r;
}

/* Path order where '/' sorts before every other character, so a cgroup is
 * followed by its descendants: sorting gives the preorder of the tree. */
static int cgroup_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = *a == '/' ? 1 : *a ? (unsigned char)*a + 1 : 0;
		int cb = *b == '/' ? 1 : *b ? (unsigned char)*b + 1 : 0;
		if (ca != cb || !ca)
			return ca - cb;
	}
}

static int cgroup_qsort_cmp(const void *a, const void *b)
{
	return cgroup_cmp(((const struct named_cgroup *)a)->path, ((const struct named_cgroup *)b)->path);
}

static bool is_cgroup_descendant(const char *anc, const char *path)
{
	if (strcmp(anc, "/") == 0)
		return strcmp(path, "/") != 0;
	size_t n = strlen(anc);
	return strncmp(anc, path, n) == 0 && path[n] == '/';
}

static void collect_cgroups_list(struct policy *p, const struct ast_list *l, const struct ast_policy *ast)
{
	for (int i = 0; i < l->n; i++) {
		if (l->items[i].kind != AST_LITERAL || strcmp(l->items[i].text, "any") == 0)
			continue;
		char *path = cgroup_path_normalise(l->items[i].text);
		if (!path)
			continue;
		bool dup = false;
		for (int j = 0; j < p->ncgroups && !dup; j++)
			dup = strcmp(p->cgroups[j].path, path) == 0;
		if (dup) {
			free(path);
			continue;
		}
		p->cgroups = xrealloc(p->cgroups, (p->ncgroups + 1) * sizeof(*p->cgroups));
		p->cgroups[p->ncgroups++] = (struct named_cgroup){ .path = path };
	}
}

static void number_cgroups(struct policy *p, const struct ast_policy *ast)
{
	for (int i = 0; i < ast->nsets; i++)
		if (ast->sets[i].kind == SET_CGROUPS)
			collect_cgroups_list(p, &ast->sets[i].list, ast);
	for (int t = 0; t < ast->ntables; t++)
		for (int r = 0; r < ast->tables[t].nrules; r++) {
			const struct ast_rule *ar = &ast->tables[t].rules[r];
			for (int k = 0; k < ar->nconds; k++)
				if (ar->conds[k].field == F_CGROUP)
					collect_cgroups_list(p, &ar->conds[k].list, ast);
		}
	if (p->ncgroups > 1)
		qsort(p->cgroups, p->ncgroups, sizeof(*p->cgroups), cgroup_qsort_cmp);
	for (int i = 0; i < p->ncgroups; i++) {
		p->cgroups[i].pre = i + 1;
		int j = i + 1;
		while (j < p->ncgroups && is_cgroup_descendant(p->cgroups[i].path, p->cgroups[j].path))
			j++;
		p->cgroups[i].post = j; /* pre of the last descendant */
	}
}

static bool parse_cgroup(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	char *path = cgroup_path_normalise(it->text);
	if (!path) {
		diag_error(c->d, it->loc,
			   "cgroup path `%s` must not contain `.` or `..`; write it relative to "
			   "the cgroup2 mount, e.g. /system.slice/nginx.service",
			   it->text);
		return false;
	}
	for (int i = 0; i < c->p->ncgroups; i++)
		if (strcmp(c->p->cgroups[i].path, path) == 0) {
			vset_add(out, c->p->cgroups[i].pre, c->p->cgroups[i].post);
			free(path);
			return true;
		}
	free(path);
	/* number_cgroups saw every literal, so this cannot happen */
	diag_error(c->d, it->loc, "internal error: cgroup `%s` was not numbered", it->text);
	return false;
}

/* ---------- interfaces, users ---------- */

static bool parse_iface(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	const char *name = it->text;
	for (int i = 0; i < c->ast->nifaces; i++)
		if (strcmp(c->ast->ifaces[i].name, name) == 0) {
			name = c->ast->ifaces[i].ifname;
			break;
		}
	if (strlen(name) > IFNAME_MAX || strchr(name, '/')) {
		diag_error(c->d, it->loc, "bad interface name `%s`: at most %d characters, no `/`", name, IFNAME_MAX);
		return false;
	}
	uint32_t id = intern(&c->p->ifaces, &c->p->nifaces, name);
	vset_add(out, id, id);
	return true;
}

static bool parse_user(struct rctx *c, const struct ast_item *it, struct vset *out)
{
	unsigned long long uid, hi;
	const char *s = it->text;
	const char *dash = strchr(s, '-');

	if (all_digits(s)) {
		if (!parse_uint(s, UINT32_MAX - 1, &uid)) {
			diag_error(c->d, it->loc, "uid %s out of range 0-%u", s, UINT32_MAX - 1);
			return false;
		}
		vset_add(out, uid, uid);
		return true;
	}
	if (dash && dash != s && all_digits(dash + 1)) {
		char left[32];
		if ((size_t)(dash - s) < sizeof(left)) {
			memcpy(left, s, dash - s);
			left[dash - s] = 0;
			if (all_digits(left)) {
				if (!parse_uint(left, UINT32_MAX - 1, &uid) ||
				    !parse_uint(dash + 1, UINT32_MAX - 1, &hi)) {
					diag_error(c->d, it->loc, "uid range `%s` out of range 0-%u", s,
						   UINT32_MAX - 1);
					return false;
				}
				if (uid > hi) {
					diag_error(c->d, it->loc,
						   "reversed range `%s`: the first uid must not be "
						   "greater than the second",
						   s);
					return false;
				}
				vset_add(out, uid, hi);
				return true;
			}
		}
	}
	if (!c->o || !c->o->lookup_users) {
		diag_error(c->d, it->loc, "user names are not looked up here: `%s`; write the uid instead", s);
		return false;
	}
	struct passwd *pw = getpwnam(s);
	if (!pw) {
		diag_error(c->d, it->loc, "unknown user `%s`; write an existing user name or a uid", s);
		return false;
	}
	vset_add(out, pw->pw_uid, pw->pw_uid);
	return true;
}

/* ---------- lists ---------- */

static bool parse_literal(struct rctx *c, enum field f, const struct ast_item *it, const struct cond *proto,
			  struct vset *out)
{
	switch (f) {
	case F_LADDR:
	case F_RADDR:
		return parse_address(c, it, out);
	case F_LPORT:
	case F_RPORT:
		return parse_port_range(c, it, out, "port", 65535);
	case F_PROTO:
		return parse_proto(c, it, out);
	case F_EVENT:
		return parse_event_name(c, it, out);
	case F_DIR:
		return parse_dir(c, it, out);
	case F_FAMILY:
		return parse_family(c, it, out);
	case F_ICMPTYPE:
		return parse_icmp_type(c, it, proto, out);
	case F_APP:
		return parse_app(c, it, out);
	case F_CGROUP:
		return parse_cgroup(c, it, out);
	case F_IFACE:
		return parse_iface(c, it, out);
	case F_USER:
		return parse_user(c, it, out);
	default:
		diag_error(c->d, it->loc, "internal error: unknown field %d", f);
		return false;
	}
}

static const struct vset *resolve_set(struct rctx *c, int i, struct src_loc at);

/* A set reference from a rule condition on field f (kind >= 0) or from a
 * set of kind `kind` (f < 0 then). */
static const struct vset *resolve_setref(struct rctx *c, const struct ast_item *it, int kind, const char *user)
{
	int i = find_set(c, it->text);
	if (i < 0) {
		const char **names = xrealloc(NULL, (c->ast->nsets + 1) * sizeof(char *));
		int n = 0;
		for (int k = 0; k < c->ast->nsets; k++)
			if ((int)c->ast->sets[k].kind == kind)
				names[n++] = c->ast->sets[k].name;
		const char *s = suggest_name(it->text, names, n);
		if (!s) { /* a typo of a set of the wrong kind is still worth naming */
			n = 0;
			for (int k = 0; k < c->ast->nsets; k++)
				names[n++] = c->ast->sets[k].name;
			s = suggest_name(it->text, names, n);
		}
		if (s)
			diag_error(c->d, it->loc, "unknown set `@%s`; did you mean `@%s`?", it->text, s);
		else
			diag_error(c->d, it->loc, "unknown set `@%s`; declare it first, e.g. `%s %s = { ... }`",
				   it->text, set_kind_name(kind), it->text);
		free(names);
		return NULL;
	}
	const struct ast_set *s = &c->ast->sets[i];
	c->p->sets[i].uses++;
	if ((int)s->kind != kind) {
		diag_error(c->d, it->loc, "set `%s` is a%s %s set but %s needs %s", it->text,
			   s->kind == SET_ADDRESSES || s->kind == SET_APPS ? "n" : "", set_kind_name(s->kind), user,
			   set_kind_name(kind));
		return NULL;
	}
	return resolve_set(c, i, it->loc);
}

/* Resolves list l for field f into out; *any when the list says `any`
 * (no condition).  in_set: the list defines a set (no `any` there). */
static bool resolve_list(struct rctx *c, enum field f, const struct ast_list *l, const struct cond *proto, bool in_set,
			 const char *user, struct vset *out, bool *any)
{
	bool ok = true;
	int kind = field_set_kind(f);
	int hits = c->unres_hits;
	bool unres = false;

	*any = false;
	out->r = NULL;
	out->n = 0;
	if (l->negated && kind != SET_ADDRESSES && kind != SET_PORTS) {
		diag_error(c->d, l->loc, "`!` is only allowed before addresses and ports");
		ok = false;
	}
	for (int i = 0; i < l->n; i++) {
		const struct ast_item *it = &l->items[i];
		if (it->kind == AST_SETREF) {
			if (kind < 0) {
				diag_error(c->d, it->loc, "%s does not take sets (`@%s`)", user, it->text);
				ok = false;
				continue;
			}
			const struct vset *sv = resolve_setref(c, it, kind, user);
			if (!sv) {
				ok = false;
				continue;
			}
			unres |= c->setunres[sv - c->setval];
			struct vset u;
			vset_union(&u, out, sv);
			vset_free(out);
			*out = u;
			continue;
		}
		if (strcmp(it->text, "any") == 0) {
			if (in_set) {
				diag_error(c->d, it->loc,
					   "`any` cannot be part of a set; leave the condition out of the "
					   "rule instead");
				ok = false;
			}
			*any = true;
			continue;
		}
		if (!parse_literal(c, f, it, proto, out))
			ok = false;
	}
	unres |= c->unres_hits != hits;
	c->list_unres = unres;
	if (l->negated && unres) {
		/* `! {name}` with name unresolved: excluding nothing would let
		 * the rule match the very host it leaves out; it matches nothing */
		vset_free(out);
		*any = false;
	} else if (l->negated) {
		if (*any) {
			vset_free(out); /* `! any` matches nothing */
			*any = false;
		} else {
			vset_complement(out, out, field_max(f));
		}
	}
	return ok;
}

/* at: where the set is referenced (a cycle is reported at the reference
 * that closes it). */
static const struct vset *resolve_set(struct rctx *c, int i, struct src_loc at)
{
	const struct ast_set *s = &c->ast->sets[i];

	switch (c->setstate[i]) {
	case SET_DONE:
		return &c->setval[i];
	case SET_FAILED:
		return NULL;
	case SET_RESOLVING: {
		/* report the cycle from where it starts on the stack */
		char msg[1024] = "";
		size_t len = 0;
		int from = 0;
		while (from < c->nsetstack && c->setstack[from] != i)
			from++;
		for (int k = from; k < c->nsetstack; k++)
			len += snprintf(msg + len, len < sizeof(msg) ? sizeof(msg) - len : 0, "%s -> ",
					c->ast->sets[c->setstack[k]].name);
		if (len < sizeof(msg))
			snprintf(msg + len, sizeof(msg) - len, "%s", s->name);
		diag_error(c->d, at, "set cycle: %s; a set cannot contain itself", msg);
		c->setstate[i] = SET_FAILED;
		return NULL;
	}
	case SET_NEW:
		break;
	}
	c->setstate[i] = SET_RESOLVING;
	c->setstack[c->nsetstack++] = i;
	char user[160];
	snprintf(user, sizeof(user), "set `%s`", s->name);
	bool any;
	bool ok = resolve_list(c, set_kind_field(s->kind), &s->list, NULL, true, user, &c->setval[i], &any);
	c->setunres[i] = c->list_unres;
	c->nsetstack--;
	if (c->setstate[i] == SET_FAILED) { /* part of a cycle found deeper down */
		vset_free(&c->setval[i]);
		return NULL;
	}
	c->setstate[i] = ok ? SET_DONE : SET_FAILED;
	return ok ? &c->setval[i] : NULL;
}

/* ---------- declarations ---------- */

static void declare_ifaces(struct rctx *c)
{
	char buf[64];
	for (int i = 0; i < c->ast->nifaces; i++) {
		const struct ast_iface *a = &c->ast->ifaces[i];
		for (int j = 0; j < i; j++)
			if (strcmp(c->ast->ifaces[j].name, a->name) == 0) {
				diag_error(c->d, a->loc, "interface `%s` is already defined at %s", a->name,
					   where(c->ast->ifaces[j].loc, a->loc, buf, sizeof(buf)));
				break;
			}
		if (strlen(a->ifname) > IFNAME_MAX || strchr(a->ifname, '/'))
			diag_error(c->d, a->loc, "bad interface name `%s`: at most %d characters, no `/`", a->ifname,
				   IFNAME_MAX);
	}
}

static void declare_sets(struct rctx *c)
{
	char buf[64];
	struct policy *p = c->p;
	int n = c->ast->nsets;

	p->sets = xrealloc(NULL, n * sizeof(*p->sets));
	p->nsets = n;
	c->setval = xrealloc(NULL, n * sizeof(*c->setval));
	c->setstate = xrealloc(NULL, n * sizeof(*c->setstate));
	c->setunres = xrealloc(NULL, (n + 1) * sizeof(*c->setunres));
	memset(c->setunres, 0, (n + 1) * sizeof(*c->setunres));
	c->setstack = xrealloc(NULL, (n + 1) * sizeof(int));
	for (int i = 0; i < n; i++) {
		const struct ast_set *s = &c->ast->sets[i];
		p->sets[i] = (struct named_set){
			.name = xstrdup(s->name),
			.kind = s->kind,
			.loc = s->loc,
			.uses = 0,
		};
		c->setval[i] = (struct vset){ 0 };
		c->setstate[i] = SET_NEW;
		for (int j = 0; j < i; j++)
			if (strcmp(c->ast->sets[j].name, s->name) == 0) {
				diag_error(c->d, s->loc, "set `%s` is already defined at %s", s->name,
					   where(c->ast->sets[j].loc, s->loc, buf, sizeof(buf)));
				c->setstate[i] = SET_FAILED; /* references go to the first */
				break;
			}
	}
}

static void declare_tables(struct rctx *c)
{
	char buf[64];
	struct policy *p = c->p;

	p->tables = xrealloc(NULL, (c->ast->ntables + 1) * sizeof(*p->tables));
	c->ast_table = xrealloc(NULL, (c->ast->ntables + 1) * sizeof(int));
	p->root = -1;
	for (int i = 0; i < c->ast->ntables; i++) {
		const struct ast_table *at = &c->ast->tables[i];
		int prev = find_table(p, at->name);
		if (prev >= 0) {
			diag_error(c->d, at->loc, "table `%s` is already defined at %s", at->name,
				   where(p->tables[prev].loc, at->loc, buf, sizeof(buf)));
			c->ast_table[i] = -1;
			continue;
		}
		bool is_root = strcmp(at->name, "root") == 0;
		struct table *t = &p->tables[p->ntables];
		*t = (struct table){
			.name = xstrdup(at->name),
			.dflt = is_root ? VERDICT_DENY : VERDICT_CONTINUE,
			.dflt_explicit = at->has_default,
			.loc = at->loc,
		};
		if (at->has_default) {
			/* `default jump` is reported by the parser; keep the usual default */
			if (at->dflt == VERDICT_JUMP)
				;
			else if (is_root && at->dflt == VERDICT_CONTINUE)
				diag_error(c->d, at->dflt_loc,
					   "table `root` cannot default to continue: there is nothing to "
					   "return to; use allow, deny, reject or ask");
			else
				t->dflt = at->dflt;
		}
		if (is_root)
			p->root = p->ntables;
		c->ast_table[i] = p->ntables++;
	}
	if (p->root < 0) {
		/* no root: every event is denied (lint says so; loc.line 0 marks it) */
		p->tables[p->ntables] = (struct table){
			.name = xstrdup("root"),
			.dflt = VERDICT_DENY,
			.loc = { p->main_file, 0, 0 },
		};
		p->root = p->ntables++;
	}
}

/* ---------- rules ---------- */

static const struct source *find_source(const struct policy *p, const char *file)
{
	for (int i = 0; i < p->srcs.n; i++)
		if (p->srcs.v[i]->name == file)
			return p->srcs.v[i];
	for (int i = 0; i < p->srcs.n; i++)
		if (file && strcmp(p->srcs.v[i]->name, file) == 0)
			return p->srcs.v[i];
	return NULL;
}

/* The rule as written, for display: from its verdict keyword to the end of
 * its line -- or of its last line when a `{` list spans lines -- with
 * comments dropped and whitespace squeezed.  Stops at a `}` that closes the
 * table (one-line tables). */
static const char *source_line(struct rctx *c, const struct source *src, int line)
{
	if (c->lsrc != src) {
		free(c->lstart);
		c->lsrc = src;
		c->nlines = 0;
		int cap = 64;
		c->lstart = xrealloc(NULL, cap * sizeof(*c->lstart));
		for (const char *q = src->text; q;) {
			if (c->nlines == cap) {
				cap *= 2;
				c->lstart = xrealloc(c->lstart, cap * sizeof(*c->lstart));
			}
			c->lstart[c->nlines++] = q;
			q = strchr(q, '\n');
			if (q)
				q++;
		}
	}
	return line <= c->nlines ? c->lstart[line - 1] : NULL;
}

static char *rule_source_text(struct rctx *c, struct src_loc loc)
{
	const struct source *src = find_source(c->p, loc.file);
	if (!src || loc.line <= 0)
		return xstrdup("");
	const char *q = source_line(c, src, loc.line);
	if (!q)
		return xstrdup("");
	for (int col = 1; col < loc.col && *q && *q != '\n'; col++)
		q++;

	size_t cap = 128, n = 0;
	char *out = xrealloc(NULL, cap);
	int depth = 0;
	bool in_str = false, comment = false, space = false;
	for (; *q; q++) {
		char ch = *q;
		if (ch == '\n') {
			comment = false;
			if (depth <= 0)
				break;
			ch = ' ';
		} else if (comment) {
			continue;
		} else if (in_str) {
			if (ch == '\\' && q[1] && q[1] != '\n') {
				if (n + 3 >= cap)
					out = xrealloc(out, cap *= 2);
				out[n++] = ch;
				ch = *++q;
			} else if (ch == '"') {
				in_str = false;
			}
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '#') {
			comment = true;
			continue;
		} else if (ch == '{') {
			depth++;
		} else if (ch == '}') {
			if (depth == 0)
				break;
			depth--;
		}
		if (!in_str && (ch == ' ' || ch == '\t' || ch == '\r')) {
			space = n > 0;
			continue;
		}
		if (n + 3 >= cap)
			out = xrealloc(out, cap *= 2);
		if (space) {
			out[n++] = ' ';
			space = false;
		}
		out[n++] = ch;
	}
	out[n] = 0;
	return out;
}

/* Sets c's condition on f to cond AND (what it already has). */
static void add_condition(struct cond *cd, struct vset *v)
{
	if (!cd->used) {
		cd->used = true;
		cd->set = *v;
		return;
	}
	vset_intersect(&cd->set, &cd->set, v);
	vset_free(v);
}

static void resolve_rule(struct rctx *c, const struct ast_rule *ar, int table)
{
	struct policy *p = c->p;
	struct rule *r = &p->rules[p->nrules];

	memset(r, 0, sizeof(*r));
	r->id = p->nrules++;
	r->table = table;
	r->verdict = ar->verdict;
	r->jump_table = -1;
	r->log = ar->log;
	r->comment = ar->comment ? xstrdup(ar->comment) : NULL;
	r->loc = ar->loc;
	r->text = rule_source_text(c, ar->loc);

	/* proto first: a numeric icmp-type depends on it */
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < ar->nconds; k++) {
			const struct ast_cond *ac = &ar->conds[k];
			if ((pass == 0) != (ac->field == F_PROTO))
				continue;
			struct vset v;
			bool any;
			char user[64];
			snprintf(user, sizeof(user), "`%s`", field_name(ac->field));
			resolve_list(c, ac->field, &ac->list, &r->cond[F_PROTO], false, user, &v, &any);
			if (any) {
				vset_free(&v);
				continue;
			}
			add_condition(&r->cond[ac->field], &v);
		}
}

static void resolve_rules(struct rctx *c)
{
	struct policy *p = c->p;
	int total = 0;
	for (int i = 0; i < c->ast->ntables; i++)
		total += c->ast->tables[i].nrules;
	p->rules = xrealloc(NULL, total * sizeof(*p->rules));

	for (int i = 0; i < c->ast->ntables; i++) {
		const struct ast_table *at = &c->ast->tables[i];
		int t = c->ast_table[i];
		if (t < 0)
			continue;
		struct table *tb = &p->tables[t];
		tb->rules = xrealloc(NULL, at->nrules * sizeof(int));
		for (int k = 0; k < at->nrules; k++) {
			tb->rules[tb->nrules++] = p->nrules;
			resolve_rule(c, &at->rules[k], t);
		}
	}
	/* jump targets once every table is known */
	int rix = 0;
	for (int i = 0; i < c->ast->ntables; i++) {
		const struct ast_table *at = &c->ast->tables[i];
		if (c->ast_table[i] < 0)
			continue;
		for (int k = 0; k < at->nrules; k++, rix++) {
			const struct ast_rule *ar = &at->rules[k];
			if (ar->verdict != VERDICT_JUMP)
				continue;
			int t = ar->jump_target ? find_table(p, ar->jump_target) : -1;
			if (t >= 0) {
				p->rules[rix].jump_table = t;
				continue;
			}
			const char **names = xrealloc(NULL, p->ntables * sizeof(char *));
			for (int j = 0; j < p->ntables; j++)
				names[j] = p->tables[j].name;
			const char *s = suggest_name(ar->jump_target ? ar->jump_target : "", names, p->ntables);
			struct src_loc loc = ar->target_loc.line ? ar->target_loc : ar->loc;
			if (s)
				diag_error(c->d, loc, "unknown table `%s` in jump; did you mean `%s`?", ar->jump_target,
					   s);
			else
				diag_error(c->d, loc, "unknown table `%s` in jump; define it with `table %s { ... }`",
					   ar->jump_target, ar->jump_target);
			free(names);
		}
	}
}

/* Depth-first over jumps; a jump to a table on the current path closes a
 * cycle, reported at that jump naming the tables in order. */
static void find_jump_cycles(struct rctx *c, int t, int *state, int *path, int depth)
{
	struct policy *p = c->p;
	state[t] = 1;
	path[depth] = t;
	for (int i = 0; i < p->tables[t].nrules; i++) {
		const struct rule *r = &p->rules[p->tables[t].rules[i]];
		if (r->verdict != VERDICT_JUMP || r->jump_table < 0)
			continue;
		int u = r->jump_table;
		if (state[u] == 1) {
			char msg[1024];
			size_t len = 0;
			int from = depth;
			while (from > 0 && path[from] != u)
				from--;
			for (int k = from; k <= depth; k++)
				len += snprintf(msg + len, len < sizeof(msg) ? sizeof(msg) - len : 0, "%s -> ",
						p->tables[path[k]].name);
			if (len < sizeof(msg))
				snprintf(msg + len, sizeof(msg) - len, "%s", p->tables[u].name);
			diag_error(c->d, r->loc,
				   "jump cycle: %s; a table cannot be invoked again "
				   "while it is judging",
				   msg);
		} else if (state[u] == 0) {
			find_jump_cycles(c, u, state, path, depth + 1);
		}
	}
	state[t] = 2;
}

static void check_jump_cycles(struct rctx *c)
{
	int n = c->p->ntables;
	int *state = calloc(n, sizeof(int)), *path = calloc(n + 1, sizeof(int));
	if (!state || !path)
		abort();
	/* from root first, so cycles read in the order evaluation meets them */
	find_jump_cycles(c, c->p->root, state, path, 0);
	for (int t = 0; t < n; t++)
		if (state[t] == 0)
			find_jump_cycles(c, t, state, path, 0);
	free(state);
	free(path);
}

/* ---------- interface patterns ---------- */

static bool is_iface_pattern(const char *name)
{
	return strpbrk(name, "*?[") != NULL;
}

/* The interface ids `on NAME` stands for (policy.h, struct policy): a
 * literal name its own id; a pattern the literal names it matches and
 * every pattern combination that contains it. */
static void iface_ids_of(const struct policy *p, const char *name, struct vset *out)
{
	int j = -1;
	for (int k = 0; k < p->iface_npats; k++)
		if (!strcmp(p->iface_pats[k], name))
			j = k;
	if (j < 0) {
		uint32_t id = policy_iface_id(p, name);
		vset_add(out, id, id);
		return;
	}
	int lit = 0;
	for (int i = 0; i < p->nifaces; i++) {
		if (is_iface_pattern(p->ifaces[i]))
			continue;
		lit++;
		if (fnmatch(name, p->ifaces[i], 0) == 0)
			vset_add(out, (u128)lit, (u128)lit);
	}
	for (uint32_t m = 1; m < (1u << p->iface_npats); m++)
		if (m & (1u << j))
			vset_add(out, (u128)(p->iface_nlit + m), (u128)(p->iface_nlit + m));
}

/* Until here rules held interface *name* numbers (index + 1 in ifaces);
 * with patterns they become interface ids. */
static void number_iface_patterns(struct rctx *c)
{
	struct policy *p = c->p;
	for (int i = 0; i < p->nifaces; i++)
		if (is_iface_pattern(p->ifaces[i]))
			p->iface_npats++;
	if (!p->iface_npats)
		return;
	if (p->iface_npats > POLICY_MAX_IFACE_PATTERNS) {
		struct src_loc none = { 0 };
		none.file = p->main_file;
		diag_error(c->d, none, "more than %d interface patterns; name the interfaces or merge patterns",
			   POLICY_MAX_IFACE_PATTERNS);
		p->iface_npats = 0;
		return;
	}
	p->iface_pats = xrealloc(NULL, (size_t)p->iface_npats * sizeof(char *));
	int k = 0;
	for (int i = 0; i < p->nifaces; i++)
		if (is_iface_pattern(p->ifaces[i]))
			p->iface_pats[k++] = p->ifaces[i];
	p->iface_nlit = p->nifaces - p->iface_npats;
	for (int r = 0; r < p->nrules; r++) {
		struct cond *cd = &p->rules[r].cond[F_IFACE];
		if (!cd->used)
			continue;
		struct vset ids = { 0 };
		for (int n = 0; n < cd->set.n; n++)
			for (u128 v = cd->set.r[n].lo; v <= cd->set.r[n].hi && v >= 1 && v <= (u128)p->nifaces; v++)
				iface_ids_of(p, p->ifaces[(int)v - 1], &ids);
		vset_free(&cd->set);
		cd->set = ids;
	}
}

/* ---------- options ---------- */

enum opt_type { OPT_SECONDS, OPT_COUNT, OPT_RATE, OPT_VERDICT, OPT_ONOFF, OPT_WORD, OPT_PORTS };

struct opt_desc {
	const char *name;
	enum opt_type type;
	size_t off;
	long long min;
	const char *forms;
	const char *const *words; /* OPT_WORD: the accepted words, stored as their index */
};

static const char *const ingress_hook_words[] = {
	[INGRESS_HOOK_AUTO] = "auto", [INGRESS_HOOK_XDP] = "xdp", [INGRESS_HOOK_TC] = "tc", NULL
};

static const char *const app_changed_words[] = {
	[APP_CHANGED_ASK] = "ask", [APP_CHANGED_KEEP] = "keep", [APP_CHANGED_DENY] = "deny", NULL
};

#define OFF(f) offsetof(struct options, f)
static const struct opt_desc opt_descs[] = {
	{ .name = "boot-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(boot_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 300)" },
	{ .name = "ask-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(ask_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 30)" },
	{ .name = "ask-default",
	  .type = OPT_VERDICT,
	  .off = OFF(ask_default),
	  .min = 0,
	  .forms = "allow, deny or reject" },
	{ .name = "log-rate",
	  .type = OPT_RATE,
	  .off = OFF(log_rate),
	  .min = 0,
	  .forms = "N/s or N (events per second per rule and CPU, e.g. 10/s; 0: off)" },
	{ .name = "reject-rate",
	  .type = OPT_RATE,
	  .off = OFF(reject_rate),
	  .min = 0,
	  .forms = "N/s or N (reject answers per second per CPU, e.g. 1000/s; 0: never answer)" },
	{ .name = "conntrack-size",
	  .type = OPT_COUNT,
	  .off = OFF(conntrack_size),
	  .min = 1,
	  .forms = "N (flow table entries, e.g. 65536)" },
	{ .name = "tcp-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(tcp_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 3600)" },
	{ .name = "udp-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(udp_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 60)" },
	{ .name = "icmp-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(icmp_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 30)" },
	{ .name = "ancestry", .type = OPT_ONOFF, .off = OFF(ancestry), .min = 0, .forms = "on or off" },
	{ .name = "separate-userns", .type = OPT_ONOFF, .off = OFF(separate_userns), .min = 0, .forms = "on or off" },
	{ .name = "ingress-hook",
	  .type = OPT_WORD,
	  .off = OFF(ingress_hook),
	  .forms = "auto, xdp or tc",
	  .words = ingress_hook_words },
	{ .name = "ftp-helper", .type = OPT_ONOFF, .off = OFF(ftp_helper), .min = 0, .forms = "on or off" },
	{ .name = "ftp-ports",
	  .type = OPT_PORTS,
	  .off = OFF(ftp_ports),
	  .min = 0,
	  .forms = "PORTS (the FTP servers' control ports, e.g. 21 or { 21, 2121 })" },
	{ .name = "ftp-timeout",
	  .type = OPT_SECONDS,
	  .off = OFF(ftp_timeout),
	  .min = 1,
	  .forms = "SECONDS (a whole number, e.g. 30)" },
	{ .name = "app-changed",
	  .type = OPT_WORD,
	  .off = OFF(app_changed),
	  .forms = "ask, keep or deny",
	  .words = app_changed_words },
	{ .name = "fast-path", .type = OPT_ONOFF, .off = OFF(fast_path), .min = 0, .forms = "on or off" },
};
#define NOPTS (int)(sizeof(opt_descs) / sizeof(opt_descs[0]))

static void default_options(struct options *o)
{
	*o = (struct options){
		.boot_timeout = 300,
		.ask_timeout = 30,
		.ask_default = VERDICT_DENY,
		.log_rate = 10,
		.reject_rate = 1000,
		.conntrack_size = 65536,
		.tcp_timeout = 3600,
		.udp_timeout = 60,
		.icmp_timeout = 30,
		.ancestry = false,
		.ftp_helper = true,
		.ftp_timeout = 30,
		.ftp_nports = 1,
		.ftp_ports = { { 21, 21 } },
		.fast_path = true,
	};
}

static bool parse_option_value(const struct opt_desc *od, const char *v, struct options *o)
{
	char *base = (char *)o + od->off;
	unsigned long long n;
	char num[32];

	switch (od->type) {
	case OPT_SECONDS:
	case OPT_COUNT:
	case OPT_RATE: {
		size_t len = strlen(v);
		const char *suffix = od->type == OPT_SECONDS ? "s" : od->type == OPT_RATE ? "/s" : "";
		size_t sl = strlen(suffix);
		if (sl && len > sl && strcmp(v + len - sl, suffix) == 0)
			len -= sl;
		if (len == 0 || len >= sizeof(num))
			return false;
		memcpy(num, v, len);
		num[len] = 0;
		if (!all_digits(num) || !parse_uint(num, INT_MAX, &n) || (long long)n < od->min)
			return false;
		*(int *)base = (int)n;
		return true;
	}
	case OPT_VERDICT:
		if (strcmp(v, "allow") == 0)
			*(enum verdict *)base = VERDICT_ALLOW;
		else if (strcmp(v, "deny") == 0)
			*(enum verdict *)base = VERDICT_DENY;
		else if (strcmp(v, "reject") == 0)
			*(enum verdict *)base = VERDICT_REJECT;
		else
			return false;
		return true;
	case OPT_ONOFF:
		if (strcmp(v, "on") == 0)
			*(bool *)base = true;
		else if (strcmp(v, "off") == 0)
			*(bool *)base = false;
		else
			return false;
		return true;
	case OPT_WORD:
		for (int i = 0; od->words[i]; i++)
			if (strcmp(v, od->words[i]) == 0) {
				*(int *)base = i;
				return true;
			}
		return false;
	case OPT_PORTS: /* a list: resolve_ports_option() */
		return false;
	}
	return false;
}

/* option ftp-ports PORTS: ports, ranges and port sets as in a rule, at most
 * POLICY_FTP_PORT_RANGES ranges once merged. */
static void resolve_ports_option(struct rctx *c, const struct ast_option *ao, const struct opt_desc *od)
{
	struct vset v;
	bool any;
	char user[64];
	snprintf(user, sizeof(user), "`option %s`", od->name);
	struct src_loc vl = ao->value_loc.line ? ao->value_loc : ao->loc;
	if (!resolve_list(c, F_LPORT, &ao->list, NULL, false, user, &v, &any)) {
		vset_free(&v);
		return;
	}
	if (any || v.n == 0)
		diag_error(c->d, vl, "option %s needs ports (e.g. 21 or { 21, 2121 }), not %s", od->name,
			   any ? "`any`" : "an empty set");
	else if (v.n > POLICY_FTP_PORT_RANGES)
		diag_error(c->d, vl,
			   "option %s names %d separate ports or ranges; at most %d are possible "
			   "(merge neighbouring ports into ranges, e.g. 2121-2125)",
			   od->name, v.n, POLICY_FTP_PORT_RANGES);
	else {
		struct options *o = &c->p->opt;
		o->ftp_nports = v.n;
		for (int i = 0; i < v.n; i++) {
			o->ftp_ports[i].lo = (uint16_t)v.r[i].lo;
			o->ftp_ports[i].hi = (uint16_t)v.r[i].hi;
		}
	}
	vset_free(&v);
}

/* "boot-timeout, ask-timeout, ..." from the table. */
static const char *option_names(char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = 0;
	for (int k = 0; k < NOPTS && used < n; k++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", k ? ", " : "", opt_descs[k].name);
	return buf;
}

static void resolve_options(struct rctx *c)
{
	char buf[256];
	default_options(&c->p->opt);
	for (int i = 0; i < c->ast->noptions; i++) {
		const struct ast_option *ao = &c->ast->options[i];
		const struct opt_desc *od = NULL;
		for (int k = 0; k < NOPTS; k++)
			if (strcmp(opt_descs[k].name, ao->name) == 0)
				od = &opt_descs[k];
		if (!od) {
			const char *names[NOPTS];
			for (int k = 0; k < NOPTS; k++)
				names[k] = opt_descs[k].name;
			const char *s = suggest_name(ao->name, names, NOPTS);
			if (s)
				diag_error(c->d, ao->loc, "unknown option `%s`; did you mean `%s`?", ao->name, s);
			else
				diag_error(c->d, ao->loc, "unknown option `%s`; options are %s", ao->name,
					   option_names(buf, sizeof(buf)));
			continue;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(c->ast->options[j].name, ao->name) == 0) {
				diag_warning(c->d, ao->loc, "option `%s` was already set at %s; this value replaces it",
					     ao->name, where(c->ast->options[j].loc, ao->loc, buf, sizeof(buf)));
				break;
			}
		struct src_loc vl = ao->value_loc.line ? ao->value_loc : ao->loc;
		if (od->type == OPT_PORTS) {
			resolve_ports_option(c, ao, od);
			continue;
		}
		if (!ao->value) {
			diag_error(c->d, vl, "option %s takes one value, not a list: expected %s", od->name, od->forms);
			continue;
		}
		const char *v = ao->value;
		if (!parse_option_value(od, v, &c->p->opt))
			diag_error(c->d, vl, "bad value `%s` for option %s: expected %s", v, od->name, od->forms);
	}
}

/* ---------- entry point ---------- */

int resolve_policy(struct policy *p, const struct ast_policy *ast, const struct load_opts *o, struct diag *d)
{
	struct rctx c = { .p = p, .ast = ast, .o = o, .d = d };
	int before = d->nerrors;

	declare_ifaces(&c);
	declare_sets(&c);
	declare_tables(&c);
	number_cgroups(p, ast);
	for (int i = 0; i < ast->nsets; i++)
		resolve_set(&c, i, ast->sets[i].loc);
	resolve_rules(&c);
	number_iface_patterns(&c);
	check_jump_cycles(&c);
	resolve_options(&c);

	for (int i = 0; i < ast->nsets; i++)
		vset_free(&c.setval[i]);
	free(c.setval);
	free(c.setstate);
	free(c.setunres);
	free(c.setstack);
	free(c.ast_table);
	free(c.lstart);
	return d->nerrors > before ? -1 : 0;
}
