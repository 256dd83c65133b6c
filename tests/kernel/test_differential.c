/* Differential test of the packet datapath against the reference
 * interpreter: random policies (as text, so the parser, resolver, flattener,
 * classifier compiler and map writer are all exercised) x random packets
 * that start new flows.  For every case the kernel (rampart_xdp or
 * rampart_tc_egress under BPF_PROG_TEST_RUN) must do what eval_event says:
 * the same verdict (ask -> the policy's ask-default), the same deciding
 * rule (its rp_rule_stats slot grows), the same recorded continue/jump
 * rules, exactly the log events the rules ask for, and a conntrack entry
 * for an allowed flow only.
 *
 * A third of the policies are ClassBench-style (tests/bench/classbench.h,
 * every profile, 20 to 170 rules) with packets drawn inside their rules,
 * most compiled into keyed parts, so the classifier's fallback structures
 * (candidate lists and their checks) are judged too.
 *
 * Runs as root in a private network namespace (unshare): no socket exists
 * there, so every inbound packet is a `packet` event; attaches nothing.
 * RAMPART_DIFF_CASES (default 4000) and RAMPART_DIFF_SEED scale and replay
 * a run; the seed is printed.  On a mismatch the policy, the packet, the
 * interpreter's trace, the user-space classifier's answer and the kernel's
 * result are printed. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "kt_netns.h"
#include "policy.h"
#include "classify.h"
#include "rampart_maps.h"
#include "datapath.h"
#include "classifier_maps.h"
#include "rampart.skel.h"
#include "packet.h"
#include "../bench/classbench.h"

#define TC_OK		   0
#define TC_SHOT		   2
#define TC_REDIRECT	   7
#define TEST_IFINDEX	   1 /* lo: the device both test runs report */
#define PACKETS_PER_POLICY 40
#define MAX_REPORTS	   5

/* ---------- seeded PRNG (xorshift64*) ---------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static int below(int n)
{
	return (int)(rnd() % (uint32_t)n);
}
static bool chance(int percent)
{
	return below(100) < percent;
}
#define PICK(arr) ((arr)[below((int)(sizeof(arr) / sizeof((arr)[0])))])

/* ---------- text buffer ---------- */

struct sbuf {
	char s[32768];
	size_t n;
};
static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && b->n + (size_t)k < sizeof(b->s));
	b->n += (size_t)k;
}

/* ---------- pools: small, so that rules and packets often meet ---------- */

/* Packet addresses: documentation ranges, never broadcast or multicast
 * (a reject is not answered to those). */
static const char *const ADDR4[] = { "192.0.2.1",      "192.0.2.2",   "192.0.2.130", "198.51.100.7",
				     "198.51.100.200", "203.0.113.9", "192.0.2.77" };
static const char *const ADDR6[] = { "2001:db8::1", "2001:db8::2", "2001:db8:1::7", "2001:db8:ffff::9",
				     "2001:db8::77" };
/* Rule address terms: singles, prefixes, ranges of both families. */
static const char *const ADDR_TERMS[] = {
	"192.0.2.1",
	"192.0.2.2",
	"198.51.100.7",
	"203.0.113.9",
	"192.0.2.130",
	"2001:db8::1",
	"2001:db8::2",
	"2001:db8:1::7",
	"2001:db8:ffff::9",
	"192.0.2.0/24",
	"192.0.2.0/25",
	"192.0.2.128/25",
	"198.51.100.0/24",
	"203.0.113.0/24",
	"192.0.2.0/30",
	"0.0.0.0/0",
	"2001:db8::/32",
	"2001:db8::/64",
	"2001:db8:1::/48",
	"::/0",
	"192.0.2.1-192.0.2.100",
	"198.51.100.0-203.0.113.255",
	"2001:db8::1-2001:db8::2",
	"2001:db8::-2001:db8:1::ffff",
};
static const uint16_t PORTS[] = { 22, 53, 80, 443, 1023, 1024, 8080, 40000, 40005, 50000 };
static const char *const PORT_TERMS[] = { "22",	    "53",	  "80",	    "443",	   "8080",   "40000",
					  "1-1023", "1024-65535", "80-443", "40000-40010", "0-65535" };
/* Interface names a policy may name; "ens9" is never named (id 0). */
static const char *const IFNAMES[] = { "eth0", "eth1", "lo" };
static const char *const CASE_IFNAMES[] = { "eth0", "eth1", "lo", "ens9" };
#define WAN_IFNAME "eth1" /* `interface wan = eth1` turns on gateway mode */

static const char *const VERDICTS[] = { "allow", "deny", "reject", "ask" };

/* ---------- random policy text ---------- */

struct gen {
	struct sbuf *b;
	int ntables;
	bool have_addr_set, have_port_set, have_wan;
};

/* An address or port list of a condition: the policy's named set (set:
 * its name; NULL when the policy has none), or terms, maybe negated: one,
 * or a set of two or three. */
static void gen_list(struct sbuf *b, const char *set, const char *const *terms, int nterms)
{
	if (set && chance(15)) {
		sb_printf(b, "%s", set);
		return;
	}
	if (chance(20))
		sb_printf(b, "! ");
	if (chance(25)) {
		int n = 2 + below(2);
		sb_printf(b, "{ ");
		for (int i = 0; i < n; i++)
			sb_printf(b, "%s%s", i ? ", " : "", terms[below(nterms)]);
		sb_printf(b, " }");
	} else {
		sb_printf(b, "%s", terms[below(nterms)]);
	}
}

