/* A small seeded generator of ClassBench-style policies (Taylor and
 * Turner, "ClassBench: A Packet Classification Benchmark"), written as
 * rampart policy text.  Header-only: used by the bench (tests/bench), the
 * differential test (tests/kernel/test_differential.c) and
 * build/bench/gen_classbench (files for `rampart check` and `apply`).
 *
 * Profiles, after the shape of ClassBench's seed families (the parameters
 * are ours, chosen to follow the published distributions, not copied):
 *   acl  access lists: the remote side mostly hosts (/32) and /24s with
 *        some wildcards, local hosts and subnets, local ports mostly exact
 *        (well-known services) with some ranges (1024-65535, 0-1023, a
 *        pool of arbitrary ranges), remote ports almost always any, TCP
 *        above UDP;
 *   fw   firewalls: many wildcards on both addresses, prefixes of every
 *        length, more port ranges on both sides, some `out` rules and
 *        rules for any protocol;
 *   ipc  between the two, with some IPv6 rules;
 *   uniform  the adversarial shape of issue 12: every rule
 *        `allow|deny|reject in proto tcp|udp remote A.B.C.0/8..28 port
 *        P1-P2 local port L`, all of it uniformly random.
 * Addresses are clustered as in real rule sets: prefixes are drawn below a
 * pool of sites, so they nest and share.  Every rule names a host or a
 * subnet (/24 or longer) on one side at least.  The policy ends with
 * `default deny`. */
#ifndef RAMPART_CLASSBENCH_H
#define RAMPART_CLASSBENCH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cb_profile { CB_ACL, CB_FW, CB_IPC, CB_UNIFORM, CB_NPROFILES };

static const char *const cb_profile_names[CB_NPROFILES] = { "acl", "fw", "ipc", "uniform" };

static inline int cb_profile_from_name(const char *s)
{
	for (int i = 0; i < CB_NPROFILES; i++)
		if (!strcmp(s, cb_profile_names[i]))
			return i;
	return -1;
}

struct cb_gen {
	uint64_t rng;
	char *s;
	size_t n, cap;
	int nsites;
	uint32_t sites[512]; /* remote /16 sites */
	uint32_t lsites[8];  /* local networks (/16) */
	uint16_t ar[40][2];  /* the pool of arbitrary port ranges */
};

