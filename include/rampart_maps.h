/* The contract between the BPF datapath (bpf/rampart.bpf.c) and user space
 * for everything except the classifier (include/rampart_classifier.h):
 * conntrack, configuration, counters, log events, rule metadata and policy
 * info.  Fixed-size types only, no pointers, explicit padding, so that the
 * same bytes mean the same thing on both sides and in pinned maps that
 * outlive the program that created them.
 *
 * Map names: include/rampart_names.h (pinned under DIR/maps by those names).
 */
#ifndef RAMPART_MAPS_H
#define RAMPART_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "rampart_names.h"

/* Bump when a layout below changes: a loader refuses to reuse pinned maps
 * written by another layout version (see struct rp_policy_info). */
#define RP_ABI_VERSION 6

/* ---------- modes (docs/operations.md) ---------- */

enum rp_mode {
	RP_MODE_ENFORCING = 0, /* the policy judges new flows */
	RP_MODE_OPEN = 1,      /* permit everything (rampart stop, boot timeout) */
	RP_MODE_LOCKDOWN = 2,  /* block everything in and out (rampart shutdown) */
	RP_MODE_BOOT = 3,      /* outbound flows and their replies allowed, new inbound blocked */
	RP_MODE_COUNT
};

/* Why the mode last changed (rp_config.mode_reason), shown by `status`. */
enum rp_mode_reason {
	RP_REASON_NONE = 0,
	RP_REASON_BOOT,		/* rampart boot */
	RP_REASON_BOOT_TIMEOUT, /* the kernel opened by itself: no policy within the boot timeout */
	RP_REASON_APPLY,	/* rampart apply */
	RP_REASON_STOP,		/* rampart stop */
	RP_REASON_SHUTDOWN,	/* rampart shutdown */
	RP_REASON_DAEMON,	/* rampart daemon (start or reload) */
	RP_REASON_COUNT
};

/* ---------- conntrack ---------- */

/* TCP states and the pseudo-states of the other protocols.  The value is
 * the index into rp_config.timeout_ns. */
enum rp_ct_state {
	CT_NONE = 0,
	CT_TCP_SYN_SENT,    /* originator sent SYN */
	CT_TCP_SYN_RECV,    /* responder answered SYN-ACK (or simultaneous open) */
	CT_TCP_ESTABLISHED, /* originator ACKed the SYN-ACK */
	CT_TCP_FIN_WAIT,    /* one side sent FIN */
	CT_TCP_CLOSING,	    /* both sides sent FIN, last ACK pending */
	CT_TCP_TIME_WAIT,   /* both FINs acknowledged */
	CT_TCP_CLOSED,	    /* RST seen */
	CT_UDP,		    /* UDP (and SCTP/UDPLite/other IP protocols) pseudo-flow */
	CT_ICMP,	    /* ICMP/ICMPv6 echo pseudo-flow */
	CT_STATE_COUNT
};

/* Canonical key: the two endpoints ordered (smaller first by a fixed total
 * order on (address, port)), so that both directions of a flow and both
 * hooks (XDP ingress, tc egress) find the same entry.  Addresses are
 * 16 bytes in network order, IPv4 as ::ffff:a.b.c.d.  Ports in network
 * order; for ICMP echo both ports hold the echo identifier; for protocols
 * without ports both are 0. */
struct ct_key {
	__u32 addr_a[4];
	__u32 addr_b[4];
	__u16 port_a;
	__u16 port_b;
	__u8 proto;
	__u8 pad[3];
};

/* ct_value.flags */
#define CT_F_ORIG_IS_A 0x01 /* endpoint a started the flow */
#define CT_F_REPLIED   0x02 /* a packet from the responder was seen */
#define CT_F_FIN_ORIG  0x04 /* originator sent FIN */
#define CT_F_FIN_REPLY 0x08 /* responder sent FIN */
/* a forwarded flow judged as it arrived (ifindex), tracked as it left:
 * its tuple after NAT (no rule of its own) */
#define CT_F_FORWARDED 0x10
#define CT_F_NO_ROOM   0x20 /* earned rp_conntrack but found it full (counted once) */
/* rp_ct_new only: copied to rp_conntrack, where the flow lives now.  The
 * copy left behind goes at the sweeper's next walk, not at once: a program
 * on another CPU may hold it, and a deleted entry's memory is reused by
 * the next new flow at once (the two flows' numbers would mix). */
#define CT_F_MOVED     0x40

/* ct_tcp_peer.flags */
#define CT_TP_SEEN   0x01 /* this endpoint sent a segment: the fields below are set */
#define CT_TP_WSCALE 0x02 /* it announced window scaling in its SYN */
#define CT_TP_MAXACK 0x04 /* maxack is set */

