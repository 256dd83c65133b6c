/* Events written by hand (`rampart explain`, tests) in rule-condition syntax
 * with single values:
 *
 *   [in|out] [event E] [proto P] [ip4|ip6] [local ADDR [port N]] [local port N]
 *   [remote ADDR [port N]] [remote port N] [on IF] [icmp-type T] [app PATH]
 *   [cgroup PATH] [user U]                                   (any order)
 *
 * A field that is not written is not carried (has[f] false), so a rule
 * naming it does not match -- as for a real event that lacks it -- except
 * for what is inferred, in this order:
 *
 *   family     from the addresses (both must agree); else ip4/ip6; else
 *              proto icmpv6 -> 6, proto icmp -> 4; ip4/ip6 written must
 *              agree with the addresses.
 *   proto      icmp-type written without proto -> icmpv6 when the family is
 *              6, else icmp.
 *   event      `event E` wins.  Else by proto: tcp -> connect when out (or no
 *              direction), accept when in; udp -> send when out (or none),
 *              receive when in; any other proto (icmp, icmpv6, sctp, ...)
 *              -> packet.  No proto: no address or port but app, cgroup or
 *              user -> network; otherwise packet.
 *   direction  from the event type: network, connect, send -> out; listen,
 *              accept, receive -> in; packet -> as written, default in.
 *              Writing a direction that contradicts the event type (e.g.
 *              `in event connect`) is an error.
 *
 * Ports are only carried by tcp, udp, sctp and udplite events (an error with
 * another proto or none).  icmp-type is carried as t for ICMP and 256+t for
 * ICMPv6 (names resolved for the event's family; numbers 0-255).  app, on
 * and cgroup are carried whenever written, with the policy's ids (0 when
 * the policy does not name them; cgroup: the nearest named
 * ancestor-or-self). */
#include <fnmatch.h>
#include <ctype.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lexer.h"
#include "policy.h"

/* Diagnostics about an event point at this name: it outlives the
 * temporary source the event text is lexed from. */
static const char EVENT_FILE[] = "event";

uint32_t iface_id_among(char *const *names, int n, const char *ifname)
{
	/* literal names first (ids 1..nlit), then the patterns it matches */
	uint32_t lit = 0, m = 0, bit = 1;
	for (int i = 0; i < n; i++) {
		if (strpbrk(names[i], "*?["))
			continue;
		lit++;
		if (strcmp(names[i], ifname) == 0)
			return lit;
	}
	for (int i = 0; i < n; i++) {
		if (!strpbrk(names[i], "*?["))
			continue;
		if (fnmatch(names[i], ifname, 0) == 0)
			m |= bit;
		bit <<= 1;
	}
	return m ? lit + m : 0;
}

uint32_t policy_iface_id(const struct policy *p, const char *ifname)
{
	return iface_id_among(p->ifaces, p->nifaces, ifname);
}

uint32_t policy_app_id(const struct policy *p, const char *path)
{
	char *norm = app_path_normalise(path);
	uint32_t id = 0;
	for (int i = 0; i < p->napps && !id; i++)
		if (strcmp(p->apps[i], norm) == 0)
			id = i + 1;
	free(norm);
	return id;
}

uint32_t policy_cgroup_value(const struct policy *p, const char *path)
{
	char *norm = cgroup_path_normalise(path);
	uint32_t v = 0;
	if (!norm)
		return 0;
	/* walk up from the cgroup itself to "/" */
	for (;;) {
		for (int i = 0; i < p->ncgroups; i++)
			if (strcmp(p->cgroups[i].path, norm) == 0) {
				v = p->cgroups[i].pre;
				break;
			}
		if (v || strcmp(norm, "/") == 0)
			break;
		char *slash = strrchr(norm, '/');
		if (slash == norm)
			slash[1] = 0;
		else
			*slash = 0;
	}
	free(norm);
	return v;
}

