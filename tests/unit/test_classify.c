/* The packet classifier: the compiled tables, looked up the way the BPF
 * side looks them up (cls_lookup), judge every event exactly as the
 * flattened policy (flat_eval) and the reference interpreter (eval_event)
 * do -- same verdict, same deciding rule, same continue/jump records. */
#include <time.h>
#include "judge.h"
#include "../bench/classbench.h"
#include "classify.h"
#include "random_policy.h"

/* ---------- helpers ---------- */

struct compiled {
	struct policy *p;
	struct flat_policy fp;
	struct cls_tables t;
};

static void compile_text_opts(struct compiled *c, const char *text, const struct cls_opts *o)
{
	char err[512];
	struct diag d;
	c->p = load_policy_text_ok(text);
	diag_init(&d, stderr, NULL);
	assert_int_equal(flatten_policy(c->p, &c->fp, &d), 0);
	diag_free(&d);
	if (cls_compile_opts(&c->fp, (uint32_t)c->p->nrules, o, &c->t, err, sizeof(err)))
		fail_msg("cls_compile: %s", err);
}

static void compile_text(struct compiled *c, const char *text)
{
	struct cls_opts o = { 0 };
	compile_text_opts(c, text, &o);
}

static void compiled_free(struct compiled *c)
{
	cls_tables_free(&c->t);
	flat_policy_free(&c->fp);
	free_policy(c->p);
}

static uint32_t slot_of(const struct compiled *c, const struct eval_result *r)
{
	return r->rule >= 0 ? (uint32_t)r->rule : (uint32_t)(c->p->nrules + r->table);
}

/* Compares a classifier result with a reference result. */
static void assert_agrees(const struct cls_result *cr, const struct eval_result *r, uint32_t slot)
{
	assert_int_equal(cr->verdict, r->verdict);
	assert_int_equal(cr->slot, slot);
	assert_int_equal(cr->log, r->log);
	if (r->nrecorded > CLS_MAX_RECORDS) {
		assert_int_equal(cr->overflow, 1);
		assert_int_equal(cr->nrecords, CLS_MAX_RECORDS);
	} else {
		assert_int_equal(cr->overflow, 0);
		assert_int_equal(cr->nrecords, r->nrecorded);
	}
	for (int i = 0; i < cr->nrecords; i++)
		assert_int_equal(cr->records[i].slot, (uint32_t)r->recorded[i]);
}

/* Judges an event written in `explain` syntax with all three judges and
 * checks they agree; returns the classifier's answer. */
static struct cls_result judge_text(struct compiled *c, const char *evtext)
{
	struct event ev;
	struct diag d;
	diag_init(&d, stderr, NULL);
	if (event_parse(&ev, c->p, evtext, &d))
		fail_msg("bad event: %s", evtext);
	diag_free(&d);
	struct cls_fields f;
	struct cls_result cr;
	struct eval_result a, b;
	cls_event_fields(&ev, &f);
	assert_int_equal(cls_lookup(&c->t, &f, &cr), 0);
	eval_event(c->p, &ev, &a, false);
	flat_eval(&c->fp, &ev, &b);
	assert_agrees(&cr, &a, slot_of(c, &a));
	assert_agrees(&cr, &b, slot_of(c, &b));
	eval_result_free(&a);
	eval_result_free(&b);
	return cr;
}

/* Line of the rule that decided (0 for a table default). */
static int decided_line(const struct compiled *c, const struct cls_result *r)
{
	return r->slot < (uint32_t)c->p->nrules ? c->p->rules[r->slot].loc.line : 0;
}

static int record_line(const struct compiled *c, const struct cls_result *r, int i)
{
	return c->p->rules[r->records[i].slot].loc.line;
}

/* ---------- hand-written cases ---------- */

static void test_first_match_wins_in_order(void **state)
{
	struct compiled c;
	compile_text(&c, "table root default deny {\n"
			 "  allow in proto tcp local port 22\n"	   /* 2 */
			 "  deny in proto tcp local port 1-1024\n" /* 3 */
			 "  allow in proto tcp local port 20-30\n" /* 4: shadowed for 22 */
			 "  reject in proto udp\n"		   /* 5 */
			 "}\n");
	struct cls_result r = judge_text(&c, "in proto tcp local port 22 remote 192.0.2.1 port 5000");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto tcp local port 23 remote 192.0.2.1 port 5000");
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(decided_line(&c, &r), 3);
	r = judge_text(&c, "in proto tcp local port 2000 remote 192.0.2.1 port 5000");
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(decided_line(&c, &r), 0); /* root default */
	assert_int_equal(r.slot, (uint32_t)c.p->nrules + (uint32_t)c.p->root);
	r = judge_text(&c, "in proto udp local port 53 remote 192.0.2.1 port 5000");
	assert_int_equal(r.verdict, VERDICT_REJECT);
	assert_int_equal(decided_line(&c, &r), 5);
	r = judge_text(&c, "out proto tcp local port 22 remote 192.0.2.1 port 5000");
	assert_int_equal(decided_line(&c, &r), 0);
	compiled_free(&c);
}

static void test_continue_and_jump_are_recorded_in_order(void **state)
{
	struct compiled c;
	compile_text(&c, "table web default continue {\n"
			 "  continue proto tcp remote port 80\n"   /* 2 */
			 "  allow out proto tcp remote port 443\n" /* 3 */
			 "}\n"
			 "table root default deny {\n"
			 "  continue out\n"			   /* 6 */
			 "  jump web log remote 198.51.100.0/24\n" /* 7 */
			 "  continue remote port 80\n"		   /* 8 */
			 "  allow out remote port 80\n"		   /* 9 */
			 "}\n");
	struct cls_result r = judge_text(&c, "out proto tcp remote 198.51.100.7 port 80");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(decided_line(&c, &r), 9);
	assert_int_equal(r.nrecords, 4);
	assert_int_equal(record_line(&c, &r, 0), 6);
	assert_int_equal(record_line(&c, &r, 1), 7);
	assert_int_equal(r.records[1].verdict, VERDICT_JUMP);
	assert_int_equal(r.records[1].log, 1);
	assert_int_equal(record_line(&c, &r, 2), 2);
	assert_int_equal(r.records[2].verdict, VERDICT_CONTINUE);
	assert_int_equal(r.records[2].log, 1);
	assert_int_equal(record_line(&c, &r, 3), 8);
	r = judge_text(&c, "out proto tcp remote 198.51.100.7 port 443");
	assert_int_equal(decided_line(&c, &r), 3);
	assert_int_equal(r.nrecords, 2);
	r = judge_text(&c, "in proto tcp remote 203.0.113.9 port 443");
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.nrecords, 0);
	compiled_free(&c);
}

