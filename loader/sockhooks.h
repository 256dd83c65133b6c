/* The socket hooks (bpf/sock.bpf.c) in the apply pipeline: open the
 * object reusing the new datapath object's maps, fill the application,
 * cgroup and owner maps, pin, attach to a cgroup2 subtree (or switch the
 * pinned cgroup links in one step each), roll back, detach.  And the
 * application fingerprints that `status` and `check` compare with the
 * files on disk.  Design: docs/sockets.md. */
#ifndef RAMPART_SOCKHOOKS_H
#define RAMPART_SOCKHOOKS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "policy.h"

struct rampart_bpf;
struct sock_bpf;

#define SOCK_NHOOKS 10

/* One cgroup hook during an apply. */
struct sock_hook_state {
	char pin[PATH_MAX]; /* DIR/links/cg-NAME */
	int link_fd;	    /* the pinned link, or the new one */
	int old_prog_fd;    /* program in force before the switch (-1: none) */
	bool fresh;	    /* a new link (no pin, or another cgroup) */
	bool done;
};

struct sock_switch {
	struct sock_hook_state h[SOCK_NHOOKS];
	int n;
};

/* The cgroup the hooks go to: the request's --cgroup (absolute path), the
 * cgroup the pinned links hold now, or — first apply without --cgroup — the
 * cgroup2 root when the policy names app, cgroup or user (else none).
 * out gets "" when no hooks are wanted.  0, or an exit code with err. */
int sockhooks_target(const char *pin_dir, const char *requested, const struct policy *p, char *out, size_t outlen,
		     char *err, size_t errlen);

/* Opens and loads the socket hooks, reusing the (loaded, not yet pinned)
 * datapath object's shared maps.  0 or -errno with err. */
int sockhooks_load(struct sock_bpf **s, struct rampart_bpf *dp, const struct policy *p, char *err, size_t errlen);
/* Fills rp_apps, rp_app_info (with each file's SHA-256), rp_cgroups,
 * rp_sock_config, and copies the owners of the running policy's listening
 * sockets into the new rp_listeners with app and cgroup renumbered.
 * Missing files and cgroups are reported on notes (they match nothing). */
int sockhooks_fill(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const char *pin_dir, FILE *notes,
		   char *err, size_t errlen);
/* Pins the object's own maps and programs under DIR/maps-new, DIR/progs-new. */
int sockhooks_pin(struct sock_bpf *s, struct rampart_bpf *dp, const char *pin_dir, char *err, size_t errlen);
/* Attaches to cgroup_path (new links pinned as DIR/links/new-cg-NAME until
 * commit) or switches the pinned links in place.  On failure everything it
 * did is rolled back; returns 0 or -errno with err. */
int sockhooks_switch(struct sock_bpf *s, const char *pin_dir, const char *cgroup_path, struct sock_switch *st,
		     char *err, size_t errlen);
void sockhooks_rollback(struct sock_switch *st);
/* After every hook switched: new links take their final pin names.  Owners
 * recorded by the old hooks meanwhile are copied too. */
void sockhooks_commit(struct sock_switch *st, struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p,
		      const char *pin_dir);
void sockhooks_close(struct sock_switch *st);
void sockhooks_destroy(struct sock_bpf *s);
/* The cgroup the pinned hooks are attached to ("" if none); returns how
 * many hooks are pinned. */
int sockhooks_attached(const char *pin_dir, char *cgroup, size_t len);

/* The approved applications compared with the files on disk now.
 *   SOCK_REPORT_TEXT      `status`: every application, one line each
 *   SOCK_REPORT_JSON      `status --json`: a JSON array
 *   SOCK_REPORT_WARNINGS  `check`: "warning: ..." for changed files only
 * Returns the number of changed or missing files, -1 when no application
 * information is pinned. */
enum sock_report { SOCK_REPORT_TEXT, SOCK_REPORT_JSON, SOCK_REPORT_WARNINGS };
int sockhooks_report_apps(const char *pin_dir, FILE *out, enum sock_report style);

/* Kernel encoding of a stat() st_dev (as super_block.s_dev). */
uint32_t sockhooks_kdev(uint64_t st_dev);

#endif
