// SPDX-License-Identifier: GPL-2.0
/* The socket hooks: application events judged where the application acts,
 * attached to a cgroup2 subtree (rampart apply --cgroup PATH).
 *
 *   cgroup/sock_create     network   (socket creation; with option ancestry
 *                                     also for each ancestor process)
 *   cgroup/connect4/6      connect   (TCP connect, UDP connect)
 *   cgroup/sendmsg4/6      send      (unconnected UDP, per datagram; a reply to
 *                                     the last peer received from is not judged)
 *   cgroup/recvmsg4/6      remembers that peer (cannot refuse: `receive`
 *                                     is judged at XDP with the owner's identity)
 *   cgroup/post_bind4/6    listen    (bind; records the owner for accept/receive)
 *   sockops (TCP_LISTEN_CB) listen    (listen() without bind(): the port the
 *                                     kernel picked; cannot refuse, records a
 *                                     refused listener)
 *   cgroup/sock_release    removes the owner record of a closing socket
 *
 * Every event carries the caller's app (its executable's directory and
 * name, looked up in rp_apps), cgroup (the nearest named ancestor cgroup,
 * by path: rp_cgroups, rp_cgroup_paths) and uid.  It is judged by the same classifier maps, counted
 * in the same rule counters and logged in the same ring as the datapath's
 * packets: the loader makes this object reuse the datapath object's maps.
 * allow -> the call goes on; deny -> EPERM; reject -> ECONNREFUSED;
 * ask -> a question for the agent (bpf/ask.h): connect() and sendto() go
 * on and tc egress holds their packets until the answer; a socket
 * creation or bind cannot wait: it gets option ask-default (as every
 * event does when no agent is connected).  Design: docs/sockets.md,
 * docs/ask.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "rampart_types.h"
#include "rampart_maps.h"
#include "rampart_classifier.h"
#include "rampart_sock.h"
#include "log.h"
#include "classify.h"
#include "sockid.h"
#include "ftp_expect.h"
#include "ask.h"
#include "ifaces.h"
#include "entry.h"

char LICENSE[] SEC("license") = "GPL";

#define RP_AF_INET	2
#define RP_AF_INET6	10
#define RP_SOCK_STREAM	1
#define RP_SOCK_DGRAM	2
#define RP_EPERM	1
#define RP_ECONNREFUSED 111

#include "config.h"

/* Own maps, filled by the loader at apply (policy-scoped; rp_apps and
 * rp_cgroups are the datapath's, bpf/sockid.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets napps + 1 */
	__type(key, __u32);
	__type(value, struct rp_app_info);
} RP_MAP_APP_INFO SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_sock_config);
} RP_MAP_SOCK_CONFIG SEC(".maps");

/* option app-changed: the approved files' change times (loader/sockhooks.c,
 * the agent re-approves) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets napps + 1 */
	__type(key, __u32);
	__type(value, struct rp_app_stamp);
} RP_MAP_APP_STAMP SEC(".maps");

/* the named cgroups by path (include/rampart_sock.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* the loader sets ncgroups + 1 */
	__type(key, struct rp_cgroup_path_key);
	__type(value, __u32);
} RP_MAP_CGROUP_PATHS SEC(".maps");

/* what `status` compares with the cgroup2 tree now (user space only) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets ncgroups + 1 */
	__type(key, __u32);
	__type(value, struct rp_cgroup_info);
} RP_MAP_CGROUP_INFO SEC(".maps");

/* Who is calling. */
struct rp_ident {
	struct rp_app_key exe;
	__u64 cgroup_id;
	__u32 app;
	__u32 cgroup;
	__u32 uid;
	__u32 pid;
	__u64 ino;    /* the executable file's inode (the agent's questions: /proc/PID/exe is it) */
	__u8 changed; /* an approved binary changed since apply: app-changed ask, an agent to ask */
	__u8 pad[7];
};

/* RP_SOCK_HOLD: the call goes on, its packets are held until the answer.
 * RP_SOCK_ASK(_LOG): rp_sock_policy's "ask the agent" (the ask rule
 * marked log), which rp_sock_judge does in a frame of its own. */
enum rp_sock_act { RP_SOCK_ALLOW = 0, RP_SOCK_DENY, RP_SOCK_REJECT, RP_SOCK_HOLD, RP_SOCK_ASK, RP_SOCK_ASK_LOG };

/* rp_name_mix over the name's bytes in kernel memory (rampart_sock.h). */
static __always_inline __u64 rp_name_hash_kernel(const unsigned char *name, __u32 len)
{
	if (len > RP_NAME_MAX)
		len = RP_NAME_MAX;
	__u64 h = len;
	for (__u32 off = 0; off < RP_NAME_MAX + 1; off += 8) {
		if (off >= len)
			break;
		__u64 w = 0;
		if (len - off >= 8)
			bpf_probe_read_kernel(&w, 8, name + off);
		else { /* the last word: its bytes only (1 to 7) */
			__u32 n = len - off;
			asm volatile("" : "+r"(n)); /* keep the mask the verifier needs */
			bpf_probe_read_kernel(&w, n & 7, name + off);
		}
		h = rp_name_mix(h, w);
	}
	return h;
}

/* The executable of a task: its directory's inode and its name there
 * (include/rampart_sock.h, struct rp_app_key).  None for a kernel thread,
 * and with option separate-userns on for a task in a user namespace other
 * than the first (there an unprivileged user may change what the kernel
 * reports as its executable: PR_SET_MM_EXE_FILE). */