/* What a TCP flow's endpoint has shown on the wire, for the window checks
 * of bpf/conntrack.h (after netfilter's struct ip_ct_tcp_state).  Sequence
 * numbers in host order, compared modulo 2^32. */
struct ct_tcp_peer {
	__u32 end;    /* sequence number after the last byte it sent (its next seq) */
	__u32 maxend; /* highest sequence number it may send: the other side's ack + window */
	__u32 maxwin; /* largest window it advertised, scaled */
	__u32 maxack; /* highest ack it sent: what it has received */
	__u8 wscale;  /* its window scale (0 unless both sides announced scaling) */
	__u8 flags;   /* CT_TP_* */
	__u16 pad;
};

/* A flow.  Flows that have not yet shown they are wanted (TCP before the
 * handshake completed, UDP and others before a reply and 2 s of life) are
 * kept in rp_ct_new (LRU: a flood of them only ever evicts its own kind);
 * the others in rp_conntrack.  Both maps have this layout. */
struct ct_value {
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(); refreshed when it moved >= 1 s */
	__u64 created_ns;   /* bpf_ktime_get_ns(): also which flow of this key it is */
	__u32 rule_slot;    /* the rule that allowed the flow (RP_SLOT_NONE: implicit/mode) */
	__u32 ifindex;	    /* where the first packet was seen */
	__u8 state;	    /* enum rp_ct_state */
	__u8 flags;	    /* CT_F_* */
	__u8 dir;	    /* enum direction of the judged event */
	__u8 event;	    /* enum event_type of the judged event */
	__u8 family;	    /* 4 or 6 */
	__u8 fast_gen;	    /* fast path: generation and directions confirmed (bpf/fastpath.h; 0: not) */
	/* the low 16 bits of the generation that judged the flow (rp_gen):
	 * rule_slot is a slot of its rules.  Enough to tell the policy in
	 * force, the one before (DIR/maps/prev-rp_rules) and older ones;
	 * 0 from a rampart that did not record it (generations start at 1). */
	__u16 rule_gen;
	struct ct_tcp_peer tcp[2]; /* TCP: endpoint a of the key, endpoint b */
};

/* A flow moves from rp_ct_new to rp_conntrack when TCP reaches
 * established, or when any other flow has seen its reply and is this old
 * (netfilter's "assured" UDP stream). */
#define RP_CT_ASSURE_NS (2 * 1000000000ull)

/* While rp_ct_new is at least half full (the sweeper checks), entries in
 * it expire after this much idle time at most, and the sweeper walks
 * every RP_CT_PRESSURE_SWEEP_NS (pf's adaptive timeouts, in one step). */
#define RP_CT_PRESSURE_TIMEOUT_NS (5 * 1000000000ull)
#define RP_CT_PRESSURE_SWEEP_NS	  (1000000000ull)

/* Map rp_ct_gen: ARRAY of RP_CT_GEN_SLOTS __u32 generation counters in
 * front of which the datapath caches established flows per CPU
 * (bpf/flowcache.h).  Whoever deletes an rp_conntrack entry or changes
 * its state, user space included, must then increment the counters
 * (all of them, from user space: datapath_flow_cache_invalidate()), or a
 * CPU may keep passing that flow's packets for up to a second. */
#define RP_CT_GEN_SLOTS 4096

/* Map rp_flow_cache: PERCPU_ARRAY of RP_FC_SLOTS entries (struct
 * rp_fc_entry, bpf/flowcache.h), a state map: an apply shares it, so what
 * a CPU's cache passed of a flow and the conntrack entry has not yet
 * folded in survives the apply. */
#define RP_FC_BITS  12
#define RP_FC_SLOTS (1u << RP_FC_BITS)

/* The hash of a canonical flow key (struct ct_key, 8-byte aligned, read as
 * five 64-bit words): its high RP_FC_BITS bits pick the flow-cache slot,
 * its low bits the rp_ct_gen counter.  A multiplicative hash: the five
 * products are independent, so they run in parallel. */
typedef __u64 __attribute__((may_alias)) rp_flow_word;

static inline __attribute__((always_inline)) __u32 rp_flow_hash(const struct ct_key *k)
{
	const rp_flow_word *w = (const rp_flow_word *)k;
	__u64 x = w[0] * 0x9e3779b97f4a7c15ull + w[1] * 0xc2b2ae3d27d4eb4full + w[2] * 0x165667b19e3779f9ull +
		  w[3] * 0x85ebca77c2b2ae63ull + w[4] * 0x27d4eb2f165667c5ull;
	return (__u32)(x >> 32) ^ (__u32)x;
}

