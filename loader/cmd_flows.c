/* `rampart flows [--json]`: the connections the datapath tracks
 * (rp_conntrack, and rp_ct_new: flows being set up), originator first, with
 * state, idle time, time left before the idle timeout, and the rule that
 * allowed each; a data connection the FTP helper admitted names its control
 * connection (rp_ftp_related).  Then the connections the helper expects
 * (rp_ftp_expect): in the JSON list as entries with state "expected". */
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "datapath.h"
#include "fields.h"
#include "format.h"
#include "bpfmap.h"
#include "json.h"
#include "log.h"
#include "pins.h"
#include "view.h"

struct flow {
	struct ct_key k;
	struct ct_value v;
	bool half_open; /* in rp_ct_new */
};

struct expectation {
	struct rp_ftp_expect_key k;
	struct rp_ftp_expect v;
};

/* The FTP helper's maps (absent: pinned by a rampart without the helper). */
struct helper_maps {
	int related_fd, expect_fd, conntrack_fd;
};

static int by_age(const void *a, const void *b)
{
	const struct flow *x = a, *y = b;
	return x->v.created_ns < y->v.created_ns ? -1 : x->v.created_ns > y->v.created_ns;
}

/* Every entry of the table fd (bounded by its capacity: a hash walk
 * restarts when its current key is deleted under it), appended to *fp
 * (*n entries so far). 0 or -errno. */
static int read_table(int fd, bool half_open, struct flow **fp, int *n)
{
	struct bpf_map_info info;
	struct ct_key *keys;
	struct ct_value *vals;
	int m = bpfmap_info(fd, &info);
	if (!m)
		m = bpfmap_read_all(fd, sizeof(*keys), sizeof(*vals), (int)info.max_entries, (void **)&keys,
				    (void **)&vals);
	if (m < 0)
		return m;
	struct flow *f = realloc(*fp, (size_t)(*n + m + 1) * sizeof(*f));
	int kept = 0;
	for (int i = 0; f && i < m; i++)
		if (!(vals[i].flags & CT_F_MOVED)) /* its live entry is in rp_conntrack */
			f[*n + kept++] = (struct flow){ .k = keys[i], .v = vals[i], .half_open = half_open };
	free(keys);
	free(vals);
	if (!f)
		return -ENOMEM;
	*fp = f;
	*n += kept;
	return 0;
}

/* Every flow of both tables, oldest first.  The count or -errno. */
static int read_flows(const struct view *v, struct flow **out)
{
	int n = 0;
	*out = NULL;
	int e = read_table(v->conntrack_fd, false, out, &n);
	if (!e)
		e = read_table(v->ct_new_fd, true, out, &n);
	if (e) {
		free(*out);
		*out = NULL;
		return e;
	}
	if (n > 1)
		qsort(*out, (size_t)n, sizeof(**out), by_age);
	return n;
}

/* The flow's two ends, originator first. */
static void endpoints(const struct flow *f, char *orig, char *resp, size_t n, bool *ports)
{
	bool a_first = f->v.flags & CT_F_ORIG_IS_A;
	*ports = proto_has_ports(f->k.proto);
	uint16_t pa = ntohs(f->k.port_a), pb = ntohs(f->k.port_b);
	fmt_endpoint(orig, n, a_first ? f->k.addr_a : f->k.addr_b, a_first ? pa : pb, *ports);
	fmt_endpoint(resp, n, a_first ? f->k.addr_b : f->k.addr_a, a_first ? pb : pa, *ports);
}

/* Is f a data connection the FTP helper admitted?  *ctl: its control flow. */
static bool related_control(const struct helper_maps *h, const struct flow *f, struct ct_key *ctl)
{
	struct rp_ftp_related rel;
	if (h->related_fd < 0 || bpf_map_lookup_elem(h->related_fd, &f->k, &rel) != 0 ||
	    rel.data_created_ns != f->v.created_ns)
		return false; /* not one, or the key was reused by a later flow */
	*ctl = rel.ctl;
	return true;
}

/* Every expectation that has not expired. */
static int read_expectations(int fd, struct expectation **out)
{
	int cap = 16, n = 0;
	uint64_t now = now_mono_ns();
	struct expectation *x = malloc((size_t)cap * sizeof(*x));
	struct rp_ftp_expect_key k, next;
	void *prev = NULL;
	*out = x;
	if (!x || fd < 0)
		return 0;
	while (n < 65536 && bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (n == cap) {
			struct expectation *y = realloc(x, (size_t)cap * 2 * sizeof(*x));
			if (!y)
				break;
			*out = x = y;
			cap *= 2;
		}
		if (bpf_map_lookup_elem(fd, &k, &x[n].v) != 0 || x[n].v.expires_ns <= now)
			continue;
		x[n].k = k;
		n++;
	}
	return n;
}

