/* Kernel tests of the packet datapath (bpf/rampart.bpf.c) with
 * BPF_PROG_TEST_RUN: crafted packets for every parser path, good and
 * malformed, the conntrack lifecycle, reject answers (bytes and checksums),
 * counters, log events, modes and a full conntrack table.  Policies are
 * compiled from text with the policy library and the classifier compiler.
 *
 * Runs as root in a private network namespace (unshare), attaches nothing.
 * `test_datapath bench [N]` prints ns/packet for an empty XDP program and
 * for an established-flow packet instead of running the tests. */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <net/if.h>
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
#include "kt_datapath.h"

/* ---------- environment ---------- */

static struct rampart_bpf *skel;
static int counters_fd, stats_fd;
static uint64_t base_ctr[RPC_COUNTER_COUNT];
static struct policy pol;
static bool pol_loaded;
static int lo_ifindex = 1;

/* A policy for most tests.  Local host 192.0.2.1 / 2001:db8::1. */
static const char *P0 = "table root default deny {\n"
			"    allow in proto tcp local port 80\n"			       /* 1: rule 0 */
			"    allow in proto tcp local port 8443 log\n"			       /* rule 1 */
			"    reject in proto tcp local port 81\n"			       /* rule 2 */
			"    reject in proto udp local port 5353\n"			       /* rule 3 */
			"    reject in proto icmp icmp-type echo-request remote 203.0.113.9\n" /* rule 4 */
			"    allow in proto udp local port 53\n"			       /* rule 5 */
			"    allow in proto { icmp, icmpv6 } icmp-type echo-request\n"	       /* rule 6 */
			"    continue in proto tcp local port 8080\n"			       /* rule 7 */
			"    allow in proto tcp local port 8080\n"			       /* rule 8 */
			"    ask in proto tcp local port 9000\n"			       /* rule 9 */
			"    allow in event accept proto tcp local port 7100\n"		       /* rule 10 */
			"    allow in event receive proto udp local port 7200\n"	       /* rule 11 */
			"    allow in on lo proto tcp local port 7000\n"		       /* rule 12 */
			"    reject out proto tcp remote port 25 log\n"			       /* rule 13 */
			"    reject out proto udp remote port 9999\n"			       /* rule 14 */
			"    allow out\n"						       /* rule 15 */
			"}\n";

static void unload(void)
{
	if (skel)
		datapath_destroy(skel);
	skel = NULL;
	if (pol_loaded)
		policy_free(&pol);
	pol_loaded = false;
}

static void snap(void)
{
	assert_int_equal(datapath_counters(counters_fd, base_ctr), 0);
}

/* How much counter c grew since the last snap(). */
static uint64_t ctr(enum rp_counter c)
{
	uint64_t now[RPC_COUNTER_COUNT];
	assert_int_equal(datapath_counters(counters_fd, now), 0);
	return now[c] - base_ctr[c];
}

static void set_config(void (*edit)(struct rp_config *))
{
	kt_edit_config(skel, edit);
}

/* Compile `text`, load the datapath of generation gen (0: none switched
 * in) with conntrack capacity ct_size and write every map, as `rampart
 * apply` does. */
static void load_policy_as(const char *text, uint32_t ct_size, uint32_t gen)
{
	unload();
	pol_loaded = true;
	kt_load_datapath_gen(text, ct_size, gen, &pol, &skel);
	uint32_t lo_id = policy_iface_id(&pol, "lo");
	if (lo_id)
		assert_int_equal(datapath_set_iface(skel, (uint32_t)lo_ifindex, lo_id), 0);
	counters_fd = bpf_map__fd(skel->maps.rp_counters);
	stats_fd = bpf_map__fd(skel->maps.rp_rule_stats);
	snap();
}

static void load_policy_sized(const char *text, uint32_t ct_size)
{
	load_policy_as(text, ct_size, 0);
}

static void load_policy(const char *text)
{
	load_policy_sized(text, 1024);
}

static int setup_p0(void **state)
{
	load_policy(P0);
	return 0;
}

/* Run the next packets on this CPU (the flow cache is per CPU). */
static void on_cpu(int cpu)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
}

static int teardown(void **state)
{
	on_cpu(0); /* where kt_private_netns put the tests */
	unload();
	return 0;
}

/* ---------- running packets ---------- */

static struct pk out; /* the packet as the program left it */

static int run_xdp_if(struct pk *p, int ifindex)
{
	struct xdp_md ctx = { .data_end = p->n, .ingress_ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = out.d,
		    .data_size_out = sizeof(out.d), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int e = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_xdp), &o);
	if (e)
		fail_msg("BPF_PROG_TEST_RUN (xdp): %s", strerror(errno));
	out.n = o.data_size_out;
	return (int)o.retval;
}

static int run_xdp(struct pk *p)
{
	return run_xdp_if(p, lo_ifindex);
}

#define TC_OK	    0
#define TC_SHOT	    2
#define TC_REDIRECT 7

static int run_tc_if(struct pk *p, int ifindex)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = out.d,
		    .data_size_out = sizeof(out.d), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int e = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_tc_egress), &o);
	if (e)
		fail_msg("BPF_PROG_TEST_RUN (tc, ifindex %d): %s", ifindex, strerror(errno));
	out.n = o.data_size_out;
	return (int)o.retval;
}

static int run_tc(struct pk *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .data_out = out.d,
		    .data_size_out = sizeof(out.d), .repeat = 1);
	int e = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_tc_egress), &o);
	if (e)
		fail_msg("BPF_PROG_TEST_RUN (tc): %s", strerror(errno));
	out.n = o.data_size_out;
	return (int)o.retval;
}

/* Common packets: remote 198.51.100.7 (R) -> local 192.0.2.1 (L) and back. */
#define L4 "192.0.2.1"
#define R4 "198.51.100.7"
#define L6 "2001:db8::1"
#define R6 "2001:db8::7"

static void tcp4_in(struct pk *p, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, R4, L4, 0, 0, 1);
	pk_tcp(p, sp, dp, seq, ack, fl, 0);
	pk_fin(p);
}
static void tcp4_out(struct pk *p, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, L4, R4, 0, 0, 1);
	pk_tcp(p, sp, dp, seq, ack, fl, 0);
	pk_fin(p);
}
static void udp4(struct pk *p, const char *s, const char *d, uint16_t sp, uint16_t dp, int payload)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, s, d, 0, 0, 7);
	pk_udp(p, sp, dp, payload);
	pk_fin(p);
}
static void tcp6_in(struct pk *p, uint16_t sp, uint16_t dp, uint8_t fl)
{
	pk_eth(p, 0, ETH_P_IPV6);
	pk_ip6(p, R6, L6, 64);
	pk_tcp(p, sp, dp, 1000, 0, fl, 0);
	pk_fin(p);
}

/* An address as the datapath keeps it: 16 bytes, IPv4 as ::ffff:a.b.c.d. */
static void addr16(const char *s, uint32_t a[4])
{
	memset(a, 0, 16);
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	} else {
		a[2] = htonl(0xffff);
		assert_int_equal(inet_pton(AF_INET, s, &a[3]), 1);
	}
}

/* The conntrack key of a flow. */
static void flow_key(const char *s, uint16_t sp, const char *d, uint16_t dp, uint8_t proto, struct ct_key *k)
{
	uint32_t a[4], b[4];
	addr16(s, a);
	addr16(d, b);
	/* the same canonical order as bpf/conntrack.h: word by word, then port */
	int a_first = 1;
	for (int i = 0; i < 4; i++)
		if (a[i] != b[i]) {
			a_first = a[i] < b[i];
			goto done;
		}
	a_first = htons(sp) <= htons(dp);
done:
	memset(k, 0, sizeof(*k));
	memcpy(k->addr_a, a_first ? a : b, 16);
	memcpy(k->addr_b, a_first ? b : a, 16);
	k->port_a = htons(a_first ? sp : dp);
	k->port_b = htons(a_first ? dp : sp);
	k->proto = proto;
}

/* The entry of a flow in either table: 0, or -1 when it has none. */
static int ct_entry(const char *s, uint16_t sp, const char *d, uint16_t dp, uint8_t proto, struct ct_value *v)
{
	struct ct_key k;
	flow_key(s, sp, d, dp, proto, &k);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_conntrack), &k, v) &&
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_ct_new), &k, v))
		return -1;
	return 0;
}

static int ct_state(const char *s, uint16_t sp, const char *d, uint16_t dp, uint8_t proto)
{
	struct ct_value v;
	return ct_entry(s, sp, d, dp, proto, &v) ? -1 : v.state;
}

/* Entries of a hash map (keys up to 64 bytes). */
static int map_entries(const struct bpf_map *m)
{
	uint8_t k[64], nk[64];
	int n = 0, fd = bpf_map__fd(m);
	void *prev = NULL;
	assert_true(bpf_map__key_size(m) <= sizeof(k));
	while (bpf_map_get_next_key(fd, prev, nk) == 0) {
		n++;
		memcpy(k, nk, sizeof(k));
		prev = k;
	}
	return n;
}

/* Entries of rp_ct_new that are flows (not the copies moved flows left
 * for the sweeper). */
static int ct_new_live(void)
{
	struct ct_key k, nk;
	struct ct_value v;
	int n = 0, fd = bpf_map__fd(skel->maps.rp_ct_new);
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &nk) == 0) {
		n += bpf_map_lookup_elem(fd, &nk, &v) == 0 && !(v.flags & CT_F_MOVED);
		k = nk;
		prev = &k;
	}
	return n;
}

/* Flows in both tables; ct_assured: in rp_conntrack only. */
static int ct_count(void)
{
	return map_entries(skel->maps.rp_conntrack) + ct_new_live();
}

static int ct_assured(void)
{
	return map_entries(skel->maps.rp_conntrack);
}

/* ---------- parser: malformed and evasive packets ---------- */

static void test_non_ip_passes(void **state)
{
	struct pk p;
	pk_eth(&p, 0, 0x0806); /* ARP */
	pk_put(&p, NULL, 28);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_NONIP), 1);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_NONIP), 2);
}

static void test_truncated_ethernet(void **state)
{
	struct pk p;
	/* (BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header,
	 * as drivers never deliver them; cut-short VLAN tags are testable) */
	pk_eth(&p, 0, 0x8100);
	pk_put8(&p, 0);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L2), 1);
	pk_eth(&p, 1, 0x88a8); /* second tag missing */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(run_tc(&p), TC_SHOT);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L2), 3);
	assert_int_equal(ctr(RPC_PASS_NONIP), 0);
}

static void test_truncated_ipv4_header(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IP);
	pk_put8(&p, 0x45);
	pk_put(&p, NULL, 9);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L3), 1);
	assert_int_equal(ctr(RPC_NEW_ALLOW) + ctr(RPC_NEW_DENY), 0);
}

static void test_bad_ihl_and_version(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	p.d[p.l3] = 0x44; /* IHL 4 */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_BAD_IHL), 1);
	p.d[p.l3] = 0x65; /* version 6 behind ethertype IPv4 */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_BAD_VERSION), 1);
	assert_int_equal(ct_count(), 0);
}

static void test_bad_total_length(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	uint16_t big = htons((uint16_t)(p.n - p.l3 + 1)); /* longer than the frame */
	memcpy(p.d + p.l3 + 2, &big, 2);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	uint16_t small = htons(19); /* shorter than the header */
	memcpy(p.d + p.l3 + 2, &small, 2);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_BAD_LEN), 2);
	/* total length that ends inside the TCP header: the header is cut short */
	uint16_t cut = htons(20 + 10);
	memcpy(p.d + p.l3 + 2, &cut, 2);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L4), 1);
	assert_int_equal(ct_count(), 0);
}

static void test_ethernet_padding_is_fine(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	pk_put(&p, NULL, 6); /* frame padding after the datagram */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
}

static void test_ipv4_options_skipped(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 3, 0, 1);
	pk_tcp(&p, 40001, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ct_state(R4, 40001, L4, 80, 6), CT_TCP_SYN_SENT);
	/* the same with the port denied: options do not hide the port */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 10, 0, 1);
	pk_tcp(&p, 40001, 23, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
}

static void test_truncated_transport_headers(void **state)
{
	struct pk p;
	/* TCP: 12 bytes only */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_set_nh(&p, 6);
	pk_put16(&p, 40000);
	pk_put16(&p, 80);
	pk_put(&p, NULL, 8);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* UDP: 4 bytes */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_set_nh(&p, 17);
	pk_put16(&p, 40000);
	pk_put16(&p, 53);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* ICMP: 4 bytes */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_set_nh(&p, 1);
	pk_put32(&p, 0x08000000);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* ICMPv6: 6 bytes */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_set_nh(&p, 58);
	pk_put(&p, NULL, 6);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L4), 4);
	assert_int_equal(ct_count(), 0);
}

