/* The pin dir's layout and the operations on it (see pins.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "pins.h"
#include "rampart_maps.h"
#include "rampart_names.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPFFS_ROOT "/sys/fs/bpf"

/* The folders of a pin dir, and the staging folders of maps and progs. */
#define SUB_MAPS	 "maps"
#define SUB_LINKS	 "links"
#define SUB_PROGS	 "progs"
#define SUB_FWD		 "fwd"
#define STAGED_SUFFIX	 "-new"
#define STAGED_PREFIX	 "new-" /* a staged link, a pin being replaced */
#define CG_LINK_PREFIX	 "cg-"
#define SOCK_PROG_PREFIX "sock-"
#define PREV_MAP_PREFIX	 "prev-" /* DIR/maps/prev-NAME: the generation before's NAME */
#define NETNS_LINK	 "sk_lookup"

int pins_init(struct pin_dir *pd, const char *dir)
{
	memset(pd, 0, sizeof(*pd));
	pd->lock_fd = -1;
	/* room for the longest name below it */
	if (strlen(dir) + 64 >= sizeof(pd->path)) {
		pr_err("--pin-dir %.64s...: the path is too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(pd->path, sizeof(pd->path), "%s", dir);
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

int pins_check_bpffs(const struct pin_dir *pd)
{
	char parent[PINS_PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", pd->path);
	char *p = dirname(parent);

	if (!is_bpffs(BPFFS_ROOT) && mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700") != 0) {
		int e = -errno;
		pr_err("bpffs is not mounted at " BPFFS_ROOT " and mounting it failed (%s); "
		       "run as root or: mount -t bpf bpf " BPFFS_ROOT,
		       strerror(-e));
		return e;
	}
	if (!is_bpffs(p)) {
		pr_err("%s is not on a bpf filesystem; choose a --pin-dir under " BPFFS_ROOT, p);
		return -EINVAL;
	}
	return 0;
}

/* The instance's lock file: /run/lock/rampart/NAME-HASH.lock for the pin
 * dir's path (bpffs holds no regular files, and a lock on the pin dir itself
 * or its parent would make every instance under /sys/fs/bpf wait for the
 * others' applies). */
static int lock_path(const struct pin_dir *pd, char *out, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const char *c = pd->path; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	const char *base = strrchr(pd->path, '/');
	base = base && base[1] ? base + 1 : "root";
	(void)mkdir("/run/lock", 01777); /* FHS; a minimal container may lack it */
	if (mkdir(PINS_LOCK_DIR, 0700) && errno != EEXIST)
		return pr_err_r(-errno, "cannot create " PINS_LOCK_DIR " for the lock of %s", pd->path);
	snprintf(out, size, PINS_LOCK_DIR "/%.64s-%016llx.lock", base, (unsigned long long)h);
	return 0;
}

/* True when FD is still the file at PATH (unload removes the lock file:
 * a waiter that got the lock of a removed file tries again). */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void recover(struct pin_dir *pd);
static int make_dir(const char *path);
static int remove_tree(const char *path);

int pins_lock(struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	int e = lock_path(pd, path, sizeof(path));
	while (!e) {
		pd->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (pd->lock_fd < 0)
			return pr_err_r(-errno, "cannot open the lock file %s", path);
		if (flock(pd->lock_fd, LOCK_EX)) {
			e = pr_err_r(-errno, "cannot lock %s", path);
			pins_unlock(pd);
		} else if (same_file(pd->lock_fd, path)) {
			recover(pd);
			return 0;
		} else {
			pins_unlock(pd);
		}
	}
	return e;
}

int pins_lock_agent(const struct pin_dir *pd)
{
	int fd = open(pd->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pr_err_r(-errno, "cannot open %s", pd->path);
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = -errno;
		close(fd);
		return e == -EWOULDBLOCK ? e : pr_err_r(e, "cannot lock %s", pd->path);
	}
	return fd;
}

void pins_unlock(struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	if (pd->lock_fd < 0)
		return;
	/* no instance here (unloaded, a first apply that failed, a directory
	 * that is not rampart's): its lock file goes too, while we hold it */
	if (!pins_loaded(pd) && !lock_path(pd, path, sizeof(path)) && same_file(pd->lock_fd, path))
		unlink(path);
	close(pd->lock_fd);
	pd->lock_fd = -1;
}

bool pins_exists(const struct pin_dir *pd)
{
	return access(pd->path, F_OK) == 0;
}

bool pins_loaded(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	return access(pins_map(pd, RP_NAME(RP_MAP_CONFIG), false, path), F_OK) == 0;
}

/* ---------- paths ---------- */

/* DIR/SUB[-new][/PREFIX NAME] */
static const char *path_of(const struct pin_dir *pd, const char *sub, bool staged, const char *prefix, const char *name,
			   char *buf)
{
	int n = snprintf(buf, PINS_PATH_MAX, "%s/%s%s%s%s%s", pd->path, sub, staged ? STAGED_SUFFIX : "",
			 name ? "/" : "", name ? prefix : "", name ? name : "");
	if (n >= PINS_PATH_MAX)
		buf[0] = 0; /* no such path: what uses it fails with ENOENT */
	return buf;
}

const char *pins_map(const struct pin_dir *pd, const char *name, bool staged, char *buf)
{
	return path_of(pd, SUB_MAPS, staged, "", name, buf);
}

const char *pins_maps_dir(const struct pin_dir *pd, char *buf)
{
	return path_of(pd, SUB_MAPS, false, "", NULL, buf);
}

const char *pins_prog(const struct pin_dir *pd, const char *name, bool staged, char *buf)
{
	return path_of(pd, SUB_PROGS, staged, "", name, buf);
}

const char *pins_sock_prog(const struct pin_dir *pd, const char *hook, bool staged, char *buf)
{
	return path_of(pd, SUB_PROGS, staged, SOCK_PROG_PREFIX, hook, buf);
}

const char *pins_iface_link(const struct pin_dir *pd, const char *hook, const char *ifname, char *buf)
{
	char name[NAME_MAX];
	pins_link_name(name, sizeof(name), hook, ifname);
	return path_of(pd, SUB_LINKS, false, "", name, buf);
}

const char *pins_cgroup_link(const struct pin_dir *pd, const char *hook, bool staged, char *buf)
{
	return path_of(pd, SUB_LINKS, false, staged ? STAGED_PREFIX CG_LINK_PREFIX : CG_LINK_PREFIX, hook, buf);
}

const char *pins_netns_link(const struct pin_dir *pd, char *buf)
{
	return path_of(pd, SUB_LINKS, false, "", NETNS_LINK, buf);
}

const char *pins_forward(const struct pin_dir *pd, unsigned id, bool create, char *buf)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", id);
	if (create && make_dir(path_of(pd, SUB_FWD, false, "", NULL, buf)))
		buf[0] = 0;
	else
		path_of(pd, SUB_FWD, false, "", name, buf);
	return buf;
}

void pins_forward_tidy(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	rmdir(path_of(pd, SUB_FWD, false, "", NULL, path)); /* fails while not empty */
}

void pins_forward_clear(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	remove_tree(path_of(pd, SUB_FWD, false, "", NULL, path));
}

int pins_open_map(const struct pin_dir *pd, const char *name)
{
	char path[PINS_PATH_MAX];
	int fd = bpf_obj_get(pins_map(pd, name, false, path));
	return fd < 0 ? -errno : fd;
}

int pins_open_previous_map(const struct pin_dir *pd, const char *name)
{
	char path[PINS_PATH_MAX];
	int fd = bpf_obj_get(path_of(pd, SUB_MAPS, false, PREV_MAP_PREFIX, name, path));
	return fd < 0 ? -errno : fd;
}

/* ---------- interface link pins ---------- */

const char *const pins_iface_hooks[PINS_NIFACE_HOOKS] = { PINS_HOOK_XDP, PINS_HOOK_TCI, PINS_HOOK_TCFI, PINS_HOOK_TC,
							  PINS_HOOK_TCF };

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
	for (int i = 0; i < PINS_NIFACE_HOOKS; i++)
		known |= !strcmp(hook, pins_iface_hooks[i]);
	if (!known)
		return false;
	int n = snprintf(ifname, iflen, "%s", dash + 1);
	for (int i = 0; i < n && i < (int)iflen; i++)
		if (ifname[i] == ':')
			ifname[i] = '.';
	return true;
}

void pins_each_iface_link(const struct pin_dir *pd,
			  void (*fn)(void *arg, const char *pin, const char *hook, const char *ifname,
				     const char *path),
			  void *arg)
{
	char path[PINS_PATH_MAX];
	DIR *d = opendir(path_of(pd, SUB_LINKS, false, "", NULL, path));
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char hook[8], ifname[IF_NAMESIZE + 1];
		if (e->d_name[0] == '.' || !pins_parse_link_name(e->d_name, hook, sizeof(hook), ifname, sizeof(ifname)))
			continue;
		fn(arg, e->d_name, hook, ifname, path_of(pd, SUB_LINKS, false, "", e->d_name, path));
	}
	if (d)
		closedir(d);
}

struct attached {
	char (*names)[IF_NAMESIZE];
	int n, max;
};

static void add_attached(void *arg, const char *pin, const char *hook, const char *ifname, const char *path)
{
	struct attached *a = arg;
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->names[i], ifname))
			return;
	if (a->n < a->max)
		snprintf(a->names[a->n++], IF_NAMESIZE, "%s", ifname);
}

