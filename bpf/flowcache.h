/* The established-flow cache: a per-CPU, direct-mapped copy of "this flow
 * is tracked and its next ordinary packet passes", in front of the
 * conntrack hash table.
 *
 * Why: a hash-map lookup is a call into the kernel (jhash over the 40-byte
 * key, bucket walk, memcmp), and calls and returns are what costs most on
 * CPUs with return-stack mitigations (AMD "Safe RET").  Array lookups are
 * inlined by the verifier, so a hit here costs a few loads and compares.
 *
 * Correctness: the cache only answers PASS, and only when the conntrack
 * would answer PASS without changing anything:
 *   - filled after the conntrack passed the packet, only for a TCP flow in
 *     ESTABLISHED or a UDP/other/ICMP-echo flow that has seen its reply
 *     (states where the conntrack's answer does not depend on direction);
 *   - TCP segments with SYN, FIN or RST are never answered here (they may
 *     change the state), nor are fragments (a first fragment must be
 *     remembered in rp_frags);
 *   - an entry is valid only until the flow's last-seen time + min(1 s,
 *     the state's timeout): the conntrack refreshes last-seen when it moved
 *     by more than a second, so from then on the slow path runs again,
 *     refreshes it and re-fills the slot; an entry can never outlive the
 *     flow's own timeout;
 *   - every deletion or state change of a conntrack entry (BPF or user
 *     space) bumps a generation counter chosen by the flow's hash
 *     (rp_ct_gen, shared by all CPUs and pinned with the state maps); an
 *     entry remembers the generation it was filled under (read before the
 *     conntrack lookup) and is ignored once it moved.
 * Modes, neighbour discovery, fragments and ICMP errors are decided before
 * the conntrack, so before this cache too.
 */
#ifndef RP_FLOWCACHE_H
#define RP_FLOWCACHE_H

#include "rampart_maps.h"

#define RP_FC_BITS  12 /* 4096 slots per CPU, 64 bytes each */
#define RP_FC_SLOTS (1u << RP_FC_BITS)

struct rp_fc_entry {
	struct ct_key key __attribute__((aligned(8)));
	__u32 gen;     /* rp_ct_gen[slot] when filled */
	__u8 fast_gen; /* the conntrack entry's fast-path stamp (bpf/fastpath.h) */
	__u8 pad8[3];
	__u64 valid_until; /* coarse ns; 0: empty */
	__u64 pad[1];
};

/* The 40-byte key read as five 64-bit words (keys are 8-byte aligned:
 * rp_scratch.k, rp_fc_entry.key, hash-map keys). */
typedef __u64 __attribute__((may_alias)) rp_fc_word;
#define RP_FC_WORDS (sizeof(struct ct_key) / 8)
_Static_assert(sizeof(struct ct_key) == 40, "ct_key: five 64-bit words");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_FC_SLOTS);
	__type(key, __u32);
	__type(value, struct rp_fc_entry);
} RP_MAP_FLOW_CACHE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_CT_GEN_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} RP_MAP_CT_GEN SEC(".maps");

/* A multiplicative hash of the canonical flow key: the same function picks
 * the cache slot (high bits) and the generation slot (low bits).  The five
 * products are independent, so they run in parallel. */
static __always_inline __u32 rp_fc_hash(const struct ct_key *k)
{
	const rp_fc_word *w = (const rp_fc_word *)k;
	__u64 x = w[0] * 0x9e3779b97f4a7c15ull + w[1] * 0xc2b2ae3d27d4eb4full + w[2] * 0x165667b19e3779f9ull +
		  w[3] * 0x85ebca77c2b2ae63ull + w[4] * 0x27d4eb2f165667c5ull;
	return (__u32)(x >> 32) ^ (__u32)x;
}

static __always_inline __u32 rp_fc_slot(__u32 h)
{
	return h >> (32 - RP_FC_BITS);
}

static __always_inline __u32 rp_ct_gen_slot(__u32 h)
{
	return h & (RP_CT_GEN_SLOTS - 1);
}

/* Read the generation before looking at the conntrack entry: a change
 * made after this read bumps it, and the entry filled now is stale. */
static __always_inline __u32 rp_ct_gen_read(__u32 h)
{
	__u32 s = rp_ct_gen_slot(h);
	__u32 *g = bpf_map_lookup_elem(&rp_ct_gen, &s);
	return g ? *(volatile __u32 *)g : 0;
}

/* After a conntrack entry was deleted or left a cacheable state. */
static __always_inline void rp_ct_gen_bump(__u32 h)
{
	__u32 s = rp_ct_gen_slot(h);
	__u32 *g = bpf_map_lookup_elem(&rp_ct_gen, &s);
	if (g)
		__sync_fetch_and_add(g, 1);
}

static __always_inline int rp_fc_key_eq(const struct ct_key *x, const struct ct_key *y)
{
	const rp_fc_word *a = (const rp_fc_word *)x, *b = (const rp_fc_word *)y;
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* Does the cache say this packet of flow k passes? tcp_flags: the
 * packet's (0 for non-TCP). */
static __always_inline int rp_fc_hit(const struct ct_key *k, __u32 h, __u8 tcp_flags, __u64 now)
{
	if (tcp_flags & 0x07) /* FIN, SYN, RST: the state machine decides */
		return 0;
	__u32 slot = rp_fc_slot(h);
	struct rp_fc_entry *e = bpf_map_lookup_elem(&rp_flow_cache, &slot);
	if (!e || now > e->valid_until || !rp_fc_key_eq(&e->key, k))
		return 0;
	return e->gen == rp_ct_gen_read(h);
}

static __always_inline void rp_fc_fill(const struct ct_key *k, __u32 h, __u32 gen, __u64 valid_until, __u8 fast_gen)
{
	__u32 slot = rp_fc_slot(h);
	struct rp_fc_entry *e = bpf_map_lookup_elem(&rp_flow_cache, &slot);
	if (!e)
		return;
	__builtin_memcpy(&e->key, k, sizeof(*k));
	e->gen = gen;
	e->fast_gen = fast_gen;
	e->valid_until = valid_until;
}

#endif