static void test_tcp_data_offset(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	p.d[p.l4 + 12] = 4 << 4;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TCP_DOFF), 1);
	p.d[p.l4 + 12] = 15 << 4; /* 60 bytes of header in a 20-byte segment */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L4), 1);
	assert_int_equal(ct_count(), 0);
}

static void test_impossible_tcp_flags(void **state)
{
	static const uint8_t bad[] = {
		TF_SYN | TF_FIN,
		TF_SYN | TF_RST,
		TF_FIN,
		0,
		TF_FIN | TF_PSH | TF_URG,
		TF_RST | TF_FIN | TF_ACK,
		TF_SYN | TF_FIN | TF_RST | TF_PSH | TF_ACK | TF_URG,
		TF_URG,
		TF_PSH,
	};
	struct pk p;
	for (size_t i = 0; i < sizeof(bad); i++) {
		tcp4_in(&p, 40000, 80, 1, 0, bad[i]);
		assert_int_equal(run_xdp(&p), XDP_DROP);
		assert_int_equal(ctr(RPC_DROP_TCP_FLAGS), 2 * i + 1);
		tcp4_out(&p, 80, 40000, 1, 0, bad[i]);
		assert_int_equal(run_tc(&p), TC_SHOT);
	}
	assert_int_equal(ctr(RPC_DROP_TCP_FLAGS), 2 * sizeof(bad));
	assert_int_equal(ct_count(), 0);
}

static void test_udp_length_field(void **state)
{
	struct pk p;
	udp4(&p, R4, L4, 40000, 53, 8);
	p.d[p.l4 + 4] = 0;
	p.d[p.l4 + 5] = 4; /* below the header size */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	p.d[p.l4 + 5] = 40; /* beyond the datagram */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_UDP_LEN), 2);
	p.d[p.l4 + 5] = 16;
	assert_int_equal(run_xdp(&p), XDP_PASS);
}

static void test_vlan_tags(void **state)
{
	struct pk p;
	for (int tags = 1; tags <= 2; tags++) {
		pk_eth(&p, tags, ETH_P_IP);
		pk_ip4(&p, R4, L4, 0, 0, 1);
		pk_tcp(&p, (uint16_t)(41000 + tags), 80, 1, 0, TF_SYN, 0);
		pk_fin(&p);
		assert_int_equal(run_xdp(&p), XDP_PASS);
		/* a denied port behind tags stays denied */
		pk_eth(&p, tags, ETH_P_IP);
		pk_ip4(&p, R4, L4, 0, 0, 1);
		pk_tcp(&p, (uint16_t)(41000 + tags), 23, 1, 0, TF_SYN, 0);
		pk_fin(&p);
		assert_int_equal(run_xdp(&p), XDP_DROP);
	}
	assert_int_equal(ctr(RPC_NEW_ALLOW), 2);
	assert_int_equal(ctr(RPC_NEW_DENY), 2);
	pk_eth(&p, 3, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_tcp(&p, 41003, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_VLAN_DEPTH), 1);
}

static void test_ipv6_extension_chain(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_ext6(&p, 0, 0);  /* hop-by-hop */
	pk_ext6(&p, 60, 1); /* destination options */
	pk_ext6(&p, 43, 0); /* routing */
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ct_state(R6, 40000, L6, 80, 6), CT_TCP_SYN_SENT);
	/* the port behind the chain is what is judged */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_ext6(&p, 60, 0);
	pk_tcp(&p, 40000, 23, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
}

static void test_ipv6_chain_too_long(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	for (int i = 0; i < 9; i++)
		pk_ext6(&p, 60, 0);
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_EXT_CHAIN), 1);
	/* exactly the limit is fine */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	for (int i = 0; i < 8; i++)
		pk_ext6(&p, 60, 0);
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* hop-by-hop anywhere but first */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_ext6(&p, 60, 0);
	pk_ext6(&p, 0, 0);
	pk_tcp(&p, 40002, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_EXT_CHAIN), 2);
}

static void test_ipv6_truncated_and_bad_length(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_put(&p, NULL, 30);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L3), 1);
	/* an extension header whose length runs past the datagram */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_ext6(&p, 60, 0);
	p.d[p.l4 - 8 + 1] = 20;
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_TRUNC_L3), 2);
	/* payload length beyond the frame, and 0 (jumbogram) */
	tcp6_in(&p, 40000, 80, TF_SYN);
	p.d[p.l3 + 5] += 1;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	p.d[p.l3 + 4] = p.d[p.l3 + 5] = 0;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_BAD_LEN), 2);
	assert_int_equal(ct_count(), 0);
}

static void frag4(struct pk *p, uint16_t id, uint16_t fragfield, uint16_t dport, int tcp_bytes)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, R4, L4, 0, fragfield, id);
	if (tcp_bytes >= 20) {
		pk_tcp(p, 40000, dport, 1, 0, TF_SYN, tcp_bytes - 20);
	} else {
		pk_set_nh(p, 6);
		pk_put(p, NULL, (size_t)tcp_bytes);
	}
	pk_fin(p);
}

static void test_ipv4_fragments(void **state)
{
	struct pk p;
	/* first fragment of an allowed flow, then its later fragments */
	frag4(&p, 77, 0x2000, 80, 24);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	frag4(&p, 77, 0x2000 | 3, 80, 16);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	frag4(&p, 77, 6, 80, 16); /* last fragment */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_FRAG), 2);
	/* a later fragment of nothing that passed */
	frag4(&p, 78, 3, 80, 16);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_ORPHAN), 1);
	/* the first fragment of a denied flow: its followers are orphans too */
	frag4(&p, 79, 0x2000, 23, 24);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	frag4(&p, 79, 3, 23, 16);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_ORPHAN), 2);
	/* tiny first fragment: the TCP header does not fit */
	frag4(&p, 80, 0x2000, 80, 16);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_TINY), 1);
	/* a later fragment overlapping the TCP header (offset 8 bytes, RFC 1858) */
	frag4(&p, 77, 1, 80, 16);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_OVERLAP), 1);
}

static void test_ipv6_fragments(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_frag6(&p, 0, 1, 0x1234);
	pk_tcp(&p, 40000, 80, 1, 0, TF_SYN, 8);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_frag6(&p, 32, 0, 0x1234);
	p.d[p.nh] = 6;
	pk_put(&p, NULL, 16);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_FRAG), 1);
	/* unknown identification */
	p.d[p.l4 - 1] ^= 0xff;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_ORPHAN), 1);
	/* first fragment without the whole upper-layer header */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_frag6(&p, 0, 1, 0x5678);
	p.d[p.nh] = 6;
	pk_put(&p, NULL, 8);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_FRAG_TINY), 1);
	/* an atomic fragment (offset 0, no more) is a whole packet */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_frag6(&p, 0, 0, 0x9999);
	pk_tcp(&p, 40001, 80, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R6, 40001, L6, 80, 6), CT_TCP_SYN_SENT);
}

/* ---------- conntrack ---------- */

static void open_tcp_flow(uint16_t sp, int n)
{
	struct pk p;
	tcp4_in(&p, sp, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, sp, 1, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, sp, 80, 2, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	for (int i = 0; i < n; i++) {
		tcp4_in(&p, sp, 80, 2, 2, TF_ACK | TF_PSH);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(ct_state(R4, sp, L4, 80, 6), CT_TCP_ESTABLISHED);
}

/* RFC 5961: a blind RST or SYN cannot close or replace a flow.  After
 * open_tcp_flow both sides' next sequence number is 2, windows 65535. */
static void test_tcp_blind_rst_and_syn(void **state)
{
	struct pk p;
	open_tcp_flow(30100, 0);
	uint32_t guesses[] = { 2 + 1000000, 2 - 200000, 0x80000000u, 2 + 70000 };
	for (unsigned i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
		tcp4_in(&p, 30100, 80, guesses[i], 0, TF_RST);
		assert_int_equal(run_xdp(&p), XDP_DROP);
		tcp4_out(&p, 80, 30100, guesses[i], 0, TF_RST);
		assert_int_equal(run_tc(&p), TC_SHOT);
	}
	assert_int_equal(ctr(RPC_DROP_TCP_WINDOW), 8);
	/* inside the window but not exact: to the endpoint (challenge ACK), unchanged */
	tcp4_in(&p, 30100, 80, 2 + 1000, 0, TF_RST);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, 30100, 2 + 5000, 0, TF_RST | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_TCP_RST_IGNORED), 2);
	/* SYNs on the synchronized flow: passed unchanged, never a new flow */
	tcp4_in(&p, 30100, 80, 123456789, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, 30100, 987654321, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_TCP_SYN_IGNORED), 2);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ct_state(R4, 30100, L4, 80, 6), CT_TCP_ESTABLISHED);
	tcp4_in(&p, 30100, 80, 2, 2, TF_ACK | TF_PSH);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* data outside the window is dropped too */
	tcp4_in(&p, 30100, 80, 2 + 1000000, 2, TF_ACK | TF_PSH);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* the RST at the exact sequence number closes it */
	tcp4_in(&p, 30100, 80, 2, 0, TF_RST);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 30100, L4, 80, 6), CT_TCP_CLOSED);
}

static void test_tcp_lifecycle(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1000, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_SYN_SENT);
	tcp4_out(&p, 80, 40000, 5000, 1001, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_SYN_RECV);
	tcp4_in(&p, 40000, 80, 1001, 5001, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_ESTABLISHED);
	tcp4_in(&p, 40000, 80, 1001, 5001, TF_ACK | TF_PSH);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, 40000, 5001, 1010, TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_FLOW), 4);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1); /* judged once */
	tcp4_in(&p, 40000, 80, 1010, 5001, TF_FIN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_FIN_WAIT);
	tcp4_out(&p, 80, 40000, 5001, 1011, TF_FIN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_CLOSING);
	tcp4_in(&p, 40000, 80, 1011, 5002, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_TIME_WAIT);
	/* port reuse: a new SYN is a new flow, judged again */
	tcp4_in(&p, 40000, 80, 9000, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 2);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_SYN_SENT);
	/* RST closes */
	tcp4_out(&p, 80, 40000, 0, 9001, TF_RST | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_CLOSED);
}

static void test_outbound_flow_replies_pass(void **state)
{
	struct pk p;
	tcp4_out(&p, 50000, 443, 1, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(L4, 50000, R4, 443, 6), CT_TCP_SYN_SENT);
	/* the reply comes in on XDP; inbound 443 is not allowed by itself */
	tcp4_in(&p, 443, 50000, 7000, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 50000, 443, 2, 7001, TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(L4, 50000, R4, 443, 6), CT_TCP_ESTABLISHED);
	/* a new inbound SYN to that port is judged and denied */
	tcp4_in(&p, 443, 50001, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
}

static void test_stray_packets_are_invalid(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 1, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 40000, 80, 1, 1, TF_SYN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 40000, 80, 1, 1, TF_RST);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 40000, 80, 1, 1, TF_FIN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_out(&p, 80, 40000, 1, 1, TF_ACK);
	assert_int_equal(run_tc(&p), TC_SHOT);
	/* echo reply without a request */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_icmp(&p, 0, 0, 9, 1);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_INVALID), 6);
	assert_int_equal(ctr(RPC_NEW_ALLOW) + ctr(RPC_NEW_DENY), 0);
	assert_int_equal(ct_count(), 0);
}

static void test_reply_to_denied_flow_dropped(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 23, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	tcp4_out(&p, 23, 40000, 1, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_SHOT);
	assert_int_equal(ctr(RPC_DROP_INVALID), 1);
	tcp4_in(&p, 40000, 23, 2, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_INVALID), 2);
}

static void test_tcp_state_violations(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* the originator ACKs before any SYN-ACK */
	tcp4_in(&p, 40000, 80, 2, 1, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* the responder sends data without a SYN-ACK */
	tcp4_out(&p, 80, 40000, 1, 2, TF_ACK | TF_PSH);
	assert_int_equal(run_tc(&p), TC_SHOT);
	assert_int_equal(ctr(RPC_DROP_INVALID_STATE), 2);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_SYN_SENT);
	/* a retransmitted SYN is fine */
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
}

static void test_udp_flow(void **state)
{
	struct pk p;
	udp4(&p, R4, L4, 40000, 53, 12);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 53, 17), CT_UDP);
	udp4(&p, L4, R4, 53, 40000, 40);
	assert_int_equal(run_tc(&p), TC_OK);
	udp4(&p, R4, L4, 40000, 53, 12);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ctr(RPC_PASS_FLOW), 2);
	udp4(&p, R4, L4, 40000, 54, 12);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	/* IPv6 too */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_udp(&p, 40000, 53, 4);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R6, 40000, L6, 53, 17), CT_UDP);
}