static inline __attribute__((always_inline)) __u32 rp_flow_cache_slot(__u32 h)
{
	return h >> (32 - RP_FC_BITS);
}

/* skb->mark of a reject answer built by a tc program on its way back: it
 * crosses more rampart hooks (out of the interface it came in on and, on a
 * bridge, out of the port; or into the local stack), which let it pass.
 * Only a TCP RST or an ICMP error carrying it is let through; the mark goes
 * when the packet leaves the network namespace. */
#define RP_ANSWER_MARK 0x52505254u /* "RPRT" */

/* ---------- generations: the configuration switches with the programs ----------
 *
 * Every apply numbers its objects with a generation (rp_config.generation,
 * compiled into each object as the read-only rp_gen).  rp_config has one
 * entry per generation parity: a program reads the entry of its own
 * generation, so the configuration (WAN, timeouts, ask-default, mode)
 * changes on a hook exactly when that hook's program does, and an apply
 * that dies half way leaves each hook with its program's own
 * configuration.  Map rp_active (ARRAY, one entry, kept across applies)
 * says which generation the last complete apply switched in: user space
 * reads and changes the configuration there, timers follow it.  Mode
 * changes (stop, shutdown, the boot timer) write both entries. */
struct rp_active {
	__u32 gen; /* the generation in force (0: none switched yet) */
	__u32 pad;
};

#define RP_CONFIG_SLOTS	    2
#define RP_CONFIG_SLOT(gen) ((gen)&1u)

/* ---------- configuration (map rp_config, RP_CONFIG_SLOTS entries) ---------- */

#define RP_CFG_F_HAVE_WAN 0x01 /* gateway mode: wan_ifindex is valid */
#define RP_CFG_F_JUDGE_UNATTACHED \
	0x04		      /* every interface is covered: SK_LOOKUP judges arrivals on one not attached yet */
#define RP_CFG_F_REJECTS 0x02 /* the policy can reject: a TCP segment of no flow is judged to answer it */
#define RP_CFG_F_FTP	 0x08 /* option ftp-helper on: the FTP helper reads control connections (bpf/ftp.h) */

/* option ftp-ports: at most this many ports or ranges */
#define RP_FTP_PORT_RANGES 8
#define RP_CFG_F_FAST_PATH 0x10 /* option fast-path on: confirmed forwarded flows leave from tc ingress */

struct rp_config {
	__u32 mode;			  /* enum rp_mode */
	__u32 ask_default;		  /* enum verdict applied to `ask` until an agent exists */
	__u32 log_rate;			  /* log events per second per rule and CPU (0: logging off) */
	__u32 log_burst;		  /* bucket size (0: same as log_rate) */
	__u32 wan_ifindex;		  /* with RP_CFG_F_HAVE_WAN */
	__u32 flags;			  /* RP_CFG_F_* */
	__u64 timeout_ns[CT_STATE_COUNT]; /* idle timeout per conntrack state */
	__u64 sweep_interval_ns;	  /* conntrack sweeper period (0: 5 s) */
	__u64 boot_deadline_ns;		  /* RP_MODE_BOOT: bpf_ktime_get_ns() when boot ends (0: never) */
	__u32 boot_fail_closed;		  /* after the deadline: 0 -> open, 1 -> keep blocking inbound */
	__u32 generation;		  /* bumped by every apply (informational) */
	/* when and why the mode last changed: CLOCK_BOOTTIME ns (BPF can read
	 * it: bpf_ktime_get_boot_ns(); `status` converts it to wall time) and
	 * enum rp_mode_reason.  Written by whoever writes mode. */
	__u64 mode_changed_ns;
	__u32 mode_reason;
	__u32 ask_timeout_s; /* option ask-timeout (0: RP_ASK_TIMEOUT_DEFAULT_S) */
	/* the FTP helper (with RP_CFG_F_FTP; docs/datapath.md, "Protocol
	 * helpers"): the control connections' server ports as ranges (host
	 * order), their bounds (a cheap first test), how long an announced
	 * data connection is expected, and the rule slot its decisions are
	 * counted and logged in (nrules + ntables: after the table defaults) */
	__u16 ftp_port_lo[RP_FTP_PORT_RANGES];
	__u16 ftp_port_hi[RP_FTP_PORT_RANGES];
	__u16 ftp_port_min;
	__u16 ftp_port_max;
	__u32 ftp_nranges;
	__u64 ftp_timeout_ns;
	__u32 helper_slot;
	__u32 reject_rate; /* reject answers per second per CPU, burst the same (0: never answer) */
};