static void test_negation_and_not_carried_fields(void **state)
{
	struct compiled c;
	compile_text(&c, "table root default allow {\n"
			 "  deny remote ! 192.0.2.0/24\n" /* 2 */
			 "  reject remote port ! 80\n"	  /* 3 */
			 "  ask app /usr/bin/x\n"	  /* 4 */
			 "}\n");
	/* inside the negated set: goes on */
	struct cls_result r = judge_text(&c, "in proto tcp remote 192.0.2.9 port 80");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	/* the complement covers IPv6 too */
	r = judge_text(&c, "in proto tcp remote 2001:db8::1 port 80");
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto tcp remote 192.0.2.9 port 81");
	assert_int_equal(decided_line(&c, &r), 3);
	/* no remote address and no port carried: negations do not match */
	r = judge_text(&c, "out event network proto tcp app /usr/bin/x");
	assert_int_equal(r.verdict, VERDICT_ASK);
	assert_int_equal(decided_line(&c, &r), 4);
	r = judge_text(&c, "out event network proto tcp app /usr/bin/y");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	compiled_free(&c);
}

static void test_families_ranges_and_nested_prefixes(void **state)
{
	struct compiled c;
	compile_text(&c, "table root default deny {\n"
			 "  allow remote 192.0.2.128/25 port 1000-2000\n"		/* 2 */
			 "  reject remote 192.0.2.0/24\n"				/* 3 */
			 "  allow remote 192.0.2.10-192.0.2.20\n"			/* 4: shadowed */
			 "  ask remote 2001:db8::/32\n"					/* 5 */
			 "  allow ip6\n"						/* 6 */
			 "  allow remote 198.51.100.5-198.51.100.9 port { 1, 65535 }\n" /* 7 */
			 "}\n");
	struct cls_result r = judge_text(&c, "in proto udp remote 192.0.2.200 port 1500");
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto udp remote 192.0.2.200 port 2001");
	assert_int_equal(decided_line(&c, &r), 3);
	r = judge_text(&c, "in proto udp remote 192.0.2.15 port 1500");
	assert_int_equal(decided_line(&c, &r), 3);
	r = judge_text(&c, "in proto udp remote 2001:db8::5 port 1");
	assert_int_equal(decided_line(&c, &r), 5);
	r = judge_text(&c, "in proto udp remote 2001:db9::5 port 1");
	assert_int_equal(decided_line(&c, &r), 6);
	/* ::ffff:192.0.2.1 is the IPv4 address; an IPv6 event needs ip6 to match */
	r = judge_text(&c, "in proto udp remote 198.51.100.9 port 65535");
	assert_int_equal(decided_line(&c, &r), 7);
	r = judge_text(&c, "in proto udp remote 198.51.100.10 port 65535");
	assert_int_equal(decided_line(&c, &r), 0);
	r = judge_text(&c, "in proto udp remote 198.51.100.4 port 1");
	assert_int_equal(decided_line(&c, &r), 0);
	compiled_free(&c);
}

static void test_cgroup_intervals_users_and_ifaces(void **state)
{
	struct compiled c;
	compile_text(&c, "interface wan = eth1\n"
			 "table root default allow {\n"
			 "  deny cgroup /a user 1000\n" /* 3 */
			 "  reject cgroup /a/b\n"	/* 4 */
			 "  ask on wan\n"		/* 5 */
			 "  deny user 0\n"		/* 6 */
			 "}\n");
	struct cls_result r = judge_text(&c, "out event network proto tcp cgroup /a/b/c user 1000");
	assert_int_equal(decided_line(&c, &r), 3);
	r = judge_text(&c, "out event network proto tcp cgroup /a/b/c user 1001");
	assert_int_equal(decided_line(&c, &r), 4);
	r = judge_text(&c, "out event network proto tcp cgroup /a user 1001");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	r = judge_text(&c, "out event network proto tcp cgroup /zzz user 0");
	assert_int_equal(decided_line(&c, &r), 6);
	r = judge_text(&c, "in proto tcp on eth1 remote 203.0.113.1 port 5");
	assert_int_equal(decided_line(&c, &r), 5);
	r = judge_text(&c, "in proto tcp on eth0 remote 203.0.113.1 port 5");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	compiled_free(&c);
}

/* Interface patterns: a device takes the literal name's id, else the id of
 * the combination of patterns it matches; `on PATTERN` covers both. */