int pins_attached_ifaces(const struct pin_dir *pd, char names[][IF_NAMESIZE], int max)
{
	struct attached a = { names, 0, max };
	pins_each_iface_link(pd, add_attached, &a);
	return a.n;
}

/* ---------- staging ---------- */

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return pr_err_r(-errno, "cannot create %s", path);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int remove_tree(const char *path)
{
	if (access(path, F_OK) != 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

int pins_stage_begin(struct pin_dir *pd)
{
	static const char *const subs[] = { SUB_MAPS, SUB_LINKS, SUB_PROGS };
	char path[PINS_PATH_MAX];
	int e;
	pd->created = false;
	if (!pins_exists(pd)) {
		if ((e = make_dir(pd->path)))
			return e;
		pd->created = true;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if ((e = make_dir(path_of(pd, subs[i], false, "", NULL, path))))
			return e;
	for (int progs = 0; progs < 2; progs++) {
		path_of(pd, progs ? SUB_PROGS : SUB_MAPS, true, "", NULL, path);
		remove_tree(path); /* left over by an apply that crashed */
		if ((e = make_dir(path)))
			return e;
	}
	return 0;
}

int pins_pin(int fd, const char *path)
{
	if (bpf_obj_pin(fd, path))
		return pr_err_r(-errno, "cannot pin %s", path);
	return 0;
}

int pins_stage_map(const struct pin_dir *pd, const char *name, int fd)
{
	char path[PINS_PATH_MAX];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	/* a program's forwarding array (bpf/config.h) is its own: a pin
	 * would let the next apply's program share it */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_PROG_ARRAY)
		return 0;
	return pins_pin(fd, pins_map(pd, name, true, path));
}

/* The current DIR/maps/NAME pinned again as DIR/maps-new/PREFIX NAME (when pinned). */
static void stage_current_map(const struct pin_dir *pd, const char *prefix, const char *name)
{
	char to[PINS_PATH_MAX];
	int fd = pins_open_map(pd, name);
	if (fd >= 0) {
		bpf_obj_pin(fd, path_of(pd, SUB_MAPS, true, prefix, name, to));
		close(fd);
	}
}

void pins_stage_carry_map(const struct pin_dir *pd, const char *name)
{
	stage_current_map(pd, "", name);
}

void pins_stage_previous_map(const struct pin_dir *pd, const char *name)
{
	stage_current_map(pd, PREV_MAP_PREFIX, name);
}

/* DIR/SUB-new becomes DIR/SUB in one step (the old set stays in
 * DIR/SUB-new until removed). */
static int commit_sub(const struct pin_dir *pd, const char *sub)
{
	char cur[PINS_PATH_MAX], next[PINS_PATH_MAX];
	path_of(pd, sub, false, "", NULL, cur);
	path_of(pd, sub, true, "", NULL, next);
	if (access(cur, F_OK) != 0)
		return rename(next, cur) ? -errno : 0;
	return renameat2(AT_FDCWD, next, AT_FDCWD, cur, RENAME_EXCHANGE) ? -errno : 0;
}

/* Both exchanges first, one right after the other: a kill between them
 * is the only moment maps and programs disagree (docs/datapath.md). */
int pins_stage_commit(struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	int e = commit_sub(pd, SUB_MAPS);
	if (!e)
		e = commit_sub(pd, SUB_PROGS);
	if (!e)
		e = remove_tree(path_of(pd, SUB_MAPS, true, "", NULL, path));
	if (!e)
		e = remove_tree(path_of(pd, SUB_PROGS, true, "", NULL, path));
	pd->created = false; /* DIR is in use now: an abort must leave it */
	return e;
}

void pins_stage_abort(struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	remove_tree(path_of(pd, SUB_MAPS, true, "", NULL, path));
	remove_tree(path_of(pd, SUB_PROGS, true, "", NULL, path));
	if (pd->created)
		remove_tree(pd->path);
	pd->created = false;
}

int pins_replace(int fd, const char *path)
{
	char tmp[PINS_PATH_MAX + 8];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%.*s/" STAGED_PREFIX "%s", (int)(slash - path), path, slash + 1);
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

/* ---------- what a killed apply left ---------- */

/* The staged set's generation, and the generation its programs read from
 * rp_active (the flip); false when there is no complete staged set. */
static bool staged_generations(const struct pin_dir *pd, __u32 *staged, __u32 *active)
{
	char path[PINS_PATH_MAX];
	struct rp_policy_info info;
	struct rp_active a;
	__u32 zero = 0;
	int ifd = bpf_obj_get(pins_map(pd, RP_NAME(RP_MAP_POLICY_INFO), true, path));
	int afd = bpf_obj_get(pins_map(pd, RP_NAME(RP_MAP_ACTIVE), true, path));
	bool ok = ifd >= 0 && afd >= 0 && !bpf_map_lookup_elem(ifd, &zero, &info) &&
		  !bpf_map_lookup_elem(afd, &zero, &a);
	if (ok) {
		*staged = info.generation;
		*active = a.gen;
	}
	if (ifd >= 0)
		close(ifd);
	if (afd >= 0)
		close(afd);
	return ok;
}

/* DIR/links/new-NAME (a link attached by the apply, not named yet) takes
 * its name, or goes (its link is detached when nothing else holds it). */
static void settle_links(const struct pin_dir *pd, bool publish)
{
	char dir[PINS_PATH_MAX], from[PINS_PATH_MAX + NAME_MAX + 2], to[PINS_PATH_MAX + NAME_MAX + 2];
	const size_t plen = strlen(STAGED_PREFIX);
	DIR *d = opendir(path_of(pd, SUB_LINKS, false, "", NULL, dir));
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, STAGED_PREFIX, plen))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dir, e->d_name + plen);
		if (publish ? rename(from, to) : unlink(from))
			pr_warn("cannot %s %s (%s)", publish ? "publish" : "remove", from, strerror(errno));
	}
	if (d)
		closedir(d);
}

