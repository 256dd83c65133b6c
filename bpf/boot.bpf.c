// SPDX-License-Identifier: GPL-2.0
/* Boot protection beyond the interfaces the datapath is attached to
 * (docs/operations.md):
 *
 *  - rampart_sk_lookup: an SK_LOOKUP program attached to the network
 *    namespace.  The kernel runs it when a packet arriving on any
 *    interface looks for a listening TCP socket (a SYN: replies of our
 *    own connections find their socket before this point) or for an
 *    unconnected UDP socket (connected UDP sockets, i.e. clients, are
 *    found before this point).  In boot and lockdown it drops those, so an
 *    interface that appears after `rampart boot` exposes no service.  In
 *    enforcing mode, when the policy covers every interface, it judges
 *    such a connection by the policy (an `accept` / `receive` event) when it
 *    arrives on an interface the datapath is not attached to yet.
 *  - rampart_boot_arm / rp_boot_fire: a bpf_timer in the pinned map
 *    rp_boot_timer that switches boot -> open at the deadline with no
 *    user-space process (user space cannot arm a bpf_timer: the loader
 *    runs rampart_boot_arm once with BPF_PROG_TEST_RUN).
 *
 * rp_config is the datapath's pinned configuration map (the loader reuses
 * its fd): this object reads its generation's entry (bpf/config.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "rampart_types.h"
#include "rampart_maps.h"
#include "rampart_classifier.h"
#include "boot.h"
#include "log.h"
#include "classify.h"
#include "sockid.h"
#include "ifaces.h"

char LICENSE[] SEC("license") = "GPL";

#define RP_CLOCK_MONOTONIC  1
#define RP_LOOPBACK_IFINDEX 1 /* lo is ifindex 1 in every network namespace */
#define SK_DROP		    0
#define SK_PASS		    1

#include "config.h"

struct rp_boot_timer {
	struct bpf_timer timer;
	__u64 armed_ns; /* bpf_ktime_get_ns() when armed (0: never) */
	__u64 fired_ns; /* when the timer ran (0: not yet) */
	__u32 opened;	/* 1 when the timer switched boot -> open */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_boot_timer);
} RP_MAP_BOOT_TIMER SEC(".maps");

/* Dropped by rampart_sk_lookup (boot/lockdown), for `status`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} RP_MAP_BOOT_SK_DROPS SEC(".maps");

/* Entry k of rp_config: boot -> open (1), unless it is not in boot or
 * keeps closed. */
static __always_inline __u32 rp_boot_open_slot(__u32 k)
{
	struct rp_config *cfg = bpf_map_lookup_elem(&rp_config, &k);
	if (!cfg || cfg->mode != RP_MODE_BOOT || cfg->boot_fail_closed)
		return 0;
	rp_mode_set(cfg, RP_MODE_OPEN, RP_REASON_BOOT_TIMEOUT);
	return 1;
}

static int rp_boot_fire(void *map, __u32 *key, struct rp_boot_timer *t)
{
	t->fired_ns = bpf_ktime_get_ns();
	/* only boot opens by itself: apply, stop, shutdown have decided since.
	 * Both generations' entries: each is in boot only while boot's
	 * programs read it. */
	t->opened |= rp_boot_open_slot(0) | rp_boot_open_slot(1);
	return 0;
}

/* Run once by the loader (BPF_PROG_TEST_RUN).  Returns 0 when armed,
 * 1 when there is nothing to arm (no deadline, fail closed, not boot),
 * a negative errno on failure. */
SEC("syscall")
int rampart_boot_arm(void *ctx)
{
	__u32 zero = 0;
	struct rp_config *cfg = rp_config_own();
	struct rp_boot_timer *t = bpf_map_lookup_elem(&rp_boot_timer, &zero);
	if (!cfg || !t)
		return -2;
	if (cfg->mode != RP_MODE_BOOT || !cfg->boot_deadline_ns || cfg->boot_fail_closed)
		return 1;
	__u64 now = bpf_ktime_get_ns(), dl = cfg->boot_deadline_ns;
	long e = bpf_timer_init(&t->timer, &rp_boot_timer, RP_CLOCK_MONOTONIC);
	if (e && e != -16 /* EBUSY: armed before (boot run again): re-start it */)
		return (int)e;
	e = bpf_timer_set_callback(&t->timer, rp_boot_fire);
	if (e)
		return (int)e;
	e = bpf_timer_start(&t->timer, dl > now ? dl - now : 1, 0);
	if (e)
		return (int)e;
	t->armed_ns = now;
	t->fired_ns = 0;
	t->opened = 0;
	return 0;
}

