/* The socket hooks in the apply pipeline (see sockhooks.h, docs/sockets.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "apps.h"
#include "bpfmap.h"
#include "cgroup.h"
#include "classify.h"
#include "datapath.h"
#include "log.h"
#include "pins.h"
#include "rampart_sock.h"
#include "rampart.skel.h"
#include "sock.skel.h"
#include "sockhooks.h"

/* The hooks' names in their pins (pins_cgroup_link, pins_sock_prog), in the order of hook_prog(). */
static const char *const hook_names[SOCK_NHOOKS] = {
	"network", "connect4", "connect6", "sendmsg4", "sendmsg6", "bind4",
	"bind6",   "release",  "recvmsg4", "recvmsg6", "sockops",
};

static struct bpf_program *hook_prog(struct sock_bpf *s, int i)
{
	struct bpf_program *p[SOCK_NHOOKS] = {
		s->progs.rp_network,  s->progs.rp_connect4, s->progs.rp_connect6, s->progs.rp_sendmsg4,
		s->progs.rp_sendmsg6, s->progs.rp_bind4,    s->progs.rp_bind6,	  s->progs.rp_release,
		s->progs.rp_recvmsg4, s->progs.rp_recvmsg6, s->progs.rp_sockops,
	};
	return p[i];
}

/* ---------- where the hooks go ---------- */

static bool policy_names_sockets(const struct policy *p)
{
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].cond[F_APP].used || p->rules[i].cond[F_CGROUP].used || p->rules[i].cond[F_USER].used)
			return true;
	return false;
}

/* The cgroup link pinned for hook i (-errno when none), and its info. */
static int pinned_link(const struct pin_dir *pd, int i, struct bpf_link_info *info)
{
	char pin[PINS_PATH_MAX];
	__u32 len = sizeof(*info);
	int fd = bpf_obj_get(pins_cgroup_link(pd, hook_names[i], false, pin));
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len) || info->type != BPF_LINK_TYPE_CGROUP) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int sockhooks_attached(const struct pin_dir *pd, char *cgroup, size_t len)
{
	int n = 0;
	uint64_t id = 0;
	cgroup[0] = 0;
	for (int i = 0; i < SOCK_NHOOKS; i++) {
		struct bpf_link_info info;
		int fd = pinned_link(pd, i, &info);
		if (fd < 0)
			continue;
		n++;
		id = info.cgroup.cgroup_id;
		close(fd);
	}
	if (n && id) {
		char mnt[PATH_MAX];
		char **paths = cgroup_paths(&id, 1);
		if (paths && paths[0] && cgroup2_mount(mnt, sizeof(mnt)) == 0)
			cgroup_abs_path(mnt, paths[0], cgroup, len);
		cgroup_paths_free(paths, 1);
	}
	return n;
}

int sockhooks_target(const struct pin_dir *pd, const char *requested, const struct policy *p, char *out, size_t outlen)
{
	out[0] = 0;
	if (requested && requested[0]) {
		snprintf(out, outlen, "%s", requested);
		return 0;
	}
	char cur[PATH_MAX];
	if (sockhooks_attached(pd, cur, sizeof(cur)) > 0) {
		if (!cur[0]) {
			pr_err("the socket hooks in %s are attached to a cgroup that no longer exists; name one with "
			       "--cgroup PATH",
			       pd->path);
			return -ENOENT;
		}
		snprintf(out, outlen, "%s", cur); /* keep what was attached before */
		return 0;
	}
	/* first apply without --cgroup: the whole host, when the policy has
	 * anything for the hooks to judge by (docs/cli.md: default the cgroup2 root) */
	if (policy_names_sockets(p) && cgroup2_mount(out, outlen)) {
		pr_err("the policy names app/cgroup/user but no cgroup2 file system is mounted (see /proc/mounts); "
		       "mount one or apply with --cgroup");
		return -ENOENT;
	}
	return 0;
}

/* ---------- load and fill ---------- */