static void test_icmp_echo_flow(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_icmp(&p, 8, 0, 0x4242, 1);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 0x4242, L4, 0x4242, 1), CT_ICMP);
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, L4, R4, 0, 0, 1);
	pk_icmp(&p, 0, 0, 0x4242, 1);
	pk_fin(&p);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_FLOW), 1);
	/* a reply with another identifier is no reply */
	p.d[p.l4 + 4] ^= 1;
	assert_int_equal(run_tc(&p), TC_SHOT);
	/* ICMPv6 echo */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_icmp(&p, 128, 0, 7, 1);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, L6, R6, 64);
	pk_icmp(&p, 129, 0, 7, 1);
	pk_fin(&p);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 2);
	assert_int_equal(ctr(RPC_PASS_FLOW), 2);
}

/* An ICMP error from `from` to L4 quoting the packet L4:sp -> dst:dp (udp). */
static void icmp4_error_about(struct pk *p, const char *from, uint8_t type, const char *dst, uint16_t sp, uint16_t dp)
{
	struct pk inner;
	udp4(&inner, L4, dst, sp, dp, 20);
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, from, L4, 0, 0, 1);
	pk_icmp(p, type, 3, 0, 0);
	pk_put(p, inner.d + inner.l3, 28); /* IP header + 8 bytes */
	pk_fin(p);
}

static void test_icmp_errors_related_only(void **state)
{
	struct pk p;
	udp4(&p, L4, R4, 4000, 53, 20);
	assert_int_equal(run_tc(&p), TC_OK);
	/* port unreachable from the peer, and time exceeded from a router */
	icmp4_error_about(&p, R4, 3, R4, 4000, 53);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	icmp4_error_about(&p, "203.0.113.1", 11, R4, 4000, 53);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_RELATED), 2);
	/* about a flow that does not exist */
	icmp4_error_about(&p, R4, 3, R4, 4001, 53);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* quoting a packet that was not ours */
	struct pk inner;
	udp4(&inner, "192.0.2.99", R4, 4000, 53, 20);
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_icmp(&p, 3, 3, 0, 0);
	pk_put(&p, inner.d + inner.l3, 28);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* quote cut short */
	icmp4_error_about(&p, R4, 3, R4, 4000, 53);
	p.n -= 6;
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_ICMP_UNRELATED), 3);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
}

static void test_icmpv6_errors_related_only(void **state)
{
	struct pk p, inner;
	pk_eth(&inner, 0, ETH_P_IPV6);
	pk_ip6(&inner, L6, R6, 64);
	pk_tcp(&inner, 50000, 443, 1, 0, TF_SYN, 0);
	pk_fin(&inner);
	assert_int_equal(run_tc(&inner), TC_OK);
	/* packet too big for that flow */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, "2001:db8::fe", L6, 64);
	pk_icmp(&p, 2, 0, 0, 1280);
	pk_put(&p, inner.d + inner.l3, 48);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_RELATED), 1);
	/* the same about another port */
	p.d[p.l4 + 8 + 40 + 3] ^= 1;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_ICMP_UNRELATED), 1);
}

static void test_neighbour_discovery_implicit(void **state)
{
	struct pk p;
	for (uint8_t t = 133; t <= 137; t++) {
		pk_eth(&p, 0, ETH_P_IPV6);
		pk_ip6(&p, "fe80::2", "ff02::1", 255);
		pk_icmp(&p, t, 0, 0, 0);
		pk_fin(&p);
		assert_int_equal(run_xdp(&p), XDP_PASS);
		assert_int_equal(run_tc(&p), TC_OK);
	}
	assert_int_equal(ctr(RPC_PASS_IMPLICIT_ND), 10);
	/* routed from elsewhere (hop limit below 255): judged, and denied here */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_icmp(&p, 135, 0, 0, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	/* nothing else is implicit: an MLD report is judged */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, "fe80::2", "ff02::16", 255);
	pk_icmp(&p, 143, 0, 0, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 2);
}

/* RFC 4861 scope: what the implicit rule lets pass without the policy. */
static void nd6(struct pk *p, const char *src, const char *dst, uint8_t type, uint8_t code)
{
	pk_eth(p, 0, ETH_P_IPV6);
	pk_ip6(p, src, dst, 255);
	pk_icmp(p, type, code, 0, 0);
	pk_fin(p);
}

static void test_neighbour_discovery_scope(void **state)
{
	struct pk p;
	/* on the link: link-local or link-scope multicast destinations, or a
	 * global address of this host (unicast solicitation, NUD) */
	nd6(&p, "fe80::2", "fe80::1", 136, 0);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	nd6(&p, "::", "ff02::1:ff00:1", 135, 0); /* duplicate address detection */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	nd6(&p, R6, L6, 135, 0);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	nd6(&p, "fe80::2", L6, 137, 0); /* a redirect to our global address */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	int kt0 = (int)if_nametoindex("kt0");
	nd6(&p, L6, R6, 136, 0); /* leaving to a neighbour reached without a gateway */
	assert_int_equal(run_tc_if(&p, kt0), TC_OK);
	assert_int_equal(ctr(RPC_PASS_IMPLICIT_ND), 5);
	assert_int_equal(ctr(RPC_NEW_DENY) + ctr(RPC_NEW_ALLOW), 0);
	/* not implicit, judged by the policy (which denies them inbound) */
	nd6(&p, R6, "ff02::1", 134, 0); /* router advertisement from a global source */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	nd6(&p, R6, L6, 137, 0); /* redirect from a global source */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	nd6(&p, R6, "ff02::2", 133, 0); /* router solicitation from a global source */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	nd6(&p, "::", "fe80::1", 136, 0); /* an advertisement needs a source */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	nd6(&p, "fe80::2", "ff02::1", 136, 1); /* code must be 0 */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	nd6(&p, "fe80::2", "ff05::1", 136, 0); /* multicast beyond the link */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* routed through this host: never implicit (the kernel forwards
	 * nothing from a link-local source, so a global one) */
	nd6(&p, R6, "2001:db8:5::9", 135, 0);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 7);
	/* leaving towards a destination behind a gateway, or out of another
	 * interface than its route's: judged (the policy allows out) */
	nd6(&p, L6, "2001:db8:5::9", 136, 0);
	assert_int_equal(run_tc_if(&p, kt0), TC_OK);
	nd6(&p, L6, R6, 136, 0);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 2);
	assert_int_equal(ctr(RPC_PASS_IMPLICIT_ND), 5);
}

static void short_udp(struct rp_config *c)
{
	c->timeout_ns[CT_UDP] = 1;
}

static void test_expired_flow_is_gone(void **state)
{
	struct pk p;
	udp4(&p, L4, R4, 4000, 53, 20);
	assert_int_equal(run_tc(&p), TC_OK);
	set_config(short_udp);
	usleep(250000); /* established flows see the sweeper's 100 ms clock */
	/* the reply now belongs to no flow: judged as new inbound, denied */
	udp4(&p, R4, L4, 53, 4000, 20);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	assert_int_equal(ct_state(L4, 4000, R4, 53, 17), -1);
}

static void fast_sweep(struct rp_config *c)
{
	c->timeout_ns[CT_UDP] = 1000000; /* 1 ms */
	c->timeout_ns[CT_TCP_SYN_SENT] = 1000000;
	c->sweep_interval_ns = 10000000; /* 10 ms */
}

static void test_sweeper_removes_expired(void **state)
{
	struct pk p;
	set_config(fast_sweep);
	for (int i = 0; i < 5; i++) {
		udp4(&p, L4, R4, (uint16_t)(4000 + i), 53, 20);
		assert_int_equal(run_tc(&p), TC_OK);
	}
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_count(), 6);
	/* no packet looks at them again: only the timer can remove them */
	for (int i = 0; i < 100 && ct_count() > 0; i++)
		usleep(20000);
	assert_int_equal(ct_count(), 0);
	assert_true(ctr(RPC_CT_EXPIRED) >= 6);
}

static void tcp4_from(struct pk *p, const char *src, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, src, L4, 0, 0, 1);
	pk_tcp(p, sp, dp, seq, ack, fl, 0);
	pk_fin(p);
}

/* A flood of half-open flows (spoofed SYNs to an allowed port) only ever
 * evicts its own kind: established flows keep passing, and a new flow
 * made during the flood completes. */
static void test_syn_flood_never_evicts_established(void **state)
{
	struct pk p;
	char src[32];
	load_policy_sized(P0, 64);
	for (int i = 0; i < 8; i++)
		open_tcp_flow((uint16_t)(30000 + i), 1);
	assert_int_equal(ct_assured(), 8);
	for (int i = 0; i < 2000; i++) {
		snprintf(src, sizeof(src), "203.0.113.%d", 1 + i % 250);
		tcp4_from(&p, src, (uint16_t)(1024 + i), 80, (uint32_t)i * 7919u, 0, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(ctr(RPC_NEW_ALLOW), 8 + 2000);
	assert_int_equal(ctr(RPC_DROP_CT_FULL), 0);
	assert_int_equal(ct_assured(), 8);
	assert_true(map_entries(skel->maps.rp_ct_new) <= 64);
	for (int i = 0; i < 8; i++) {
		tcp4_in(&p, (uint16_t)(30000 + i), 80, 2, 2, TF_ACK | TF_PSH);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	open_tcp_flow(31000, 1);
	assert_int_equal(ct_assured(), 9);
}

/* rp_conntrack full: a flow that completes its handshake stays in the
 * half-open table (counted once), and keeps working. */
static void test_conntrack_established_full(void **state)
{
	struct pk p;
	load_policy_sized(P0, 4);
	for (int i = 0; i < 4; i++)
		open_tcp_flow((uint16_t)(30000 + i), 0);
	assert_int_equal(ct_assured(), 4);
	open_tcp_flow(30004, 3);
	assert_int_equal(ct_assured(), 4);
	assert_int_equal(ctr(RPC_CT_ESTABLISHED_FULL), 1);
	assert_int_equal(ct_state(R4, 30004, L4, 80, 6), CT_TCP_ESTABLISHED);
	tcp4_out(&p, 80, 30004, 2, 2, TF_ACK | TF_PSH);
	assert_int_equal(run_tc(&p), TC_OK);
	/* a flow that closes and expires makes room: the next packet moves it */
	tcp4_out(&p, 80, 30000, 2, 2, TF_RST | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(R4, 30000, L4, 80, 6), CT_TCP_CLOSED);
	struct rp_config cfg;
	assert_int_equal(datapath_read_config(skel, &cfg), 0);
	cfg.timeout_ns[CT_TCP_CLOSED] = 1;
	assert_int_equal(datapath_write_config(skel, &cfg), 0);
	usleep(250000);
	tcp4_in(&p, 30000, 80, 2, 2, TF_ACK); /* finds it expired, deletes it */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 30004, 80, 2, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_assured(), 4);
	assert_int_equal(ct_new_live(), 0); /* the moved flows' copies wait for the sweeper */
}

/* ---------- reject ---------- */

static void test_reject_tcp_rst_ipv4(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 81, 1000, 0, TF_SYN);
	pk_put(&p, "hello", 5);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(ctr(RPC_NEW_REJECT), 1);
	assert_int_equal(out.n, 14 + 20 + 20);
	assert_memory_equal(out.d, PK_MAC_B, 6);
	assert_memory_equal(out.d + 6, PK_MAC_A, 6);
	const uint8_t *ip = out.d + 14, *t = ip + 20;
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(pk_get16(ip + 2), 40);
	assert_int_equal(ip[9], 6);
	assert_memory_equal(ip + 12, p.d + p.l3 + 16, 4); /* src = old dst */
	assert_memory_equal(ip + 16, p.d + p.l3 + 12, 4);
	assert_int_equal(pk_check_ip4_hdr(ip), 0xffff);
	assert_int_equal(pk_get16(t), 81);
	assert_int_equal(pk_get16(t + 2), 40000);
	assert_int_equal(pk_get32(t + 4), 0);		 /* no ACK in the SYN: seq 0 */
	assert_int_equal(pk_get32(t + 8), 1000 + 5 + 1); /* ack = seq + data + SYN */
	assert_int_equal(t[13], TF_RST | TF_ACK);
	assert_int_equal(t[12] >> 4, 5);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	assert_int_equal(ct_count(), 0);
}

static void test_reject_tcp_rst_ipv6_with_options(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_ext6(&p, 60, 1);
	pk_tcp(&p, 40000, 81, 0xfffffffe, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(out.n, 14 + 40 + 20);
	const uint8_t *ip = out.d + 14, *t = ip + 40;
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal(ip[6], 6); /* no extension headers echoed */
	assert_int_equal(pk_get16(ip + 4), 20);
	assert_memory_equal(ip + 8, p.d + p.l3 + 24, 16);
	assert_memory_equal(ip + 24, p.d + p.l3 + 8, 16);
	assert_int_equal(pk_get32(t + 8), 0xffffffff); /* seq + 1 */
	assert_int_equal(t[13], TF_RST | TF_ACK);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
}

static void test_reject_udp_icmp_unreachable_ipv4(void **state)
{
	struct pk p;
	pk_eth(&p, 1, ETH_P_IP); /* behind a VLAN tag */
	pk_ip4(&p, R4, L4, 1, 0, 99);
	pk_udp(&p, 40000, 5353, 30);
	pk_fin(&p);
	struct pk orig = p;
	assert_int_equal(run_xdp(&p), XDP_TX);
	uint32_t l3 = 18, ohl = 24, olen = orig.n - orig.l3;
	uint32_t q = olen & ~3u;
	assert_int_equal(out.n, l3 + 20 + 8 + q);
	assert_memory_equal(out.d, PK_MAC_B, 6);
	assert_memory_equal(out.d + 6, PK_MAC_A, 6);
	assert_memory_equal(out.d + 12, orig.d + 12, 6); /* tag kept */
	const uint8_t *ip = out.d + l3, *ic = ip + 20;
	assert_int_equal(ip[9], 1);
	assert_int_equal(pk_get16(ip + 2), 20 + 8 + q);
	assert_int_equal(pk_check_ip4_hdr(ip), 0xffff);
	assert_memory_equal(ip + 12, orig.d + orig.l3 + 16, 4);
	assert_memory_equal(ip + 16, orig.d + orig.l3 + 12, 4);
	assert_int_equal(ic[0], 3);
	assert_int_equal(ic[1], 3);				/* port unreachable */
	assert_memory_equal(ic + 8, orig.d + orig.l3, ohl + 8); /* quoted header + 8 bytes */
	assert_int_equal(pk_check_l4(out.d, l3, out.n), 0xffff);
	/* an ICMP echo from a rejected host: administratively prohibited */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, "203.0.113.9", L4, 0, 0, 1);
	pk_icmp(&p, 8, 0, 5, 5);
	pk_fin(&p);
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(out.d[14 + 20], 3);
	assert_int_equal(out.d[14 + 20 + 1], 13);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	assert_int_equal(ctr(RPC_NEW_REJECT), 2);
}

static void test_reject_udp_icmpv6_unreachable(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, R6, L6, 64);
	pk_udp(&p, 40000, 5353, 600); /* longer than the quote limit */
	pk_fin(&p);
	struct pk orig = p;
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(out.n, 14 + 40 + 8 + 512);
	const uint8_t *ip = out.d + 14, *ic = ip + 40;
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 64);
	assert_int_equal(pk_get16(ip + 4), 8 + 512);
	assert_int_equal(ic[0], 1);
	assert_int_equal(ic[1], 4);
	assert_memory_equal(ic + 8, orig.d + orig.l3, 512);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
}

