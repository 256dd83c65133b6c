/* The contract between the socket hooks (bpf/sock.bpf.c), the packet
 * datapath (bpf/rampart.bpf.c, through bpf/sockid.h) and the loader
 * (loader/sockhooks.c) for application, cgroup and user identity.
 * Fixed-size types only.  Design: docs/sockets.md.
 */
#ifndef RAMPART_SOCK_H
#define RAMPART_SOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "rampart_names.h"

/* Map rp_apps: HASH executable identity -> app id (1..N, the policy's
 * numbering).  An application is a path: the directory that holds the
 * executable (its inode) and the file's name there (rp_name_hash).  A new
 * file renamed over the name (a package upgrade) is the same application;
 * a hard link or copy elsewhere is not; a recycled inode number of the
 * file means nothing (docs/sockets.md, "Who is calling").  dev is the
 * kernel's encoding of the file system (major << 20 | minor, as
 * super_block.s_dev).  The loader resolves each application path of the
 * policy (symlinks followed) at apply. */
struct rp_app_key {
	__u64 dir_ino;
	__u64 name_hash;
	__u32 dev;
	__u32 pad;
};

/* The hash of a file name, both sides: 8-byte words in memory order (the
 * last one zero-padded) mixed in one by one, starting from the length. */
#define RP_NAME_MAX 255
static inline __u64 rp_name_mix(__u64 h, __u64 w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

#define RP_APP_PATH_LEN 256

/* Map rp_app_info: ARRAY app id -> what was approved at apply (user space
 * only: `status` and `check` compare it with the file on disk now). */
struct rp_app_info {
	char path[RP_APP_PATH_LEN];
	__u8 sha256[32];
	__u64 ino;
	__u64 size;
	__u32 dev;
	__u32 present; /* 1: the file existed at apply (else it matches nothing) */
};

/* A cgroup is its path under the cgroup2 root, not the id it had at apply:
 * a service restarted by systemd (rmdir + mkdir) or a cgroup created after
 * apply at a named path is the same cgroup (docs/sockets.md, "Who is
 * calling").  Map rp_cgroup_paths: HASH (path hash, level) -> the policy's
 * cgroup value (preorder number, see policy.h), filled at apply.  The hash
 * of a path is built from the root down: the root (level 0) hashes to 0,
 * a child to rp_cg_path_mix(parent's hash, rp_cg_name_hash(its name)). */
struct rp_cgroup_path_key {
	__u64 hash;
	__u32 level;
	__u32 pad;
};

/* A cgroup's name: its 8-byte words in memory order (the last one
 * zero-padded) mixed in from 0, then its length. */
static inline __u64 rp_cg_path_mix(__u64 parent, __u64 name_hash)
{
	return rp_name_mix(parent ^ 0x5250434750415448ull /* "RPCGPATH" */, name_hash);
}

/* Map rp_cgroups: LRU_HASH cgroup id (the cgroup2 directory's inode
 * number, never reused while the system runs) -> the cgroup's own value
 * (0: the policy does not name its path).  A cache of rp_cgroup_paths:
 * the loader writes the named cgroups that exist at apply, the socket
 * hooks every cgroup they resolve by path (named or not), so that tc
 * egress, which cannot read paths, finds them by id.  RP_CGROUP_CACHE
 * entries beyond the named ones; an evicted entry is resolved again. */
#define RP_CGROUP_CACHE 4096

/* Map rp_cgroup_info: ARRAY i (1..ncgroups, the policy's preorder value)
 * -> the named cgroup and its id at apply (user space only: `status` says
 * which were re-created or created since). */
struct rp_cgroup_info {
	char path[RP_APP_PATH_LEN]; /* as the policy names it, relative to the cgroup2 mount */
	__u64 id;		    /* its id at apply (0: it did not exist) */
};

/* Map rp_sock_config: ARRAY, one entry (policy-scoped). */
#define RP_ANCESTRY_MAX_DEPTH 8
struct rp_sock_config {
	__u32 ancestry;	   /* option ancestry on: judge `network` for each ancestor too */
	__u32 max_depth;   /* ancestors judged (<= RP_ANCESTRY_MAX_DEPTH) */
	__u32 ready;	   /* 1 once the loader filled rp_apps / rp_cgroups */
	__u32 userns;	   /* option separate-userns on: a task outside the initial user namespace
			    * has no application identity */
	__u32 app_changed; /* option app-changed: enum rp_app_changed (rampart_ask.h) */
	__u32 ncgroups;	   /* cgroups the policy names (0: no cgroup walk) */
};

/* Map rp_listeners: HASH (network namespace, proto, local port, local
 * address) -> the identity of the process that bound it, written by the
 * post_bind hooks (and for a listen() without bind() by the sock_ops
 * hook), removed by the sock_release hook, read by the XDP program when it
 * judges an `accept` or `receive` event.  addr is in network order, IPv4
 * as ::ffff:a.b.c.d; all zeroes for a wildcard bind (0.0.0.0 or ::).
 * The first owner keeps its record: a bind of the same key by another uid
 * (SO_REUSEADDR, SO_REUSEPORT) is counted and changes nothing; by the same
 * uid it replaces the record (a service's new process).  docs/sockets.md,
 * "accept and receive". */
struct rp_owner_key {
	__u64 netns; /* the network namespace's cookie (bpf_get_netns_cookie; the datapath: rp_netns) */
	__u32 addr[4];
	__u16 port; /* host order */
	__u8 proto;
	__u8 pad[5];
};

/* Map rp_listen_unowned: ARRAY port -> how many sockets bound to that
 * port (any address, protocol and namespace) have no owner record because
 * rp_listeners was full.  While it is not 0, an inbound event to the port
 * that finds no record for its exact address is judged as one of an
 * unknown owner, not with a wildcard socket's identity (fail closed). */
#define RP_PORTS 65536

struct rp_owner {
	__u32 app;    /* app id in the policy that was in force at bind (0: not named) */
	__u32 cgroup; /* cgroup value (0: no named ancestor) */
	__u32 uid;
	__u32 pid;    /* tgid of the process that bound */
	__u64 cookie; /* the socket's cookie: release removes only its own entry */
	/* raw identity, so that a new apply can renumber app and cgroup */
	struct rp_app_key exe;
	__u64 cgroup_id; /* the process's cgroup */
	__u64 ino;	 /* the executable file's inode (ask: the agent checks /proc/PID/exe) */
	/* 1: its listen() was refused after the call (a listen() without
	 * bind(), judged by the sock_ops hook, which cannot fail the call):
	 * every inbound event to it is dropped, counted under rule slot -
	 * while the generation and mode it was judged under are in force.
	 * Otherwise the mark is unjudged (the event is judged by the inbound
	 * rules) until apply judges the listen again (loader/sockhooks.c). */
	__u32 refused;
	__u32 slot;
	__u32 gen;   /* the generation that judged the listen */
	__u8 mode;   /* the mode it was judged in (enum rp_mode) */
	__u8 family; /* 4 or 6: the family of the bound address (a wildcard's key has none) */
	__u8 pad[2];
};

#define RP_LISTENERS_MAX 16384

/* Map rp_sk_marks: SK_STORAGE socket -> judgement made at the socket.  A
 * socket whose connect() or sendto() was allowed by the socket hooks is
 * marked; tc egress then lets the flow's first packet start a conntrack
 * entry without judging it again (one judgement per flow) - as long as
 * the generation and the mode it was judged under are still in force.
 * Otherwise tc egress judges the flow again, with the identity kept here
 * (docs/datapath.md, "Under attack"). */
struct rp_sk_mark {
	__u32 slot;	       /* the rule that allowed it (RP_SLOT_NONE: none) */
	__u8 event;	       /* EVENT_CONNECT or EVENT_SEND */
	__u8 allowed;	       /* 1: the socket's outbound traffic was allowed at the socket */
	__u8 owns;	       /* 1: `owner` is this socket's entry in rp_listeners */
	__u8 mode;	       /* the mode it was judged in (enum rp_mode) */
	__u32 gen;	       /* the generation of the hooks that judged it */
	__u32 uid;	       /* who was judged: the caller of connect()/sendto() ... */
	struct rp_app_key exe; /* ... and its executable */
	/* the release hook cannot read the bound address: it is kept here */
	struct rp_owner_key owner;
	/* unconnected UDP: the last peer a datagram was received from (recvmsg
	 * hook).  It passed the firewall to get here, so a sendto() back to it
	 * within the UDP timeout, under the same generation and mode, is the
	 * reply of an allowed flow, not a new `send` event. */
	__u32 peer_addr[4];
	__u16 peer_port; /* host order; 0: none */
	__u8 peer_mode;
	__u8 unowned; /* 1: bound while rp_listeners was full: counted in rp_listen_unowned */
	__u32 peer_gen;
	__u64 peer_ns; /* bpf_ktime_get_ns() when it was received */
	__u8 bound;    /* 1: its bind() was judged (listen() then is not judged again) */
	__u8 pad2[7];
};

/* ---------- the layouts, as both compilers (clang -target bpf and the
 * host's) must lay them out: a change here changes RP_ABI_VERSION ---------- */

_Static_assert(sizeof(struct rp_app_key) == 24 && _Alignof(struct rp_app_key) == 8, "struct rp_app_key layout");
_Static_assert(sizeof(struct rp_app_info) == 312 && _Alignof(struct rp_app_info) == 8, "struct rp_app_info layout");
_Static_assert(sizeof(struct rp_sock_config) == 24 && _Alignof(struct rp_sock_config) == 4,
	       "struct rp_sock_config layout");
_Static_assert(sizeof(struct rp_cgroup_path_key) == 16 && _Alignof(struct rp_cgroup_path_key) == 8,
	       "struct rp_cgroup_path_key layout");
_Static_assert(sizeof(struct rp_cgroup_info) == 264 && _Alignof(struct rp_cgroup_info) == 8,
	       "struct rp_cgroup_info layout");
_Static_assert(sizeof(struct rp_owner_key) == 32 && _Alignof(struct rp_owner_key) == 8, "struct rp_owner_key layout");
_Static_assert(sizeof(struct rp_owner) == 80 && _Alignof(struct rp_owner) == 8, "struct rp_owner layout");
_Static_assert(sizeof(struct rp_sk_mark) == 112 && _Alignof(struct rp_sk_mark) == 8, "struct rp_sk_mark layout");

#endif