int sockhooks_load(struct sock_bpf **sp, struct rampart_bpf *dp, const struct policy *p)
{
	struct sock_bpf *s = sock_bpf__open();
	int e = 0;
	if (!s)
		return pr_err_r(-errno, "cannot open the socket hooks BPF object");
	e = datapath_share_maps(dp, s->obj, "the socket hooks");
	if (e)
		goto fail;
	/* the datapath's generation, and its rp_apps / rp_cgroups (sized there) */
	s->rodata->rp_gen = dp->rodata->rp_gen;
	s->rodata->rp_netns = dp->rodata->rp_netns;
	uint32_t napps = (uint32_t)p->napps + 1;
	e = bpf_map__set_max_entries(s->maps.rp_app_info, napps);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.rp_app_stamp, napps);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.rp_cgroup_paths, (uint32_t)p->ncgroups + 1);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.rp_cgroup_info, (uint32_t)p->ncgroups + 1);
	if (!e)
		e = sock_bpf__load(s);
	if (e) {
		pr_err("the kernel refused the socket hooks (%s); run with -v for the verifier log; they need "
		       "Linux >= 6.1 with BTF and cgroup2",
		       strerror(-e));
		goto fail;
	}
	*sp = s;
	return 0;
fail:
	sock_bpf__destroy(s);
	return e ? e : -EINVAL;
}

/* App id of an executable identity in the new policy (0: not named). */
static uint32_t app_of(struct sock_bpf *s, const struct rp_app_key *k)
{
	uint32_t id = 0;
	if (bpf_map__lookup_elem(s->maps.rp_apps, k, sizeof(*k), &id, sizeof(id), 0))
		return 0;
	return id;
}

/* The `listen` event of an owner record, as the hooks build it (bpf/sock.bpf.c,
 * rp_listen): the owner's identity and the bound address and port. */
static void listen_fields(struct cls_fields *f, const struct rp_owner_key *k, const struct rp_owner *o)
{
	memset(f, 0, sizeof(*f));
	f->app = o->app;
	f->cgroup = o->cgroup;
	f->uid = o->uid;
	f->has_app = f->has_cgroup = f->has_user = 1;
	memcpy(f->laddr, k->addr, sizeof(f->laddr));
	f->family = o->family;
	if (o->family == 4 && !f->laddr[0] && !f->laddr[1] && !f->laddr[2] && !f->laddr[3])
		f->laddr[2] = htonl(0xffff); /* 0.0.0.0: its key has no address */
	f->proto = k->proto;
	f->lport = k->port;
	f->dir = DIR_IN;
	f->event = EVENT_LISTEN;
	f->has_ports = 1; /* only ports have owners */
	f->absent = CLS_ABSENT(F_RADDR) | CLS_ABSENT(F_RPORT) | CLS_ABSENT(F_IFACE) | CLS_ABSENT(F_ICMPTYPE);
}

/* The owner's listen judged again by the new policy (its tables, gen):
 * a listen() judged by the sock_ops hook could not be refused, so its
 * record carries the refusal, which must follow the policy both ways.
 * apply enforces (a `rampart stop` during it leaves the records of another
 * mode, which the datapath takes for no judgement).  Ask counts as not
 * refused: each connection to it is asked.  A lookup that fails leaves
 * the old generation's mark: no judgement. */
static void listen_rejudge(const struct cls_tables *t, uint32_t gen, const struct rp_owner_key *k, struct rp_owner *o)
{
	struct cls_fields f;
	struct cls_result r;
	listen_fields(&f, k, o);
	if (cls_lookup(t, &f, &r))
		return;
	o->refused = r.verdict == VERDICT_DENY || r.verdict == VERDICT_REJECT;
	o->slot = r.slot;
	o->gen = gen;
	o->mode = RP_MODE_ENFORCING;
}

/* Owners recorded under the running policy, renumbered for the new one
 * and their listen judged by it: sockets that listen now keep being judged
 * with their owner's identity, and a refused listener is refused by the
 * new policy or not at all.  This is the walk over the owners: the new
 * programs see only what it wrote. */