static inline uint32_t cb_rnd(struct cb_gen *g)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return (uint32_t)((g->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static inline uint32_t cb_below(struct cb_gen *g, uint32_t n)
{
	return cb_rnd(g) % n;
}

static inline void cb_printf(struct cb_gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void cb_printf(struct cb_gen *g, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(g->s + g->n, g->cap - g->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && g->n + (size_t)k < g->cap) {
			g->n += (size_t)k;
			return;
		}
		g->cap = g->cap ? 2 * g->cap : 1 << 16;
		g->s = realloc(g->s, g->cap);
		if (!g->s)
			abort();
	}
}

/* Picks from a table of (weight percent, value); weights add up to 100. */
static inline int cb_pick(struct cb_gen *g, const int (*w)[2], int n)
{
	int r = (int)cb_below(g, 100), acc = 0;
	for (int i = 0; i < n; i++) {
		acc += w[i][0];
		if (r < acc)
			return w[i][1];
	}
	return w[n - 1][1];
}
#define CB_PICK(g, table) cb_pick((g), (table), (int)(sizeof(table) / sizeof((table)[0])))

/* Skewed choice among n: small indexes much more often (like real rule
 * sets, where a few networks hold most rules). */
static inline uint32_t cb_skewed(struct cb_gen *g, uint32_t n)
{
	uint32_t a = cb_below(g, n), b = cb_below(g, n);
	return a < b ? a : b;
}

static inline void cb_v4_prefix(struct cb_gen *g, uint32_t site16, int len)
{
	uint32_t a = site16 << 16 | (cb_rnd(g) & 0xffff);
	if (len < 32)
		a &= len ? ~0u << (32 - len) : 0;
	if (len == 32)
		cb_printf(g, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	else
		cb_printf(g, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
}

/* remote/local ADDR with a length from the profile's distribution;
 * len 0: no address condition. */
static inline void cb_addr(struct cb_gen *g, const char *side, int len, bool local, bool v6)
{
	if (!len)
		return;
	uint32_t site = local ? g->lsites[cb_skewed(g, 8)] : g->sites[cb_skewed(g, (uint32_t)g->nsites)];
	cb_printf(g, " %s ", side);
	if (v6) {
		/* 2001:db8:SITE::/48, /64 subnets and /128 hosts below it */
		uint32_t x = cb_rnd(g);
		if (len == 32)
			cb_printf(g, "2001:db8:%x:%x::%x", site & 0xffff, x & 0xff, (x >> 16) | 1);
		else if (len >= 24)
			cb_printf(g, "2001:db8:%x:%x::/64", site & 0xffff, x & 0xff);
		else
			cb_printf(g, "2001:db8:%x::/48", site & 0xffff);
		return;
	}
	cb_v4_prefix(g, site, len);
}

enum { CB_WC, CB_HI, CB_LO, CB_AR, CB_EM };

static const uint16_t cb_well_known[] = { 80,  443,  22,   25,	 53,   110,  143,  993, 995, 21,
					  23,  3389, 8080, 8443, 3306, 5432, 1433, 389, 636, 123,
					  161, 162,  514,  873,	 2049, 111,  135,  139, 445, 5060 };

static inline void cb_port(struct cb_gen *g, const char *side, int cls, bool with_addr)
{
	if (cls == CB_WC)
		return;
	if (!with_addr)
		cb_printf(g, " %s", side);
	switch (cls) {
	case CB_HI:
		cb_printf(g, " port 1024-65535");
		break;
	case CB_LO:
		cb_printf(g, " port 0-1023");
		break;
	case CB_AR: {
		const uint16_t *r = g->ar[cb_skewed(g, 40)];
		cb_printf(g, " port %u-%u", r[0], r[1]);
		break;
	}
	default:
		if (cb_below(g, 100) < 70)
			cb_printf(g, " port %u", cb_well_known[cb_skewed(g, 30)]);
		else
			cb_printf(g, " port %u", 1 + cb_below(g, 65535));
	}
}

/* One rule of profile p. */
static inline void cb_rule(struct cb_gen *g, enum cb_profile p)
{
	static const char *const verdicts[] = { "allow", "deny", "reject" };
	if (p == CB_UNIFORM) {
		uint32_t a = cb_rnd(g);
		int len = 8 + (int)cb_below(g, 21);
		uint32_t p1 = cb_below(g, 65536), p2 = cb_below(g, 65536);
		if (p1 > p2) {
			uint32_t t = p1;
			p1 = p2;
			p2 = t;
		}
		a &= ~0u << (32 - len);
		cb_printf(g, "    %s in proto %s remote %u.%u.%u.%u/%d port %u-%u local port %u\n",
			  verdicts[cb_below(g, 3)], cb_below(g, 2) ? "udp" : "tcp", a >> 24, (a >> 16) & 255,
			  (a >> 8) & 255, a & 255, len, p1, p2, 1 + cb_below(g, 65535));
		return;
	}
	/* (weight %, value) tables per profile */
	static const int proto_acl[][2] = { { 75, 6 }, { 18, 17 }, { 4, 1 }, { 3, 0 } };
	static const int proto_fw[][2] = { { 50, 6 }, { 22, 17 }, { 6, 1 }, { 22, 0 } };
	static const int proto_ipc[][2] = { { 50, 6 }, { 30, 17 }, { 5, 1 }, { 15, 0 } };
	static const int rlen_acl[][2] = { { 45, 32 }, { 20, 24 }, { 8, 28 }, { 7, 16 }, { 5, 20 }, { 15, 0 } };
	static const int rlen_fw[][2] = { { 25, 32 }, { 15, 24 }, { 10, 16 }, { 8, 8 }, { 7, 20 }, { 35, 0 } };
	static const int rlen_ipc[][2] = { { 35, 32 }, { 20, 24 }, { 10, 28 }, { 10, 16 }, { 25, 0 } };
	static const int llen_acl[][2] = { { 55, 32 }, { 25, 24 }, { 10, 28 }, { 10, 0 } };
	static const int llen_fw[][2] = { { 35, 32 }, { 25, 24 }, { 10, 16 }, { 30, 0 } };
	static const int llen_ipc[][2] = { { 45, 32 }, { 25, 24 }, { 10, 20 }, { 20, 0 } };
	static const int rport_acl[][2] = { { 97, CB_WC }, { 2, CB_EM }, { 1, CB_HI } };
	static const int rport_fw[][2] = { { 70, CB_WC }, { 15, CB_EM }, { 8, CB_HI }, { 7, CB_AR } };
	static const int rport_ipc[][2] = { { 85, CB_WC }, { 10, CB_EM }, { 5, CB_HI } };
	static const int lport_acl[][2] = { { 60, CB_EM }, { 15, CB_AR }, { 12, CB_WC }, { 9, CB_HI }, { 4, CB_LO } };
	static const int lport_fw[][2] = { { 40, CB_EM }, { 15, CB_AR }, { 30, CB_WC }, { 10, CB_HI }, { 5, CB_LO } };
	static const int lport_ipc[][2] = { { 50, CB_EM }, { 15, CB_AR }, { 30, CB_WC }, { 5, CB_HI } };
	const int(*proto)[2] = p == CB_ACL ? proto_acl : p == CB_FW ? proto_fw : proto_ipc;
	const int(*rlen)[2] = p == CB_ACL ? rlen_acl : p == CB_FW ? rlen_fw : rlen_ipc;
	const int(*llen)[2] = p == CB_ACL ? llen_acl : p == CB_FW ? llen_fw : llen_ipc;
	const int(*rport)[2] = p == CB_ACL ? rport_acl : p == CB_FW ? rport_fw : rport_ipc;
	const int(*lport)[2] = p == CB_ACL ? lport_acl : p == CB_FW ? lport_fw : lport_ipc;
	int nproto = 4, nrlen = p == CB_IPC ? 5 : 6, nllen = 4, nrport = p == CB_FW ? 4 : 3,
	    nlport = p == CB_IPC ? 4 : 5;

	int v = (int)cb_below(g, 100);
	cb_printf(g, "    %s", verdicts[v < 50 ? 0 : v < 88 ? 1 : 2]);
	bool out = p == CB_FW && cb_below(g, 100) < 15;
	cb_printf(g, " %s", out ? "out" : "in");
	int pr = cb_pick(g, proto, nproto);
	bool v6 = p != CB_ACL && cb_below(g, 100) < 8;
	if (pr == 1)
		cb_printf(g, " proto %s", v6 ? "icmpv6" : "icmp");
	else if (pr)
		cb_printf(g, " proto %s", pr == 6 ? "tcp" : "udp");
	int rl = cb_pick(g, rlen, nrlen), ll = cb_pick(g, llen, nllen);
	/* a rule names a host or subnet (/24 or longer) on one side at least:
	 * a rule for a protocol or a whole site alone ends the list for every
	 * later rule there (real rule sets keep those few, at the end) */
	if (rl < 24 && ll < 24)
		ll = cb_below(g, 2) ? 32 : 24;
	bool ports = pr == 6 || pr == 17;
	int rp = ports ? cb_pick(g, rport, nrport) : CB_WC, lp = ports ? cb_pick(g, lport, nlport) : CB_WC;
	cb_addr(g, "remote", rl, false, v6);
	cb_port(g, "remote", rp, rl != 0);
	cb_addr(g, "local", ll, true, v6);
	cb_port(g, "local", lp, ll != 0);
	cb_printf(g, "\n");
}

/* The policy text of n rules of profile p (malloc'd; the caller frees). */
static inline char *cb_policy(enum cb_profile p, int n, uint64_t seed)
{
	struct cb_gen g;
	memset(&g, 0, sizeof(g));
	g.rng = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
	g.nsites = n / 40 < 16 ? 16 : n / 40 > 512 ? 512 : n / 40;
	for (int i = 0; i < g.nsites; i++)
		g.sites[i] = (1 + cb_below(&g, 223)) << 8 | cb_below(&g, 256);
	for (int i = 0; i < 8; i++)
		g.lsites[i] = (10u << 8) | cb_below(&g, 256);
	for (int i = 0; i < 40; i++) {
		uint32_t lo = cb_below(&g, 60000), w = 1 + cb_below(&g, cb_below(&g, 2) ? 64 : 5000);
		g.ar[i][0] = (uint16_t)lo;
		g.ar[i][1] = (uint16_t)(lo + w > 65535 ? 65535 : lo + w);
	}
	cb_printf(&g, "# ClassBench-style policy: profile %s, %d rules, seed %llu\n", cb_profile_names[p], n,
		  (unsigned long long)seed);
	cb_printf(&g, "table root default deny {\n");
	for (int i = 0; i < n; i++)
		cb_rule(&g, p);
	cb_printf(&g, "}\n");
	return g.s;
}

#endif
