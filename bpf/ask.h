/* Learning mode in the kernel (docs/ask.md): what the packet datapath
 * (bpf/rampart.bpf.c) and the socket hooks (bpf/sock.bpf.c) share when an
 * event reaches `ask`.
 *
 * With an agent connected (rp_ask_agent says so within the last few
 * seconds) an event that reaches `ask` raises a question: a record in
 * rp_ask_ring for the agent, and an entry in rp_ask keyed by (application,
 * direction, protocol, remote address, service port), into which later
 * events of the same key are folded while it is open.  Meanwhile the event
 * is held: its packets are dropped (TCP and the peer retransmit; the
 * answer decides the next retransmission), each held flow recorded in
 * rp_ask_held (the agent fails a refused local connection at once with a
 * RST into the local stack).  The agent's answer (the program
 * rp_ask_answer) gives the question and its held flows their verdict.
 * Without an agent, over the question rate, with the table or ring full,
 * or after ask-timeout, the event gets ask-default.
 *
 * Nothing here runs for an event that does not reach `ask`: established
 * flows never see it.  Every map is bounded, new questions are
 * rate-limited, and everything dropped or refused is counted. */
#ifndef RP_ASK_BPF_H
#define RP_ASK_BPF_H

#include "rampart_ask.h"
#include "rampart_maps.h"
#include "rampart_classifier.h"
#include "log.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_ASK_MAX_QUESTIONS);
	__type(key, struct rp_ask_key);
	__type(value, struct rp_ask_q);
} RP_MAP_ASK SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_ASK_MAX_HELD);
	__type(key, struct ct_key);
	__type(value, struct rp_ask_held);
} RP_MAP_ASK_HELD SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RP_ASK_RING_BYTES);
} RP_MAP_ASK_RING SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ask_state);
} RP_MAP_ASK_STATE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_ask_agent);
} RP_MAP_ASK_AGENT SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rp_sk_ask);
} RP_MAP_SK_ASK SEC(".maps");

/* Where a question stands. */
enum rp_ask_where { RP_ASKW_NONE = 0, RP_ASKW_OPEN, RP_ASKW_ANSWERED };

static __always_inline __u64 rp_ask_timeout_ns(const struct rp_config *cfg)
{
	__u32 s = cfg->ask_timeout_s ? cfg->ask_timeout_s : RP_ASK_TIMEOUT_DEFAULT_S;
	return s * RP_ASK_NS;
}

static __always_inline int rp_ask_agent_alive(__u64 now)
{
	__u32 zero = 0;
	struct rp_ask_agent *a = bpf_map_lookup_elem(&rp_ask_agent, &zero);
	return a && a->pid && now >= a->seen_ns && now - a->seen_ns < RP_ASK_AGENT_TTL_NS;
}

/* The question rate limit: a token bucket shared by every CPU (races only
 * make it slightly approximate).  1: a question may be raised now. */
static __always_inline int rp_ask_take_token(__u64 now)
{
	__u32 zero = 0;
	struct rp_ask_state *st = bpf_map_lookup_elem(&rp_ask_state, &zero);
	if (!st)
		return 0;
	__u64 elapsed = now - st->bucket_ns;
	if (!st->bucket_ns || elapsed > 100 * RP_ASK_NS)
		elapsed = 100 * RP_ASK_NS; /* keeps the product below from overflowing */
	__u64 tokens = st->tokens_milli + elapsed * RP_ASK_RATE / 1000000;
	if (tokens > RP_ASK_BURST * 1000ull)
		tokens = RP_ASK_BURST * 1000ull;
	st->bucket_ns = now;
	if (tokens < 1000) {
		st->tokens_milli = tokens;
		return 0;
	}
	st->tokens_milli = tokens - 1000;
	return 1;
}

/* The key an event's question is folded by (see struct rp_ask_key). */
static __always_inline void rp_ask_key_of(struct rp_ask_key *k, const struct cls_fields *f, __u64 ino, __u32 dev,
					  __u8 kind)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->ino = ino;
	k->dev = dev;
	k->dir = f->dir;
	k->proto = f->proto;
	k->kind = kind;
	if (kind == RP_ASKK_APP_CHANGED)
		return; /* one question per changed application */
	if (!(f->absent & CLS_ABSENT(F_RADDR)))
		__builtin_memcpy(k->raddr, f->raddr, 16);
	if (f->has_ports) {
		if (f->dir == DIR_OUT && !(f->absent & CLS_ABSENT(F_RPORT)))
			k->port = f->rport;
		else if (f->dir == DIR_IN && !(f->absent & CLS_ABSENT(F_LPORT)))
			k->port = f->lport;
	}
}

