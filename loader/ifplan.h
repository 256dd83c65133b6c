/* Which interfaces the loaded policy covers, and what each one gets.
 *
 * The selection (include/rampart_maps.h, struct rp_ifsel) is what `apply`
 * was asked for: every interface but lo (no --iface), or --iface names and
 * patterns (`veth*`); with the policy's interface names, so that a device
 * gets the interface id the loaded policy gives it.  apply pins it with
 * the policy (map rp_ifsel); a later apply without --iface, `rampart
 * daemon` (which follows interfaces that appear and go, ifsync.h) and
 * `status` read it back.
 *
 * The plan is the selection against the devices there are now: which are
 * covered, the role of each (netdev.h), and the rp_ifaces entries
 * (netdev_entries). */
#ifndef RAMPART_IFPLAN_H
#define RAMPART_IFPLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "netdev.h"
#include "pins.h"
#include "policy.h"
#include "rampart_maps.h"

/* ---------- the selection ---------- */

/* Does the selection cover an interface of this name? */
bool ifsel_covers(const struct rp_ifsel *sel, const char *name);
/* Adds an --iface NAME or PATTERN.  0, or -E2BIG / -ENAMETOOLONG. */
int ifsel_add_pattern(struct rp_ifsel *sel, const char *pattern);
/* A pattern with a wildcard (else: a name that must exist). */
bool ifsel_is_pattern(const char *name);
/* The policy's part: its interface names (ids), its wan, option ingress-hook. */
int ifsel_set_policy(struct rp_ifsel *sel, const struct policy *p, const char *wan);
/* The policy's interface id of a device name (policy_iface_id()). */
uint32_t ifsel_iface_id(const struct rp_ifsel *sel, const char *name);
/* The selection pinned with the running policy.  0, or -ENOENT (none: an
 * older rampart loaded it, or nothing is loaded). */
int ifsel_read(const struct pin_dir *pd, struct rp_ifsel *sel);

/* ---------- the plan ---------- */

struct ifplan {
	struct netdev *devs; /* every device of this namespace */
	int n;
	bool *covered;		   /* devs[i] is selected */
	struct netdev_role *roles; /* roles[i] when covered (refused: not attached, why) */
};

/* The selection against the devices there are now.  0 or -errno. */
int ifplan_build(struct ifplan *pl, const struct rp_ifsel *sel);
void ifplan_free(struct ifplan *pl);
/* Covered and attachable: what gets programs. */
bool ifplan_protects(const struct ifplan *pl, int i);
/* Writes the rp_ifaces entries of the plan into the map ifaces_fd; with
 * prune, removes the entries of devices it no longer protects.  0 or -errno. */
int ifplan_write_entries(const struct ifplan *pl, const struct rp_ifsel *sel, int ifaces_fd, bool prune);

/* A device the selection covers that has no programs, and why. */
struct ifplan_gap {
	char name[RP_IFNAME_LEN];
	char reason[200];
};
/* What `status` reports: the devices covered now that are not protected
 * (rampart cannot read them, or they appeared after apply and nobody
 * attached them yet).  How many were written to gaps (at most max), or
 * -errno (-ENOENT: no selection pinned). */
int ifplan_gaps(const struct pin_dir *pd, const struct rp_ifsel *sel, struct ifplan_gap *gaps, int max);

#endif
