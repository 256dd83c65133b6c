/* `rampart apply` and `rampart unload` without the command line: compile a
 * policy, load it next to (or in place of) the running one, switch every
 * hook atomically, and pin the result.  See docs/architecture.md, "Loading
 * and atomic replace". */
#ifndef RAMPART_APPLY_H
#define RAMPART_APPLY_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "netdev.h"
#include "pins.h"

#define APPLY_MAX_IFACES 256

/* `rampart boot`: the datapath without a policy, in mode boot. */
struct apply_boot {
	uint32_t timeout_s; /* the kernel opens after this long (0: never) */
	bool fail_closed;   /* never open by itself */
};

struct apply_req {
	struct pin_dir *pins;
	const char *file;	       /* unused with boot */
	const struct apply_boot *boot; /* NULL: apply the policy in file */
	uint32_t reason;	       /* enum rp_mode_reason recorded (0: apply, or boot) */
	const char *const *ifnames;    /* --iface names and patterns; none: what the running policy covers,
					* or (first apply) every interface but lo, also ones that appear later */
	int nifnames;
	const char *cgroup;   /* --cgroup as given, or NULL */
	bool unless_shutdown; /* refuse (-ECANCELED) when the mode is lockdown (the daemon: shutdown stays) */
};

struct apply_iface {
	char name[IF_NAMESIZE];
	uint32_t ifindex;
	struct netdev_role role; /* which programs it gets (netdev.h) */
	const char *ingress;	 /* what judges arriving packets: "xdp", "tcx", "clsact" or NULL (none) */
	const char *egress;	 /* "tcx" or "clsact" */
	bool added;		 /* attached by this apply (not there before) */
};

struct apply_report {
	char sha256[65];
	char cgroup[4096];    /* where the socket hooks are attached ("" when they are not) */
	char unresolved[256]; /* host names that did not resolve, separated by spaces ("" none) */
	int nsock_hooks;      /* socket hooks attached or switched (see sockhooks.h) */
	bool sock_fresh;      /* the socket hooks were attached by this apply (not switched) */
	int nrules, ntables;
	uint32_t generation;
	bool replaced;	   /* a policy was running and has been replaced */
	bool state_reused; /* conntrack and the other state maps were kept */
	struct apply_iface ifaces[APPLY_MAX_IFACES];
	int nifaces;
	char detached[APPLY_MAX_IFACES][IF_NAMESIZE];
	int ndetached;
	struct apply_iface refused[APPLY_MAX_IFACES]; /* covered by "every interface" but not protectable */
	int nrefused;
	char wan[IF_NAMESIZE]; /* gateway mode: the attached wan interface, "" if none */
	double seconds;
	bool netns_hook;       /* an SK_LOOKUP link guards the network namespace */
	char classifier[2048]; /* how the policy was compiled (cls_describe) */
};

/* "ingress xdp native, egress tc (tcx)" and the like, into buf. */
const char *apply_iface_summary(const struct apply_iface *f, char *buf, size_t n);
/* Its attachments as JSON members (", \"ingress\": ..."), on stdout. */
void print_iface_json(const struct apply_iface *f);

/* 0, or -errno after saying what went wrong (log.h; -RP_EPOLICY: the
 * policy has errors, -RP_EUSAGE: nothing to protect); notes (fallbacks,
 * dropped interfaces) are printed as they happen. */
int apply_policy(const struct apply_req *rq, struct apply_report *rep);

/* Detaches and unpins everything in the pin dir; says what it did on out.
 * 0 or -errno. */
int unload_pins(struct pin_dir *pd, FILE *out);

#endif