#define GEN_LIST(b, set, terms) gen_list(b, set, terms, (int)(sizeof(terms) / sizeof((terms)[0])))

/* local/remote ADDRS [port PORTS] | local/remote port PORTS */
static void gen_side(struct gen *g, const char *side)
{
	int k = below(3);
	sb_printf(g->b, " %s ", side);
	if (k != 1)
		GEN_LIST(g->b, g->have_addr_set ? "@nets" : NULL, ADDR_TERMS);
	if (k == 0)
		sb_printf(g->b, " ");
	if (k != 2) {
		sb_printf(g->b, "port ");
		GEN_LIST(g->b, g->have_port_set ? "@svc" : NULL, PORT_TERMS);
	}
}

static void gen_rule(struct gen *g, int table)
{
	struct sbuf *b = g->b;
	int v = below(100);
	sb_printf(b, "    ");
	if (v < 22)
		sb_printf(b, "allow");
	else if (v < 40)
		sb_printf(b, "deny");
	else if (v < 55)
		sb_printf(b, "reject");
	else if (v < 63)
		sb_printf(b, "ask");
	else if (v < 80)
		sb_printf(b, "continue");
	else if (table + 1 < g->ntables)
		sb_printf(b, "jump t%d", table + 1 + below(g->ntables - table - 1));
	else
		sb_printf(b, "deny");

	if (chance(40))
		sb_printf(b, chance(50) ? " in" : " out");
	/* protocol: remembered for a numeric icmp-type */
	int proto = below(100);
	bool icmp_proto = false;
	if (proto < 18)
		sb_printf(b, " proto tcp");
	else if (proto < 32)
		sb_printf(b, " proto udp");
	else if (proto < 38)
		sb_printf(b, " proto icmp"), icmp_proto = true;
	else if (proto < 44)
		sb_printf(b, " proto icmpv6"), icmp_proto = true;
	else if (proto < 48)
		sb_printf(b, " proto { icmp, icmpv6 }"), icmp_proto = true;
	else if (proto < 53)
		sb_printf(b, " proto { tcp, udp }");
	else if (proto < 56)
		sb_printf(b, " proto %s", chance(50) ? "47" : "sctp");
	else if (proto < 58)
		sb_printf(b, " proto any");
	if (chance(12))
		sb_printf(b, chance(50) ? " ip4" : " ip6");
	if (chance(35))
		gen_side(g, "local");
	if (chance(35))
		gen_side(g, "remote");
	if (chance(15)) {
		if (g->have_wan && chance(40))
			sb_printf(b, " on wan");
		else
			sb_printf(b, " on %s", PICK(IFNAMES));
	}
	if (chance(12)) {
		static const char *const names[] = { "echo-request", "echo-reply", "timestamp-request", "dest-unreach",
						     "router-solicitation" };
		if (icmp_proto && chance(50))
			sb_printf(b, " icmp-type %s", chance(50) ? "8" : (chance(50) ? "128" : "13"));
		else
			sb_printf(b, " icmp-type %s", PICK(names));
	}
	if (chance(12)) {
		static const char *const ev[] = {
			"packet", "packet", "connect", "send", "accept", "{ packet, connect }", "{ send, receive }",
			"network"
		};
		sb_printf(b, " event %s", PICK(ev));
	}
	/* fields a packet never carries: such a rule never matches a packet */
	if (chance(3))
		sb_printf(b, " app /usr/bin/curl");
	if (chance(2))
		sb_printf(b, " user 0");
	if (chance(25))
		sb_printf(b, " log");
	sb_printf(b, "\n");
}

static void gen_policy(struct sbuf *b, bool *gateway)
{
	/* every fourth policy sends all it judges into table t1 (whose
	 * default decides), so that a run never misses decisions in a
	 * jumped-to table by the luck of its seed */
	static unsigned calls;
	bool all_to_t1 = calls++ % 4 == 3;
	struct gen g = { .b = b, .ntables = all_to_t1 ? 2 + below(3) : 1 + below(4) };
	b->n = 0;
	b->s[0] = 0;
	sb_printf(b, "option log-rate 1000000/s\n");
	if (chance(40))
		sb_printf(b, "option ask-default %s\n", PICK(((const char *const[]){ "allow", "deny", "reject" })));
	if (chance(30)) {
		g.have_addr_set = true;
		sb_printf(b, "addresses nets = { %s, %s }\n", PICK(ADDR_TERMS), PICK(ADDR_TERMS));
	}
	if (chance(30)) {
		g.have_port_set = true;
		sb_printf(b, "ports svc = { %s, %s }\n", PICK(PORT_TERMS), PICK(PORT_TERMS));
	}
	if (chance(15)) {
		g.have_wan = true;
		sb_printf(b, "interface wan = %s\n", WAN_IFNAME);
	}
	*gateway = g.have_wan;
	for (int t = 0; t < g.ntables; t++) {
		if (t == 0)
			sb_printf(b, "table root");
		else
			sb_printf(b, "table t%d", t);
		if (all_to_t1 && t == 1)
			sb_printf(b, " default %s", PICK(VERDICTS));
		else if (chance(60))
			sb_printf(b, " default %s", t && chance(30) ? "continue" : PICK(VERDICTS));
		sb_printf(b, " {\n");
		if (all_to_t1 && t == 0)
			sb_printf(b, "    jump t1\n");
		/* now and then a longer table, for the classifier's pair tables */
		int n = t == 0 ? (chance(15) ? 10 + below(20) : 1 + below(7)) : below(5);
		for (int i = 0; i < n; i++)
			gen_rule(&g, t);
		sb_printf(b, "}\n");
	}
}

