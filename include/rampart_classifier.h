/* The contract between the classifier compiler (policy/classify.c), the
 * loader that writes its tables into maps (loader/classifier_maps.c) and
 * the BPF lookup (bpf/classify.h).  Design and bounds: docs/classifier.md.
 *
 * Recursive Flow Classification: every field value is mapped to an
 * equivalence class of its field (one lookup per field), then classes are
 * combined pairwise along the fixed tree CLS_TREE (one or two lookups per
 * combination) down to one final class, whose action says which entry of
 * the flattened policy decides and which continue/jump rules matched
 * before it.  The number of lookups is fixed: it does not depend on the
 * number of rules.
 *
 * Fixed-size types only, no pointers, so both sides read the same bytes.
 */
#ifndef RAMPART_CLASSIFIER_H
#define RAMPART_CLASSIFIER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "rampart_names.h"
#include "rampart_types.h"

/* At most this many continue/jump rules are reported per event (in order);
 * further ones set cls_result.overflow and are neither counted nor logged. */
#define CLS_MAX_RECORDS 16

#define CLS_SLOT_NONE 0xffffffffu

/* ---------- input: what the datapath knows about an event ---------- */

/* Fill with zeroes first.  A packet carries dir, event, family, proto,
 * iface, laddr and raddr (leave `absent` 0), ports when has_ports, the
 * ICMP type when has_icmp.  Socket events that lack one of those set the
 * bit CLS_ABSENT(F_...) in `absent` (e.g. `network` has no addresses). */
struct cls_fields {
	__u32 laddr[4]; /* network order, IPv4 as ::ffff:a.b.c.d */
	__u32 raddr[4];
	__u32 iface;  /* the policy's interface id (0: not named in the policy) */
	__u32 app;    /* application id (0: not named) */
	__u32 cgroup; /* cgroup value, preorder numbering (see policy.h) */
	__u32 uid;
	__u16 lport; /* host order */
	__u16 rport;
	__u16 icmp_type; /* ICMP type t, or ICMPV6_TYPE_BASE + t for ICMPv6 */
	__u16 absent;	 /* CLS_ABSENT(f) bits: fields this event does not carry */
	__u8 dir;	 /* enum direction */
	__u8 event;	 /* enum event_type */
	__u8 family;	 /* 4 or 6 */
	__u8 proto;
	__u8 has_ports; /* lport and rport carried (minus CLS_ABSENT bits) */
	__u8 has_icmp;	/* icmp_type carried */
	__u8 has_app;
	__u8 has_cgroup;
	__u8 has_user;
	__u8 pad[3];
};

#define CLS_ABSENT(field) ((__u16)(1u << (field)))

/* ---------- output: the action of a final class ---------- */

struct cls_record {
	__u32 slot;   /* rule slot (policy rule id) of a continue/jump rule */
	__u8 verdict; /* VERDICT_CONTINUE or VERDICT_JUMP */
	__u8 log;     /* log it (continue: always; jump: with `log`) */
	__u16 pad;
};

/* Map cls_actions: ARRAY final class id -> cls_result. */
struct cls_result {
	__u32 slot;    /* deciding rule slot: rule id, or nrules + table for a table default */
	__u32 entry;   /* index of the deciding entry in the flattened policy */
	__u8 verdict;  /* VERDICT_ALLOW/DENY/REJECT/ASK */
	__u8 log;      /* the deciding rule has `log` */
	__u8 nrecords; /* valid records[] */
	__u8 overflow; /* more than CLS_MAX_RECORDS continue/jump rules matched */
	struct cls_record records[CLS_MAX_RECORDS];
};

/* ---------- the reduction tree ---------- */

/* Nodes 0..F_COUNT-1 are the fields (enum field).  Inner node
 * CLS_LEAVES + i combines CLS_TREE[i][0] (left) with CLS_TREE[i][1]
 * (right); the last inner node is the root.  Fields often named together
 * by one rule are combined first, so their classes stay few. */
#define CLS_LEAVES F_COUNT
#define CLS_INNER  (F_COUNT - 1)
#define CLS_NODES  (CLS_LEAVES + CLS_INNER)
#define CLS_ROOT   (CLS_NODES - 1)
#define CLS_TREE_INIT                                                            \
	{                                                                        \
		{ F_RADDR, F_RPORT },	       /* 13: remote side */             \
			{ F_LADDR, F_LPORT },  /* 14: local side */              \
			{ F_DIR, F_PROTO },    /* 15 */                          \
			{ F_EVENT, F_FAMILY }, /* 16 */                          \
			{ F_APP, F_CGROUP },   /* 17 */                          \
			{ F_USER, F_IFACE },   /* 18 */                          \
			{ 13, 15 },	       /* 19: remote + dir/proto */      \
			{ 14, F_ICMPTYPE },    /* 20 */                          \
			{ 16, 17 },	       /* 21 */                          \
			{ 19, 20 },	       /* 22: addresses, ports, proto */ \
			{ 21, 18 },	       /* 23: who */                     \
			{ 22, 23 },	       /* 24: root */                    \
	}

