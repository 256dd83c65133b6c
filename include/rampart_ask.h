/* The contract of learning mode (`ask`, docs/ask.md) between the BPF
 * programs (bpf/ask.h, used by the packet datapath and the socket hooks)
 * and the agent (loader/ask.c: `rampart ask`, `rampart daemon --ask`).
 * Fixed-size types only, explicit padding.
 *
 *   rp_ask        HASH rp_ask_key -> rp_ask_q: the open questions, and
 *                 answered ones while their answer is being applied
 *   rp_ask_held   HASH ct_key -> rp_ask_held: the flows a question holds
 *                 (their packets are dropped until the answer)
 *   rp_ask_ring   RINGBUF of rp_question: what the agent is asked
 *   rp_ask_state  ARRAY[1] rp_ask_state: written by BPF only (ids, rate)
 *   rp_ask_agent  ARRAY[1] rp_ask_agent: written by the agent only
 *   rp_sk_ask     SK_STORAGE rp_sk_ask: a socket whose connect()/sendto()
 *                 is held: who asked (tc egress builds the question's key)
 *   rp_app_stamp  ARRAY app id -> rp_app_stamp: the approved file's inode
 *                 change time (option app-changed)
 *
 * Map names: include/rampart_names.h.  All but rp_app_stamp are state kept
 * across applies (loader/datapath.c). */
#ifndef RAMPART_ASK_H
#define RAMPART_ASK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "rampart_names.h"

#define RP_ASK_MAX_QUESTIONS	 1024 /* rp_ask entries */
#define RP_ASK_MAX_HELD		 8192 /* rp_ask_held entries */
#define RP_ASK_RING_BYTES	 (256 * 1024)
#define RP_ASK_RATE		 20 /* new questions per second, on average ... */
#define RP_ASK_BURST		 50 /* ... and at once */
#define RP_ASK_ANCESTRY		 4  /* parent processes named in a question */
#define RP_ASK_NS		 1000000000ull
/* An agent that has shown no sign of life for this long is gone (it
 * writes rp_ask_agent.seen_ns every second). */
#define RP_ASK_AGENT_TTL_NS	 (3 * RP_ASK_NS)
/* How long an answer goes on deciding new events of its question (their
 * duplicates arriving meanwhile): "once" answers and timeouts briefly,
 * "always" answers until the learned rule is applied (the agent then
 * forgets the question). */
#define RP_ASK_ONCE_TTL_NS	 (2 * RP_ASK_NS)
#define RP_ASK_ALWAYS_TTL_NS	 (120 * RP_ASK_NS)
/* A held flow is forgotten after this long: TCP gives up a connection
 * whose SYNs get no answer after 127 s (6 retries). */
#define RP_ASK_HELD_TTL_NS	 (130 * RP_ASK_NS)
/* ask-timeout when the configuration says 0 */
#define RP_ASK_TIMEOUT_DEFAULT_S 30

/* Internal verdicts besides enum verdict: held until the answer; not
 * answered yet. */
#define RP_VERDICT_HOLD	   0xfe
#define RP_VERDICT_PENDING 0xff

/* What a question is about. */
enum rp_ask_kind {
	RP_ASKK_RULE = 0,	 /* an event reached an `ask` rule or table default */
	RP_ASKK_APP_CHANGED = 1, /* the first event of an approved binary that changed (option app-changed ask) */
};

/* The key questions are folded by: one question per application,
 * direction, protocol, remote address and service port (the remote port
 * going out, the local port coming in) while it is open. */
struct rp_ask_key {
	__u64 ino;	/* the application's executable (0: none, e.g. forwarded traffic) */
	__u32 dev;	/* its file system (kernel encoding, as rp_app_key) */
	__u32 raddr[4]; /* network order, IPv4 as ::ffff:a.b.c.d; zero when not carried */
	__u16 port;	/* host order; 0 when not carried */
	__u8 dir;	/* enum direction */
	__u8 proto;
	__u8 kind; /* enum rp_ask_kind */
	__u8 pad[7];
};