/* ---------- a random new-flow packet ---------- */

enum hook { HOOK_XDP, HOOK_TC };

struct pdesc {
	enum hook hook;
	int fam;
	int proto;
	const char *src, *dst;
	uint16_t sport, dport;	 /* ports (tcp/udp/sctp/udplite), echo id otherwise */
	int icmp_type;		 /* -1 when the packet carries none */
	const char *ifname;	 /* what ifindex TEST_IFINDEX is mapped to (id 0 for ens9) */
	bool iface_entry;	 /* ens9: write id 0 (true) or leave rp_ifaces empty */
	char sbuf[64], dbuf[64]; /* src, dst of a packet drawn from a rule */
};

static void random_packet(struct pdesc *d)
{
	memset(d, 0, sizeof(*d));
	d->hook = chance(50) ? HOOK_XDP : HOOK_TC;
	d->fam = chance(60) ? 4 : 6;
	const char *const *pool = d->fam == 4 ? ADDR4 : ADDR6;
	int npool = d->fam == 4 ? (int)(sizeof(ADDR4) / sizeof(ADDR4[0])) : (int)(sizeof(ADDR6) / sizeof(ADDR6[0]));
	d->src = pool[below(npool)];
	d->dst = pool[below(npool)];
	d->sport = chance(50) ? PICK(PORTS) : (uint16_t)(30000 + below(30000));
	d->dport = PICK(PORTS);
	d->icmp_type = -1;
	int k = below(100);
	if (k < 35) {
		d->proto = 6;
	} else if (k < 60) {
		d->proto = 17;
	} else if (k < 80) {
		d->proto = d->fam == 4 ? 1 : 58;
		d->icmp_type = d->fam == 4 ? 8 : 128; /* echo request */
		d->sport = d->dport = (uint16_t)below(65536);
	} else if (k < 87) {
		/* not echo and not an error: judged each time, never tracked */
		d->proto = d->fam == 4 ? 1 : 58;
		d->icmp_type = d->fam == 4 ? PICK(((const int[]){ 13, 15, 17 }))
					   : PICK(((const int[]){ 139, 133, 200 }));
	} else if (k < 91) {
		d->proto = 132; /* SCTP: ports */
	} else if (k < 94) {
		d->proto = 136; /* UDP-Lite: ports */
	} else if (k < 97) {
		d->proto = 47; /* GRE: no ports */
	} else {
		d->proto = d->fam == 4 ? 58 : 1; /* ICMP of the other family: a plain protocol */
	}
	d->ifname = PICK(CASE_IFNAMES);
	d->iface_entry = chance(50);
}