static __always_inline void rp_task_exe(struct task_struct *t, struct rp_app_key *k)
{
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	__u32 zero = 0;
	struct rp_sock_config *sc = bpf_map_lookup_elem(&rp_sock_config, &zero);
	__builtin_memset(k, 0, sizeof(*k));
	if (!exe)
		return; /* kernel thread */
	if (sc && sc->userns && BPF_CORE_READ(t, real_cred, user_ns, level) != 0)
		return;
	struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
	k->dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	k->dir_ino = BPF_CORE_READ(d, d_parent, d_inode, i_ino);
	k->name_hash = rp_name_hash_kernel(BPF_CORE_READ(d, d_name.name), BPF_CORE_READ(d, d_name.len));
}

/* ---------- the caller's cgroup: by path (include/rampart_sock.h) ---------- */

/* rp_cg_name_hash of a kernfs node's name, read from kernel memory a word
 * at a time (names are kmalloc'd: the word that holds the terminating NUL
 * is inside the allocation).  name: the address, as a number (a global
 * function takes no kernel pointer). */
__noinline __u64 rp_cg_name_hash_kernel(__u64 name)
{
	__u64 h = 0;
	__u32 len = 0;
	for (__u32 off = 0; off < RP_NAME_MAX + 9; off += 8) {
		__u64 w = 0;
		if (bpf_probe_read_kernel(&w, sizeof(w), (const void *)(name + off)))
			break;
		__u32 n = 8;
		for (__u32 i = 0; i < 8; i++)
			if (!((w >> (8 * i)) & 0xff)) {
				n = i;
				break;
			}
		if (n < 8)
			w &= (1ull << (8 * n)) - 1;
		len += n;
		if (n)
			h = rp_name_mix(h, w);
		if (n < 8)
			break;
	}
	return rp_name_mix(h, len);
}

/* The cgroup at level l on the way from the root to cg (cgroup->ancestors). */
static __always_inline struct cgroup *rp_cg_ancestor(struct cgroup *cg, __u32 l)
{
	struct cgroup *a = NULL;
	bpf_core_read(&a, sizeof(a), &cg->ancestors[l]);
	return a;
}

/* The slow way: hash the path of each of cg's ancestors-or-self from the
 * root down, look each up in rp_cgroup_paths, and remember the answer of
 * each cgroup id in rp_cgroups (0: not named).  Returns the value of the
 * deepest named one (0: none).  cg: the cgroup's address, as a number. */
__noinline __u32 rp_cgroup_resolve(__u64 cg, __u32 level)
{
	struct rp_cgroup_path_key k = {};
	__u32 found = 0;
	for (__u32 l = 0; l <= RP_CG_MAX_LEVEL; l++) {
		if (l > level)
			break;
		struct kernfs_node *kn = BPF_CORE_READ(rp_cg_ancestor((struct cgroup *)cg, l), kn);
		if (!kn)
			break;
		if (l)
			k.hash = rp_cg_path_mix(k.hash, rp_cg_name_hash_kernel((__u64)BPF_CORE_READ(kn, name)));
		k.level = l;
		__u32 *v = bpf_map_lookup_elem(&rp_cgroup_paths, &k);
		__u32 val = v ? *v : 0;
		__u64 id = BPF_CORE_READ(kn, id);
		bpf_map_update_elem(&rp_cgroups, &id, &val, BPF_ANY);
		if (val)
			found = val;
	}
	return found;
}

/* Nearest named ancestor-or-self of the current task's cgroup: walk from
 * its own level up, by id in the rp_cgroups cache; the first id not in it
 * sends the whole path to rp_cgroup_resolve (a cgroup created or
 * re-created since apply: its first socket call).  Each step is a helper
 * call and a hash lookup (about 0.1 us here: calls are what costs on CPUs
 * with return-stack mitigations), so a policy that names no cgroup skips
 * the walk, and the walk starts at the cgroup's level instead of the
 * deepest one possible (docs/performance.md, "Socket hooks"). */
static __always_inline __u32 rp_cgroup_value(void)
{
	__u32 zero = 0;
	struct rp_sock_config *sc = bpf_map_lookup_elem(&rp_sock_config, &zero);
	if (sc && !sc->ncgroups)
		return 0;
	int level = bpf_get_current_task_btf()->cgroups->dfl_cgrp->level;
	if (level < 0 || level > RP_CG_MAX_LEVEL)
		level = RP_CG_MAX_LEVEL;
	for (int l = RP_CG_MAX_LEVEL; l >= 0; l--) {
		if (l > level)
			continue;
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		__u32 *v = bpf_map_lookup_elem(&rp_cgroups, &id);
		if (!v) {
			struct task_struct *t = (struct task_struct *)bpf_get_current_task();
			return rp_cgroup_resolve((__u64)BPF_CORE_READ(t, cgroups, dfl_cgrp), level);
		}
		if (*v)
			return *v;
	}
	return 0;
}

