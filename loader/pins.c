#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "pins.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static bool is_bpffs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

int pins_check_bpffs(const char *dir, char *err, size_t errlen)
{
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *p = dirname(parent);

	if (!is_bpffs("/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0) {
			int e = errno;
			snprintf(err, errlen,
				 "bpffs is not mounted at /sys/fs/bpf and mounting it failed (%s); "
				 "run as root or: mount -t bpf bpf /sys/fs/bpf", strerror(e));
			return -e;
		}
	}
	if (!is_bpffs(p)) {
		snprintf(err, errlen,
			 "%s is not on a bpf filesystem; choose a --pin-dir under /sys/fs/bpf", p);
		return -EINVAL;
	}
	return 0;
}

int pins_mkdirs(const char *dir)
{
	const char *subs[] = { NULL, "maps", "links", "progs" };
	char path[4096];
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		pins_path(path, sizeof(path), dir, subs[i], NULL);
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

void pins_path(char *buf, size_t len, const char *dir, const char *sub, const char *name)
{
	snprintf(buf, len, "%s%s%s%s%s", dir, sub ? "/" : "", sub ? sub : "", name ? "/" : "",
		 name ? name : "");
}

int pins_open_map(const char *dir, const char *name)
{
	char path[4096];
	pins_path(path, sizeof(path), dir, "maps", name);
	int fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

bool pins_loaded(const char *dir)
{
	char path[4096];
	pins_path(path, sizeof(path), dir, "maps", "rp_config");
	return access(path, F_OK) == 0;
}

const char *const pins_link_hooks[PINS_NLINK_HOOKS] = { "xdp", "tci", "tc", "tcfi", "tcf" };

void pins_link_name(char *buf, size_t len, const char *hook, const char *ifname)
{
	int n = snprintf(buf, len, "%s-%s", hook, ifname);
	for (int i = (int)strlen(hook) + 1; i < n && i < (int)len; i++)
		if (buf[i] == '.')
			buf[i] = ':';
}

bool pins_parse_link_name(const char *name, char *hook, size_t hooklen, char *ifname, size_t iflen)
{
	const char *dash = strchr(name, '-');
	if (!dash || dash == name || !dash[1])
		return false;
	snprintf(hook, hooklen, "%.*s", (int)(dash - name), name);
	bool known = false;
	for (int i = 0; i < PINS_NLINK_HOOKS; i++)
		known |= !strcmp(hook, pins_link_hooks[i]);
	if (!known)
		return false;
	int n = snprintf(ifname, iflen, "%s", dash + 1);
	for (int i = 0; i < n && i < (int)iflen; i++)
		if (ifname[i] == ':')
			ifname[i] = '.';
	return true;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int pins_remove_all(const char *dir)
{
	if (access(dir, F_OK) != 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

int pins_replace(int fd, const char *path)
{
	char tmp[4096 + 8];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%.*s/new-%s", (int)(slash - path), path, slash + 1);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}
