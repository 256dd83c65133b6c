/* One attachment transaction for every hook rampart attaches: an
 * interface's datapath programs (ingress: XDP or tc; egress: tc), the
 * socket hooks on a cgroup, boot protection's SK_LOOKUP link on the network
 * namespace.  The protocol is the same for all of them:
 *
 *   prepare   what is attached at each point now; each new program's
 *             forwarding slot (bpf/config.h) gets the program in force
 *             there, which keeps judging until the flip
 *   switch    each point in one step: bpf_link_update() of the pinned link
 *             (or the clsact filter replaced), or a new attachment; the
 *             new programs forward to the old ones, so the old policy
 *             still judges everything
 *   (flip)    the caller writes rp_active once: every point's new program
 *             judges from then on (datapath_switch_generation)
 *   rollback  when one point fails: every point switched so far back to
 *             the program it had, new attachments removed
 *   commit    after the flip: the forwarding slots are emptied (the old
 *             programs go), new pins take their names, attachments of a
 *             kind no longer used go
 *
 * A forwarding array stays pinned (DIR/fwd/ID) from prepare to commit: the
 * kernel empties a PROG_ARRAY that user space no longer holds, and an
 * apply killed before its flip must leave the new programs forwarding.
 * A program attached at several points (the XDP program on every
 * interface) has one slot: the programs it replaces there are of one
 * generation.
 *
 * A back-end (struct hook_ops) knows one kind of point; the transaction
 * knows the order.  One transaction may hold any points: apply puts every
 * interface, the cgroup and the namespace in one; an interface that
 * appears later needs one of its own (ifhooks_add() and the four steps).
 * Errors: 0 or -errno, said through log.h. */
#ifndef RAMPART_HOOKS_H
#define RAMPART_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include "pins.h"

struct hook;

struct hook_ops {
	/* Read only: sets h->fresh (nothing of this kind attached), and for
	 * an attachment in force its link (h->link_fd) and program
	 * (h->old_prog_fd). */
	int (*prepare)(struct hook *h);
	/* A new attachment of h->prog_fd, pinned at h->staged (or h->pin
	 * when h->staged is ""). */
	int (*attach)(struct hook *h);
	/* The attachment in force runs prog_fd from now on. */
	int (*update)(struct hook *h, int prog_fd);
	/* Undoes attach(). */
	void (*detach)(struct hook *h);
	/* After every point switched (may be NULL). */
	void (*commit)(struct hook *h);
};

/* One point a program is attached to. */
struct hook {
	const struct hook_ops *ops;
	const struct pin_dir *pd;
	char what[64];		    /* for messages: "eth0 ingress", "cgroup connect4" */
	int prog_fd;		    /* the new program */
	int alt_fd;		    /* a back-end's second choice of program (-1: none) */
	char pin[PINS_PATH_MAX];    /* the attachment's pin */
	char staged[PINS_PATH_MAX]; /* a new attachment's pin until commit ("": pin) */
	int link_fd;		    /* the link (pinned, or new); -1: none */
	int old_prog_fd;	    /* the program in force before the switch; -1: none */
	int fwd_fd;		    /* the new program's forwarding array (-1: none) */
	bool fwd_pinned;	    /* ... pinned by prepare (pins_forward), until commit */
	bool fresh;		    /* attached by this transaction, not switched */
	bool done;		    /* switched or attached */
	/* the back-end's own */
	uint32_t ifindex; /* interface points */
	bool ingress;
	int kind, want;		   /* ifhooks.c: enum ifhook_kind */
	char stale[PINS_PATH_MAX]; /* an attachment of another kind at this point: removed at commit */
	int stale_kind;
	int target_fd;	    /* cgroup / netns points: what the link attaches to */
	uint64_t target_id; /* the cgroup's id */
	int attach_type;    /* enum bpf_attach_type */
};

struct hook_txn {
	struct hook *v;
	int n, cap;
	/* Set by the caller once rp_active names the new programs' generation
	 * (the flip): commit then ends all forwarding (DIR/fwd goes, with
	 * what killed applies left there).  Unset (the daemon's interface
	 * sync attaches the programs in force), commit leaves every
	 * forwarding as it is. */
	bool flipped;
};

/* A new point, zeroed but for these; NULL when out of memory. */
struct hook *txn_add(struct hook_txn *t, const struct hook_ops *ops, const struct pin_dir *pd, int prog_fd,
		     const char *what);
/* prepare, then switch every point; when one fails, the ones before are
 * rolled back and the error returned: nothing changed. */
int txn_prepare(struct hook_txn *t);
int txn_switch(struct hook_txn *t);
void txn_rollback(struct hook_txn *t);
void txn_commit(struct hook_txn *t);
/* Closes what the points hold (the pins keep what must stay). */
void txn_free(struct hook_txn *t);

/* For back-ends whose points are BPF links pinned at h->pin (cgroup,
 * network namespace).  prepare: the pinned link, when same() says it is
 * this point's (fresh otherwise); attach: a link of h->prog_fd to
 * h->target_fd (h->attach_type), pinned; update: bpf_link_update();
 * detach: the new link unpinned (h->staged, else h->pin) and closed. */
struct bpf_link_info;
int hook_link_prepare(struct hook *h, bool (*same)(const struct hook *h, const struct bpf_link_info *info));
int hook_link_attach(struct hook *h);
int hook_link_update(struct hook *h, int prog_fd);
void hook_link_detach(struct hook *h);

#endif