/* "[2001:db8::2]:*" / "192.0.2.2:*": any port of addr */
static const char *any_port(char *buf, size_t n, const uint32_t addr[4])
{
	char a[FMT_ADDR_LEN];
	fmt_addr(a, sizeof(a), addr);
	snprintf(buf, n, strchr(a, ':') ? "[%s]:*" : "%s:*", a);
	return buf;
}

/* The control connection's two ends, originator first (from the conntrack
 * while it is there; else in key order). */
static void control_ends(const struct helper_maps *h, const struct ct_key *ctl, char *orig, char *resp, size_t n)
{
	struct flow c = { .k = *ctl };
	bool ports;
	if (bpf_map_lookup_elem(h->conntrack_fd, &c.k, &c.v) != 0)
		c.v.flags = CT_F_ORIG_IS_A;
	endpoints(&c, orig, resp, n, &ports);
}

struct times {
	uint64_t idle, age;
	int64_t left; /* < 0: expired, waiting for the sweeper */
};

static struct times flow_times(const struct view *v, const struct flow *f, uint64_t now)
{
	struct times t;
	t.idle = now > f->v.last_seen_ns ? now - f->v.last_seen_ns : 0;
	t.age = now > f->v.created_ns ? now - f->v.created_ns : 0;
	uint64_t to = f->v.state < CT_STATE_COUNT ? v->cfg.timeout_ns[f->v.state] : 0;
	t.left = (int64_t)to - (int64_t)t.idle;
	return t;
}

/* The rule that allowed a flow, in the policy that judged it: the one in
 * force, the one before (its rules are pinned as prev-rp_rules) or an
 * older one, whose rules are gone (view_rule_of). */
struct flow_rule {
	const struct rp_rule_meta *m; /* NULL: unknown or gone */
	uint32_t gen;		      /* the generation that judged it (0: unknown) */
	bool earlier;		      /* judged under a policy before the one in force */
	bool gone;		      /* ... older than the one before: no rule text */
};

/* The latest generation up to the one in force whose low 16 bits are the
 * flow's rule_gen (what the datapath records); 0 for a flow of a rampart
 * that did not record it (generations start at 1). */
static uint32_t flow_generation(const struct view *v, const struct flow *f)
{
	if (!v->have_info)
		return f->v.rule_gen;
	uint32_t cur = v->info.generation, back = (uint16_t)(cur - f->v.rule_gen);
	return back <= cur ? cur - back : 0;
}

static struct flow_rule flow_rule(const struct view *v, const struct flow *f)
{
	struct flow_rule r = { .gen = flow_generation(v, f) };
	r.m = view_rule_of(v, r.gen, f->v.rule_slot, &r.gone);
	r.earlier = v->have_info && r.gen != v->info.generation;
	return r;
}

static void ifname(uint32_t ifindex, char *buf)
{
	if (!ifindex || !if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE + 1, ifindex ? "%u" : "-", ifindex);
}

static void json_ends(const char *orig, const char *resp)
{
	printf("{\"orig\": ");
	json_str(stdout, orig);
	printf(", \"reply\": ");
	json_str(stdout, resp);
	printf("}");
}

/* Expectations as list entries: state "expected", the originator any port
 * of the address that may connect. */
static void print_json_expected(const struct helper_maps *h, const struct expectation *x, int nx, bool first)
{
	uint64_t now = now_mono_ns();
	char a[FMT_ADDR_LEN], orig[FMT_ADDR_LEN], resp[FMT_ADDR_LEN];
	for (int i = 0; i < nx; i++) {
		const struct expectation *e = &x[i];
		printf("%s\n  {\"proto\": \"tcp\", \"proto_num\": 6, \"family\": %d", first && !i ? "" : ",",
		       addr_family(e->k.daddr));
		printf(", \"orig\": {\"addr\": \"%s\"}", fmt_addr(a, sizeof(a), e->v.saddr));
		printf(", \"reply\": {\"addr\": \"%s\", \"port\": %u}", fmt_addr(a, sizeof(a), e->k.daddr),
		       ntohs(e->k.dport));
		printf(", \"state\": \"expected\", \"expires_in_s\": %.1f, \"age_s\": %.1f",
		       e->v.expires_ns > now ? (double)(e->v.expires_ns - now) / 1e9 : 0.0,
		       now > e->v.created_ns ? (double)(now - e->v.created_ns) / 1e9 : 0.0);
		control_ends(h, &e->v.ctl, orig, resp, sizeof(orig));
		printf(", \"helper\": \"ftp\", \"announced_by\": \"%s\", \"control\": ",
		       datapath_ftp_cmd_name((enum rp_ftp_cmd)e->v.cmd));
		json_ends(orig, resp);
		printf("}");
	}
}