static void test_reject_not_answered_to_multicast(void **state)
{
	struct pk p;
	udp4(&p, R4, "224.0.0.251", 5353, 5353, 10);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* never answered: a reject must not multiply a packet */
	udp4(&p, "0.0.0.0", L4, 68, 5353, 10);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* a unicast address in a broadcast frame: a subnet-directed broadcast */
	udp4(&p, R4, L4, 40000, 5353, 10);
	memset(p.d, 0xff, 6);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_REJECT), 0);
	assert_int_equal(ctr(RPC_DROP_REJECT_NOT_UNICAST), 3);
}

static void test_reject_egress_back_to_local_stack(void **state)
{
	struct pk p;
	tcp4_out(&p, 50000, 25, 777, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	assert_int_equal(out.n, 54);
	const uint8_t *ip = out.d + 14, *t = ip + 20;
	assert_memory_equal(ip + 12, p.d + p.l3 + 16, 4); /* from the remote */
	assert_memory_equal(ip + 16, p.d + p.l3 + 12, 4); /* to the local app */
	assert_int_equal(pk_get16(t), 25);
	assert_int_equal(pk_get16(t + 2), 50000);
	assert_int_equal(pk_get32(t + 8), 778);
	assert_int_equal(t[13], TF_RST | TF_ACK);
	assert_int_equal(pk_check_ip4_hdr(ip), 0xffff);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	/* UDP: ICMP port unreachable to the local app */
	udp4(&p, L4, R4, 50000, 9999, 13);
	struct pk orig = p;
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	ip = out.d + 14;
	assert_int_equal(ip[9], 1);
	assert_int_equal(ip[20], 3);
	assert_int_equal(ip[21], 3);
	assert_memory_equal(ip + 28, orig.d + 14, 28);
	assert_int_equal(pk_check_ip4_hdr(ip), 0xffff);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	assert_int_equal(ctr(RPC_NEW_REJECT), 2);
	assert_int_equal(ct_count(), 0);
}

/* ---------- counters and log ---------- */

static struct rp_log_event logs[64];
static int nlogs;

static int on_log(void *ctx, void *data, size_t len)
{
	assert_int_equal(len, sizeof(struct rp_log_event));
	if (nlogs < 64)
		memcpy(&logs[nlogs++], data, sizeof(struct rp_log_event));
	return 0;
}

static int read_logs(void)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.rp_log), on_log, NULL, NULL);
	assert_non_null(rb);
	nlogs = 0;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return nlogs;
}

static void test_rule_counters(void **state)
{
	struct pk p;
	uint32_t bytes = 0;
	for (int i = 0; i < 3; i++) {
		tcp4_in(&p, (uint16_t)(42000 + i), 80, 1, 0, TF_SYN);
		bytes += p.n;
		assert_int_equal(run_xdp(&p), XDP_PASS);
		/* later packets of the flow are not counted to the rule */
		tcp4_out(&p, 80, (uint16_t)(42000 + i), 1, 2, TF_SYN | TF_ACK);
		assert_int_equal(run_tc(&p), TC_OK);
	}
	struct rp_rule_stats st;
	assert_int_equal(datapath_rule_stats(stats_fd, 0, &st), 0);
	assert_int_equal(st.packets, 3);
	assert_int_equal(st.bytes, bytes);
	/* the root default (slot nrules + root table) counts the denied */
	tcp4_in(&p, 42000, 23, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(datapath_rule_stats(stats_fd, policy_rule_slot(&pol, -1, pol.root), &st), 0);
	assert_int_equal(st.packets, 1);
	/* metadata for `rampart rules` */
	struct rp_rule_meta m;
	uint32_t slot = 1;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_rules), &slot, &m), 0);
	assert_string_equal(m.file, "test.rules");
	assert_int_equal(m.line, 3);
	assert_string_equal(m.table, "root");
	assert_int_equal(m.verdict, VERDICT_ALLOW);
	assert_int_equal(m.log, 1);
	assert_non_null(strstr(m.text, "8443"));
}

/* A flow records the rule that allowed it and the generation whose rules
 * number it (its low 16 bits): `rampart flows` names the rule as that
 * policy did, after later applies too. */
static void test_flow_rule_generation(void **state)
{
	struct pk p;
	struct ct_value v;
	load_policy_as(P0, 1024, 0x12345);
	tcp4_in(&p, 43211, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_entry(R4, 43211, L4, 8443, 6, &v), 0);
	assert_int_equal(v.rule_slot, 1);
	assert_int_equal(v.rule_gen, 0x2345);
	/* the reply, and the flow in rp_conntrack, keep them */
	tcp4_out(&p, 8443, 43211, 1, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, 43211, 8443, 2, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 43211, L4, 8443, 6), CT_TCP_ESTABLISHED);
	assert_int_equal(ct_entry(R4, 43211, L4, 8443, 6, &v), 0);
	assert_int_equal(v.rule_slot, 1);
	assert_int_equal(v.rule_gen, 0x2345);
}

static void test_log_event_fields(void **state)
{
	struct pk p;
	tcp4_in(&p, 43210, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(read_logs(), 1);
	struct rp_log_event *e = &logs[0];
	assert_int_equal(e->rule_slot, 1);
	assert_int_equal(e->verdict, VERDICT_ALLOW);
	assert_int_equal(e->dir, DIR_IN);
	assert_int_equal(e->event, EVENT_PACKET);
	assert_int_equal(e->family, 4);
	assert_int_equal(e->proto, 6);
	assert_int_equal(e->lport, 8443);
	assert_int_equal(e->rport, 43210);
	assert_int_equal(e->tcp_flags, TF_SYN);
	assert_int_equal(e->ifindex, (uint32_t)lo_ifindex);
	assert_int_equal(e->flags & RP_LOGF_EGRESS, 0);
	assert_memory_equal(&e->laddr[3], p.d + p.l3 + 16, 4);
	assert_memory_equal(&e->raddr[3], p.d + p.l3 + 12, 4);
	assert_int_equal(ntohl(e->laddr[2]), 0xffff);
	assert_true(e->time_ns > 0);
	/* flows are logged once, not per packet */
	tcp4_in(&p, 43210, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(read_logs(), 0);
	/* egress: reject out to port 25 is logged, flagged egress */
	tcp4_out(&p, 50000, 25, 1, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].rule_slot, 13);
	assert_int_equal(logs[0].verdict, VERDICT_REJECT);
	assert_int_equal(logs[0].dir, DIR_OUT);
	assert_int_equal(logs[0].lport, 50000);
	assert_int_equal(logs[0].rport, 25);
	assert_true(logs[0].flags & RP_LOGF_EGRESS);
	assert_int_equal(ctr(RPC_LOG_SENT), 2);
}

static void test_continue_rule_recorded(void **state)
{
	struct pk p;
	tcp4_in(&p, 43000, 8080, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].rule_slot, 7);
	assert_int_equal(logs[0].verdict, VERDICT_CONTINUE);
	assert_true(logs[0].flags & RP_LOGF_RECORD);
	struct rp_rule_stats st;
	assert_int_equal(datapath_rule_stats(stats_fd, 7, &st), 0);
	assert_int_equal(st.packets, 1);
	assert_int_equal(datapath_rule_stats(stats_fd, 8, &st), 0);
	assert_int_equal(st.packets, 1);
}

static void log_rate_2(struct rp_config *c)
{
	c->log_rate = 2;
}

static void test_log_rate_limit(void **state)
{
	struct pk p;
	set_config(log_rate_2);
	for (int i = 0; i < 6; i++) {
		tcp4_in(&p, (uint16_t)(44000 + i), 8443, 1, 0, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(read_logs(), 2);
	assert_int_equal(ctr(RPC_LOG_RATE_LIMITED), 4);
	struct rp_rule_stats st;
	assert_int_equal(datapath_rule_stats(stats_fd, 1, &st), 0);
	assert_int_equal(st.packets, 6);
	assert_int_equal(st.logged, 2);
	assert_int_equal(st.log_dropped, 4);
	/* after a refill the next event says how many were missed */
	usleep(600000);
	tcp4_in(&p, 44100, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].missed, 4);
}

static void log_rate_0(struct rp_config *c)
{
	c->log_rate = 0;
}

static void test_log_rate_zero_is_off(void **state)
{
	struct pk p;
	set_config(log_rate_0);
	for (int i = 0; i < 3; i++) {
		tcp4_in(&p, (uint16_t)(44200 + i), 8443, 1, 0, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(read_logs(), 0);
	assert_int_equal(ctr(RPC_LOG_RATE_LIMITED), 3);
}

/* A bucket whose last refill looks newer than the clock (another CPU's
 * clock, or the coarse clock behind the precise one) must not refill:
 * the arithmetic never goes backwards. */
static void test_log_bucket_monotonic(void **state)
{
	struct pk p;
	set_config(log_rate_2);
	int ncpu = libbpf_num_possible_cpus();
	struct rp_rate_bucket *b = calloc((size_t)ncpu, sizeof(*b));
	assert_non_null(b);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int i = 0; i < ncpu; i++)
		b[i].last_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 5000000000ull;
	uint32_t slot = 1; /* the rule with `log` on port 8443 */
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.rp_log_bucket), &slot, b, BPF_ANY), 0);
	free(b);
	for (int i = 0; i < 3; i++) {
		tcp4_in(&p, (uint16_t)(44300 + i), 8443, 1, 0, TF_SYN);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(read_logs(), 0);
	assert_int_equal(ctr(RPC_LOG_RATE_LIMITED), 3);
}

static void reject_rate_3(struct rp_config *c)
{
	c->reject_rate = 3;
}

