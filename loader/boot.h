/* Boot protection and the lifecycle modes (docs/operations.md).
 *
 * `rampart boot` is an apply without a policy (apply_policy with a boot
 * request: the datapath in mode boot on each interface) with the boot
 * object (bpf/boot.bpf.c) beside it, sharing the new rp_config: its timer
 * armed in the kernel after the commit, and its SK_LOOKUP program attached
 * to the network namespace (interfaces that appear later) in the same
 * transaction as the interfaces:
 *
 *   maps rp_boot_timer     the bpf_timer that opens at the deadline
 *   maps rp_boot_sk_drops  what the sk_lookup program dropped
 *   the network namespace's SK_LOOKUP link (pins_netns_link)
 *
 * The mode itself is rp_config.mode, shared by every program; mode changes
 * from user space go through lifecycle_set_mode(). */
#ifndef RAMPART_BOOT_H
#define RAMPART_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "hooks.h"
#include "pins.h"
#include "rampart_maps.h"

#define BOOT_DEFAULT_TIMEOUT_S 300

struct boot_bpf;

/* The boot object, loaded next to a new datapath whose maps it shares
 * (the mode; the classifier, interfaces and owners its SK_LOOKUP program
 * judges with), counting drops where the pinned counter left off. */
struct rampart_bpf;
int boot_load(struct boot_bpf **b, struct rampart_bpf *dp, const struct pin_dir *pd);
/* Its maps into the new set of pins (pins_stage_begin): the drops counter,
 * and the timer when timer (boot, not apply). */
int boot_stage_pins(struct boot_bpf *b, const struct pin_dir *pd, bool timer);
/* Adds the network namespace's SK_LOOKUP link to t (hooks.h): attached, or
 * the pinned one switched to this object's program. */
int boot_netns_add(struct hook_txn *t, struct boot_bpf *b, const struct pin_dir *pd);
/* After the commit: arms the timer (unless fail closed it opens at the
 * deadline; the configuration says which). */
int boot_arm(struct boot_bpf *b);
void boot_destroy(struct boot_bpf *b);
/* The network namespace's SK_LOOKUP link is pinned. */
bool boot_netns_hooked(const struct pin_dir *pd);

/* Writes mode + reason (+ the time) into the pinned rp_config; *before gets
 * the configuration it replaced (may be NULL).  0 or -errno. */
int lifecycle_set_mode(const struct pin_dir *pd, uint32_t mode, uint32_t reason, struct rp_config *before);
/* CLOCK_BOOTTIME now (what rp_config.mode_changed_ns is measured in). */
uint64_t lifecycle_now_boot_ns(void);
/* The wall-clock time of a CLOCK_BOOTTIME timestamp. */
uint64_t lifecycle_boot_to_realtime_ns(uint64_t boot_ns);
/* "boot", "boot-timeout", "apply", "stop", "shutdown", "daemon" or "-". */
const char *lifecycle_reason_name(uint32_t reason);

#endif
