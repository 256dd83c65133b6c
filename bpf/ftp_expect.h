/* The FTP helper's expectations (map rp_ftp_expect, include/rampart_maps.h):
 * the data connections announced on FTP control connections.  Declared
 * here for both objects: the datapath (bpf/ftp.h) creates and takes them,
 * the socket hooks (bpf/sock.bpf.c) let an announced connect() through to
 * it; the loader makes the hooks share the datapath's map. */
#ifndef RP_FTP_EXPECT_H
#define RP_FTP_EXPECT_H

#include "rampart_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory only for the FTP sessions there are */
	__uint(max_entries, 8192);
	__type(key, struct rp_ftp_expect_key);
	__type(value, struct rp_ftp_expect);
} RP_MAP_FTP_EXPECT SEC(".maps");

/* Is a TCP connection from saddr (all zero: not chosen yet) to daddr:dport
 * (network order) announced and still expected? */
static __always_inline int rp_ftp_expected(const __u32 *saddr, const __u32 *daddr, __u16 dport, __u64 now)
{
	struct rp_ftp_expect_key k = { .dport = dport, .proto = 6 };
	__builtin_memcpy(k.daddr, daddr, 16);
	struct rp_ftp_expect *e = bpf_map_lookup_elem(&rp_ftp_expect, &k);
	if (!e || e->expires_ns <= now)
		return 0;
	if (!(saddr[0] | saddr[1] | saddr[2] | saddr[3]))
		return 1;
	return ((e->saddr[0] ^ saddr[0]) | (e->saddr[1] ^ saddr[1]) | (e->saddr[2] ^ saddr[2]) |
		(e->saddr[3] ^ saddr[3])) == 0;
}

#endif
