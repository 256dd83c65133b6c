/* Network devices over rtnetlink, and which program each one gets (see
 * netdev.h and docs/datapath.md, "Which program runs where"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "netdev.h"
#include "policy.h"

/* ---------- reading the devices ---------- */

struct dump {
	struct netdev *devs;
	int n, cap;
};

static void read_vlan(const struct nlattr *data, struct netdev *d)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, data) if (mnl_attr_get_type(a) == IFLA_VLAN_ID &&
					      mnl_attr_validate(a, MNL_TYPE_U16) == 0) d->vlan_id = mnl_attr_get_u16(a);
}

static void read_linkinfo(const struct nlattr *info, struct netdev *d)
{
	const struct nlattr *a, *data = NULL;
	mnl_attr_for_each_nested(a, info)
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_INFO_KIND:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
				snprintf(d->kind, sizeof(d->kind), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_INFO_SLAVE_KIND:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
				snprintf(d->slave_kind, sizeof(d->slave_kind), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_INFO_DATA:
			data = a;
			break;
		}
	}
	if (data && !strcmp(d->kind, "vlan"))
		read_vlan(data, d);
}

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct dump *dp = arg;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct netdev d;
	const struct nlattr *a;
	uint32_t link = 0;

	memset(&d, 0, sizeof(d));
	d.ifindex = (uint32_t)ifm->ifi_index;
	d.type = ifm->ifi_type;
	mnl_attr_for_each(a, nlh, sizeof(*ifm))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
				snprintf(d.name, sizeof(d.name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				d.master = mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				link = mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			read_linkinfo(a, &d);
			break;
		}
	}
	/* IFLA_LINK means the parent only for a VLAN (a veth names its peer) */
	if (!strcmp(d.kind, "vlan"))
		d.link = link;
	if (dp->n == dp->cap) {
		int cap = dp->cap ? dp->cap * 2 : 16;
		struct netdev *v = realloc(dp->devs, (size_t)cap * sizeof(*v));
		if (!v)
			return MNL_CB_ERROR;
		dp->devs = v;
		dp->cap = cap;
	}
	dp->devs[dp->n++] = d;
	return MNL_CB_OK;
}

int netdev_list(struct netdev **devs, int *n)
{
	char buf[32768]; /* a dump message holds several devices */
	struct dump dp = { 0 };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int e = 0;

	*devs = NULL;
	*n = 0;
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		goto out;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	unsigned portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		e = -errno;
		goto out;
	}
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (r < 0) {
			e = -errno;
			break;
		}
		int c = mnl_cb_run(buf, (size_t)r, nlh->nlmsg_seq, portid, link_cb, &dp);
		if (c == MNL_CB_STOP)
			break;
		if (c < 0) {
			e = errno ? -errno : -EIO;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	if (e) {
		free(dp.devs);
		return e;
	}
	*devs = dp.devs;
	*n = dp.n;
	return 0;
}

int netdev_watch_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

bool netdev_watch_drain(int fd)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct nlmsghdr))));
	bool changed = false;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return changed || errno == ENOBUFS; /* ENOBUFS: events lost, look again */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
			changed |= h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK;
	}
}

const struct netdev *netdev_find(const struct netdev *devs, int n, uint32_t ifindex)
{
	for (int i = 0; i < n; i++)
		if (devs[i].ifindex == ifindex)
			return &devs[i];
	return NULL;
}

/* ---------- link types ---------- */

enum netdev_link netdev_link(uint16_t type)
{
	switch (type) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK: /* loopback frames carry an (all-zero) Ethernet header */
		return NETDEV_LINK_ETHER;
	case ARPHRD_NONE:    /* tun, wireguard */
	case ARPHRD_TUNNEL:  /* ipip */
	case ARPHRD_TUNNEL6: /* ip6tnl */
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP: /* raw-IP modems */
		return NETDEV_LINK_IP;
	default:
		return NETDEV_LINK_UNSUPPORTED;
	}
}