/* A log event that is not rate-limited per rule: questions and answers
 * are limited by the question rate already.  gen: the generation whose
 * rule slot is (an answer's question may come from an earlier one). */
static __always_inline struct rp_log_event *rp_ask_log_begin(__u32 slot, __u32 gen, __u64 now, __u8 kind)
{
	struct rp_log_event *e = bpf_ringbuf_reserve(&rp_log, sizeof(*e), 0);
	if (!e) {
		rp_count(RPC_LOG_RING_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->rule_slot = slot;
	e->gen = gen;
	e->kind = kind;
	e->verdict = VERDICT_ASK;
	e->flags = RP_LOGF_ASK;
	return e;
}

/* "Question q was answered": in rampart log. */
static __always_inline void rp_ask_log_answer(const struct rp_ask_key *k, __u64 id, __u32 slot, __u32 gen, __u8 event,
					      __u8 verdict, __u8 flags, __u64 now)
{
	struct rp_log_event *e = rp_ask_log_begin(slot, gen, now, RP_LOG_ANSWER);
	if (!e)
		return;
	e->event = event;
	e->verdict = verdict;
	e->flags |= flags;
	e->dir = k->dir;
	e->proto = k->proto;
	__builtin_memcpy(e->raddr, k->raddr, 16);
	e->family = k->raddr[0] == 0 && k->raddr[1] == 0 && k->raddr[2] == bpf_htonl(0xffff) ? 4 : 6;
	if (k->dir == DIR_OUT)
		e->rport = k->port;
	else
		e->lport = k->port;
	e->ask_id = (__u32)id;
	rp_log_send(e, slot);
}

/* Nobody answered in time: the question gets ask-default (the agent, when
 * there is one, does this itself a moment earlier and says so). */
static __always_inline void rp_ask_expire(const struct rp_config *cfg, const struct rp_ask_key *k, struct rp_ask_q *q,
					  __u64 now)
{
	q->verdict = cfg->ask_default;
	q->flags |= RP_ASKF_TIMEOUT;
	q->answered_ns = now;
	q->state = RP_ASKQ_ANSWERED;
	rp_count(RPC_ASK_TIMEOUT);
	rp_ask_log_answer(k, q->id, q->rule_slot, q->gen, q->event, q->verdict, RP_LOGF_TIMEOUT, now);
}

/* Where question k stands: open, answered (q->verdict decides), or none
 * (an answer that is done deciding new events is forgotten here). */
static __always_inline int rp_ask_where(const struct rp_config *cfg, const struct rp_ask_key *k, struct rp_ask_q **qp,
					__u64 now)
{
	struct rp_ask_q *q = bpf_map_lookup_elem(&rp_ask, k);
	*qp = q;
	if (!q)
		return RP_ASKW_NONE;
	if (q->state == RP_ASKQ_ANSWERED) {
		__u64 ttl = q->flags & RP_ASKF_ALWAYS ? RP_ASK_ALWAYS_TTL_NS : RP_ASK_ONCE_TTL_NS;
		if (now > q->answered_ns && now - q->answered_ns > ttl) {
			bpf_map_delete_elem(&rp_ask, k);
			*qp = 0;
			return RP_ASKW_NONE;
		}
		return RP_ASKW_ANSWERED;
	}
	if (now > q->created_ns && now - q->created_ns > rp_ask_timeout_ns(cfg)) {
		rp_ask_expire(cfg, k, q, now);
		return RP_ASKW_ANSWERED;
	}
	return RP_ASKW_OPEN;
}

/* A new question: is there an agent, room in the rate, in the ring?  The
 * record to fill, or NULL after counting why not (the event then gets
 * ask-default).  Finish with rp_ask_commit(). */
static __always_inline struct rp_question *rp_ask_begin(__u64 now)
{
	if (!rp_ask_agent_alive(now)) {
		rp_count(RPC_ASK_NO_AGENT);
		return 0;
	}
	if (!rp_ask_take_token(now)) {
		rp_count(RPC_ASK_RATE_LIMITED);
		return 0;
	}
	struct rp_question *r = bpf_ringbuf_reserve(&rp_ask_ring, sizeof(*r), 0);
	if (!r) {
		rp_count(RPC_ASK_FULL);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->time_ns = now;
	return r;
}

/* "Question r was asked": in rampart log, with what the question says. */
static __always_inline void rp_ask_log_question(const struct rp_question *r, __u64 now)
{
	struct rp_log_event *e = rp_ask_log_begin(r->rule_slot, rp_gen, now, RP_LOG_QUESTION);
	if (!e)
		return;
	e->ifindex = r->ifindex;
	e->iface_id = r->iface_id;
	e->event = r->event;
	e->dir = r->dir;
	e->family = r->family;
	e->proto = r->proto;
	e->icmp_type = r->icmp_type;
	e->lport = r->lport;
	e->rport = r->rport;
	__builtin_memcpy(e->laddr, r->laddr, 16);
	__builtin_memcpy(e->raddr, r->raddr, 16);
	if (r->has & RP_QH_IDENT) {
		e->flags |= r->flags & RP_QF_OWNER ? RP_LOGF_OWNER : RP_LOGF_SOCKET;
		e->cgroup_id = r->cgroup_id;
		e->uid = r->uid;
		e->app_id = r->app_id;
		e->pid = r->pid;
	}
	e->ask_id = (__u32)r->id;
	rp_log_send(e, r->rule_slot);
}

/* Opens question k with the filled record r and sends r to the agent.
 * Returns its id, or 0 when it cannot be opened (the table is full, or
 * another CPU opened it a moment ago): r is discarded. */
static __always_inline __u64 rp_ask_commit(struct rp_question *r, const struct rp_ask_key *k, __u32 slot, __u64 now)
{
	__u32 zero = 0;
	struct rp_ask_state *st = bpf_map_lookup_elem(&rp_ask_state, &zero);
	if (!st) {
		bpf_ringbuf_discard(r, 0);
		return 0;
	}
	__u64 id = __sync_fetch_and_add(&st->next_id, 1) + 1;
	struct rp_ask_q q = {
		.id = id,
		.created_ns = now,
		.count = 1,
		.rule_slot = slot,
		.kind = k->kind,
		.event = r->event,
		.gen = rp_gen,
	};
	if (bpf_map_update_elem(&rp_ask, k, &q, BPF_NOEXIST)) {
		bpf_ringbuf_discard(r, 0);
		rp_count(RPC_ASK_FULL);
		return 0;
	}
	r->id = id;
	r->rule_slot = slot;
	r->kind = k->kind;
	rp_ask_log_question(r, now);
	bpf_ringbuf_submit(r, 0);
	rp_count(RPC_ASK_QUESTION);
	return id;
}

/* Who asks, into a question record (flag: RP_QF_SOCKET, the caller; or
 * RP_QF_OWNER, the listening socket's owner). */
static __always_inline void rp_ask_who(struct rp_question *r, __u64 ino, __u32 dev, __u64 cgroup_id, __u32 pid,
				       __u32 uid, __u32 app, __u8 flag)
{
	r->ino = ino;
	r->dev = dev;
	r->cgroup_id = cgroup_id;
	r->pid = pid;
	r->uid = uid;
	r->app_id = app;
	r->flags |= flag;
	r->has |= RP_QH_IDENT;
}

/* The event's fields into a question record. */
static __always_inline void rp_ask_fill(struct rp_question *r, const struct cls_fields *f)
{
	r->event = f->event;
	r->dir = f->dir;
	r->family = f->family;
	r->proto = f->proto;
	r->iface_id = f->iface;
	if (!(f->absent & CLS_ABSENT(F_LADDR))) {
		__builtin_memcpy(r->laddr, f->laddr, 16);
		r->has |= RP_QH_LADDR;
	}
	if (!(f->absent & CLS_ABSENT(F_RADDR))) {
		__builtin_memcpy(r->raddr, f->raddr, 16);
		r->has |= RP_QH_RADDR;
	}
	if (f->has_ports && !(f->absent & CLS_ABSENT(F_LPORT))) {
		r->lport = f->lport;
		r->has |= RP_QH_LPORT;
	}
	if (f->has_ports && !(f->absent & CLS_ABSENT(F_RPORT))) {
		r->rport = f->rport;
		r->has |= RP_QH_RPORT;
	}
	if (f->has_icmp) {
		r->icmp_type = (__u8)f->icmp_type;
		r->has |= RP_QH_ICMP;
	}
	if (f->has_app) {
		r->app_id = f->app;
		r->uid = f->uid;
		r->has |= RP_QH_IDENT;
	}
}

#endif
