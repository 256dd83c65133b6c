/* The configuration map (mode, timeouts, log rate, ...).  Every rampart
 * BPF object declares it from here; the loader reuses one pinned map for
 * all of them, so they always agree on the mode. */
#ifndef RAMPART_BPF_CONFIG_H
#define RAMPART_BPF_CONFIG_H

#include "rampart_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_config);
} RP_MAP_CONFIG SEC(".maps");

#endif
