// SPDX-License-Identifier: GPL-2.0
/* The rampart packet datapath.  Which program runs where is the loader's
 * choice per device (docs/datapath.md, "Which program runs where"):
 *   rampart_xdp             ingress of Ethernet NICs with native XDP
 *   rampart_tc_ingress      ingress of every other Ethernet device (veth,
 *                           bridge, tap, vxlan, ...): keeps GRO/GSO packets
 *   rampart_tc_ingress_l3   ingress of devices without a link layer (tun,
 *                           wireguard, ipip/gre/sit, ppp): IP header first
 *   rampart_tc_egress, rampart_tc_egress_l3   egress of all of them
 * Every program runs the same steps:
 *
 *   parse -> malformed? drop + count
 *         -> mode (open: pass, lockdown: drop, boot: outbound only)
 *         -> implicit rule (ICMPv6 neighbour discovery, hop limit 255)
 *         -> later fragment? pass only after an allowed first fragment
 *         -> ICMP error? pass only when RELATED to a tracked flow
 *         -> conntrack (tracked: pass and advance state)
 *         -> cannot start a flow? drop as invalid
 *         -> classify the new flow -> counters, log -> verdict
 *            (ask: a question for the agent, the flow held meanwhile: bpf/ask.h)
 * See docs/datapath.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "rampart_types.h"
#include "rampart_maps.h"
#include "rampart_classifier.h"
#include "parse.h"
#include "conntrack.h"
#include "log.h"
#include "reject.h"
#include "classify.h"
#include "boot.h"
#include "sockid.h"
#include "ftp.h"
#include "ask.h"
#include "fastpath.h"
#include "entry.h"

char LICENSE[] SEC("license") = "GPL";

#include "config.h"

#include "ifaces.h"

/* Which interfaces the policy covers: written by the loader, read by user
 * space only (the daemon, status); created and pinned with the object. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ifsel);
} RP_MAP_IFSEL SEC(".maps");

/* Read by user space only (rampart rules/status); kept here so that the
 * object creates and pins them with everything else. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets nrules + ntables */
	__type(key, __u32);
	__type(value, struct rp_rule_meta);
} RP_MAP_RULES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_policy_info);
} RP_MAP_POLICY_INFO SEC(".maps");

/* Later fragments pass only after their first fragment passed. */
struct rp_frag_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u32 id;
	__u8 proto;
	__u8 pad[3];
};

#define RP_FRAG_TIMEOUT_NS (30 * RP_NSEC)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* losing an entry only drops fragments */
	__uint(max_entries, 8192);
	__type(key, struct rp_frag_key);
	__type(value, __u64); /* expiry, coarse ns */
} RP_MAP_FRAGS SEC(".maps");

/* A packet's event: what rp_run found out about it (in the scratch: the
 * call chain's stack has no room for it). */
struct rp_event {
	__u32 ifindex; /* the logical interface (rp_iface.ifindex) */
	__u32 iface_id;
	__u32 iflags;	     /* RP_IFF_* of the logical interface */
	__u32 reply_ifindex; /* tc egress, bridged frame: the port it came in on (the reject goes there) */
	__u64 bytes;
	__u8 dir;
	__u8 event;
	__u8 egress;
	__u8 src_is_a;	    /* the packet's source is endpoint a of the flow key */
	__u32 ct_res;	    /* enum rp_ct_res */
	__u32 sk_slot;	    /* prejudged: the rule that allowed it at the socket */
	__u8 prejudged;	    /* enum rp_prejudged: allowed before the datapath saw it */
	__u8 stray;	    /* a TCP segment of no flow, judged only to answer a reject */
	__u16 stray_reason; /* the drop counter when it is not rejected */
	__u8 sk_ident;	    /* tc egress, a stale socket judgement: judged as the scratch's sk_* */
	__u8 asked;	    /* tc egress: its socket was held by a question at connect/sendto (scratch asker) */
	__u8 ask_verdict;   /* RP_ACT_ASK's second judgement: the answer + 1 (0: none yet) */
	__u8 ask_log;	    /* RP_ACT_ASK: the ask rule is marked log (logged with the answer) */
	__u32 ask_slot;	    /* RP_ACT_ASK: the ask rule */
};

/* Per-CPU scratch space: the parsed packet and the classifier's input and
 * output.  The BPF stack (512 bytes for the whole call chain) is too small
 * to hold these too.  A program runs to completion on its CPU with bottom
 * halves disabled, so nothing else uses the slot meanwhile. */