const char *netdev_type_name(uint16_t type)
{
	switch (type) {
	case ARPHRD_ETHER:
		return "ether";
	case ARPHRD_LOOPBACK:
		return "loopback";
	case ARPHRD_NONE:
		return "none";
	case ARPHRD_TUNNEL:
		return "ipip";
	case ARPHRD_TUNNEL6:
		return "tunnel6";
	case ARPHRD_SIT:
		return "sit";
	case ARPHRD_IPGRE:
		return "gre";
	case ARPHRD_IP6GRE:
		return "ip6gre";
	case ARPHRD_PPP:
		return "ppp";
	case ARPHRD_RAWIP:
		return "rawip";
	case ARPHRD_INFINIBAND:
		return "infiniband";
	case ARPHRD_CAN:
		return "can";
	case ARPHRD_IEEE802154:
		return "ieee802.15.4";
	default:
		return "other";
	}
}

/* ---------- roles ---------- */

static int index_of(const struct netdev *devs, int n, uint32_t ifindex)
{
	for (int i = 0; i < n; i++)
		if (devs[i].ifindex == ifindex)
			return i;
	return -1;
}

/* A port of a bridge that rampart protects too. */
static bool port_of_protected_bridge(const struct netdev *d, const struct netdev *devs, int n, const bool *protect)
{
	if (!d->master || strcmp(d->slave_kind, "bridge"))
		return false;
	int m = index_of(devs, n, d->master);
	return m >= 0 && protect[m];
}

void netdev_role(const struct netdev *d, const struct netdev *devs, int n, const bool *protect, int ingress_hook,
		 struct netdev_role *r)
{
	memset(r, 0, sizeof(*r));
	switch (netdev_link(d->type)) {
	case NETDEV_LINK_UNSUPPORTED:
		snprintf(r->refused, sizeof(r->refused),
			 "link type %s (%u): rampart cannot read the headers of its packets", netdev_type_name(d->type),
			 d->type);
		r->ingress = NETDEV_IN_NONE;
		return;
	case NETDEV_LINK_IP:
		r->l3 = true;
		r->ingress = NETDEV_IN_TC;
		return;
	case NETDEV_LINK_ETHER:
		break;
	}
	if (port_of_protected_bridge(d, devs, n, protect)) {
		/* the bridge judges what goes up to this host; the port only
		 * what the bridge forwards between its ports */
		r->bridge_port = true;
		r->ingress = NETDEV_IN_NONE;
		return;
	}
	/* native XDP on a virtual device (veth) costs more than it saves: the
	 * frames lose their GRO/GSO size (docs/performance.md) */
	bool hardware = !d->kind[0] && d->type == ARPHRD_ETHER;
	if (ingress_hook == INGRESS_HOOK_XDP || (ingress_hook == INGRESS_HOOK_AUTO && hardware))
		r->ingress = NETDEV_IN_XDP;
	else
		r->ingress = NETDEV_IN_TC;
}

int netdev_entries(const struct netdev *devs, int n, const bool *protect, const struct netdev_role *roles,
		   netdev_policy_id_fn policy_id, void *arg, struct netdev_entry *out, int max)
{
	int k = 0;
	for (int i = 0; i < n && k < max; i++) {
		const struct netdev *d = &devs[i];
		if (!protect[i] || roles[i].refused[0])
			continue;
		struct netdev_entry *e = &out[k++];
		memset(e, 0, sizeof(*e));
		e->ifindex = d->ifindex;
		e->logical_ifindex = d->ifindex;
		e->id = policy_id(d->name, arg);
		e->judges = roles[i].ingress != NETDEV_IN_NONE;
		int m = d->master && !strcmp(d->slave_kind, "bridge") ? index_of(devs, n, d->master) : -1;
		if (!e->id && m >= 0) {
			/* `on BRIDGE` covers the ports the policy does not name */
			e->logical_ifindex = devs[m].ifindex;
			e->id = policy_id(devs[m].name, arg);
		}
		for (int j = 0; j < n && k < max; j++) {
			const struct netdev *v = &devs[j];
			if (strcmp(v->kind, "vlan") || v->link != d->ifindex || !v->vlan_id)
				continue;
			struct netdev_entry *ve = &out[k++];
			memset(ve, 0, sizeof(*ve));
			ve->ifindex = d->ifindex;
			ve->vid = v->vlan_id;
			ve->logical_ifindex = v->ifindex;
			ve->id = policy_id(v->name, arg);
			ve->judges = e->judges;
			ve->elsewhere = protect[j] && !roles[j].refused[0];
		}
	}
	return k;
}
