/* The packet classifier, BPF side: the maps the loader fills from the
 * compiled tables (policy/classify.c, written by loader/classifier_maps.c)
 * and rp_classify(), a fixed sequence of map lookups that finds the first
 * matching entry of the flattened policy and the continue/jump rules that
 * matched before it.  The design, and why it is exact: docs/classifier.md.
 *
 * Lookups per event, whatever the number of rules:
 *   1 cls_config + 13 field lookups (10 cls_values, 3 cls_prefixes)
 *   + 12 combinations of 1 to 3 lookups (cls_pairs by class, cls_pairs by
 *     projection, cls_info; see cls_class in rampart_classifier.h)
 *   + 1 cls_actions                                  = 27 to 51.
 * The user-space simulator cls_lookup() (policy/classify.c) performs
 * exactly the same steps; tests compare both with the reference walk.
 *
 * max_entries below are placeholders: the loader sets the real sizes from
 * cls_tables_sizes() with bpf_map__set_max_entries before loading.
 */
#ifndef RP_CLASSIFY_H
#define RP_CLASSIFY_H

#include "rampart_types.h"
#include "rampart_classifier.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_config);
} RP_MAP_CLS_CONFIG SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_class);
} RP_MAP_CLS_VALUES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cls_prefix_key);
	__type(value, struct cls_class);
} RP_MAP_CLS_PREFIXES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct cls_pair_key);
	__type(value, struct cls_class);
} RP_MAP_CLS_PAIRS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_class);
} RP_MAP_CLS_INFO SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cls_result);
} RP_MAP_CLS_ACTIONS SEC(".maps");

/* Class of an interval field's value (cls_values). */
/* The helpers are inlined: a BPF-to-BPF call and its return cost more than
 * the lookup itself on CPUs with return-stack mitigations (AMD "Safe
 * RET"), and the compiler reuses the keys' stack slots, so the judging
 * path stays within the 512-byte stack (the verifier checks it). */
static __always_inline int cls_leaf_value(const struct cls_config *c, int field, __u32 v, int carried,
					  struct cls_class *out)
{
	__u32 idx = c->base[field];

	if (carried) {
		__u32 clamp = c->clamp[field];
		idx += 1 + (v > clamp ? clamp : v);
	}
	struct cls_class *cl = bpf_map_lookup_elem(&cls_values, &idx);
	if (!cl)
		return -1;
	*out = *cl;
	return 0;
}

/* Class of an address or uid (cls_prefixes); bytes are in network order,
 * len 16 or 4, 0 when the event does not carry the field. */
static __always_inline int cls_leaf_prefix(const struct cls_config *c, int field, const __u8 *bytes, int len,
					   struct cls_class *out)
{
	if (len != 16 && len != 4) {
		*out = c->absent[field];
		return 0;
	}
	struct cls_prefix_key k;
	__builtin_memset(&k, 0, sizeof(k));
	k.prefixlen = 8 + 8 * len;
	k.data[0] = field;
#pragma unroll
	for (int i = 0; i < 16; i++)
		if (i < len)
			k.data[1 + i] = bytes[i];
	struct cls_class *cl = bpf_map_lookup_elem(&cls_prefixes, &k);
	if (!cl)
		return -1;
	*out = *cl;
	return 0;
}

/* Class of inner node `node` from its children's classes a (left), b (right). */
static __always_inline int cls_combine(const struct cls_config *c, __u32 node, const struct cls_class *a,
				       const struct cls_class *b, struct cls_class *out)
{
	struct cls_class *v = 0;
	__u32 idx;

	if (a->first != CLS_NONE && a->first == b->first) {
		idx = c->info_base[node] + a->first;
	} else {
		__u32 both = a->flags & b->flags;
		if (both) { /* only such pairs can be stored */
			struct cls_pair_key k = { .node = node, .a = a->id, .b = b->id };
			v = bpf_map_lookup_elem(&cls_pairs, &k);
		}
		if (!v && (both & CLS_F_SHARED)) {
			struct cls_pair_key k = { .node = node | CLS_PROJ, .a = a->sid, .b = b->sid };
			v = bpf_map_lookup_elem(&cls_pairs, &k);
			if (v && !(v->below < a->minwild && v->below < b->minwild))
				v = 0;
		}
		int b_only = (b->flags & CLS_F_WILD) && !(a->flags & CLS_F_WILD);
		idx = c->info_base[node] + (b_only ? b->solo : a->solo);
	}
	if (!v) {
		v = bpf_map_lookup_elem(&cls_info, &idx);
		if (!v)
			return -1;
	}
	*out = *v;
	return 0;
}

static __always_inline int cls_carried(const struct cls_fields *f, int field, int flag)
{
	return flag && !(f->absent & CLS_ABSENT(field));
}