static bool port_proto(u128 proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

struct eparse {
	struct event *ev;
	const struct policy *p;
	struct lexer lx;
	struct diag *d;
	struct token tok;
	bool ok;
	struct src_loc seen[F_COUNT]; /* where each field was written (line 0: not) */
	int addr_family[2];	      /* family of local / remote address, 0: none */
	bool port_given;
	struct src_loc port_loc;
	const char *icmp_text;
	struct src_loc icmp_loc;
	bool ip_given;
	struct src_loc ip_loc;
};

static void next(struct eparse *e)
{
	e->tok = lexer_next(&e->lx);
}

static bool at_end(const struct eparse *e)
{
	return e->tok.kind == TOK_EOF || e->tok.kind == TOK_NEWLINE;
}

static void fail(struct eparse *e, struct src_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct eparse *e, struct src_loc loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(e->d, loc, "%s", msg);
	e->ok = false;
}

/* The value after a keyword: a word or a quoted string. */
static const char *value(struct eparse *e, const char *what)
{
	struct token kw = e->tok;
	next(e);
	if (e->tok.kind == TOK_WORD || e->tok.kind == TOK_STRING) {
		const char *v = e->tok.text;
		return v;
	}
	struct src_loc loc = e->tok.loc;
	if (at_end(e))
		loc = (struct src_loc){ kw.loc.file, kw.loc.line, kw.loc.col + (int)strlen(kw.text) + 1 };
	fail(e, loc, "missing %s after `%s`", what, kw.text);
	return NULL;
}

/* Marks field f as written; false (after an error) when it already was. */
static bool claim(struct eparse *e, enum field f, struct src_loc loc, const char *kw)
{
	if (e->seen[f].line) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "`%s` given twice in the event; an event has one value per "
			 "field",
			 kw);
		diag_error(e->d, loc, "%s", msg);
		e->ok = false;
		return false;
	}
	e->seen[f] = loc;
	return true;
}

static void set(struct event *ev, enum field f, u128 v)
{
	ev->has[f] = true;
	ev->val[f] = v;
}

static void parse_port(struct eparse *e, enum field f, const char *kw)
{
	struct src_loc loc = e->tok.loc;
	const char *v = value(e, "port number");
	if (!v)
		return;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || n > 65535) {
		fail(e, e->tok.loc, "bad port `%s`: expected a number 0-65535", v);
		return;
	}
	if (claim(e, f, loc, kw))
		set(e->ev, f, n);
	e->port_given = true;
	e->port_loc = loc;
}

/* local|remote [ADDR] [port N] */
static void parse_endpoint(struct eparse *e, bool local)
{
	enum field fa = local ? F_LADDR : F_RADDR, fp = local ? F_LPORT : F_RPORT;
	const char *kw = local ? "local" : "remote";
	struct src_loc kwloc = e->tok.loc;
	next(e);
	if (e->tok.kind == TOK_WORD && strcmp(e->tok.text, "port") == 0) {
		parse_port(e, fp, local ? "local port" : "remote port");
		next(e);
		return;
	}
	if (e->tok.kind != TOK_WORD) {
		struct src_loc loc =
			at_end(e) ? (struct src_loc){ kwloc.file, kwloc.line, kwloc.col + (int)strlen(kw) + 1 }
				  : e->tok.loc;
		fail(e, loc, "missing address or `port` after `%s`", kw);
		return;
	}
	u128 a;
	int fam;
	if (!addr_parse(e->tok.text, &a, &fam)) {
		fail(e, e->tok.loc, "bad address `%s`: an event has a single IPv4 or IPv6 address", e->tok.text);
	} else if (claim(e, fa, kwloc, kw)) {
		set(e->ev, fa, a);
		/* ::ffff:a.b.c.d is an IPv4 peer: the kernel judges it as IPv4 */
		e->addr_family[local ? 0 : 1] = addr_is_v4(a) ? 4 : fam;
	}
	next(e);
	if (e->tok.kind == TOK_WORD && strcmp(e->tok.text, "port") == 0) {
		parse_port(e, fp, local ? "local port" : "remote port");
		next(e);
	}
}

static void parse_user(struct eparse *e, struct src_loc kwloc)
{
	const char *v = value(e, "user name or uid");
	if (!v)
		return;
	u128 uid;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (isdigit((unsigned char)v[0]) && !*end && n < UINT32_MAX) {
		uid = n;
	} else {
		struct passwd *pw = getpwnam(v);
		if (!pw) {
			fail(e, e->tok.loc, "unknown user `%s`; write a uid", v);
			return;
		}
		uid = pw->pw_uid;
	}
	if (claim(e, F_USER, kwloc, "user"))
		set(e->ev, F_USER, uid);
}