struct rp_scratch {
	struct rp_pkt pkt;
	struct cls_fields f;
	struct cls_result r;
	struct ct_key k __attribute__((aligned(8))); /* the flow key (also the fragment key's buffer) */
	struct rp_sk_ask asker;			     /* tc egress: the socket held by a question (ev->asked) */
	struct rp_ask_key akey;			     /* rp_ask_flow: the question's key (off the stack) */
	struct rp_ask_held held;		     /* rp_ask_hold: the record (off the stack) */
	struct ct_value v;			     /* a new flow's entry, before it is inserted */
	/* tc egress, a stale socket judgement (ev->sk_ident): who was judged */
	__u32 sk_uid;
	__u32 sk_app;
	__u32 sk_cgroup;
	struct rp_event ev; /* the program's packet (rampart_xdp, rp_tc) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_scratch);
} RP_MAP_SCRATCH SEC(".maps");

/* RP_ACT_ASK: rp_judge's "ask the agent" (rp_run asks, outside rp_judge's
 * stack frame, and judges again with the answer in ev->ask_verdict);
 * RP_ACT_REDIRECT: sent on by the gateway fast path (bpf/fastpath.h);
 * RP_ACT_HOLD: a packet of a flow a question holds, taken so that its
 * sender takes it for lost, not for failed (rp_tc) */
enum rp_act {
	RP_ACT_PASS,
	RP_ACT_DROP,
	RP_ACT_REJECT,
	RP_ACT_JUDGE,
	RP_ACT_STRAY,
	RP_ACT_ASK,
	RP_ACT_REDIRECT,
	RP_ACT_HOLD
};

static __always_inline struct rp_config *rp_cfg(void)
{
	return rp_config_own();
}

/* ---------- conntrack sweeper ---------- */

/* Walks both tables when due: expired entries go; rp_ct_new under
 * pressure (at least half full when the walk began) gets short timeouts
 * and walks every second until the pressure is gone. */
static int rp_sweep(void *map, __u32 *key, struct rp_sweeper *sw)
{
	/* the sweeper outlives the program that armed it */
	struct rp_config *cfg = rp_config_active();
	__u64 now = bpf_ktime_get_coarse_ns();
	sw->clock_ns = now;
	if (cfg && now >= sw->next_sweep_ns) {
		struct rp_sweep_ctx c = { .cfg = cfg, .now = now };
		bpf_for_each_map_elem(&rp_conntrack, rp_sweep_elem, &c, 0);
		__u64 assured_deleted = c.deleted;
		c.deleted = 0;
		c.pressure = sw->pressure;
		long seen = bpf_for_each_map_elem(&rp_ct_new, rp_sweep_new_elem, &c, 0);
		/* (no branch on c.deleted: the verifier could not prove the walk's
		 * callback converges if that count had to be exact) */
		sw->half_open = (__u64)seen - c.deleted;
		sw->pressure = (__u64)seen * 2 >= rp_ct_new_capacity;
		sw->runs++;
		sw->deleted += assured_deleted + c.deleted;
		sw->next_sweep_ns = now + (sw->pressure ? RP_CT_PRESSURE_SWEEP_NS : rp_sweep_interval(cfg));
		__u32 k = RPC_CT_EXPIRED;
		__u64 *cnt = bpf_map_lookup_elem(&rp_counters, &k);
		if (cnt)
			*cnt += assured_deleted + c.deleted;
		if (sw->pressure)
			rp_count(RPC_CT_PRESSURE);
	}
	bpf_timer_start(&sw->timer, RP_CLOCK_TICK_NS, 0);
	/* the FTP helper's tables, on its own schedule (bpf/ftp.h) */
	if (cfg)
		rp_ftp_sweep(cfg, now);
	return 0;
}

/* Start the sweeper's timer with this object's callback, which sweeps
 * this object's tables.  take_over: also when it runs already (an apply
 * reuses the pinned rp_sweeper; its timer must follow the new tables).
 * Global: the callback is verified once, here. */
__noinline int rp_sweeper_arm(int take_over)
{
	__u32 zero = 0;
	struct rp_sweeper *sw = bpf_map_lookup_elem(&rp_sweeper, &zero);
	struct rp_config *cfg = rp_cfg();
	if (!sw || !cfg || (sw->armed && !take_over))
		return 0;
	if (!sw->armed) {
		sw->armed = 1;
		sw->clock_ns = bpf_ktime_get_coarse_ns();
		sw->next_sweep_ns = sw->clock_ns + rp_sweep_interval(cfg);
		bpf_timer_init(&sw->timer, &rp_sweeper, RP_CLOCK_MONOTONIC);
	}
	bpf_timer_set_callback(&sw->timer, rp_sweep);
	bpf_timer_start(&sw->timer, RP_CLOCK_TICK_NS, 0);
	return 0;
}

/* ---------- fragments ---------- */

static __always_inline void rp_frag_key(struct rp_frag_key *k, const struct rp_pkt *p)
{
	rp_copy_addr(k->saddr, p->saddr);
	rp_copy_addr(k->daddr, p->daddr);
	k->id = p->frag_id;
	k->proto = p->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* kbuf: caller's scratch key (same size), to keep the stack small */
static __always_inline void rp_frag_remember(const struct rp_pkt *p, __u64 now, void *kbuf)
{
	struct rp_frag_key *k = kbuf;
	__u64 exp = now + RP_FRAG_TIMEOUT_NS;
	rp_frag_key(k, p);
	bpf_map_update_elem(&rp_frags, k, &exp, BPF_ANY);
}

static __always_inline int rp_frag_allowed(const struct rp_pkt *p, __u64 now, void *kbuf)
{
	struct rp_frag_key *k = kbuf;
	rp_frag_key(k, p);
	__u64 *exp = bpf_map_lookup_elem(&rp_frags, k);
	return exp && *exp > now;
}

_Static_assert(sizeof(struct rp_frag_key) <= sizeof(struct ct_key), "scratch key too small");

/* ---------- parsing, verified once on its own ---------- */

/* Parsing.  The common case (no IPv6 extension header) is inlined in
 * the program: every call costs a return, and returns are expensive on
 * CPUs that need return-stack mitigations.  The extension-header walk is a
 * global (non-static) function, verified once on its own, which keeps the
 * verifier's state space small: the caller only sees "some struct rp_pkt
 * and a return code".  One set per context type. */
#define RP_PARSE_FUNCS(name, ctx_t, wire_len, load_bytes)                                                            \
	__noinline int rp_ext_##name(ctx_t *c, struct rp_pkt *p)                                                     \
	{                                                                                                            \
		if (!c || !p)                                                                                        \
			return RPC_DROP_TRUNC_L3;                                                                    \
		void *data = (void *)(long)c->data, *end = (void *)(long)c->data_end;                                \
		for (int i = 0; i < RP_MAX_EXTHDR; i++) {                                                            \
			if (!rp_ext_pending(p))                                                                      \
				break;                                                                               \
			int r = rp_parse_ext(p, data, end);                                                          \
			if (r != RP_PARSE_OK)                                                                        \
				return r;                                                                            \
		}                                                                                                    \
		if (rp_ext_pending(p))                                                                               \
			return RPC_DROP_EXT_CHAIN;                                                                   \
		return rp_parse_l4(p, data, end);                                                                    \
	}                                                                                                            \
	__noinline int rp_opts_##name(ctx_t *c, struct rp_pkt *p)                                                    \
	{                                                                                                            \
		__u8 buf[64] = {};                                                                                   \
		if (!c || !p)                                                                                        \
			return 0;                                                                                    \
		__u32 n = p->l4hlen - 20;                                                                            \
		if (n == 0 || n > 40)                                                                                \
			return 0;                                                                                    \
		if (load_bytes(c, p->l4off + 20, buf, n))                                                            \
			p->wscale = RP_WSCALE_MAX;                                                                   \
		else                                                                                                 \
			p->wscale = rp_tcp_opts_wscale(buf, n);                                                      \
		return 0;                                                                                            \
	}                                                                                                            \
	static __always_inline int rp_parse_##name(ctx_t *c, struct rp_pkt *p, __u16 l3proto)                        \
	{                                                                                                            \
		void *data = (void *)(long)c->data, *end = (void *)(long)c->data_end;                                \
		rp_pkt_reset(p);                                                                                     \
		int r = rp_parse_l3(p, data, end, (wire_len), l3proto);                                              \
		if (r != RP_PARSE_OK)                                                                                \
			return r;                                                                                    \
		if (rp_ext_pending(p))                                                                               \
			r = rp_ext_##name(c, p);                                                                     \
		else                                                                                                 \
			r = rp_parse_l4(p, data, end);                                                               \
		/* a SYN's window scale, for the window checks (conntrack.h) */                                      \
		if (r == RP_PARSE_OK && p->proto == RP_IPPROTO_TCP && (p->tcp_flags & RP_TCP_SYN) && p->l4hlen > 20) \
			rp_opts_##name(c, p);                                                                        \
		return r;                                                                                            \
	}

/* XDP: a multi-buffer frame (xdp.frags, jumbo MTUs) is parsed from its
 * linear part; lengths are checked against the whole frame. */
RP_PARSE_FUNCS(xdp, struct xdp_md, (__u32)bpf_xdp_get_buff_len(c), bpf_xdp_load_bytes)
RP_PARSE_FUNCS(skb, struct __sk_buff, c->len, bpf_skb_load_bytes)

/* Build the reject answer in place (bpf/reject.h): 0, or the counter that
 * says why not.  Global for the same reason as the parsers. */
__noinline int rp_reject_xdp_g(struct xdp_md *ctx, const struct rp_pkt *p)
{
	struct rp_config *cfg = rp_cfg();
	if (!ctx || !p || !cfg)
		return RPC_DROP_REJECT_FAILED;
	return rp_reject_xdp(ctx, p, cfg);
}

__noinline int rp_reject_tc_g(struct __sk_buff *skb, const struct rp_pkt *p, __u32 l3off)
{
	struct rp_config *cfg = rp_cfg();
	if (!skb || !p || !cfg)
		return RPC_DROP_REJECT_FAILED;
	return rp_reject_tc(skb, p, l3off, cfg);
}

/* ---------- interfaces ---------- */

enum rp_prejudged {
	RP_PRE_NONE = 0,
	RP_PRE_SOCKET,	/* tc egress: the socket hooks allowed it at connect/sendto (bpf/sockid.h) */
	RP_PRE_INGRESS, /* tc egress: forwarded from an interface whose ingress program judged it */
};

/* The logical interface of a frame seen on ifindex with outer VLAN tag vid
 * (include/rampart_maps.h, struct rp_iface).  An unknown VLAN is judged
 * as the device itself. */
static __always_inline void rp_event_iface(struct rp_event *ev, __u32 ifindex, __u16 vid)
{
	struct rp_iface_key key = { .ifindex = ifindex, .vid = vid };
	struct rp_iface *ifc = bpf_map_lookup_elem(&rp_ifaces, &key);
	if (!ifc && vid) {
		key.vid = 0;
		ifc = bpf_map_lookup_elem(&rp_ifaces, &key);
	}
	ev->iface_id = ifc ? ifc->id : 0;
	ev->ifindex = ifc && ifc->ifindex ? ifc->ifindex : ifindex;
	ev->iflags = ifc ? ifc->flags : 0;
}

/* A tagged frame of a VLAN device that runs rampart's programs itself is
 * judged there, once, not on its parent. */
static __always_inline int rp_vlan_elsewhere(__u32 ifindex, __u16 vid)
{
	struct rp_iface_key key = { .ifindex = ifindex, .vid = vid };
	struct rp_iface *ifc = vid ? bpf_map_lookup_elem(&rp_ifaces, &key) : 0;
	return ifc && (ifc->flags & RP_IFF_ELSEWHERE);
}

static __always_inline int rp_gateway(const struct rp_config *cfg)
{
	return cfg->flags & RP_CFG_F_HAVE_WAN;
}

enum rp_hook { RP_HOOK_XDP, RP_HOOK_TC_IN, RP_HOOK_TC_OUT };

/* ---------- neighbour discovery (docs/cli.md, RFC 4861) ---------- */

static __always_inline int rp_v6_link_local(const __u32 *a)
{
	return (bpf_ntohl(a[0]) & 0xffc00000) == 0xfe800000; /* fe80::/10 */
}

static __always_inline int rp_v6_multicast(const __u32 *a)
{
	return (bpf_ntohl(a[0]) >> 24) == 0xff;
}

static __always_inline int rp_v6_unspecified(const __u32 *a)
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

enum rp_nd { RP_ND_NO = 0, RP_ND_PASS, RP_ND_IF_ONLINK };

/* Is this a neighbour-discovery message the implicit rule lets pass?
 * RFC 4861: hop limit 255 (sent on this link, never routed), code 0, not
 * fragmented; router advertisements and redirects only from a link-local
 * source, router solicitations from a link-local or the unspecified
 * address, solicitations from any unicast or the unspecified address
 * (duplicate address detection), advertisements from unicast.  A
 * link-local or link-scope multicast destination passes (RP_ND_PASS); a
 * global unicast one only when it is on this link (RP_ND_IF_ONLINK: the
 * caller asks the FIB), so the rule never lets a message through to a
 * routed destination.  Everything else is judged by the policy. */
static __always_inline int rp_nd_kind(const struct rp_pkt *p)
{
	__u8 t = p->icmp_type;
	if (p->proto != RP_IPPROTO_ICMPV6 || p->family != 6 || t < 133 || t > 137 || p->ttl != 255 ||
	    p->frag != RP_FRAG_NONE || p->icmp_code != 0)
		return RP_ND_NO;
	const __u32 *s = p->saddr, *d = p->daddr;
	if (t == 134 || t == 137) {
		if (!rp_v6_link_local(s))
			return RP_ND_NO;
	} else if (t == 133) {
		if (!rp_v6_link_local(s) && !rp_v6_unspecified(s))
			return RP_ND_NO;
	} else if (rp_v6_multicast(s) || (t == 136 && rp_v6_unspecified(s))) {
		return RP_ND_NO;
	}
	if (rp_v6_link_local(d) || (bpf_ntohl(d[0]) >> 16) == 0xff02)
		return RP_ND_PASS;
	if (rp_v6_multicast(d) || rp_v6_unspecified(d))
		return RP_ND_NO;
	return RP_ND_IF_ONLINK;
}

__noinline int rp_nd_onlink_xdp(struct xdp_md *ctx, const struct rp_pkt *p);
__noinline int rp_nd_onlink_skb(struct __sk_buff *skb, const struct rp_pkt *p, int egress);

static __always_inline int rp_nd_onlink(void *ctx, const int hook, const struct rp_pkt *p)
{
	if (hook == RP_HOOK_XDP)
		return rp_nd_onlink_xdp(ctx, p);
	return rp_nd_onlink_skb(ctx, p, hook == RP_HOOK_TC_OUT);
}

/* ---------- before the policy ---------- */

/* Segments of no flow that a reject may answer (a closed port answers
 * every segment but a RST), when the policy can reject at all. */
static __always_inline int rp_may_answer_stray(const struct rp_config *cfg, const struct rp_pkt *p)
{
	return p->proto == RP_IPPROTO_TCP && !(p->tcp_flags & RP_TCP_RST) && (cfg->flags & RP_CFG_F_REJECTS) &&
	       cfg->mode == RP_MODE_ENFORCING;
}

/* Everything up to and including conntrack.  Returns PASS/DROP, or JUDGE
 * for a packet that starts a new flow (*ct_res says which kind), or STRAY
 * for a TCP segment of no flow that only a reject may answer. */
static __always_inline int rp_track(void *ctx, const int hook, struct rp_pkt *p, struct rp_config *cfg, __u64 now,
				    struct ct_key *k, int *src_is_a, int *ct_res)
{
	__u32 mode = cfg->mode;
	if (mode != RP_MODE_ENFORCING) {
		if (rp_boot_expired(cfg, now)) {
			/* nobody applied a policy in time (the boot timer does the same) */
			rp_mode_set(cfg, RP_MODE_OPEN, RP_REASON_BOOT_TIMEOUT);
			mode = RP_MODE_OPEN;
		}
		if (mode == RP_MODE_OPEN) {
			rp_count(RPC_PASS_MODE_OPEN);
			return RP_ACT_PASS;
		}
		if (mode == RP_MODE_LOCKDOWN) {
			rp_count(RPC_DROP_MODE_LOCKDOWN);
			return RP_ACT_DROP;
		}
	}
	/* docs/cli.md: neighbour discovery is never broken; but only what RFC
	 * 4861 allows on the link passes without the policy */
	int nd = rp_nd_kind(p);
	if (nd == RP_ND_PASS || (nd == RP_ND_IF_ONLINK && rp_nd_onlink(ctx, hook, p))) {
		rp_count(RPC_PASS_IMPLICIT_ND);
		return RP_ACT_PASS;
	}
	if (p->frag == RP_FRAG_LATER) {
		if (rp_frag_allowed(p, now, k)) {
			rp_count(RPC_PASS_FRAG);
			return RP_ACT_PASS;
		}
		rp_count(RPC_DROP_FRAG_ORPHAN);
		return RP_ACT_DROP;
	}
	if (p->icmp_err != RP_ICMPERR_NO) {
		if (rp_ct_related(cfg, p, now, k)) {
			rp_count(RPC_PASS_RELATED);
			return RP_ACT_PASS;
		}
		rp_count(RPC_DROP_ICMP_UNRELATED);
		return RP_ACT_DROP;
	}
	int r = rp_ct_track(cfg, p, k, src_is_a, now);
	*ct_res = r;
	if (r == RP_CT_PASS) {
		if (p->frag == RP_FRAG_FIRST)
			rp_frag_remember(p, now, k); /* k is not needed any more: reuse its stack */
		rp_count(RPC_PASS_FLOW);	     /* per-CPU: no shared cache line */
		return RP_ACT_PASS;
	}
	if (r == RP_CT_INVALID) {
		if (rp_may_answer_stray(cfg, p))
			return RP_ACT_STRAY;
		rp_count(RPC_DROP_INVALID);
		return RP_ACT_DROP;
	}
	if (r == RP_CT_BAD_STATE || r == RP_CT_OUT_OF_WINDOW) {
		rp_count(r == RP_CT_BAD_STATE ? RPC_DROP_INVALID_STATE : RPC_DROP_TCP_WINDOW);
		return RP_ACT_DROP;
	}
	if (r == RP_CT_RST_IGNORED || r == RP_CT_SYN_IGNORED) {
		/* the endpoint decides (RFC 5961 challenge ACK); the flow stays */
		rp_count(r == RP_CT_RST_IGNORED ? RPC_PASS_TCP_RST_IGNORED : RPC_PASS_TCP_SYN_IGNORED);
		return RP_ACT_PASS;
	}
	return RP_ACT_JUDGE;
}

/* ---------- judging a new flow ---------- */

/* A log event about the new flow p: decided by a rule, or by a protocol
 * helper (helper: enum rp_helper_event, cmd: what announced the flow). */
static __always_inline void rp_log_flow(const struct rp_config *cfg, __u32 slot, __u8 verdict, __u8 flags, __u8 helper,
					__u8 cmd, const struct rp_pkt *p, const struct rp_event *ev)
{
	struct rp_log_event *e = rp_log_begin(cfg, slot);
	if (!e)
		return;
	if (helper) {
		e->kind = RP_LOG_HELPER;
		e->helper = helper;
		e->helper_cmd = cmd;
	}
	e->ifindex = ev->ifindex;
	e->iface_id = ev->iface_id;
	e->verdict = verdict;
	e->event = ev->event;
	e->dir = ev->dir;
	e->family = p->family;
	e->proto = p->proto;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->tcp_flags = p->tcp_flags;
	e->flags = flags | (ev->egress ? RP_LOGF_EGRESS : 0);
	if (ev->dir == DIR_IN) {
		rp_copy_addr(e->laddr, p->daddr);
		rp_copy_addr(e->raddr, p->saddr);
		if (p->has_ports) {
			e->lport = bpf_ntohs(p->dport);
			e->rport = bpf_ntohs(p->sport);
		}
	} else {
		rp_copy_addr(e->laddr, p->saddr);
		rp_copy_addr(e->raddr, p->daddr);
		if (p->has_ports) {
			e->lport = bpf_ntohs(p->sport);
			e->rport = bpf_ntohs(p->dport);
		}
	}
	if ((ev->event == EVENT_ACCEPT || ev->event == EVENT_RECEIVE) && p->has_ports) {
		/* whose socket it was: the identity the rule was judged with */
		struct rp_owner *o = rp_owner_find(e->laddr, e->lport, e->proto);
		if (o) {
			e->app_id = o->app;
			e->uid = o->uid;
			e->pid = o->pid;
			e->cgroup_id = o->cgroup_id;
			e->flags |= RP_LOGF_OWNER;
		}
	}
	rp_log_send(e, slot);
}

static __always_inline void rp_log_rule(const struct rp_config *cfg, __u32 slot, __u8 verdict, __u8 flags,
					const struct rp_pkt *p, const struct rp_event *ev)
{
	rp_log_flow(cfg, slot, verdict, flags, RP_HELPER_NONE, 0, p, ev);
}

static __always_inline void rp_fill_fields(struct cls_fields *f, const struct rp_pkt *p, const struct rp_event *ev)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->dir = ev->dir;
	f->event = ev->event;
	f->family = p->family;
	f->proto = p->proto;
	f->iface = ev->iface_id;
	if (ev->dir == DIR_IN) {
		rp_copy_addr(f->laddr, p->daddr);
		rp_copy_addr(f->raddr, p->saddr);
	} else {
		rp_copy_addr(f->laddr, p->saddr);
		rp_copy_addr(f->raddr, p->daddr);
	}
	if (p->has_ports) {
		f->has_ports = 1;
		f->lport = bpf_ntohs(ev->dir == DIR_IN ? p->dport : p->sport);
		f->rport = bpf_ntohs(ev->dir == DIR_IN ? p->sport : p->dport);
	}
	if (p->proto == RP_IPPROTO_ICMP && p->family == 4) {
		f->has_icmp = 1;
		f->icmp_type = p->icmp_type;
	} else if (p->proto == RP_IPPROTO_ICMPV6 && p->family == 6) {
		f->has_icmp = 1;
		f->icmp_type = ICMPV6_TYPE_BASE + p->icmp_type;
	}
}

static __always_inline __u8 rp_ct_initial_state(const struct rp_pkt *p)
{
	if (p->proto == RP_IPPROTO_TCP)
		return CT_TCP_SYN_SENT;
	if (p->is_echo)
		return CT_ICMP;
	return CT_UDP;
}

/* Create the flow entry for an allowed new flow, in rp_ct_new (it moves
 * to rp_conntrack when it earns it: bpf/conntrack.h).  Returns 0, or -1
 * when no entry could be made (the flow is then denied: never allowed
 * untracked). */
static __always_inline int rp_ct_create(const struct rp_pkt *p, const struct ct_key *k, int src_is_a,
					const struct rp_event *ev, __u32 slot, __u64 now)
{
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return -1;
	struct ct_value *v = &sc->v; /* (the stack is too small for it) */
	__builtin_memset(v, 0, sizeof(*v));
	v->last_seen_ns = now;
	/* the fine clock: created_ns tells the flow from an earlier flow of the
	 * same key (the flow cache folds an entry only into its own flow) */
	v->created_ns = bpf_ktime_get_ns();
	v->rule_slot = slot;
	v->rule_gen = (__u16)rp_gen; /* the rules slot numbers: this object's */
	v->ifindex = ev->ifindex;
	v->state = rp_ct_initial_state(p);
	v->flags = (src_is_a ? CT_F_ORIG_IS_A : 0) | (ev->prejudged == RP_PRE_INGRESS ? CT_F_FORWARDED : 0);
	v->dir = ev->dir;
	v->event = ev->event;
	v->family = p->family;
	rp_ct_init_value(v, p, src_is_a);
	long err = bpf_map_update_elem(&rp_ct_new, k, v, BPF_NOEXIST);
	if (err == -17 /* EEXIST */) {
		/* another CPU created it just now, or it is the copy a flow on
		 * the same ports left when it moved: that one is replaced */
		struct ct_value *old = bpf_map_lookup_elem(&rp_ct_new, k);
		if (old && (old->flags & CT_F_MOVED))
			err = bpf_map_update_elem(&rp_ct_new, k, v, BPF_EXIST);
		else
			err = 0;
	}
	if (err) {
		rp_count(RPC_DROP_CT_FULL);
		return -1;
	}
	rp_sweeper_arm(0);
	return 0;
}

/* A flow of a socket judged under another generation or mode: judged
 * again as the caller that was judged then (its uid and executable, the
 * socket's cgroup), named as the policy in force numbers them. */
static __always_inline void rp_stale_fill(struct cls_fields *f, const struct rp_scratch *sc)
{
	rp_count(RPC_SOCK_REJUDGED);
	f->uid = sc->sk_uid;
	f->app = sc->sk_app;
	f->cgroup = sc->sk_cgroup;
	f->has_app = f->has_cgroup = f->has_user = 1;
}

/* ---------- ask (bpf/ask.h) ---------- */

/* A flow held by a question: the verdict of its answer, or RP_VERDICT_HOLD
 * while the question is open (or ask-default when it went unanswered). */
static __always_inline __u32 rp_ask_held_verdict(const struct rp_config *cfg, struct rp_ask_held *h, __u64 now)
{
	if (h->verdict != RP_VERDICT_PENDING)
		return h->verdict;
	struct rp_ask_q *q;
	int w = rp_ask_where(cfg, &h->q, &q, now);
	if (w == RP_ASKW_OPEN && q->id == h->qid)
		return RP_VERDICT_HOLD;
	h->verdict = w == RP_ASKW_ANSWERED && q->id == h->qid ? q->verdict : cfg->ask_default;
	return h->verdict;
}

/* Records a flow held by question qid, so that its retransmissions get
 * the answer (and the agent can fail a refused local connection). */
static __always_inline void rp_ask_hold(struct rp_ask_held *h, const struct ct_key *k, const struct rp_ask_key *key,
					__u64 qid, const struct rp_pkt *p, const struct rp_event *ev, __u64 now)
{
	__builtin_memset(h, 0, sizeof(*h));
	__builtin_memcpy(&h->q, key, sizeof(h->q));
	h->qid = qid;
	h->first_ns = now;
	h->seq = p->proto == RP_IPPROTO_TCP ? p->seq : 0;
	h->ifindex = ev->ifindex;
	h->verdict = RP_VERDICT_PENDING;
	h->local_is_a = ev->egress ? ev->src_is_a : !ev->src_is_a;
	h->dir = ev->dir;
	h->event = ev->event;
	h->family = p->family;
	bpf_map_update_elem(&rp_ask_held, k, h, BPF_NOEXIST);
}

/* Who asks for a flow: the held socket's owner (tc egress), the listening
 * socket's owner (accept, receive), or nobody (forwarded, ICMP...). */
static __always_inline void rp_ask_identity(struct rp_question *r, struct rp_sk_ask *id, const struct rp_event *ev,
					    const struct cls_fields *f)
{
	if (ev->asked) {
		rp_ask_who(r, id->ino, id->dev, id->cgroup_id, id->pid, id->uid, id->app, RP_QF_SOCKET);
		return;
	}
	if (ev->event != EVENT_ACCEPT && ev->event != EVENT_RECEIVE)
		return;
	struct rp_owner *o = rp_owner_find(f->laddr, f->lport, f->proto);
	if (o)
		rp_ask_who(r, o->ino, o->exe.dev, o->cgroup_id, o->pid, o->uid, o->app, RP_QF_OWNER);
}

/* A held local connection that is refused fails at once (ECONNREFUSED),
 * as SPEC 3.5 says: deny answers it as reject. */
static __always_inline __u32 rp_ask_answer_for(const struct rp_event *ev, __u32 v)
{
	if (v == VERDICT_DENY && ev->egress && (ev->event == EVENT_CONNECT || ev->event == EVENT_SEND))
		return VERDICT_REJECT;
	return v;
}

/* A new flow that reached `ask`, or (ev->asked) whose socket was held by a
 * question at connect()/sendto(): its verdict, RP_VERDICT_HOLD while its
 * question is open, or - ev->asked only - RP_VERDICT_PENDING when no
 * question concerns it (it is then judged as any other flow).  The event's
 * fields are in the scratch's cls_fields (filled here for ev->asked).
 * Global: verified on its own. */
__noinline int rp_ask_flow(struct rp_pkt *p, const struct ct_key *k, struct rp_event *ev, __u32 slot)
{
	__u32 zero = 0;
	struct rp_config *cfg = rp_cfg();
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!p || !k || !ev || !cfg || !sc)
		return VERDICT_DENY;
	__u64 now = bpf_ktime_get_ns();
	struct cls_fields *f = &sc->f;
	struct rp_ask_held *h = bpf_map_lookup_elem(&rp_ask_held, k);
	if (h) {
		__u32 v = rp_ask_held_verdict(cfg, h, now);
		if (v == VERDICT_ALLOW)
			bpf_map_delete_elem(&rp_ask_held, k); /* tracked from now on */
		return v == RP_VERDICT_HOLD ? v : rp_ask_answer_for(ev, v);
	}
	__u64 ino = 0;
	__u32 dev = 0;
	__u8 kind = RP_ASKK_RULE;
	if (ev->asked) {
		kind = (__u8)sc->asker.kind;
		rp_fill_fields(f, p, ev);
		ino = sc->asker.ino;
		dev = sc->asker.dev;
		slot = sc->asker.slot;
	} else if (ev->event == EVENT_ACCEPT || ev->event == EVENT_RECEIVE) {
		struct rp_owner *o = rp_owner_find(f->laddr, f->lport, f->proto);
		if (o) {
			ino = o->ino;
			dev = o->exe.dev;
		}
	}
	struct rp_ask_key *key = &sc->akey;
	struct rp_ask_q *q;
	rp_ask_key_of(key, f, ino, dev, kind);
	int w = rp_ask_where(cfg, key, &q, now);
	if (w == RP_ASKW_ANSWERED && q)
		return rp_ask_answer_for(ev, q->verdict);
	if (w == RP_ASKW_OPEN && q) {
		if (!ev->asked) {
			__sync_fetch_and_add(&q->count, 1);
			rp_count(RPC_ASK_FOLDED);
		}
		rp_ask_hold(&sc->held, k, key, q->id, p, ev, now);
		return RP_VERDICT_HOLD;
	}
	if (ev->asked)
		return RP_VERDICT_PENDING;
	struct rp_question *r = rp_ask_begin(now);
	if (!r)
		return cfg->ask_default;
	rp_ask_fill(r, f);
	rp_ask_identity(r, &sc->asker, ev, f);
	r->ifindex = ev->ifindex;
	r->flags |= RP_QF_HELD;
	__u64 id = rp_ask_commit(r, key, slot, now);
	if (!id)
		return cfg->ask_default;
	rp_ask_hold(&sc->held, k, key, id, p, ev, now);
	return RP_VERDICT_HOLD;
}