/* ---------- classes and maps ---------- */

/* The value every class lookup yields (phase-0 maps, cls_pairs, cls_info).
 * A class of node N stands for a set of entries of the flattened policy.
 * `solo` is the class of N's parent obtained when the sibling's class adds
 * nothing of its own.  `first`: when the class's first own entry decides
 * for every event that reaches N's parent with it (a terminal entry naming
 * only the parent's fields), the parent's class of that entry alone, else
 * CLS_NONE.  flags:
 *   CLS_F_WILD    the class holds entries that the sibling's fields do not
 *                 constrain (so it adds something to any sibling class);
 *   CLS_F_SHARED  the class holds entries that constrain the sibling's
 *                 fields too.
 * `sid` is the class's projection: its shared entries only (an id among
 * the projections of N's classes); `minwild` its first wild entry (CLS_NONE
 * when it has none).
 * Combining a (left) and b (right) into their parent:
 *   1. a.first == b.first != CLS_NONE: the parent class is a.first;
 *   2. else cls_pairs (node, a.id, b.id), looked up only when
 *      a.flags & b.flags (both wild, or both with shared entries);
 *   3. else, when both have shared entries, cls_pairs
 *      (node | CLS_PROJ, a.sid, b.sid): its value holds when its `below`
 *      (the entry that decides it) is before a.minwild and b.minwild;
 *   4. else b.solo when b is wild and a is not, otherwise a.solo.
 * After 1 or 4 the parent class is read in cls_info. */
struct cls_class {
	__u32 id;
	__u32 solo;
	__u32 first;
	__u32 flags;
	__u32 sid;
	__u32 minwild;
	__u32 below; /* projected pairs only (else CLS_NONE) */
};

#define CLS_PROJ     0x80000000u /* cls_pair_key.node: a pair of projections */
#define CLS_NONE     0xffffffffu
#define CLS_F_WILD   0x1
#define CLS_F_SHARED 0x2

/* Map cls_values: ARRAY.  Interval fields (everything but the addresses
 * and user): value v of field f is at index
 *   cls_config.base[f] + 1 + min(v, cls_config.clamp[f]),
 * "not carried" at cls_config.base[f]. */

/* Map cls_prefixes: LPM_TRIE.  Prefix fields F_LADDR, F_RADDR, F_USER:
 * data[0] = the field id, data[1..16] = the address (network order) or the
 * uid (big endian, 4 bytes, rest zero); prefixlen = 8 + bits.  A /0
 * prefix per field is always present, so a lookup never misses; "not
 * carried" is cls_config.absent[f]. */
struct cls_prefix_key {
	__u32 prefixlen;
	__u8 data[20]; /* bytes after data[16] are always zero */
};

/* Map cls_pairs: HASH (node, left class id, right class id) -> class of
 * node, only for pairs whose class differs from the fallback above. */
struct cls_pair_key {
	__u32 node; /* inner node, CLS_LEAVES.. */
	__u32 a;    /* left child class id */
	__u32 b;    /* right child class id */
};

/* Map cls_info: ARRAY cls_config.info_base[node] + class id -> the class
 * (its solo and flags), read after a fallback. */

/* Map cls_config: ARRAY, one entry. */
struct cls_config {
	__u32 ready;	     /* 1 once the tables are written */
	__u32 nrules;	     /* slot base of table defaults */
	__u32 base[F_COUNT]; /* interval fields: see cls_values */
	__u32 clamp[F_COUNT];
	struct cls_class absent[F_COUNT]; /* prefix fields: the class of "not carried" */
	__u32 info_base[CLS_NODES];	  /* inner nodes: see cls_info */
};

/* Which fields use cls_prefixes (the others use cls_values). */
#define CLS_IS_PREFIX_FIELD(f) ((f) == F_LADDR || (f) == F_RADDR || (f) == F_USER)

/* ---------- the layouts, as both compilers (clang -target bpf and the
 * host's) must lay them out: a change here changes RP_ABI_VERSION ---------- */

_Static_assert(sizeof(struct cls_fields) == 68 && _Alignof(struct cls_fields) == 4, "struct cls_fields layout");
_Static_assert(sizeof(struct cls_record) == 8 && _Alignof(struct cls_record) == 4, "struct cls_record layout");
_Static_assert(sizeof(struct cls_result) == 140 && _Alignof(struct cls_result) == 4, "struct cls_result layout");
_Static_assert(sizeof(struct cls_class) == 28 && _Alignof(struct cls_class) == 4, "struct cls_class layout");
_Static_assert(sizeof(struct cls_prefix_key) == 24 && _Alignof(struct cls_prefix_key) == 4,
	       "struct cls_prefix_key layout");
_Static_assert(sizeof(struct cls_pair_key) == 12 && _Alignof(struct cls_pair_key) == 4, "struct cls_pair_key layout");
_Static_assert(sizeof(struct cls_config) == 576 && _Alignof(struct cls_config) == 4, "struct cls_config layout");

#endif