static void parse_word(struct eparse *e)
{
	struct event *ev = e->ev;
	const char *w = e->tok.text;
	struct src_loc loc = e->tok.loc;
	const char *v;

	if (strcmp(w, "in") == 0 || strcmp(w, "out") == 0) {
		if (claim(e, F_DIR, loc, "in/out"))
			set(ev, F_DIR, w[0] == 'i' ? DIR_IN : DIR_OUT);
	} else if (strcmp(w, "event") == 0) {
		if ((v = value(e, "event type"))) {
			enum event_type t;
			if (!event_from_name(v, &t))
				fail(e, e->tok.loc,
				     "unknown event `%s`; events are network, connect, listen, accept, "
				     "send, receive, packet",
				     v);
			else if (claim(e, F_EVENT, loc, "event"))
				set(ev, F_EVENT, t);
		}
	} else if (strcmp(w, "proto") == 0) {
		if ((v = value(e, "protocol"))) {
			int proto;
			if (!proto_from_name(v, &proto))
				fail(e, e->tok.loc,
				     "unknown protocol `%s`; use tcp, udp, icmp, icmpv6 or a number 0-255", v);
			else if (claim(e, F_PROTO, loc, "proto"))
				set(ev, F_PROTO, proto);
		}
	} else if (strcmp(w, "ip4") == 0 || strcmp(w, "ip6") == 0) {
		if (claim(e, F_FAMILY, loc, "ip4/ip6")) {
			set(ev, F_FAMILY, w[2] == '4' ? 4 : 6);
			e->ip_given = true;
			e->ip_loc = loc;
		}
	} else if (strcmp(w, "local") == 0 || strcmp(w, "remote") == 0) {
		parse_endpoint(e, w[0] == 'l');
		return; /* parse_endpoint read one token ahead */
	} else if (strcmp(w, "on") == 0) {
		if ((v = value(e, "interface name")) && claim(e, F_IFACE, loc, "on")) {
			set(ev, F_IFACE, policy_iface_id(e->p, v));
			snprintf(ev->iface, sizeof(ev->iface), "%s", v);
		}
	} else if (strcmp(w, "icmp-type") == 0) {
		if ((v = value(e, "ICMP type")) && claim(e, F_ICMPTYPE, loc, "icmp-type")) {
			e->icmp_text = v; /* resolved once the family is known */
			e->icmp_loc = e->tok.loc;
		}
	} else if (strcmp(w, "app") == 0) {
		if ((v = value(e, "application path"))) {
			if (v[0] != '/')
				fail(e, e->tok.loc, "application path must be absolute: `%s`", v);
			else if (claim(e, F_APP, loc, "app")) {
				set(ev, F_APP, policy_app_id(e->p, v));
				char *norm = app_path_normalise(v);
				snprintf(ev->app, sizeof(ev->app), "%s", norm);
				free(norm);
			}
		}
	} else if (strcmp(w, "cgroup") == 0) {
		if ((v = value(e, "cgroup path"))) {
			char *norm = cgroup_path_normalise(v);
			if (!norm)
				fail(e, e->tok.loc, "bad cgroup path `%s`: no `.` or `..` components", v);
			else if (claim(e, F_CGROUP, loc, "cgroup")) {
				set(ev, F_CGROUP, policy_cgroup_value(e->p, norm));
				snprintf(ev->cgroup, sizeof(ev->cgroup), "%s", norm);
			}
			free(norm);
		}
	} else if (strcmp(w, "user") == 0) {
		parse_user(e, loc);
	} else {
		fail(e, loc,
		     "unknown word `%s` in event; expected in, out, event, proto, ip4, ip6, local, "
		     "remote, on, icmp-type, app, cgroup or user",
		     w);
	}
	if (!at_end(e))
		next(e);
}

static const char *dir_word(u128 d)
{
	return d == DIR_IN ? "in" : "out";
}