/* The policy's verdict for a new flow (counted, logged; VERDICT_ASK: the
 * caller asks, see rp_run).  *slot gets the deciding rule.  Stray segments
 * are only classified (ask: ask-default): no counters, no log unless they
 * are answered. */
static __always_inline __u32 rp_policy_verdict(const struct rp_config *cfg, struct rp_pkt *p, struct rp_event *ev,
					       __u64 now, __u32 *slot)
{
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return VERDICT_DENY;
	rp_fill_fields(&sc->f, p, ev);
	if (ev->event == EVENT_ACCEPT || ev->event == EVENT_RECEIVE) {
		/* the listening socket's owner (bpf/sockid.h) */
		struct rp_owner *o = rp_owner_fill(&sc->f);
		if (o && rp_owner_refused(o, cfg->mode)) { /* its listen() was refused: the rule that refused it */
			*slot = o->slot;
			rp_rule_hit(*slot, ev->bytes);
			return VERDICT_DENY;
		}
	} else if (ev->sk_ident)
		rp_stale_fill(&sc->f, sc);
	const struct cls_result *res = &sc->r;
	/* tables not (fully) written: deny by no rule, nothing recorded */
	rp_classify(&sc->f, &sc->r);
	__u32 verdict = res->verdict;
	*slot = res->slot;
	if (ev->stray)
		return verdict == VERDICT_ASK ? cfg->ask_default : verdict;
	/* continue/jump rules that matched: counted, and logged (continue
	 * always, jump with `log`) */
	__u32 nrec = res->nrecords;
	for (__u32 i = 0; i < CLS_MAX_RECORDS; i++) {
		if (i >= nrec)
			break;
		__u32 rs = res->records[i].slot;
		rp_rule_hit(rs, ev->bytes);
		if (res->records[i].log)
			rp_log_rule(cfg, rs, res->records[i].verdict, RP_LOGF_RECORD, p, ev);
	}
	rp_rule_hit(*slot, ev->bytes);
	if (res->verdict == VERDICT_ASK) {
		rp_count(RPC_NEW_ASK);
		ev->ask_log = res->log; /* logged with the verdict it gets */
	} else if (res->log) {
		rp_log_rule(cfg, *slot, verdict, 0, p, ev);
	}
	return verdict;
}