static void test_reject_rate_limit(void **state)
{
	struct pk p;
	set_config(reject_rate_3);
	for (int i = 0; i < 5; i++) {
		tcp4_in(&p, (uint16_t)(44400 + i), 81, 1000, 0, TF_SYN);
		assert_int_equal(run_xdp(&p), i < 3 ? XDP_TX : XDP_DROP);
	}
	assert_int_equal(ctr(RPC_NEW_REJECT), 3);
	assert_int_equal(ctr(RPC_DROP_REJECT_RATE), 2);
	/* the bucket refills: one more answer after a third of a second */
	usleep(400000);
	udp4(&p, R4, L4, 44410, 5353, 8);
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(ctr(RPC_NEW_REJECT), 4);
	/* what cannot be answered at all does not spend the budget */
	pk_eth(&p, 0, ETH_P_IP);
	pk_ip4(&p, R4, "192.0.2.255", 0, 0, 1);
	pk_udp(&p, 44411, 5353, 8);
	pk_fin(&p);
	p.d[0] = 0xff; /* a broadcast frame */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_REJECT_NOT_UNICAST), 1);
	assert_int_equal(ctr(RPC_DROP_REJECT_RATE), 2);
}

static void ask_allow(struct rp_config *c)
{
	c->ask_default = VERDICT_ALLOW;
}

static void test_ask_uses_ask_default(void **state)
{
	struct pk p;
	tcp4_in(&p, 45000, 9000, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_ASK), 1);
	set_config(ask_allow);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_ASK), 2);
	assert_int_equal(ct_state(R4, 45000, L4, 9000, 6), CT_TCP_SYN_SENT);
}

/* ---------- modes, interfaces, events ---------- */

static enum rp_mode want_mode;
static void set_mode(struct rp_config *c)
{
	c->mode = want_mode;
}

static void test_mode_open_and_lockdown(void **state)
{
	struct pk p;
	want_mode = RP_MODE_OPEN;
	set_config(set_mode);
	tcp4_in(&p, 40000, 23, 1, 1, TF_ACK); /* would be invalid */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 50000, 25, 1, 0, TF_SYN); /* would be rejected */
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_PASS_MODE_OPEN), 2);
	want_mode = RP_MODE_LOCKDOWN;
	set_config(set_mode);
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_out(&p, 50000, 443, 1, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_SHOT);
	assert_int_equal(ctr(RPC_DROP_MODE_LOCKDOWN), 2);
	assert_int_equal(ct_count(), 0);
	/* malformed packets are dropped whatever the mode */
	want_mode = RP_MODE_OPEN;
	set_config(set_mode);
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN | TF_FIN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
}

static void test_mode_lockdown_blocks_established(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	want_mode = RP_MODE_LOCKDOWN;
	set_config(set_mode);
	tcp4_out(&p, 80, 40000, 1, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_SHOT);
	want_mode = RP_MODE_ENFORCING;
	set_config(set_mode);
	assert_int_equal(run_tc(&p), TC_OK);
}

static void boot_mode(struct rp_config *c)
{
	c->mode = RP_MODE_BOOT;
	c->boot_deadline_ns = 0;
}

static void test_mode_boot(void **state)
{
	struct pk p;
	set_config(boot_mode);
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN); /* the policy would allow it */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_BOOT_IN), 1);
	tcp4_out(&p, 50000, 25, 1, 0, TF_SYN); /* the policy would reject it */
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, 25, 50000, 1, 2, TF_SYN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_NEW_BOOT_OUT), 1);
}

static void boot_expired(struct rp_config *c)
{
	c->mode = RP_MODE_BOOT;
	c->boot_deadline_ns = 1; /* long past */
	c->boot_fail_closed = 0;
}

static void test_mode_boot_timeout_opens(void **state)
{
	struct pk p;
	set_config(boot_expired);
	tcp4_in(&p, 40000, 23, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	struct rp_config cfg;
	assert_int_equal(datapath_read_config(skel, &cfg), 0);
	assert_int_equal(cfg.mode, RP_MODE_OPEN);
}

static void gateway_wan_elsewhere(struct rp_config *c)
{
	c->flags |= RP_CFG_F_HAVE_WAN;
	c->wan_ifindex = 9999;
}

static void gateway_wan_lo(struct rp_config *c)
{
	c->flags |= RP_CFG_F_HAVE_WAN;
	c->wan_ifindex = (uint32_t)lo_ifindex;
}

/* A SYN from R4 routed through this host to another machine. */
static void tcp4_through(struct pk *p, uint16_t sp, uint16_t dp)
{
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, R4, "203.0.113.9", 0, 0, 1);
	pk_tcp(p, sp, dp, 1, 0, TF_SYN, 0);
	pk_fin(p);
}

static void test_gateway_direction(void **state)
{
	struct pk p;
	/* routed through, arriving on a non-wan interface: direction out
	 * (matches `allow out`) */
	set_config(gateway_wan_elsewhere);
	tcp4_through(&p, 40000, 23);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* addressed to the gateway itself, from the LAN side: in (denied) */
	tcp4_in(&p, 40002, 23, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* routed through, arriving on the wan interface: in (denied) */
	set_config(gateway_wan_lo);
	tcp4_through(&p, 40001, 23);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ctr(RPC_NEW_DENY), 2);
}

/* A TCP segment of no flow to a rejected port is answered like a closed
 * port answers it (nmap's ACK, FIN, NULL and Xmas scans see "closed");
 * to an allowed port it is dropped as invalid; a RST is never answered. */
static void test_reject_answers_stray_segments(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 81, 1000, 5000, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_TX);
	assert_int_equal(out.d[14 + 20 + 13] & TF_RST, TF_RST);
	tcp4_in(&p, 40001, 81, 1000, 0, TF_FIN | TF_PSH | 0x20); /* xmas */
	assert_int_equal(run_xdp(&p), XDP_TX);
	tcp4_in(&p, 40002, 81, 1000, 0, 0); /* null */
	assert_int_equal(run_xdp(&p), XDP_TX);
	tcp4_in(&p, 40003, 81, 1000, 0, TF_RST);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 40004, 80, 1000, 5000, TF_ACK); /* allowed port, no flow */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	tcp4_in(&p, 40005, 22, 1000, 5000, TF_ACK); /* denied port */
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_REJECT_STRAY), 3);
	assert_int_equal(ctr(RPC_NEW_REJECT), 0);
	assert_int_equal(ctr(RPC_DROP_INVALID), 3); /* the RST, and the allowed and denied ports */
	assert_int_equal(ctr(RPC_DROP_TCP_FLAGS), 0);
	assert_int_equal(ct_count(), 0);
}

/* A frame tagged with VLAN 100 on lo belongs to the VLAN device the
 * loader maps it to: judged with that interface's id, or passed when the
 * VLAN device runs rampart's programs itself. */
static void test_vlan_tagged_frames(void **state)
{
	struct pk p;
	int fd = bpf_map__fd(skel->maps.rp_ifaces);
	struct rp_iface_key key = { .ifindex = (uint32_t)lo_ifindex, .vid = 100 };
	struct rp_iface vlan = { .id = 0, .ifindex = 77, .flags = RP_IFF_JUDGES };
	/* `allow in on lo ... port 7000`: the VLAN is another interface */
	assert_int_equal(bpf_map_update_elem(fd, &key, &vlan, BPF_ANY), 0);
	pk_eth(&p, 1, ETH_P_IP);
	pk_ip4(&p, R4, L4, 0, 0, 1);
	pk_tcp(&p, 40000, 7000, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	struct pk tagged = p;
	assert_int_equal(run_xdp(&p), XDP_DROP);
	/* the VLAN device is what the policy calls lo */
	vlan.id = policy_iface_id(&pol, "lo");
	assert_int_equal(bpf_map_update_elem(fd, &key, &vlan, BPF_ANY), 0);
	p = tagged;
	assert_int_equal(run_xdp(&p), XDP_PASS);
	/* judged by the VLAN device's own programs: passed here, not tracked */
	vlan.flags = RP_IFF_ELSEWHERE;
	assert_int_equal(bpf_map_update_elem(fd, &key, &vlan, BPF_ANY), 0);
	p = tagged;
	p.d[p.l4 + 1] ^= 1; /* another source port: a new flow */
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ctr(RPC_PASS_VLAN_ELSEWHERE), 1);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	assert_int_equal(ct_count(), 1);
}

static void test_interface_id(void **state)
{
	struct pk p;
	tcp4_in(&p, 40000, 7000, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS); /* on lo: ifindex 1 mapped to "lo" */
	struct rp_iface_key ifx = { .ifindex = (uint32_t)lo_ifindex };
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.rp_ifaces), &ifx), 0);
	tcp4_in(&p, 40001, 7000, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 1);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
}

static int bound_socket(int type, uint16_t port)
{
	int s = socket(AF_INET, type, 0);
	assert_true(s >= 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(s, 4), 0);
	return s;
}

static void test_accept_and_receive_events(void **state)
{
	struct pk p;
	/* no listener: a plain packet event, which the policy does not allow */
	tcp4_in(&p, 40000, 7100, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	int ls = bound_socket(SOCK_STREAM, 7100);
	tcp4_in(&p, 40001, 7100, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	udp4(&p, R4, L4, 40000, 7200, 4);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	int us = bound_socket(SOCK_DGRAM, 7200);
	udp4(&p, R4, L4, 40001, 7200, 4);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	close(ls);
	close(us);
	assert_int_equal(ctr(RPC_NEW_ALLOW), 2);
	assert_int_equal(ctr(RPC_NEW_DENY), 2);
}

static void test_policy_info_pinned_metadata(void **state)
{
	struct rp_policy_info info;
	uint32_t zero = 0;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_policy_info), &zero, &info), 0);
	assert_string_equal(info.path, "test.rules");
	assert_int_equal(info.nrules, (uint32_t)pol.nrules);
	assert_int_equal(info.nslots, (uint32_t)(pol.nrules + pol.ntables));
	assert_int_equal(info.abi_version, RP_ABI_VERSION);
	assert_int_equal(info.sha256[1], 2);
	assert_true(info.load_time_ns > 1600000000ull * 1000000000ull);
}

static void test_reject_egress_ipv6(void **state)
{
	struct pk p;
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, L6, R6, 64);
	pk_udp(&p, 50000, 9999, 21);
	pk_fin(&p);
	struct pk orig = p;
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	uint32_t q = (orig.n - orig.l3) & ~3u;
	assert_int_equal(out.n, 14 + 40 + 8 + q);
	const uint8_t *ip = out.d + 14, *ic = ip + 40;
	assert_int_equal(pk_get16(out.d + 12), ETH_P_IPV6);
	assert_int_equal(ip[6], 58);
	assert_memory_equal(ip + 8, orig.d + orig.l3 + 24, 16); /* from the remote */
	assert_memory_equal(ip + 24, orig.d + orig.l3 + 8, 16); /* to the local app */
	assert_int_equal(ic[0], 1);
	assert_int_equal(ic[1], 4);
	assert_memory_equal(ic + 8, orig.d + orig.l3, 48);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	/* TCP over IPv6 with a destination-options header: a plain RST */
	pk_eth(&p, 0, ETH_P_IPV6);
	pk_ip6(&p, L6, R6, 64);
	pk_ext6(&p, 60, 0);
	pk_tcp(&p, 50001, 25, 41, 0, TF_SYN, 0);
	pk_fin(&p);
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	assert_int_equal(out.n, 14 + 40 + 20);
	assert_int_equal(out.d[14 + 6], 6);
	assert_int_equal(pk_get32(out.d + 14 + 40 + 8), 42);
	assert_int_equal(pk_check_l4(out.d, 14, out.n), 0xffff);
	assert_int_equal(ctr(RPC_NEW_REJECT), 2);
}

static void test_egress_event_types(void **state)
{
	struct pk p;
	/* test runs give the skb a socket: TCP SYN is `connect`, UDP `send` */
	tcp4_out(&p, 50000, 25, 1, 0, TF_SYN);
	assert_int_equal(run_tc(&p), TC_REDIRECT);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].event, EVENT_CONNECT);
	/* inbound with no local socket: `packet` */
	tcp4_in(&p, 43210, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].event, EVENT_PACKET);
	/* with a listener: `accept` */
	int ls = bound_socket(SOCK_STREAM, 8443);
	tcp4_in(&p, 43211, 8443, 1, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	close(ls);
	assert_int_equal(read_logs(), 1);
	assert_int_equal(logs[0].event, EVENT_ACCEPT);
}

/* ---------- the per-CPU established-flow cache (bpf/flowcache.h) ---------- */

/* Opens 198.51.100.7:sp -> 192.0.2.1:80 and sends n data segments: from the
 * second one on they are answered by the flow cache. */