static bool has_ports(int proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

static void build_packet(const struct pdesc *d, struct pk *p)
{
	pk_eth(p, 0, d->fam == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (d->fam == 4)
		pk_ip4(p, d->src, d->dst, 0, 0, 1);
	else
		pk_ip6(p, d->src, d->dst, 64 /* not 255: ND types must not take the implicit rule */);
	p->d[p->nh] = (uint8_t)d->proto;
	switch (d->proto) {
	case 6:
		pk_put16(p, d->sport);
		pk_put16(p, d->dport);
		pk_put32(p, rnd());
		pk_put32(p, 0);
		pk_put8(p, 5 << 4);
		pk_put8(p, 0x02); /* SYN */
		pk_put16(p, 65535);
		pk_put32(p, 0);
		break;
	case 17:
	case 136:
		pk_put16(p, d->sport);
		pk_put16(p, d->dport);
		pk_put16(p, 8 + 12);
		pk_put16(p, 0);
		pk_put(p, "differential", 12);
		break;
	case 132:
		pk_put16(p, d->sport);
		pk_put16(p, d->dport);
		pk_put32(p, 0x1234);
		pk_put32(p, 0);
		pk_put(p, NULL, 16); /* an INIT-sized chunk */
		break;
	case 1:
	case 58:
		pk_put8(p, (uint8_t)(d->icmp_type >= 0 ? d->icmp_type : 8));
		pk_put8(p, 0);
		pk_put16(p, 0);
		pk_put16(p, d->sport); /* echo identifier */
		pk_put16(p, 1);
		pk_put(p, NULL, 12);
		break;
	default:
		pk_put32(p, 0x00000800); /* GRE header */
		pk_put(p, NULL, 20);
		break;
	}
	pk_fin(p);
}

static void describe_packet(const struct pdesc *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s ip%d proto %d %s%s%u -> %s%s%u icmp-type %d, ifindex %d mapped to %s%s",
		 d->hook == HOOK_XDP ? "XDP ingress" : "tc egress", d->fam, d->proto, d->src,
		 d->fam == 6 ? " port " : ":", d->sport, d->dst, d->fam == 6 ? " port " : ":", d->dport, d->icmp_type,
		 TEST_IFINDEX, d->ifname, d->iface_entry ? "" : " (or no entry)");
}

/* ---------- the policy under test, loaded as `rampart apply` does ---------- */

struct loaded {
	struct policy pol;
	struct flat_policy fp;
	struct cls_tables t;
	struct rampart_bpf *skel;
	struct ring_buffer *rb;
	struct rp_rule_stats *stats; /* per slot, as last read */
	uint32_t nslots;
	bool gateway;
	const char *text;
	struct cls_opts copt; /* how the classifier is compiled */
};

/* A random value of a set (ranges of a flattened condition). */
static u128 pick_in(const struct vset *s)
{
	const struct vrange *r = &s->r[below(s->n)];
	u128 span = r->hi - r->lo;
	u128 off = ((u128)rnd() << 96 | (u128)rnd() << 64 | (u128)rnd() << 32 | rnd());
	return span == ~(u128)0 ? off : r->lo + off % (span + 1);
}

static void format_addr(u128 a, char *buf, size_t len)
{
	addr_format(a, buf, (int)len);
}

/* A new-flow packet inside a random rule of a ClassBench-style policy,
 * now and then moved off by one in one field (the rule's edges). */
static void rule_packet(const struct loaded *L, struct pdesc *d)
{
	random_packet(d);
	const struct flat_entry *e = &L->fp.e[below(L->fp.n)];
	const struct cond *c = e->cond;
	bool out = c[F_DIR].used ? vset_contains(&c[F_DIR].set, DIR_OUT) &&
					   (!vset_contains(&c[F_DIR].set, DIR_IN) || chance(50))
				 : chance(20);
	u128 ra = c[F_RADDR].used ? pick_in(&c[F_RADDR].set) : 0, la = c[F_LADDR].used ? pick_in(&c[F_LADDR].set) : 0;
	bool v4 = c[F_RADDR].used ? addr_is_v4(ra) : c[F_LADDR].used ? addr_is_v4(la) : chance(70);
	if (!c[F_RADDR].used || addr_is_v4(ra) != v4)
		addr_parse(v4 ? "203.0.113.9" : "2001:db8:ffff::9", &ra, NULL);
	if (!c[F_LADDR].used || addr_is_v4(la) != v4)
		addr_parse(v4 ? "192.0.2.1" : "2001:db8::1", &la, NULL);
	if ((v4 && ((ra >> 28) & 0xf) == 0xe) || (!v4 && (ra >> 120) == 0xff))
		addr_parse(v4 ? "203.0.113.9" : "2001:db8:ffff::9", &ra, NULL); /* never multicast */
	uint16_t rp = c[F_RPORT].used ? (uint16_t)pick_in(&c[F_RPORT].set) : (uint16_t)(1024 + below(60000));
	uint16_t lp = c[F_LPORT].used ? (uint16_t)pick_in(&c[F_LPORT].set) : PICK(PORTS);
	int proto = c[F_PROTO].used ? (int)pick_in(&c[F_PROTO].set) : (chance(70) ? 6 : 17);
	switch (chance(30) ? below(4) : -1) {
	case 0:
		rp++;
		break;
	case 1:
		lp--;
		break;
	case 2:
		ra ^= 1;
		break;
	case 3:
		la ^= (u128)1 << below(8);
		break;
	}
	d->fam = v4 ? 4 : 6;
	d->proto = proto;
	d->icmp_type = -1;
	if (proto == 1 || proto == 58) {
		d->proto = v4 ? 1 : 58;
		d->icmp_type = v4 ? 8 : 128;
	} else if (proto != 6 && proto != 17) {
		d->proto = 6;
	}
	d->hook = out ? HOOK_TC : HOOK_XDP;
	format_addr(out ? la : ra, d->sbuf, sizeof(d->sbuf));
	format_addr(out ? ra : la, d->dbuf, sizeof(d->dbuf));
	d->src = d->sbuf;
	d->dst = d->dbuf;
	d->sport = out ? lp : rp;
	d->dport = out ? rp : lp;
}

#define MAX_LOGS 64
static struct rp_log_event logs[MAX_LOGS];
static int nlogs;

static int on_log(void *ctx, void *data, size_t len)
{
	if (len == sizeof(struct rp_log_event) && nlogs < MAX_LOGS)
		memcpy(&logs[nlogs], data, sizeof(struct rp_log_event));
	nlogs++;
	return 0;
}

static void unload(struct loaded *L)
{
	if (L->rb)
		ring_buffer__free(L->rb);
	if (L->skel)
		datapath_destroy(L->skel);
	cls_tables_free(&L->t);
	flat_policy_free(&L->fp);
	policy_free(&L->pol);
	free(L->stats);
	memset(L, 0, sizeof(*L));
}

static void read_all_stats(struct loaded *L, struct rp_rule_stats *out)
{
	int fd = bpf_map__fd(L->skel->maps.rp_rule_stats);
	for (uint32_t s = 0; s < L->nslots; s++)
		assert_int_equal(datapath_rule_stats(fd, s, &out[s]), 0);
}

/* Returns false (and says why) when the generated text is not a valid
 * policy or too big for the classifier: the generator's fault, skipped. */
static bool load(struct loaded *L, const char *text, bool gateway, const struct cls_opts *copt)
{
	struct diag d;
	struct load_opts lo = { 0 };
	char err[512];

	memset(L, 0, sizeof(*L));
	L->text = text;
	L->gateway = gateway;
	L->copt = *copt;
	diag_init(&d, NULL, NULL);
	if (policy_load_string(&L->pol, "diff.rules", text, &lo, &d) != 0 || flatten_policy(&L->pol, &L->fp, &d) != 0) {
		fprintf(stderr, "generated policy refused (skipped):\n%s", text);
		diag_free(&d);
		diag_init(&d, stderr, NULL);
		policy_free(&L->pol);
		memset(&L->pol, 0, sizeof(L->pol));
		policy_load_string(&L->pol, "diff.rules", text, &lo, &d);
		diag_free(&d);
		unload(L);
		return false;
	}
	diag_free(&d);
	if (cls_compile_opts(&L->fp, (uint32_t)L->pol.nrules, copt, &L->t, err, sizeof(err)) != 0)
		fail_msg("cls_compile refused a small policy: %s\n%s", err, text);

	L->nslots = policy_nslots(&L->pol);
	struct datapath_opts o = { .conntrack_size = 256, .nslots = L->nslots };
	if (datapath_create(&L->skel, &o, &L->t))
		fail_msg("cannot load the datapath (see above)");
	assert_int_equal(datapath_write_rules(L->skel, &L->pol), 0);
	struct rp_config cfg;
	datapath_config_from_policy(&cfg, &L->pol);
	assert_int_equal(datapath_write_config(L->skel, &cfg), 0);
	L->rb = ring_buffer__new(bpf_map__fd(L->skel->maps.rp_log), on_log, NULL, NULL);
	assert_non_null(L->rb);
	L->stats = calloc(L->nslots, sizeof(*L->stats));
	assert_non_null(L->stats);
	read_all_stats(L, L->stats);
	return true;
}

/* Point ifindex TEST_IFINDEX at the case's interface; in gateway mode it
 * is the wan exactly when that interface is the wan's. */
static void set_case_iface(struct loaded *L, const struct pdesc *d)
{
	uint32_t id = policy_iface_id(&L->pol, d->ifname);
	struct rp_iface_key ifx = { .ifindex = TEST_IFINDEX };
	if (id || d->iface_entry)
		assert_int_equal(datapath_set_iface(L->skel, TEST_IFINDEX, id), 0);
	else
		bpf_map_delete_elem(bpf_map__fd(L->skel->maps.rp_ifaces), &ifx);
	if (L->gateway) {
		struct rp_config cfg;
		assert_int_equal(datapath_read_config(L->skel, &cfg), 0);
		cfg.flags |= RP_CFG_F_HAVE_WAN;
		cfg.wan_ifindex = strcmp(d->ifname, WAN_IFNAME) == 0 ? TEST_IFINDEX : 9999;
		assert_int_equal(datapath_write_config(L->skel, &cfg), 0);
	}
}

/* The event the datapath judges, per docs/datapath.md, built field by field. */
static void expected_event(const struct loaded *L, const struct pdesc *d, struct event *ev)
{
	u128 src, dst;
	int fam;
	memset(ev, 0, sizeof(*ev));
	assert_true(addr_parse(d->src, &src, &fam));
	assert_true(addr_parse(d->dst, &dst, &fam));
	enum direction dir = DIR_IN;
	if (d->hook == HOOK_TC)
		dir = DIR_OUT;
	else if (L->gateway && strcmp(d->ifname, WAN_IFNAME) != 0 && strcmp(d->dst, KT_LOCAL4) != 0 &&
		 strcmp(d->dst, KT_LOCAL6) != 0)
		dir = DIR_OUT;		   /* gateway: routed through, not arriving on the wan (docs/gateway.md) */
	enum event_type et = EVENT_PACKET; /* no socket in this namespace */
	if (d->hook == HOOK_TC && d->proto == 6)
		et = EVENT_CONNECT; /* test runs give the skb a socket */
	else if (d->hook == HOOK_TC && d->proto == 17)
		et = EVENT_SEND;
#define SET(f, v) (ev->has[f] = true, ev->val[f] = (u128)(v))
	SET(F_DIR, dir);
	SET(F_EVENT, et);
	SET(F_FAMILY, d->fam);
	SET(F_PROTO, d->proto);
	SET(F_IFACE, policy_iface_id(&L->pol, d->ifname));
	snprintf(ev->iface, sizeof(ev->iface), "%s", d->ifname);
	SET(F_LADDR, dir == DIR_IN ? dst : src);
	SET(F_RADDR, dir == DIR_IN ? src : dst);
	if (has_ports(d->proto)) {
		SET(F_LPORT, dir == DIR_IN ? d->dport : d->sport);
		SET(F_RPORT, dir == DIR_IN ? d->sport : d->dport);
	}
	if (d->icmp_type >= 0 && ((d->proto == 1 && d->fam == 4) || (d->proto == 58 && d->fam == 6)))
		SET(F_ICMPTYPE, d->proto == 58 ? ICMPV6_TYPE_BASE + d->icmp_type : d->icmp_type);
#undef SET
}

/* ---------- one case ---------- */

struct want_log {
	uint32_t slot;
	uint8_t verdict, flags;
};

struct totals {
	int cases, skipped_policies, policies, mismatches;
	int verdicts[VERDICT_COUNT]; /* as decided by the rules (ask before ask-default) */
	int hooks[2], defaults, in_jumped_table, recorded, logged;
	int keyed; /* policies compiled into keyed parts */
};

static struct pk pkt_out;

static int run_prog(struct loaded *L, const struct pdesc *d, struct pk *p)
{
	struct xdp_md xctx = { .data_end = p->n, .ingress_ifindex = TEST_IFINDEX };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = pkt_out.d,
		    .data_size_out = sizeof(pkt_out.d), .repeat = 1);
	int fd;
	if (d->hook == HOOK_XDP) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
		fd = bpf_program__fd(L->skel->progs.rampart_xdp);
	} else {
		fd = bpf_program__fd(L->skel->progs.rampart_tc_egress);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	pkt_out.n = o.data_size_out;
	return (int)o.retval;
}

