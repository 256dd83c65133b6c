/* Observability: global per-CPU counters, per-rule per-CPU packet/byte
 * counters, and rule-match log events through a ring buffer, rate-limited
 * per rule by a token bucket (option log-rate N/s).  What the limit or a
 * full ring suppresses is counted per rule and globally, and the number
 * missed is reported in the next event of that rule. */
#ifndef RP_LOG_H
#define RP_LOG_H

#include "rampart_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RPC_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} RP_MAP_COUNTERS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1); /* the loader sets nrules + ntables */
	__type(key, __u32);
	__type(value, struct rp_rule_stats);
} RP_MAP_RULE_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets nrules + ntables */
	__type(key, __u32);
	__type(value, struct rp_log_bucket);
} RP_MAP_LOG_BUCKET SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RP_LOG_RING_BYTES);
} RP_MAP_LOG SEC(".maps");

/* Per-CPU: no atomic operation, no shared cache line. */
static __always_inline void rp_count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&rp_counters, &c);
	if (v)
		*v += 1;
}

static __always_inline void rp_rule_hit(__u32 slot, __u64 bytes)
{
	struct rp_rule_stats *s = bpf_map_lookup_elem(&rp_rule_stats, &slot);
	if (s) {
		s->packets++;
		s->bytes += bytes;
	}
}

static __always_inline void rp_rule_log_dropped(__u32 slot, struct rp_log_bucket *b)
{
	struct rp_rule_stats *s = bpf_map_lookup_elem(&rp_rule_stats, &slot);
	if (s)
		s->log_dropped++;
	if (b)
		__sync_fetch_and_add(&b->missed, 1);
}

/* Take a token from the rule's bucket.  Returns the bucket when an event
 * may be sent, 0 otherwise (and counts the suppression). */
static __always_inline struct rp_log_bucket *rp_log_take(const struct rp_config *cfg, __u32 slot, __u64 now, int *ok)
{
	struct rp_log_bucket *b = bpf_map_lookup_elem(&rp_log_bucket, &slot);
	*ok = 0;
	if (!b)
		return 0;
	if (cfg->log_rate == 0) {
		*ok = 1;
		return b;
	}
	__u64 rate = cfg->log_rate;
	__u64 cap = (cfg->log_burst ? cfg->log_burst : cfg->log_rate) * 1000ull;
	__u64 elapsed = now - b->last_ns;
	if (b->last_ns == 0 || elapsed > 100 * 1000000000ull)
		elapsed = 100 * 1000000000ull; /* keeps the product below from overflowing */
	__u64 tokens = b->tokens_milli + elapsed * rate / 1000000;
	if (tokens > cap)
		tokens = cap;
	b->last_ns = now;
	if (tokens < 1000) {
		b->tokens_milli = tokens;
		return b;
	}
	b->tokens_milli = tokens - 1000;
	*ok = 1;
	return b;
}

/* Start a log record for `slot`, rate-limited per rule: reserved, zeroed,
 * with the time, the slot and the number of this rule's events suppressed
 * since the last one sent.  NULL when the rule's budget or the ring is
 * exhausted (both counted).  Finish with rp_log_send(). */
static __always_inline struct rp_log_event *rp_log_begin(const struct rp_config *cfg, __u32 slot, __u64 now)
{
	int ok;
	struct rp_log_bucket *b = rp_log_take(cfg, slot, now, &ok);
	if (!ok) {
		rp_count(RPC_LOG_RATE_LIMITED);
		rp_rule_log_dropped(slot, b);
		return 0;
	}
	struct rp_log_event *e = bpf_ringbuf_reserve(&rp_log, sizeof(*e), 0);
	if (!e) {
		rp_count(RPC_LOG_RING_FULL);
		rp_rule_log_dropped(slot, b);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	e->rule_slot = slot;
	e->kind = RP_LOG_RULE;
	if (b) {
		e->missed = b->missed;
		if (b->missed)
			__sync_fetch_and_sub(&b->missed, e->missed);
	}
	return e;
}

static __always_inline void rp_log_send(struct rp_log_event *e, __u32 slot)
{
	bpf_ringbuf_submit(e, 0);
	rp_count(RPC_LOG_SENT);
	struct rp_rule_stats *s = bpf_map_lookup_elem(&rp_rule_stats, &slot);
	if (s)
		s->logged++;
}

#endif
