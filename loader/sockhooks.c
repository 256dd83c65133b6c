/* The socket hooks in the apply pipeline (see sockhooks.h, docs/sockets.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "classifier_maps.h"
#include "cli.h"
#include "json.h"
#include "pins.h"
#include "rampart_sock.h"
#include "rampart.skel.h"
#include "sha256.h"
#include "sock.skel.h"
#include "sockhooks.h"

/* Maps of the datapath object that the hooks share (judging, counting,
 * logging, owners, socket marks). */
static const char *const shared_maps[] = {
	CLS_MAP_NAMES,
	"rp_counters", "rp_rule_stats", "rp_log_bucket", "rp_log", "rp_config",
	"rp_listeners", "rp_sk_marks", NULL,
};

/* The object's own maps (pinned with the datapath's). */
static const char *const own_maps[] = { "rp_apps", "rp_cgroups", "rp_app_info", "rp_sock_config", NULL };

/* Pin names DIR/links/cg-NAME and DIR/progs/sock-NAME, in the order of progs(). */
static const char *const hook_names[SOCK_NHOOKS] = {
	"network", "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4", "bind6", "release",
	"recvmsg4", "recvmsg6",
};

static struct bpf_program *hook_prog(struct sock_bpf *s, int i)
{
	struct bpf_program *p[SOCK_NHOOKS] = {
		s->progs.rp_network, s->progs.rp_connect4, s->progs.rp_connect6, s->progs.rp_sendmsg4,
		s->progs.rp_sendmsg6, s->progs.rp_bind4,   s->progs.rp_bind6,    s->progs.rp_release,
		s->progs.rp_recvmsg4, s->progs.rp_recvmsg6,
	};
	return p[i];
}

static void link_pin_path(char *buf, size_t len, const char *dir, const char *prefix, int i)
{
	char name[64];
	snprintf(name, sizeof(name), "%scg-%s", prefix, hook_names[i]);
	pins_path(buf, len, dir, "links", name);
}

uint32_t sockhooks_kdev(uint64_t st_dev)
{
	return (uint32_t)((major(st_dev) << 20) | minor(st_dev));
}

static int cgroup2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], dir[PATH_MAX], type[64];
	int found = -1;
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

/* ---------- cgroup ids -> paths ---------- */

static struct {
	const uint64_t *ids;
	int n;
	char **paths; /* found paths, relative to the mount ("/a/b") */
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

/* Paths (relative to the cgroup2 mount) of cgroup ids; NULL where gone. */
static char **cgroup_paths(const uint64_t *ids, int n)
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

static void free_paths(char **paths, int n)
{
	for (int i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

/* ---------- where the hooks go ---------- */

static bool policy_names_sockets(const struct policy *p)
{
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].cond[F_APP].used || p->rules[i].cond[F_CGROUP].used || p->rules[i].cond[F_USER].used)
			return true;
	return false;
}

int sockhooks_attached(const char *pin_dir, char *cgroup, size_t len)
{
	int n = 0;
	uint64_t id = 0;
	cgroup[0] = 0;
	for (int i = 0; i < SOCK_NHOOKS; i++) {
		char pin[PATH_MAX];
		link_pin_path(pin, sizeof(pin), pin_dir, "", i);
		int fd = bpf_obj_get(pin);
		if (fd < 0)
			continue;
		struct bpf_link_info info;
		__u32 ilen = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 && info.type == BPF_LINK_TYPE_CGROUP) {
			n++;
			id = info.cgroup.cgroup_id;
		}
		close(fd);
	}
	if (n && id) {
		char mnt[PATH_MAX];
		char **paths = cgroup_paths(&id, 1);
		if (paths && paths[0] && cgroup2_mount(mnt, sizeof(mnt)) == 0)
			snprintf(cgroup, len, "%s%s", strcmp(mnt, "/") ? mnt : "",
				 strcmp(paths[0], "/") || !strcmp(mnt, "/") ? paths[0] : "");
		free_paths(paths, 1);
	}
	return n;
}