/* ---------- the FTP helper (bpf/ftp.h) ---------- */

/* A new TCP flow: a data connection an FTP control connection announced?
 * Takes the expectation (one flow each).  Global: verified on its own. */
__noinline int rp_ftp_admit(const struct rp_pkt *p)
{
	struct rp_config *cfg = rp_cfg();
	struct rp_ftp_scratch *s = rp_ftp_scratch_get();
	if (!p || !cfg || !s)
		return 0;
	return rp_ftp_take(cfg, p, s, bpf_ktime_get_coarse_ns());
}

__noinline int rp_ftp_announce_g(const struct rp_pkt *p, const struct ct_key *k, struct rp_ftp_ctl *ctl, __u32 i,
				 __u64 where)
{
	struct rp_config *cfg = rp_cfg();
	struct rp_ftp_scratch *s = rp_ftp_scratch_get();
	if (!p || !k || !ctl || !cfg || !s)
		return 0;
	rp_ftp_announce(cfg, p, k, ctl, &s->found[i & (RP_FTP_FOUND_MAX - 1)], s, where & 1, (__u32)(where >> 1),
			bpf_ktime_get_coarse_ns());
	return 0;
}

/* The data flow k (packet p) was admitted and its entry just made by
 * rp_ct_create (rp_scratch.v): related to its control flow, counted in the
 * helper's slot, logged. */
