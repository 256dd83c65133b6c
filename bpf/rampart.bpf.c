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

/* Per-CPU scratch space: the parsed packet and the classifier's input and
 * output.  The BPF stack (512 bytes for the whole call chain) is too small
 * to hold these too.  A program runs to completion on its CPU with bottom
 * halves disabled, so nothing else uses the slot meanwhile. */
struct rp_scratch {
	struct rp_pkt pkt;
	struct cls_fields f;
	struct cls_result r;
	struct ct_key k __attribute__((aligned(8))); /* the flow key (also the fragment key's buffer) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_scratch);
} RP_MAP_SCRATCH SEC(".maps");

enum rp_act { RP_ACT_PASS, RP_ACT_DROP, RP_ACT_REJECT, RP_ACT_JUDGE, RP_ACT_STRAY };

static __always_inline struct rp_config *rp_cfg(void)
{
	return rp_config_own();
}

/* ---------- conntrack sweeper ---------- */

static int rp_sweep(void *map, __u32 *key, struct rp_sweeper *sw)
{
	/* the sweeper outlives the program that armed it */
	struct rp_config *cfg = rp_config_active();
	__u64 now = bpf_ktime_get_coarse_ns();
	sw->clock_ns = now;
	if (cfg && now >= sw->next_sweep_ns) {
		struct rp_sweep_ctx c = { .cfg = cfg, .now = now };
		bpf_for_each_map_elem(&rp_conntrack, rp_sweep_elem, &c, 0);
		sw->runs++;
		sw->deleted += c.deleted;
		sw->next_sweep_ns = now + rp_sweep_interval(cfg);
		__u32 k = RPC_CT_EXPIRED;
		__u64 *cnt = bpf_map_lookup_elem(&rp_counters, &k);
		if (cnt)
			*cnt += c.deleted;
	}
	bpf_timer_start(&sw->timer, RP_CLOCK_TICK_NS, 0);
	return 0;
}

/* Armed by the first new flow after load; the timer lives in a pinned map,
 * so it keeps running without user space. */
static __always_inline void rp_sweeper_arm(const struct rp_config *cfg)
{
	__u32 zero = 0;
	struct rp_sweeper *sw = bpf_map_lookup_elem(&rp_sweeper, &zero);
	if (!sw || sw->armed)
		return;
	sw->armed = 1;
	sw->clock_ns = bpf_ktime_get_coarse_ns();
	sw->next_sweep_ns = sw->clock_ns + rp_sweep_interval(cfg);
	bpf_timer_init(&sw->timer, &rp_sweeper, RP_CLOCK_MONOTONIC);
	bpf_timer_set_callback(&sw->timer, rp_sweep);
	bpf_timer_start(&sw->timer, RP_CLOCK_TICK_NS, 0);
}

/* The fast path's clock: the sweeper's tick, or the real clock while no
 * timer runs (no flow was ever created, so nothing to compare with). */
static __always_inline __u64 rp_now(void)
{
	__u32 zero = 0;
	struct rp_sweeper *sw = bpf_map_lookup_elem(&rp_sweeper, &zero);
	if (sw && sw->clock_ns)
		return sw->clock_ns;
	return bpf_ktime_get_coarse_ns();
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
#define RP_PARSE_FUNCS(name, ctx_t, wire_len)                                                 \
	__noinline int rp_ext_##name(ctx_t *c, struct rp_pkt *p)                              \
	{                                                                                     \
		if (!c || !p)                                                                 \
			return RPC_DROP_TRUNC_L3;                                             \
		void *data = (void *)(long)c->data, *end = (void *)(long)c->data_end;         \
		for (int i = 0; i < RP_MAX_EXTHDR; i++) {                                     \
			if (!rp_ext_pending(p))                                               \
				break;                                                        \
			int r = rp_parse_ext(p, data, end);                                   \
			if (r != RP_PARSE_OK)                                                 \
				return r;                                                     \
		}                                                                             \
		if (rp_ext_pending(p))                                                        \
			return RPC_DROP_EXT_CHAIN;                                            \
		return rp_parse_l4(p, data, end);                                             \
	}                                                                                     \
	static __always_inline int rp_parse_##name(ctx_t *c, struct rp_pkt *p, __u16 l3proto) \
	{                                                                                     \
		void *data = (void *)(long)c->data, *end = (void *)(long)c->data_end;         \
		rp_pkt_reset(p);                                                              \
		int r = rp_parse_l3(p, data, end, (wire_len), l3proto);                       \
		if (r != RP_PARSE_OK)                                                         \
			return r;                                                             \
		if (rp_ext_pending(p))                                                        \
			return rp_ext_##name(c, p);                                           \
		return rp_parse_l4(p, data, end);                                             \
	}

/* XDP: a multi-buffer frame (xdp.frags, jumbo MTUs) is parsed from its
 * linear part; lengths are checked against the whole frame. */
RP_PARSE_FUNCS(xdp, struct xdp_md, (__u32)bpf_xdp_get_buff_len(c))
RP_PARSE_FUNCS(skb, struct __sk_buff, c->len)

/* Build the reject answer in place (bpf/reject.h): 0, or the counter that
 * says why not.  Global for the same reason as the parsers. */
__noinline int rp_reject_xdp_g(struct xdp_md *ctx, const struct rp_pkt *p)
{
	if (!ctx || !p)
		return RPC_DROP_REJECT_FAILED;
	return rp_reject_xdp(ctx, p);
}

__noinline int rp_reject_tc_g(struct __sk_buff *skb, const struct rp_pkt *p, __u32 l3off)
{
	if (!skb || !p)
		return RPC_DROP_REJECT_FAILED;
	return rp_reject_tc(skb, p, l3off);
}

/* ---------- interfaces ---------- */

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
	__u8 sk_ident;	    /* tc egress, a stale socket judgement: judged as sk_uid / sk_app */
	__u8 pad[3];
	__u32 sk_uid;
	__u32 sk_app;
	__u32 sk_cgroup;
	__u32 pad2;
};

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
static __always_inline int rp_track(struct rp_pkt *p, struct rp_config *cfg, __u64 now, struct ct_key *k, int *src_is_a,
				    int *ct_res)
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
	/* docs/cli.md: neighbour discovery is never broken; hop limit 255 proves
	 * it was not routed from elsewhere (RFC 4861). */
	if (p->proto == RP_IPPROTO_ICMPV6 && p->family == 6 && p->icmp_type >= 133 && p->icmp_type <= 137 &&
	    p->ttl == 255 && p->frag == RP_FRAG_NONE) {
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
	if (r == RP_CT_BAD_STATE) {
		rp_count(RPC_DROP_INVALID_STATE);
		return RP_ACT_DROP;
	}
	return RP_ACT_JUDGE;
}

/* ---------- judging a new flow ---------- */

static __always_inline void rp_log_rule(const struct rp_config *cfg, __u32 slot, __u8 verdict, __u8 flags,
					const struct rp_pkt *p, const struct rp_event *ev, __u64 now)
{
	struct rp_log_event *e = rp_log_begin(cfg, slot, now);
	if (!e)
		return;
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

/* Create the flow entry for an allowed new flow.  Returns 0, or -1 when
 * the table is full (the flow is then denied: never allowed untracked). */
static __always_inline int rp_ct_create(const struct rp_config *cfg, const struct rp_pkt *p, const struct ct_key *k,
					int src_is_a, const struct rp_event *ev, __u32 slot, __u64 now)
{
	struct ct_value v = {
		.last_seen_ns = now,
		.created_ns = now,
		.rule_slot = slot,
		.ifindex = ev->ifindex,
		.state = rp_ct_initial_state(p),
		.flags = (src_is_a ? CT_F_ORIG_IS_A : 0) | (ev->prejudged == RP_PRE_INGRESS ? CT_F_FORWARDED : 0),
		.dir = ev->dir,
		.event = ev->event,
		.family = p->family,
	};
	long err = bpf_map_update_elem(&rp_conntrack, k, &v, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU created it just now */) {
		rp_count(RPC_DROP_CT_FULL);
		return -1;
	}
	rp_sweeper_arm(cfg);
	return 0;
}

/* A flow of a socket judged under another generation or mode: judged
 * again as the caller that was judged then (its uid and executable, the
 * socket's cgroup), named as the policy in force numbers them. */
static __always_inline void rp_stale_fill(struct cls_fields *f, const struct rp_event *ev)
{
	rp_count(RPC_SOCK_REJUDGED);
	f->uid = ev->sk_uid;
	f->app = ev->sk_app;
	f->cgroup = ev->sk_cgroup;
	f->has_app = f->has_cgroup = f->has_user = 1;
}

/* The policy's verdict for a new flow (counted, logged; ask gets the
 * ask-default).  *slot gets the deciding rule.  Stray segments are only
 * classified: no counters, no log unless they are answered. */
static __always_inline __u32 rp_policy_verdict(const struct rp_config *cfg, struct rp_pkt *p, const struct rp_event *ev,
					       __u64 now, __u32 *slot)
{
	__u32 zero = 0;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	if (!sc)
		return VERDICT_DENY;
	rp_fill_fields(&sc->f, p, ev);
	if (ev->event == EVENT_ACCEPT || ev->event == EVENT_RECEIVE)
		rp_owner_fill(&sc->f); /* the listening socket's owner (bpf/sockid.h) */
	else if (ev->sk_ident)
		rp_stale_fill(&sc->f, ev);
	const struct cls_result *res = &sc->r;
	/* tables not (fully) written: deny by no rule, nothing recorded */
	rp_classify(&sc->f, &sc->r);
	__u32 verdict = res->verdict;
	*slot = res->slot;
	if (verdict == VERDICT_ASK)
		verdict = cfg->ask_default;
	if (ev->stray)
		return verdict;
	/* continue/jump rules that matched: counted, and logged (continue
	 * always, jump with `log`) */
	__u32 nrec = res->nrecords;
	for (__u32 i = 0; i < CLS_MAX_RECORDS; i++) {
		if (i >= nrec)
			break;
		__u32 rs = res->records[i].slot;
		rp_rule_hit(rs, ev->bytes);
		if (res->records[i].log)
			rp_log_rule(cfg, rs, res->records[i].verdict, RP_LOGF_RECORD, p, ev, now);
	}
	rp_rule_hit(*slot, ev->bytes);
	if (res->verdict == VERDICT_ASK)
		rp_count(RPC_NEW_ASK);
	if (res->log)
		rp_log_rule(cfg, *slot, verdict, res->verdict == VERDICT_ASK ? RP_LOGF_ASK : 0, p, ev, now);
	return verdict;
}

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
	if (ev->prejudged) {
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
	}

	if (verdict == VERDICT_ALLOW) {
		if (ct_res != RP_CT_STATELESS && rp_ct_create(cfg, p, k, src_is_a, ev, slot, now))
			return RP_ACT_DROP;
		if (p->frag == RP_FRAG_FIRST) {
			struct ct_key fk;
			rp_frag_remember(p, now, &fk);
		}
		if (!ev->prejudged)
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
	f.ifindex = ifindex;
	f.l4_protocol = p->proto;
	f.sport = p->sport;
	f.dport = p->dport;
	if (p->family == 4) {
		f.family = 2; /* AF_INET */
		f.ipv4_src = p->saddr[3];
		f.ipv4_dst = p->daddr[3];
	} else {
		f.family = 10; /* AF_INET6 */
		__builtin_memcpy(f.ipv6_src, p->saddr, 16);
		__builtin_memcpy(f.ipv6_dst, p->daddr, 16);
	}
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

/* ---------- egress: event type and direction ---------- */

/* The nearest cgroup the policy names among the sending socket's cgroup
 * and its ancestors (as the socket hooks find it for the caller). */
static __always_inline __u32 rp_skb_cgroup_value(struct __sk_buff *skb)
{
	for (int l = RP_CG_MAX_LEVEL; l >= 0; l--) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, l);
		if (!id)
			continue;
		__u32 *v = bpf_map_lookup_elem(&rp_cgroups, &id);
		if (v)
			return *v;
	}
	return 0;
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
	struct rp_config *cfg = rp_cfg();
	if (!skb || !p || !ev || !cfg)
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
		int j = rp_sk_judged(skb, cfg->mode, &ev->sk_slot, &ev->sk_uid, &ev->sk_app);
		if (j == RP_SK_PREJUDGED)
			ev->prejudged = RP_PRE_SOCKET;
		else if (j == RP_SK_STALE) {
			ev->sk_ident = 1;
			ev->sk_cgroup = rp_skb_cgroup_value(skb);
		}
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

enum rp_hook { RP_HOOK_XDP, RP_HOOK_TC_IN, RP_HOOK_TC_OUT };

/* A reject answer this datapath built and sent back through more of its
 * hooks (RP_ANSWER_MARK): the bridge's egress, then the port's. */
static __always_inline int rp_own_answer(struct __sk_buff *skb, const struct rp_pkt *p)
{
	if (skb->mark != RP_ANSWER_MARK)
		return 0;
	return (p->proto == RP_IPPROTO_TCP && (p->tcp_flags & RP_TCP_RST)) || p->icmp_err != RP_ICMPERR_NO;
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
	__u64 now = rp_now();
	struct ct_key *k = &sc->k;
	int src_is_a = 0, ct_res = 0;
	int act = RP_ACT_STRAY;
	if (!stray_reason)
		act = rp_track(p, cfg, now, k, &src_is_a, &ct_res);
	if (act == RP_ACT_STRAY) {
		ev->stray = 1;
		ev->stray_reason = stray_reason ? stray_reason : RPC_DROP_INVALID;
	} else if (act != RP_ACT_JUDGE) {
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
	return rp_judge(p, k, ev);
}

/* A reject's answer was built (err 0) or not: count which. */
static __always_inline void rp_count_reject(const struct rp_event *ev, int err)
{
	rp_count(err ? err : ev->stray ? RPC_REJECT_STRAY : RPC_NEW_REJECT);
}

/* ---------- the programs ---------- */

SEC("xdp.frags")
int rampart_xdp(struct xdp_md *ctx)
{
	struct rp_event ev = {};
	int act = rp_run(ctx, RP_HOOK_XDP, 0, &ev);
	if (act == RP_ACT_PASS)
		return XDP_PASS;
	if (act == RP_ACT_REJECT) {
		__u32 zero = 0;
		struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
		int err = sc ? rp_reject_xdp_g(ctx, &sc->pkt) : RPC_DROP_REJECT_FAILED;
		rp_count_reject(&ev, err);
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
	struct rp_event ev = {};
	int act = rp_run(skb, hook, l3, &ev);
	if (act == RP_ACT_PASS)
		return TC_ACT_OK;
	if (act != RP_ACT_REJECT)
		return TC_ACT_SHOT;
	__u32 zero = 0, ifindex = skb->ifindex;
	struct rp_scratch *sc = bpf_map_lookup_elem(&rp_scratch, &zero);
	int err = sc ? rp_reject_tc_g(skb, &sc->pkt, l3 ? 0 : 14) : RPC_DROP_REJECT_FAILED;
	rp_count_reject(&ev, err);
	if (err)
		return TC_ACT_SHOT;
	skb->mark = RP_ANSWER_MARK;
	if (hook == RP_HOOK_TC_IN)
		return bpf_redirect(ifindex, 0);
	if (ev.reply_ifindex)
		return bpf_redirect(ev.reply_ifindex, 0);
	return bpf_redirect(ifindex, BPF_F_INGRESS);
}

SEC("tc")
int rampart_tc_ingress(struct __sk_buff *skb)
{
	return rp_tc(skb, RP_HOOK_TC_IN, 0);
}

SEC("tc")
int rampart_tc_ingress_l3(struct __sk_buff *skb)
{
	return rp_tc(skb, RP_HOOK_TC_IN, 1);
}

SEC("tc")
int rampart_tc_egress(struct __sk_buff *skb)
{
	return rp_tc(skb, RP_HOOK_TC_OUT, 0);
}

SEC("tc")
int rampart_tc_egress_l3(struct __sk_buff *skb)
{
	return rp_tc(skb, RP_HOOK_TC_OUT, 1);
}