int sockhooks_target(const char *pin_dir, const char *requested, const struct policy *p, char *out,
		     size_t outlen, char *err, size_t errlen)
{
	out[0] = 0;
	if (requested && requested[0]) {
		snprintf(out, outlen, "%s", requested);
		return EXIT_OK;
	}
	char cur[PATH_MAX];
	if (sockhooks_attached(pin_dir, cur, sizeof(cur)) > 0) {
		if (!cur[0]) {
			snprintf(err, errlen, "the socket hooks in %s are attached to a cgroup that no longer "
					      "exists; name one with --cgroup PATH", pin_dir);
			return EXIT_SYSTEM;
		}
		snprintf(out, outlen, "%s", cur); /* keep what was attached before */
		return EXIT_OK;
	}
	/* first apply without --cgroup: the whole host, when the policy has
	 * anything for the hooks to judge by (SPEC 1: default the cgroup2 root) */
	if (policy_names_sockets(p) && cgroup2_mount(out, outlen)) {
		snprintf(err, errlen, "the policy names app/cgroup/user but no cgroup2 file system is "
				      "mounted (see /proc/mounts); mount one or apply with --cgroup");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* ---------- load and fill ---------- */

int sockhooks_load(struct sock_bpf **sp, struct rampart_bpf *dp, const struct policy *p, char *err, size_t errlen)
{
	struct sock_bpf *s = sock_bpf__open();
	int e = 0;
	if (!s) {
		snprintf(err, errlen, "cannot open the socket hooks BPF object: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; shared_maps[i]; i++) {
		struct bpf_map *dm = bpf_object__find_map_by_name(dp->obj, shared_maps[i]);
		struct bpf_map *sm = bpf_object__find_map_by_name(s->obj, shared_maps[i]);
		if (!dm || !sm) {
			snprintf(err, errlen, "internal: map %s missing in an object", shared_maps[i]);
			e = -ENOENT;
			goto fail;
		}
		if (bpf_map__type(sm) != BPF_MAP_TYPE_SK_STORAGE && bpf_map__type(sm) != BPF_MAP_TYPE_RINGBUF)
			e = bpf_map__set_max_entries(sm, bpf_map__max_entries(dm));
		if (!e)
			e = bpf_map__reuse_fd(sm, bpf_map__fd(dm));
		if (e) {
			snprintf(err, errlen, "cannot share map %s with the socket hooks: %s", shared_maps[i],
				 strerror(-e));
			goto fail;
		}
	}
	uint32_t napps = (uint32_t)p->napps + 1, ncg = (uint32_t)p->ncgroups + 1;
	e = bpf_map__set_max_entries(s->maps.rp_apps, napps);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.rp_app_info, napps);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.rp_cgroups, ncg);
	if (!e)
		e = sock_bpf__load(s);
	if (e) {
		snprintf(err, errlen, "the kernel refused the socket hooks (%s); run with LIBBPF_LOG=debug "
				      "for the verifier log; they need Linux >= 6.1 with BTF and cgroup2", strerror(-e));
		goto fail;
	}
	*sp = s;
	return 0;
fail:
	sock_bpf__destroy(s);
	return e ? e : -EINVAL;
}

/* SHA-256 of a file's contents; 0 or -errno. */
static int file_sha256(const char *path, uint8_t out[32], struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (st->st_size == 0) {
		sha256("", 0, out);
		close(fd);
		return 0;
	}
	void *m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	sha256(m, (size_t)st->st_size, out);
	munmap(m, (size_t)st->st_size);
	return 0;
}

/* App id of an executable identity in the new policy (0: not named). */
static uint32_t app_of(struct sock_bpf *s, uint64_t ino, uint32_t dev)
{
	struct rp_app_key k = { .ino = ino, .dev = dev };
	uint32_t id = 0;
	if (bpf_map__lookup_elem(s->maps.rp_apps, &k, sizeof(k), &id, sizeof(id), 0))
		return 0;
	return id;
}

/* Owners recorded under the running policy, renumbered for the new one:
 * sockets that listen now keep being judged with their owner's identity. */
static void copy_listeners(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const char *pin_dir)
{
	int old_fd = pins_open_map(pin_dir, "rp_listeners");
	int new_fd = bpf_map__fd(dp->maps.rp_listeners);
	struct bpf_map_info oi = {}, ni = {};
	__u32 ol = sizeof(oi), nl = sizeof(ni);
	if (old_fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(old_fd, &oi, &ol) || bpf_obj_get_info_by_fd(new_fd, &ni, &nl) || oi.id == ni.id ||
	    oi.key_size != sizeof(struct rp_owner_key) || oi.value_size != sizeof(struct rp_owner)) {
		close(old_fd);
		return;
	}
	int cap = 64, n = 0;
	struct rp_owner_key *keys = malloc(cap * sizeof(*keys));
	struct rp_owner *vals = malloc(cap * sizeof(*vals));
	struct rp_owner_key k, next;
	void *prev = NULL;
	while (keys && vals && n < RP_LISTENERS_MAX && bpf_map_get_next_key(old_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (n == cap) {
			cap *= 2;
			void *a = realloc(keys, cap * sizeof(*keys)), *b = realloc(vals, cap * sizeof(*vals));
			if (a)
				keys = a;
			if (b)
				vals = b;
			if (!a || !b)
				break;
		}
		if (bpf_map_lookup_elem(old_fd, &k, &vals[n]) == 0)
			keys[n++] = k;
	}
	close(old_fd);
	uint64_t *ids = malloc((size_t)(n ? n : 1) * sizeof(*ids));
	for (int i = 0; ids && i < n; i++)
		ids[i] = vals[i].cgroup_id;
	char **paths = ids ? cgroup_paths(ids, n) : NULL;
	for (int i = 0; paths && i < n; i++) {
		struct rp_owner o = vals[i];
		o.app = app_of(s, o.ino, o.dev);
		o.cgroup = paths[i] ? policy_cgroup_value(p, paths[i]) : 0;
		bpf_map_update_elem(new_fd, &keys[i], &o, BPF_NOEXIST);
	}
	free_paths(paths, n);
	free(ids);
	free(keys);
	free(vals);
}

int sockhooks_fill(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const char *pin_dir,
		   FILE *notes, char *err, size_t errlen)
{
	char mnt[PATH_MAX] = "";
	for (int i = 0; i < p->napps; i++) {
		uint32_t id = (uint32_t)i + 1;
		struct rp_app_info info;
		struct stat st;
		memset(&info, 0, sizeof(info));
		snprintf(info.path, sizeof(info.path), "%s", p->apps[i]);
		int e = file_sha256(p->apps[i], info.sha256, &st);
		if (e) {
			fprintf(notes, "warning: application %s: %s; rules naming it match nothing until it "
				       "exists and the policy is applied again\n", p->apps[i], strerror(-e));
		} else {
			struct rp_app_key k = { .ino = (uint64_t)st.st_ino, .dev = sockhooks_kdev(st.st_dev) };
			info.present = 1;
			info.ino = k.ino;
			info.dev = k.dev;
			info.size = (uint64_t)st.st_size;
			if (bpf_map__update_elem(s->maps.rp_apps, &k, sizeof(k), &id, sizeof(id), BPF_ANY))
				goto fail;
		}
		if (bpf_map__update_elem(s->maps.rp_app_info, &id, sizeof(id), &info, sizeof(info), BPF_ANY))
			goto fail;
	}
	if (p->ncgroups && cgroup2_mount(mnt, sizeof(mnt)))
		fprintf(notes, "warning: no cgroup2 file system is mounted: cgroup rules match nothing\n");
	for (int i = 0; mnt[0] && i < p->ncgroups; i++) {
		char path[PATH_MAX * 2];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", strcmp(mnt, "/") ? mnt : "",
			 strcmp(p->cgroups[i].path, "/") ? p->cgroups[i].path : (strcmp(mnt, "/") ? "" : "/"));
		if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(notes, "warning: cgroup %s does not exist (%s); rules naming it match nothing "
				       "until it exists and the policy is applied again\n", p->cgroups[i].path, path);
			continue;
		}
		uint64_t cgid = (uint64_t)st.st_ino;
		uint32_t v = p->cgroups[i].pre;
		if (bpf_map__update_elem(s->maps.rp_cgroups, &cgid, sizeof(cgid), &v, sizeof(v), BPF_ANY))
			goto fail;
	}
	struct rp_sock_config sc = { .ancestry = p->opt.ancestry, .max_depth = RP_ANCESTRY_MAX_DEPTH, .ready = 1 };
	__u32 zero = 0;
	if (bpf_map__update_elem(s->maps.rp_sock_config, &zero, sizeof(zero), &sc, sizeof(sc), BPF_ANY))
		goto fail;
	copy_listeners(s, dp, p, pin_dir);
	return 0;
fail:
	snprintf(err, errlen, "cannot write the socket hooks' maps: %s", strerror(errno));
	return -errno;
}