static __always_inline void rp_ftp_admitted(const struct rp_config *cfg, const struct rp_pkt *p, const struct ct_key *k,
					    const struct rp_event *ev)
{
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	struct rp_ftp_scratch *s = rp_ftp_scratch_get();
	if (!sc || !s)
		return;
	rp_ftp_relate(k, s, sc->v.created_ns);
	rp_count(RPC_NEW_FTP_DATA);
	rp_rule_hit(cfg->helper_slot, ev->bytes);
	rp_log_flow(cfg, cfg->helper_slot, VERDICT_ALLOW, 0, RP_HELPER_FTP_DATA, s->rel_cmd, p, ev);
}

/* A segment with payload of a tracked flow (key k) that may be an FTP
 * control connection: copy what the helper reads (the payload's first
 * RP_FTP_SCAN bytes and its last byte) and let it read.  One per context
 * type; global, so verified once. */
#define RP_FTP_FUNCS(name, ctx_t, load_bytes)                                                              \
	__noinline int rp_ftp_##name(ctx_t *c, const struct rp_pkt *p, const struct ct_key *k, int egress, \
				     __u32 ifindex)                                                        \
	{                                                                                                  \
		struct rp_config *cfg = rp_cfg();                                                          \
		struct rp_ftp_scratch *s = rp_ftp_scratch_get();                                           \
		if (!c || !p || !k || !cfg || !s)                                                          \
			return 0;                                                                          \
		__u32 off = p->l4off + p->l4hlen;                                                          \
		if (p->l3end <= off)                                                                       \
			return 0;                                                                          \
		__u32 len = p->l3end - off;                                                                \
		__u64 n = len < RP_FTP_SCAN ? len : RP_FTP_SCAN;                                           \
		__u8 last = 0;                                                                             \
		asm volatile("" : "+r"(n)); /* the verifier sees the check below */                        \
		if (n == 0 || n > RP_FTP_SCAN || load_bytes(c, off, s->buf, n))                            \
			return 0;                                                                          \
		if (len > n && load_bytes(c, off + len - 1, &last, 1))                                     \
			return 0;                                                                          \
		rp_ftp_segment(cfg, p, k, len, last, s, egress, ifindex);                                  \
		return 0;                                                                                  \
	}

RP_FTP_FUNCS(xdp, struct xdp_md, bpf_xdp_load_bytes)
RP_FTP_FUNCS(skb, struct __sk_buff, bpf_skb_load_bytes)

/* Judge a packet that starts a new flow.  Returns PASS/DROP/REJECT.
 * Global: verified on its own (the classifier lives in here).  A reject
 * is counted by the caller, once the answer is on its way. */
