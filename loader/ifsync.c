/* Interfaces that appear, go or change while a policy is loaded (ifsync.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "datapath.h"
#include "hooks.h"
#include "ifhooks.h"
#include "ifplan.h"
#include "ifsync.h"
#include "log.h"
#include "rampart_names.h"

/* One transaction for the devices whose attachments are not in line. */
static int attach_changed(struct pin_dir *pd, const struct ifplan *pl, struct ifsync_report *r)
{
	struct hook_txn txn = { 0 };
	struct ifhooks_progs progs[2] = { { -1, -1, -1 }, { -1, -1, -1 } };
	int e = 0;
	for (int i = 0; !e && i < pl->n; i++) {
		const struct netdev *d = &pl->devs[i];
		const struct netdev_role *role = &pl->roles[i];
		if (!pl->covered[i] || ifhooks_in_place(pd, d->ifindex, d->name, role->ingress))
			continue;
		if (!ifplan_protects(pl, i)) {
			r->refused++;
			continue;
		}
		struct ifhooks_progs *pg = &progs[role->l3];
		if (pg->tc_out < 0)
			e = ifhooks_pinned_progs(pd, role->l3, pg);
		if (!e)
			e = ifhooks_add(&txn, pd, d->ifindex, d->name, role->ingress, pg);
		if (!e && !r->attached++)
			snprintf(r->first, sizeof(r->first), "%s", d->name);
	}
	if (!e && txn.n && !(e = txn_prepare(&txn)) && !(e = txn_switch(&txn)))
		txn_commit(&txn);
	txn_free(&txn);
	ifhooks_progs_close(&progs[0]);
	ifhooks_progs_close(&progs[1]);
	return e;
}

/* Pins of devices that went, or that the selection no longer covers. */
static void detach_gone(struct pin_dir *pd, const struct ifplan *pl, struct ifsync_report *r)
{
	char names[256][IF_NAMESIZE];
	int n = pins_attached_ifaces(pd, names, 256);
	for (int j = 0; j < n; j++) {
		bool keep = false;
		for (int i = 0; i < pl->n && !keep; i++)
			keep = ifplan_protects(pl, i) && !strcmp(pl->devs[i].name, names[j]);
		if (!keep) {
			ifhooks_detach(pd, names[j]);
			r->detached++;
		}
	}
}

/* Gateway mode: the wan interface's index, when it (re)appeared. */
static int follow_wan(struct pin_dir *pd, const struct ifplan *pl, const struct rp_ifsel *sel)
{
	if (!sel->wan[0])
		return 0;
	uint32_t ifindex = 0;
	for (int i = 0; i < pl->n; i++)
		if (ifplan_protects(pl, i) && !strcmp(pl->devs[i].name, sel->wan))
			ifindex = pl->devs[i].ifindex;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CONFIG));
	struct rp_config cfg;
	__u32 zero = (__u32)config_slot_in_force(pd);
	int e = 0;
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &cfg) == 0 && ifindex &&
	    (!(cfg.flags & RP_CFG_F_HAVE_WAN) || cfg.wan_ifindex != ifindex)) {
		cfg.flags |= RP_CFG_F_HAVE_WAN;
		cfg.wan_ifindex = ifindex;
		if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
			e = -errno;
		pr_note("%s (the wan interface) is ifindex %u now: gateway mode follows it", sel->wan, ifindex);
	}
	close(fd);
	return e;
}

int ifsync_run(struct pin_dir *pd, struct ifsync_report *r)
{
	struct rp_ifsel sel;
	struct ifplan pl = { 0 };
	memset(r, 0, sizeof(*r));
	int e = pins_lock(pd);
	if (e)
		return e;
	if (!pins_loaded(pd) || ifsel_read(pd, &sel))
		goto out; /* nothing loaded, or a selection of another rampart */
	if ((e = ifplan_build(&pl, &sel))) {
		pr_err_r(e, "cannot list the network devices (rtnetlink)");
		goto out;
	}
	/* the interface map first: a device's programs judge with its entry */
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_IFACES));
	e = fd < 0 ? fd : ifplan_write_entries(&pl, &sel, fd, true);
	if (fd >= 0)
		close(fd);
	if (e) {
		pr_err_r(e, "cannot write the interface map");
		goto out;
	}
	e = attach_changed(pd, &pl, r);
	detach_gone(pd, &pl, r);
	if (!e)
		e = follow_wan(pd, &pl, &sel);
out:
	ifplan_free(&pl);
	pins_unlock(pd);
	return e;
}
