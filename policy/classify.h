/* The classifier compiler: flattened policy -> the tables of the BPF
 * classifier (include/rampart_classifier.h, bpf/classify.h), and
 * cls_lookup(), which performs in user space exactly the lookups the BPF
 * side performs.  Plain C, no libbpf.  Design: docs/classifier.md. */
#ifndef RAMPART_CLASSIFY_H
#define RAMPART_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "rampart_classifier.h"
#include "policy.h"

/* Compile-time bounds: a policy whose tables would exceed them is refused
 * with an error naming the fields whose combinations are too many. */
#define CLS_MAX_PAIRS	  (1u << 24)   /* cls_pairs entries in all */
#define CLS_MAX_CLASSES	  (1u << 24)   /* classes of one node */
#define CLS_MAX_ARRAY_VAL (1u << 20)   /* largest id/value an interval field may name */
#define CLS_MAX_WORK	  (4ull << 30) /* entry visits while compiling */

struct cls_prefix_entry {
	struct cls_prefix_key key;
	struct cls_class value;
};

struct cls_pair_entry {
	struct cls_pair_key key;
	struct cls_class value;
};

/* What the loader writes: cls_config[0] = config, cls_values[i] = values[i],
 * cls_prefixes: prefixes[], cls_pairs: pairs[], cls_info[i] = info[i],
 * cls_actions[i] = actions[i]. */
struct cls_tables {
	struct cls_config config;
	struct cls_class *values;
	uint32_t nvalues;
	struct cls_prefix_entry *prefixes; /* sorted by field, length, address */
	uint32_t nprefixes;
	struct cls_pair_entry *pairs;
	uint32_t npairs;
	struct cls_class *info;
	uint32_t ninfo;
	struct cls_result *actions;
	uint32_t nactions;
	uint32_t nclasses[CLS_NODES]; /* classes per node (for docs/diagnostics) */
	int nlive;		      /* entries that can ever decide (the rest are dead) */
	/* user-space lookup indexes (cls_lookup) */
	uint32_t *pair_index; /* open addressing, pair index + 1, 0 = empty */
	uint32_t pair_mask;
	uint8_t prefix_len_used[F_COUNT][129];
};

/* Map sizes (max_entries, at least 1 each) and the kernel memory estimate. */
struct cls_sizes {
	uint32_t values, prefixes, pairs, info, actions;
	uint64_t bytes;
};

/* Compile.  nrules: the policy's rule count (slots of table defaults start
 * there, see RP_SLOT in rampart_maps.h).  Returns 0, or -1 with a message
 * in err (the policy is too large for the classifier, or malformed). */
int cls_compile(const struct flat_policy *fp, uint32_t nrules, struct cls_tables *t, char *err, size_t errlen);
void cls_tables_free(struct cls_tables *t);
void cls_tables_sizes(const struct cls_tables *t, struct cls_sizes *s);

/* The BPF lookups (bpf/classify.h rp_classify) over the compiled tables.
 * Returns 0, or -1 when a lookup misses (tables not compiled). */
int cls_lookup(const struct cls_tables *t, const struct cls_fields *f, struct cls_result *out);

/* The classifier input for an event (what the datapath fills for a packet). */
void cls_event_fields(const struct event *ev, struct cls_fields *f);

#endif
