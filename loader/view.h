/* A read-only view of the rampart instance pinned in a pin dir, for the
 * commands that work from the pins alone (status, rules, flows, log): opens
 * the pinned maps, checks that their layout is the one this binary knows,
 * and reads the rule metadata.  Errors are printed as
 * "rampart CMD: WHAT; WHAT TO DO" (log.h) and returned as -errno. */
#ifndef RAMPART_VIEW_H
#define RAMPART_VIEW_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "pins.h"
#include "rampart_maps.h"

struct view {
	const struct pin_dir *pd;
	int config_fd, info_fd, rules_fd, stats_fd, counters_fd, conntrack_fd, ct_new_fd, log_fd;
	struct rp_config cfg;
	struct rp_policy_info info;
	bool have_info;
	uint32_t nslots;	   /* entries of rp_rules */
	struct rp_rule_meta *meta; /* nslots entries (valid == 0 where unreadable) */
	/* the generation before's (pins.h, prev-NAME), when pinned */
	bool have_prev;
	uint32_t prev_gen, prev_nslots;
	struct rp_rule_meta *prev_meta;
};

/* What a command needs besides rp_config. */
enum {
	VIEW_RULES = 1 << 0,	 /* rp_rules + rp_rule_stats + rp_policy_info */
	VIEW_COUNTERS = 1 << 1,	 /* rp_counters */
	VIEW_CONNTRACK = 1 << 2, /* rp_conntrack and rp_ct_new */
	VIEW_LOG = 1 << 3,	 /* rp_log */
};

/* Where nothing is loaded: prints "nothing loaded in DIR; run `rampart
 * apply`" (unless quiet_unloaded) and returns -ENOENT.  Other errors (not
 * root, layout mismatch) print what to do and return -errno.  0 on
 * success. */
int view_open(struct view *v, const struct pin_dir *pd, unsigned need, bool quiet_unloaded);
void view_close(struct view *v);
/* Re-reads rp_rules and rp_policy_info from the pins (after an apply has
 * replaced them).  0 or -errno. */
int view_reload_rules(struct view *v);

/* Rule metadata of a slot, NULL when the slot is unknown. */
const struct rp_rule_meta *view_rule(const struct view *v, uint32_t slot);
/* The same for a slot judged under generation gen (a log event's): the
 * rules in force or the generation before's.  NULL when unknown; *earlier
 * when gen is older than both (its rules are gone). */
const struct rp_rule_meta *view_rule_of(const struct view *v, uint32_t gen, uint32_t slot, bool *earlier);
/* "file:line" of a rule, "file (default of TABLE)" for a table default,
 * "ftp helper" for the helper's slot, "-" for RP_SLOT_NONE (implicit
 * rules, modes). */
const char *view_rule_where(const struct view *v, uint32_t slot, char *buf, size_t n);

/* An attachment pinned under DIR/links (see pins.h), asked whether it
 * still holds its interface. */
struct view_attachment {
	char pin[256]; /* file name under DIR/links: HOOK.IFNAME */
	char hook[32];
	char ifname[IF_NAMESIZE + 1];	/* as pinned */
	char now_name[IF_NAMESIZE + 1]; /* the interface the link holds now ("" when gone) */
	uint32_t ifindex, prog_id;
	const char *kind;   /* "link" or "clsact filter" */
	const char *detail; /* XDP mode, "tcx" or "clsact" */
	bool alive;
	const char *xdp_mode;
};

/* The attachments of the pin dir, sorted by interface (XDP before tc); *out is
 * malloc'ed (free it).  The count. */
int view_attachments(const struct pin_dir *pd, struct view_attachment **out);
/* max_entries of a map, 0 when unknown. */
uint32_t view_map_capacity(int fd);
/* Entries of the conntrack map (at most capacity). */
uint64_t view_count_flows(int fd, uint32_t capacity);
/* How full the two conntrack tables are (bpf/conntrack.h): flows that
 * earned their place (rp_conntrack) and flows being set up (rp_ct_new). */
struct view_ct_usage {
	uint64_t entries, half_open;
	uint32_t capacity, half_open_capacity;
};
void view_conntrack_usage(const struct view *v, struct view_ct_usage *u);
/* The program id of boot protection's network-namespace hook (boot.h),
 * 0 when there is none; *drops: what it dropped. */
uint32_t view_netns_hook(const struct pin_dir *pd, uint64_t *drops);
/* A real policy is loaded, not just the boot set (which pins an empty one). */
bool view_have_policy(const struct view *v);

const char *mode_name(uint32_t mode);

#endif