__noinline int rp_judge(struct rp_pkt *p, const struct ct_key *k, struct rp_event *ev)
{
	__u32 verdict;
	if (!p || !k || !ev)
		return RP_ACT_DROP;
	struct rp_config *cfg = rp_cfg();
	if (!cfg)
		return RP_ACT_DROP;
	__u64 now = bpf_ktime_get_coarse_ns();
	int src_is_a = ev->src_is_a, ct_res = ev->ct_res;
	__u32 slot = RP_SLOT_NONE;

	if (ev->stray) {
		/* a segment of no flow: answered as a closed port when the policy
		 * rejects it, else dropped as what it is (invalid) */
		if (rp_policy_verdict(cfg, p, ev, now, &slot) == VERDICT_REJECT) {
			rp_rule_hit(slot, ev->bytes);
			return RP_ACT_REJECT;
		}
		rp_count(ev->stray_reason);
		return RP_ACT_DROP;
	}
	int ftp = 0;
	if (ev->ask_verdict) {
		/* the second judgement of an event that reached ask: its answer */
		verdict = ev->ask_verdict - 1;
		slot = ev->ask_slot;
		if (ev->ask_log)
			rp_log_rule(cfg, slot, verdict, RP_LOGF_ASK, p, ev);
	} else if (ev->asked && cfg->mode == RP_MODE_ENFORCING) {
		/* its socket was held at connect()/sendto(): the answer decides */
		return RP_ACT_ASK;
	} else if ((ftp = !ev->stray && p->proto == RP_IPPROTO_TCP && (cfg->flags & RP_CFG_F_FTP) &&
			  rp_ftp_any_expected() && rp_ftp_admit(p))) {
		/* a data connection announced on an FTP control connection:
		 * admitted by the helper, RELATED to that flow (bpf/ftp.h) */
		verdict = VERDICT_ALLOW;
		slot = cfg->helper_slot;
	} else if (ev->prejudged) {
		/* one judgement per flow: the socket hooks, or the ingress
		 * program of the interface it was forwarded from, allowed it */
		rp_count(ev->prejudged == RP_PRE_SOCKET ? RPC_NEW_SOCK_JUDGED : RPC_NEW_FORWARDED);
		verdict = VERDICT_ALLOW;
		slot = ev->sk_slot;
	} else if (cfg->mode == RP_MODE_BOOT) {
		/* docs/operations.md: outbound flows and their replies pass, new inbound is blocked */
		if (ev->dir == DIR_IN) {
			if (p->has_ports && rp_boot_dhcp_reply(p->family, p->proto, p->sport, p->dport)) {
				rp_count(RPC_PASS_BOOT_DHCP);
				return RP_ACT_PASS;
			}
			rp_count(RPC_DROP_BOOT_IN);
			return RP_ACT_DROP;
		}
		rp_count(RPC_NEW_BOOT_OUT);
		verdict = VERDICT_ALLOW;
	} else {
		verdict = rp_policy_verdict(cfg, p, ev, now, &slot);
		if (verdict == VERDICT_ASK) {
			ev->ask_slot = slot;
			return RP_ACT_ASK;
		}
	}

	if (verdict == VERDICT_ALLOW) {
		if (ct_res != RP_CT_STATELESS && rp_ct_create(p, k, src_is_a, ev, slot, now))
			return RP_ACT_DROP;
		if (p->frag == RP_FRAG_FIRST) {
			struct ct_key fk;
			rp_frag_remember(p, now, &fk);
		}
		if (ftp)
			rp_ftp_admitted(cfg, p, k, ev);
		else if (!ev->prejudged && !ev->asked)
			rp_count(RPC_NEW_ALLOW);
		return RP_ACT_PASS;
	}
	if (verdict == VERDICT_REJECT)
		return RP_ACT_REJECT;
	rp_count(RPC_NEW_DENY);
	return RP_ACT_DROP;
}

/* ---------- ingress: event type and direction ---------- */

/* Is the packet addressed to this host?  The FIB answers "not forwarded"
 * for local (and broadcast/multicast) destinations; a host that does not
 * forward on this interface delivers or drops, never forwards. */
static __always_inline int rp_dst_local(void *ctx, const struct rp_pkt *p, __u32 ifindex)
{
	struct bpf_fib_lookup f = {};
	rp_fib_params(&f, p, ifindex);
	long r = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
	return r == BPF_FIB_LKUP_RET_NOT_FWDED || r == BPF_FIB_LKUP_RET_FWD_DISABLED || r < 0;
}

/* Bound to a specific address (not 0.0.0.0 / ::)? */
static __always_inline int rp_sock_bound(const struct bpf_sock *sk, __u8 family)
{
	if (family == 4)
		return sk->src_ip4 != 0;
	return (sk->src_ip6[0] | sk->src_ip6[1] | sk->src_ip6[2] | sk->src_ip6[3]) != 0;
}

/* The local socket a TCP/UDP packet would reach: 0 none, 1 one bound to
 * exactly its destination address, 2 a wildcard (0.0.0.0 / ::) socket,
 * which a packet routed through the host to another machine matches too. */
static __always_inline int rp_local_socket(void *ctx, const struct rp_pkt *p)
{
	struct bpf_sock_tuple t = {};
	__u32 tlen;
	if (p->family == 4) {
		t.ipv4.saddr = p->saddr[3];
		t.ipv4.daddr = p->daddr[3];
		t.ipv4.sport = p->sport;
		t.ipv4.dport = p->dport;
		tlen = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.dport = p->dport;
		tlen = sizeof(t.ipv6);
	}
	/* full sockets only (a listener is one), so that both lookups return
	 * the same pointer type to the verifier */
	struct bpf_sock *sk = p->proto == RP_IPPROTO_TCP ? bpf_sk_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0)
							 : bpf_sk_lookup_udp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	int bound = rp_sock_bound(sk, p->family);
	bpf_sk_release(sk);
	return bound ? 1 : 2;
}

/* Event type and direction of a new flow arriving (docs/policy.md, Events;
 * docs/gateway.md): accept / receive when it is addressed to this host and
 * a local socket waits for it, else packet.  Direction: in, except in
 * gateway mode for a packet routed through the host that did not arrive
 * on the wan interface (out). */
static __always_inline void rp_ingress_event(void *ctx, const struct rp_pkt *p, struct rp_event *ev,
					     const struct rp_config *cfg, __u32 dev_ifindex)
{
	int local = -1;
	ev->event = EVENT_PACKET;
	ev->dir = DIR_IN;
	if (p->proto == RP_IPPROTO_TCP || p->proto == RP_IPPROTO_UDP) {
		int s = rp_local_socket(ctx, p);
		if (s == 1)
			local = 1;
		else if (s == 2)
			local = rp_dst_local(ctx, p, dev_ifindex);
		if (local == 1)
			ev->event = p->proto == RP_IPPROTO_TCP ? EVENT_ACCEPT : EVENT_RECEIVE;
	}
	if (!rp_gateway(cfg) || ev->ifindex == cfg->wan_ifindex)
		return;
	if (local < 0)
		local = rp_dst_local(ctx, p, dev_ifindex);
	if (!local)
		ev->dir = DIR_OUT;
}

/* Global (own stack frame, verified once), one per context type. */
__noinline int rp_ingress_event_xdp(struct xdp_md *ctx, const struct rp_pkt *p, struct rp_event *ev)
{
	struct rp_config *cfg = rp_cfg();
	if (!ctx || !p || !ev || !cfg)
		return 0;
	rp_ingress_event(ctx, p, ev, cfg, ctx->ingress_ifindex);
	return 0;
}

__noinline int rp_ingress_event_skb(struct __sk_buff *skb, const struct rp_pkt *p, struct rp_event *ev)
{
	struct rp_config *cfg = rp_cfg();
	if (!skb || !p || !ev || !cfg)
		return 0;
	rp_ingress_event(skb, p, ev, cfg, skb->ifindex);
	return 0;
}

/* A neighbour-discovery message to a global unicast address: on this
 * link?  Arriving: addressed to this host (the FIB does not forward it).
 * Leaving: bridged from another port (a routed packet would have lost its
 * hop limit 255), or sent by this host to a destination the FIB reaches
 * without a gateway, out of this interface. */
__noinline int rp_nd_onlink_xdp(struct xdp_md *ctx, const struct rp_pkt *p)
{
	if (!ctx || !p)
		return 0;
	return rp_dst_local(ctx, p, ctx->ingress_ifindex);
}

__noinline int rp_nd_onlink_skb(struct __sk_buff *skb, const struct rp_pkt *p, int egress)
{
	if (!skb || !p)
		return 0;
	if (!egress)
		return rp_dst_local(skb, p, skb->ifindex);
	if (skb->ingress_ifindex)
		return 1;
	struct bpf_fib_lookup f = {};
	f.family = 10; /* AF_INET6 */
	f.ifindex = skb->ifindex;
	f.l4_protocol = p->proto;
	__builtin_memcpy(f.ipv6_src, p->saddr, 16);
	__builtin_memcpy(f.ipv6_dst, p->daddr, 16);
	long r = bpf_fib_lookup(skb, &f, sizeof(f), BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH);
	/* the kernel's IPv6 FIB lookup answers nothing on an interface that
	 * does not forward (any plain host): this host's own message, with
	 * hop limit 255, can only be valid on this link - a router on the way
	 * would lower the hop limit, and every receiver drops such ND */
	if (r == BPF_FIB_LKUP_RET_FWD_DISABLED)
		return 1;
	if (r != BPF_FIB_LKUP_RET_SUCCESS || f.ifindex != skb->ifindex)
		return 0;
	return f.ipv6_dst[0] == p->daddr[0] && f.ipv6_dst[1] == p->daddr[1] && f.ipv6_dst[2] == p->daddr[2] &&
	       f.ipv6_dst[3] == p->daddr[3]; /* no gateway: on the link */
}