static void test_flow_cache_follows_tcp_close(void **state)
{
	struct pk p;
	open_tcp_flow(40000, 3);
	/* FIN at tc egress, FIN back at XDP: closing */
	tcp4_out(&p, 80, 40000, 2, 2, TF_FIN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_FIN_WAIT);
	tcp4_in(&p, 40000, 80, 2, 3, TF_FIN | TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_CLOSING);
	/* the last ACK is an ordinary segment: the cache, filled while the
	 * flow was established, must not answer it, or the flow would never
	 * reach time-wait */
	tcp4_in(&p, 40000, 80, 3, 3, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(ct_state(R4, 40000, L4, 80, 6), CT_TCP_TIME_WAIT);
}

static void test_flow_cache_forgets_deleted_flows(void **state)
{
	struct pk p;
	open_tcp_flow(40001, 3);
	/* user space deletes the flow and invalidates the caches */
	struct ct_key k, nk;
	int fd = bpf_map__fd(skel->maps.rp_conntrack);
	while (bpf_map_get_next_key(fd, NULL, &nk) == 0) {
		k = nk;
		assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
	}
	assert_int_equal(datapath_flow_cache_invalidate(bpf_map__fd(skel->maps.rp_ct_gen)), 0);
	snap();
	tcp4_in(&p, 40001, 80, 2, 2, TF_ACK | TF_PSH);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_DROP_INVALID), 1);
	assert_int_equal(ctr(RPC_PASS_FLOW), 0);
}

static void test_flow_cache_follows_new_timeouts(void **state)
{
	struct pk p;
	udp4(&p, L4, R4, 4001, 53, 20);
	assert_int_equal(run_tc(&p), TC_OK);
	for (int i = 0; i < 3; i++) { /* the reply, then cached packets */
		udp4(&p, R4, L4, 53, 4001, 20);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	/* a shorter timeout applies to cached flows at once */
	set_config(short_udp);
	usleep(250000);
	snap();
	udp4(&p, R4, L4, 53, 4001, 20);
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	assert_int_equal(ctr(RPC_PASS_FLOW), 0);
}

static void udp_1ms(struct rp_config *c)
{
	c->timeout_ns[CT_UDP] = 1000000;
}

static void test_flow_cache_never_outlives_timeout(void **state)
{
	struct pk p;
	set_config(udp_1ms);
	udp4(&p, L4, R4, 4002, 53, 20);
	assert_int_equal(run_tc(&p), TC_OK);
	udp4(&p, R4, L4, 53, 4002, 20);
	assert_int_equal(run_xdp(&p), XDP_PASS); /* fills the cache */
	usleep(250000);
	/* idle longer than its timeout: expired, though cached less than 1 s ago */
	snap();
	assert_int_equal(run_xdp(&p), XDP_DROP);
	assert_int_equal(ctr(RPC_NEW_DENY), 1);
	assert_int_equal(ctr(RPC_PASS_FLOW), 0);
}

/* The conntrack entry's end of R (R:sp -> L:80): the sequence number after
 * the last byte it knows R sent. */
static uint32_t remote_end(uint16_t sp)
{
	struct ct_value v;
	assert_int_equal(ct_entry(R4, sp, L4, 80, 6, &v), 0);
	return v.tcp[(v.flags & CT_F_ORIG_IS_A) ? 0 : 1].end;
}

/* R:sp -> L:80 established (open_tcp_flow: both next sequence numbers 2),
 * then two 100-byte segments from R: the first on the conntrack's path
 * (it fills this CPU's cache), the second answered by the cache.  Only the
 * cache knows that R sent up to 202; the conntrack entry says 102. */
static void flow_with_cached_data(uint16_t sp)
{
	struct pk p;
	open_tcp_flow(sp, 0);
	for (uint32_t seq = 2; seq < 202; seq += 100) {
		pk_tcp4(&p, R4, sp, L4, 80, TF_ACK | TF_PSH, seq, 2, 100);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	assert_int_equal(remote_end(sp), 102);
}

/* L acknowledges all R sent: a flow that lost what the cache passed drops
 * it as out of window, and every retransmission of it. */
static void local_acks_all(uint16_t sp)
{
	struct pk p;
	snap();
	tcp4_out(&p, 80, sp, 2, 202, TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_DROP_TCP_WINDOW), 0);
}

/* An apply invalidates every cached flow (new timeouts, new fast-path
 * stamps): what the caches passed must still reach the conntrack. */
static void test_flow_cache_numbers_outlive_invalidation(void **state)
{
	flow_with_cached_data(40010);
	assert_int_equal(datapath_flow_cache_invalidate(bpf_map__fd(skel->maps.rp_ct_gen)), 0);
	local_acks_all(40010);
	assert_int_equal(remote_end(40010), 202);
}

/* Another flow that maps to the same cache slot takes it over: the numbers
 * of the flow it pushes out go into that flow's entry first. */
static void test_flow_cache_numbers_outlive_push_out(void **state)
{
	struct ct_key k1 __attribute__((aligned(8))), k2 __attribute__((aligned(8)));
	flow_key(R4, 40011, L4, 80, 6, &k1);
	uint32_t slot = rp_flow_cache_slot(rp_flow_hash(&k1));
	uint16_t sp = 1024;
	for (; sp < 65535; sp++) {
		flow_key(R4, sp, L4, 80, 6, &k2);
		if (sp != 40011 && rp_flow_cache_slot(rp_flow_hash(&k2)) == slot)
			break;
	}
	assert_int_not_equal(sp, 65535);
	flow_with_cached_data(40011);
	flow_with_cached_data(sp); /* fills the slot with the other flow */
	assert_int_equal(remote_end(40011), 202);
	local_acks_all(40011);
}

/* A flow deleted and opened again on the same ports is a new flow: what
 * the cache passed of the old one is not its history.  The new R starts
 * just below 2^32, so the old numbers (202) would look ahead of it. */
static void test_flow_cache_numbers_stay_with_their_flow(void **state)
{
	struct pk p;
	flow_with_cached_data(40012);
	struct ct_key k;
	flow_key(R4, 40012, L4, 80, 6, &k);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.rp_conntrack), &k), 0);
	assert_int_equal(datapath_flow_cache_invalidate(bpf_map__fd(skel->maps.rp_ct_gen)), 0);
	uint32_t isn = 0xffffff00u;
	tcp4_in(&p, 40012, 80, isn, 0, TF_SYN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, 40012, 1, isn + 1, TF_SYN | TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, 40012, 80, isn + 1, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	pk_tcp4(&p, R4, 40012, L4, 80, TF_ACK | TF_PSH, isn + 1, 2, 10);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	assert_int_equal(remote_end(40012), isn + 11);
}

/* A handshake packet of R:sp <-> L:80 with the window scale option. */
static void tcp4_ws(struct pk *p, int from_r, uint16_t sp, uint32_t seq, uint32_t ack, uint8_t fl, uint8_t ws)
{
	const uint8_t opt[4] = { 1, 3, 3, ws }; /* NOP, window scale */
	pk_eth(p, 0, ETH_P_IP);
	pk_ip4(p, from_r ? R4 : L4, from_r ? L4 : R4, 0, 0, 1);
	pk_tcp(p, from_r ? sp : 80, from_r ? 80 : sp, seq, ack, fl, 0);
	p->d[p->l4 + 12] = 6 << 4; /* the header has one option word */
	pk_put(p, opt, sizeof(opt));
	pk_fin(p);
}

/* A long transfer moves to another CPU.  CPU 0's cache passes R's first
 * bytes and L's ack of them; then R sends 3 GB (more than half the
 * sequence space) through CPU 1, whose segments all fit what the
 * conntrack knows, and R's FIN arrives on CPU 0 again.  CPU 0's entry is
 * then 3 GB behind, which in sequence arithmetic looks 1.3 GB ahead:
 * folded in, it would move the flow back, and the FIN and all that
 * follows would be out of window.  Nor may CPU 1's cache run more than
 * 2 GB ahead of the conntrack entry, where its numbers would look behind
 * and be lost.  Windows are 8 MB (scale 7); each segment of R sits at the
 * far edge of L's window and L acknowledges it (holes do not matter to
 * the conntrack), so 3 GB take 400 steps. */
static void test_flow_cache_numbers_survive_wraparound(void **state)
{
	struct pk p;
	const uint16_t sp = 40013;
	const uint32_t win = 65535u << 7;
	if (libbpf_num_possible_cpus() < 2)
		skip();
	tcp4_ws(&p, 1, sp, 1, 0, TF_SYN, 7);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_ws(&p, 0, sp, 1, 2, TF_SYN | TF_ACK, 7);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, sp, 80, 2, 2, TF_ACK);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, sp, 2, 2, TF_ACK); /* L's scaled window; fills CPU 0's cache */
	assert_int_equal(run_tc(&p), TC_OK);
	for (uint32_t seq = 2; seq < 202; seq += 100) {
		pk_tcp4(&p, R4, sp, L4, 80, TF_ACK | TF_PSH, seq, 2, 100);
		assert_int_equal(run_xdp(&p), XDP_PASS);
	}
	tcp4_out(&p, 80, sp, 2, 202, TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(remote_end(sp), 2); /* only CPU 0's cache saw them */
	uint32_t end = 202;
	on_cpu(1);
	for (uint64_t sent = 0; sent < (3ull << 30); sent += win - 380) {
		pk_tcp4(&p, R4, sp, L4, 80, TF_ACK | TF_PSH, end + win - 480, 2, 100);
		assert_int_equal(run_xdp(&p), XDP_PASS);
		end += win - 380;
		tcp4_out(&p, 80, sp, 2, end, TF_ACK);
		assert_int_equal(run_tc(&p), TC_OK);
	}
	on_cpu(0);
	snap();
	/* CPU 0 refills its entry: with the flow's numbers, not its own */
	pk_tcp4(&p, R4, sp, L4, 80, TF_ACK | TF_PSH, end, 2, 100);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	end += 100;
	tcp4_out(&p, 80, sp, 2, end, TF_ACK);
	assert_int_equal(run_tc(&p), TC_OK);
	tcp4_in(&p, sp, 80, end, 2, TF_ACK | TF_FIN);
	assert_int_equal(run_xdp(&p), XDP_PASS);
	tcp4_out(&p, 80, sp, 2, end + 1, TF_ACK | TF_FIN);
	assert_int_equal(run_tc(&p), TC_OK);
	assert_int_equal(ctr(RPC_DROP_TCP_WINDOW), 0);
	assert_int_equal(remote_end(sp), end + 1);
}

/* ---------- the FTP helper (bpf/ftp.h) ---------- */

/* Only the control connections are allowed by rules: every data
 * connection that passes was admitted by the helper. */
static const char *PFTP = "option ftp-ports { 21, 8021 }\n"
			  "table root default deny {\n"
			  "    allow out proto tcp remote port { 21, 8021, 80 }\n"
			  "    allow in proto tcp local port 21\n"
			  "}\n";

static int setup_ftp(void **state)
{
	load_policy(PFTP);
	return 0;
}

/* A control connection between this host (L) and a remote one (R):
 * this host is the client (local_client) or the server. */
struct ftpc {
	int fam;
	bool local_client;
	uint16_t cport, sport;
	uint32_t seq[2]; /* next sequence number of the client [0] and the server [1] */
};

static bool ftp_from_local(const struct ftpc *c, bool from_client)
{
	return from_client == c->local_client;
}

