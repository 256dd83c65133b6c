/* The hooks of one interface (see ifhooks.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "ifhooks.h"
#include "log.h"

/* IFH_NONE: an ingress point that must have no program (a bridge port):
 * what is attached there goes at commit. */
enum ifhook_kind { IFH_XDP, IFH_TCX, IFH_CLSACT, IFH_NONE };

static const char *pin_hook(int kind, bool ingress)
{
	if (kind == IFH_XDP)
		return PINS_HOOK_XDP;
	if (kind == IFH_TCX)
		return ingress ? PINS_HOOK_TCI : PINS_HOOK_TC;
	return ingress ? PINS_HOOK_TCFI : PINS_HOOK_TCF;
}

/* The interface's name, as the point's pin names it. */
static const char *ifname_of(const struct hook *h)
{
	const char *sp = strchr(h->what, ' ');
	return sp ? sp + 1 : h->what;
}

static void set_kind(struct hook *h, int kind)
{
	h->kind = kind;
	if (kind == IFH_NONE)
		h->pin[0] = 0;
	else
		pins_iface_link(h->pd, pin_hook(kind, h->ingress), ifname_of(h), h->pin);
}

/* The pinned link, when it still holds this interface: a link whose
 * device went away (ifindex 0) or was re-created under the same name cannot
 * be updated, a new one is attached over the stale pin. */
static bool open_link(struct hook *h)
{
	int fd = bpf_obj_get(h->pin);
	uint32_t ifindex = 0, prog_id = 0;
	if (fd < 0)
		return false;
	if (link_target(fd, &ifindex, &prog_id) || ifindex != h->ifindex || !prog_id) {
		close(fd);
		return false;
	}
	h->link_fd = fd;
	h->old_prog_fd = bpf_prog_get_fd_by_id(prog_id);
	return true;
}

/* Is an attachment of this kind pinned at this point, and in force? */
static bool find(struct hook *h, int kind)
{
	set_kind(h, kind);
	if (kind != IFH_CLSACT)
		return open_link(h);
	if (access(h->pin, F_OK) != 0)
		return false;
	uint32_t id = query_tc_clsact(h->ifindex, h->ingress);
	if (id)
		h->old_prog_fd = bpf_prog_get_fd_by_id(id);
	return id != 0;
}

static void forget(struct hook *h)
{
	if (h->link_fd >= 0)
		close(h->link_fd);
	if (h->old_prog_fd >= 0)
		close(h->old_prog_fd);
	h->link_fd = h->old_prog_fd = -1;
}

/* What is attached at this point now.  The role changed (XDP <-> tc): the
 * new kind is attached beside the old one, which goes at commit. */
static int if_prepare(struct hook *h)
{
	h->fresh = true;
	for (int k = IFH_XDP; k <= IFH_CLSACT; k++) {
		if ((k == IFH_XDP && !h->ingress) || !find(h, k))
			continue;
		if (h->want != IFH_NONE && (k == IFH_XDP) == (h->want == IFH_XDP)) {
			h->fresh = false; /* switched in place */
			return 0;
		}
		memcpy(h->stale, h->pin, sizeof(h->stale));
		h->stale_kind = k;
		forget(h);
	}
	set_kind(h, h->want);
	return 0;
}

/* A new tc attachment: a tcx link, else a clsact filter. */
static int attach_tc(struct hook *h)
{
	const char *force = getenv("RAMPART_TC_ATTACH");
	const char *dir = h->ingress ? "ingress" : "egress";
	int e = -EOPNOTSUPP;
	if (!force || strcmp(force, "clsact") != 0) {
		e = attach_tcx(h->prog_fd, h->ifindex, h->ingress);
		if (e >= 0) {
			set_kind(h, IFH_TCX);
			h->link_fd = e;
			return 0;
		}
		pr_note("%s: cannot attach tc %s (tcx link): %s; using a clsact filter instead", ifname_of(h), dir,
			strerror(-e));
	}
	e = attach_tc_clsact(h->prog_fd, h->ifindex, h->ingress);
	if (e)
		return pr_err_r(e, "%s: cannot attach the tc %s filter", ifname_of(h), dir);
	set_kind(h, IFH_CLSACT);
	return 0;
}

