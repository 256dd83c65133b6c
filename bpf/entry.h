/* Entry points that only run a shared body with constants (the hook, the
 * address family): one line per program over that body.  One macro per
 * kind of program context.
 *
 * NAME is the program's name: the function's, so `bpftool prog` shows it,
 * the skeleton calls it skel->progs.NAME (the loader reaches programs only
 * there) and links are pinned by the loader's own names (loader/pins.c).
 * SEC_NAME is the ELF section, which gives libbpf the program type and
 * attach type.  BODY(ctx, ...) is an __always_inline function. */
#ifndef RP_ENTRY_H
#define RP_ENTRY_H

/* tc programs */
#define RP_SKB_PROG(sec_name, name, body, ...)        \
	SEC(sec_name) int name(struct __sk_buff *skb) \
	{                                             \
		return body(skb, __VA_ARGS__);        \
	}

/* cgroup/connect*, cgroup/sendmsg*, cgroup/recvmsg* */
#define RP_SOCK_ADDR_PROG(sec_name, name, body, ...)      \
	SEC(sec_name) int name(struct bpf_sock_addr *ctx) \
	{                                                 \
		return body(ctx, __VA_ARGS__);            \
	}

/* cgroup/post_bind* and the other struct bpf_sock hooks */
#define RP_SOCK_PROG(sec_name, name, body, ...)     \
	SEC(sec_name) int name(struct bpf_sock *sk) \
	{                                           \
		return body(sk, __VA_ARGS__);       \
	}

#endif
