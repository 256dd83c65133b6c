/* Attaching the datapath programs to an interface, and switching them.
 *
 * XDP (ingress) and tc egress are attached through BPF links: a link pinned
 * in bpffs keeps the program attached without any process, unpinning it
 * detaches it, and bpf_link_update() replaces its program in one step (every
 * packet runs either the old or the new program).  tc egress uses a tcx link
 * (Linux >= 6.6); on older kernels it falls back to a clsact filter with a
 * fixed handle and priority, replaced in place with BPF_TC_F_REPLACE. */
#ifndef RAMPART_ATTACH_H
#define RAMPART_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tcx attach types (kernel uapi >= 6.6; libbpf 1.1's headers lack them). */
#define RP_BPF_TCX_INGRESS 46
#define RP_BPF_TCX_EGRESS  47

/* clsact filter identity used by the fallback: ours, whatever else is there. */
#define RP_TC_HANDLE   0x5250 /* "RP" */
#define RP_TC_PRIORITY 0xc0de

/* XDP link: native (driver) mode first, generic (skb) mode when the driver
 * has no XDP support.  Returns the link fd, or -errno with err set;
 * *generic tells which mode was used. */
int attach_xdp(int prog_fd, uint32_t ifindex, bool *generic, char *err, size_t errlen);
/* tcx egress link.  Returns the link fd, or -errno with err set. */
int attach_tcx_egress(int prog_fd, uint32_t ifindex, char *err, size_t errlen);
/* clsact egress filter (created or replaced).  0 or -errno with err set. */
int attach_tc_clsact(int prog_fd, uint32_t ifindex, char *err, size_t errlen);
/* Removes our clsact egress filter (not the qdisc: others may use it). */
int detach_tc_clsact(uint32_t ifindex);

/* Replaces the program of a link (XDP or tcx).  0 or -errno with err set. */
int link_switch(int link_fd, int new_prog_fd, char *err, size_t errlen);
/* The interface and program of a link (ifindex 0: the device is gone). */
int link_target(int link_fd, uint32_t *ifindex, uint32_t *prog_id);
/* "native", "generic", "offload" or "none": how XDP runs on ifindex now. */
const char *xdp_mode_name(uint32_t ifindex);

#endif