/* Number of conntrack entries in both tables (deleted on the way: every
 * case starts with empty tables, so that it is judged as a new flow). */
static int take_conntrack(struct loaded *L, uint32_t *slot)
{
	int fds[] = { bpf_map__fd(L->skel->maps.rp_conntrack), bpf_map__fd(L->skel->maps.rp_ct_new) }, n = 0;
	struct ct_key k;
	struct ct_value v;
	for (int t = 0; t < 2; t++) {
		while (bpf_map_get_next_key(fds[t], NULL, &k) == 0 && n < 16) {
			if (bpf_map_lookup_elem(fds[t], &k, &v) == 0)
				*slot = v.rule_slot;
			bpf_map_delete_elem(fds[t], &k);
			n++;
		}
	}
	return n;
}

static const char *action_name(enum hook h, int ret)
{
	if (h == HOOK_XDP)
		return ret == XDP_PASS ? "XDP_PASS" : ret == XDP_DROP ? "XDP_DROP" : ret == XDP_TX ? "XDP_TX" : "XDP_?";
	return ret == TC_OK	    ? "TC_ACT_OK"
	       : ret == TC_SHOT	    ? "TC_ACT_SHOT"
	       : ret == TC_REDIRECT ? "TC_ACT_REDIRECT"
				    : "TC_?";
}