int sockhooks_pin(struct sock_bpf *s, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	for (int i = 0; own_maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, own_maps[i]);
		pins_path(path, sizeof(path), dir, "maps-new", own_maps[i]);
		if (!m || bpf_obj_pin(bpf_map__fd(m), path))
			goto fail;
	}
	for (int i = 0; i < SOCK_NHOOKS; i++) {
		char name[64];
		snprintf(name, sizeof(name), "sock-%s", hook_names[i]);
		pins_path(path, sizeof(path), dir, "progs-new", name);
		if (bpf_obj_pin(bpf_program__fd(hook_prog(s, i)), path))
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot pin %.900s: %s", path, strerror(errno));
	return -errno;
}

/* ---------- attach / switch ---------- */

int sockhooks_switch(struct sock_bpf *s, const char *dir, const char *cgroup_path, struct sock_switch *st,
		     char *err, size_t errlen)
{
	struct stat cst;
	memset(st, 0, sizeof(*st));
	int cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &cst)) {
		snprintf(err, errlen, "cannot open cgroup %.900s: %s", cgroup_path, strerror(errno));
		if (cg_fd >= 0)
			close(cg_fd);
		return -errno;
	}
	for (int i = 0; i < SOCK_NHOOKS; i++) {
		struct sock_hook_state *h = &st->h[st->n++];
		struct bpf_program *prog = hook_prog(s, i);
		int prog_fd = bpf_program__fd(prog);
		h->link_fd = h->old_prog_fd = -1;
		h->fresh = true;
		link_pin_path(h->pin, sizeof(h->pin), dir, "", i);
		int fd = bpf_obj_get(h->pin);
		if (fd >= 0) {
			struct bpf_link_info info;
			__u32 ilen = sizeof(info);
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 && info.type == BPF_LINK_TYPE_CGROUP &&
			    info.cgroup.cgroup_id == (uint64_t)cst.st_ino && info.prog_id) {
				h->fresh = false;
				h->link_fd = fd;
				h->old_prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
			} else {
				close(fd); /* another cgroup: a new link replaces it at commit */
			}
		}
		if (!h->fresh) {
			if (bpf_link_update(h->link_fd, prog_fd, NULL)) {
				snprintf(err, errlen, "cannot switch the %s hook of %.900s: %s", hook_names[i],
					 cgroup_path, strerror(errno));
				goto fail;
			}
			h->done = true;
			continue;
		}
		h->link_fd = bpf_link_create(prog_fd, cg_fd, bpf_program__expected_attach_type(prog), NULL);
		if (h->link_fd < 0) {
			snprintf(err, errlen, "cannot attach the %s hook to cgroup %.900s: %s", hook_names[i],
				 cgroup_path, strerror(errno));
			goto fail;
		}
		h->done = true;
		char tmp[PATH_MAX];
		link_pin_path(tmp, sizeof(tmp), dir, "new-", i);
		unlink(tmp);
		if (bpf_obj_pin(h->link_fd, tmp)) {
			snprintf(err, errlen, "cannot pin %.900s: %s", tmp, strerror(errno));
			goto fail;
		}
	}
	close(cg_fd);
	return 0;