/* Kernels before 6.11 keep the change time in a timespec64. */
struct inode___ts {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

/* The inode change time of a task's executable; 0 when unknown.  Kernels
 * with multigrain time stamps keep a flag in bit 31 of the nanoseconds. */
static __always_inline int rp_exe_ctime(struct task_struct *t, __s64 *sec, __u32 *nsec)
{
	struct inode *ino = BPF_CORE_READ(t, mm, exe_file, f_inode);
	if (!ino)
		return 0;
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		*sec = BPF_CORE_READ(ino, i_ctime_sec);
		*nsec = BPF_CORE_READ(ino, i_ctime_nsec) & 0x7fffffff;
		return 1;
	}
	struct inode___ts *old = (void *)ino;
	if (bpf_core_field_exists(old->__i_ctime)) {
		*sec = BPF_CORE_READ(old, __i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(old, __i_ctime.tv_nsec);
		return 1;
	}
	return 0;
}

/* option app-changed: an approved application whose file is not the one
 * approved (another change time) keeps its rules (keep), loses them (deny,
 * or a change answered deny), or (ask) is asked about while an agent is
 * connected, else keeps them. */
static __always_inline void rp_app_check(struct task_struct *t, struct rp_ident *id)
{
	__u32 zero = 0, app = id->app;
	struct rp_sock_config *sc = bpf_map_lookup_elem(&rp_sock_config, &zero);
	struct rp_app_stamp *st = bpf_map_lookup_elem(&rp_app_stamp, &app);
	__s64 sec;
	__u32 nsec;
	if (!sc || !st || st->state == RP_APPS_NONE || sc->app_changed == RP_APPCH_KEEP ||
	    !rp_exe_ctime(t, &sec, &nsec))
		return;
	if (sec == st->ctime_sec && nsec == st->ctime_nsec)
		return;
	if (sc->app_changed == RP_APPCH_DENY || st->state == RP_APPS_DENIED)
		id->app = 0;
	else if (rp_ask_agent_alive(bpf_ktime_get_ns()))
		id->changed = 1;
}

static __always_inline void rp_ident_current(struct rp_ident *id)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	rp_task_exe(t, &id->exe);
	id->ino = id->exe.dir_ino ? BPF_CORE_READ(t, mm, exe_file, f_inode, i_ino) : 0;
	id->app = rp_app_of(&id->exe);
	id->changed = 0;
	if (id->app)
		rp_app_check(t, id);
	id->cgroup_id = bpf_get_current_cgroup_id();
	id->cgroup = rp_cgroup_value();
	id->uid = (__u32)bpf_get_current_uid_gid();
	id->pid = bpf_get_current_pid_tgid() >> 32;
}

static __always_inline void rp_fields_ident(struct cls_fields *f, const struct rp_ident *id)
{
	f->app = id->app;
	f->cgroup = id->cgroup;
	f->uid = id->uid;
	f->has_app = f->has_cgroup = f->has_user = 1;
}

static __always_inline void rp_sock_log(const struct rp_config *cfg, __u32 slot, __u8 verdict, __u8 flags,
					const struct cls_fields *f, const struct rp_ident *id)
{
	struct rp_log_event *e = rp_log_begin(cfg, slot);
	if (!e)
		return;
	e->verdict = verdict;
	e->event = f->event;
	e->dir = f->dir;
	e->family = f->family;
	e->proto = f->proto;
	e->flags = flags | RP_LOGF_SOCKET;
	if (!(f->absent & CLS_ABSENT(F_LPORT)) && f->has_ports)
		e->lport = f->lport;
	if (!(f->absent & CLS_ABSENT(F_RPORT)) && f->has_ports)
		e->rport = f->rport;
	if (!(f->absent & CLS_ABSENT(F_LADDR)))
		__builtin_memcpy(e->laddr, f->laddr, 16);
	if (!(f->absent & CLS_ABSENT(F_RADDR)))
		__builtin_memcpy(e->raddr, f->raddr, 16);
	e->cgroup_id = id->cgroup_id;
	e->uid = f->uid;
	e->app_id = f->app;
	e->pid = id->pid;
	rp_log_send(e, slot);
}

/* What a verdict does to the call (counted). */
static __always_inline int rp_sock_act_of(__u32 verdict)
{
	if (verdict == RP_VERDICT_HOLD) {
		rp_count(RPC_ASK_HELD);
		return RP_SOCK_HOLD;
	}
	if (verdict == VERDICT_ALLOW) {
		rp_count(RPC_SOCK_ALLOW);
		return RP_SOCK_ALLOW;
	}
	if (verdict == VERDICT_REJECT) {
		rp_count(RPC_SOCK_REJECT);
		return RP_SOCK_REJECT;
	}
	rp_count(RPC_SOCK_DENY);
	return RP_SOCK_DENY;
}

/* Who asks: the caller, its parents (nearest first) and its name. */
static __always_inline void rp_ask_caller(struct rp_question *r, const struct rp_ident *id)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	rp_ask_who(r, id->ino, id->exe.dev, id->cgroup_id, id->pid, id->uid, id->app, RP_QF_SOCKET);
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	for (int i = 0; i < RP_ASK_ANCESTRY; i++) {
		t = BPF_CORE_READ(t, real_parent);
		__u32 pid = t ? BPF_CORE_READ(t, tgid) : 0;
		if (!pid)
			break;
		r->ancestors[i] = pid;
		if (pid == 1)
			break;
	}
}

/* An event that reached `ask` (or kind app-changed): its verdict when its
 * question was answered, RP_VERDICT_HOLD while the question is open (a
 * connect() or sendto(): the call goes on, tc egress holds its packets),
 * else ask-default (no agent, rate, a socket creation or bind, which
 * cannot wait: the question is still asked, its answer counts from the
 * next time). */