static void copy_listeners(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p,
			   const struct cls_tables *t, const struct pin_dir *pd)
{
	int old_fd = pins_open_map(pd, RP_NAME(RP_MAP_LISTENERS));
	int new_fd = bpf_map__fd(dp->maps.rp_listeners);
	struct rp_owner_key *keys = NULL;
	struct rp_owner *vals = NULL;
	int n = -1;
	if (old_fd >= 0 && !bpfmap_same(old_fd, new_fd) &&
	    bpfmap_layout_is(old_fd, sizeof(struct rp_owner_key), sizeof(struct rp_owner)))
		n = bpfmap_read_all(old_fd, sizeof(*keys), sizeof(*vals), RP_LISTENERS_MAX, (void **)&keys,
				    (void **)&vals);
	if (old_fd >= 0)
		close(old_fd);
	if (n < 0)
		return;
	uint64_t *ids = malloc((size_t)(n ? n : 1) * sizeof(*ids));
	for (int i = 0; ids && i < n; i++)
		ids[i] = vals[i].cgroup_id;
	char **paths = ids ? cgroup_paths(ids, n) : NULL;
	for (int i = 0; paths && i < n; i++) {
		struct rp_owner o = vals[i];
		o.app = app_of(s, &o.exe);
		o.cgroup = paths[i] ? policy_cgroup_value(p, paths[i]) : 0;
		listen_rejudge(t, dp->rodata->rp_gen, &keys[i], &o);
		bpf_map_update_elem(new_fd, &keys[i], &o, BPF_NOEXIST);
	}
	cgroup_paths_free(paths, n);
	free(ids);
	free(keys);
	free(vals);
}

/* rp_apps, rp_app_info and rp_app_stamp: each application's identity,
 * fingerprint and change time. */
static int fill_apps(struct sock_bpf *s, const struct policy *p)
{
	for (int i = 0; i < p->napps; i++) {
		uint32_t id = (uint32_t)i + 1;
		struct rp_app_info info;
		struct rp_app_stamp stamp;
		struct rp_app_key k;
		int e = apps_identify(p->apps[i], &info, &k, &stamp);
		if (e)
			pr_warn("application %s: %s; rules naming it match nothing until it exists and the policy is "
				"applied again",
				p->apps[i], strerror(-e));
		else if ((e = bpf_map__update_elem(s->maps.rp_apps, &k, sizeof(k), &id, sizeof(id), BPF_ANY)))
			return e;
		if ((e = bpf_map__update_elem(s->maps.rp_app_info, &id, sizeof(id), &info, sizeof(info), BPF_ANY)))
			return e;
		if ((e = bpf_map__update_elem(s->maps.rp_app_stamp, &id, sizeof(id), &stamp, sizeof(stamp), BPF_ANY)))
			return e;
	}
	return 0;
}

/* rp_cgroup_paths: each cgroup the policy names, by path; rp_cgroups: the
 * id of those that exist now (tc egress finds them by id; the socket hooks
 * find the others by path when they come, include/rampart_sock.h). */
