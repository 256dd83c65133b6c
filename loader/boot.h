/* Boot protection and the lifecycle modes (docs/operations.md).
 *
 * `rampart boot` is an apply without a policy (apply_policy with a boot
 * request: the datapath in mode boot on each interface), followed by
 * boot_netns_setup(): the boot object (bpf/boot.bpf.c) reusing the pinned
 * rp_config, its timer armed in the kernel, and its SK_LOOKUP program
 * attached to the network namespace (interfaces that appear later):
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
#include "pins.h"
#include "rampart_maps.h"

#define BOOT_DEFAULT_TIMEOUT_S 300
#define BOOT_LINK_PIN	       "sk_lookup" /* under DIR/links */

/* After the datapath of a boot request is pinned: arms the timer (unless
 * fail closed) and, when netns is true, attaches (or switches) the
 * namespace's SK_LOOKUP link.  0 or -errno. */
int boot_netns_setup(const struct pin_dir *pd, bool netns);
/* After an apply: when a SK_LOOKUP link is pinned, points it at a program
 * bound to the rp_config pinned now (an apply may have created a new one)
 * so that it keeps following the mode.  0 (also when there is no link) or
 * -errno. */
int boot_netns_refresh(const struct pin_dir *pd);
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
