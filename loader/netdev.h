/* The network devices of this namespace as rampart sees them, read over
 * rtnetlink (sysfs shows the namespace it was mounted in, not the one we
 * run in): link type, kind, bridge master, VLAN parent.  And from that,
 * which of the datapath's programs each device gets and which logical
 * interface its frames belong to (docs/datapath.md, "Which program runs
 * where").  The role and table functions are pure: unit-tested. */
#ifndef RAMPART_NETDEV_H
#define RAMPART_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEV_NAMESIZE 16 /* IF_NAMESIZE, without <net/if.h> (it clashes with the rtnetlink headers) */

struct netdev {
	char name[NETDEV_NAMESIZE];
	uint32_t ifindex;
	uint16_t type;	     /* ARPHRD_* */
	char kind[16];	     /* rtnetlink kind (veth, bridge, vlan, tun, vxlan, ...); "" for a hardware NIC */
	char slave_kind[16]; /* "bridge" for a bridge port */
	uint32_t master;     /* ifindex of its master device (0: none) */
	uint32_t link;	     /* VLAN device: the parent's ifindex */
	uint16_t vlan_id;    /* VLAN device: its id */
};

/* Every device of this network namespace (*devs: malloc'd).  0 or -errno. */
int netdev_list(struct netdev **devs, int *n);
/* The device with this ifindex, or NULL. */
const struct netdev *netdev_find(const struct netdev *devs, int n, uint32_t ifindex);

/* rtnetlink's link events (devices that appear, go or change: renamed,
 * enslaved to a bridge): a socket subscribed to them, non-blocking, to
 * poll.  fd or -errno. */
int netdev_watch_open(void);
/* Reads what is pending; true when a device appeared, went or changed (or
 * events were lost: look again). */
bool netdev_watch_drain(int fd);

/* How a device's packets start. */
enum netdev_link {
	NETDEV_LINK_ETHER,	 /* an Ethernet header (Ethernet, loopback, tap, bridges, vxlan, ...) */
	NETDEV_LINK_IP,		 /* the IP header: no link layer (tun, wireguard, ipip, gre, sit, ppp) */
	NETDEV_LINK_UNSUPPORTED, /* something else: not attached, said so */
};
enum netdev_link netdev_link(uint16_t type);
/* "ether", "none", "ipip", ... for messages. */
const char *netdev_type_name(uint16_t type);

/* Which program judges a device's arriving packets (option ingress-hook). */
enum netdev_ingress {
	NETDEV_IN_XDP,	/* XDP, native (driver) mode; tc when the driver refuses it */
	NETDEV_IN_TC,	/* tc ingress (tcx link) */
	NETDEV_IN_NONE, /* none: a bridge port whose bridge rampart protects */
};

struct netdev_role {
	enum netdev_ingress ingress;
	bool l3;	   /* the *_l3 programs: packets start with the IP header */
	bool bridge_port;  /* a port of a bridge rampart protects: only bridged frames are judged here */
	char refused[160]; /* not "": not attached, and why */
};

/* The role of d when the devices with protect[i] set (indexes of devs) are
 * the ones rampart attaches to.  ingress_hook: enum ingress_hook of the
 * policy (policy.h). */
void netdev_role(const struct netdev *d, const struct netdev *devs, int n, const bool *protect, int ingress_hook,
		 struct netdev_role *r);

/* One rp_ifaces entry (include/rampart_maps.h): frames on ifindex with
 * outer tag vid belong to the logical interface logical_ifindex. */
struct netdev_entry {
	uint32_t ifindex;
	uint16_t vid;
	uint32_t logical_ifindex;
	uint32_t id;	/* the policy's interface id of the logical interface */
	bool judges;	/* RP_IFF_JUDGES */
	bool elsewhere; /* RP_IFF_ELSEWHERE */
};

/* The policy's interface id of a device name (0: not named). */
typedef uint32_t (*netdev_policy_id_fn)(const char *name, void *arg);

/* The rp_ifaces entries for the protected devices (roles[i] for devs[i]):
 * one per protected device (a bridge port the policy does not name belongs
 * to its bridge), one per VLAN device of a protected parent.  Returns the
 * number written to out (at most max). */
int netdev_entries(const struct netdev *devs, int n, const bool *protect, const struct netdev_role *roles,
		   netdev_policy_id_fn policy_id, void *arg, struct netdev_entry *out, int max);

#endif