/* A segment of the control connection with payload text, at sequence number seq. */
static void ftp_seg(struct pk *p, const struct ftpc *c, bool from_client, uint32_t seq, uint8_t fl, const char *text)
{
	bool local = ftp_from_local(c, from_client);
	const char *l = c->fam == 4 ? L4 : L6, *r = c->fam == 4 ? R4 : R6;
	pk_eth(p, 0, c->fam == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (c->fam == 4)
		pk_ip4(p, local ? l : r, local ? r : l, 0, 0, 1);
	else
		pk_ip6(p, local ? l : r, local ? r : l, 64);
	pk_tcp(p, from_client ? c->cport : c->sport, from_client ? c->sport : c->cport, seq,
	       c->seq[from_client ? 1 : 0], fl, 0);
	pk_put(p, text, strlen(text));
	pk_fin(p);
}

/* Through the hook that sees it: tc egress when this host sends it, XDP
 * when it arrives.  true when it passed. */
static bool ftp_run(struct pk *p, const struct ftpc *c, bool from_client)
{
	if (ftp_from_local(c, from_client))
		return run_tc(p) == TC_OK;
	return run_xdp(p) == XDP_PASS;
}

/* The client (or the server) sends text in one segment. */
static void ftp_say(struct ftpc *c, bool from_client, const char *text)
{
	struct pk p;
	uint32_t *seq = &c->seq[from_client ? 0 : 1];
	ftp_seg(&p, c, from_client, *seq, TF_ACK | TF_PSH, text);
	assert_true(ftp_run(&p, c, from_client));
	*seq += (uint32_t)strlen(text);
}

/* Handshake, the server's greeting and the client's USER: from here on
 * each direction is at the start of a line. */
static void ftp_open(struct ftpc *c, int fam, bool local_client, uint16_t sport)
{
	struct pk p;
	*c = (struct ftpc){
		.fam = fam, .local_client = local_client, .cport = 45000, .sport = sport, .seq = { 1000, 5000 }
	};
	ftp_seg(&p, c, true, c->seq[0]++, TF_SYN, "");
	assert_true(ftp_run(&p, c, true));
	ftp_seg(&p, c, false, c->seq[1]++, TF_SYN | TF_ACK, "");
	assert_true(ftp_run(&p, c, false));
	ftp_seg(&p, c, true, c->seq[0], TF_ACK, "");
	assert_true(ftp_run(&p, c, true));
	ftp_say(c, false, "220 ready\r\n");
	ftp_say(c, true, "USER anonymous\r\n");
}

/* A new connection's SYN from src:sp to dst:dp, sent by this host (local)
 * or arriving: passed? */
static bool data_syn(bool local, const char *src, uint16_t sp, const char *dst, uint16_t dp)
{
	struct pk p;
	pk_eth(&p, 0, strchr(src, ':') ? ETH_P_IPV6 : ETH_P_IP);
	if (strchr(src, ':'))
		pk_ip6(&p, src, dst, 64);
	else
		pk_ip4(&p, src, dst, 0, 0, 1);
	pk_tcp(&p, sp, dp, 1, 0, TF_SYN, 0);
	pk_fin(&p);
	return local ? run_tc(&p) == TC_OK : run_xdp(&p) == XDP_PASS;
}

/* Is a connection to dst:dp expected, from src? */
static bool expecting(const char *src, const char *dst, uint16_t dp)
{
	struct rp_ftp_expect_key k = { .dport = htons(dp), .proto = 6 };
	struct rp_ftp_expect v;
	uint32_t a[4];
	addr16(dst, k.daddr);
	addr16(src, a);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_ftp_expect), &k, &v))
		return false;
	return memcmp(v.saddr, a, 16) == 0;
}

static int expectations(void)
{
	return map_entries(skel->maps.rp_ftp_expect);
}

/* Active mode, this host the client: PORT opens exactly one connection
 * from the server to the announced port, admitted by the helper. */
static void test_ftp_active_port(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PORT 192,0,2,1,156,64\r\n"); /* 192.0.2.1:40000 */
	assert_int_equal(ctr(RPC_FTP_EXPECT), 1);
	assert_true(expecting(R4, L4, 40000));
	/* a port the server never announced: the policy says no */
	assert_false(data_syn(false, R4, 20, L4, 40001));
	/* a third host to the announced port: the policy says no, counted,
	 * and the expectation stays for the server */
	assert_false(data_syn(false, "198.51.100.8", 20, L4, 40000));
	assert_int_equal(ctr(RPC_FTP_WRONG_SOURCE), 1);
	assert_true(expecting(R4, L4, 40000));
	assert_true(data_syn(false, R4, 20, L4, 40000));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 1);
	assert_int_equal(ct_state(R4, 20, L4, 40000, 6), CT_TCP_SYN_SENT);
	assert_false(expecting(R4, L4, 40000)); /* used up */
	/* one flow per announcement: another source port gets nothing */
	assert_false(data_syn(false, R4, 2020, L4, 40000));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 1);
	/* counted in the helper's slot, RELATED to the control flow */
	struct rp_config cfg;
	struct rp_rule_stats st;
	assert_int_equal(datapath_read_config(skel, &cfg), 0);
	assert_int_equal(cfg.helper_slot, policy_nslots(&pol));
	assert_int_equal(datapath_rule_stats(stats_fd, cfg.helper_slot, &st), 0);
	assert_int_equal(st.packets, 1);
	struct ct_key dk, ck;
	struct rp_ftp_related rel;
	uint32_t l[4], r[4];
	addr16(L4, l);
	addr16(R4, r);
	memset(&dk, 0, sizeof(dk));
	memcpy(dk.addr_a, l, 16); /* 192.0.2.1 < 198.51.100.7 */
	memcpy(dk.addr_b, r, 16);
	dk.port_a = htons(40000);
	dk.port_b = htons(20);
	dk.proto = 6;
	ck = dk;
	ck.port_a = htons(45000);
	ck.port_b = htons(21);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_ftp_related), &dk, &rel), 0);
	assert_memory_equal(&rel.ctl, &ck, sizeof(ck));
	/* logged: the expectation, then the data connection */
	assert_int_equal(read_logs(), 2);
	assert_int_equal(logs[0].kind, RP_LOG_HELPER);
	assert_int_equal(logs[0].helper, RP_HELPER_FTP_EXPECT);
	assert_int_equal(logs[0].helper_cmd, RP_FTP_CMD_PORT);
	assert_int_equal(logs[0].dir, DIR_IN);
	assert_int_equal(logs[0].lport, 40000);
	assert_int_equal(logs[1].helper, RP_HELPER_FTP_DATA);
	assert_int_equal(logs[1].rport, 20);
	assert_int_equal(logs[1].rule_slot, cfg.helper_slot);
}

/* Passive mode, this host the client: 227 and 229 from the server open
 * one connection each from here to the server's announced port. */
static void test_ftp_passive_227_229(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, false, "227 Entering Passive Mode (198,51,100,7,195,80).\r\n"); /* 50000 */
	ftp_say(&c, false, "229 Entering Extended Passive Mode (|||50001|)\r\n");
	/* several replies in one segment (coalesced by GRO) */
	ftp_say(&c, false, "200 Type set to I\r\n227 Entering Passive Mode (198,51,100,7,195,82)\r\n");
	assert_int_equal(ctr(RPC_FTP_EXPECT), 3);
	assert_true(data_syn(true, L4, 33000, R4, 50000));
	assert_true(data_syn(true, L4, 33001, R4, 50001));
	assert_true(data_syn(true, L4, 33002, R4, 50002));
	assert_false(data_syn(true, L4, 33003, R4, 50003)); /* never announced: denied */
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 3);
	assert_int_equal(expectations(), 0);
}

/* IPv6: EPRT with the address written in full or compressed. */
static void test_ftp_eprt_ipv6(void **state)
{
	struct ftpc c;
	ftp_open(&c, 6, true, 21);
	ftp_say(&c, true, "EPRT |2|2001:db8::1|40000|\r\n");
	ftp_say(&c, true, "eprt !2!2001:0DB8:0:0:0:0:0:1!40001!\r\n"); /* any delimiter, any case */
	ftp_say(&c, true, "EPRT |2|2001:db8:0::0:1|40002|\r\n");
	assert_int_equal(ctr(RPC_FTP_EXPECT), 3);
	assert_true(data_syn(false, R6, 20, L6, 40000));
	assert_true(data_syn(false, R6, 41234, L6, 40001));
	assert_true(data_syn(false, R6, 20, L6, 40002));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 3);
	/* passive: 229 */
	ftp_say(&c, false, "229 Entering Extended Passive Mode (|||50001|)\r\n");
	assert_true(data_syn(true, L6, 33000, R6, 50001));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 4);
}

/* Nothing but the announcing side itself: no bounce, no third party, no
 * IPv4 address announced on an IPv6 control connection. */
static void test_ftp_third_host_refused(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PORT 192,0,2,99,156,64\r\n");
	ftp_say(&c, true, "EPRT |1|203.0.113.5|40000|\r\n");
	ftp_say(&c, false, "227 Entering Passive Mode (198,51,100,99,195,80)\r\n");
	assert_int_equal(ctr(RPC_FTP_REFUSED_ADDR), 3);
	struct ftpc c6;
	ftp_open(&c6, 6, true, 21);
	ftp_say(&c6, true, "EPRT |2|2001:db8::99|40000|\r\n");
	ftp_say(&c6, true, "EPRT |1|192.0.2.1|40000|\r\n");
	ftp_say(&c6, true, "PORT 192,0,2,1,156,64\r\n");
	assert_int_equal(ctr(RPC_FTP_REFUSED_ADDR), 6);
	assert_int_equal(ctr(RPC_FTP_EXPECT), 0);
	assert_int_equal(expectations(), 0);
	assert_false(data_syn(false, R4, 20, L4, 40000));
	assert_false(data_syn(false, R6, 20, L6, 40000));
	assert_int_equal(read_logs(), 6);
	assert_int_equal(logs[0].helper, RP_HELPER_FTP_REFUSED_ADDR);
	assert_int_equal(logs[0].verdict, VERDICT_DENY);
}

/* Ports below 1024 are never opened. */
static void test_ftp_low_ports_refused(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PORT 192,0,2,1,0,22\r\n");
	ftp_say(&c, true, "EPRT |1|192.0.2.1|1023|\r\n");
	ftp_say(&c, false, "227 Entering Passive Mode (198,51,100,7,0,80)\r\n");
	ftp_say(&c, false, "229 Entering Extended Passive Mode (|||25|)\r\n");
	assert_int_equal(ctr(RPC_FTP_REFUSED_PORT), 4);
	assert_int_equal(expectations(), 0);
	assert_false(data_syn(false, R4, 20, L4, 22));
	ftp_say(&c, true, "PORT 192,0,2,1,4,0\r\n"); /* 1024: fine */
	assert_true(expecting(R4, L4, 1024));
}

/* Only at the start of a line and in the right direction: a reply that
 * quotes a command, a command inside another line, a reply code sent by
 * the client or a command sent by the server announce nothing. */
static void test_ftp_injection_ignored(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, false, "500 'PORT 192,0,2,1,156,64': command not understood\r\n");
	ftp_say(&c, false, "550 No such file: 227 Entering Passive Mode (198,51,100,7,195,80)\r\n");
	ftp_say(&c, false, "PORT 192,0,2,1,156,64\r\n");
	ftp_say(&c, true, "227 Entering Passive Mode (198,51,100,7,195,80)\r\n");
	ftp_say(&c, true, "CWD PORT 192,0,2,1,156,64\r\n");
	ftp_say(&c, true, " PORT 192,0,2,1,156,64\r\n");
	/* a long reply split by the sender: its second segment starts in the
	 * middle of a line, not at its start */
	ftp_say(&c, false, "550 ");
	ftp_say(&c, false, "227 Entering Passive Mode (198,51,100,7,195,80)\r\n");
	assert_int_equal(ctr(RPC_FTP_EXPECT), 0);
	assert_int_equal(expectations(), 0);
	assert_false(data_syn(false, R4, 20, L4, 40000));
	assert_false(data_syn(true, L4, 33000, R4, 50000));
}

/* Commands split over segments are read whole; a retransmission changes
 * nothing; after a gap the line in progress is skipped, the next one read. */
static void test_ftp_split_commands(void **state)
{
	struct ftpc c;
	struct pk p;
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PO");
	ftp_say(&c, true, "RT 192,0,2,1,156,");
	ftp_say(&c, true, "64\r\n");
	assert_true(expecting(R4, L4, 40000));
	ftp_say(&c, false, "227 Entering Pas");
	ftp_say(&c, false, "sive Mode (198,51,100,7,195,80)\r\n");
	assert_true(expecting(L4, R4, 50000));
	assert_int_equal(ctr(RPC_FTP_EXPECT), 2);
	/* the last segment again, and one half old, half new */
	const char *again = "sive Mode (198,51,100,7,195,80)\r\n";
	ftp_seg(&p, &c, false, c.seq[1] - (uint32_t)strlen(again), TF_ACK | TF_PSH, again);
	assert_true(ftp_run(&p, &c, false));
	ftp_seg(&p, &c, false, c.seq[1] - 2, TF_ACK | TF_PSH,
		"\r\n227 Entering Passive Mode (198,51,100,7,195,81)\r\n");
	assert_true(ftp_run(&p, &c, false));
	c.seq[1] += (uint32_t)strlen("227 Entering Passive Mode (198,51,100,7,195,81)\r\n");
	assert_true(expecting(L4, R4, 50001));
	assert_int_equal(ctr(RPC_FTP_EXPECT), 3);
	/* a gap: 10 bytes this hook never saw */
	c.seq[0] += 10;
	ftp_say(&c, true, "PORT 192,0,2,1,156,65\r\n");
	assert_int_equal(ctr(RPC_FTP_RESYNC), 1);
	assert_false(expecting(R4, L4, 40001));
	ftp_say(&c, true, "PORT 192,0,2,1,156,66\r\n");
	assert_true(expecting(R4, L4, 40002));
}

/* Lines that begin like an announcement but do not parse: counted,
 * nothing expected. */
