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
#include "config.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_LISTENERS_MAX);
	__type(key, struct rp_owner_key);
	__type(value, struct rp_owner);
} RP_MAP_LISTENERS SEC(".maps");

/* Who the policy names (include/rampart_sock.h), filled at apply: the
 * socket hooks look callers up in them, tc egress the owner of a socket
 * whose judgement went stale. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* the loader sets the number of applications */
	__type(key, struct rp_app_key);
	__type(value, __u32);
} RP_MAP_APPS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* the loader sets the number of named cgroups + RP_CGROUP_CACHE */
	__type(key, __u64);
	__type(value, __u32);
} RP_MAP_CGROUPS SEC(".maps");

/* cgroup2 nesting examined for the nearest named ancestor */
#define RP_CG_MAX_LEVEL 16

static __always_inline __u32 rp_app_of(const struct rp_app_key *k)
{
	if (!k->dir_ino)
		return 0; /* a kernel thread */
	__u32 *id = bpf_map_lookup_elem(&rp_apps, k);
	return id ? *id : 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rp_sk_mark);
} RP_MAP_SK_MARKS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} RP_MAP_LISTEN_UNOWNED SEC(".maps");

/* The network namespace the datapath judges in (its cookie, set by the
 * loader: the namespace it was applied in): owner records of sockets in
 * other namespaces (containers in the hooked cgroup) are not its. */
const volatile __u64 rp_netns = 0;

/* An `accept` / `receive` event: the identity of the local socket's owner,
 * by exact local address first, then by a wildcard bind - unless a socket
 * on that port has no record (rp_listen_unowned): the wildcard socket may
 * not be the one the event goes to.  Not found: the event carries no app,
 * cgroup or user (rules naming them do not match). */
static __always_inline struct rp_owner *rp_owner_find(const __u32 laddr[4], __u16 lport, __u8 proto)
{
	struct rp_owner_key k = { .netns = rp_netns, .port = lport, .proto = proto };
	__builtin_memcpy(k.addr, laddr, 16);
	struct rp_owner *o = bpf_map_lookup_elem(&rp_listeners, &k);
	if (!o) {
		__u32 port = lport;
		__u32 *unowned = bpf_map_lookup_elem(&rp_listen_unowned, &port);
		if (unowned && *unowned)
			return 0;
		__builtin_memset(k.addr, 0, 16);
		o = bpf_map_lookup_elem(&rp_listeners, &k);
	}
	return o;
}

/* Fills the event's identity from the owner; returns the owner (NULL:
 * unknown).  An owner whose listen was refused (rp_owner_refused) gets nothing:
 * the caller drops the event. */
static __always_inline struct rp_owner *rp_owner_fill(struct cls_fields *f)
{
	struct rp_owner *o = rp_owner_find(f->laddr, f->lport, f->proto);
	if (!o)
		return o;
	f->app = o->app;
	f->cgroup = o->cgroup;
	f->uid = o->uid;
	f->has_app = f->has_cgroup = f->has_user = 1;
	return o;
}

/* The owner's listen() was refused under the generation and mode in
 * force (bpf/sock.bpf.c, rp_sockops): every inbound event to it is
 * dropped.  A refusal of another generation or mode is no judgement: the
 * event is judged as any other, until apply judges the listen again
 * (loader/sockhooks.c). */
static __always_inline int rp_owner_refused(const struct rp_owner *o, __u32 mode)
{
	return o->refused && o->gen == rp_gen && o->mode == mode;
}

/* tc egress: what the socket hooks said about the packet's socket.
 * RP_SK_NONE: not judged there (or refused); RP_SK_PREJUDGED: allowed
 * under the generation and mode in force, the flow is tracked without a
 * second judgement (*slot: the rule); RP_SK_STALE: allowed under another
 * generation or mode (an apply, stop, shutdown since), the flow is judged
 * again as the caller judged then (*uid, *app, in the policy in force). */
enum rp_sk_judged { RP_SK_NONE, RP_SK_PREJUDGED, RP_SK_STALE };

static __always_inline int rp_sk_judged(struct __sk_buff *skb, __u32 mode, __u32 *slot, __u32 *uid, __u32 *app)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return RP_SK_NONE;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return RP_SK_NONE;
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, 0);
	if (!m || !m->allowed)
		return RP_SK_NONE;
	if (m->gen == rp_gen && m->mode == mode) {
		*slot = m->slot;
		return RP_SK_PREJUDGED;
	}
	*uid = m->uid;
	*app = rp_app_of(&m->exe);
	return RP_SK_STALE;
}

#endif