static void test_interface_patterns(void **state)
{
	struct compiled c;
	compile_text(&c, "interface lan = br-*\n"
			 "table root default deny {\n"
			 "  allow in on lan proto tcp local port 80\n"		/* 3 */
			 "  allow in on veth* proto tcp local port 81\n"	/* 4 */
			 "  allow in on br-lan proto tcp local port 82\n"	/* 5 */
			 "  allow in on { *0, eth1 } proto tcp local port 83\n" /* 6 */
			 "}\n");
	static const struct {
		const char *ev;
		int line;
	} cases[] = {
		{ "in proto tcp local port 80 on br-x", 3 },   { "in proto tcp local port 80 on br-lan", 3 },
		{ "in proto tcp local port 82 on br-lan", 5 }, { "in proto tcp local port 82 on br-x", 0 },
		{ "in proto tcp local port 81 on veth1", 4 },  { "in proto tcp local port 81 on br-1", 0 },
		{ "in proto tcp local port 83 on veth0", 6 },  { "in proto tcp local port 81 on veth0", 4 },
		{ "in proto tcp local port 83 on br-0", 6 },   { "in proto tcp local port 80 on br-0", 3 },
		{ "in proto tcp local port 83 on eth1", 6 },   { "in proto tcp local port 83 on eth2", 0 },
		{ "in proto tcp local port 80 on eth0", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cls_result r = judge_text(&c, cases[i].ev);
		if (decided_line(&c, &r) != cases[i].line)
			fail_msg("%s: line %d, expected %d", cases[i].ev, decided_line(&c, &r), cases[i].line);
	}
	compiled_free(&c);
}

static void test_icmp_types_per_family(void **state)
{
	struct compiled c;
	compile_text(&c, "table root default deny {\n"
			 "  allow icmp-type echo-request\n"    /* 2 */
			 "  reject proto icmpv6 icmp-type 1\n" /* 3 */
			 "}\n");
	struct cls_result r = judge_text(&c, "in proto icmp icmp-type echo-request remote 192.0.2.1");
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto icmpv6 icmp-type echo-request remote 2001:db8::1");
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto icmpv6 icmp-type 1 remote 2001:db8::1");
	assert_int_equal(decided_line(&c, &r), 3);
	r = judge_text(&c, "in proto icmp icmp-type 1 remote 192.0.2.1");
	assert_int_equal(decided_line(&c, &r), 0);
	compiled_free(&c);
}

static void test_too_many_records_overflow(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "table root default allow {\n");
	for (int i = 0; i < CLS_MAX_RECORDS + 4; i++)
		fprintf(m, "  continue remote port %d-%d\n", 10 + i, 1000);
	fprintf(m, "}\n");
	fclose(m);
	struct compiled c;
	compile_text(&c, text);
	struct cls_result r = judge_text(&c, "in proto tcp remote 192.0.2.1 port 500");
	assert_int_equal(r.overflow, 1);
	assert_int_equal(r.nrecords, CLS_MAX_RECORDS);
	assert_int_equal(record_line(&c, &r, 0), 2);
	r = judge_text(&c, "in proto tcp remote 192.0.2.1 port 12");
	assert_int_equal(r.overflow, 0);
	assert_int_equal(r.nrecords, 3);
	compiled_free(&c);
	free(text);
}

static void test_tables_are_small_for_independent_rules(void **state)
{
	struct compiled c;
	compile_text(&c, "table root default deny {\n"
			 "  allow out proto tcp remote port { 80, 443 }\n"
			 "  deny remote 203.0.113.0/24 log\n"
			 "  allow in proto tcp local port 22\n"
			 "}\n");
	/* a handful of classes everywhere; the wide fields share the base class */
	for (int n = 0; n < CLS_NODES; n++)
		assert_true(c.t.nclasses[n] <= 8);
	assert_true(c.t.npairs < 40);
	struct cls_sizes s;
	cls_tables_sizes(&c.t, &s);
	assert_true(s.blocks >= 1 && s.actions == c.t.nactions);
	assert_true(s.bytes > 0);
	compiled_free(&c);
}

static void test_event_fields_conversion(void **state)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.has[F_DIR] = ev.has[F_PROTO] = ev.has[F_RADDR] = ev.has[F_RPORT] = true;
	ev.val[F_DIR] = DIR_OUT;
	ev.val[F_PROTO] = 6;
	addr_parse("192.0.2.1", &ev.val[F_RADDR], NULL);
	ev.val[F_RPORT] = 443;
	struct cls_fields f;
	cls_event_fields(&ev, &f);
	const uint8_t *ra = (const uint8_t *)f.raddr;
	assert_int_equal(ra[10], 0xff);
	assert_int_equal(ra[11], 0xff);
	assert_int_equal(ra[12], 192);
	assert_int_equal(ra[15], 1);
	assert_int_equal(f.rport, 443);
	assert_int_equal(f.has_ports, 1);
	assert_true(f.absent & CLS_ABSENT(F_LPORT));
	assert_false(f.absent & CLS_ABSENT(F_RPORT));
	assert_true(f.absent & CLS_ABSENT(F_LADDR));
	assert_true(f.absent & CLS_ABSENT(F_EVENT));
	assert_int_equal(f.has_app, 0);
}

