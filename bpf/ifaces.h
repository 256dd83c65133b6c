/* The interface map (include/rampart_maps.h, struct rp_iface): which
 * logical interface a frame on (ifindex, VLAN id) belongs to, and whether
 * rampart's ingress program judges there.  Declared by the datapath and by
 * the boot object (its SK_LOOKUP program judges arrivals on interfaces not
 * attached yet); the loader makes them share one map. */
#ifndef RP_IFACES_H
#define RP_IFACES_H

#include "rampart_maps.h"
#include "rampart_names.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct rp_iface_key);
	__type(value, struct rp_iface);
} RP_MAP_IFACES SEC(".maps");

#endif