enum rp_askq_state { RP_ASKQ_OPEN = 0, RP_ASKQ_ANSWERED = 1 };

/* rp_ask_q.flags, rp_ask_answer.flags */
#define RP_ASKF_ALWAYS	0x01 /* answered for good: a rule is being written */
#define RP_ASKF_TIMEOUT 0x02 /* nobody answered within ask-timeout: ask-default */

struct rp_ask_q {
	__u64 id;	   /* the question's number (rp_question.id) */
	__u64 created_ns;  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 answered_ns; /* RP_ASKQ_ANSWERED: when */
	__u32 count;	   /* events folded into it, the first one included */
	__u32 rule_slot;   /* the ask rule (or table default) that fired */
	__u8 state;	   /* enum rp_askq_state */
	__u8 verdict;	   /* answered: VERDICT_ALLOW, _DENY or _REJECT */
	__u8 flags;	   /* RP_ASKF_* */
	__u8 kind;	   /* enum rp_ask_kind */
	__u8 event;	   /* enum event_type of the event that raised it (the answer's log line) */
	__u8 pad[3];
	__u32 gen; /* the generation that raised it: rule_slot is a slot of its rules */
	__u32 pad2;
};

/* A flow held by a question (keyed by its conntrack key, struct ct_key). */
struct rp_ask_held {
	struct rp_ask_key q; /* its question */
	__u64 qid;
	__u64 first_ns; /* bpf_ktime_get_ns() of its first packet */
	__u32 seq;	/* TCP: the held SYN's sequence number (network order) */
	__u32 ifindex;
	__u8 verdict;	 /* RP_VERDICT_PENDING until the answer */
	__u8 local_is_a; /* the local endpoint is endpoint a of the key */
	__u8 dir;	 /* enum direction */
	__u8 event;	 /* enum event_type */
	__u8 family;	 /* 4 or 6 */
	__u8 pad[3];
};

/* rp_question.flags */
#define RP_QF_HELD \
	0x01		  /* the event waits for the answer (a socket creation or bind cannot:
			   * it got ask-default, the answer counts from the next one) */
#define RP_QF_SOCKET 0x02 /* raised by a socket hook: pid, comm and ancestors are the caller's */
#define RP_QF_OWNER  0x04 /* accept/receive: the identity is the listening socket's owner's */

/* rp_question.has: the fields the event carries */
#define RP_QH_LADDR 0x01
#define RP_QH_RADDR 0x02
#define RP_QH_LPORT 0x04
#define RP_QH_RPORT 0x08
#define RP_QH_IFACE 0x10
#define RP_QH_ICMP  0x20
#define RP_QH_IDENT 0x40 /* app, uid, pid, cgroup */

#define RP_COMM_LEN 16

/* A question, as the ring buffer rp_ask_ring carries it to the agent. */
struct rp_question {
	__u64 id;
	__u64 time_ns;	 /* bpf_ktime_get_ns() */
	__u64 ino;	 /* the application's executable (0: none) */
	__u64 cgroup_id; /* the caller's (or the listening socket owner's) cgroup */
	__u32 dev;
	__u32 app_id;	 /* the policy's application id (0: not named) */
	__u32 rule_slot; /* the ask rule (or table default) that fired */
	__u32 pid;
	__u32 uid;
	__u32 ifindex;
	__u32 iface_id;
	__u32 laddr[4]; /* network order, IPv4 as ::ffff:a.b.c.d */
	__u32 raddr[4];
	__u16 lport; /* host order */
	__u16 rport;
	__u8 event;  /* enum event_type */
	__u8 dir;    /* enum direction */
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 kind;  /* enum rp_ask_kind */
	__u8 flags; /* RP_QF_* */
	__u8 icmp_type;
	__u8 has; /* RP_QH_* */
	char comm[RP_COMM_LEN];
	__u32 ancestors[RP_ASK_ANCESTRY]; /* socket events: parent pids, nearest first (0: no more) */
};

