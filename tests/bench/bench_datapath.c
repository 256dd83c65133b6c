/* `make bench`: per-packet cost of the rampart datapath under
 * BPF_PROG_TEST_RUN, side by side in one run with
 *   - an empty XDP program (the floor: what test-run itself costs),
 *   - Debian's xdp-tools `xdp-filter` program (a peer: a stateless
 *     address/port filter),
 *   - rampart on a packet of an established flow, and on a new flow that
 *     only the last rule matches, at 10, 1 000, 10 000 and 100 000 rules,
 * plus the time of the user-space half of `apply` (parse, flatten, compile,
 * load into the kernel, fill the maps; no attach) and the kernel memory of
 * the maps at each size; then ClassBench-style policies (classbench.h: acl,
 * fw, ipc, uniform) at 1 000 to 100 000 rules, each in a process of its own:
 * apply, its peak memory, the maps, `check`, new flows of random rules; and
 * the targets of issue 12.  Numbers and their meaning: docs/performance.md.
 *
 * Runs as root in a private network namespace (unshare): it attaches
 * nothing, and every program and map goes away when it exits.
 *
 * Usage: bench_datapath [--repeat N] [--runs N] [--sizes 10,1000,...]
 *                       [--xdp-filter PATH] [--classbench 1000,10000,... | 0]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "policy.h"
#include "classify.h"
#include "rampart_maps.h"
#include "datapath.h"
#include "classifier_maps.h"
#include "rampart.skel.h"
#include "packet.h"
#include "classbench.h"

#define XDP_DROP_RC 1
#define XDP_PASS_RC 2

static int opt_repeat = 1000000; /* packets per test run */
static int opt_runs = 7;	 /* test runs per measurement: best and median reported */
static const char *opt_xdp_filter = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_datapath: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- timing ---------- */

struct timing {
	double best, median; /* ns per packet */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One test run of opt_repeat packets: the kernel's mean ns per packet. */
static double run_repeat(int prog_fd, const struct pk *p, int want_rc)
{
	struct xdp_md ctx = { .data_end = p->n, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = opt_repeat);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if ((int)o.retval != want_rc)
		die("the program returned %u, expected %d: the bench packet does not take the path it is "
		    "meant to measure",
		    o.retval, want_rc);
	return o.duration;
}

/* opt_runs rounds; each round runs every program once (opt_repeat packets),
 * so all of them see the same machine: a slow moment (another process, the
 * hypervisor) slows a whole round, not one program's figures.  Interference
 * only adds time, so the best round is the cleanest figure; the median
 * shows the spread. */
#define MAX_RUNS 64
static void measure_round_robin(int n, const int *fds, const struct pk *const *pkts, const int *want,
				struct timing *out)
{
	static double v[4][MAX_RUNS];
	int runs = opt_runs > MAX_RUNS ? MAX_RUNS : opt_runs;
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < n; i++)
			v[i][r] = run_repeat(fds[i], pkts[i], want[i]);
	for (int i = 0; i < n; i++) {
		qsort(v[i], (size_t)runs, sizeof(double), cmp_double);
		out[i] = (struct timing){ v[i][0], v[i][runs / 2] };
	}
}

static int run_once(int prog_fd, const struct pk *p, int ifindex)
{
	struct xdp_md ctx = { .data_end = p->n, .ingress_ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("BPF_PROG_TEST_RUN: %s", strerror(errno));
	return (int)o.retval;
}

static int run_tc_once(int prog_fd, const struct pk *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("BPF_PROG_TEST_RUN (tc): %s", strerror(errno));
	return (int)o.retval;
}

/* Kernel memory of a map: memlock in its fdinfo. */
static unsigned long long map_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0, total = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			total += v;
	fclose(f);
	return total;
}

/* ---------- the floor: an empty XDP program ---------- */

static int load_empty(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty", "GPL", insns, 2, NULL);
	if (fd < 0)
		die("cannot load the empty XDP program: %s", strerror(errno));
	return fd;
}

/* ---------- the peer: xdp-tools' xdp-filter ---------- */

/* xdp-filter's map values (xdp-tools xdp-filter/common_kern_user.h). */
#define XF_SRC 0x1
#define XF_DST 0x2
#define XF_TCP 0x4
#define XF_UDP 0x8