/* An interface rampart's ingress program judges: the datapath decides. */
static __always_inline int rp_judged_there(__u32 ifindex)
{
	struct rp_iface_key key = { .ifindex = ifindex };
	struct rp_iface *ifc = bpf_map_lookup_elem(&rp_ifaces, &key);
	return ifc && (ifc->flags & RP_IFF_JUDGES);
}

/* Enforcing, every interface covered, arriving on one not attached yet
 * (it appeared after apply; `rampart daemon` attaches it within moments):
 * the policy judges the connection as the datapath would, as an `accept` /
 * `receive` event of the local socket's owner.  Only allow lets it reach
 * the socket; deny and reject both refuse it (the kernel answers RST or
 * port unreachable: an SK_LOOKUP program cannot stay silent). */
static __always_inline int rp_judge_unattached(struct bpf_sk_lookup *ctx, const struct rp_config *cfg)
{
	if (!(cfg->flags & RP_CFG_F_JUDGE_UNATTACHED) || rp_judged_there(ctx->ingress_ifindex))
		return SK_PASS;
	/* every context field read once, at a fixed offset, before any branch:
	 * the verifier refuses a context pointer the compiler has moved */
	__u32 family = ctx->family, proto = ctx->protocol, lport = ctx->local_port;
	__u16 rport = ctx->remote_port;
	__u32 l4 = ctx->local_ip4, r4 = ctx->remote_ip4;
	__u32 l6[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3] };
	__u32 r6[4] = { ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], ctx->remote_ip6[3] };
	asm volatile("" ::: "memory");
	struct cls_fields f = {};
	f.dir = DIR_IN;
	f.proto = proto;
	f.event = proto == 6 ? EVENT_ACCEPT : EVENT_RECEIVE;
	f.has_ports = 1;
	f.lport = lport;
	f.rport = bpf_ntohs(rport);
	if (family == 2) {
		f.family = 4;
		f.laddr[2] = f.raddr[2] = bpf_htonl(0xffff);
		f.laddr[3] = l4;
		f.raddr[3] = r4;
	} else {
		f.family = 6;
		__builtin_memcpy(f.laddr, l6, 16);
		__builtin_memcpy(f.raddr, r6, 16);
	}
	struct rp_owner *o = rp_owner_fill(&f);
	if (o && rp_owner_refused(o, cfg->mode)) { /* its listen() was refused (bpf/sock.bpf.c, rp_sockops) */
		rp_count(RPC_NETNS_DENY);
		return SK_DROP;
	}
	/* the working memory on the stack, as in the socket hooks */
	struct cls_decision d;
	const struct cls_result *res = rp_classify_decide(&f, &d) ? 0 : d.act;
	__u32 verdict = res ? res->verdict : VERDICT_DENY;
	if (res)
		rp_rule_hit(res->slot, 0);
	if (verdict == VERDICT_ASK)
		verdict = cfg->ask_default;
	if (verdict == VERDICT_ALLOW) {
		rp_count(RPC_NETNS_ALLOW);
		return SK_PASS;
	}
	rp_count(RPC_NETNS_DENY);
	return SK_DROP;
}

RP_FORWARD_MAP(RP_MAP_FWD_SK_LOOKUP);

SEC("sk_lookup")
int rampart_sk_lookup(struct bpf_sk_lookup *ctx)
{
	RP_GATE(ctx, RP_MAP_FWD_SK_LOOKUP, SK_PASS);
	__u32 zero = 0;
	struct rp_config *cfg = rp_config_own();
	if (!cfg || ctx->ingress_ifindex == RP_LOOPBACK_IFINDEX)
		return SK_PASS; /* the host talking to itself is never blocked */
	__u32 mode = cfg->mode;
	if (mode == RP_MODE_BOOT) {
		if (rp_boot_expired(cfg, bpf_ktime_get_ns()))
			return SK_PASS; /* the timer is about to say so */
		/* DHCP clients listen on unconnected UDP sockets */
		if (ctx->protocol == 17 &&
		    ctx->local_port == (ctx->family == 2 ? RP_DHCP4_CLIENT_PORT : RP_DHCP6_CLIENT_PORT) &&
		    ctx->remote_port == bpf_htons(ctx->family == 2 ? RP_DHCP4_SERVER_PORT : RP_DHCP6_SERVER_PORT))
			return SK_PASS;
	} else if (mode == RP_MODE_ENFORCING) {
		return rp_judge_unattached(ctx, cfg);
	} else if (mode != RP_MODE_LOCKDOWN) {
		return SK_PASS; /* open */
	}
	__u64 *n = bpf_map_lookup_elem(&rp_boot_sk_drops, &zero);
	if (n)
		*n += 1;
	return SK_DROP;
}
