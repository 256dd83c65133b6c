/* The entry points of attached programs: one line each, over a shared body
 * with constants (the hook, the address family).  One macro per kind of
 * program context.
 *
 * NAME is the program's name: the function's, so `bpftool prog` shows it,
 * the skeleton calls it skel->progs.NAME (the loader reaches programs only
 * there) and links are pinned by the loader's own names (loader/pins.c).
 * SEC_NAME is the ELF section, which gives libbpf the program type and
 * attach type.  FWD is the program's forwarding array (include/
 * rampart_names.h: RP_MAP_FWD_*), declared here with the program: every
 * attached program starts with its gate (bpf/config.h, RP_GATE), which
 * until the flip forwards to the program it replaced or, with none,
 * returns what the hook does without a program.  BODY(ctx, ...) is an
 * __always_inline function (the gate's tail call stays in the SEC()
 * function, see bpf/config.h). */
#ifndef RP_ENTRY_H
#define RP_ENTRY_H

#include "config.h"

/* A gated entry point of context CTX_TYPE *CTX; NOT_ATTACHED is what its
 * hook does without a program. */
#define RP_GATED_PROG(ctx_type, ctx, not_attached, sec_name, name, fwd, body, ...) \
	RP_FORWARD_MAP(fwd);                                                       \
	SEC(sec_name) int name(ctx_type *ctx)                                      \
	{                                                                          \
		RP_GATE(ctx, fwd, not_attached);                                   \
		return body(ctx, __VA_ARGS__);                                     \
	}

/* tc programs: without a program the packet goes on (TC_ACT_UNSPEC) */
#define RP_SKB_PROG(sec_name, name, fwd, body, ...) \
	RP_GATED_PROG(struct __sk_buff, skb, TC_ACT_UNSPEC, sec_name, name, fwd, body, __VA_ARGS__)

/* cgroup/connect*, cgroup/sendmsg*, cgroup/recvmsg*: without a program the
 * call goes on (1) */
#define RP_SOCK_ADDR_PROG(sec_name, name, fwd, body, ...) \
	RP_GATED_PROG(struct bpf_sock_addr, ctx, 1, sec_name, name, fwd, body, __VA_ARGS__)

/* cgroup/post_bind* and the other struct bpf_sock hooks: without a program
 * the call goes on (1) */
#define RP_SOCK_PROG(sec_name, name, fwd, body, ...) \
	RP_GATED_PROG(struct bpf_sock, sk, 1, sec_name, name, fwd, body, __VA_ARGS__)

#endif