static void test_no_default_is_refused(void **state)
{
	struct flat_policy fp = { 0 };
	struct flat_entry e;
	memset(&e, 0, sizeof(e));
	e.kind = FLAT_TERMINAL;
	e.cond[F_DIR].used = true;
	vset_add(&e.cond[F_DIR].set, 0, 0);
	fp.e = &e;
	fp.n = 1;
	struct cls_tables t;
	char err[256];
	assert_int_equal(cls_compile(&fp, 1, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no final default"));
	vset_free(&e.cond[F_DIR].set);
}

/* ---------- differential: random flat policies x random events ---------- */

static u128 v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return addr_from_v4((a << 24) | (b << 16) | (c << 8) | d);
}

static u128 v6(uint32_t hi32, uint32_t low)
{
	return ((u128)hi32 << 96) | low;
}

/* A few values around which both rules and events are drawn, so that they
 * meet: prefixes nest and ranges share edges. */
static u128 random_addr(void)
{
	switch (rnd(8)) {
	case 0:
		return v4(192, 0, 2, rnd(4) * 64 + rnd(3));
	case 1:
		return v4(192, 0, 2, 255 - rnd(3));
	case 2:
		return v4(198, 51, 100, rnd(256));
	case 3:
		return v4(203, 0, 113, rnd(8));
	case 4:
		return v6(0x20010db8, rnd(4));
	case 5:
		return v6(0x20010db8, 0x8000 + rnd(4)) | ((u128)rnd(2) << 64);
	case 6:
		return (u128)rnd(3);
	default:
		return ~(u128)0 - rnd(3);
	}
}

static u128 random_value(int f)
{
	switch (f) {
	case F_DIR:
		return rnd(2);
	case F_EVENT:
		return rnd(EVENT_COUNT);
	case F_FAMILY:
		return rnd(2) ? 4 : 6;
	case F_PROTO: {
		static const unsigned p[] = { 0, 1, 6, 17, 58, 255 };
		return p[rnd(6)];
	}
	case F_LPORT:
	case F_RPORT: {
		static const unsigned p[] = { 0, 1, 22, 79, 80, 81, 443, 1000, 5000, 65534, 65535 };
		return p[rnd(11)];
	}
	case F_ICMPTYPE: {
		static const unsigned p[] = { 0, 3, 8, 255, 256, 256 + 128, 511 };
		return p[rnd(7)];
	}
	case F_IFACE:
	case F_APP:
	case F_CGROUP:
		return rnd(6);
	case F_USER: {
		static const unsigned p[] = { 0, 1, 999, 1000, 65534, 4294967295u };
		return p[rnd(6)];
	}
	default:
		return random_addr();
	}
}

static void random_set(int f, struct vset *s)
{
	int k = 1 + (int)rnd(3);
	for (int i = 0; i < k; i++) {
		u128 a = random_value(f), b = random_value(f);
		if (a > b) {
			u128 t = a;
			a = b;
			b = t;
		}
		if ((f == F_LADDR || f == F_RADDR) && rnd(2)) {
			/* a CIDR prefix around a */
			int len = (int)rnd(129);
			u128 m = len == 0 ? 0 : ~(u128)0 << (128 - len);
			if (len == 128)
				m = ~(u128)0;
			if (rnd(2) && addr_is_v4(a))
				len = 96 + (int)rnd(33), m = len == 128 ? ~(u128)0 : ~(u128)0 << (128 - len);
			vset_add(s, a & m, (a & m) | ~m);
		} else if (rnd(3) == 0) {
			vset_add(s, a, a);
		} else {
			vset_add(s, a, b);
		}
	}
	if (rnd(5) == 0) {
		struct vset comp = { 0 };
		vset_complement(&comp, s, field_max(f));
		vset_free(s);
		*s = comp;
	}
}

static void random_flat_policy(struct flat_policy *fp, int n)
{
	fp->n = n;
	fp->e = calloc((size_t)n, sizeof(*fp->e));
	/* fields per entry ~ F_COUNT / prob: small policies get many wide
	 * conditions, larger ones fewer (as real rules have), so that the
	 * cross products stay within the classifier's bounds */
	int prob = n <= 12 ? 2 + (int)rnd(5) : 6 + (int)rnd(6);
	for (int i = 0; i < n; i++) {
		struct flat_entry *e = &fp->e[i];
		bool last = i == n - 1;
		e->kind = !last && rnd(3) == 0 ? FLAT_RECORD : FLAT_TERMINAL;
		e->verdict = e->kind == FLAT_RECORD ? (rnd(2) ? VERDICT_CONTINUE : VERDICT_JUMP) : (enum verdict)rnd(4);
		e->rule = last || rnd(6) == 0 ? -1 : i;
		if (e->kind == FLAT_RECORD)
			e->rule = i;
		e->table = (int)rnd(3);
		e->log = rnd(3) == 0;
		if (last || rnd(40) == 0)
			continue; /* no conditions */
		for (int f = 0; f < F_COUNT; f++) {
			if (rnd((unsigned)(prob * 2)) >= 2)
				continue;
			e->cond[f].used = true;
			random_set(f, &e->cond[f].set);
			if (vset_empty(&e->cond[f].set))
				vset_add(&e->cond[f].set, random_value(f), random_value(f) | 0); /* keep it non-empty */
			if (vset_empty(&e->cond[f].set)) {
				u128 v = random_value(f);
				vset_add(&e->cond[f].set, v, v);
			}
		}
	}
}

static void random_event_struct(struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	for (int f = 0; f < F_COUNT; f++) {
		ev->has[f] = rnd(6) != 0;
		ev->val[f] = random_value(f);
	}
}

/* The reference walk, also giving the deciding entry's index. */
static int ref_entry(const struct flat_policy *fp, const struct event *ev)
{
	for (int i = 0; i < fp->n; i++) {
		bool m = true;
		for (int f = 0; f < F_COUNT && m; f++)
			m = cond_matches(&fp->e[i].cond[f], ev, f);
		if (m && fp->e[i].kind == FLAT_TERMINAL)
			return i;
	}
	return -1;
}

static void test_random_flat_policies_agree(void **state)
{
	srand(4242);
	long events = 0, by_entry = 0, recorded = 0, stored_pairs = 0, projected = 0, keyed_parts = 0, cands = 0;
	for (int iter = 0; iter < 1500; iter++) {
		struct flat_policy fp;
		random_flat_policy(&fp, 1 + (int)rnd(iter < 750 ? 12 : 40));
		struct cls_tables t;
		char err[256];
		uint32_t nrules = (uint32_t)fp.n;
		/* odd iterations: sparse tables everywhere (buckets, projections,
		 * first-entry shortcut, fallback), even ones as apply compiles;
		 * every third: split into keyed parts (candidates, checks) */
		struct cls_opts o = { .no_dense = iter & 1, .force_parts = iter % 3 == 2 };
		if (cls_compile_opts(&fp, nrules, &o, &t, err, sizeof(err)))
			fail_msg("iteration %d: %s", iter, err);
		keyed_parts += t.config.nparts - 1;
		cands += t.ncands;
		stored_pairs += t.npairs;
		projected += t.nprojected;
		for (int k = 0; k < 60; k++) {
			struct event ev;
			random_event_struct(&ev);
			struct cls_fields f;
			struct cls_result cr;
			struct eval_result r;
			cls_event_fields(&ev, &f);
			assert_int_equal(cls_lookup(&t, &f, &cr), 0);
			flat_eval(&fp, &ev, &r);
			int ent = ref_entry(&fp, &ev);
			if ((int)cr.entry != ent)
				fail_msg("iteration %d event %d: classifier entry %u, reference %d", iter, k, cr.entry,
					 ent);
			const struct flat_entry *de = &fp.e[ent];
			assert_agrees(&cr, &r, de->rule >= 0 ? (uint32_t)de->rule : nrules + (uint32_t)de->table);
			events++;
			by_entry += ent < fp.n - 1;
			recorded += r.nrecorded > 0;
			eval_result_free(&r);
		}
		cls_tables_free(&t);
		for (int i = 0; i < fp.n; i++)
			for (int f = 0; f < F_COUNT; f++)
				vset_free(&fp.e[i].cond[f].set);
		free(fp.e);
	}
	assert_int_equal(events, 1500 * 60);
	/* the generator exercises rules, records and stored pairs, not only defaults */
	assert_true(by_entry > events / 5);
	assert_true(recorded > events / 20);
	assert_true(stored_pairs > 1500);
	assert_true(projected > 100); /* pairs of projections are exercised too */
	fprintf(stderr, "[ info ] %ld stored pairs (%ld projections), %ld keyed parts, %ld candidates\n", stored_pairs,
		projected, keyed_parts, cands);
	assert_true(keyed_parts > 500 && cands > 5000); /* and keyed parts */
}

/* ---------- differential: random text policies (jumps, sets, defaults) ---------- */

static void test_random_text_policies_agree(void **state)
{
	struct random_policy_size size = { .tables = 5, .rules = 8, .fields = 5 };
	srand(777);
	long events = 0, by_rule = 0;
	for (int iter = 0; iter < 400; iter++) {
		char *text = random_policy_text(&size);
		struct compiled c;
		compile_text(&c, text);
		for (int k = 0; k < 50; k++) {
			struct event ev;
			random_policy_event(c.p, &ev);
			struct cls_fields f;
			struct cls_result cr;
			struct eval_result a, b;
			cls_event_fields(&ev, &f);
			assert_int_equal(cls_lookup(&c.t, &f, &cr), 0);
			eval_event(c.p, &ev, &a, false);
			flat_eval(&c.fp, &ev, &b);
			assert_agrees(&cr, &a, slot_of(&c, &a));
			assert_agrees(&cr, &b, slot_of(&c, &b));
			by_rule += a.rule >= 0;
			events++;
			eval_result_free(&a);
			eval_result_free(&b);
		}
		compiled_free(&c);
		free(text);
	}
	assert_int_equal(events, 400 * 50);
	assert_true(by_rule > events / 10);
}

/* ---------- 100 000 rules ---------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BIG 100000

static void big_event(struct event *ev, unsigned i, unsigned port_delta)
{
	memset(ev, 0, sizeof(*ev));
	ev->has[F_DIR] = ev->has[F_EVENT] = ev->has[F_FAMILY] = ev->has[F_PROTO] = true;
	ev->has[F_LADDR] = ev->has[F_RADDR] = ev->has[F_LPORT] = ev->has[F_RPORT] = ev->has[F_IFACE] = true;
	ev->val[F_DIR] = DIR_IN;
	ev->val[F_EVENT] = EVENT_PACKET;
	ev->val[F_FAMILY] = 4;
	ev->val[F_PROTO] = 6;
	ev->val[F_LADDR] = v4(192, 0, 2, 1);
	ev->val[F_RADDR] = v4(198, 51, (i >> 8) & 255, i & 255);
	ev->val[F_LPORT] = 80;
	ev->val[F_RPORT] = 10000 + (i % 40000) + port_delta;
}

/* 100 000 rules `deny in proto tcp remote 198.51.x.y port N`, distinct
 * (address, port) pairs, and an `allow in proto tcp local port 80` last. */
static void test_hundred_thousand_rules(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "table root default deny {\n");
	for (unsigned i = 0; i < BIG; i++)
		fprintf(m, "  deny in proto tcp remote 198.51.%u.%u port %u\n", (i >> 8) & 255, i & 255,
			10000 + (i % 40000));
	fprintf(m, "  allow in proto tcp local port 80\n}\n");
	fclose(m);

	double t0 = now_s();
	struct compiled c;
	c.p = load_policy_text_ok(text);
	struct diag d;
	diag_init(&d, stderr, NULL);
	assert_int_equal(flatten_policy(c.p, &c.fp, &d), 0);
	diag_free(&d);
	double t1 = now_s();
	char err[512];
	if (cls_compile(&c.fp, (uint32_t)c.p->nrules, &c.t, err, sizeof(err)))
		fail_msg("cls_compile: %s", err);
	double t2 = now_s();
	struct cls_sizes s;
	cls_tables_sizes(&c.t, &s);
	fprintf(stderr,
		"[ info ] %d rules: parse+flatten %.2f s, classifier compile %.2f s; tables: %u blocks "
		"(pairs %u, dense words %u, trie words %u), actions %u; ~%.1f MiB kernel memory\n",
		BIG + 1, t1 - t0, t2 - t1, s.blocks, c.t.npairs, c.t.ndense, c.t.ntrie, s.actions,
		(double)s.bytes / (1 << 20));
	assert_int_equal(c.p->nrules, BIG + 1);

	const unsigned probe[] = { 0, 1, 255, 256, BIG / 2, BIG / 2 + 1, 65535, 65536, BIG - 2, BIG - 1 };
	for (size_t k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
		unsigned i = probe[k];
		struct event ev;
		struct cls_fields f;
		struct cls_result r;
		/* the rule's own address and port: that rule denies */
		big_event(&ev, i, 0);
		cls_event_fields(&ev, &f);
		assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
		assert_int_equal(r.verdict, VERDICT_DENY);
		/* an address is shared by rules i and i + 65536: the first wins */
		assert_int_equal(r.slot, i);
		assert_int_equal(c.p->rules[r.slot].loc.line, (int)i + 2);
		/* same address, another port: no deny rule, the final allow */
		big_event(&ev, i, 1);
		if (i + 1 < BIG && ev.val[F_RPORT] == 10000 + ((i + 1) % 40000) && ((i + 1) & 0xffff) == (i & 0xffff))
			continue;
		cls_event_fields(&ev, &f);
		assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
		struct eval_result ref;
		flat_eval(&c.fp, &ev, &ref);
		assert_int_equal(r.verdict, ref.verdict);
		assert_int_equal(r.slot, (uint32_t)(ref.rule >= 0 ? ref.rule : c.p->nrules + ref.table));
		eval_result_free(&ref);
	}
	/* no-match cases: outbound, udp, another local port */
	struct event ev;
	struct cls_fields f;
	struct cls_result r;
	big_event(&ev, 7, 0);
	ev.val[F_DIR] = DIR_OUT;
	cls_event_fields(&ev, &f);
	assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.slot, (uint32_t)c.p->nrules + (uint32_t)c.p->root); /* root default */
	big_event(&ev, BIG + 7, 0); /* an address no rule names: 198.51.x.y beyond the 100 000 */
	ev.val[F_RADDR] = v4(203, 0, 113, 9);
	cls_event_fields(&ev, &f);
	assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	assert_int_equal(r.slot, (uint32_t)BIG); /* the final allow rule */
	ev.val[F_LPORT] = 81;
	cls_event_fields(&ev, &f);
	assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.slot, (uint32_t)c.p->nrules + (uint32_t)c.p->root);
	/* random events against the reference walk */
	srand(99);
	for (int k = 0; k < 300; k++) {
		big_event(&ev, rnd(BIG + 1000), rnd(3) == 0 ? rnd(5) : 0);
		ev.val[F_DIR] = rnd(4) ? DIR_IN : DIR_OUT;
		ev.val[F_PROTO] = rnd(4) ? 6 : 17;
		cls_event_fields(&ev, &f);
		assert_int_equal(cls_lookup(&c.t, &f, &r), 0);
		struct eval_result ref;
		flat_eval(&c.fp, &ev, &ref);
		assert_agrees(&r, &ref, ref.rule >= 0 ? (uint32_t)ref.rule : (uint32_t)(c.p->nrules + ref.table));
		eval_result_free(&ref);
	}
	compiled_free(&c);
	free(text);
}