static __always_inline __u32 rp_sock_ask(const struct rp_config *cfg, struct cls_fields *f, const struct rp_ident *id,
					 __u32 slot, __u8 kind)
{
	__u64 now = bpf_ktime_get_ns();
	int holdable = f->event == EVENT_CONNECT || f->event == EVENT_SEND;
	struct rp_ask_key key;
	struct rp_ask_q *q;
	rp_ask_key_of(&key, f, id->ino, id->exe.dev, kind);
	int w = rp_ask_where(cfg, &key, &q, now);
	if (w == RP_ASKW_ANSWERED && q)
		return q->verdict;
	if (w == RP_ASKW_OPEN && q) {
		__sync_fetch_and_add(&q->count, 1);
		rp_count(RPC_ASK_FOLDED);
		return holdable ? RP_VERDICT_HOLD : cfg->ask_default;
	}
	struct rp_question *r = rp_ask_begin(now);
	if (!r)
		return cfg->ask_default;
	rp_ask_fill(r, f);
	rp_ask_caller(r, id);
	if (holdable)
		r->flags |= RP_QF_HELD;
	if (!rp_ask_commit(r, &key, slot, now))
		return cfg->ask_default;
	return holdable ? RP_VERDICT_HOLD : cfg->ask_default;
}

/* The configuration a socket event is judged by, NULL when it is not
 * judged: *act is then deny (no configuration written yet) or allow
 * (outside the enforcing mode the socket hooks allow everything: the
 * packet path enforces the mode; boot, open and lockdown are about
 * traffic). */
static __always_inline struct rp_config *rp_sock_enforcing(int *act)
{
	struct rp_config *cfg = rp_config_own();
	*act = cfg ? RP_SOCK_ALLOW : RP_SOCK_DENY;
	return cfg && cfg->mode == RP_MODE_ENFORCING ? cfg : NULL;
}

/* Judge one socket event by the policy: counters and log as in the
 * datapath.  Returns enum rp_sock_act (RP_SOCK_ASK*: the agent decides,
 * see rp_sock_judge); *slot gets the deciding rule. */
__noinline int rp_sock_policy(struct cls_fields *f, const struct rp_ident *id, __u32 *slot)
{
	if (!f || !id || !slot)
		return RP_SOCK_DENY;
	*slot = RP_SLOT_NONE;
	int act;
	struct rp_config *cfg = rp_sock_enforcing(&act);
	if (!cfg)
		return act;
	/* the action and records are read in place: the hooks run in process
	 * context, where a per-CPU scratch copy could be overwritten by
	 * preemption */
	struct cls_decision d;
	if (rp_classify_decide(f, &d)) { /* tables not (fully) written: deny by no rule */
		rp_count(RPC_SOCK_DENY);
		return RP_SOCK_DENY;
	}
	const struct cls_result *res = d.act;
	__u32 nrec = d.nrec;
	for (__u32 i = 0; i < CLS_MAX_RECORDS; i++) {
		if (i >= nrec)
			break;
		__u32 rs = d.rec->records[i].slot;
		rp_rule_hit(rs, 0);
		if (d.rec->records[i].log)
			rp_sock_log(cfg, rs, d.rec->records[i].verdict, RP_LOGF_RECORD, f, id);
	}
	__u32 verdict = res->verdict;
	*slot = res->slot;
	rp_rule_hit(res->slot, 0);
	if (verdict == VERDICT_ASK)
		return res->log ? RP_SOCK_ASK_LOG : RP_SOCK_ASK;
	if (res->log)
		rp_sock_log(cfg, res->slot, verdict, 0, f, id);
	return rp_sock_act_of(verdict);
}

/* An event that reached ask rule slot (kind RP_ASKK_RULE; log: the rule is
 * marked log), or the first event of a changed application (kind
 * RP_ASKK_APP_CHANGED: the answer re-approves it or not): the agent's
 * answer as enum rp_sock_act. */
__noinline int rp_sock_asked(struct cls_fields *f, const struct rp_ident *id, __u32 slot, __u32 kind, __u32 log)
{
	if (!f || !id)
		return RP_SOCK_DENY;
	int act;
	struct rp_config *cfg = rp_sock_enforcing(&act);
	if (!cfg)
		return act;
	__u32 verdict = rp_sock_ask(cfg, f, id, slot, (__u8)kind);
	if (log)
		rp_sock_log(cfg, slot, verdict == RP_VERDICT_HOLD ? VERDICT_ASK : verdict, RP_LOGF_ASK, f, id);
	return rp_sock_act_of(verdict);
}

/* Judge one socket event (enum rp_sock_act; *slot: the deciding rule):
 * the policy, and the agent when it says ask.  A changed application
 * (rp_ident.changed) is asked about before its rules judge it again. */
static __always_inline int rp_sock_judge(struct cls_fields *f, const struct rp_ident *id, __u32 *slot)
{
	if (id->changed && (f->event == EVENT_CONNECT || f->event == EVENT_SEND)) {
		/* the calls that can wait for the answer */
		*slot = RP_SLOT_NONE;
		return rp_sock_asked(f, id, RP_SLOT_NONE, RP_ASKK_APP_CHANGED, 0);
	}
	int act = rp_sock_policy(f, id, slot);
	if (act == RP_SOCK_ASK || act == RP_SOCK_ASK_LOG)
		act = rp_sock_asked(f, id, *slot, RP_ASKK_RULE, act == RP_SOCK_ASK_LOG);
	return act;
}

