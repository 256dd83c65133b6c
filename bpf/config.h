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

#endif