/* Inference, as documented at the top of this file. */
static void infer(struct eparse *e)
{
	struct event *ev = e->ev;

	/* family */
	int fam = 0;
	if (e->addr_family[0] && e->addr_family[1] && e->addr_family[0] != e->addr_family[1]) {
		fail(e, e->seen[F_RADDR], "local and remote addresses are of different families");
		return;
	}
	fam = e->addr_family[0] ? e->addr_family[0] : e->addr_family[1];
	if (e->ip_given) {
		int ip = (int)ev->val[F_FAMILY];
		if (fam && fam != ip) {
			fail(e, e->ip_loc, "`ip%d` contradicts the event's IPv%d addresses", ip, fam);
			return;
		}
		fam = ip;
	}
	if (!fam && ev->has[F_PROTO] && ev->val[F_PROTO] == 58)
		fam = 6;
	if (!fam && ev->has[F_PROTO] && ev->val[F_PROTO] == 1)
		fam = 4;
	if (fam)
		set(ev, F_FAMILY, fam);
	if (ev->has[F_PROTO] && fam && ((ev->val[F_PROTO] == 1 && fam == 6) || (ev->val[F_PROTO] == 58 && fam == 4))) {
		fail(e, e->seen[F_PROTO], "proto %s does not go with IPv%s",
		     ev->val[F_PROTO] == 1 ? "icmp (IPv4)" : "icmpv6 (IPv6)", fam == 4 ? "4" : "6");
		return;
	}

	/* icmp-type (and the proto it implies) */
	if (e->icmp_text) {
		if (!ev->has[F_PROTO])
			set(ev, F_PROTO, fam == 6 ? 58 : 1);
		u128 proto = ev->val[F_PROTO];
		if (proto != 1 && proto != 58) {
			fail(e, e->icmp_loc, "icmp-type `%s` needs proto icmp or icmpv6", e->icmp_text);
			return;
		}
		bool v6 = proto == 58;
		int v4t, v6t;
		char *end;
		unsigned long n = strtoul(e->icmp_text, &end, 10);
		if (icmp_type_from_name(e->icmp_text, &v4t, &v6t)) {
			int t = v6 ? v6t : v4t;
			if (t < 0) {
				fail(e, e->icmp_loc, "icmp-type `%s` does not exist in %s", e->icmp_text,
				     v6 ? "ICMPv6" : "ICMP (IPv4)");
				return;
			}
			set(ev, F_ICMPTYPE, (v6 ? ICMPV6_TYPE_BASE : 0) + t);
		} else if (isdigit((unsigned char)e->icmp_text[0]) && !*end && n <= 255) {
			set(ev, F_ICMPTYPE, (v6 ? ICMPV6_TYPE_BASE : 0) + n);
		} else {
			fail(e, e->icmp_loc,
			     "unknown icmp-type `%s`; use a name such as echo-request "
			     "or a number 0-255",
			     e->icmp_text);
			return;
		}
	}

	/* ports only exist for port protocols */
	if (e->port_given && !(ev->has[F_PROTO] && port_proto(ev->val[F_PROTO]))) {
		fail(e, e->port_loc,
		     "ports are only carried by tcp, udp, sctp and udplite events; add "
		     "`proto tcp` or `proto udp`");
		return;
	}

	/* event type */
	if (!ev->has[F_EVENT]) {
		enum event_type t;
		bool in = ev->has[F_DIR] && ev->val[F_DIR] == DIR_IN;
		if (ev->has[F_PROTO] && ev->val[F_PROTO] == 6)
			t = in ? EVENT_ACCEPT : EVENT_CONNECT;
		else if (ev->has[F_PROTO] && ev->val[F_PROTO] == 17)
			t = in ? EVENT_RECEIVE : EVENT_SEND;
		else if (ev->has[F_PROTO])
			t = EVENT_PACKET;
		else if (!ev->has[F_LADDR] && !ev->has[F_RADDR] && !e->port_given &&
			 (ev->has[F_APP] || ev->has[F_CGROUP] || ev->has[F_USER]))
			t = EVENT_NETWORK;
		else
			t = EVENT_PACKET;
		set(ev, F_EVENT, t);
	}

	/* direction */
	enum event_type t = (enum event_type)ev->val[F_EVENT];
	int want;
	switch (t) {
	case EVENT_NETWORK:
	case EVENT_CONNECT:
	case EVENT_SEND:
		want = DIR_OUT;
		break;
	case EVENT_LISTEN:
	case EVENT_ACCEPT:
	case EVENT_RECEIVE:
		want = DIR_IN;
		break;
	default:
		want = -1;
		break;
	}
	if (ev->has[F_DIR] && want >= 0 && (int)ev->val[F_DIR] != want) {
		fail(e, e->seen[F_DIR], "`%s` contradicts event %s, which is always %s", dir_word(ev->val[F_DIR]),
		     event_name(t), dir_word(want));
		return;
	}
	if (!ev->has[F_DIR])
		set(ev, F_DIR, want >= 0 ? want : DIR_IN);
}