/* Default timeouts (seconds) for the states that have no option. */
#define RP_TO_SYN_SENT	120
#define RP_TO_SYN_RECV	60
#define RP_TO_FIN_WAIT	120
#define RP_TO_CLOSING	60
#define RP_TO_TIME_WAIT 120
#define RP_TO_CLOSED	10

/* ---------- interfaces (map rp_ifaces: HASH rp_iface_key -> rp_iface) ---------- */

/* A device, or a VLAN of it: frames seen on ifindex with outer tag vid
 * (0: untagged) belong to this logical interface. */
struct rp_iface_key {
	__u32 ifindex;
	__u16 vid;
	__u16 pad;
};

/* rp_iface.flags */
#define RP_IFF_JUDGES	 0x01 /* rampart's ingress program judges new flows arriving here */
#define RP_IFF_ELSEWHERE 0x02 /* frames of this VLAN are judged by the VLAN device's own programs: pass */

/* The logical interface a frame belongs to: the device itself, the bridge
 * of a bridge port that the policy does not name, the VLAN device of a
 * tagged frame (docs/datapath.md, "Which program runs where").  Absent:
 * the device itself, not named by the policy, no flags. */
struct rp_iface {
	__u32 id;      /* the policy's interface id of the logical interface (0: not named) */
	__u32 ifindex; /* the logical interface: direction (wan) and conntrack use it */
	__u32 flags;   /* RP_IFF_* */
	__u32 pad;
};

/* Map rp_ifsel: ARRAY, one entry, written by apply, read by user space
 * only: which interfaces the loaded policy covers, so that an interface
 * that appears later (rampart daemon follows rtnetlink) or a later apply
 * without --iface is judged the same way, and `status` can say what is
 * not protected.  Names are NUL-padded. */
#define RP_IFSEL_MAX  64
#define RP_IFNAME_LEN 16
struct rp_ifsel {
	__u32 all;	    /* no --iface: every interface but lo, also ones that appear later */
	__u32 npatterns;    /* --iface names and patterns (fnmatch) */
	__u32 nnames;	    /* the policy's interface names and patterns: ids by policy_iface_id() */
	__u32 ingress_hook; /* option ingress-hook */
	char wan[RP_IFNAME_LEN];
	char patterns[RP_IFSEL_MAX][RP_IFNAME_LEN];
	char names[RP_IFSEL_MAX][RP_IFNAME_LEN];
};

/* ---------- per-rule records ---------- */

/* Rules are identified in counters, metadata, log events and conntrack by a
 * slot: policy rule id r -> slot r; the default of table t -> slot
 * nrules + t.  RP_SLOT_NONE marks "no rule" (implicit rules, modes). */
#define RP_SLOT_NONE   0xffffffffu
/* rp_rule_meta.rule_id of the protocol helper's slot (rp_config.helper_slot,
 * right after the table defaults): its packets are the data connections
 * it admitted, its log events its decisions. */
#define RP_RULE_HELPER 0xfffffffeu

/* Map rp_rule_stats: PERCPU_ARRAY slot -> rp_rule_stats. */
struct rp_rule_stats {
	__u64 packets; /* new flows / packets judged by this rule */
	__u64 bytes;
	__u64 logged;	   /* log events emitted */
	__u64 log_dropped; /* log events suppressed by the rate limit or a full ring */
};

/* A token bucket, one per CPU (map rp_log_bucket: PERCPU_ARRAY slot ->
 * bucket, log-rate per rule; rp_reject_bucket: PERCPU_ARRAY 0 -> bucket,
 * reject-rate).  Per CPU: no shared cache line, and one clock per bucket
 * (bpf/log.h, rp_bucket_take). */
struct rp_rate_bucket {
	__u64 last_ns;	    /* last refill, bpf_ktime_get_ns() */
	__u64 tokens_milli; /* tokens * 1000 */
	__u64 missed;	    /* log: suppressed on this CPU since its last event (reported in the next) */
};

#define RP_FILE_LEN  128
#define RP_TABLE_LEN 64
#define RP_TEXT_LEN  256

/* Map rp_rules: ARRAY slot -> metadata, written by the loader so that
 * `rampart rules/status/log` work from the pins alone. */