static __always_inline int cls_prefix_len(const struct cls_fields *f, int field, int flag, int len)
{
	return cls_carried(f, field, flag) ? len : 0;
}

/* Combine the fields in the order of CLS_TREE_INIT, keeping few classes
 * alive at once (the caller's stack is small).  Returns the final class's
 * action (a map value: read-only, valid for the program run), or NULL when
 * the tables are not (fully) written. */
static __always_inline const struct cls_result *rp_classify_action(const struct cls_fields *f)
{
	__u32 zero = 0;
	const struct cls_config *c = bpf_map_lookup_elem(&cls_config, &zero);
	struct cls_class x, y, n19, n22, n23;

	if (!c || !c->ready)
		return 0;
	__u32 uid_be = bpf_htonl(f->uid);

	/* 13 = raddr x rport; 15 = dir x proto; 19 = 13 x 15 */
	if (cls_leaf_prefix(c, F_RADDR, (const __u8 *)f->raddr, cls_prefix_len(f, F_RADDR, 1, 16), &x) ||
	    cls_leaf_value(c, F_RPORT, f->rport, cls_carried(f, F_RPORT, f->has_ports), &y) ||
	    cls_combine(c, 13, &x, &y, &n19))
		return 0;
	if (cls_leaf_value(c, F_DIR, f->dir, cls_carried(f, F_DIR, 1), &x) ||
	    cls_leaf_value(c, F_PROTO, f->proto, cls_carried(f, F_PROTO, 1), &y) || cls_combine(c, 15, &x, &y, &n22) ||
	    cls_combine(c, 19, &n19, &n22, &n19))
		return 0;
	/* 14 = laddr x lport; 20 = 14 x icmptype; 22 = 19 x 20 */
	if (cls_leaf_prefix(c, F_LADDR, (const __u8 *)f->laddr, cls_prefix_len(f, F_LADDR, 1, 16), &x) ||
	    cls_leaf_value(c, F_LPORT, f->lport, cls_carried(f, F_LPORT, f->has_ports), &y) ||
	    cls_combine(c, 14, &x, &y, &n22))
		return 0;
	if (cls_leaf_value(c, F_ICMPTYPE, f->icmp_type, cls_carried(f, F_ICMPTYPE, f->has_icmp), &x) ||
	    cls_combine(c, 20, &n22, &x, &n22) || cls_combine(c, 22, &n19, &n22, &n22))
		return 0;
	/* 16 = event x family; 17 = app x cgroup; 21 = 16 x 17 */
	if (cls_leaf_value(c, F_EVENT, f->event, cls_carried(f, F_EVENT, 1), &x) ||
	    cls_leaf_value(c, F_FAMILY, f->family, cls_carried(f, F_FAMILY, 1), &y) || cls_combine(c, 16, &x, &y, &n23))
		return 0;
	if (cls_leaf_value(c, F_APP, f->app, cls_carried(f, F_APP, f->has_app), &x) ||
	    cls_leaf_value(c, F_CGROUP, f->cgroup, cls_carried(f, F_CGROUP, f->has_cgroup), &y) ||
	    cls_combine(c, 17, &x, &y, &n19) || cls_combine(c, 21, &n23, &n19, &n23))
		return 0;
	/* 18 = user x iface; 23 = 21 x 18; 24 = 22 x 23 */
	if (cls_leaf_prefix(c, F_USER, (const __u8 *)&uid_be, cls_prefix_len(f, F_USER, f->has_user, 4), &x) ||
	    cls_leaf_value(c, F_IFACE, f->iface, cls_carried(f, F_IFACE, 1), &y) || cls_combine(c, 18, &x, &y, &n19) ||
	    cls_combine(c, 23, &n23, &n19, &n23) || cls_combine(c, 24, &n22, &n23, &x))
		return 0;

	return bpf_map_lookup_elem(&cls_actions, &x.id);
}

static __always_inline int rp_classify_lookup(const struct cls_fields *f, struct cls_result *res)
{
	const struct cls_result *act = rp_classify_action(f);
	if (!act)
		return -1;
	*res = *act;
	return 0;
}

/* Classify an event.  Returns 0, or -1 when the tables are not (fully)
 * written: then *res says deny, by no rule (CLS_SLOT_NONE), nothing recorded. */
static __always_inline int rp_classify(const struct cls_fields *f, struct cls_result *res)
{
	if (rp_classify_lookup(f, res) == 0)
		return 0;
	__builtin_memset(res, 0, sizeof(*res));
	res->verdict = VERDICT_DENY;
	res->slot = CLS_SLOT_NONE;
	res->entry = CLS_SLOT_NONE;
	return -1;
}

#endif