fail:;
	int e = -errno;
	close(cg_fd);
	sockhooks_rollback(st);
	return e ? e : -EINVAL;
}

/* DIR/links/new-cg-NAME: where a new link waits for the commit. */
static void new_pin_of(const struct sock_hook_state *h, char *buf, size_t len)
{
	const char *slash = strrchr(h->pin, '/');
	snprintf(buf, len, "%.*s/new-%s", (int)(slash - h->pin), h->pin, slash + 1);
}

void sockhooks_rollback(struct sock_switch *st)
{
	for (int i = st->n - 1; i >= 0; i--) {
		struct sock_hook_state *h = &st->h[i];
		if (!h->done)
			continue;
		if (h->fresh) {
			char tmp[PATH_MAX];
			new_pin_of(h, tmp, sizeof(tmp));
			unlink(tmp);
			close(h->link_fd); /* last reference: detached */
			h->link_fd = -1;
		} else if (h->old_prog_fd >= 0) {
			bpf_link_update(h->link_fd, h->old_prog_fd, NULL);
		}
		h->done = false;
	}
}

void sockhooks_commit(struct sock_switch *st, struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p,
		      const char *pin_dir)
{
	for (int i = 0; i < st->n; i++) {
		struct sock_hook_state *h = &st->h[i];
		if (!h->fresh || !h->done)
			continue;
		char tmp[PATH_MAX];
		new_pin_of(h, tmp, sizeof(tmp));
		rename(tmp, h->pin); /* an old link on another cgroup loses its pin: detached */
	}
	/* owners recorded by the old hooks between the first copy and the switch */
	copy_listeners(s, dp, p, pin_dir);
}