/* Map rp_ask_state: the kernel's own bookkeeping (user space only reads it). */
struct rp_ask_state {
	__u64 next_id;	    /* the last question's id */
	__u64 bucket_ns;    /* the question rate limit's last refill */
	__u64 tokens_milli; /* questions that may be raised now, times 1000 */
};

/* Map rp_ask_agent: who answers (written by the agent, read by BPF). */
struct rp_ask_agent {
	__u64 seen_ns; /* CLOCK_MONOTONIC of its last sign of life */
	__u32 pid;     /* 0: nobody */
	__u32 pad;
};

/* Map rp_sk_ask: a socket held by a question, who it belongs to. */
struct rp_sk_ask {
	__u64 ino;
	__u64 cgroup_id;
	__u32 dev;
	__u32 app;
	__u32 uid;
	__u32 pid;
	__u32 slot; /* the ask rule */
	__u32 kind; /* enum rp_ask_kind of its question */
};

/* The answer program's context (SEC("syscall") rp_ask_answer, pinned as
 * DIR/progs/ask-answer, run by the agent with BPF_PROG_TEST_RUN): gives
 * the question its answer, its held flows their verdict, and logs it. */
struct rp_ask_answer {
	struct rp_ask_key key;
	__u64 id;
	__u32 verdict;	/* VERDICT_ALLOW, _DENY or _REJECT (a jump is resolved by the agent) */
	__u32 flags;	/* RP_ASKF_* */
	__u32 released; /* out: held flows given the verdict */
	__u32 found;	/* out: 1 when the question was there with this id */
};

/* Map rp_app_stamp: the approved file of application id, as the kernel
 * sees a change to it (the inode change time: a write in place changes
 * it, and a replaced file is another inode). */
enum rp_app_state {
	RP_APPS_NONE = 0,     /* no stamp: nothing to compare */
	RP_APPS_APPROVED = 1, /* events of a file with another change time: app-changed applies */
	RP_APPS_DENIED = 2,   /* a change was answered `deny`: its rules match nothing until apply */
};

struct rp_app_stamp {
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 state; /* enum rp_app_state */
};

/* option app-changed (rp_sock_config.app_changed) */
enum rp_app_changed { RP_APPCH_ASK = 0, RP_APPCH_KEEP = 1, RP_APPCH_DENY = 2 };

_Static_assert(sizeof(struct rp_ask_key) == 40 && _Alignof(struct rp_ask_key) == 8, "struct rp_ask_key layout");
_Static_assert(sizeof(struct rp_ask_q) == 48 && _Alignof(struct rp_ask_q) == 8, "struct rp_ask_q layout");
_Static_assert(sizeof(struct rp_ask_held) == 72 && _Alignof(struct rp_ask_held) == 8, "struct rp_ask_held layout");
_Static_assert(sizeof(struct rp_question) == 136 && _Alignof(struct rp_question) == 8, "struct rp_question layout");
_Static_assert(sizeof(struct rp_ask_state) == 24 && _Alignof(struct rp_ask_state) == 8, "struct rp_ask_state layout");
_Static_assert(sizeof(struct rp_ask_agent) == 16 && _Alignof(struct rp_ask_agent) == 8, "struct rp_ask_agent layout");
_Static_assert(sizeof(struct rp_sk_ask) == 40 && _Alignof(struct rp_sk_ask) == 8, "struct rp_sk_ask layout");
_Static_assert(sizeof(struct rp_ask_answer) == 64 && _Alignof(struct rp_ask_answer) == 8,
	       "struct rp_ask_answer layout");
_Static_assert(sizeof(struct rp_app_stamp) == 16 && _Alignof(struct rp_app_stamp) == 8, "struct rp_app_stamp layout");

#endif
