/* What the socket hooks (bpf/sock.bpf.c) tell the packet datapath
 * (bpf/rampart.bpf.c): who owns a listening socket (for `accept` and
 * `receive` events, judged at XDP), and which sockets were already judged
 * and allowed at connect()/sendto() (so tc egress does not judge their
 * flows again).  Both objects declare these maps; the loader makes the
 * socket hooks reuse the datapath's.  See docs/sockets.md. */
#ifndef RP_SOCKID_H
#define RP_SOCKID_H

#include "rampart_sock.h"
#include "rampart_classifier.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_LISTENERS_MAX);
	__type(key, struct rp_owner_key);
	__type(value, struct rp_owner);
} RP_MAP_LISTENERS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rp_sk_mark);
} RP_MAP_SK_MARKS SEC(".maps");

/* An `accept` / `receive` event: the identity of the local socket's owner,
 * by exact local address first, then by a wildcard bind.  Not found: the
 * event carries no app, cgroup or user (rules naming them do not match). */
static __always_inline struct rp_owner *rp_owner_find(const __u32 laddr[4], __u16 lport, __u8 proto)
{
	struct rp_owner_key k = { .port = lport, .proto = proto };
	__builtin_memcpy(k.addr, laddr, 16);
	struct rp_owner *o = bpf_map_lookup_elem(&rp_listeners, &k);
	if (!o) {
		__builtin_memset(k.addr, 0, 16);
		o = bpf_map_lookup_elem(&rp_listeners, &k);
	}
	return o;
}

static __always_inline void rp_owner_fill(struct cls_fields *f)
{
	struct rp_owner *o = rp_owner_find(f->laddr, f->lport, f->proto);
	if (!o)
		return;
	f->app = o->app;
	f->cgroup = o->cgroup;
	f->uid = o->uid;
	f->has_app = f->has_cgroup = f->has_user = 1;
}

/* tc egress: was the packet's socket judged and allowed at connect() or
 * sendto()?  Then its new flow is tracked without a second judgement. */
static __always_inline int rp_sk_prejudged(struct __sk_buff *skb, __u32 *slot)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, 0);
	if (!m || !m->allowed)
		return 0;
	*slot = m->slot;
	return 1;
}

#endif