void sockhooks_close(struct sock_switch *st)
{
	for (int i = 0; i < st->n; i++) {
		if (st->h[i].link_fd >= 0)
			close(st->h[i].link_fd);
		if (st->h[i].old_prog_fd >= 0)
			close(st->h[i].old_prog_fd);
		st->h[i].link_fd = st->h[i].old_prog_fd = -1;
	}
	st->n = 0;
}

void sockhooks_destroy(struct sock_bpf *s)
{
	sock_bpf__destroy(s);
}

/* ---------- approved applications vs. the files now ---------- */

static const char *app_state(const struct rp_app_info *a, uint8_t now[32], bool *have_now)
{
	struct stat st;
	*have_now = false;
	if (!a->present)
		return "absent";
	if (file_sha256(a->path, now, &st))
		return "missing";
	*have_now = true;
	if ((uint64_t)st.st_ino != a->ino || sockhooks_kdev(st.st_dev) != a->dev)
		return "replaced";
	return memcmp(now, a->sha256, 32) ? "modified" : "ok";
}

static const char *state_text(const char *state)
{
	if (!strcmp(state, "absent"))
		return "did not exist at apply: its rules match nothing";
	if (!strcmp(state, "missing"))
		return "REMOVED since apply: its rules match nothing";
	if (!strcmp(state, "replaced"))
		return "REPLACED since apply (a new file, new inode): its rules no longer match it; "
		       "check it, then `rampart apply` to approve it";
	if (!strcmp(state, "modified"))
		return "MODIFIED in place since apply (same inode): its rules STILL MATCH it; "
		       "check it, then `rampart apply` to approve it";
	return "unchanged";
}

int sockhooks_report_apps(const char *pin_dir, FILE *out, enum sock_report style)
{
	int fd = pins_open_map(pin_dir, "rp_app_info");
	if (fd < 0) {
		if (style == SOCK_REPORT_JSON)
			fprintf(out, "[]");
		return -1;
	}
	struct bpf_map_info mi = {};
	__u32 ml = sizeof(mi);
	if (bpf_obj_get_info_by_fd(fd, &mi, &ml) || mi.value_size != sizeof(struct rp_app_info)) {
		close(fd);
		if (style == SOCK_REPORT_JSON)
			fprintf(out, "[]");
		return -1;
	}
	int changed = 0, shown = 0;
	if (style == SOCK_REPORT_JSON)
		fputc('[', out);
	for (uint32_t id = 1; id < mi.max_entries; id++) {
		struct rp_app_info a;
		uint8_t now[32];
		bool have_now;
		char h1[65], h2[65] = "";
		if (bpf_map_lookup_elem(fd, &id, &a) || !a.path[0])
			continue;
		a.path[sizeof(a.path) - 1] = 0;
		const char *state = app_state(&a, now, &have_now);
		bool bad = strcmp(state, "ok") != 0;
		changed += bad && strcmp(state, "absent");
		sha256_hex(a.sha256, h1);
		if (have_now)
			sha256_hex(now, h2);
		if (style == SOCK_REPORT_JSON) {
			fprintf(out, "%s{\"app_id\": %u, \"path\": ", shown ? ", " : "", id);
			json_str(out, a.path);
			fprintf(out, ", \"state\": \"%s\", \"sha256\": %s%s%s, \"sha256_now\": %s%s%s}", state,
				a.present ? "\"" : "", a.present ? h1 : "null", a.present ? "\"" : "",
				have_now ? "\"" : "", have_now ? h2 : "null", have_now ? "\"" : "");
		} else if (style == SOCK_REPORT_TEXT) {
			if (!shown)
				fprintf(out, "applications (approved at apply):\n");
			fprintf(out, "  %-40s %s", a.path, state_text(state));
			if (a.present)
				fprintf(out, "; approved sha256 %.16s", h1);
			if (have_now && bad)
				fprintf(out, ", now %.16s", h2);
			fputc('\n', out);
		} else if (bad) {
			fprintf(out, "warning: application %s %s", a.path, state_text(state));
			if (have_now)
				fprintf(out, " (approved sha256 %s, now %s)", h1, h2);
			fputc('\n', out);
		}
		shown++;
	}
	if (style == SOCK_REPORT_JSON)
		fputc(']', out);
	close(fd);
	return changed;
}