struct peer {
	struct bpf_object *obj;
	int prog_fd;
	char why[512]; /* when it could not be loaded */
	int nentries;
};

/* The object is built for libxdp (which normally loads it through its
 * dispatcher and pins its maps in /sys/fs/bpf/xdp-filter); plain libbpf
 * loads it too once the pinning is switched off, so nothing is pinned. */
static void load_peer(struct peer *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->prog_fd = -1;
	struct bpf_object *obj = bpf_object__open_file(opt_xdp_filter, NULL);
	if (!obj) {
		snprintf(pr->why, sizeof(pr->why), "cannot open %s (%s): is xdp-tools installed?", opt_xdp_filter,
			 strerror(errno));
		return;
	}
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);
	if (!prog || bpf_object__load(obj)) {
		snprintf(pr->why, sizeof(pr->why), "libbpf cannot load %s: %s", opt_xdp_filter, strerror(errno));
		bpf_object__close(obj);
		return;
	}
	pr->obj = obj;
	pr->prog_fd = bpf_program__fd(prog);
	/* configure it as `xdp-filter ip ADDR` / `port PORT` would: deny 1 000
	 * addresses of 198.18.0.0/15 and 10 ports; the measured packet matches
	 * none of them, so it goes through every lookup */
	struct bpf_map *ip4 = bpf_object__find_map_by_name(obj, "filter_ipv4");
	struct bpf_map *ports = bpf_object__find_map_by_name(obj, "filter_ports");
	if (!ip4 || !ports) {
		snprintf(pr->why, sizeof(pr->why), "%s has no filter_ipv4/filter_ports map", opt_xdp_filter);
		return;
	}
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t a = htonl((198u << 24) | (18u << 16) | i);
		uint64_t v = XF_SRC | XF_DST;
		if (bpf_map_update_elem(bpf_map__fd(ip4), &a, &v, BPF_ANY))
			die("writing xdp-filter's filter_ipv4: %s", strerror(errno));
		pr->nentries++;
	}
	for (uint32_t port = 1; port <= 10; port++) {
		uint64_t v = XF_SRC | XF_DST | XF_TCP | XF_UDP;
		if (bpf_map_update_elem(bpf_map__fd(ports), &port, &v, BPF_ANY))
			die("writing xdp-filter's filter_ports: %s", strerror(errno));
		pr->nentries++;
	}
}

/* ---------- rampart at a given policy size ---------- */

/* Addresses: the established flow 198.51.100.7:40000 -> 192.0.2.1:80;
 * the new flow 203.0.113.66:40001 -> 192.0.2.1:23, which only the last
 * rule matches; the blocklist in 198.18.0.0/15 (RFC 2544's benchmark
 * range) and 2001:db8::/32. */
#define LOCAL	   "192.0.2.1"
#define EST_REMOTE "198.51.100.7"
#define NEW_REMOTE "203.0.113.66"

/* nrules rules: nrules - 2 blocklist rules (every other one an IPv4 host
 * and port, the others an IPv6 /64), an allow rule for the service the
 * established flow uses, and the last rule. */
static char *policy_text(int nrules)
{
	size_t cap = (size_t)nrules * 80 + 256, n = 0;
	char *s = malloc(cap);
	if (!s)
		die("out of memory");
	n += (size_t)snprintf(s + n, cap - n, "table root default deny {\n");
	for (int i = 0; i < nrules - 2; i++) {
		if (i % 2 == 0) {
			uint32_t h = (uint32_t)i / 2;
			n += (size_t)snprintf(s + n, cap - n, "    deny in proto tcp remote 198.%u.%u.%u port %u\n",
					      18 + ((h >> 16) & 1), (h >> 8) & 255, h & 255,
					      1024 + (unsigned)i % 50000);
		} else {
			n += (size_t)snprintf(s + n, cap - n, "    deny in remote 2001:db8:%x:%x::/64\n",
					      (unsigned)i >> 16, (unsigned)i & 0xffff);
		}
	}
	n += (size_t)snprintf(s + n, cap - n, "    allow in proto tcp local port 80\n");
	n += (size_t)snprintf(s + n, cap - n, "    deny in proto tcp remote " NEW_REMOTE " local port 23\n}\n");
	return s;
}

struct apply_times {
	double parse, compile, load, fill, total; /* seconds; load includes writing the classifier tables */
	uint32_t nparts;			  /* classifier: 1 tree, or parts */
};