struct rp_rule_meta {
	char file[RP_FILE_LEN]; /* source file ("" for an implicit table default) */
	char table[RP_TABLE_LEN];
	char text[RP_TEXT_LEN]; /* the rule as written, or "default VERDICT" */
	__u32 line;		/* 0 for a table default */
	__u32 verdict;		/* enum verdict */
	__u32 table_idx;
	__u32 rule_id; /* policy rule id, RP_SLOT_NONE for a default */
	__u32 log;     /* 1 when the rule has `log` */
	__u32 valid;   /* 1 when the slot is in use */
};

/* Map rp_policy_info: ARRAY, one entry. */
struct rp_policy_info {
	char path[256];
	__u8 sha256[32];
	__u64 load_time_ns; /* CLOCK_REALTIME of the apply */
	__u32 nrules;
	__u32 ntables;
	__u32 nslots;	   /* nrules + ntables */
	__u32 abi_version; /* RP_ABI_VERSION */
	__u32 generation;
	__u32 pad;
	/* host names of the policy that did not resolve (they match nothing
	 * until they do; `rampart daemon` retries), separated by spaces */
	char unresolved[256];
};

/* ---------- global counters (map rp_counters: PERCPU_ARRAY) ---------- */

enum rp_counter {
	/* passes */
	RPC_PASS_FLOW = 0,    /* packet of a tracked flow */
	RPC_PASS_RELATED,     /* ICMP error matching a tracked flow */
	RPC_PASS_NONIP,	      /* not IPv4/IPv6 (ARP, LLDP, ...) */
	RPC_PASS_IMPLICIT_ND, /* ICMPv6 neighbour discovery, hop limit 255 */
	RPC_PASS_MODE_OPEN,   /* mode open */
	RPC_PASS_FRAG,	      /* non-first fragment of an allowed first fragment */
	RPC_NEW_ALLOW,	      /* new flow allowed by the policy */
	RPC_NEW_DENY,	      /* new flow denied */
	RPC_NEW_REJECT,	      /* new flow rejected (answer built and sent) */
	RPC_NEW_ASK,	      /* new flow reached `ask` (ask-default applied) */
	RPC_NEW_BOOT_OUT,     /* boot mode: outbound flow allowed */
	/* drops: malformed / evasive */
	RPC_DROP_TRUNC_L2,     /* Ethernet/VLAN header cut short */
	RPC_DROP_VLAN_DEPTH,   /* more than RP_MAX_VLAN tags */
	RPC_DROP_TRUNC_L3,     /* IPv4/IPv6 header cut short */
	RPC_DROP_BAD_VERSION,  /* IP version does not match the ethertype */
	RPC_DROP_BAD_IHL,      /* IPv4 IHL < 5 */
	RPC_DROP_BAD_LEN,      /* IP total/payload length smaller than the header or larger than the frame */
	RPC_DROP_EXT_CHAIN,    /* IPv6 extension chain longer than RP_MAX_EXTHDR */
	RPC_DROP_TRUNC_L4,     /* TCP/UDP/ICMP header cut short */
	RPC_DROP_TCP_DOFF,     /* TCP data offset < 5 */
	RPC_DROP_TCP_FLAGS,    /* impossible TCP flag set */
	RPC_DROP_UDP_LEN,      /* UDP length field inconsistent */
	RPC_DROP_FRAG_TINY,    /* first fragment without the whole transport header */
	RPC_DROP_FRAG_OVERLAP, /* non-first fragment overlapping the transport header */
	RPC_DROP_FRAG_ORPHAN,  /* non-first fragment of no allowed first fragment */
	/* drops: state */
	RPC_DROP_INVALID,	 /* cannot start a flow and belongs to none */
	RPC_DROP_INVALID_STATE,	 /* impossible in the flow's TCP state */
	RPC_DROP_ICMP_UNRELATED, /* ICMP error whose inner header matches no flow */
	RPC_DROP_CT_FULL,	 /* new allowed flow but no entry could be made for it */
	RPC_DROP_MODE_LOCKDOWN,	 /* mode lockdown */
	RPC_DROP_BOOT_IN,	 /* boot mode: new inbound flow */
	RPC_DROP_REJECT_FAILED,	 /* reject could not build or send the answer: dropped */
	/* logging */
	RPC_LOG_RATE_LIMITED, /* log events suppressed by the per-rule rate limit */
	RPC_LOG_RING_FULL,    /* log events lost because the ring buffer was full */
	RPC_LOG_SENT,
	/* conntrack housekeeping */
	RPC_CT_EXPIRED, /* entries removed because they timed out */
	/* boot protection */
	RPC_PASS_BOOT_DHCP, /* boot mode: inbound DHCP/DHCPv6 reply to a client (not tracked) */
	/* socket hooks (bpf/sock.bpf.c) */
	RPC_SOCK_ALLOW,	     /* socket event allowed */
	RPC_SOCK_DENY,	     /* socket event denied (EPERM) */
	RPC_SOCK_REJECT,     /* socket event rejected (ECONNREFUSED) */
	RPC_NEW_SOCK_JUDGED, /* new outbound flow of a socket already allowed at connect/sendto: not judged again */
	/* devices and forwarding (docs/datapath.md, "Which program runs where") */
	RPC_NEW_FORWARDED,	     /* forwarded flow judged at its ingress interface, tracked as it leaves (NAT) */
	RPC_PASS_VLAN_ELSEWHERE,     /* tagged frame of a VLAN device that has its own programs */
	RPC_REJECT_STRAY,	     /* TCP segment of no flow to a rejected port: answered with RST */
	RPC_DROP_REJECT_NOT_UNICAST, /* reject not answered: broadcast/multicast destination or source */
	RPC_PASS_ANSWER,	     /* rampart's own reject answer crossing its next hook (RP_ANSWER_MARK) */
	/* interfaces not (yet) attached: the network namespace's SK_LOOKUP hook (bpf/boot.bpf.c) */
	RPC_NETNS_ALLOW, /* a new connection to a local socket on an unattached interface, allowed */
	RPC_NETNS_DENY,	 /* ... refused (deny and reject alike: the kernel answers RST / port unreachable) */
	/* socket identity under attack (docs/sockets.md) */
	RPC_SOCK_REJUDGED, /* new flow of a socket allowed under another generation or mode: judged again */
	/* the FTP helper (bpf/ftp.h) */
	RPC_NEW_FTP_DATA,     /* new flow admitted by an FTP expectation (RELATED to its control flow) */
	RPC_FTP_EXPECT,	      /* expectation created (or renewed) from PORT/EPRT/227/229 */
	RPC_FTP_EXPIRED,      /* expectation removed unused after ftp-timeout */
	RPC_FTP_REPLACED,     /* expectation removed for a newer one: RP_FTP_MAX_EXPECT per control flow */
	RPC_FTP_REFUSED_ADDR, /* announced address is not the control connection's peer (bounce, third party) */
	RPC_FTP_REFUSED_PORT, /* announced port below 1024 */
	RPC_FTP_BAD_COMMAND,  /* PORT/EPRT/227/229 line that does not parse */
	RPC_FTP_TABLE_FULL,   /* no room for the control flow's state or the expectation */
	RPC_FTP_RESYNC,	      /* control stream picked up mid-line (a gap, or seen first mid-stream) */
	RPC_FTP_WRONG_SOURCE, /* SYN to an expected address and port from a host the expectation does not name */
	/* learning mode (bpf/ask.h, docs/ask.md) */
	RPC_ASK_QUESTION,     /* questions raised (sent to the agent) */
	RPC_ASK_FOLDED,	      /* events folded into an open question of theirs */
	RPC_ASK_HELD,	      /* packets dropped or calls held while their question was open */
	RPC_ASK_NO_AGENT,     /* ask-default applied at once: no agent connected */
	RPC_ASK_RATE_LIMITED, /* ask-default applied at once: too many new questions */
	RPC_ASK_FULL,	      /* ask-default applied at once: question table or ring full */
	RPC_ASK_TIMEOUT,      /* questions not answered within ask-timeout (ask-default) */
	RPC_ASK_ANSWERED,     /* answers given */
	RPC_ASK_RELEASED,     /* held flows given their answer */
	/* the gateway fast path (bpf/fastpath.h, docs/gateway.md) */
	RPC_FAST_FORWARD,	 /* packet of a confirmed forwarded flow sent out by tc ingress, past the stack */
	RPC_FAST_FALLBACK_MTU,	 /* ... too big for the way out: left to the stack (fragments, ICMP too big) */
	RPC_FAST_FALLBACK_NEIGH, /* ... next hop not resolved: left to the stack (it resolves it) */
	RPC_DROP_REJECT_RATE,	 /* reject not answered: over reject-rate on this CPU (dropped) */
	/* state under attack (docs/datapath.md, "Under attack") */
	RPC_DROP_TCP_WINDOW,	  /* TCP segment outside the window: dropped, state unchanged */
	RPC_PASS_TCP_RST_IGNORED, /* RST in the window but not at the expected sequence number: passed, unchanged */
	RPC_PASS_TCP_SYN_IGNORED, /* SYN on a synchronized connection: passed (the endpoint answers), unchanged */
	RPC_CT_PRESSURE,	  /* sweeps that found the half-open table at least half full (short timeouts) */
	RPC_CT_ESTABLISHED_FULL,  /* established flow that found rp_conntrack full: it stays in rp_ct_new */
	/* identities under attack (docs/sockets.md) */
	RPC_OWNER_TAKEOVER,  /* bind by another uid to an owned port: the first owner's record stays */
	RPC_OWNER_FULL,	     /* bind with rp_listeners full: no record, its port judged as of an unknown owner */
	RPC_LISTEN_AUTOBIND, /* listen() without bind(): judged at listen (sock_ops) */
	RPC_COUNTER_COUNT
};