/* ---------- egress: event type and direction ---------- */

/* The nearest cgroup the policy names among the sending socket's cgroup
 * and its ancestors (as the socket hooks found it for the caller: they
 * resolve paths and cache the ids, include/rampart_sock.h). */
static __always_inline __u32 rp_skb_cgroup_value(struct __sk_buff *skb)
{
	for (int l = RP_CG_MAX_LEVEL; l >= 0; l--) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, l);
		if (!id)
			continue;
		__u32 *v = bpf_map_lookup_elem(&rp_cgroups, &id);
		if (v && *v) /* 0: a cgroup the socket hooks found unnamed */
			return *v;
	}
	return 0;
}

/* Was the packet's socket held by a question at connect() or sendto()?
 * Then its identity goes into the scratch for rp_ask_flow. */
static __always_inline __u8 rp_sk_asked(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct bpf_sock *sk = skb->sk;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sk || !sc)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	struct rp_sk_ask *a = bpf_sk_storage_get(&rp_sk_ask, sk, 0, 0);
	if (!a)
		return 0;
	sc->asker = *a;
	return 1;
}

/* A packet leaving: sent by a local socket (connect / send), generated by
 * the kernel (packet), or forwarded.  A forwarded packet whose ingress
 * interface runs rampart's ingress program was judged there: it only
 * needs tracking under the tuple it leaves with (NAT may have changed it).
 * Otherwise (a bridge port without its own ingress program, an interface
 * rampart does not protect) it is judged here as a packet event, with the
 * interface and direction it arrived with. */
__noinline int rp_egress_event(struct __sk_buff *skb, const struct rp_pkt *p, struct rp_event *ev)
{
	__u32 zero = 0;
	struct rp_config *cfg = rp_cfg();
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!skb || !p || !ev || !cfg || !sc)
		return 0;
	ev->dir = DIR_OUT;
	ev->event = EVENT_PACKET;
	struct bpf_sock *sk = skb->sk;
	if (sk) {
		if (p->proto == RP_IPPROTO_TCP)
			ev->event = EVENT_CONNECT;
		else if (p->proto == RP_IPPROTO_UDP)
			ev->event = EVENT_SEND;
		if (ev->event == EVENT_PACKET || cfg->mode != RP_MODE_ENFORCING)
			return 0;
		int j = rp_sk_judged(skb, cfg->mode, &ev->sk_slot, &sc->sk_uid, &sc->sk_app);
		if (j == RP_SK_PREJUDGED)
			ev->prejudged = RP_PRE_SOCKET;
		else if (j == RP_SK_STALE) {
			ev->sk_ident = 1;
			sc->sk_cgroup = rp_skb_cgroup_value(skb);
		}
		ev->asked = rp_sk_asked(skb);
		return 0;
	}
	__u32 in = skb->ingress_ifindex;
	if (!in)
		return 0; /* generated by the kernel itself */
	struct rp_iface_key key = { .ifindex = in };
	struct rp_iface *from = bpf_map_lookup_elem(&rp_ifaces, &key);
	/* judged (or tracked) as it arrived: the interface it came in on */
	__u32 from_logical = from && from->ifindex ? from->ifindex : in;
	if (from) {
		ev->iface_id = from->id;
		ev->ifindex = from_logical;
		ev->dir = DIR_IN;
		if (from->flags & RP_IFF_JUDGES) {
			ev->prejudged = RP_PRE_INGRESS;
			ev->sk_slot = RP_SLOT_NONE;
		} else {
			ev->reply_ifindex = in; /* bridged from a port: the answer goes back there */
		}
	}
	if (rp_gateway(cfg))
		ev->dir = from_logical == cfg->wan_ifindex ? DIR_IN : DIR_OUT;
	return 0;
}

/* ---------- one body for every program ---------- */

/* A reject answer this datapath built and sent back through more of its
 * hooks (RP_ANSWER_MARK): the bridge's egress, then the port's. */
static __always_inline int rp_own_answer(struct __sk_buff *skb, const struct rp_pkt *p)
{
	if (skb->mark != RP_ANSWER_MARK)
		return 0;
	return (p->proto == RP_IPPROTO_TCP && (p->tcp_flags & RP_TCP_RST)) || p->icmp_err != RP_ICMPERR_NO;
}

/* A packet of a tracked flow at tc (Ethernet devices): ingress sends a
 * confirmed forwarded flow on past the stack, egress confirms forwarded
 * flows that left unchanged (bpf/fastpath.h).  Global: its FIB lookup
 * parameters get a stack frame of their own. */
__noinline int rp_fast_path(struct __sk_buff *skb, int hook, const struct rp_pkt *p, const struct ct_key *k,
			    int src_is_a)
{
	struct rp_config *cfg = rp_cfg();
	if (!skb || !p || !k || !cfg)
		return RP_ACT_PASS;
	__u64 now = rp_ct_clock(); /* the clock of the conntrack and flow-cache entries */
	if (hook == RP_HOOK_TC_IN)
		return rp_fp_forward(skb, cfg, p, k, now) == TC_ACT_REDIRECT ? RP_ACT_REDIRECT : RP_ACT_PASS;
	if (!skb->sk && skb->ingress_ifindex)
		rp_fp_confirm(cfg, p, k, src_is_a, now);
	return RP_ACT_PASS;
}

/* Parse, track, judge.  Returns RP_ACT_PASS, RP_ACT_DROP (counted) or
 * RP_ACT_REJECT (the caller builds the answer and counts it), with *ev
 * describing the event. */
static __always_inline int rp_run(void *ctx, const int hook, const int l3, struct rp_event *ev)
{
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return RP_ACT_DROP;
	struct rp_pkt *p = &sc->pkt;
	struct __sk_buff *skb = ctx;
	struct xdp_md *xdp = ctx;
	__u32 dev_ifindex;
	int r;
	if (hook == RP_HOOK_XDP) {
		dev_ifindex = xdp->ingress_ifindex;
		r = rp_parse_xdp(xdp, p, 0);
	} else {
		dev_ifindex = skb->ifindex;
		__u16 l3proto = l3 ? (__u16)skb->protocol : 0;
		r = rp_parse_skb(skb, p, l3proto);
		/* headers may sit partly outside the linear area: pull once and retry */
		if (r != RP_PARSE_OK && r != RPC_PASS_NONIP && skb->data_end - skb->data < skb->len) {
			bpf_skb_pull_data(skb, skb->len < 512 ? skb->len : 512);
			r = rp_parse_skb(skb, p, l3proto);
		}
		if (!l3 && skb->vlan_present)
			p->vid = skb->vlan_tci & 0xfff;
	}
	struct rp_config *cfg = rp_cfg();
	if (!cfg)
		return RP_ACT_DROP;
	int stray_reason = 0;
	if (r == RPC_DROP_TCP_FLAGS && rp_may_answer_stray(cfg, p)) {
		stray_reason = r; /* scan probes (null, xmas, fin): a rejected port answers them */
	} else if (r != RP_PARSE_OK) {
		rp_count(r);
		return r == RPC_PASS_NONIP ? RP_ACT_PASS : RP_ACT_DROP;
	}
	if (hook != RP_HOOK_XDP && rp_own_answer(skb, p)) {
		rp_count(RPC_PASS_ANSWER);
		return RP_ACT_PASS;
	}
	if (rp_vlan_elsewhere(dev_ifindex, p->vid)) {
		rp_count(RPC_PASS_VLAN_ELSEWHERE);
		return RP_ACT_PASS;
	}
	__u64 now = rp_ct_clock();
	struct ct_key *k = &sc->k;
	int src_is_a = 0, ct_res = -1;
	int act = RP_ACT_STRAY;
	if (!stray_reason)
		act = rp_track(ctx, hook, p, cfg, now, k, &src_is_a, &ct_res);
	if (act == RP_ACT_STRAY) {
		ev->stray = 1;
		ev->stray_reason = stray_reason ? stray_reason : RPC_DROP_INVALID;
	} else if (act != RP_ACT_JUDGE) {
		if (act == RP_ACT_PASS && ct_res == RP_CT_PASS && rp_ftp_candidate(cfg, p)) {
			/* a segment of a control connection? the FTP helper reads it */
			if (hook == RP_HOOK_XDP)
				rp_ftp_xdp(xdp, p, k, 0, dev_ifindex);
			else
				rp_ftp_skb(skb, p, k, hook == RP_HOOK_TC_OUT, dev_ifindex);
		}
		/* after the helper: a control connection's segments are read
		 * wherever they go (the fast path only sends on forwarded ones) */
		if (act == RP_ACT_PASS && ct_res == RP_CT_PASS && hook != RP_HOOK_XDP && !l3)
			return rp_fast_path(skb, hook, p, k, src_is_a);
		return act;
	}
	ev->src_is_a = src_is_a;
	ev->ct_res = ct_res;
	ev->egress = hook == RP_HOOK_TC_OUT;
	ev->bytes = hook == RP_HOOK_XDP ? xdp->data_end - xdp->data : skb->len;
	rp_event_iface(ev, dev_ifindex, p->vid);
	if (hook == RP_HOOK_XDP)
		rp_ingress_event_xdp(xdp, p, ev);
	else if (hook == RP_HOOK_TC_IN)
		rp_ingress_event_skb(skb, p, ev);
	else
		rp_egress_event(skb, p, ev);
	act = rp_judge(p, k, ev);
	if (act != RP_ACT_ASK)
		return act;
	/* ask: the question (its own frame beside rp_judge's), then the
	 * answer judged as a verdict of the policy */
	if (ev->asked)
		ev->ask_slot = sc->asker.slot;
	__u32 v = rp_ask_flow(p, k, ev, ev->ask_slot);
	if (v == RP_VERDICT_HOLD) {
		rp_count(RPC_ASK_HELD);
		return RP_ACT_HOLD;
	}
	if (v == RP_VERDICT_PENDING)
		ev->asked = 0; /* no question concerns its socket's flow: judged as any other */
	else
		ev->ask_verdict = (__u8)(v + 1);
	return rp_judge(p, k, ev);
}