/* 100 000 distinct remote /24s (no port) next to a few port rules: the
 * rules without a port combine with every port class, and must stay within
 * bounds. */
static void test_hundred_thousand_prefixes(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "table root default allow {\n"
		   "  allow in proto tcp local port 22\n"
		   "  continue out proto tcp remote port 443\n");
	for (unsigned i = 0; i < BIG; i++)
		fprintf(m, "  deny remote %u.%u.%u.0/24\n", 20 + (i >> 16), (i >> 8) & 255, i & 255);
	fprintf(m, "  reject out proto udp remote port 53\n}\n");
	fclose(m);
	struct compiled c;
	double t0 = now_s();
	compile_text(&c, text);
	double t1 = now_s();
	struct cls_sizes s;
	cls_tables_sizes(&c.t, &s);
	fprintf(stderr, "[ info ] %d /24 rules: load+flatten+compile %.2f s; pairs %u, ~%.1f MiB\n", BIG + 3, t1 - t0,
		c.t.npairs, (double)s.bytes / (1 << 20));
	struct cls_result r = judge_text(&c, "out proto tcp remote 20.0.5.9 port 443");
	assert_int_equal(r.verdict, VERDICT_DENY);
	assert_int_equal(r.nrecords, 1);
	assert_int_equal(decided_line(&c, &r), 4 + 5);
	r = judge_text(&c, "in proto tcp local port 22 remote 21.134.159.1 port 999");
	assert_int_equal(decided_line(&c, &r), 2);
	r = judge_text(&c, "in proto tcp local port 23 remote 21.134.159.1 port 999");
	assert_int_equal(decided_line(&c, &r), 4 + 99999);
	r = judge_text(&c, "out proto udp remote 21.134.160.1 port 53");
	assert_int_equal(decided_line(&c, &r), 4 + BIG);
	r = judge_text(&c, "out proto udp remote 192.0.2.1 port 54");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	compiled_free(&c);
	free(text);
}

