/* Boot protection and mode changes, shared by the datapath
 * (bpf/rampart.bpf.c) and the boot-protection object (bpf/boot.bpf.c). */
#ifndef RP_BOOT_H
#define RP_BOOT_H

#include "rampart_maps.h"

#define RP_DHCP4_SERVER_PORT 67
#define RP_DHCP4_CLIENT_PORT 68
#define RP_DHCP6_SERVER_PORT 547
#define RP_DHCP6_CLIENT_PORT 546

/* Records when and why the mode changed (see rp_config.mode_reason). */
static __always_inline void rp_mode_set(struct rp_config *cfg, __u32 mode, __u32 reason)
{
	cfg->mode = mode;
	cfg->mode_reason = reason;
	cfg->mode_changed_ns = bpf_ktime_get_boot_ns();
}

/* Boot mode: has the deadline passed with nobody applying a policy, so
 * that the kernel opens by itself? (The timer in bpf/boot.bpf.c writes the
 * mode; this lets a packet that comes first see the same answer.) */
static __always_inline int rp_boot_expired(const struct rp_config *cfg, __u64 now)
{
	return cfg->mode == RP_MODE_BOOT && cfg->boot_deadline_ns && now >= cfg->boot_deadline_ns &&
	       !cfg->boot_fail_closed;
}

/* A DHCP (server 67 -> client 68) or DHCPv6 (547 -> 546) answer: the
 * client's request went to a broadcast/multicast address, so the reply
 * matches no tracked flow; boot mode lets it in so that addresses can be
 * configured before the policy is applied.  Ports in network order. */
static __always_inline int rp_boot_dhcp_reply(__u8 family, __u8 proto, __u16 sport_be, __u16 dport_be)
{
	if (proto != 17 /* UDP */)
		return 0;
	if (family == 4)
		return sport_be == bpf_htons(RP_DHCP4_SERVER_PORT) && dport_be == bpf_htons(RP_DHCP4_CLIENT_PORT);
	return sport_be == bpf_htons(RP_DHCP6_SERVER_PORT) && dport_be == bpf_htons(RP_DHCP6_CLIENT_PORT);
}

#endif