/* ---------- log events (ring buffer rp_log) ---------- */

enum rp_log_kind {
	RP_LOG_RULE = 0,     /* a rule marked `log` decided, or a continue/jump rule matched */
	RP_LOG_HELPER = 1,   /* a protocol helper's decision (rp_log_event.helper says which) */
	RP_LOG_QUESTION = 2, /* an event reached `ask` and the agent was asked (ask_id) */
	RP_LOG_ANSWER = 3,   /* question ask_id was answered (verdict; RP_LOGF_ALWAYS, RP_LOGF_TIMEOUT) */
};

/* rp_log_event.helper: what the FTP helper did.  Expectations are logged
 * as the data connection they expect: source (port 0: any) -> destination. */
enum rp_helper_event {
	RP_HELPER_NONE = 0,
	RP_HELPER_FTP_EXPECT,	    /* expectation created: allow */
	RP_HELPER_FTP_DATA,	    /* the data connection came and was admitted: allow */
	RP_HELPER_FTP_REFUSED_ADDR, /* announced address is not the peer: deny */
	RP_HELPER_FTP_REFUSED_PORT, /* announced port below 1024: deny */
	RP_HELPER_COUNT
};

#define RP_LOGF_EGRESS	0x01 /* seen at tc egress (else XDP ingress) */
#define RP_LOGF_RECORD	0x02 /* a continue/jump rule (did not decide) */
#define RP_LOGF_ASK	0x04 /* the rule said ask; verdict is the ask-default applied */
#define RP_LOGF_SOCKET	0x08 /* judged by a socket hook (app, cgroup_id, uid, pid are set) */
#define RP_LOGF_OWNER	0x10 /* accept/receive: app, cgroup_id, uid, pid of the local socket's owner */
#define RP_LOGF_ALWAYS	0x20 /* RP_LOG_ANSWER: answered for good (a rule is learned) */
#define RP_LOGF_TIMEOUT 0x40 /* RP_LOG_ANSWER: nobody answered within ask-timeout */