/* A held connect()/sendto(): tc egress finds who asked on the socket. */
static __always_inline void rp_mark_asked(struct bpf_sock *sk, const struct rp_ident *id, __u32 slot)
{
	struct rp_sk_ask *a = bpf_sk_storage_get(&rp_sk_ask, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!a)
		return;
	a->ino = id->ino;
	a->cgroup_id = id->cgroup_id;
	a->dev = id->exe.dev;
	a->app = id->app;
	a->uid = id->uid;
	a->pid = id->pid;
	a->slot = slot;
	a->kind = id->changed ? RP_ASKK_APP_CHANGED : RP_ASKK_RULE; /* see rp_sock_judge */
}

/* What the hook returns: 1 lets the call go on; 0 fails it with EPERM,
 * or with the errno set by bpf_set_retval (reject: ECONNREFUSED). */
static __always_inline int rp_sock_ret(int act)
{
	if (act == RP_SOCK_ALLOW || act == RP_SOCK_HOLD)
		return 1;
	if (act == RP_SOCK_REJECT)
		bpf_set_retval(-RP_ECONNREFUSED);
	return 0;
}

static __always_inline __u8 rp_sock_proto(__u32 type, __u32 protocol)
{
	if (protocol)
		return protocol;
	if (type == RP_SOCK_STREAM)
		return 6;
	if (type == RP_SOCK_DGRAM)
		return 17;
	return 0;
}

static __always_inline int rp_has_ports(__u8 proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

static __always_inline void rp_v4_mapped(__u32 *a, __u32 ip4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = ip4;
}

static __always_inline int rp_is_v4_mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

static __always_inline int rp_is_zero(const __u32 *a)
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* Remember that this socket's outbound traffic was allowed here, under
 * this generation and mode and for whom, so that tc egress does not judge
 * its flow again while they hold, and judges it as the same caller when
 * they do not (bpf/sockid.h). */
static __always_inline void rp_mark_allowed(struct bpf_sock *sk, __u8 event, __u32 slot, const struct rp_ident *id)
{
	if (!sk)
		return;
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	struct rp_config *cfg = rp_config_own();
	if (!m || !cfg)
		return;
	m->slot = slot;
	m->event = event;
	m->gen = rp_gen;
	m->mode = (__u8)cfg->mode;
	m->uid = id->uid;
	m->exe = id->exe;
	m->allowed = 1;
}

/* Does anyone read the mark of a socket whose traffic goes to raddr?
 * A TCP socket's mark is read only by tc egress (bpf/sockid.h; a UDP
 * socket's by the sendmsg hooks too).  Traffic to a loopback address
 * leaves by lo (ifindex 1 in every namespace): when lo has no rampart
 * programs (it is covered only when named: --iface lo) no tc egress
 * judges it, so a TCP socket's mark is skipped.
 * Creating the socket storage is the largest part of a connect() hook's
 * cost (docs/performance.md, "Socket hooks"). */
static __always_inline int rp_mark_needed(const struct cls_fields *f)
{
	const __u32 *a = f->raddr;
	if (f->proto != 6)
		return 1;
	int loopback = rp_is_v4_mapped(a) ? (bpf_ntohl(a[3]) >> 24) == 127
					  : (a[0] | a[1] | a[2]) == 0 && a[3] == bpf_htonl(1);
	if (!loopback)
		return 1;
	struct rp_iface_key lo = { .ifindex = 1 };
	return bpf_map_lookup_elem(&rp_ifaces, &lo) != 0;
}

/* A judgement kept in a mark still holds: same generation, same mode. */
static __always_inline int rp_mark_current(__u32 gen, __u8 mode)
{
	struct rp_config *cfg = rp_config_own();
	return cfg && gen == rp_gen && mode == cfg->mode;
}

/* ---------- network: socket creation ---------- */

static __always_inline int rp_ancestry(const struct rp_sock_config *sc, struct cls_fields *f, struct rp_ident *id,
				       __u32 *slot)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 depth = sc->max_depth;
	for (int i = 0; i < RP_ANCESTRY_MAX_DEPTH; i++) {
		if (i >= depth)
			break;
		t = t->real_parent;
		if (!t)
			break;
		__u32 pid = t->tgid;
		if (pid <= 1)
			break; /* init is the system itself, not a launcher to distrust */
		rp_task_exe(t, &id->exe);
		id->app = rp_app_of(&id->exe);
		id->uid = BPF_CORE_READ(t, real_cred, uid.val);
		id->pid = pid;
		f->app = id->app;
		f->uid = id->uid;
		int act = rp_sock_judge(f, id, slot);
		if (act != RP_SOCK_ALLOW)
			return act;
	}
	return RP_SOCK_ALLOW;
}

RP_FORWARD_MAP(RP_MAP_FWD_CREATE);