/* A TCP endpoint's window tracking (RFC 793 numbers as the conntrack keeps
 * them; what a per-CPU flow cache passed since its last fold is not in
 * them yet). */
static void json_tcp_peer(const struct ct_tcp_peer *t)
{
	printf("{\"seen\": %s, \"end\": %u, \"maxend\": %u, \"maxwin\": %u, \"maxack\": ",
	       t->flags & CT_TP_SEEN ? "true" : "false", t->end, t->maxend, t->maxwin);
	if (t->flags & CT_TP_MAXACK)
		printf("%u", t->maxack);
	else
		printf("null");
	printf(", \"wscale\": %u}", t->wscale);
}

static void json_tcp(const struct flow *f)
{
	bool a_first = f->v.flags & CT_F_ORIG_IS_A;
	printf(", \"tcp\": {\"orig\": ");
	json_tcp_peer(&f->v.tcp[a_first ? 0 : 1]);
	printf(", \"reply\": ");
	json_tcp_peer(&f->v.tcp[a_first ? 1 : 0]);
	printf("}");
}

static void print_json(const struct view *v, const struct helper_maps *h, const struct flow *fl, int n,
		       const struct expectation *x, int nx)
{
	uint64_t now = now_mono_ns();
	char orig[FMT_ADDR_LEN], resp[FMT_ADDR_LEN], proto[16], where[RP_FILE_LEN + 32], ifn[IF_NAMESIZE + 16];
	char oa[FMT_ADDR_LEN], ra[FMT_ADDR_LEN];
	printf("[");
	for (int i = 0; i < n; i++) {
		const struct flow *f = &fl[i];
		bool ports, a_first = f->v.flags & CT_F_ORIG_IS_A;
		endpoints(f, orig, resp, sizeof(orig), &ports);
		struct times t = flow_times(v, f, now);
		ifname(f->v.ifindex, ifn);
		printf("%s\n  {\"proto\": \"%s\", \"proto_num\": %u, \"family\": %u", i ? "," : "",
		       fmt_proto(proto, sizeof(proto), f->k.proto), f->k.proto,
		       f->v.family ? f->v.family : (unsigned)addr_family(f->k.addr_a));
		printf(", \"orig\": {\"addr\": \"%s\"", fmt_addr(oa, sizeof(oa), a_first ? f->k.addr_a : f->k.addr_b));
		if (ports)
			printf(", \"port\": %u", ntohs(a_first ? f->k.port_a : f->k.port_b));
		printf("}, \"reply\": {\"addr\": \"%s\"",
		       fmt_addr(ra, sizeof(ra), a_first ? f->k.addr_b : f->k.addr_a));
		if (ports)
			printf(", \"port\": %u", ntohs(a_first ? f->k.port_b : f->k.port_a));
		if (f->k.proto == 1 || f->k.proto == 58)
			printf("}, \"echo_id\": %u", ntohs(f->k.port_a));
		else
			printf("}");
		printf(", \"state\": \"%s\", \"half_open\": %s, \"replied\": %s, \"direction\": \"%s\", "
		       "\"event\": \"%s\"",
		       datapath_ct_state_name((enum rp_ct_state)f->v.state), f->half_open ? "true" : "false",
		       f->v.flags & CT_F_REPLIED ? "true" : "false", direction_name((enum direction)f->v.dir),
		       event_name((enum event_type)f->v.event));
		printf(", \"idle_s\": %.1f, \"age_s\": %.1f, \"expires_in_s\": %.1f", (double)t.idle / 1e9,
		       (double)t.age / 1e9, t.left > 0 ? (double)t.left / 1e9 : 0.0);
		printf(", \"iface\": ");
		json_str(stdout, ifn);
		printf(", \"ifindex\": %u, \"rule\": ", f->v.ifindex);
		struct flow_rule r = flow_rule(v, f);
		const struct rp_rule_meta *m = r.m;
		if (m && m->rule_id != RP_SLOT_NONE && m->rule_id != RP_RULE_HELPER) {
			snprintf(where, sizeof(where), "%s:%u", m->file, m->line);
			json_str(stdout, where);
		} else {
			printf("null");
		}
		printf(", \"rule_slot\": ");
		if (f->v.rule_slot == RP_SLOT_NONE)
			printf("null");
		else
			printf("%u", f->v.rule_slot);
		printf(", \"table\": ");
		json_str(stdout, m && m->table[0] ? m->table : NULL);
		printf(", \"text\": ");
		json_str(stdout, m && m->rule_id != RP_RULE_HELPER ? m->text : NULL);
		printf(", \"generation\": ");
		if (r.gen)
			printf("%u", r.gen);
		else
			printf("null");
		printf(", \"earlier_policy\": %s", r.earlier ? "true" : "false");
		printf(", \"forwarded\": %s", f->v.flags & CT_F_FORWARDED ? "true" : "false");
		if (f->k.proto == IPPROTO_TCP)
			json_tcp(f);
		struct ct_key ctl;
		printf(", \"related\": ");
		if (related_control(h, f, &ctl)) {
			char co[FMT_ADDR_LEN], cr[FMT_ADDR_LEN];
			control_ends(h, &ctl, co, cr, sizeof(co));
			printf("{\"helper\": \"ftp\", \"control\": ");
			json_ends(co, cr);
			printf("}");
		} else {
			printf("null");
		}
		printf("}");
	}
	print_json_expected(h, x, nx, n == 0);
	printf("%s]\n", n + nx ? "\n" : "");
}

