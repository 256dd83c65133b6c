/* The attachment transaction (see hooks.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "hooks.h"
#include "log.h"

struct hook *txn_add(struct hook_txn *t, const struct hook_ops *ops, const struct pin_dir *pd, int prog_fd,
		     const char *what)
{
	if (t->n == t->cap) {
		int cap = t->cap ? 2 * t->cap : 16;
		struct hook *v = realloc(t->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct hook *h = &t->v[t->n++];
	memset(h, 0, sizeof(*h));
	h->ops = ops;
	h->pd = pd;
	h->prog_fd = prog_fd;
	h->alt_fd = h->link_fd = h->old_prog_fd = h->fwd_fd = h->target_fd = -1;
	snprintf(h->what, sizeof(h->what), "%s", what);
	return h;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The program's forwarding array (bpf/config.h: its one PROG_ARRAY), or
 * -ENOENT for a program without a gate. */
static int forward_map(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 ids[128], len = sizeof(info);
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct bpf_map_info mi;
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		memset(&mi, 0, sizeof(mi));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &mlen) && mi.type == BPF_MAP_TYPE_PROG_ARRAY)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -ENOENT;
}

/* The new program forwards to the one in force at its point until the
 * flip, through its pinned forwarding array.  A point whose old program
 * cannot be put there fails the apply: the new program would let
 * everything pass until the flip. */
static int hook_forward(struct hook *h)
{
	char path[PINS_PATH_MAX];
	__u32 zero = 0;
	int fd = h->prog_fd >= 0 ? forward_map(h->prog_fd) : -ENOENT;
	if (fd < 0)
		return 0; /* no gate: judges from its switch on */
	h->fwd_fd = fd;
	if (h->old_prog_fd < 0 || prog_id(h->old_prog_fd) == prog_id(h->prog_fd))
		return 0;
	int e = bpf_map_update_elem(fd, &zero, &h->old_prog_fd, BPF_ANY) ? -errno : 0;
	if (!e && bpf_obj_pin(fd, pins_forward(h->pd, prog_id(h->prog_fd), true, path)) && errno != EEXIST)
		e = -errno;
	if (e)
		return pr_err_r(e,
				"%s: the new program cannot hand over to the one in force until the switch is "
				"complete; nothing was changed",
				h->what);
	h->fwd_pinned = true;
	return 0;
}

/* Program id's forwarding pin goes (the kernel empties the array once
 * nothing in user space holds it). */
static void unpin_forwarding(const struct pin_dir *pd, __u32 id)
{
	char path[PINS_PATH_MAX];
	unlink(pins_forward(pd, id, false, path));
}

int txn_prepare(struct hook_txn *t)
{
	for (int i = 0; i < t->n; i++) {
		int e = t->v[i].ops->prepare(&t->v[i]);
		if (!e)
			e = hook_forward(&t->v[i]);
		if (e)
			return e;
	}
	return 0;
}

static int hook_switch(struct hook *h)
{
	int e = h->fresh ? h->ops->attach(h) : h->ops->update(h, h->prog_fd);
	if (e)
		return e;
	h->done = true;
	return 0;
}

static void hook_rollback(struct hook *h)
{
	if (!h->done)
		return;
	if (h->fresh)
		h->ops->detach(h);
	else if (h->old_prog_fd >= 0)
		h->ops->update(h, h->old_prog_fd);
	h->done = false;
}

int txn_switch(struct hook_txn *t)
{
	for (int i = 0; i < t->n; i++) {
		int e = hook_switch(&t->v[i]);
		if (e) {
			txn_rollback(t);
			return e;
		}
	}
	return 0;
}

void txn_rollback(struct hook_txn *t)
{
	for (int i = t->n - 1; i >= 0; i--)
		hook_rollback(&t->v[i]);
}

void txn_commit(struct hook_txn *t)
{
	for (int i = 0; i < t->n; i++) {
		struct hook *h = &t->v[i];
		__u32 zero = 0;
		/* the flip is done: the old program is no longer reached */
		if (t->flipped && h->fwd_fd >= 0)
			bpf_map_delete_elem(h->fwd_fd, &zero);
		h->fwd_pinned &= !t->flipped;
		/* an old link on another target loses its pin: detached */
		if (h->fresh && h->done && h->staged[0] && rename(h->staged, h->pin))
			pr_warn("%s is attached but its pin %s could not be made (%s); run `rampart apply` again",
				h->what, h->pin, strerror(errno));
		if (h->ops->commit)
			h->ops->commit(h);
	}
	/* every point rampart holds is in this transaction or removed by its
	 * commit: no program forwards any more, also none a killed apply left
	 * (orphans attached before their flip, and those never attached) */
	if (t->flipped && t->n)
		pins_forward_clear(t->v[0].pd);
}

void txn_free(struct hook_txn *t)
{
	for (int i = 0; i < t->n; i++) {
		struct hook *h = &t->v[i];
		if (h->link_fd >= 0)
			close(h->link_fd);
		if (h->old_prog_fd >= 0)
			close(h->old_prog_fd);
		if (h->fwd_pinned) /* not switched in (rolled back, failed) */
			unpin_forwarding(h->pd, prog_id(h->prog_fd));
		if (h->fwd_fd >= 0)
			close(h->fwd_fd);
		if (h->target_fd >= 0)
			close(h->target_fd);
	}
	if (t->n) /* an empty DIR/fwd goes */
		pins_forward_tidy(t->v[0].pd);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int hook_link_prepare(struct hook *h, bool (*same)(const struct hook *h, const struct bpf_link_info *info))
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	h->fresh = true;
	int fd = bpf_obj_get(h->pin);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.prog_id || !same(h, &info)) {
		close(fd); /* another target: a new link replaces it at commit */
		return 0;
	}
	h->fresh = false;
	h->link_fd = fd;
	h->old_prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
	return 0;
}

int hook_link_update(struct hook *h, int prog_fd)
{
	return bpf_link_update(h->link_fd, prog_fd, NULL) ? pr_err_r(-errno, "cannot switch the %s", h->what) : 0;
}

void hook_link_detach(struct hook *h)
{
	unlink(h->staged[0] ? h->staged : h->pin);
	close(h->link_fd); /* last reference: detached */
	h->link_fd = -1;
}

/* A new link's pin: the staged one takes its name at commit; without one,
 * the pin of a link that no longer holds (another target) is replaced in
 * one step. */
static int pin_new_link(struct hook *h)
{
	if (!h->staged[0]) {
		int e = pins_replace(h->link_fd, h->pin);
		return e ? pr_err_r(e, "cannot pin %s", h->pin) : 0;
	}
	unlink(h->staged); /* left over by an apply that failed */
	return pins_pin(h->link_fd, h->staged);
}

int hook_link_attach(struct hook *h)
{
	h->link_fd = bpf_link_create(h->prog_fd, h->target_fd, (enum bpf_attach_type)h->attach_type, NULL);
	if (h->link_fd < 0)
		return pr_err_r(-errno, "cannot attach the %s", h->what);
	int e = pin_new_link(h);
	if (e) {
		close(h->link_fd);
		h->link_fd = -1;
	}
	return e;
}
