/* The pin dir: where a loaded rampart lives in bpffs.  This file and
 * pins.c are the only code that knows its layout; everything else gets an
 * opened pin-dir instance (struct pin_dir) and asks it for paths.
 *
 *   DIR/maps/NAME            every map, by its name (include/rampart_names.h)
 *   DIR/maps/prev-NAME       the rule metadata of the generation before (rp_rules,
 *                            rp_policy_info): log events judged under it name
 *                            its slots (one generation back, replaced by each apply)
 *   DIR/progs/xdp, tc-in, tc-in-l3, tc, tc-l3
 *                            the datapath programs in force
 *   DIR/progs/ask-answer     the program the `ask` agent answers with
 *   DIR/progs/sock-HOOK      the socket hooks' programs (HOOK: connect4, ...)
 *   DIR/links/xdp-IFNAME     the XDP link of an interface judged by XDP
 *   DIR/links/tci-IFNAME     the tc ingress link (tcx) of one judged by tc
 *   DIR/links/tc-IFNAME      the tc egress link (tcx)
 *   DIR/links/tcfi-IFNAME, DIR/links/tcf-IFNAME
 *                            instead of tci-/tc-IFNAME when tc is a clsact
 *                            filter (kernels without tcx): the program, as a
 *                            marker that tells unload to remove the filter
 *   DIR/links/cg-HOOK        the socket hooks' cgroup links
 *   DIR/links/sk_lookup      boot protection's network-namespace link
 *   DIR/fwd/ID               the forwarding array of program ID while it
 *                            forwards to the program it replaced (until
 *                            the flip; bpf/config.h): the kernel empties
 *                            a PROG_ARRAY nothing in user space holds
 *
 * Staging: apply pins a new set in DIR/maps-new and DIR/progs-new, and new
 * cgroup links as DIR/links/new-cg-HOOK, then exchanges each with the
 * current one in one rename (pins_stage_commit).  A pin replaced in place
 * goes through DIR/SUB/new-NAME (pins_replace).
 *
 * bpffs refuses dots in names (the kernel reserves them), hence `-`; a dot
 * in an interface name (eth0.100) is pinned as `:`, which interface names
 * cannot contain.
 *
 * `status`, `rules`, `flows` and `log` read these pins only: no daemon needed.
 * Every function that fails says why (log.h) and returns -errno. */
#ifndef RAMPART_PINS_H
#define RAMPART_PINS_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define PINS_PATH_MAX	 PATH_MAX
#define PINS_DEFAULT_DIR "/sys/fs/bpf/rampart"
#define PINS_LOCK_DIR	 "/run/lock/rampart" /* the instances' lock files */

struct pin_dir {
	char path[PINS_PATH_MAX]; /* DIR */
	int lock_fd;		  /* the lock file while pins_lock() holds it, else -1 */
	bool created;		  /* pins_stage_begin() created DIR */
};

/* The hooks of an interface, as their link pins name them. */
#define PINS_HOOK_XDP  "xdp"  /* ingress, XDP link */
#define PINS_HOOK_TCI  "tci"  /* ingress, tcx link */
#define PINS_HOOK_TCFI "tcfi" /* ingress, clsact filter */
#define PINS_HOOK_TC   "tc"   /* egress, tcx link */
#define PINS_HOOK_TCF  "tcf"  /* egress, clsact filter */
/* All of them, and how many. */
extern const char *const pins_iface_hooks[];
#define PINS_NIFACE_HOOKS 5

/* The datapath's programs in DIR/progs (what interface hooks run). */
#define PINS_PROG_XDP	     "xdp"
#define PINS_PROG_TC_IN	     "tc-in"
#define PINS_PROG_TC_IN_L3   "tc-in-l3"
#define PINS_PROG_TC_OUT     "tc"
#define PINS_PROG_TC_OUT_L3  "tc-l3"
#define PINS_PROG_ASK_ANSWER "ask-answer" /* learning mode: the agent's answers (bpf/ask.h) */

/* An instance for DIR (nothing is opened or created yet).  0, or
 * -ENAMETOOLONG. */
int pins_init(struct pin_dir *pd, const char *dir);
/* Makes sure bpffs is mounted at /sys/fs/bpf (mounting it when missing) and
 * that DIR's parent is on bpffs. */
int pins_check_bpffs(const struct pin_dir *pd);
/* Serialises the writers of one instance (apply, unload, the daemon's
 * interface sync): an exclusive lock on the instance's lock file in
 * PINS_LOCK_DIR (DIR itself may not exist yet, or be removed by unload),
 * held until pins_unlock(); other instances do not wait. */
int pins_lock(struct pin_dir *pd);
void pins_unlock(struct pin_dir *pd);
/* pins_lock() also settles what an apply killed by a signal left staged
 * (a new set, links not named yet): published when rp_active says that
 * apply's generation is in force, dropped otherwise, so the pins always
 * describe the programs that judge.  pins_settle() does the same for a
 * reader, when no writer holds the lock (one that does settles it
 * itself); 0 or -errno. */