/* An apply killed after staging: rp_active says whether it flipped.  A
 * set whose generation is in force is published (what the kernel runs is
 * what the pins show), one that never became active is dropped.  With no
 * staged set left, the apply got past publishing: its links take their
 * names.  Under the instance lock. */
static void recover(struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	__u32 staged, active;
	bool have = access(path_of(pd, SUB_MAPS, true, "", NULL, path), F_OK) == 0;
	if (!have) {
		settle_links(pd, true);
		return;
	}
	bool flipped = staged_generations(pd, &staged, &active) && staged == active;
	if (flipped && !pins_stage_commit(pd)) {
		settle_links(pd, true);
		pr_note("%s: an apply was interrupted after its switch; its pins are published now", pd->path);
		return;
	}
	pins_stage_abort(pd);
	settle_links(pd, false);
}

int pins_settle(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	struct pin_dir me = *pd;
	int e = lock_path(pd, path, sizeof(path));
	if (e)
		return e;
	me.lock_fd = open(path, O_RDWR | O_CLOEXEC);
	if (me.lock_fd < 0)
		return 0; /* never locked, or unloaded: nothing staged */
	if (flock(me.lock_fd, LOCK_EX | LOCK_NB) == 0 && same_file(me.lock_fd, path))
		recover(&me);
	close(me.lock_fd);
	return 0;
}

/* ---------- unload ---------- */

bool pins_only_ours(const struct pin_dir *pd, int *nentries)
{
	static const char *const ours[] = {
		SUB_MAPS, SUB_LINKS, SUB_PROGS, SUB_FWD, SUB_MAPS STAGED_SUFFIX, SUB_PROGS STAGED_SUFFIX
	};
	DIR *d = opendir(pd->path);
	struct dirent *e;
	bool ok = true;
	*nentries = 0;
	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		(*nentries)++;
		bool known = false;
		for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
			known |= !strcmp(e->d_name, ours[i]);
		ok &= known;
	}
	closedir(d);
	return ok;
}

int pins_remove_all(const struct pin_dir *pd)
{
	return remove_tree(pd->path);
}