static int fill_cgroups(struct sock_bpf *s, const struct policy *p)
{
	char mnt[PATH_MAX];
	bool mounted = cgroup2_mount(mnt, sizeof(mnt)) == 0;
	if (p->ncgroups && !mounted)
		pr_warn("no cgroup2 file system is mounted: cgroup rules match a cgroup once one is");
	for (int i = 0; i < p->ncgroups; i++) {
		struct rp_cgroup_path_key k = cgroup_path_key(p->cgroups[i].path);
		uint32_t v = p->cgroups[i].pre;
		int e = bpf_map__update_elem(s->maps.rp_cgroup_paths, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
		if (e)
			return e;
		struct rp_cgroup_info info = { .id = mounted ? cgroup_id_of(mnt, p->cgroups[i].path) : 0 };
		snprintf(info.path, sizeof(info.path), "%s", p->cgroups[i].path);
		if ((e = bpf_map__update_elem(s->maps.rp_cgroup_info, &v, sizeof(v), &info, sizeof(info), BPF_ANY)))
			return e;
		if (!info.id) {
			if (mounted)
				pr_info("cgroup %s does not exist under %s; rules naming it apply to it once it is "
					"created",
					p->cgroups[i].path, mnt);
			continue;
		}
		e = bpf_map__update_elem(s->maps.rp_cgroups, &info.id, sizeof(info.id), &v, sizeof(v), BPF_ANY);
		if (e)
			return e;
	}
	return 0;
}

int sockhooks_fill(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const struct cls_tables *t,
		   const struct pin_dir *pd)
{
	struct rp_sock_config sc = { .ancestry = p->opt.ancestry,
				     .max_depth = RP_ANCESTRY_MAX_DEPTH,
				     .ready = 1,
				     .userns = p->opt.separate_userns,
				     .app_changed = (uint32_t)p->opt.app_changed,
				     .ncgroups = (uint32_t)p->ncgroups };
	__u32 zero = 0;
	int e = fill_apps(s, p);
	if (!e)
		e = fill_cgroups(s, p);
	if (!e)
		e = bpf_map__update_elem(s->maps.rp_sock_config, &zero, sizeof(zero), &sc, sizeof(sc), BPF_ANY);
	if (e)
		return pr_err_r(e, "cannot write the socket hooks' maps");
	copy_listeners(s, dp, p, t, pd);
	return 0;
}

int sockhooks_pin(struct sock_bpf *s, struct rampart_bpf *dp, const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	struct bpf_map *m;
	int e;
	bpf_object__for_each_map(m, s->obj) {
		if (datapath_declares(dp, m) || strchr(bpf_map__name(m), '.'))
			continue; /* pinned with the datapath's; libbpf's internal maps */
		if ((e = pins_stage_map(pd, bpf_map__name(m), bpf_map__fd(m))))
			return e;
	}
	for (int i = 0; i < SOCK_NHOOKS; i++)
		if ((e = pins_pin(bpf_program__fd(hook_prog(s, i)), pins_sock_prog(pd, hook_names[i], true, path))))
			return e;
	return 0;
}

/* ---------- the cgroup hooks (a back-end of hooks.h) ---------- */

/* The pinned link of this hook on this cgroup is switched; one on another
 * cgroup loses its pin to a new link at commit. */
static bool same_cgroup(const struct hook *h, const struct bpf_link_info *info)
{
	return info->type == BPF_LINK_TYPE_CGROUP && info->cgroup.cgroup_id == h->target_id;
}

static int cg_prepare(struct hook *h)
{
	return hook_link_prepare(h, same_cgroup);
}

static const struct hook_ops cgroup_ops = {
	.prepare = cg_prepare,
	.attach = hook_link_attach,
	.update = hook_link_update,
	.detach = hook_link_detach,
};

int sockhooks_add(struct hook_txn *t, struct sock_bpf *s, const struct pin_dir *pd, const char *cgroup_path)
{
	struct stat st;
	char what[64];
	int cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0 || fstat(cg_fd, &st)) {
		int e = pr_err_r(-errno, "cannot open cgroup %s", cgroup_path);
		if (cg_fd >= 0)
			close(cg_fd);
		return e;
	}
	for (int i = 0; i < SOCK_NHOOKS; i++) {
		struct bpf_program *prog = hook_prog(s, i);
		snprintf(what, sizeof(what), "%s hook of the cgroup", hook_names[i]);
		struct hook *h = txn_add(t, &cgroup_ops, pd, bpf_program__fd(prog), what);
		if (!h) {
			close(cg_fd);
			return -ENOMEM;
		}
		pins_cgroup_link(pd, hook_names[i], false, h->pin);
		pins_cgroup_link(pd, hook_names[i], true, h->staged);
		h->target_fd = dup(cg_fd);
		h->target_id = (uint64_t)st.st_ino;
		h->attach_type = bpf_program__expected_attach_type(prog);
	}
	close(cg_fd);
	return 0;
}

bool sockhooks_fresh(const struct hook_txn *t)
{
	for (int i = 0; i < t->n; i++)
		if (t->v[i].ops == &cgroup_ops)
			return t->v[i].fresh;
	return false;
}

/* After the flip, before the new pins are published (the pinned
 * rp_listeners is still the old one): owners the old hooks recorded
 * between the first copy and the flip.  A service that starts listening
 * while an apply loads its programs (seconds) keeps its owner. */
void sockhooks_commit(struct sock_bpf *s, struct rampart_bpf *dp, const struct policy *p, const struct cls_tables *t,
		      const struct pin_dir *pd)
{
	copy_listeners(s, dp, p, t, pd);
}

void sockhooks_destroy(struct sock_bpf *s)
{
	sock_bpf__destroy(s);
}
