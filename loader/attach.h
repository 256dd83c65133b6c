/* Attaching the datapath programs to an interface, and switching them.
 *
 * XDP and tc (ingress and egress) are attached through BPF links: a link
 * pinned in bpffs keeps the program attached without any process, unpinning
 * it detaches it, and bpf_link_update() replaces its program in one step
 * (every packet runs either the old or the new program).  tc uses tcx links
 * (Linux >= 6.6); on older kernels it falls back to a clsact filter with a
 * fixed handle and priority, replaced in place with BPF_TC_F_REPLACE.
 * Which device gets which program: netdev.h. */
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

/* The kernel operations only: each returns -errno and says nothing, the
 * caller (hooks.c) knows what a failure means (a driver without native XDP
 * is no error: tc ingress judges instead). */

/* XDP link in native (driver) mode.  Generic (skb) mode is never used: it
 * is slower than tc and costs the frames their GRO/GSO size.  The link fd,
 * or -errno (-EOPNOTSUPP and the like: the driver has no native XDP;
 * -EBUSY/-EEXIST: another XDP program is attached). */
int attach_xdp(int prog_fd, uint32_t ifindex);
/* tcx link, ingress or egress.  The link fd, or -errno. */
int attach_tcx(int prog_fd, uint32_t ifindex, bool ingress);
/* clsact filter (created or replaced).  0 or -errno. */
int attach_tc_clsact(int prog_fd, uint32_t ifindex, bool ingress);
/* Removes our clsact filter (not the qdisc: others may use it). */
int detach_tc_clsact(uint32_t ifindex, bool ingress);
/* The program id of our clsact filter (0: none). */
uint32_t query_tc_clsact(uint32_t ifindex, bool ingress);

/* Replaces the program of a link in one step.  0 or -errno. */
int link_switch(int link_fd, int new_prog_fd);
/* The interface and program of a link (ifindex 0: the device is gone). */
int link_target(int link_fd, uint32_t *ifindex, uint32_t *prog_id);
/* "native", "generic", "offload" or "none": how XDP runs on ifindex now. */
const char *xdp_mode_name(uint32_t ifindex);

#endif
