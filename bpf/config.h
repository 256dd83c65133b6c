/* The configuration map (mode, timeouts, log rate, ...) and the generation
 * in force.  Every rampart BPF object declares them from here; the loader
 * reuses one pinned map of each for all of them, so they always agree on
 * the mode and on which generation judges (include/rampart_maps.h,
 * "generations"). */
#ifndef RAMPART_BPF_CONFIG_H
#define RAMPART_BPF_CONFIG_H

#include "rampart_maps.h"

/* This object's generation, set by the loader before it loads the object
 * (0 in tests that load an object by itself: rp_active then says 0 too). */
const volatile __u32 rp_gen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_CONFIG_SLOTS);
	__type(key, __u32);
	__type(value, struct rp_config);
} RP_MAP_CONFIG SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_active);
} RP_MAP_ACTIVE SEC(".maps");

/* The generation in force. */
static __always_inline __u32 rp_active_gen(void)
{
	__u32 zero = 0;
	struct rp_active *a = bpf_map_lookup_elem(&rp_active, &zero);
	return a ? *(volatile __u32 *)&a->gen : 0;
}

/* This object's configuration: its generation's entry. */
static __always_inline struct rp_config *rp_config_own(void)
{
	__u32 k = RP_CONFIG_SLOT(rp_gen);
	return bpf_map_lookup_elem(&rp_config, &k);
}

/* The configuration in force, for what outlives its program (timers);
 * before the first switch, this object's own. */
static __always_inline struct rp_config *rp_config_active(void)
{
	__u32 gen = rp_active_gen();
	__u32 k = RP_CONFIG_SLOT(gen ? gen : rp_gen);
	return bpf_map_lookup_elem(&rp_config, &k);
}

/* ---------- forwarding until the flip (docs/datapath.md, "Switching") ----------
 *
 * An apply attaches the new programs hook by hook, then writes rp_active
 * once.  Until that write a new program must judge as the old policy did,
 * so each attached program starts with a gate: when rp_active does not
 * name its generation it tail-calls slot 0 of its own forwarding array,
 * where the loader put the program that was in force at its hook
 * (loader/hooks.c).  An empty slot (the hook is new in this apply, or the
 * program is a stale one on a hook being removed) means "not attached":
 * the gate returns what the hook does without a program.
 *
 * One array per program: the kernel lets a tail call reach only a program
 * of the caller's type and expected attach type.  It is not among the
 * pinned maps (each apply's programs get fresh ones); the loader pins it
 * as DIR/fwd/ID only while it forwards: the kernel empties a PROG_ARRAY
 * nothing in user space holds (loader/hooks.h).  The gate stays in the SEC() entry point: a tail call from a bpf2bpf callee
 * would limit every frame above it to 256 bytes of stack. */
#define RP_FORWARD_MAP(name)                           \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY); \
		__uint(max_entries, 1);                \
		__type(key, __u32);                    \
		__type(value, __u32);                  \
	} name SEC(".maps")

/* In a SEC() entry point, first: one lookup of rp_active per call. */
#define RP_GATE(ctx, fwd, not_attached)                \
	do {                                           \
		if (rp_active_gen() != rp_gen) {       \
			bpf_tail_call(ctx, &(fwd), 0); \
			return (not_attached);         \
		}                                      \
	} while (0)

#endif