int event_parse(struct event *ev, const struct policy *p, const char *text, struct diag *d)
{
	struct sources srcs;
	struct eparse e = { .ev = ev, .p = p, .d = d, .ok = true };
	const struct sources *saved = d->srcs;
	int first_msg = d->nmsgs;

	memset(ev, 0, sizeof(*ev));
	sources_init(&srcs);
	const struct source *src = sources_add_string(&srcs, EVENT_FILE, text ? text : "");
	d->srcs = &srcs; /* so messages quote the event text as they are printed */
	lexer_init(&e.lx, src, d);

	next(&e);
	while (e.tok.kind == TOK_NEWLINE)
		next(&e);
	if (e.tok.kind == TOK_EOF)
		fail(&e, e.tok.loc, "empty event; write e.g. `out proto tcp remote 192.0.2.1 port 80`");
	while (e.tok.kind != TOK_EOF) {
		if (e.tok.kind == TOK_NEWLINE) {
			next(&e);
			continue;
		}
		if (e.tok.kind == TOK_WORD) {
			parse_word(&e);
			continue;
		}
		if (e.tok.kind != TOK_ERROR)
			fail(&e, e.tok.loc,
			     "unexpected %s in event; an event has single values "
			     "(no sets or lists)",
			     tok_kind_name(e.tok.kind));
		else
			e.ok = false;
		next(&e);
	}
	if (e.ok)
		infer(&e);

	lexer_free(&e.lx);
	/* the temporary source goes away: point messages at a name that stays */
	for (int i = first_msg; i < d->nmsgs; i++)
		if (d->msgs[i].loc.file == src->name)
			d->msgs[i].loc.file = EVENT_FILE;
	d->srcs = saved;
	sources_free(&srcs);
	return e.ok ? 0 : -1;
}

/* Appends one word group, space-separated; output is cut at len - 1. */
static void append(char *buf, int len, int *n, const char *fmt, const char *a)
{
	if (*n >= len - 1)
		return;
	if (*n > 0) {
		buf[(*n)++] = ' ';
		buf[*n] = 0;
	}
	int w = snprintf(buf + *n, len - *n, fmt, a);
	if (w > 0)
		*n = *n + w < len - 1 ? *n + w : len - 1;
}

static void append_addr(char *buf, int len, int *n, const char *kw, const struct event *ev, enum field fa,
			enum field fp)
{
	char a[64], port[16];
	if (!ev->has[fa] && !ev->has[fp])
		return;
	append(buf, len, n, "%s", kw);
	if (ev->has[fa])
		append(buf, len, n, "%s", addr_format(ev->val[fa], a, sizeof(a)));
	if (ev->has[fp]) {
		snprintf(port, sizeof(port), "%u", (unsigned)ev->val[fp]);
		append(buf, len, n, "port %s", port);
	}
}

void event_format(const struct event *ev, char *buf, int len)
{
	char num[64];
	int n = 0;

	if (len <= 0)
		return;
	buf[0] = 0;
	if (ev->has[F_DIR])
		append(buf, len, &n, "%s", dir_word(ev->val[F_DIR]));
	if (ev->has[F_EVENT]) {
		const char *name = event_name((enum event_type)ev->val[F_EVENT]);
		snprintf(num, sizeof(num), "%u", (unsigned)ev->val[F_EVENT]);
		append(buf, len, &n, "event %s", name ? name : num);
	}
	if (ev->has[F_PROTO]) {
		const char *name = proto_name((int)ev->val[F_PROTO]);
		snprintf(num, sizeof(num), "%u", (unsigned)ev->val[F_PROTO]);
		append(buf, len, &n, "proto %s", name ? name : num);
	}
	if (ev->has[F_FAMILY])
		append(buf, len, &n, "%s", ev->val[F_FAMILY] == 6 ? "ip6" : "ip4");
	append_addr(buf, len, &n, "local", ev, F_LADDR, F_LPORT);
	append_addr(buf, len, &n, "remote", ev, F_RADDR, F_RPORT);
	if (ev->has[F_IFACE]) {
		snprintf(num, sizeof(num), "(id %u)", (unsigned)ev->val[F_IFACE]);
		append(buf, len, &n, "on %s", ev->iface[0] ? ev->iface : num);
	}
	if (ev->has[F_ICMPTYPE]) {
		unsigned v = (unsigned)ev->val[F_ICMPTYPE];
		int fam = v >= ICMPV6_TYPE_BASE ? 6 : 4;
		int t = v >= ICMPV6_TYPE_BASE ? (int)(v - ICMPV6_TYPE_BASE) : (int)v;
		const char *name = icmp_type_name(fam, t);
		snprintf(num, sizeof(num), "%d", t);
		append(buf, len, &n, "icmp-type %s", name ? name : num);
	}
	if (ev->has[F_APP]) {
		snprintf(num, sizeof(num), "(id %u)", (unsigned)ev->val[F_APP]);
		append(buf, len, &n, "app %s", ev->app[0] ? ev->app : num);
	}
	if (ev->has[F_CGROUP]) {
		snprintf(num, sizeof(num), "(value %u)", (unsigned)ev->val[F_CGROUP]);
		append(buf, len, &n, "cgroup %s", ev->cgroup[0] ? ev->cgroup : num);
	}
	if (ev->has[F_USER]) {
		snprintf(num, sizeof(num), "%u", (unsigned)ev->val[F_USER]);
		append(buf, len, &n, "user %s", num);
	}
}
