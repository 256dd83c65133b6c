/* User-space side of the packet datapath (bpf/rampart.bpf.c): open the
 * object with the map sizes the policy asks for, optionally reuse the maps
 * pinned by a running instance (so flows, counters' history and the log ring
 * survive an apply), load, and write the configuration, interface ids and
 * rule metadata.  Used by `rampart apply` and the kernel tests.
 *
 * Order: datapath_create() (open, size, load, classifier tables)
 *        -> fill rp_rules, rp_policy_info, rp_ifaces -> write rp_config
 *        -> attach -> datapath_sweeper_start().  Errors: 0 or -errno, with a message (log.h).
 */
#ifndef RAMPART_DATAPATH_H
#define RAMPART_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "classifier_maps.h"
#include "rampart_maps.h"
#include "policy.h"

struct rampart_bpf;
struct pin_dir;

struct datapath_opts {
	uint32_t conntrack_size;     /* 0: RP default (65536) */
	uint32_t nslots;	     /* rules + table defaults (policy_nslots); the helper's slot is added */
	const struct pin_dir *reuse; /* pin dir whose state maps to reuse (NULL: fresh maps) */
	uint32_t generation;	     /* the apply's generation (rp_gen, include/rampart_maps.h) */
	uint32_t napps, ncgroups;    /* applications and cgroups the policy names */
};

/* Names of the maps that hold state which must survive an apply. */
extern const char *const datapath_state_maps[];

/* Opens the object, sizes its maps (the classifier's after t), reuses the
 * state maps of o->reuse, loads it into the kernel and writes the
 * classifier tables t (NULL: none; the classifier then denies). */
int datapath_create(struct rampart_bpf **skel, const struct datapath_opts *o, const struct cls_tables *t);
void datapath_destroy(struct rampart_bpf *skel);
/* Before another object (socket hooks, boot protection) is loaded: each of
 * its maps that the datapath object declares too (same name) becomes the
 * datapath's (judging, counters, log, owners, interfaces).  0 or -errno. */
struct bpf_object;
struct bpf_map;
int datapath_share_maps(struct rampart_bpf *dp, struct bpf_object *obj, const char *who);
/* The datapath object declares a map of this one's name (so it is shared). */
bool datapath_declares(struct rampart_bpf *dp, const struct bpf_map *m);
/* The object's classifier maps (for classifier_maps.h). */
struct cls_maps datapath_cls_maps(struct rampart_bpf *skel);

/* Rule slots: rule r -> r, default of table t -> nrules + t, and after
 * them one slot for the protocol helper (its admitted flows and its log
 * events; rp_config.helper_slot): the per-slot maps have nslots + 1. */
static inline uint32_t policy_nslots(const struct policy *p)
{
	return (uint32_t)(p->nrules + p->ntables);
}
#define DATAPATH_HELPER_SLOTS 1
static inline uint32_t policy_rule_slot(const struct policy *p, int rule, int table)
{
	return rule >= 0 ? (uint32_t)rule : (uint32_t)(p->nrules + table);
}

/* The configuration a policy asks for (mode enforcing); p NULL: boot
 * protection, no policy. */
void datapath_config_from_policy(struct rp_config *cfg, const struct policy *p);
/* The object's own configuration: the entry of its generation (bpf/config.h). */
int datapath_write_config(struct rampart_bpf *skel, const struct rp_config *cfg);
int datapath_read_config(struct rampart_bpf *skel, struct rp_config *cfg);
/* rp_active: the object's generation is in force (every hook runs it). */
int datapath_switch_generation(struct rampart_bpf *skel);
/* The entry of rp_config the generation in force reads (pinned maps), and
 * that configuration.  0 / -errno. */
struct pin_dir;
int config_slot_in_force(const struct pin_dir *pd);
int config_read_in_force(const struct pin_dir *pd, struct rp_config *cfg);
/* Rule metadata for `rampart rules` (one entry per slot, and the helper's
 * slot when the policy has it on). */
int datapath_write_rules(struct rampart_bpf *skel, const struct policy *p);
int datapath_write_policy_info(struct rampart_bpf *skel, const struct policy *p, const char *path,
			       const uint8_t sha256[32]);
/* rp_ifaces: the logical interface of a device (or of a VLAN on it). */
int datapath_put_iface(struct rampart_bpf *skel, const struct rp_iface_key *key, const struct rp_iface *v);
/* The simple case: ifindex, untagged, is itself, with the policy's id and
 * judged by its own ingress program. */
int datapath_set_iface(struct rampart_bpf *skel, uint32_t ifindex, uint32_t id);

/* Once the object's programs are in force: the conntrack sweeper's timer
 * (in rp_sweeper, which an apply may reuse) runs this object's callback
 * from now on, which walks this object's tables.  0 or a negative errno. */
int datapath_sweeper_start(struct rampart_bpf *skel);

/* Sums over CPUs. */
int datapath_counters(int counters_fd, uint64_t out[RPC_COUNTER_COUNT]);
int datapath_rule_stats(int stats_fd, uint32_t slot, struct rp_rule_stats *out);
/* After deleting or changing rp_conntrack entries from user space: makes
 * every CPU's established-flow cache ask the conntrack again (bumps every
 * rp_ct_gen counter).  gen_fd: the rp_ct_gen map. */
int datapath_flow_cache_invalidate(int gen_fd);
const char *datapath_counter_name(enum rp_counter c);
const char *datapath_ct_state_name(enum rp_ct_state s);
/* The FTP helper: what announced a data connection ("PORT", "227", ...),
 * what the helper did ("expect", "data", "refused-address", ...). */
const char *datapath_ftp_cmd_name(enum rp_ftp_cmd c);
const char *datapath_helper_event_name(enum rp_helper_event e);

#endif
