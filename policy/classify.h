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

/* Compile-time bounds of one tree.  A policy whose tree would exceed them
 * is split into parts (rampart_classifier.h); a part that still exceeds
 * them is refused with an error naming the fields whose combinations are
 * too many. */
#define CLS_MAX_PAIRS	  (1u << 22)	 /* stored combinations */
#define CLS_MAX_CANDS_N	  (1u << 23)	 /* candidate combinations of one node */
#define CLS_MAX_CLASSES	  (1u << 24)	 /* classes of one node (CLS_H_ID) */
#define CLS_MAX_ARRAY_VAL (1u << 20)	 /* largest id/value an interval field may name */
#define CLS_MAX_WORK	  (400ull << 20) /* entry visits while compiling */
/* ... of the one tree over the whole policy, tried first: work at least
 * this, and 256 per entry (about twice what policies of 100 000
 * blocklist, service and prefix rules need), candidates 1M + 128 per entry
 * up to CLS_MAIN_CANDS, stored combinations 64K + 32 per entry; past
 * them, parts are cheaper */
#define CLS_MAIN_WORK	  (16ull << 20)
#define CLS_MAIN_CANDS	  (4u << 20)

/* What the loader writes: cls_config[0] = config, cls_tab[i] = block i of
 * tab, cls_actions[i] = actions[i]. */
struct cls_tables {
	struct cls_config config;
	uint32_t *tab; /* words; ntab is a multiple of CLS_BLOCK_WORDS */
	uint32_t ntab;
	struct cls_result *actions;
	uint32_t nactions;
	/* what the compiler built, for diagnostics and tests */
	uint32_t nclasses[CLS_NODES];	       /* classes per node */
	uint32_t npairs;		       /* stored sparse combinations (class and projection pairs) */
	uint32_t nprojected;		       /* ... of which projection pairs */
	uint32_t ndense;		       /* words of dense combination tables */
	uint32_t ntrie;			       /* words of tries */
	uint32_t ncands, maxcands;	       /* candidates of keyed parts; the longest list */
	uint32_t nkeyed[CLS_MAX_PARTS];	       /* rules per part (when partitioned) */
	uint32_t part_maxcands[CLS_MAX_PARTS]; /* longest candidate list of each keyed part */
	int part_key[CLS_MAX_PARTS];	       /* the key field of each keyed part */
	int nlive;			       /* entries that can ever decide (the rest are dead) */
};

/* Map sizes (max_entries, at least 1 each) and the kernel memory estimate. */
struct cls_sizes {
	uint32_t blocks, actions;
	uint64_t bytes;
};

/* Knobs of the compiler; the defaults (all 0) are what apply uses.  The
 * tests set them to exercise every structure on small policies. */
struct cls_opts {
	int no_dense;	 /* never replace a sparse combination by a dense table */
	int force_parts; /* always split into parts (keyed parts where possible) */
	/* budgets of one tree, 0: the defaults below */
	uint64_t max_work;  /* entry visits */
	uint64_t max_cands; /* candidate combinations of one node */
	uint64_t max_pairs; /* stored combinations */
};

/* Compile.  nrules: the policy's rule count (slots of table defaults start
 * there, see RP_SLOT in rampart_maps.h).  Returns 0, or -1 with a message
 * in err (the policy is too large for the classifier, or malformed). */
int cls_compile(const struct flat_policy *fp, uint32_t nrules, struct cls_tables *t, char *err, size_t errlen);
int cls_compile_opts(const struct flat_policy *fp, uint32_t nrules, const struct cls_opts *o, struct cls_tables *t,
		     char *err, size_t errlen);
void cls_tables_free(struct cls_tables *t);
void cls_tables_sizes(const struct cls_tables *t, struct cls_sizes *s);

/* What the tables are made of, for `apply`: one line per part, each
 * starting with `indent`. */
void cls_describe(const struct cls_tables *t, const char *indent, char *buf, size_t len);

/* The BPF lookups (bpf/classify.h rp_classify) over the compiled tables.
 * Returns 0, or -1 when a lookup misses (tables not compiled). */
int cls_lookup(const struct cls_tables *t, const struct cls_fields *f, struct cls_result *out);

/* The classifier input for an event (what the datapath fills for a packet). */
void cls_event_fields(const struct event *ev, struct cls_fields *f);

#endif
