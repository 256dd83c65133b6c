/* XDP and tc attachments through BPF links (see attach.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"

int attach_xdp(int prog_fd, uint32_t ifindex)
{
	LIBBPF_OPTS(bpf_link_create_opts, o, .flags = XDP_FLAGS_DRV_MODE);
	int fd = bpf_link_create(prog_fd, (int)ifindex, BPF_XDP, &o);
	return fd >= 0 ? fd : -errno;
}

int attach_tcx(int prog_fd, uint32_t ifindex, bool ingress)
{
	/* With no relative program and no flags the kernel appends ours. */
	enum bpf_attach_type t = (enum bpf_attach_type)(ingress ? RP_BPF_TCX_INGRESS : RP_BPF_TCX_EGRESS);
	int fd = bpf_link_create(prog_fd, (int)ifindex, t, NULL);
	return fd >= 0 ? fd : -errno;
}

int attach_tc_clsact(int prog_fd, uint32_t ifindex, bool ingress)
{
	enum bpf_tc_attach_point ap = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	int e = bpf_tc_hook_create(&hook);
	if (e && e != -EEXIST)
		return e;
	return bpf_tc_attach(&hook, &opts);
}

int detach_tc_clsact(uint32_t ifindex, bool ingress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIORITY);
	return bpf_tc_detach(&hook, &opts);
}

uint32_t query_tc_clsact(uint32_t ifindex, bool ingress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = RP_TC_HANDLE, .priority = RP_TC_PRIORITY);
	return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
}

int link_switch(int link_fd, int new_prog_fd)
{
	return bpf_link_update(link_fd, new_prog_fd, NULL) ? -errno : 0;
}

int link_target(int link_fd, uint32_t *ifindex, uint32_t *prog_id)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return -errno;
	/* xdp.ifindex and tcx.ifindex sit at the same place of the union (the
	 * installed headers predate tcx) */
	*ifindex = info.xdp.ifindex;
	*prog_id = info.prog_id;
	return 0;
}

const char *xdp_mode_name(uint32_t ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query((int)ifindex, 0, &q))
		return "none";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "multi";
	default:
		return "none";
	}
}