int pins_settle(const struct pin_dir *pd);
/* The `ask` agent's lock: DIR itself, held while the agent runs (one per
 * pin dir).  The locked fd, -EWOULDBLOCK when another process holds it,
 * or -errno (said). */
int pins_lock_agent(const struct pin_dir *pd);

bool pins_exists(const struct pin_dir *pd);
/* A datapath is loaded in DIR (its configuration map is pinned). */
bool pins_loaded(const struct pin_dir *pd);

/* ---------- paths (buf has PINS_PATH_MAX bytes; returns buf) ---------- */

/* DIR/maps/NAME, or DIR/maps-new/NAME when staged. */
const char *pins_map(const struct pin_dir *pd, const char *name, bool staged, char *buf);
/* DIR/maps (the folder), for datapath_opts.reuse_dir. */
const char *pins_maps_dir(const struct pin_dir *pd, char *buf);
/* DIR/progs/NAME ("xdp", "tc-in", ...), or DIR/progs-new/NAME when staged. */
const char *pins_prog(const struct pin_dir *pd, const char *name, bool staged, char *buf);
/* DIR/progs(-new)/sock-HOOK. */
const char *pins_sock_prog(const struct pin_dir *pd, const char *hook, bool staged, char *buf);
/* DIR/links/HOOK-IFNAME (HOOK: PINS_HOOK_*). */
const char *pins_iface_link(const struct pin_dir *pd, const char *hook, const char *ifname, char *buf);
/* DIR/links/cg-HOOK, or DIR/links/new-cg-HOOK when staged. */
const char *pins_cgroup_link(const struct pin_dir *pd, const char *hook, bool staged, char *buf);
/* DIR/links/sk_lookup. */
const char *pins_netns_link(const struct pin_dir *pd, char *buf);
/* DIR/fwd/ID (creating DIR/fwd when create is set; "" when it cannot). */
const char *pins_forward(const struct pin_dir *pd, unsigned id, bool create, char *buf);
/* DIR/fwd goes when no forwarding pin is left in it. */
void pins_forward_tidy(const struct pin_dir *pd);
/* DIR/fwd goes with every forwarding pin in it. */
void pins_forward_clear(const struct pin_dir *pd);

/* fd of DIR/maps/NAME, or -errno (-ENOENT when not pinned); quiet. */
int pins_open_map(const struct pin_dir *pd, const char *name);
/* fd of DIR/maps/prev-NAME, the same way. */
int pins_open_previous_map(const struct pin_dir *pd, const char *name);

/* ---------- interface link pins ---------- */

/* "xdp-eth0", "tc-eth0", "tcf-eth0" (see above). */
void pins_link_name(char *buf, size_t len, const char *hook, const char *ifname);
/* Splits a link pin name into hook and interface name; false if it is not one. */
bool pins_parse_link_name(const char *name, char *hook, size_t hooklen, char *ifname, size_t iflen);
/* Calls fn for each interface link pin: its file name, hook, interface
 * name and path. */
void pins_each_iface_link(const struct pin_dir *pd,
			  void (*fn)(void *arg, const char *pin, const char *hook, const char *ifname,
				     const char *path),
			  void *arg);
/* The interfaces with a link pin (each once, in directory order); how many. */
int pins_attached_ifaces(const struct pin_dir *pd, char names[][IF_NAMESIZE], int max);

/* ---------- a new set of pins, beside the current one ---------- */

/* Creates DIR and its folders as needed, and empty DIR/maps-new and
 * DIR/progs-new (what a crashed apply left there is dropped). */
int pins_stage_begin(struct pin_dir *pd);
/* Pins fd at DIR/maps-new/NAME (a PROG_ARRAY is not pinned: a program's forwarding array). */
int pins_stage_map(const struct pin_dir *pd, const char *name, int fd);
/* The current DIR/maps/NAME goes into the new set too (when pinned). */
void pins_stage_carry_map(const struct pin_dir *pd, const char *name);
/* The current DIR/maps/NAME goes into the new set as prev-NAME (when
 * pinned); the prev-NAME before it goes with the old set. */
void pins_stage_previous_map(const struct pin_dir *pd, const char *name);
/* DIR/maps-new and DIR/progs-new become DIR/maps and DIR/progs, each in
 * one step (renameat2 RENAME_EXCHANGE), so readers see the old complete
 * set or the new one. */
int pins_stage_commit(struct pin_dir *pd);
/* Drops the new set (and DIR, when pins_stage_begin created it). */
void pins_stage_abort(struct pin_dir *pd);

/* ---------- single pins ---------- */

/* Pins fd at path, replacing what is there in one step (pinned beside it
 * as new-NAME, then renamed over it). */
int pins_replace(int fd, const char *path);
/* Pins fd at path (which must not exist yet). */
int pins_pin(int fd, const char *path);

/* ---------- unload ---------- */

/* DIR holds only what rampart pins (maps, links, progs and the staging
 * folders): safe to remove.  *nentries gets how many entries it has. */
bool pins_only_ours(const struct pin_dir *pd, int *nentries);
/* Removes everything under DIR and DIR itself (unpinning drops the kernel
 * objects once nothing else holds them). */
int pins_remove_all(const struct pin_dir *pd);

#endif