/* XDP in native mode; a driver without it gets tc ingress instead. */
static int attach_new(struct hook *h)
{
	if (h->kind == IFH_NONE)
		return 0;
	if (h->kind != IFH_XDP)
		return attach_tc(h);
	int e = attach_xdp(h->prog_fd, h->ifindex);
	if (e >= 0) {
		h->link_fd = e;
		return 0;
	}
	if (e == -EBUSY || e == -EEXIST)
		return pr_err_r(e,
				"%s: another XDP program is attached; remove it first (ip link set dev %s xdp "
				"off), or use `option ingress-hook tc`",
				ifname_of(h), ifname_of(h));
	pr_note("%s: no native XDP (%s); judged by tc ingress", ifname_of(h), strerror(-e));
	h->prog_fd = h->alt_fd;
	return attach_tc(h);
}

static void if_detach(struct hook *h)
{
	if (h->kind == IFH_NONE)
		return;
	unlink(h->pin);
	if (h->kind == IFH_CLSACT)
		detach_tc_clsact(h->ifindex, h->ingress);
	if (h->link_fd >= 0)
		close(h->link_fd); /* last reference: detached */
	h->link_fd = -1;
}

/* The pin is what keeps it attached once this process exits (a clsact
 * filter stays anyway: its pin is a marker that holds the program and
 * tells unload to remove the filter). */
static int if_attach(struct hook *h)
{
	int e = attach_new(h);
	if (e || h->kind == IFH_NONE)
		return e;
	e = pins_replace(h->kind == IFH_CLSACT ? h->prog_fd : h->link_fd, h->pin);
	if (e) {
		pr_err_r(e, "cannot pin %s", h->pin);
		if_detach(h);
	}
	return e;
}

static int if_update(struct hook *h, int prog_fd)
{
	int e = h->kind == IFH_CLSACT ? attach_tc_clsact(prog_fd, h->ifindex, h->ingress)
				      : link_switch(h->link_fd, prog_fd);
	if (e)
		return pr_err_r(e, "%s: cannot switch the program", h->what);
	if (h->kind == IFH_CLSACT)
		pins_replace(prog_fd, h->pin); /* the marker holds the program in force */
	return 0;
}

/* An attachment of the kind this point no longer uses goes. */
static void if_commit(struct hook *h)
{
	if (!h->stale[0] || !strcmp(h->stale, h->pin))
		return; /* none, or the same point again (XDP refused again: tc) */
	if (h->stale_kind == IFH_CLSACT)
		detach_tc_clsact(h->ifindex, h->ingress);
	unlink(h->stale);
}

static const struct hook_ops ifhook_ops = {
	.prepare = if_prepare,
	.attach = if_attach,
	.update = if_update,
	.detach = if_detach,
	.commit = if_commit,
};

int ifhooks_add(struct hook_txn *t, const struct pin_dir *pd, uint32_t ifindex, const char *ifname,
		enum netdev_ingress ingress, const struct ifhooks_progs *progs)
{
	char what[64];
	for (int in = 1; in >= 0; in--) {
		/* a bridge port: its bridge judges what arrives, nothing may run
		 * at its ingress (what ran there before goes at commit) */
		bool none = in && ingress == NETDEV_IN_NONE;
		bool xdp = in && ingress == NETDEV_IN_XDP;
		snprintf(what, sizeof(what), "%s %.15s", in ? "ingress" : "egress", ifname);
		struct hook *h = txn_add(t, &ifhook_ops, pd,
					 none  ? -1
					 : xdp ? progs->xdp
					 : in  ? progs->tc_in
					       : progs->tc_out,
					 what);
		if (!h)
			return -ENOMEM;
		h->alt_fd = progs->tc_in;
		h->ifindex = ifindex;
		h->ingress = in;
		h->want = none ? IFH_NONE : xdp ? IFH_XDP : IFH_TCX;
	}
	return 0;
}