/* The classifier and the reference walk of a flattened policy agree on an
 * event (also on the deciding entry); dflt_slot: the default's slot. */
static void assert_event_agrees(const struct cls_tables *t, const struct flat_policy *fp, const struct event *ev,
				uint32_t dflt_slot)
{
	struct cls_fields f;
	struct cls_result cr;
	struct eval_result r;
	cls_event_fields(ev, &f);
	assert_int_equal(cls_lookup(t, &f, &cr), 0);
	flat_eval(fp, ev, &r);
	int ent = ref_entry(fp, ev);
	assert_int_equal((int)cr.entry, ent);
	assert_agrees(&cr, &r, fp->e[ent].rule >= 0 ? (uint32_t)fp->e[ent].rule : dflt_slot);
	eval_result_free(&r);
}

static void add_cond(struct flat_entry *e, int f, u128 lo, u128 hi)
{
	e->cond[f].used = true;
	vset_add(&e->cond[f].set, lo, hi);
}

/* 50 service rules (`allow in proto tcp local port P`) above a blocklist of
 * 100 000 `deny remote A.B.C.0/24`: the service rules must not multiply
 * with the blocklist (projections and the first-entry shortcut). */
static void test_blocklist_below_services_stays_small(void **state)
{
	const int nsvc = 50, nblock = BIG;
	struct flat_policy fp = { .n = nsvc + nblock + 1 };
	fp.e = calloc((size_t)fp.n, sizeof(struct flat_entry));
	int k = 0;
	for (int i = 0; i < nsvc; i++, k++) {
		fp.e[k].kind = FLAT_TERMINAL;
		fp.e[k].verdict = VERDICT_ALLOW;
		fp.e[k].rule = k;
		add_cond(&fp.e[k], F_DIR, DIR_IN, DIR_IN);
		add_cond(&fp.e[k], F_PROTO, 6, 6);
		add_cond(&fp.e[k], F_LPORT, 20 + i, 20 + i);
	}
	for (int i = 0; i < nblock; i++, k++) {
		fp.e[k].kind = FLAT_TERMINAL;
		fp.e[k].verdict = VERDICT_DENY;
		fp.e[k].rule = k;
		u128 net = v4(20 + (i >> 16), (i >> 8) & 255, i & 255, 0);
		add_cond(&fp.e[k], F_RADDR, net, net + 255);
	}
	fp.e[k].kind = FLAT_TERMINAL;
	fp.e[k].verdict = VERDICT_ALLOW;
	fp.e[k].rule = -1;
	struct cls_tables t;
	char err[512];
	double t0 = now_s();
	if (cls_compile(&fp, (uint32_t)k, &t, err, sizeof(err)))
		fail_msg("%s", err);
	struct cls_sizes s;
	cls_tables_sizes(&t, &s);
	fprintf(stderr, "[ info ] %d services + %d blocked /24: compile %.2f s, pairs %u, ~%.1f MiB\n", nsvc, nblock,
		now_s() - t0, t.npairs, (double)s.bytes / (1 << 20));
	/* about one stored pair per blocked network, not one per (service, network) */
	assert_true(t.npairs < 3 * (uint32_t)nblock);
	assert_true(t.nactions < (uint32_t)(nblock + nsvc + 10));
	srand(8);
	for (int q = 0; q < 3000; q++) {
		struct event ev;
		memset(&ev, 0, sizeof(ev));
		for (int f = 0; f < F_COUNT; f++)
			ev.has[f] = f != F_APP && f != F_USER && f != F_CGROUP && f != F_ICMPTYPE;
		unsigned i = rnd((unsigned)nblock + 5000);
		ev.val[F_DIR] = rnd(4) ? DIR_IN : DIR_OUT;
		ev.val[F_EVENT] = EVENT_PACKET;
		ev.val[F_FAMILY] = 4;
		ev.val[F_PROTO] = rnd(4) ? 6 : 17;
		ev.val[F_RADDR] = v4(20 + (i >> 16), (i >> 8) & 255, i & 255, rnd(256));
		ev.val[F_RPORT] = 40000;
		ev.val[F_LADDR] = v4(192, 0, 2, 1);
		ev.val[F_LPORT] = 15 + rnd(60);
		assert_event_agrees(&t, &fp, &ev, (uint32_t)k);
	}
	cls_tables_free(&t);
	flat_policy_free(&fp);
}

