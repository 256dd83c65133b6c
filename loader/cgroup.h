/* cgroup2 paths: where the cgroup2 file system is mounted (/proc/mounts,
 * the one place that reads it), `--cgroup PATH` as docs/cli.md reads it, and
 * cgroup ids back to paths. */
#ifndef RAMPART_CGROUP_H
#define RAMPART_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "rampart_sock.h"

/* The cgroup2 mount point into out.  0, or -ENOENT when none is mounted. */
int cgroup2_mount(char *out, size_t len);
/* --cgroup PATH: absolute under the cgroup2 mount, or relative to it, and
 * existing.  Writes the absolute path; says what is wrong otherwise. */
int cgroup_resolve(const char *arg, char *out, size_t outlen);
/* A path relative to the cgroup2 mount ("/a/b", as policies write them)
 * made absolute: mnt + rel, "/" alone standing for the mount itself. */
void cgroup_abs_path(const char *mnt, const char *rel, char *out, size_t outlen);
/* The key in rp_cgroup_paths of a path relative to the cgroup2 mount
 * ("/a/b", as policies write them; include/rampart_sock.h). */
struct rp_cgroup_path_key cgroup_path_key(const char *rel);
/* The id of a cgroup (relative to the cgroup2 mount mnt) now; 0: none. */
uint64_t cgroup_id_of(const char *mnt, const char *rel);
/* The cgroups the loaded policy names, their ids at apply and now (`status`):
 * text, or a JSON array.  Returns how many were listed. */
struct pin_dir;
int cgroups_report(const struct pin_dir *pd, FILE *out, bool json);
/* Paths (relative to the cgroup2 mount) of cgroup ids, NULL where gone;
 * free with cgroup_paths_free(). */
char **cgroup_paths(const uint64_t *ids, int n);
void cgroup_paths_free(char **paths, int n);

#endif
