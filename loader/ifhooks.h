/* The hooks of one interface (a back-end of hooks.h): what judges its
 * arriving packets (ingress: an XDP link, or a tc one when the role says tc
 * or the driver has no native XDP) and its leaving ones (egress: tc).  tc
 * points are tcx links, or clsact filters where there is no tcx (or when
 * RAMPART_TC_ATTACH=clsact asks for one, to test that path).  Which role a
 * device has: netdev.h. */
#ifndef RAMPART_IFHOOKS_H
#define RAMPART_IFHOOKS_H

#include <stdint.h>
#include "hooks.h"
#include "netdev.h"
#include "pins.h"

/* The programs an interface gets (fds). */
struct ifhooks_progs {
	int xdp;    /* ingress, XDP */
	int tc_in;  /* ingress, tc */
	int tc_out; /* egress, tc */
};

/* The programs pinned with the running policy (DIR/progs), for an
 * interface that appears later: l3 for a device without a link layer.
 * 0 or -errno; ifhooks_progs_close() when done. */
int ifhooks_pinned_progs(const struct pin_dir *pd, bool l3, struct ifhooks_progs *progs);
void ifhooks_progs_close(struct ifhooks_progs *progs);

/* Adds the interface's points to t: ingress (unless the role is
 * NETDEV_IN_NONE) and egress.  0 or -ENOMEM. */
int ifhooks_add(struct hook_txn *t, const struct pin_dir *pd, uint32_t ifindex, const char *ifname,
		enum netdev_ingress ingress, const struct ifhooks_progs *progs);
/* An interface point of t (else NULL): is it, and which interface. */
bool ifhooks_is(const struct hook *h);
/* What the point runs as after the switch: "xdp", "tcx", "clsact", or NULL (an
 * ingress with no program: a bridge port). */
const char *ifhooks_kind(const struct hook *h);
/* Are the interface's pinned attachments in force, on this very device
 * (not a namesake that went), and what its role asks for? */
bool ifhooks_in_place(const struct pin_dir *pd, uint32_t ifindex, const char *ifname, enum netdev_ingress ingress);
/* Removes every attachment pinned for ifname (unpinning the last
 * reference to a link detaches it; a clsact filter is detached). */
void ifhooks_detach(const struct pin_dir *pd, const char *ifname);

#endif