/* The connections the FTP helper expects, under the flows. */
static void print_text_expected(const struct helper_maps *h, const struct expectation *x, int nx)
{
	uint64_t now = now_mono_ns();
	struct columns t;
	char from[FMT_ADDR_LEN], to[FMT_ADDR_LEN], left[32], ctl[2 * FMT_ADDR_LEN + 8];
	char orig[FMT_ADDR_LEN], resp[FMT_ADDR_LEN];
	columns_init(&t, 6, 1u << 3);
	const char *head[] = { "PROTO", "FROM", "TO", "EXPIRES", "ANNOUNCED", "CONTROL CONNECTION" };
	columns_add(&t, head);
	for (int i = 0; i < nx; i++) {
		const struct expectation *e = &x[i];
		any_port(from, sizeof(from), e->v.saddr);
		fmt_endpoint(to, sizeof(to), e->k.daddr, ntohs(e->k.dport), true);
		fmt_duration(left, sizeof(left), e->v.expires_ns > now ? e->v.expires_ns - now : 0);
		control_ends(h, &e->v.ctl, orig, resp, sizeof(orig));
		snprintf(ctl, sizeof(ctl), "%s -> %s", orig, resp);
		const char *cells[] = { "tcp", from, to, left, datapath_ftp_cmd_name((enum rp_ftp_cmd)e->v.cmd), ctl };
		columns_add(&t, cells);
	}
	printf("\nexpected by the ftp helper (each admits one new connection, then it is gone):\n");
	columns_print(&t, stdout, "");
	columns_free(&t);
}

/* The RULE column of a flow allowed by a rule (or a table default): as
 * the policy that judged it numbers it, marked when that policy is no
 * longer in force. */
static void rule_text(const struct view *v, const struct flow *f, char *buf, size_t n)
{
	struct flow_rule r = flow_rule(v, f);
	const struct rp_rule_meta *m = r.m;
	char mark[64] = "";
	if (r.gone) {
		if (r.gen)
			snprintf(buf, n, "a rule of an earlier policy (generation %u)", r.gen);
		else
			snprintf(buf, n, "a rule of an earlier policy");
		return;
	}
	if (r.earlier)
		snprintf(mark, sizeof(mark), " (earlier policy, generation %u)", r.gen);
	if (m && m->rule_id == RP_RULE_HELPER)
		snprintf(buf, n, "ftp helper");
	else if (m && m->rule_id == RP_SLOT_NONE)
		snprintf(buf, n, "default of %s%s", m->table, mark);
	else if (m)
		snprintf(buf, n, "%s:%u [%s]%s", m->file, m->line, m->table, mark);
	else
		snprintf(buf, n, "slot %u (not in the %s policy)", f->v.rule_slot, r.earlier ? "earlier" : "loaded");
}