static void report(struct loaded *L, const struct pdesc *d, const struct event *ev, const char *why, int ret,
		   const struct rp_rule_stats *now, const struct eval_result *r)
{
	char pb[512], eb[1024];
	describe_packet(d, pb, sizeof(pb));
	event_format(ev, eb, sizeof(eb));
	fprintf(stderr, "\n==== MISMATCH: %s\n---- policy:\n%s---- packet: %s\n---- event: %s\n", why, L->text, pb, eb);
	fprintf(stderr,
		"---- interpreter: %s by %s %d (table %s, slot %u), log %d, recorded:", verdict_name(r->verdict),
		r->rule >= 0 ? "rule" : "default of table", r->rule >= 0 ? r->rule : r->table,
		L->pol.tables[r->table].name, policy_rule_slot(&L->pol, r->rule, r->table), r->log);
	for (int i = 0; i < r->nrecorded; i++)
		fprintf(stderr, " %d", r->recorded[i]);
	fprintf(stderr, "\n");
	if (r->rule >= 0)
		fprintf(stderr, "     deciding rule: %s\n", L->pol.rules[r->rule].text);
	struct eval_result tr = { 0 };
	eval_event(&L->pol, ev, &tr, true);
	for (int i = 0; i < tr.nsteps; i++)
		fprintf(stderr, "     step %d: kind %d table %d rule %d field %d%s\n", i, tr.steps[i].kind,
			tr.steps[i].table, tr.steps[i].rule, tr.steps[i].field,
			tr.steps[i].not_carried ? " (not carried)" : "");
	eval_result_free(&tr);
	struct eval_result fr = { 0 };
	flat_eval(&L->fp, ev, &fr);
	fprintf(stderr, "---- flat_eval: %s slot %u\n", verdict_name(fr.verdict),
		policy_rule_slot(&L->pol, fr.rule, fr.table));
	eval_result_free(&fr);
	struct cls_fields cf;
	struct cls_result cr;
	cls_event_fields(ev, &cf);
	if (cls_lookup(&L->t, &cf, &cr) == 0) {
		fprintf(stderr, "---- cls_lookup (user space): %s slot %u log %d records:", verdict_name(cr.verdict),
			cr.slot, cr.log);
		for (int i = 0; i < cr.nrecords && i < CLS_MAX_RECORDS; i++)
			fprintf(stderr, " %u", cr.records[i].slot);
		fprintf(stderr, "\n");
	} else {
		fprintf(stderr, "---- cls_lookup (user space): a lookup missed\n");
	}
	fprintf(stderr, "---- kernel: %s; slots counted:", action_name(d->hook, ret));
	for (uint32_t s = 0; s < L->nslots; s++)
		if (now[s].packets != L->stats[s].packets)
			fprintf(stderr, " %u(+%llu)", s, (unsigned long long)(now[s].packets - L->stats[s].packets));
	fprintf(stderr, "; log events:");
	for (int i = 0; i < nlogs && i < MAX_LOGS; i++)
		fprintf(stderr, " [slot %u verdict %s flags %#x]", logs[i].rule_slot, verdict_name(logs[i].verdict),
			logs[i].flags);
	fprintf(stderr, "\n");
}