struct size_result {
	int nrules;
	struct apply_times at;
	unsigned long long mem_all, mem_cls;
	struct timing floor, est, newf; /* measured round-robin: same moments */
	double spread;			/* mean ns of new flows each matching a random rule, one per test run */
};

#define SPREAD_PACKETS 20000

/* The working-set view: every packet a new flow from the source of a
 * random IPv4 blocklist rule (so a different path through the tries and
 * tables each time), one packet per test run.  Each run also pays for
 * entering and leaving test-run, so compare with the floor measured the
 * same way.  prog_fd < 0: nothing to judge, just the packets (floor). */
static double spread_ns(int prog_fd, int nrules, int want_rc)
{
	uint64_t sum = 0;
	unsigned seed = 12345;
	for (int j = 0; j < SPREAD_PACKETS; j++) {
		seed = seed * 1103515245u + 12345u;
		int nv4 = (nrules - 1) / 2; /* blocklist rules 0, 2, 4, ... < nrules - 2 */
		int i = 2 * (int)((seed >> 8) % (unsigned)nv4);
		uint32_t h = (uint32_t)i / 2;
		char src[32];
		snprintf(src, sizeof(src), "198.%u.%u.%u", 18 + ((h >> 16) & 1), (h >> 8) & 255, h & 255);
		struct pk p;
		pk_tcp4(&p, src, (uint16_t)(1024 + i % 50000), LOCAL, 23, TF_SYN, 1, 0, 0);
		struct xdp_md ctx = { .data_end = p.n, .ingress_ifindex = 1 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.d, .data_size_in = p.n, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);
		if (bpf_prog_test_run_opts(prog_fd, &o))
			die("BPF_PROG_TEST_RUN: %s", strerror(errno));
		if ((int)o.retval != want_rc)
			die("a blocklisted source got %u, expected %d", o.retval, want_rc);
		sum += o.duration;
	}
	return (double)sum / SPREAD_PACKETS;
}

/* The user-space half of `rampart apply`, timed: everything but attaching
 * and pinning. */
static struct rampart_bpf *apply(const char *text, struct policy *pol, struct apply_times *at)
{
	struct diag d;
	struct load_opts lo = { 0 };
	struct flat_policy fp = { 0 };
	struct cls_tables t;
	struct rampart_bpf *skel = NULL;
	char err[512];

	double t0 = now_s();
	diag_init(&d, stderr, NULL);
	if (policy_load_string(pol, "bench.rules", text, &lo, &d))
		die("the generated policy does not load");
	double t1 = now_s();
	if (flatten_policy(pol, &fp, &d))
		die("flatten_policy failed");
	memset(&t, 0, sizeof(t));
	if (cls_compile(&fp, (uint32_t)pol->nrules, &t, err, sizeof(err)))
		die("cls_compile: %s", err);
	double t2 = now_s();
	struct datapath_opts o = { .conntrack_size = (uint32_t)pol->opt.conntrack_size, .nslots = policy_nslots(pol) };
	if (datapath_create(&skel, &o, &t))
		die("cannot load the datapath (see above)");
	double t3 = now_s();
	uint8_t sha[32] = { 0 };
	struct rp_config cfg;
	datapath_config_from_policy(&cfg, pol);
	if (datapath_write_rules(skel, pol) || datapath_write_policy_info(skel, pol, "bench.rules", sha) ||
	    datapath_write_config(skel, &cfg))
		die("writing the datapath maps failed: %s", strerror(errno));
	double t4 = now_s();
	uint32_t nparts = t.config.nparts;
	cls_tables_free(&t);
	flat_policy_free(&fp);
	diag_free(&d);
	*at = (struct apply_times){ t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, nparts };
	return skel;
}

/* Kernel memory of all the object's maps, and of the classifier's. */
static void maps_memory(struct rampart_bpf *skel, unsigned long long *all, unsigned long long *cls)
{
	struct bpf_map *m;
	struct cls_maps cm = datapath_cls_maps(skel);
	bpf_object__for_each_map(m, skel->obj) {
		unsigned long long b = map_memlock(bpf_map__fd(m));
		*all += b;
		if (cls_maps_has(&cm, m))
			*cls += b;
	}
}