struct rp_log_event {
	__u64 time_ns;	 /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 rule_slot; /* see RP_SLOT_NONE */
	__u32 ifindex;
	__u32 iface_id;
	__u32 missed; /* events of this rule suppressed since the last one sent */
	__u8 kind;    /* enum rp_log_kind */
	__u8 verdict; /* enum verdict: the rule's verdict (applied verdict for ask) */
	__u8 event;   /* enum event_type */
	__u8 dir;     /* enum direction */
	__u8 family;  /* 4 or 6 */
	__u8 proto;
	__u8 icmp_type; /* ICMP/ICMPv6 only */
	__u8 icmp_code;
	__u16 lport; /* host order; tcp/udp only */
	__u16 rport;
	__u8 flags; /* RP_LOGF_* */
	__u8 tcp_flags;
	__u8 helper;	 /* RP_LOG_HELPER: enum rp_helper_event */
	__u8 helper_cmd; /* RP_LOG_HELPER: enum rp_ftp_cmd that announced it */
	__u32 laddr[4];	 /* network order, IPv4 as ::ffff:a.b.c.d */
	__u32 raddr[4];
	/* socket events (RP_LOGF_SOCKET), and accept/receive with a known owner */
	__u64 cgroup_id;
	__u32 uid;
	__u32 app_id;
	__u32 pid;
	__u32 ask_id; /* RP_LOG_QUESTION, RP_LOG_ANSWER: the question (its low 32 bits) */
	__u32 gen;    /* the generation that judged it: rule_slot is a slot of its rules */
	__u32 pad;
};

#define RP_LOG_RING_BYTES (256 * 1024)

/* ---------- the FTP helper (bpf/ftp.h, docs/datapath.md "Protocol helpers") ---------- */