/* Judge one packet both ways; returns false on a mismatch (reported). */
static bool run_case(struct loaded *L, const struct pdesc *d, struct totals *tot, bool verbose)
{
	struct event ev;
	struct eval_result r = { 0 };
	struct pk p;
	char why[256] = "";

	set_case_iface(L, d);
	expected_event(L, d, &ev);
	eval_event(&L->pol, &ev, &r, false);
	enum verdict applied = r.verdict == VERDICT_ASK ? L->pol.opt.ask_default : r.verdict;
	uint32_t slot = policy_rule_slot(&L->pol, r.rule, r.table);

	build_packet(d, &p);
	struct pk in = p;
	nlogs = 0;
	int ret = run_prog(L, d, &p);
	ring_buffer__consume(L->rb);
	struct rp_rule_stats *now = calloc(L->nslots, sizeof(*now));
	assert_non_null(now);
	read_all_stats(L, now);
	uint32_t ct_slot = RP_SLOT_NONE;
	int nct = take_conntrack(L, &ct_slot);

	/* verdict */
	int want;
	if (d->hook == HOOK_XDP)
		want = applied == VERDICT_ALLOW ? XDP_PASS : applied == VERDICT_REJECT ? XDP_TX : XDP_DROP;
	else
		want = applied == VERDICT_ALLOW ? TC_OK : applied == VERDICT_REJECT ? TC_REDIRECT : TC_SHOT;
	if (ret != want)
		snprintf(why, sizeof(why), "verdict: kernel %s, interpreter %s (%s)", action_name(d->hook, ret),
			 action_name(d->hook, want), verdict_name(r.verdict));

	/* a reject answers the packet's source */
	if (!why[0] && applied == VERDICT_REJECT) {
		uint32_t off = d->fam == 4 ? 12 : 8, dst = d->fam == 4 ? 16 : 24, alen = d->fam == 4 ? 4 : 16;
		if (pkt_out.n < in.l3 + dst + alen || memcmp(pkt_out.d + in.l3 + dst, in.d + in.l3 + off, alen) != 0)
			snprintf(why, sizeof(why), "the reject answer is not addressed to the packet's source");
		/* TCP is answered with a RST, anything else with an unreachable */
		int want_proto = d->proto == 6 ? 6 : d->fam == 4 ? 1 : 58;
		int got_proto = pkt_out.n > in.l3 + 9 ? pkt_out.d[in.l3 + (d->fam == 4 ? 9 : 6)] : -1;
		if (!why[0] && got_proto != want_proto)
			snprintf(why, sizeof(why), "the reject answer is protocol %d, expected %d", got_proto,
				 want_proto);
	}

	/* counters: the deciding slot once, each of the first CLS_MAX_RECORDS
	 * recorded rules once, nothing else */
	uint64_t *want_pk = calloc(L->nslots, sizeof(*want_pk));
	assert_non_null(want_pk);
	int nrec = r.nrecorded < CLS_MAX_RECORDS ? r.nrecorded : CLS_MAX_RECORDS;
	for (int i = 0; i < nrec; i++)
		want_pk[r.recorded[i]]++;
	want_pk[slot]++;
	for (uint32_t s = 0; s < L->nslots && !why[0]; s++)
		if (now[s].packets - L->stats[s].packets != want_pk[s])
			snprintf(why, sizeof(why),
				 "rule counters: slot %u counted %llu new flows, interpreter says %llu", s,
				 (unsigned long long)(now[s].packets - L->stats[s].packets),
				 (unsigned long long)want_pk[s]);
	free(want_pk);

	/* log events: recorded continue rules (and jump rules with `log`), in
	 * order, then the deciding rule when it has `log` */
	struct want_log wl[CLS_MAX_RECORDS + 1];
	int nwl = 0;
	for (int i = 0; i < nrec; i++) {
		const struct rule *ru = &L->pol.rules[r.recorded[i]];
		if (ru->verdict == VERDICT_CONTINUE || ru->log)
			wl[nwl++] = (struct want_log){ (uint32_t)ru->id, (uint8_t)ru->verdict, RP_LOGF_RECORD };
	}
	if (r.log)
		wl[nwl++] = (struct want_log){ slot, (uint8_t)applied, r.verdict == VERDICT_ASK ? RP_LOGF_ASK : 0 };
	if (!why[0] && nlogs != nwl)
		snprintf(why, sizeof(why), "log events: kernel sent %d, interpreter expects %d", nlogs, nwl);
	for (int i = 0; i < nwl && !why[0]; i++) {
		const struct rp_log_event *e = &logs[i];
		uint8_t egress = d->hook == HOOK_TC ? RP_LOGF_EGRESS : 0;
		if (e->rule_slot != wl[i].slot || e->verdict != wl[i].verdict || e->flags != (wl[i].flags | egress) ||
		    e->dir != ev.val[F_DIR] || e->event != ev.val[F_EVENT] || e->proto != d->proto ||
		    e->family != d->fam || e->iface_id != ev.val[F_IFACE] ||
		    (has_ports(d->proto) && (e->lport != ev.val[F_LPORT] || e->rport != ev.val[F_RPORT])))
			snprintf(why, sizeof(why),
				 "log event %d: slot %u verdict %u flags %#x dir %u event %u iface %u ports %u/%u; "
				 "expected slot %u verdict %u flags %#x",
				 i, e->rule_slot, e->verdict, e->flags, e->dir, e->event, e->iface_id, e->lport,
				 e->rport, wl[i].slot, wl[i].verdict, wl[i].flags | egress);
	}

	/* conntrack: an allowed flow is tracked (ICMP other than echo is
	 * judged each time and never tracked); nothing else is */
	bool stateless = (d->proto == 1 && d->fam == 4 && d->icmp_type >= 0 && d->icmp_type != 8) ||
			 (d->proto == 58 && d->fam == 6 && d->icmp_type != 128);
	int want_ct = applied == VERDICT_ALLOW && !stateless ? 1 : 0;
	if (!why[0] && nct != want_ct)
		snprintf(why, sizeof(why), "conntrack: %d entries after the packet, expected %d", nct, want_ct);
	if (!why[0] && nct == 1 && ct_slot != slot)
		snprintf(why, sizeof(why), "conntrack entry names slot %u, expected %u", ct_slot, slot);

	bool ok = !why[0];
	if (!ok && verbose)
		report(L, d, &ev, why, ret, now, &r);
	memcpy(L->stats, now, L->nslots * sizeof(*now));
	free(now);

	tot->cases++;
	tot->verdicts[r.verdict]++;
	tot->hooks[d->hook]++;
	tot->defaults += r.rule < 0;
	tot->in_jumped_table += r.table != L->pol.root;
	tot->recorded += r.nrecorded > 0;
	tot->logged += nwl > 0;
	eval_result_free(&r);
	return ok;
}