static uint64_t rule_packets(struct rampart_bpf *skel, uint32_t slot)
{
	struct rp_rule_stats s;
	if (datapath_rule_stats(bpf_map__fd(skel->maps.rp_rule_stats), slot, &s))
		die("reading rp_rule_stats: %s", strerror(errno));
	return s.packets;
}

static void bench_size(int nrules, int empty_fd, struct size_result *r)
{
	struct policy pol;
	char *text = policy_text(nrules);
	memset(r, 0, sizeof(*r));
	r->nrules = nrules;
	struct rampart_bpf *skel = apply(text, &pol, &r->at);
	free(text);
	if (pol.nrules != nrules)
		die("the generated policy has %d rules, not %d", pol.nrules, nrules);

	maps_memory(skel, &r->mem_all, &r->mem_cls);

	int xdp = bpf_program__fd(skel->progs.rampart_xdp), tc = bpf_program__fd(skel->progs.rampart_tc_egress);
	struct pk p;
	/* open the flow: SYN in, SYN-ACK out, ACK in */
	pk_tcp4(&p, EST_REMOTE, 40000, LOCAL, 80, TF_SYN, 1, 0, 0);
	if (run_once(xdp, &p, 1) != XDP_PASS_RC)
		die("the SYN of the established flow was not allowed");
	pk_tcp4(&p, LOCAL, 80, EST_REMOTE, 40000, TF_SYN | TF_ACK, 1, 2, 0);
	if (run_tc_once(tc, &p) != 0 /* TC_ACT_OK */)
		die("the SYN-ACK of the established flow was dropped");
	pk_tcp4(&p, EST_REMOTE, 40000, LOCAL, 80, TF_ACK, 2, 2, 0);
	if (run_once(xdp, &p, 1) != XDP_PASS_RC)
		die("the ACK of the established flow was dropped");
	/* a data segment of the established flow, and a new flow that only
	 * the last rule matches: it denies, so every repetition is judged
	 * again (an allowed one would become a flow) */
	struct pk data, syn;
	pk_tcp4(&data, EST_REMOTE, 40000, LOCAL, 80, TF_ACK | TF_PSH, 2, 2, 100);
	pk_tcp4(&syn, NEW_REMOTE, 40001, LOCAL, 23, TF_SYN, 1, 0, 0);
	uint32_t last = (uint32_t)nrules - 1;
	uint64_t before = rule_packets(skel, last), ctr0[RPC_COUNTER_COUNT], ctr1[RPC_COUNTER_COUNT];
	if (datapath_counters(bpf_map__fd(skel->maps.rp_counters), ctr0))
		die("reading rp_counters failed");
	int fds[3] = { empty_fd, xdp, xdp }, want[3] = { XDP_PASS_RC, XDP_PASS_RC, XDP_DROP_RC };
	const struct pk *pkts[3] = { &data, &data, &syn };
	struct timing t[3];
	measure_round_robin(3, fds, pkts, want, t);
	r->floor = t[0];
	r->est = t[1];
	r->newf = t[2];
	uint64_t sent = (uint64_t)opt_repeat * (uint64_t)opt_runs, hits = rule_packets(skel, last) - before;
	if (hits != sent)
		die("the last rule decided %llu of %llu new-flow packets", (unsigned long long)hits,
		    (unsigned long long)sent);
	if (datapath_counters(bpf_map__fd(skel->maps.rp_counters), ctr1))
		die("reading rp_counters failed");
	if (ctr1[RPC_PASS_FLOW] - ctr0[RPC_PASS_FLOW] != sent)
		die("%llu of %llu established-flow packets passed as packets of a tracked flow",
		    (unsigned long long)(ctr1[RPC_PASS_FLOW] - ctr0[RPC_PASS_FLOW]), (unsigned long long)sent);
	r->spread = spread_ns(xdp, nrules, XDP_DROP_RC);
	datapath_destroy(skel);
	policy_free(&pol);
}

/* ---------- ClassBench-style policies ---------- */

static uint64_t cb_rng = 0x12345678;
static uint32_t cb_rand(void)
{
	cb_rng ^= cb_rng << 13;
	cb_rng ^= cb_rng >> 7;
	cb_rng ^= cb_rng << 17;
	return (uint32_t)cb_rng;
}

