/* Where a loaded rampart lives in bpffs.  Everything needed for enforcement
 * and for the read-only commands is pinned under the pin dir:
 *
 *   DIR/maps/NAME          every map of the datapath object, by its BPF name
 *                          (rp_conntrack, rp_config, rp_rules, cls_pairs, ...)
 *   DIR/links/xdp.IFNAME   the XDP link of each protected interface
 *   DIR/links/tc.IFNAME    the tc egress link (or nothing when tc is attached
 *                          through a clsact filter, see attach.c)
 *   DIR/progs/xdp, DIR/progs/tc   the programs now in force
 *
 * `status`, `rules`, `flows` and `log` read these pins only: no daemon needed. */
#ifndef RAMPART_PINS_H
#define RAMPART_PINS_H

#include <stdbool.h>
#include <stddef.h>

/* Makes sure bpffs is mounted at /sys/fs/bpf (mounting it when missing) and
 * that dir's parent is on bpffs.  0, or -errno with a message in err. */
int pins_check_bpffs(const char *dir, char *err, size_t errlen);
/* Creates DIR, DIR/maps, DIR/links, DIR/progs.  0 or -errno. */
int pins_mkdirs(const char *dir);
/* DIR/SUB/NAME (SUB or NAME may be NULL). */
void pins_path(char *buf, size_t len, const char *dir, const char *sub, const char *name);
/* fd of DIR/maps/NAME, or -errno (-ENOENT when not pinned). */
int pins_open_map(const char *dir, const char *name);
/* A policy is loaded in dir (its configuration map is pinned). */
bool pins_loaded(const char *dir);
/* Removes everything under dir and dir itself (unpinning drops the kernel
 * objects once nothing else holds them).  0 or -errno. */
int pins_remove_all(const char *dir);

#endif