/* ---------- tries, keyed parts, ClassBench-style policies ---------- */

/* Random nested prefixes of both families (every length, IPv4-mapped ones
 * too): the multibit tries (8- and 4-bit nodes, leaf pushing, the IPv4
 * projection) give what the reference gives at and around every edge. */
static void test_tries_agree_at_prefix_edges(void **state)
{
	srand(31337);
	for (int iter = 0; iter < 40; iter++) {
		int n = 20 + (int)rnd(400);
		struct flat_policy fp = { .n = n + 1, .e = calloc((size_t)n + 1, sizeof(struct flat_entry)) };
		u128 *edge = calloc((size_t)n * 2, sizeof(u128));
		for (int i = 0; i < n; i++) {
			bool v6 = rnd(3) == 0;
			int len = v6 ? (int)rnd(129) : 96 + (int)rnd(33);
			u128 base = v6 ? (u128)0x20010db8u << 96 | (u128)rnd(8) << 80 | (u128)rnd(1u << 16) << 48
				       : v4(10 + rnd(3), rnd(4), rnd(256), rnd(256));
			if (v6 && rnd(4) == 0)
				base = (u128)rnd(2) << 127 | (u128)rnd(1u << 30) << 90; /* anywhere */
			u128 mask = len == 0 ? 0 : ~(u128)0 << (128 - len);
			u128 lo = base & mask, hi = lo | ~mask;
			fp.e[i].kind = rnd(5) ? FLAT_TERMINAL : FLAT_RECORD;
			fp.e[i].verdict = fp.e[i].kind == FLAT_TERMINAL ? (enum verdict)rnd(3) : VERDICT_CONTINUE;
			fp.e[i].rule = i;
			add_cond(&fp.e[i], rnd(2) ? F_RADDR : F_LADDR, lo, hi);
			edge[2 * i] = lo;
			edge[2 * i + 1] = hi;
		}
		fp.e[n].kind = FLAT_TERMINAL;
		fp.e[n].verdict = VERDICT_DENY;
		fp.e[n].rule = -1;
		struct cls_opts o = { .no_dense = iter & 1, .force_parts = iter % 3 == 2 };
		struct cls_tables t;
		char err[256];
		if (cls_compile_opts(&fp, (uint32_t)n, &o, &t, err, sizeof(err)))
			fail_msg("%s", err);
		for (int k = 0; k < 6 * n; k++) {
			struct event ev;
			memset(&ev, 0, sizeof(ev));
			ev.has[F_DIR] = ev.has[F_EVENT] = ev.has[F_FAMILY] = ev.has[F_PROTO] = ev.has[F_IFACE] = true;
			ev.has[F_LADDR] = ev.has[F_RADDR] = true;
			u128 a = edge[rnd((unsigned)n * 2)] + (u128)(int)(rnd(3) - 1);
			ev.val[F_FAMILY] = addr_is_v4(a) ? 4 : 6;
			ev.val[F_LADDR] = rnd(2) ? a : edge[rnd((unsigned)n * 2)];
			ev.val[F_RADDR] = rnd(2) ? a : edge[rnd((unsigned)n * 2)];
			assert_event_agrees(&t, &fp, &ev, (uint32_t)n);
		}
		cls_tables_free(&t);
		flat_policy_free(&fp);
		free(edge);
	}
}

/* A keyed part decides after continue rules of part 0: only those before
 * the deciding rule are recorded, also past CLS_MAX_RECORDS. */
