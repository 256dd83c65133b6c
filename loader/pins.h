/* Where a loaded rampart lives in bpffs.  Everything needed for enforcement
 * and for the read-only commands is pinned under the pin dir:
 *
 *   DIR/maps/NAME          every map of the datapath object, by its BPF name
 *                          (rp_conntrack, rp_config, rp_rules, cls_tab, ...)
 *   DIR/links/xdp-IFNAME   the XDP link of an interface judged by XDP
 *   DIR/links/tci-IFNAME   the tc ingress link (tcx) of one judged by tc
 *   DIR/links/tc-IFNAME    the tc egress link (tcx)
 *   DIR/links/tcfi-IFNAME, DIR/links/tcf-IFNAME
 *                          instead of tci-/tc-IFNAME when tc is a clsact
 *                          filter (kernels without tcx): the program, as a
 *                          marker that tells unload to remove the filter
 *   DIR/progs/xdp, tc-in, tc-in-l3, tc, tc-l3   the programs now in force
 *
 * bpffs refuses dots in names (the kernel reserves them), hence `-`; a dot
 * in an interface name (eth0.100) is pinned as `:`, which interface names
 * cannot contain.  apply builds a new set in DIR/maps-new and DIR/progs-new
 * and exchanges it with the current one in one rename (see apply.c).
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
/* The hook part of link pin names (see above), and how many there are. */
extern const char *const pins_link_hooks[];
#define PINS_NLINK_HOOKS 5
/* Link pin names: "xdp-eth0", "tci-eth0", "tc-eth0", ... (see above). */
void pins_link_name(char *buf, size_t len, const char *hook, const char *ifname);
/* Splits a link pin name into hook and interface name; false if it is not one. */
bool pins_parse_link_name(const char *name, char *hook, size_t hooklen, char *ifname,
			  size_t iflen);
/* Pins fd at path, replacing what is there in one step (pinned beside it
 * as new-NAME, then renamed over it).  0 or -errno. */
int pins_replace(int fd, const char *path);
/* Removes everything under dir and dir itself (unpinning drops the kernel
 * objects once nothing else holds them).  0 or -errno. */
int pins_remove_all(const char *dir);

#endif
