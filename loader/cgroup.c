/* cgroup2 paths (see cgroup.h). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cgroup.h"
#include "json.h"
#include "log.h"
#include "pins.h"
#include "rampart_names.h"

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

/* The root of the cgroup2 mount within the cgroup2 hierarchy: "/" unless
 * the mount was made inside a cgroup namespace (/proc/self/mountinfo,
 * field 4). */
static void cgroup2_mount_root(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	snprintf(out, len, "/");
	while (f && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], *sep = strstr(line, " - ");
		if (sep && !strncmp(sep + 3, "cgroup2 ", 8) && sscanf(line, "%*s %*s %*s %4095s", root) == 1) {
			snprintf(out, len, "%s", root);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* rp_cg_name_hash of one name (include/rampart_sock.h). */
static uint64_t cg_name_hash(const char *name, size_t len)
{
	uint64_t h = 0;
	for (size_t off = 0; off < len; off += 8) {
		uint64_t w = 0;
		memcpy(&w, name + off, len - off < 8 ? len - off : 8);
		h = rp_name_mix(h, w);
	}
	return rp_name_mix(h, len);
}

struct rp_cgroup_path_key cgroup_path_key(const char *rel)
{
	char root[PATH_MAX], full[PATH_MAX * 2];
	struct rp_cgroup_path_key k = { 0 };
	cgroup2_mount_root(root, sizeof(root));
	snprintf(full, sizeof(full), "%s/%s", root, rel);
	for (const char *p = full; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (!n)
			break;
		k.hash = rp_cg_path_mix(k.hash, cg_name_hash(p, n));
		k.level++;
		p += n;
	}
	return k;
}

void cgroup_abs_path(const char *mnt, const char *rel, char *out, size_t outlen)
{
	bool root_mnt = !strcmp(mnt, "/");
	snprintf(out, outlen, "%s%s", root_mnt ? "" : mnt, strcmp(rel, "/") ? rel : (root_mnt ? "/" : ""));
}

uint64_t cgroup_id_of(const char *mnt, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;
	cgroup_abs_path(mnt, rel, path, sizeof(path));
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
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

/* A named cgroup then (its id at apply) and now. */
static const char *cgroup_state(uint64_t then, uint64_t now)
{
	if (then && now == then)
		return "ok";
	if (then && now)
		return "re-created";
	if (now)
		return "created";
	return then ? "removed" : "absent";
}

static const char *cgroup_state_text(const char *state)
{
	if (!strcmp(state, "re-created"))
		return "RE-CREATED since apply (a new cgroup at the path, as a service restart makes): its rules "
		       "follow the path and apply to it";
	if (!strcmp(state, "created"))
		return "created since apply: its rules apply to it";
	if (!strcmp(state, "removed"))
		return "removed since apply: its rules apply to it again once it is created";
	if (!strcmp(state, "absent"))
		return "does not exist: its rules apply to it once it is created";
	return "unchanged";
}

int cgroups_report(const struct pin_dir *pd, FILE *out, bool json)
{
	char mnt[PATH_MAX];
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CGROUP_INFO));
	struct bpf_map_info mi = { 0 };
	__u32 ml = sizeof(mi);
	int shown = 0;
	bool mounted = cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (json)
		fputc('[', out);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &ml) && mi.value_size == sizeof(struct rp_cgroup_info))
		for (uint32_t i = 1; i < mi.max_entries; i++) {
			struct rp_cgroup_info c;
			if (bpf_map_lookup_elem(fd, &i, &c) || !c.path[0])
				continue;
			c.path[sizeof(c.path) - 1] = 0;
			uint64_t now = mounted ? cgroup_id_of(mnt, c.path) : 0;
			const char *state = cgroup_state(c.id, now);
			if (json) {
				fprintf(out, "%s{\"path\": ", shown ? ", " : "");
				json_str(out, c.path);
				fprintf(out, ", \"state\": \"%s\", \"id_at_apply\": %llu, \"id\": %llu}", state,
					(unsigned long long)c.id, (unsigned long long)now);
			} else {
				if (!shown)
					fprintf(out, "cgroups (named by the policy, followed by path):\n");
				fprintf(out, "  %-40s %s (id %llu", c.path, cgroup_state_text(state),
					(unsigned long long)now);
				if (c.id != now)
					fprintf(out, ", %llu at apply", (unsigned long long)c.id);
				fprintf(out, ")\n");
			}
			shown++;
		}
	if (json)
		fputc(']', out);
	if (fd >= 0)
		close(fd);
	return shown;
}