/* ---------- the test ---------- */

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (*end)
		fail_msg("%s=%s: not a number", name, s);
	return v;
}

static void test_kernel_agrees_with_interpreter(void **state)
{
	unsigned long ncases = env_ulong("RAMPART_DIFF_CASES", 4000);
	uint64_t seed = env_ulong("RAMPART_DIFF_SEED", (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16));
	printf("test_differential: seed %llu, %lu cases (RAMPART_DIFF_SEED / RAMPART_DIFF_CASES to replay or scale)\n",
	       (unsigned long long)seed, ncases);
	rng_state = seed * 2654435761u + 0x9E3779B97F4A7C15ull;
	if (!rng_state)
		rng_state = 1;

	static struct sbuf text;
	struct totals tot = { 0 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((unsigned long)tot.cases < ncases) {
		bool gateway = false;
		struct cls_opts copt = { 0 };
		bool is_cb = tot.policies % 3 == 2;
		if (is_cb) {
			/* ClassBench-style: mostly split into keyed parts */
			char *cb = cb_policy((enum cb_profile)below(CB_NPROFILES), 20 + below(150), rnd());
			copt.force_parts = chance(75);
			copt.no_dense = chance(30);
			text.n = 0;
			sb_printf(&text, "%s", cb);
			free(cb);
		} else {
			gen_policy(&text, &gateway);
		}
		struct loaded L;
		if (!load(&L, text.s, gateway, &copt)) {
			tot.skipped_policies++;
			assert_true(tot.skipped_policies <=
				    5 + tot.policies / 20); /* the generator must write valid policies */
			continue;
		}
		tot.policies++;
		tot.keyed += L.t.config.nparts > 1;
		for (int i = 0; i < PACKETS_PER_POLICY && (unsigned long)tot.cases < ncases; i++) {
			struct pdesc d;
			if (is_cb)
				rule_packet(&L, &d);
			else
				random_packet(&d);
			if (!run_case(&L, &d, &tot, tot.mismatches < MAX_REPORTS))
				tot.mismatches++;
		}
		unload(&L);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("test_differential: %d cases over %d policies in %.1f s: allow %d, deny %d, reject %d, ask %d; "
	       "XDP %d, tc %d; decided by a table default %d, in a jumped-to table %d, with recorded rules %d, "
	       "with log events %d; %d policies in keyed parts\n",
	       tot.cases, tot.policies, secs, tot.verdicts[VERDICT_ALLOW], tot.verdicts[VERDICT_DENY],
	       tot.verdicts[VERDICT_REJECT], tot.verdicts[VERDICT_ASK], tot.hooks[HOOK_XDP], tot.hooks[HOOK_TC],
	       tot.defaults, tot.in_jumped_table, tot.recorded, tot.logged, tot.keyed);
	if (tot.mismatches)
		fail_msg("%d of %d cases differ between the kernel and the interpreter (seed %llu)", tot.mismatches,
			 tot.cases, (unsigned long long)seed);
	/* the comparison was not vacuous: every outcome was exercised */
	if (ncases >= 1000) {
		for (int v = VERDICT_ALLOW; v <= VERDICT_ASK; v++)
			assert_true(tot.verdicts[v] > 0);
		assert_true(tot.hooks[HOOK_XDP] > 0 && tot.hooks[HOOK_TC] > 0);
		assert_true(tot.defaults > 0 && tot.in_jumped_table > 0 && tot.recorded > 0 && tot.logged > 0);
		assert_true(tot.keyed > 0);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_differential: needs root (BPF_PROG_TEST_RUN), skipped\n");
		return 0;
	}
	/* a private network namespace: no socket can turn a packet into an
	 * accept/receive event behind the test's back */
	if (kt_private_netns())
		return 1;
	libbpf_set_print(NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_agrees_with_interpreter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