/* A value of a set: the range picked at random, then a value in it. */
static u128 value_in(const struct vset *s)
{
	const struct vrange *r = &s->r[cb_rand() % (uint32_t)s->n];
	u128 span = r->hi - r->lo;
	return span == ~(u128)0 ? r->lo : r->lo + cb_rand() % (span + 1);
}

/* A new-flow packet inside rule i (inbound, IPv4, TCP or UDP, deny or
 * reject: judged again at every repetition); false when the rule is not
 * such a rule. */
static bool cb_rule_packet(const struct policy *pol, int i, struct pk *p)
{
	const struct rule *r = &pol->rules[i];
	const struct cond *c = r->cond;
	if ((r->verdict != VERDICT_DENY && r->verdict != VERDICT_REJECT) ||
	    (c[F_DIR].used && !vset_contains(&c[F_DIR].set, DIR_IN)))
		return false;
	int proto = c[F_PROTO].used ? (int)value_in(&c[F_PROTO].set) : 6;
	if (proto != 6 && proto != 17)
		return false;
	u128 ra = c[F_RADDR].used ? value_in(&c[F_RADDR].set) : addr_from_v4(0xcb007109);
	u128 la = c[F_LADDR].used ? value_in(&c[F_LADDR].set) : addr_from_v4(0xc0000201);
	if (!addr_is_v4(ra) || !addr_is_v4(la) || (((uint32_t)ra >> 28) == 0xe))
		return false;
	uint16_t rp = c[F_RPORT].used ? (uint16_t)value_in(&c[F_RPORT].set) : (uint16_t)(1024 + cb_rand() % 60000);
	uint16_t lp = c[F_LPORT].used ? (uint16_t)value_in(&c[F_LPORT].set) : (uint16_t)(1 + cb_rand() % 1023);
	if (proto == 6) {
		char src[32], dst[32];
		addr_format(ra, src, sizeof(src));
		addr_format(la, dst, sizeof(dst));
		pk_tcp4(p, src, rp, dst, lp, TF_SYN, 1, 0, 0);
	} else {
		char src[32], dst[32];
		addr_format(ra, src, sizeof(src));
		addr_format(la, dst, sizeof(dst));
		pk_eth(p, 0, 0x0800);
		pk_ip4(p, src, dst, 0, 0, 1);
		pk_udp(p, rp, lp, 0);
		pk_fin(p);
	}
	return true;
}

struct cb_result {
	int profile, nrules;
	struct apply_times at;
	long peak_kb; /* peak resident memory of the apply (a process of its own) */
	unsigned long long mem_all, mem_cls;
	double check;	    /* `rampart check`: parse, resolve and lint */
	double newf, floor; /* ns per packet: new flows of random deny rules, and the empty program */
	int npk;
};

#define CB_PACKETS 200
#define CB_REPEAT  2000

/* In a child process, so that its peak memory is the apply's. */
static void cb_measure(int profile, int n, int empty_fd, struct cb_result *r)
{
	struct policy pol;
	char *text = cb_policy((enum cb_profile)profile, n, 1);
	memset(r, 0, sizeof(*r));
	r->profile = profile;
	r->nrules = n;
	struct rampart_bpf *skel = apply(text, &pol, &r->at);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	r->peak_kb = ru.ru_maxrss;
	maps_memory(skel, &r->mem_all, &r->mem_cls);
	int xdp = bpf_program__fd(skel->progs.rampart_xdp);
	double sum = 0, fsum = 0;
	for (int tries = 0; r->npk < CB_PACKETS && tries < 100 * CB_PACKETS; tries++) {
		struct pk p;
		if (!cb_rule_packet(&pol, (int)(cb_rand() % (uint32_t)pol.nrules), &p))
			continue;
		int rc = run_once(xdp, &p, 1);
		if (rc == XDP_PASS_RC)
			continue; /* an earlier allow took it: it is a flow now */
		LIBBPF_OPTS(bpf_test_run_opts, o);
		struct xdp_md ctx = { .data_end = p.n, .ingress_ifindex = 1 };
		int fds[2] = { xdp, empty_fd };
		for (int k = 0; k < 2; k++) {
			o = (struct bpf_test_run_opts){ .sz = sizeof(o),
							.data_in = p.d,
							.data_size_in = p.n,
							.ctx_in = &ctx,
							.ctx_size_in = sizeof(ctx),
							.repeat = CB_REPEAT };
			if (bpf_prog_test_run_opts(fds[k], &o))
				die("BPF_PROG_TEST_RUN: %s", strerror(errno));
			*(k ? &fsum : &sum) += o.duration;
		}
		r->npk++;
	}
	r->newf = r->npk ? sum / r->npk : 0;
	r->floor = r->npk ? fsum / r->npk : 0;
	datapath_destroy(skel);
	policy_free(&pol);
	/* `rampart check` on the same text */
	struct diag d;
	struct load_opts lo = { 0 };
	double t0 = now_s();
	diag_init(&d, NULL, NULL);
	if (policy_load_string(&pol, "bench.rules", text, &lo, &d) == 0)
		lint_policy(&pol, &d);
	r->check = now_s() - t0;
	diag_free(&d);
	policy_free(&pol);
	free(text);
}

