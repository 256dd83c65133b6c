/* cgroup2 paths (see cgroup.h). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "log.h"

int cgroup2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], dir[PATH_MAX], type[64];
	int found = -ENOENT;
	while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", dir);
			found = 0;
			break;
		}
	if (f)
		fclose(f);
	return found;
}

void cgroup_abs_path(const char *mnt, const char *rel, char *out, size_t outlen)
{
	bool root_mnt = !strcmp(mnt, "/");
	snprintf(out, outlen, "%s%s", root_mnt ? "" : mnt, strcmp(rel, "/") ? rel : (root_mnt ? "/" : ""));
}

int cgroup_resolve(const char *arg, char *out, size_t outlen)
{
	char mnt[PATH_MAX];
	if (cgroup2_mount(mnt, sizeof(mnt))) {
		pr_err("--cgroup: no cgroup2 filesystem is mounted (see /proc/mounts); mount one: "
		       "mount -t cgroup2 none /sys/fs/cgroup");
		return -ENOENT;
	}
	size_t ml = strlen(mnt);
	if (arg[0] == '/' && !strncmp(arg, mnt, ml) && (arg[ml] == 0 || arg[ml] == '/'))
		snprintf(out, outlen, "%s", arg);
	else if (arg[0] == '/' && (ml > 1))
		/* "/system.slice" means relative to the mount too, as in policies */
		snprintf(out, outlen, "%s%s", mnt, arg);
	else
		snprintf(out, outlen, "%s/%s", mnt, arg);
	struct stat st;
	if (stat(out, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("--cgroup: cgroup `%s` does not exist (looked for %s under the cgroup2 mount %s)", arg, out,
		       mnt);
		return -ENOENT;
	}
	return 0;
}

/* nftw() has no argument for its callback */
static struct {
	const uint64_t *ids;
	int n;
	char **paths;
	size_t mlen;
} walk;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag != FTW_D)
		return 0;
	for (int i = 0; i < walk.n; i++)
		if (!walk.paths[i] && walk.ids[i] == (uint64_t)st->st_ino)
			walk.paths[i] = strdup(path[walk.mlen] ? path + walk.mlen : "/");
	return 0;
}

char **cgroup_paths(const uint64_t *ids, int n)
{
	char mnt[PATH_MAX];
	char **paths = calloc((size_t)(n ? n : 1), sizeof(char *));
	if (!paths || cgroup2_mount(mnt, sizeof(mnt)))
		return paths;
	walk.ids = ids;
	walk.n = n;
	walk.paths = paths;
	walk.mlen = strcmp(mnt, "/") ? strlen(mnt) : 0;
	nftw(mnt, walk_one, 32, FTW_PHYS | FTW_MOUNT);
	return paths;
}

void cgroup_paths_free(char **paths, int n)
{
	for (int i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}
