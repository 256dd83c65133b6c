/* The applications a policy approves, as the socket hooks know them: an
 * executable's identity (inode and device, as the kernel encodes them) and
 * what was approved at apply (pinned rp_app_info: path, SHA-256), compared
 * with the files on disk now by `status` and `check`.  Design:
 * docs/sockets.md. */
#ifndef RAMPART_APPS_H
#define RAMPART_APPS_H

#include <stdint.h>
#include <stdio.h>
#include "rampart_ask.h"
#include "rampart_sock.h"

struct pin_dir;
struct stat;

/* Kernel encoding of a stat() st_dev (as super_block.s_dev). */
uint32_t apps_kdev(uint64_t st_dev);
/* What to approve for the application at path: info (path, and when the
 * file exists its identity and SHA-256, present = 1), its key in rp_apps
 * and (stamp, may be NULL) its change time for option app-changed.  0, or
 * -errno when the file cannot be read (info then records the path only). */
int apps_identify(const char *path, struct rp_app_info *info, struct rp_app_key *key, struct rp_app_stamp *stamp);
/* The approved stamp of a file as stat() saw it. */
void apps_stamp_of(const struct stat *st, struct rp_app_stamp *stamp);
/* The key in rp_apps of the executable at path (symlinks followed): its
 * directory and name (include/rampart_sock.h).  0 or -errno. */
int apps_key(const char *path, struct rp_app_key *key);
uint64_t apps_name_hash(const char *name);

/* The approved applications compared with the files on disk now.
 *   APPS_REPORT_TEXT      `status`: every application, one line each
 *   APPS_REPORT_JSON      `status --json`: a JSON array
 *   APPS_REPORT_WARNINGS  `check`: "warning: ..." for changed files only
 * Returns the number of changed or missing files, -1 when no application
 * information is pinned. */
enum apps_report { APPS_REPORT_TEXT, APPS_REPORT_JSON, APPS_REPORT_WARNINGS };
int apps_report(const struct pin_dir *pd, FILE *out, enum apps_report style);

#endif