static void cb_run(int profile, int n, int empty_fd, struct cb_result *r)
{
	int fd[2];
	if (pipe(fd))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		cb_measure(profile, n, empty_fd, r);
		ssize_t w = write(fd[1], r, sizeof(*r));
		_exit(w == (ssize_t)sizeof(*r) ? 0 : 1);
	}
	close(fd[1]);
	ssize_t got = read(fd[0], r, sizeof(*r));
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (got != (ssize_t)sizeof(*r) || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the ClassBench-style measurement of %s %d failed", cb_profile_names[profile], n);
}

static int opt_cb_sizes[4] = { 1000, 10000, 100000 }, opt_cb_nsizes = 3;

/* ---------- main ---------- */

static void machine_notes(void)
{
	struct utsname u;
	char model[256] = "?", line[512], mit[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "model name : %255[^\n]", model) == 1)
				break;
		fclose(f);
	}
	f = fopen("/sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow", "r");
	if (f) {
		if (fgets(mit, sizeof(mit), f))
			mit[strcspn(mit, "\n")] = 0;
		fclose(f);
	}
	uname(&u);
	printf("machine: %s, %ld CPUs, Linux %s; spec_rstack_overflow: %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       u.release, mit);
	printf("method: BPF_PROG_TEST_RUN (XDP), %d rounds of %d packets per program\n\n", opt_runs, opt_repeat);
}

