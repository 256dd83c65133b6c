/* Interfaces that appear, go or change while a policy is loaded.
 * `rampart daemon` follows rtnetlink's link events (netdev_watch_open) and
 * calls ifsync_run(), which brings the attachments in line with what the
 * pinned selection covers (ifplan.h), under the pin dir's lock, as apply
 * would have made them: a new device gets its programs in one hook
 * transaction (hooks.h), a device that became a bridge port loses its
 * ingress program, a device that went loses its pins, rp_ifaces follows,
 * and the wan interface's index is updated when it (re)appears. */
#ifndef RAMPART_IFSYNC_H
#define RAMPART_IFSYNC_H

#include "pins.h"

struct ifsync_report {
	int attached;	/* devices that got (or changed) their programs */
	int detached;	/* devices whose pins went (gone, or out of the selection) */
	int refused;	/* covered, but rampart cannot read their headers */
	char first[64]; /* the first device attached, for messages */
};

/* 0 (nothing loaded, or a selection that follows nothing, is 0 too) or
 * -errno after saying what went wrong. */
int ifsync_run(struct pin_dir *pd, struct ifsync_report *r);

#endif
