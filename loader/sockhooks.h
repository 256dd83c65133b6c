/* The socket hooks (bpf/sock.bpf.c) in the apply pipeline: open the
 * object reusing the new datapath object's maps, fill the application,
 * cgroup and owner maps, pin, attach to a cgroup2 subtree (or switch the
 * pinned cgroup links in one step each: a back-end of hooks.h).  Design:
 * docs/sockets.md.  0 or -errno, with a message (log.h). */
#ifndef RAMPART_SOCKHOOKS_H
#define RAMPART_SOCKHOOKS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hooks.h"
#include "pins.h"
#include "policy.h"

struct cls_tables;
struct rampart_bpf;
struct sock_bpf;

#define SOCK_NHOOKS 11

/* The cgroup the hooks go to: the request's --cgroup (absolute path), the
 * cgroup the pinned links hold now, or — first apply without --cgroup — the
 * cgroup2 root when the policy names app, cgroup or user (else none).
 * out gets "" when no hooks are wanted. */
int sockhooks_target(const struct pin_dir *pd, const char *requested, const struct policy *p, char *out, size_t outlen);

/* Opens and loads the socket hooks, reusing the (loaded, not yet pinned)
 * datapath object's shared maps. */
int sockhooks_load(struct sock_bpf **s, struct rampart_bpf *dp, const struct policy *p);
/* Fills rp_apps, rp_app_info (with each file's SHA-256), rp_cgroups,
 * rp_sock_config, and copies the owners of the running policy's listening
 * sockets into the new rp_listeners with app and cgroup renumbered and
 * their listen judged by the new policy (t: its compiled tables).
 * Missing files and cgroups are warned about (they match nothing). */
int sockhooks_fill(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const struct cls_tables *t,
		   const struct pin_dir *pd);
/* Pins the object's own maps and programs in the staged set. */
int sockhooks_pin(struct sock_bpf *s, struct rampart_bpf *dp, const struct pin_dir *pd);
/* Adds the hooks on cgroup_path to t (hooks.h): new links are pinned as
 * DIR/links/new-cg-HOOK until commit, pinned ones on that cgroup are
 * switched in place. */
int sockhooks_add(struct hook_txn *t, struct sock_bpf *s, const struct pin_dir *pd, const char *cgroup_path);
/* The hooks of t were attached afresh (not switched). */
bool sockhooks_fresh(const struct hook_txn *t);
/* After t committed: owners recorded by the old hooks meanwhile are copied
 * too. */
void sockhooks_commit(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const struct cls_tables *t,
		      const struct pin_dir *pd);
void sockhooks_destroy(struct sock_bpf *s);
/* The cgroup the pinned hooks are attached to ("" if none); returns how
 * many hooks are pinned. */
int sockhooks_attached(const struct pin_dir *pd, char *cgroup, size_t len);

#endif