static void test_keyed_part_cuts_part0_records(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	fprintf(m, "table root default deny {\n");
	for (int i = 0; i < CLS_MAX_RECORDS + 3; i++)
		fprintf(m, "  continue in proto tcp local port %d-1000\n", 10 + i);   /* lines 2..20 */
	fprintf(m, "  deny in proto tcp remote 192.0.2.7 port 5000 local port 80\n"); /* line 21: keyed */
	fprintf(m, "  continue in proto tcp local port 80\n");
	fprintf(m, "  reject in proto tcp remote 192.0.2.0/24 local port 80-90\n");
	fprintf(m, "  allow in proto tcp\n}\n");
	fclose(m);
	struct cls_opts o = { .force_parts = 1 };
	struct compiled c;
	compile_text_opts(&c, text, &o);
	assert_true(c.t.config.nparts > 1);
	/* every continue rule matches, then line 21 decides: 16 recorded, overflow */
	struct cls_result r = judge_text(&c, "in proto tcp remote 192.0.2.7 port 5000 local port 80");
	assert_int_equal(decided_line(&c, &r), 2 + CLS_MAX_RECORDS + 3);
	assert_int_equal(r.nrecords, CLS_MAX_RECORDS);
	assert_int_equal(r.overflow, 1);
	/* local port 15: the continue rules from 10 to 15, then the final allow */
	r = judge_text(&c, "in proto tcp remote 192.0.2.7 port 5000 local port 15");
	assert_int_equal(decided_line(&c, &r), 2 + CLS_MAX_RECORDS + 6);
	assert_int_equal(r.nrecords, 6);
	r = judge_text(&c, "in proto tcp remote 192.0.2.9 port 5000 local port 85");
	assert_int_equal(decided_line(&c, &r), 2 + CLS_MAX_RECORDS + 5);
	assert_int_equal(r.overflow, 1);
	r = judge_text(&c, "in proto tcp remote 198.51.100.1 port 5000 local port 80");
	assert_int_equal(r.verdict, VERDICT_ALLOW);
	compiled_free(&c);
	free(text);
}

/* ClassBench-style policies of every profile: as one tree where it fits
 * and split into keyed parts, the classifier gives what the reference
 * gives for events drawn inside their rules. */
static void test_classbench_policies_agree(void **state)
{
	srand(99);
	for (int pf = 0; pf < CB_NPROFILES; pf++)
		for (int forced = 0; forced < 2; forced++) {
			char *text = cb_policy((enum cb_profile)pf, 3000, 7);
			struct cls_opts o = { .force_parts = forced };
			struct compiled c;
			compile_text_opts(&c, text, &o);
			if (forced)
				assert_true(c.t.config.nparts > 1);
			for (int k = 0; k < 3000; k++) {
				const struct rule *ru = &c.p->rules[rnd((unsigned)c.p->nrules)];
				struct event ev;
				memset(&ev, 0, sizeof(ev));
				for (int f = 0; f < F_COUNT; f++)
					ev.has[f] = f != F_APP && f != F_CGROUP && f != F_USER && f != F_ICMPTYPE;
				ev.val[F_EVENT] = EVENT_PACKET;
				for (int f = 0; f < F_COUNT; f++) {
					const struct vset *set = &ru->cond[f].set;
					if (ru->cond[f].used && set->n) {
						const struct vrange *rg = &set->r[rnd((unsigned)set->n)];
						u128 span = rg->hi - rg->lo;
						ev.val[f] = rg->lo +
							    (span == ~(u128)0 ? 0 : (u128)rnd(1u << 30) % (span + 1));
						/* the edges (of addresses and ports: values
						 * the datapath can carry) */
						bool big = f == F_LADDR || f == F_RADDR || f == F_LPORT || f == F_RPORT;
						if (big && rnd(4) == 0 && ev.val[f] > 0 && ev.val[f] < field_max(f))
							ev.val[f] += (u128)(int)(rnd(3) - 1);
					}
				}
				if (!ru->cond[F_RADDR].used)
					ev.val[F_RADDR] = v4(203, 0, 113, rnd(256));
				if (!ru->cond[F_LADDR].used)
					ev.val[F_LADDR] = v4(192, 0, 2, 1);
				ev.val[F_FAMILY] = addr_is_v4(ev.val[F_RADDR]) ? 4 : 6;
				struct cls_fields f;
				struct cls_result cr;
				struct eval_result r;
				cls_event_fields(&ev, &f);
				assert_int_equal(cls_lookup(&c.t, &f, &cr), 0);
				flat_eval(&c.fp, &ev, &r);
				assert_agrees(&cr, &r, slot_of(&c, &r));
				eval_result_free(&r);
			}
			compiled_free(&c);
			free(text);
		}
}

/* The shape of random rules, refused at 20 000 before: compiled
 * into parts, and `apply` says so. */
static void test_random_ranges_are_not_refused(void **state)
{
	char *text = cb_policy(CB_UNIFORM, 20000, 3);
	struct compiled c;
	compile_text(&c, text);
	assert_true(c.t.config.nparts > 1);
	char desc[2048];
	cls_describe(&c.t, "", desc, sizeof(desc));
	assert_non_null(strstr(desc, "parts"));
	assert_non_null(strstr(desc, "candidates checked"));
	compiled_free(&c);
	free(text);
	compile_text(&c, "table root default deny {\n  allow in proto tcp local port 22\n}\n");
	cls_describe(&c.t, "", desc, sizeof(desc));
	assert_non_null(strstr(desc, "one tree"));
	compiled_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tries_agree_at_prefix_edges),
		cmocka_unit_test(test_keyed_part_cuts_part0_records),
		cmocka_unit_test(test_classbench_policies_agree),
		cmocka_unit_test(test_random_ranges_are_not_refused),
		cmocka_unit_test(test_first_match_wins_in_order),
		cmocka_unit_test(test_continue_and_jump_are_recorded_in_order),
		cmocka_unit_test(test_negation_and_not_carried_fields),
		cmocka_unit_test(test_families_ranges_and_nested_prefixes),
		cmocka_unit_test(test_cgroup_intervals_users_and_ifaces),
		cmocka_unit_test(test_interface_patterns),
		cmocka_unit_test(test_icmp_types_per_family),
		cmocka_unit_test(test_too_many_records_overflow),
		cmocka_unit_test(test_tables_are_small_for_independent_rules),
		cmocka_unit_test(test_event_fields_conversion),
		cmocka_unit_test(test_no_default_is_refused),
		cmocka_unit_test(test_random_flat_policies_agree),
		cmocka_unit_test(test_random_text_policies_agree),
		cmocka_unit_test(test_hundred_thousand_rules),
		cmocka_unit_test(test_hundred_thousand_prefixes),
		cmocka_unit_test(test_blocklist_below_services_stays_small),
	};
	/* CLS_TEST_FILTER=test_hundred* runs only the matching tests */
	if (getenv("CLS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CLS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