static void print_text(const struct view *v, const struct helper_maps *h, const struct flow *fl, int n,
		       uint32_t capacity, const struct expectation *x, int nx)
{
	if (n == 0) {
		printf("no tracked connections (capacity %u)\n", capacity);
		if (nx)
			print_text_expected(h, x, nx);
		return;
	}
	uint64_t now = now_mono_ns();
	struct columns t;
	columns_init(&t, 9, 1u << 4 | 1u << 5);
	const char *head[] = { "PROTO", "ORIGINATOR", "RESPONDER", "STATE", "IDLE", "EXPIRES", "DIR", "IFACE", "RULE" };
	columns_add(&t, head);
	char orig[FMT_ADDR_LEN], resp[FMT_ADDR_LEN], proto[16], state[48], idle[32], left[32];
	char ifn[IF_NAMESIZE + 16], where[RP_FILE_LEN + 2 * FMT_ADDR_LEN + 80];
	for (int i = 0; i < n; i++) {
		const struct flow *f = &fl[i];
		bool ports;
		endpoints(f, orig, resp, sizeof(orig), &ports);
		struct times tm = flow_times(v, f, now);
		snprintf(state, sizeof(state), "%s%s", datapath_ct_state_name((enum rp_ct_state)f->v.state),
			 f->v.flags & CT_F_REPLIED ? "" : " [unreplied]");
		fmt_duration(idle, sizeof(idle), tm.idle);
		if (tm.left > 0)
			fmt_duration(left, sizeof(left), (uint64_t)tm.left);
		else
			snprintf(left, sizeof(left), "expired");
		ifname(f->v.ifindex, ifn);
		struct ct_key ctl;
		if (related_control(h, f, &ctl)) {
			char co[FMT_ADDR_LEN], cr[FMT_ADDR_LEN];
			control_ends(h, &ctl, co, cr, sizeof(co));
			snprintf(where, sizeof(where), "ftp helper: RELATED to %s -> %s", co, cr);
		} else if (f->v.flags & CT_F_FORWARDED) {
			snprintf(where, sizeof(where), "(forwarded: judged as it arrived on %s)", ifn);
		} else if (f->v.rule_slot == RP_SLOT_NONE) {
			snprintf(where, sizeof(where), "(no rule: boot mode or implicit)");
		} else {
			rule_text(v, f, where, sizeof(where));
		}
		const char *cells[] = { fmt_proto(proto, sizeof(proto), f->k.proto), orig, resp, state, idle, left,
					direction_name((enum direction)f->v.dir),    ifn,  where };
		columns_add(&t, cells);
	}
	columns_print(&t, stdout, "");
	columns_free(&t);
	printf("\n%d flow%s of %u (idle: since the last packet; expires: idle timeout left)\n", n, n == 1 ? "" : "s",
	       capacity);
	if (nx)
		print_text_expected(h, x, nx);
}

static int cmd_flows(struct cli *c)
{
	struct view v;
	int e = view_open(&v, &c->pins, VIEW_RULES | VIEW_CONNTRACK, false);
	if (e)
		return exit_code(e);
	struct bpf_map_info info;
	bpfmap_info(v.conntrack_fd, &info);
	struct flow *fl;
	int n = read_flows(&v, &fl);
	if (n < 0) {
		char path[PINS_PATH_MAX];
		pr_err_r(n, "cannot read %s and %s", pins_map(&c->pins, RP_NAME(RP_MAP_CONNTRACK), false, path),
			 RP_NAME(RP_MAP_CT_NEW));
		view_close(&v);
		return EXIT_SYSTEM;
	}
	struct helper_maps h = { pins_open_map(&c->pins, RP_NAME(RP_MAP_FTP_RELATED)),
				 pins_open_map(&c->pins, RP_NAME(RP_MAP_FTP_EXPECT)), v.conntrack_fd };
	struct expectation *x;
	int nx = read_expectations(h.expect_fd, &x);
	if (c->json)
		print_json(&v, &h, fl, n, x, nx);
	else
		print_text(&v, &h, fl, n, info.max_entries, x, nx);
	free(x);
	if (h.related_fd >= 0)
		close(h.related_fd);
	if (h.expect_fd >= 0)
		close(h.expect_fd);
	free(fl);
	view_close(&v);
	return EXIT_OK;
}

const struct command flows_command = {
	.name = "flows",
	.run = cmd_flows,
	.max_args = 0,
	.help = "the tracked connections (conntrack)",
};
