/* The contract between the classifier compiler (policy/classify*.c), the
 * loader that writes its tables into maps (loader/classifier_maps.c) and
 * the BPF lookup (bpf/classify.h).  Design and bounds: docs/classifier.md.
 *
 * Recursive Flow Classification: every field value is mapped to an
 * equivalence class of its field (one lookup per field), then classes are
 * combined pairwise along the fixed tree CLS_TREE (one to three lookups
 * per combination) until a class is *final*: it alone determines which
 * entry of the flattened policy decides and which continue/jump rules
 * matched before it.  The number of lookups is bounded: it does not depend
 * on the number of rules.
 *
 * Where the cross products of a policy would explode, the compiler splits
 * the policy into parts (at most CLS_MAX_PARTS, each its own tree) and
 * may leave wide port and address conditions out of a part's tree: they
 * are then checked directly on the few candidates the tree leaves
 * (at most CLS_MAX_CANDS).
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

/* Map cls_actions: ARRAY action id -> cls_result. */
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
 * by one rule are combined first, so their classes stay few, and the
 * remote side (what blocklists name) is combined first, so that an event
 * a blocklist decides leaves the tree early. */
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

/* ---------- class handles ---------- */

/* What every lookup yields: a class of a node, as a 32-bit handle.  The
 * low 24 bits are the class id; the flags say what the node's parent
 * needs to know to combine it with its sibling's class:
 *   CLS_H_WILD    the class holds entries that the sibling's fields do not
 *                 constrain (so it adds something to any sibling class);
 *   CLS_H_SHARED  the class holds entries that constrain the sibling's
 *                 fields too;
 *   CLS_H_FIRST   its first entry decides for every event that reaches the
 *                 parent with it (see cls_info.first);
 *   CLS_H_FINAL   the class alone decides the event, whatever the other
 *                 fields are: the low 24 bits are then a result id (an
 *                 action id in cls_actions, or for a part with candidates
 *                 a candidate list, see cls_cands), and the tree stops. */
#define CLS_H_ID     0x00ffffffu
#define CLS_H_WILD   0x01000000u
#define CLS_H_SHARED 0x02000000u
#define CLS_H_FIRST  0x04000000u
#define CLS_H_FINAL  0x08000000u
#define CLS_NONE     0xffffffffu

/* ---------- the tables: one array of 64-byte blocks ---------- */

/* Map cls_tab: ARRAY of blocks.  Everything but the actions lives in it,
 * addressed as one array of 32-bit words (word w = block w / 16, word
 * w % 16), so every lookup is an array lookup the verifier inlines:
 *  - values of interval fields: word base + 1 + min(v, clamp) is the
 *    handle of v, word base that of "not carried";
 *  - tries of prefix fields (addresses, uid): see CLS_T_*;
 *  - dense combination tables: word base + a * nb + b;
 *  - sparse combination tables (buckets) and the per-class cls_info that
 *    their fallback reads;
 *  - candidate lists and their checks (parts with candidates). */
#define CLS_BLOCK_WORDS 16
struct cls_block {
	__u32 w[CLS_BLOCK_WORDS];
};

/* Trie of a prefix field: a multibit trie with leaf pushing.  An entry
 * without CLS_T_CHILD is the handle of the longest matching prefix; with
 * it, bits 0..29 are the block of the child node, which consumes the next
 * 8 key bits (CLS_T_STRIDE8: 16 blocks, 256 entries) or 4 (one block).
 * Keys: IPv4 (::ffff:a.b.c.d) and uids 32 bits, other IPv6 128 bits. */
#define CLS_T_CHILD	0x80000000u
#define CLS_T_STRIDE8	0x40000000u
#define CLS_T_NODE	0x3fffffffu
#define CLS_T_MAX_STEPS 32 /* 128 bits, 4 at a time */

/* Sparse combination: 2-choice hashing into buckets of 4 pairs.  A pair
 * (a, b) -> r, or a projection pair (CLS_PROJ | sid a, sid b) -> r valid
 * when its `below` entry comes before both classes' first wild entries.
 * a == CLS_NONE: empty slot. */
#define CLS_PROJ 0x80000000u
struct cls_pair {
	__u32 a, b, r, below;
};
#define CLS_BUCKET_PAIRS 4

/* Per class of a child of a sparse node (4 words at info + 4 * id), what
 * the parent's fallback needs:
 *   solo     the parent's class when the sibling's class adds nothing;
 *   first    (with CLS_H_FIRST) the parent's class of the class's first
 *            entry alone: when both children have the same one, that is
 *            the parent's class;
 *   sid      the class's projection (its shared entries only);
 *   minwild  its first wild entry (CLS_NONE when none).
 * Combining a (left) and b (right):
 *   1. both flags share WILD or SHARED: the stored pair (a, b);
 *   2. both FIRST with the same `first`: that;
 *   3. both SHARED: the stored projection pair, if its `below` is before
 *      a.minwild and b.minwild;
 *   4. b.solo when b is wild and a is not, otherwise a.solo. */
struct cls_info {
	__u32 solo, first, sid, minwild;
};

/* ---------- configuration ---------- */

enum cls_leaf_mode {
	CLS_L_CONST = 0, /* no rule names the field: the handle is `konst` */
	CLS_L_VALUES,	 /* interval field, see cls_tab */
	CLS_L_TRIE,	 /* prefix field: roots root4 (32-bit keys) and root6 */
};

enum cls_node_mode {
	CLS_N_CONST = 0, /* no rule names any field below: the handle is `konst` */
	CLS_N_LEFT,	 /* no rule names a field of the right subtree: the left handle */
	CLS_N_RIGHT,	 /* ... of the left subtree: the right handle */
	CLS_N_DENSE,	 /* word base + id(a) * nb + id(b) */
	CLS_N_SPARSE,	 /* buckets at block base, `mask` + 1 of them; info_a, info_b */
};