/* A reject's answer was built (err 0) or not: count which. */
static __always_inline void rp_count_reject(const struct rp_event *ev, int err)
{
	rp_count(err ? err : ev->stray ? RPC_REJECT_STRAY : RPC_NEW_REJECT);
}

/* ---------- the programs ---------- */

RP_FORWARD_MAP(RP_MAP_FWD_XDP);

SEC("xdp.frags")
int rampart_xdp(struct xdp_md *ctx)
{
	RP_GATE(ctx, RP_MAP_FWD_XDP, XDP_PASS);
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return XDP_DROP;
	struct rp_event *ev = &sc->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	int act = rp_run(ctx, RP_HOOK_XDP, 0, ev);
	if (act == RP_ACT_PASS)
		return XDP_PASS;
	if (act == RP_ACT_REJECT) {
		int err = rp_reject_xdp_g(ctx, &sc->pkt);
		rp_count_reject(ev, err);
		return err ? XDP_DROP : XDP_TX;
	}
	return XDP_DROP;
}

/* tc: the answer to a rejected packet goes back where the packet came
 * from: out of the interface it arrived on (ingress; the bridge port of a
 * bridged frame), or into the local stack (egress: the local application
 * sees the RST / unreachable at once). */
static __always_inline int rp_tc(struct __sk_buff *skb, const int hook, const int l3)
{
	__u32 zero = 0, ifindex = skb->ifindex;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return TC_ACT_SHOT;
	struct rp_event *ev = &sc->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	int act = rp_run(skb, hook, l3, ev);
	if (act == RP_ACT_PASS)
		return TC_ACT_OK;
	if (act == RP_ACT_REDIRECT)
		return TC_ACT_REDIRECT;
	/* A held SYN is taken (STOLEN: "sent" for the local stack), not shot:
	 * a shot one is a local transmit failure, which TCP retries every
	 * 0.5 s and gives up on after tcp_syn_retries + tcp_syn_linear_timeouts
	 * of them (ETIMEDOUT about 6 s into the question).  Taken, it is
	 * retransmitted as if the network had lost it (every second four
	 * times, then doubling: docs/ask.md "The hold"), and the connection
	 * waits for the answer (and a held datagram's sendto() does not fail
	 * with ENOBUFS). */
	if (act == RP_ACT_HOLD)
		return TC_ACT_STOLEN;
	if (act != RP_ACT_REJECT)
		return TC_ACT_SHOT;
	int err = rp_reject_tc_g(skb, &sc->pkt, l3 ? 0 : 14);
	rp_count_reject(ev, err);
	if (err)
		return TC_ACT_SHOT;
	skb->mark = RP_ANSWER_MARK;
	if (hook == RP_HOOK_TC_IN)
		return bpf_redirect(ifindex, 0);
	if (ev->reply_ifindex)
		return bpf_redirect(ev->reply_ifindex, 0);
	return bpf_redirect(ifindex, BPF_F_INGRESS);
}

RP_SKB_PROG("tc", rampart_tc_ingress, RP_MAP_FWD_TC_IN, rp_tc, RP_HOOK_TC_IN, 0)
RP_SKB_PROG("tc", rampart_tc_ingress_l3, RP_MAP_FWD_TC_IN_L3, rp_tc, RP_HOOK_TC_IN, 1)
RP_SKB_PROG("tc", rampart_tc_egress, RP_MAP_FWD_TC_OUT, rp_tc, RP_HOOK_TC_OUT, 0)
RP_SKB_PROG("tc", rampart_tc_egress_l3, RP_MAP_FWD_TC_OUT_L3, rp_tc, RP_HOOK_TC_OUT, 1)

/* ---------- the agent's answer (rampart ask) ---------- */

struct rp_release_ctx {
	__u64 qid;
	__u32 verdict;
	__u32 released;
};

static long rp_release_held(void *map, const struct ct_key *k, struct rp_ask_held *h, struct rp_release_ctx *c)
{
	if (h->qid == c->qid && h->verdict == RP_VERDICT_PENDING) {
		h->verdict = c->verdict;
		c->released++;
	}
	return 0;
}

/* Run by the agent (BPF_PROG_TEST_RUN, pinned as DIR/progs/ask-answer):
 * question a->key gets its answer, every flow it holds the verdict (their
 * next retransmission passes or is refused), and the log says so. */
SEC("syscall")
int rp_ask_answer(struct rp_ask_answer *a)
{
	struct rp_ask_key k;
	__u64 now = bpf_ktime_get_ns();
	__builtin_memcpy(&k, &a->key, sizeof(k));
	__u32 verdict = a->verdict, slot = RP_SLOT_NONE, gen = rp_gen;
	__u8 event = 0;
	if (verdict != VERDICT_ALLOW && verdict != VERDICT_REJECT)
		verdict = VERDICT_DENY;
	struct rp_config *cfg = rp_config_active(); /* run outside any hook: the generation in force */
	struct rp_ask_q *q = 0;
	/* an answer to a question that is no longer open (ask-timeout) is too late */
	int w = cfg ? rp_ask_where(cfg, &k, &q, now) : RP_ASKW_NONE;
	a->found = w == RP_ASKW_OPEN && q && q->id == a->id;
	if (a->found) {
		q->verdict = verdict;
		q->flags |= a->flags & (RP_ASKF_ALWAYS | RP_ASKF_TIMEOUT);
		q->answered_ns = now;
		q->state = RP_ASKQ_ANSWERED;
		slot = q->rule_slot;
		gen = q->gen;
		event = q->event;
	} else {
		/* Too late (an agent that ran late, a loaded machine): the
		 * question timed out, so its flows get what their next packet
		 * would get anyway (rp_ask_held_verdict: the timeout's verdict,
		 * ask-default).  Decided now, they go with the agent's sweep
		 * instead of waiting RP_ASK_HELD_TTL_NS for a packet. */
		verdict = w == RP_ASKW_ANSWERED && q && q->id == a->id ? q->verdict
			  : cfg					       ? cfg->ask_default
								       : VERDICT_DENY;
	}
	struct rp_release_ctx c = { .qid = a->id, .verdict = verdict };
	bpf_for_each_map_elem(&rp_ask_held, rp_release_held, &c, 0);
	if (!a->found)
		return 0;
	a->released = c.released;
	rp_count(a->flags & RP_ASKF_TIMEOUT ? RPC_ASK_TIMEOUT : RPC_ASK_ANSWERED);
	__u32 rel = RPC_ASK_RELEASED;
	__u64 *cnt = bpf_map_lookup_elem(&rp_counters, &rel);
	if (cnt)
		*cnt += c.released;
	rp_ask_log_answer(&k, a->id, slot, gen, event, verdict,
			  (a->flags & RP_ASKF_ALWAYS ? RP_LOGF_ALWAYS : 0) |
				  (a->flags & RP_ASKF_TIMEOUT ? RP_LOGF_TIMEOUT : 0),
			  now);
	return 0;
}

/* Run once by the loader after every apply (BPF_PROG_TEST_RUN, nothing
 * attached): the sweeper's timer runs this object's callback from now on,
 * which walks this object's tables (datapath_sweeper_start). */
SEC("tc")
int rampart_sweeper_start(struct __sk_buff *skb)
{
	rp_sweeper_arm(1);
	return TC_ACT_OK;
}