SEC("cgroup/sock_create")
int rp_network(struct bpf_sock *sk)
{
	RP_GATE(sk, RP_MAP_FWD_CREATE, 1);
	struct cls_fields f;
	struct rp_ident id;
	__u32 slot, zero = 0;
	if (sk->family != RP_AF_INET && sk->family != RP_AF_INET6)
		return 1;
	__builtin_memset(&f, 0, sizeof(f));
	rp_ident_current(&id);
	rp_fields_ident(&f, &id);
	f.dir = DIR_OUT;
	f.event = EVENT_NETWORK;
	f.family = sk->family == RP_AF_INET ? 4 : 6;
	f.proto = rp_sock_proto(sk->type, sk->protocol);
	f.absent = CLS_ABSENT(F_LADDR) | CLS_ABSENT(F_RADDR) | CLS_ABSENT(F_LPORT) | CLS_ABSENT(F_RPORT) |
		   CLS_ABSENT(F_IFACE) | CLS_ABSENT(F_ICMPTYPE);
	int act = rp_sock_judge(&f, &id, &slot);
	struct rp_sock_config *sc = bpf_map_lookup_elem(&rp_sock_config, &zero);
	if (act == RP_SOCK_ALLOW && sc && sc->ancestry)
		act = rp_ancestry(sc, &f, &id, &slot);
	return rp_sock_ret(act);
}

/* ---------- connect / send ---------- */

/* The last peer received from is still one to answer without judging:
 * same generation and mode, and no longer ago than a UDP flow lives. */
static __always_inline int rp_peer_current(const struct rp_sk_mark *m)
{
	struct rp_config *cfg = rp_config_own();
	if (!cfg || !rp_mark_current(m->peer_gen, m->peer_mode))
		return 0;
	return bpf_ktime_get_ns() - m->peer_ns <= cfg->timeout_ns[CT_UDP];
}

/* An outbound socket event towards ctx's address: connect or send. */
static __always_inline int rp_sock_out(struct bpf_sock_addr *ctx, __u8 event, int v6)
{
	struct cls_fields f;
	struct rp_ident id;
	__u32 slot;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	__builtin_memset(&f, 0, sizeof(f));
	rp_ident_current(&id);
	rp_fields_ident(&f, &id);
	f.dir = DIR_OUT;
	f.event = event;
	f.proto = rp_sock_proto(ctx->type, ctx->protocol);
	f.absent = CLS_ABSENT(F_IFACE) | CLS_ABSENT(F_ICMPTYPE);
	if (v6) {
		f.raddr[0] = ctx->user_ip6[0];
		f.raddr[1] = ctx->user_ip6[1];
		f.raddr[2] = ctx->user_ip6[2];
		f.raddr[3] = ctx->user_ip6[3];
		f.family = rp_is_v4_mapped(f.raddr) ? 4 : 6;
		if (event == EVENT_SEND) {
			f.laddr[0] = ctx->msg_src_ip6[0];
			f.laddr[1] = ctx->msg_src_ip6[1];
			f.laddr[2] = ctx->msg_src_ip6[2];
			f.laddr[3] = ctx->msg_src_ip6[3];
		}
		if (rp_is_zero(f.laddr)) {
			f.laddr[0] = sk->src_ip6[0];
			f.laddr[1] = sk->src_ip6[1];
			f.laddr[2] = sk->src_ip6[2];
			f.laddr[3] = sk->src_ip6[3];
		}
		if (rp_is_v4_mapped(f.laddr) && f.laddr[3] == 0)
			f.laddr[2] = 0;
	} else {
		rp_v4_mapped(f.raddr, ctx->user_ip4);
		f.family = 4;
		__u32 src = event == EVENT_SEND ? ctx->msg_src_ip4 : 0;
		if (!src)
			src = sk->src_ip4;
		if (src)
			rp_v4_mapped(f.laddr, src);
	}
	/* before connect() the stack has not chosen the source address yet
	 * unless the socket was bound to one */
	if (rp_is_zero(f.laddr))
		f.absent |= CLS_ABSENT(F_LADDR);
	if (rp_has_ports(f.proto)) {
		f.has_ports = 1;
		f.rport = bpf_ntohs((__u16)ctx->user_port);
		f.lport = sk->src_port;
		if (!f.lport) /* TCP picks its port after this hook */
			f.absent |= CLS_ABSENT(F_LPORT);
	}
	if (event == EVENT_SEND) {
		struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, 0);
		if (m && m->peer_port && m->peer_port == f.rport && m->peer_addr[0] == f.raddr[0] &&
		    m->peer_addr[1] == f.raddr[1] && m->peer_addr[2] == f.raddr[2] && m->peer_addr[3] == f.raddr[3] &&
		    rp_peer_current(m))
			return 1; /* a reply: its flow was allowed in (and is tracked) */
		/* A datagram to the peer of a connected socket whose traffic was
		 * allowed here: its flow was judged at connect().  The kernel runs
		 * sendmsg4 for every send() on an AF_INET6 socket connected to a
		 * v4-mapped address (udpv6_sendmsg passes the peer to udp_sendmsg
		 * as an explicit address). */
		if (m && m->allowed && rp_mark_current(m->gen, m->mode) && sk->state == 1 /* BPF_TCP_ESTABLISHED */ &&
		    f.rport == bpf_ntohs(sk->dst_port)) {
			__u32 peer[4];
			if (v6) {
				peer[0] = sk->dst_ip6[0];
				peer[1] = sk->dst_ip6[1];
				peer[2] = sk->dst_ip6[2];
				peer[3] = sk->dst_ip6[3];
			} else {
				rp_v4_mapped(peer, sk->dst_ip4);
			}
			if (peer[0] == f.raddr[0] && peer[1] == f.raddr[1] && peer[2] == f.raddr[2] &&
			    peer[3] == f.raddr[3])
				return 1;
		}
	}
	/* a data connection an FTP control connection announced: the
	 * datapath's helper admits it (bpf/ftp.h), the policy is not asked */
	if (event == EVENT_CONNECT && f.proto == 6 &&
	    rp_ftp_expected(f.laddr, f.raddr, bpf_htons(f.rport), bpf_ktime_get_coarse_ns()))
		return 1;
	int act = rp_sock_judge(&f, &id, &slot);
	if (act == RP_SOCK_ALLOW && rp_mark_needed(&f))
		rp_mark_allowed(sk, event, slot, &id);
	if (act == RP_SOCK_HOLD)
		rp_mark_asked(sk, &id, slot);
	return rp_sock_ret(act);
}