static void test_ftp_bad_commands(void **state)
{
	static const char *const bad_client[] = {
		"PORT 192,0,2,1,156\r\n",      /* five numbers */
		"PORT 192,0,2,1,256,1\r\n",    /* 256 */
		"PORT 192,0,2,1,1,1,1\r\n",    /* seven */
		"PORT 192,0,2,1,156,64 x\r\n", /* more on the line */
		"PORT 192,0,2,1,,64\r\n",
		"PORT 0192,0,2,1,156,64\r\n", /* four digits */
		"EPRT |3|192.0.2.1|40000|\r\n",
		"EPRT |1|192.0.2.1|70000|\r\n",
		"EPRT |1|192.0.2|40000|\r\n",
		"EPRT |1|192.0.2.1|40000\r\n",
		"EPRT |2|2001:db8:::1|40000|\r\n",
		"EPRT |2|2001:db8::1::2|40000|\r\n",
		"EPRT |2|1:2:3:4:5:6:7:8:9|40000|\r\n",
		"EPRT |2|1:2:3:4:5:6:7|40000|\r\n",
		"EPRT |2|:1::2|40000|\r\n",
		"EPRT |2|2001:db8::12345|40000|\r\n",
		"EPRT |2|2001:db8::1:|40000|\r\n",
		"EPRT |2|2001:db8::1|40000|x\r\n",
	};
	static const char *const bad_server[] = {
		"227 Entering Passive Mode (198,51,100,7,195)\r\n",
		"227 Entering Passive Mode\r\n",
		"229 Entering Extended Passive Mode (||50001|)\r\n",
		"229 Entering Extended Passive Mode (|||50001)\r\n",
		"229 Entering Extended Passive Mode (|||)\r\n",
	};
	struct ftpc c;
	ftp_open(&c, 4, true, 21);
	for (size_t i = 0; i < sizeof(bad_client) / sizeof(bad_client[0]); i++)
		ftp_say(&c, true, bad_client[i]);
	for (size_t i = 0; i < sizeof(bad_server) / sizeof(bad_server[0]); i++)
		ftp_say(&c, false, bad_server[i]);
	assert_int_equal(ctr(RPC_FTP_BAD_COMMAND),
			 sizeof(bad_client) / sizeof(bad_client[0]) + sizeof(bad_server) / sizeof(bad_server[0]));
	assert_int_equal(ctr(RPC_FTP_EXPECT), 0);
	assert_int_equal(expectations(), 0);
	/* the parser is at the start of a line again */
	ftp_say(&c, true, "PORT 192,0,2,1,156,64\r\n");
	assert_true(expecting(R4, L4, 40000));
}

/* At most RP_FTP_MAX_EXPECT (4) open per control flow: a fifth
 * announcement replaces the oldest. */
static void test_ftp_expectation_limit(void **state)
{
	struct ftpc c;
	char cmd[64];
	ftp_open(&c, 4, true, 21);
	for (int i = 0; i < 5; i++) {
		snprintf(cmd, sizeof(cmd), "PORT 192,0,2,1,156,%d\r\n", 64 + i);
		ftp_say(&c, true, cmd);
	}
	assert_int_equal(expectations(), 4);
	assert_int_equal(ctr(RPC_FTP_REPLACED), 1);
	assert_false(expecting(R4, L4, 40000));
	assert_true(expecting(R4, L4, 40004));
	/* the same announcement again renews it, replaces nothing */
	ftp_say(&c, true, "PORT 192,0,2,1,156,68\r\n");
	assert_int_equal(ctr(RPC_FTP_REPLACED), 1);
	/* a used one frees its place */
	assert_true(data_syn(false, R4, 20, L4, 40001));
	ftp_say(&c, true, "PORT 192,0,2,1,156,69\r\n");
	assert_int_equal(ctr(RPC_FTP_REPLACED), 1);
	assert_int_equal(expectations(), 4);
}

static void ftp_short_timeout(struct rp_config *c)
{
	c->ftp_timeout_ns = 50000000; /* 50 ms */
}

/* An expectation unused after ftp-timeout admits nothing, and the helper's
 * sweep (once a second, on the sweeper's timer) removes it. */
static void test_ftp_expectation_timeout(void **state)
{
	struct ftpc c;
	set_config(ftp_short_timeout);
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PORT 192,0,2,1,156,64\r\n");
	ftp_say(&c, true, "PORT 192,0,2,1,156,65\r\n");
	assert_int_equal(expectations(), 2);
	usleep(100000);
	assert_false(data_syn(false, R4, 20, L4, 40000));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 0);
	for (int i = 0; i < 250 && expectations() > 0; i++)
		usleep(20000);
	assert_int_equal(expectations(), 0);
	assert_int_equal(ctr(RPC_FTP_EXPIRED), 2);
}

/* option ftp-helper off: nothing is read; option ftp-ports: which server
 * ports are control connections (the server's, not the client's). */
static void test_ftp_options(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, true, 8021);
	ftp_say(&c, true, "PORT 192,0,2,1,156,64\r\n");
	assert_true(expecting(R4, L4, 40000));
	ftp_open(&c, 4, true, 80); /* not an FTP port */
	ftp_say(&c, true, "PORT 192,0,2,1,156,65\r\n");
	assert_false(expecting(R4, L4, 40001));
	load_policy("option ftp-helper off\n"
		    "table root default deny {\n"
		    "    allow out proto tcp remote port 21\n"
		    "}\n");
	ftp_open(&c, 4, true, 21);
	ftp_say(&c, true, "PORT 192,0,2,1,156,66\r\n");
	assert_int_equal(ctr(RPC_FTP_EXPECT), 0);
	assert_false(data_syn(false, R4, 20, L4, 40002));
	struct rp_rule_meta m;
	uint32_t slot = policy_nslots(&pol);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.rp_rules), &slot, &m), 0);
	assert_int_equal(m.valid, 0); /* no helper line in `rampart rules` */
}

/* This host the server: passive mode lets the client in to the announced
 * port, active mode lets the server out to the client's. */
static void test_ftp_server_side(void **state)
{
	struct ftpc c;
	ftp_open(&c, 4, false, 21);
	ftp_say(&c, false, "227 Entering Passive Mode (192,0,2,1,195,80)\r\n");
	assert_true(expecting(R4, L4, 50000));
	assert_true(data_syn(false, R4, 40000, L4, 50000));
	ftp_say(&c, true, "PORT 198,51,100,7,156,64\r\n");
	assert_true(expecting(L4, R4, 40000));
	assert_true(data_syn(true, L4, 20, R4, 40000));
	assert_int_equal(ctr(RPC_NEW_FTP_DATA), 2);
	/* the client cannot make this host open its own low ports, nor
	 * announce somebody else */
	ftp_say(&c, true, "PORT 198,51,100,7,0,25\r\n");
	ftp_say(&c, true, "PORT 203,0,113,5,156,64\r\n");
	assert_int_equal(ctr(RPC_FTP_REFUSED_PORT), 1);
	assert_int_equal(ctr(RPC_FTP_REFUSED_ADDR), 1);
}

/* ---------- bench: ns per packet under BPF_PROG_TEST_RUN ---------- */

static double ns_per_packet(int prog_fd, struct pk *p, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->d, .data_size_in = p->n, .repeat = repeat);
	double best = 1e9;
	for (int i = 0; i < 15; i++) {
		if (bpf_prog_test_run_opts(prog_fd, &o))
			return -1;
		if (o.duration < best)
			best = o.duration;
	}
	return best;
}

static int bench(int repeat)
{
	struct pk p;
	load_policy(P0);
	/* an empty XDP program: the floor */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int empty = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty", "GPL", insns, 2, NULL);
	if (empty < 0) {
		perror("loading the empty XDP program");
		return 1;
	}
	tcp4_in(&p, 40000, 80, 1, 0, TF_SYN);
	run_xdp(&p);
	tcp4_out(&p, 80, 40000, 1, 2, TF_SYN | TF_ACK);
	run_tc(&p);
	tcp4_in(&p, 40000, 80, 2, 2, TF_ACK);
	run_xdp(&p);
	tcp4_in(&p, 40000, 80, 2, 2, TF_ACK | TF_PSH);
	pk_put(&p, NULL, 100);
	pk_fin(&p);
	double floor = ns_per_packet(empty, &p, repeat);
	double est = ns_per_packet(bpf_program__fd(skel->progs.rampart_xdp), &p, repeat);
	tcp4_in(&p, 40001, 23, 1, 0, TF_SYN);
	double newf = ns_per_packet(bpf_program__fd(skel->progs.rampart_xdp), &p, repeat);
	printf("empty XDP program           %7.1f ns/packet\n", floor);
	printf("rampart, established flow   %7.1f ns/packet  (%.2fx the empty program)\n", est, est / floor);
	printf("rampart, new flow (denied)  %7.1f ns/packet  (%.2fx)\n", newf, newf / floor);
	close(empty);
	unload();
	return 0;
}

int main(int argc, char **argv)
{
	if (geteuid() != 0) {
		printf("test_datapath: needs root (BPF_PROG_TEST_RUN), skipped\n");
		return 0;
	}
	/* a private network namespace: sockets opened by the tests and the
	 * sk lookups of the datapath see nothing else */
	if (kt_private_netns())
		return 1;
	libbpf_set_print(NULL);
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return bench(argc > 2 ? atoi(argv[2]) : 1000000);

	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_p0, teardown)
		T(test_non_ip_passes),
		T(test_truncated_ethernet),
		T(test_truncated_ipv4_header),
		T(test_bad_ihl_and_version),
		T(test_bad_total_length),
		T(test_ethernet_padding_is_fine),
		T(test_ipv4_options_skipped),
		T(test_truncated_transport_headers),
		T(test_tcp_data_offset),
		T(test_impossible_tcp_flags),
		T(test_udp_length_field),
		T(test_vlan_tags),
		T(test_ipv6_extension_chain),
		T(test_ipv6_chain_too_long),
		T(test_ipv6_truncated_and_bad_length),
		T(test_ipv4_fragments),
		T(test_ipv6_fragments),
		T(test_tcp_lifecycle),
		T(test_tcp_blind_rst_and_syn),
		T(test_outbound_flow_replies_pass),
		T(test_stray_packets_are_invalid),
		T(test_reply_to_denied_flow_dropped),
		T(test_tcp_state_violations),
		T(test_udp_flow),
		T(test_icmp_echo_flow),
		T(test_icmp_errors_related_only),
		T(test_icmpv6_errors_related_only),
		T(test_neighbour_discovery_implicit),
		T(test_neighbour_discovery_scope),
		T(test_expired_flow_is_gone),
		T(test_sweeper_removes_expired),
		T(test_syn_flood_never_evicts_established),
		T(test_conntrack_established_full),
		T(test_reject_tcp_rst_ipv4),
		T(test_reject_tcp_rst_ipv6_with_options),
		T(test_reject_udp_icmp_unreachable_ipv4),
		T(test_reject_udp_icmpv6_unreachable),
		T(test_reject_not_answered_to_multicast),
		T(test_reject_egress_back_to_local_stack),
		T(test_rule_counters),
		T(test_flow_rule_generation),
		T(test_log_event_fields),
		T(test_continue_rule_recorded),
		T(test_log_rate_limit),
		T(test_log_rate_zero_is_off),
		T(test_log_bucket_monotonic),
		T(test_reject_rate_limit),
		T(test_ask_uses_ask_default),
		T(test_mode_open_and_lockdown),
		T(test_mode_lockdown_blocks_established),
		T(test_mode_boot),
		T(test_mode_boot_timeout_opens),
		T(test_gateway_direction),
		T(test_interface_id),
		T(test_reject_answers_stray_segments),
		T(test_vlan_tagged_frames),
		T(test_accept_and_receive_events),
		T(test_policy_info_pinned_metadata),
		T(test_reject_egress_ipv6),
		T(test_egress_event_types),
		T(test_flow_cache_follows_tcp_close),
		T(test_flow_cache_forgets_deleted_flows),
		T(test_flow_cache_follows_new_timeouts),
		T(test_flow_cache_never_outlives_timeout),
		T(test_flow_cache_numbers_outlive_invalidation),
		T(test_flow_cache_numbers_outlive_push_out),
		T(test_flow_cache_numbers_stay_with_their_flow),
		T(test_flow_cache_numbers_survive_wraparound),
#undef T
#define F(f) cmocka_unit_test_setup_teardown(f, setup_ftp, teardown)
		F(test_ftp_active_port),
		F(test_ftp_passive_227_229),
		F(test_ftp_eprt_ipv6),
		F(test_ftp_third_host_refused),
		F(test_ftp_low_ports_refused),
		F(test_ftp_injection_ignored),
		F(test_ftp_split_commands),
		F(test_ftp_bad_commands),
		F(test_ftp_expectation_limit),
		F(test_ftp_expectation_timeout),
		F(test_ftp_options),
		F(test_ftp_server_side),
#undef F
	};
	/* test_datapath NAME-PATTERN: only the tests it matches (while working on one) */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