static int open_prog(const struct pin_dir *pd, const char *name)
{
	char path[PINS_PATH_MAX];
	int fd = bpf_obj_get(pins_prog(pd, name, false, path));
	return fd < 0 ? pr_err_r(-errno, "cannot open the pinned program %s", path) : fd;
}

int ifhooks_pinned_progs(const struct pin_dir *pd, bool l3, struct ifhooks_progs *progs)
{
	progs->xdp = open_prog(pd, PINS_PROG_XDP);
	progs->tc_in = open_prog(pd, l3 ? PINS_PROG_TC_IN_L3 : PINS_PROG_TC_IN);
	progs->tc_out = open_prog(pd, l3 ? PINS_PROG_TC_OUT_L3 : PINS_PROG_TC_OUT);
	int e = progs->xdp < 0 ? progs->xdp : progs->tc_in < 0 ? progs->tc_in : progs->tc_out < 0 ? progs->tc_out : 0;
	if (e)
		ifhooks_progs_close(progs);
	return e;
}

void ifhooks_progs_close(struct ifhooks_progs *progs)
{
	int *fds[] = { &progs->xdp, &progs->tc_in, &progs->tc_out };
	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* The attachment pinned at this point of the device, and in force. */
static bool pinned_alive(const struct pin_dir *pd, const char *hook, uint32_t ifindex, const char *ifname, bool ingress)
{
	char path[PINS_PATH_MAX];
	pins_iface_link(pd, hook, ifname, path);
	if (!strcmp(hook, PINS_HOOK_TCF) || !strcmp(hook, PINS_HOOK_TCFI))
		return access(path, F_OK) == 0 && query_tc_clsact(ifindex, ingress) != 0;
	int fd = bpf_obj_get(path);
	uint32_t now = 0, prog_id = 0;
	if (fd < 0)
		return false;
	bool alive = link_target(fd, &now, &prog_id) == 0 && now == ifindex && prog_id;
	close(fd);
	return alive;
}

/* (XDP asked for and tc in force: the driver refused native XDP, as
 * apply found.) */
bool ifhooks_in_place(const struct pin_dir *pd, uint32_t ifindex, const char *ifname, enum netdev_ingress ingress)
{
	bool egress = pinned_alive(pd, PINS_HOOK_TC, ifindex, ifname, false) ||
		      pinned_alive(pd, PINS_HOOK_TCF, ifindex, ifname, false);
	bool xdp = pinned_alive(pd, PINS_HOOK_XDP, ifindex, ifname, true);
	bool tc = pinned_alive(pd, PINS_HOOK_TCI, ifindex, ifname, true) ||
		  pinned_alive(pd, PINS_HOOK_TCFI, ifindex, ifname, true);
	switch (ingress) {
	case NETDEV_IN_XDP:
		return egress && (xdp != tc);
	case NETDEV_IN_TC:
		return egress && tc && !xdp;
	default:
		return egress && !tc && !xdp;
	}
}

bool ifhooks_is(const struct hook *h)
{
	return h->ops == &ifhook_ops;
}

const char *ifhooks_kind(const struct hook *h)
{
	static const char *const names[] = {
		[IFH_XDP] = "xdp", [IFH_TCX] = "tcx", [IFH_CLSACT] = "clsact", [IFH_NONE] = NULL
	};
	return names[h->kind];
}

void ifhooks_detach(const struct pin_dir *pd, const char *ifname)
{
	char path[PINS_PATH_MAX];
	for (int i = 0; i < PINS_NIFACE_HOOKS; i++) {
		const char *hook = pins_iface_hooks[i];
		if (access(pins_iface_link(pd, hook, ifname, path), F_OK) != 0)
			continue;
		bool clsact = !strcmp(hook, PINS_HOOK_TCF) || !strcmp(hook, PINS_HOOK_TCFI);
		unsigned idx = clsact ? if_nametoindex(ifname) : 0;
		if (idx)
			detach_tc_clsact(idx, !strcmp(hook, PINS_HOOK_TCFI));
		unlink(path);
	}
}