/* What announced a data connection. */
enum rp_ftp_cmd {
	RP_FTP_CMD_NONE = 0,
	RP_FTP_CMD_PORT, /* client -> server: PORT h1,h2,h3,h4,p1,p2 (active) */
	RP_FTP_CMD_EPRT, /* client -> server: EPRT |1|addr|port| or |2|addr6|port| (active) */
	RP_FTP_CMD_PASV, /* server -> client: 227 ... (h1,h2,h3,h4,p1,p2) (passive) */
	RP_FTP_CMD_EPSV, /* server -> client: 229 ... (|||port|) (passive) */
	RP_FTP_CMD_COUNT
};

/* Map rp_ftp_expect: HASH, the data connections the helper expects.  Key:
 * where the connection goes (the announcing side's address and port),
 * which is unique per announcing host; the value says who may open it.
 * An entry admits exactly one new TCP flow: the first SYN that matches
 * deletes it. */
struct rp_ftp_expect_key {
	__u32 daddr[4]; /* network order, IPv4 as ::ffff:a.b.c.d */
	__u16 dport;	/* network order */
	__u8 proto;	/* 6 */
	__u8 pad;
};

struct rp_ftp_expect {
	__u32 saddr[4];	   /* who may connect: the other end of the control connection (any source port) */
	struct ct_key ctl; /* the control flow (rp_conntrack key) */
	__u64 created_ns;  /* coarse monotonic ns */
	__u64 expires_ns;  /* created + ftp-timeout */
	__u8 cmd;	   /* enum rp_ftp_cmd */
	__u8 pad[7];
};

/* Map rp_ftp_related: LRU_HASH data flow (rp_conntrack key) -> its
 * control flow, for `rampart flows`.  An entry counts only while the data
 * flow's created_ns matches (the key may be reused later); losing one
 * (LRU) loses only the mark. */
struct rp_ftp_related {
	struct ct_key ctl;
	__u64 data_created_ns;
};

/* ---------- conntrack sweeper (map rp_sweeper: ARRAY, one entry) ---------- */

/* Defined in the BPF program only (it embeds struct bpf_timer). */

/* ---------- the layouts, as both compilers (clang -target bpf and the
 * host's) must lay them out: a change here changes RP_ABI_VERSION ---------- */

_Static_assert(sizeof(struct ct_key) == 40 && _Alignof(struct ct_key) == 4, "struct ct_key layout");
_Static_assert(sizeof(struct ct_tcp_peer) == 20 && _Alignof(struct ct_tcp_peer) == 4, "struct ct_tcp_peer layout");
_Static_assert(sizeof(struct ct_value) == 72 && _Alignof(struct ct_value) == 8, "struct ct_value layout");
_Static_assert(sizeof(struct rp_active) == 8 && _Alignof(struct rp_active) == 4, "struct rp_active layout");
_Static_assert(sizeof(struct rp_config) == 200 && _Alignof(struct rp_config) == 8, "struct rp_config layout");
_Static_assert(sizeof(struct rp_iface_key) == 8 && _Alignof(struct rp_iface_key) == 4, "struct rp_iface_key layout");
_Static_assert(sizeof(struct rp_iface) == 16 && _Alignof(struct rp_iface) == 4, "struct rp_iface layout");
_Static_assert(sizeof(struct rp_ifsel) == 16 + RP_IFNAME_LEN * (1 + 2 * RP_IFSEL_MAX) && _Alignof(struct rp_ifsel) == 4,
	       "struct rp_ifsel layout");
_Static_assert(sizeof(struct rp_rule_stats) == 32 && _Alignof(struct rp_rule_stats) == 8,
	       "struct rp_rule_stats layout");
_Static_assert(sizeof(struct rp_rate_bucket) == 24 && _Alignof(struct rp_rate_bucket) == 8,
	       "struct rp_rate_bucket layout");
_Static_assert(sizeof(struct rp_rule_meta) == 472 && _Alignof(struct rp_rule_meta) == 4, "struct rp_rule_meta layout");
_Static_assert(sizeof(struct rp_policy_info) == 576 && _Alignof(struct rp_policy_info) == 8,
	       "struct rp_policy_info layout");
_Static_assert(sizeof(struct rp_log_event) == 104 && _Alignof(struct rp_log_event) == 8, "struct rp_log_event layout");
_Static_assert(sizeof(struct rp_ftp_expect_key) == 20 && _Alignof(struct rp_ftp_expect_key) == 4,
	       "struct rp_ftp_expect_key layout");
_Static_assert(sizeof(struct rp_ftp_expect) == 80 && _Alignof(struct rp_ftp_expect) == 8,
	       "struct rp_ftp_expect layout");
_Static_assert(sizeof(struct rp_ftp_related) == 48 && _Alignof(struct rp_ftp_related) == 8,
	       "struct rp_ftp_related layout");

#endif