int main(int argc, char **argv)
{
	int sizes[8] = { 10, 1000, 10000, 100000 }, nsizes = 4;
	static const struct option lopts[] = {
		{ "repeat", required_argument, 0, 'r' },
		{ "runs", required_argument, 0, 'n' },
		{ "sizes", required_argument, 0, 's' },
		{ "xdp-filter", required_argument, 0, 'x' },
		{ "classbench", required_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "r:n:s:x:c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt_repeat = atoi(optarg);
			break;
		case 'n':
			opt_runs = atoi(optarg);
			break;
		case 's': {
			nsizes = 0;
			for (char *tok = strtok(optarg, ","); tok && nsizes < 8; tok = strtok(NULL, ","))
				sizes[nsizes++] = atoi(tok);
			break;
		}
		case 'x':
			opt_xdp_filter = optarg;
			break;
		case 'c': {
			opt_cb_nsizes = 0;
			for (char *tok = strtok(optarg, ","); tok && opt_cb_nsizes < 4; tok = strtok(NULL, ","))
				if (atoi(tok) > 0)
					opt_cb_sizes[opt_cb_nsizes++] = atoi(tok);
			break;
		}
		default:
			printf("usage: %s [--repeat N] [--runs N] [--sizes 10,1000,...] [--xdp-filter OBJ]\n"
			       "       [--classbench 1000,10000,100000 | 0]\n",
			       argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (opt_repeat < 1 || opt_runs < 1 || opt_runs > MAX_RUNS)
		die("--repeat must be positive and --runs between 1 and %d", MAX_RUNS);
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] < 3)
			die("a policy size must be at least 3 rules, not %d", sizes[i]);
	if (geteuid() != 0)
		die("needs root (BPF_PROG_TEST_RUN): run `sudo make bench`");
	/* a private network namespace: the datapath's socket lookups see
	 * nothing, and nothing here can touch the host's interfaces */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	/* stay on one CPU: per-CPU maps and caches stay warm, no migration noise */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (!getenv("BENCH_LIBBPF_LOG"))
		libbpf_set_print(NULL); /* BENCH_LIBBPF_LOG=1: libbpf's messages and verifier logs */

	machine_notes();
	int empty = load_empty();
	struct pk p;
	pk_tcp4(&p, EST_REMOTE, 40000, LOCAL, 80, TF_ACK | TF_PSH, 2, 2, 100);

	struct peer pr;
	load_peer(&pr);
	struct timing base[2] = { { 0, 0 }, { 0, 0 } };
	{
		int fds[2] = { empty, pr.prog_fd }, want[2] = { XDP_PASS_RC, XDP_PASS_RC };
		const struct pk *pkts[2] = { &p, &p };
		measure_round_robin(pr.prog_fd >= 0 ? 2 : 1, fds, pkts, want, base);
	}

	/* ClassBench-style policies first, each in a process of its own (forked
	 * while this one is still small, so that its peak memory is the apply's) */
	struct cb_result cbr[CB_NPROFILES][4];
	for (int pf = 0; pf < CB_NPROFILES; pf++)
		for (int i = 0; i < opt_cb_nsizes; i++)
			cb_run(pf, opt_cb_sizes[i], empty, &cbr[pf][i]);
	struct size_result res[8];
	for (int i = 0; i < nsizes; i++)
		bench_size(sizes[i], empty, &res[i]);
	double spread_floor = spread_ns(empty, 100000, XDP_PASS_RC);

	printf("ns per packet: best of %d rounds [median]; ratios to the empty program measured in the "
	       "same rounds\n\n",
	       opt_runs);
	printf("%-30s %16s %8s\n", "program", "ns/packet", "x floor");
	printf("%-30s %8.1f [%5.1f] %7.2fx\n", "empty XDP program (floor)", base[0].best, base[0].median, 1.0);
	if (pr.prog_fd >= 0)
		printf("xdp-filter (%4d entries)      %8.1f [%5.1f] %7.2fx\n", pr.nentries, base[1].best,
		       base[1].median, base[1].best / base[0].best);
	else
		printf("%-30s not measured: %s\n", "xdp-filter", pr.why);

	printf("\n%-8s %15s %17s %8s %17s %8s\n", "rules", "floor", "established flow", "x floor", "new flow (last)",
	       "x floor");
	for (int i = 0; i < nsizes; i++) {
		const struct size_result *r = &res[i];
		printf("%-8d %7.1f [%5.1f] %9.1f [%5.1f] %7.2fx %9.1f [%5.1f] %7.2fx\n", r->nrules, r->floor.best,
		       r->floor.median, r->est.best, r->est.median, r->est.best / r->floor.best, r->newf.best,
		       r->newf.median, r->newf.best / r->floor.best);
	}

	printf("\n%-8s %9s %9s %9s %9s %9s %11s %11s\n", "rules", "apply ms", "parse", "compile", "load", "fill",
	       "maps MiB", "classif.MiB");
	for (int i = 0; i < nsizes; i++) {
		const struct apply_times *a = &res[i].at;
		printf("%-8d %9.0f %9.0f %9.0f %9.0f %9.0f %11.1f %11.1f\n", res[i].nrules, a->total * 1e3,
		       a->parse * 1e3, a->compile * 1e3, a->load * 1e3, a->fill * 1e3,
		       (double)res[i].mem_all / (1 << 20), (double)res[i].mem_cls / (1 << 20));
	}

	printf("\nnew flows from %d random blocklisted sources, one packet per test run (mean ns, "
	       "test-run overhead included):\n",
	       SPREAD_PACKETS);
	printf("%-34s %8s %8.1f\n", "empty XDP program (floor)", "-", spread_floor);
	for (int i = 0; i < nsizes; i++) {
		char n[16];
		snprintf(n, sizeof(n), "%d", res[i].nrules);
		printf("%-34s %8s %8.1f   (%.2fx the first size)\n", "rampart, new flow (random rule)", n,
		       res[i].spread, res[i].spread / res[0].spread);
	}

	if (opt_cb_nsizes) {
		printf("\nClassBench-style policies (tests/bench/classbench.h, seed 1): apply (user-space half, in a "
		       "process of its own), its peak memory, the maps, `check`, and new flows of %d random deny rules "
		       "(%d repetitions each; floor: the empty program on the same packets):\n",
		       CB_PACKETS, CB_REPEAT);
		printf("%-8s %7s %9s %9s %7s %9s %9s %10s %8s %9s %9s %8s\n", "profile", "rules", "apply ms", "compile",
		       "peak MB", "maps MiB", "classif.", "classifier", "check ms", "new flow", "floor", "x floor");
		for (int pf = 0; pf < CB_NPROFILES; pf++)
			for (int i = 0; i < opt_cb_nsizes; i++) {
				const struct cb_result *r = &cbr[pf][i];
				char parts[32];
				snprintf(parts, sizeof(parts), r->at.nparts > 1 ? "%u parts" : "1 tree", r->at.nparts);
				printf("%-8s %7d %9.0f %9.0f %7.0f %9.1f %9.1f %10s %8.0f %9.1f %9.1f %7.2fx\n",
				       cb_profile_names[pf], r->nrules, r->at.total * 1e3, r->at.compile * 1e3,
				       (double)r->peak_kb / 1024, (double)r->mem_all / (1 << 20),
				       (double)r->mem_cls / (1 << 20), parts, r->check * 1e3, r->newf, r->floor,
				       r->floor > 0 ? r->newf / r->floor : 0);
			}
	}

	/* the targets of issue 12 (a benchmark: printed, never asserted) */
	printf("\n");
	int lo = -1, hi = -1;
	for (int i = 0; i < nsizes; i++) {
		if (res[i].nrules == 10)
			lo = i;
		if (res[i].nrules == 100000)
			hi = i;
	}
#define TARGET(ok, ...)                                      \
	do {                                                 \
		printf("target: " __VA_ARGS__);              \
		printf(" -> %s\n", (ok) ? "met" : "MISSED"); \
	} while (0)
	double worst_est = 0;
	for (int i = 0; i < nsizes; i++)
		if (res[i].est.best / res[i].floor.best > worst_est)
			worst_est = res[i].est.best / res[i].floor.best;
	TARGET(worst_est <= 2.0, "established flow <= 2x the empty program: worst %.2fx", worst_est);
	if (lo >= 0) {
		double x = res[lo].newf.best / res[lo].floor.best;
		TARGET(x <= 8.0, "new flow (last rule) at 10 rules <= 8x the empty program: %.2fx", x);
	}
	if (hi >= 0) {
		double x = res[hi].newf.best / res[hi].floor.best;
		TARGET(x <= 10.0, "new flow (last rule) at 100000 rules <= 10x the empty program: %.2fx", x);
		TARGET(res[hi].at.total <= 1.0, "apply of 100000 rules <= 1 s: %.2f s", res[hi].at.total);
		TARGET(res[hi].mem_cls <= 64ull << 20, "classifier maps at 100000 rules <= 64 MiB: %.1f MiB",
		       (double)res[hi].mem_cls / (1 << 20));
	}
	if (lo >= 0 && hi >= 0) {
		double x = res[hi].spread / res[lo].spread;
		TARGET(x <= 2.0, "new flows over random rules at 100000 rules <= 2x at 10 rules: %.2fx", x);
	}
	for (int pf = 0; pf < CB_NPROFILES; pf++)
		for (int i = 0; i < opt_cb_nsizes; i++) {
			const struct cb_result *r = &cbr[pf][i];
			const char *name = cb_profile_names[pf];
			if (r->nrules == 100000) {
				TARGET(r->at.total <= 10.0 && r->peak_kb <= 1 << 20,
				       "ClassBench %s 100000: apply <= 10 s and <= 1 GiB: %.2f s, %.0f MB", name,
				       r->at.total, (double)r->peak_kb / 1024);
				TARGET(r->mem_all <= 256ull << 20, "ClassBench %s 100000: maps <= 256 MiB: %.1f MiB",
				       name, (double)r->mem_all / (1 << 20));
				TARGET(r->floor > 0 && r->newf / r->floor <= 20.0,
				       "ClassBench %s 100000: a new flow <= 20x the empty program: %.2fx", name,
				       r->floor > 0 ? r->newf / r->floor : 0);
				TARGET(r->check <= 10.0, "ClassBench %s 100000: check <= 10 s: %.2f s", name, r->check);
			}
			if (r->nrules == 10000)
				TARGET(r->at.total <= 2.0, "ClassBench %s 10000: apply <= 2 s: %.2f s", name,
				       r->at.total);
		}
#undef TARGET
	close(empty);
	if (pr.obj)
		bpf_object__close(pr.obj);
	return 0;
}