/* A datagram reached an unconnected UDP socket: remember who sent it. */
static __always_inline int rp_recv(struct bpf_sock_addr *ctx, int v6)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!m)
		return 1;
	if (v6) {
		m->peer_addr[0] = ctx->user_ip6[0];
		m->peer_addr[1] = ctx->user_ip6[1];
		m->peer_addr[2] = ctx->user_ip6[2];
		m->peer_addr[3] = ctx->user_ip6[3];
	} else {
		rp_v4_mapped(m->peer_addr, ctx->user_ip4);
	}
	m->peer_port = bpf_ntohs((__u16)ctx->user_port);
	struct rp_config *cfg = rp_config_own();
	m->peer_gen = rp_gen;
	m->peer_mode = cfg ? (__u8)cfg->mode : RP_MODE_COUNT;
	m->peer_ns = bpf_ktime_get_ns();
	return 1; /* recvmsg hooks cannot refuse */
}

RP_SOCK_ADDR_PROG("cgroup/recvmsg4", rp_recvmsg4, RP_MAP_FWD_RECVMSG4, rp_recv, 0)
RP_SOCK_ADDR_PROG("cgroup/recvmsg6", rp_recvmsg6, RP_MAP_FWD_RECVMSG6, rp_recv, 1)
RP_SOCK_ADDR_PROG("cgroup/connect4", rp_connect4, RP_MAP_FWD_CONNECT4, rp_sock_out, EVENT_CONNECT, 0)
RP_SOCK_ADDR_PROG("cgroup/connect6", rp_connect6, RP_MAP_FWD_CONNECT6, rp_sock_out, EVENT_CONNECT, 1)
RP_SOCK_ADDR_PROG("cgroup/sendmsg4", rp_sendmsg4, RP_MAP_FWD_SENDMSG4, rp_sock_out, EVENT_SEND, 0)
RP_SOCK_ADDR_PROG("cgroup/sendmsg6", rp_sendmsg6, RP_MAP_FWD_SENDMSG6, rp_sock_out, EVENT_SEND, 1)

/* ---------- listen: bind, and who owns the port ---------- */

static __always_inline void rp_owner_key(struct rp_owner_key *k, __u64 netns, const struct cls_fields *f)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->netns = netns;
	k->port = f->lport;
	k->proto = f->proto;
	if (!rp_is_zero(f->laddr) && !(rp_is_v4_mapped(f->laddr) && f->laddr[3] == 0))
		__builtin_memcpy(k->addr, f->laddr, 16);
}

/* How a socket is recorded: its namespace and cookie (each program type
 * reads them with its own helper), and whether its listen was refused. */
struct rp_owner_how {
	__u64 netns;
	__u64 cookie;
	__u32 refused;
	__u32 slot; /* the rule that refused it */
};

/* Records the caller as the owner of the socket's local address and port
 * (rp_listeners, include/rampart_sock.h): the first owner's record stays
 * against another uid (counted); a full table is counted and the port
 * marked as having a socket of no record, so that inbound events to it are
 * judged as of an unknown owner instead of borrowing a wildcard socket's
 * identity.  Not inlined: its frame is not on the stack of the
 * judgement's calls. */
static __noinline void rp_owner_record(struct bpf_sock *sk, const struct cls_fields *f, const struct rp_ident *id,
				       const struct rp_owner_how *how)
{
	struct rp_owner_key k;
	struct rp_owner o = {
		.app = id->app,
		.cgroup = id->cgroup,
		.uid = id->uid,
		.pid = id->pid,
		.cookie = how->cookie,
		.exe = id->exe,
		.cgroup_id = id->cgroup_id,
		.ino = id->ino,
		.refused = how->refused,
		.slot = how->slot,
		.gen = rp_gen,
		.family = f->family,
	};
	struct rp_config *cfg = rp_config_own();
	o.mode = cfg ? cfg->mode : RP_MODE_ENFORCING;
	rp_owner_key(&k, how->netns, f);
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (m)
		m->bound = 1;
	long e = bpf_map_update_elem(&rp_listeners, &k, &o, BPF_NOEXIST);
	if (e == -17 /* EEXIST */) {
		struct rp_owner *cur = bpf_map_lookup_elem(&rp_listeners, &k);
		if (cur && cur->uid != id->uid) {
			rp_count(RPC_OWNER_TAKEOVER);
			return;
		}
		e = bpf_map_update_elem(&rp_listeners, &k, &o, BPF_ANY);
	}
	if (e) {
		rp_count(RPC_OWNER_FULL);
		__u32 port = f->lport;
		__u32 *n = bpf_map_lookup_elem(&rp_listen_unowned, &port);
		if (n && m && !m->unowned) {
			__sync_fetch_and_add(n, 1);
			m->owner = k; /* the release hook's port */
			m->unowned = 1;
		}
		return;
	}
	if (m) {
		m->owner = k;
		m->owns = 1;
	}
}