struct cls_leaf_cfg {
	__u32 mode;
	__u32 konst; /* CONST: the handle; else the handle of "not carried" */
	__u32 base;  /* VALUES: word of "not carried"; values follow */
	__u32 clamp; /* VALUES: values above it look up `clamp` */
	__u32 root4; /* TRIE: root entry for IPv4-mapped addresses and uids */
	__u32 root6; /* TRIE: root entry for other IPv6 addresses */
};

struct cls_node_cfg {
	__u32 mode;
	__u32 konst;
	__u32 base;   /* DENSE: word; SPARSE: block of bucket 0 */
	__u32 nb;     /* DENSE: classes of the right child */
	__u32 mask;   /* SPARSE: buckets - 1 (a power of two) */
	__u32 seed;   /* SPARSE: hash seed */
	__u32 info_a; /* SPARSE: word of the left child's cls_info[0] */
	__u32 info_b; /* SPARSE: word of the right child's cls_info[0] */
};

/* Parts.  Part 0 is a tree over every field, whose final classes are
 * actions (cls_actions).  When the cross products of a policy would
 * explode, part 0 keeps the continue/jump rules and the rules no other
 * part takes, and each further part (a "keyed" part) takes terminal rules
 * that name one field narrowly (its key: local or remote address or
 * port): its tree covers the key and the small fields (direction,
 * protocol, ...), and its final classes are candidate lists, whose other
 * conditions (the other addresses and ports) are checked one by one.  The
 * event is decided by the first entry among the parts' answers. */
#define CLS_MAX_PARTS 8
#define CLS_MAX_CANDS 1024 /* candidates of one final class (incl. its end) */

/* A candidate: one block.  A list of them ends with entry CLS_NONE; the
 * id of a keyed part's final handle is the block of the list's first. */
struct cls_cand {
	__u32 entry;  /* index in the flattened policy; CLS_NONE: end of list */
	__u32 action; /* its action: decided by it (see cls_actions) */
	__u32 check;  /* CLS_C_* bits: the conditions to check */
	__u16 lport_lo, lport_hi, rport_lo, rport_hi;
	__u8 laddr_len, raddr_len, pad[2];
	__u32 laddr[4]; /* prefix, network order, bits past the length zero */
	__u32 raddr[4];
	__u32 spare[2];
};
#define CLS_C_LADDR 0x1
#define CLS_C_RADDR 0x2
#define CLS_C_LPORT 0x4
#define CLS_C_RPORT 0x8

/* One tree over (a part of) the policy. */
struct cls_part_cfg {
	struct cls_leaf_cfg leaf[CLS_LEAVES];
	struct cls_node_cfg node[CLS_INNER];
};

/* Map cls_config: ARRAY, one entry. */
struct cls_config {
	__u32 ready;  /* 1 once the tables are written */
	__u32 nrules; /* slot base of table defaults */
	__u64 tag;    /* differs for every compiled policy (cache validity) */
	__u32 nparts; /* 1 + keyed parts */
	/* with keyed parts: word rec_base + action id of part 0 is the word
	 * of its record entries: the entry of each of its records, then
	 * that of the first record past CLS_MAX_RECORDS (or CLS_NONE) */
	__u32 rec_base;
	struct cls_part_cfg part[CLS_MAX_PARTS];
};

/* ---------- the layouts, as both compilers (clang -target bpf and the
 * host's) must lay them out: a change here changes RP_ABI_VERSION ---------- */
_Static_assert(sizeof(struct cls_fields) == 68 && _Alignof(struct cls_fields) == 4, "struct cls_fields layout");
_Static_assert(sizeof(struct cls_record) == 8 && _Alignof(struct cls_record) == 4, "struct cls_record layout");
_Static_assert(sizeof(struct cls_result) == 140 && _Alignof(struct cls_result) == 4, "struct cls_result layout");
_Static_assert(sizeof(struct cls_block) == 64 && _Alignof(struct cls_block) == 4, "struct cls_block layout");
_Static_assert(sizeof(struct cls_pair) == 16 && _Alignof(struct cls_pair) == 4, "struct cls_pair layout");
_Static_assert(sizeof(struct cls_info) == 16 && _Alignof(struct cls_info) == 4, "struct cls_info layout");
_Static_assert(sizeof(struct cls_cand) == 64 && _Alignof(struct cls_cand) == 4, "struct cls_cand layout");
_Static_assert(sizeof(struct cls_leaf_cfg) == 24 && _Alignof(struct cls_leaf_cfg) == 4, "struct cls_leaf_cfg layout");
_Static_assert(sizeof(struct cls_node_cfg) == 32 && _Alignof(struct cls_node_cfg) == 4, "struct cls_node_cfg layout");
_Static_assert(sizeof(struct cls_config) == 24 + CLS_MAX_PARTS * (13 * 24 + 12 * 32) &&
		       _Alignof(struct cls_config) == 8,
	       "struct cls_config layout");

/* Which fields use tries (the others use value arrays). */
#define CLS_IS_PREFIX_FIELD(f) ((f) == F_LADDR || (f) == F_RADDR || (f) == F_USER)

/* The hash of sparse nodes (same in BPF and in the compiler). */
static inline __u32 cls_hash1(__u32 a, __u32 b, __u32 seed)
{
	__u32 h = a * 0x9E3779B1u ^ (b + seed) * 0x85EBCA77u;
	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	h ^= h >> 12;
	return h;
}

static inline __u32 cls_hash2(__u32 h1)
{
	__u32 h = h1 * 0x297A2D39u;
	h ^= h >> 16;
	return h;
}

#endif