static __always_inline void rp_local_fields(struct cls_fields *f, struct bpf_sock *sk, int v6)
{
	if (v6) {
		f->laddr[0] = sk->src_ip6[0];
		f->laddr[1] = sk->src_ip6[1];
		f->laddr[2] = sk->src_ip6[2];
		f->laddr[3] = sk->src_ip6[3];
		f->family = rp_is_v4_mapped(f->laddr) ? 4 : 6;
	} else {
		rp_v4_mapped(f->laddr, sk->src_ip4);
		f->family = 4;
	}
	f->proto = rp_sock_proto(sk->type, sk->protocol);
	f->lport = sk->src_port;
}

/* A `listen` event for the socket's local address: judged, and the owner
 * recorded when allowed (refusable: the call fails otherwise) or always
 * (not refusable: a refused listener is recorded as such, so that nothing
 * reaches it).  enum rp_sock_act. */
static __always_inline int rp_listen(struct bpf_sock *sk, int v6, __u64 netns, __u64 cookie, int refusable)
{
	struct cls_fields f;
	struct rp_ident id;
	__u32 slot;
	__builtin_memset(&f, 0, sizeof(f));
	rp_ident_current(&id);
	rp_fields_ident(&f, &id);
	rp_local_fields(&f, sk, v6);
	f.dir = DIR_IN;
	f.event = EVENT_LISTEN;
	f.has_ports = rp_has_ports(f.proto);
	f.absent = CLS_ABSENT(F_RADDR) | CLS_ABSENT(F_RPORT) | CLS_ABSENT(F_IFACE) | CLS_ABSENT(F_ICMPTYPE);
	int act = rp_sock_judge(&f, &id, &slot);
	int allowed = act == RP_SOCK_ALLOW || act == RP_SOCK_HOLD;
	if (f.has_ports && (allowed || !refusable)) {
		struct rp_owner_how how = { .netns = netns, .cookie = cookie, .refused = !allowed, .slot = slot };
		rp_owner_record(sk, &f, &id, &how);
	}
	return act;
}

static __always_inline int rp_bind(struct bpf_sock *sk, int v6)
{
	return rp_sock_ret(rp_listen(sk, v6, bpf_get_netns_cookie(sk), bpf_get_socket_cookie(sk), 1));
}

RP_SOCK_PROG("cgroup/post_bind4", rp_bind4, RP_MAP_FWD_BIND4, rp_bind, 0)
RP_SOCK_PROG("cgroup/post_bind6", rp_bind6, RP_MAP_FWD_BIND6, rp_bind, 1)

/* listen() on a socket that was not bound: the kernel picks the port
 * (inet_csk_listen_start) and no post_bind hook runs.  The sock_ops hook's
 * TCP_LISTEN_CB comes right after, in the caller's context, with the port
 * known: the listen is judged there.  It cannot fail the call: a refused
 * listener gets an owner record that says so, and the datapath drops
 * every connection to it (docs/sockets.md, "listen() without bind()"). */
RP_FORWARD_MAP(RP_MAP_FWD_SOCKOPS);

SEC("sockops")
int rp_sockops(struct bpf_sock_ops *ops)
{
	RP_GATE(ops, RP_MAP_FWD_SOCKOPS, 1);
	if (ops->op != BPF_SOCK_OPS_TCP_LISTEN_CB)
		return 1;
	struct bpf_sock *sk = ops->sk;
	if (!sk || (sk->family != RP_AF_INET && sk->family != RP_AF_INET6))
		return 1;
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, 0);
	if (m && m->bound)
		return 1; /* judged at bind */
	rp_count(RPC_LISTEN_AUTOBIND);
	rp_listen(sk, sk->family == RP_AF_INET6, bpf_get_netns_cookie(ops), bpf_get_socket_cookie(ops), 0);
	return 1;
}

/* A closing socket takes its owner record with it (only its own: another
 * socket may have bound the port since, e.g. with SO_REUSEADDR). */
RP_FORWARD_MAP(RP_MAP_FWD_RELEASE);

SEC("cgroup/sock_release")
int rp_release(struct bpf_sock *sk)
{
	RP_GATE(sk, RP_MAP_FWD_RELEASE, 1);
	struct rp_sk_mark *m = bpf_sk_storage_get(&rp_sk_marks, sk, 0, 0);
	if (m && m->unowned) {
		__u32 port = m->owner.port;
		__u32 *n = bpf_map_lookup_elem(&rp_listen_unowned, &port);
		if (n && *n)
			__sync_fetch_and_add(n, -1);
		m->unowned = 0;
	}
	if (!m || !m->owns)
		return 1;
	struct rp_owner_key k = m->owner;
	struct rp_owner *o = bpf_map_lookup_elem(&rp_listeners, &k);
	if (o && o->cookie == bpf_get_socket_cookie(sk))
		bpf_map_delete_elem(&rp_listeners, &k);
	return 1;
}
