/* The apply pipeline: compile, load next to the running policy, fill every
 * map, switch each hook in one step, re-pin.  And unload.
 *
 * Why this order: until the switch, the running programs keep judging with
 * their own, untouched policy maps, so any failure before it changes
 * nothing.  The switch is one bpf_link_update per hook; a packet is judged
 * either by the old or by the new complete policy.  The state maps
 * (conntrack, counters, log ring, sweeper, config) are shared by the old
 * and the new object, so established flows survive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "apply.h"
#include "ast.h"
#include "attach.h"
#include "boot.h"
#include "classifier_maps.h"
#include "classify.h"
#include "cli.h"
#include "datapath.h"
#include "format.h"
#include "netdev.h"
#include "pins.h"
#include "policy.h"
#include "rampart.skel.h"
#include "sha256.h"
#include "sock.skel.h"
#include "sockhooks.h"

#define ERRLEN 1024

/* DIR/links/HOOK-IFNAME */
static void link_pin(char *buf, size_t len, const char *dir, const char *hook, const char *ifname)
{
	char name[NAME_MAX];
	pins_link_name(name, sizeof(name), hook, ifname);
	pins_path(buf, len, dir, "links", name);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Serialises apply/unload of all instances (the pin dir itself may not
 * exist yet, or be removed by unload): a lock on its parent directory. */
static int lock_parent(const char *pin_dir)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	else
		snprintf(parent, sizeof(parent), "/");
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

static bool same_map(int a, int b)
{
	struct bpf_map_info ia = {}, ib = {};
	__u32 la = sizeof(ia), lb = sizeof(ib);
	return a >= 0 && b >= 0 && bpf_obj_get_info_by_fd(a, &ia, &la) == 0 &&
	       bpf_obj_get_info_by_fd(b, &ib, &lb) == 0 && ia.id == ib.id;
}

/* ---------- interfaces attached before ---------- */

/* Interface names with a pin under DIR/links (xdp-X, tc-X, tcf-X). */
static int attached_ifaces(const char *dir, char names[][IF_NAMESIZE], int max)
{
	char path[PATH_MAX];
	pins_path(path, sizeof(path), dir, "links", NULL);
	DIR *d = opendir(path);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char hook[8], ifname[IF_NAMESIZE];
		if (!pins_parse_link_name(e->d_name, hook, sizeof(hook), ifname, sizeof(ifname)))
			continue;
		bool dup = false;
		for (int i = 0; i < n; i++)
			dup |= strcmp(names[i], ifname) == 0;
		if (!dup && n < max)
			snprintf(names[n++], IF_NAMESIZE, "%s", ifname);
	}
	closedir(d);
	return n;
}

/* Removes the attachments of one interface (pins of links: unpinning the
 * last reference detaches; clsact filters: detached explicitly). */
static void detach_iface(const char *dir, const char *ifname)
{
	char path[PATH_MAX];
	for (int i = 0; i < PINS_NLINK_HOOKS; i++) {
		const char *hook = pins_link_hooks[i];
		link_pin(path, sizeof(path), dir, hook, ifname);
		if (!exists(path))
			continue;
		if (!strncmp(hook, "tcf", 3)) {
			unsigned idx = if_nametoindex(ifname);
			if (idx)
				detach_tc_clsact(idx, !strcmp(hook, "tcfi"));
		}
		unlink(path);
	}
}

/* ---------- the policy's wan interface ---------- */

/* The resolved policy keeps interface aliases only as names, so read the
 * `interface wan = IF` declaration from the parse tree (includes too). */
static bool policy_wan_ifname(const struct policy *p, char *out, size_t outlen)
{
	struct ast_policy ast;
	struct sources srcs;
	struct diag quiet;
	bool found = false;
	if (p->srcs.n == 0)
		return false;
	memset(&ast, 0, sizeof(ast));
	sources_init(&srcs);
	diag_init(&quiet, NULL, NULL);
	parse_source(&ast, &srcs, p->srcs.v[0], &quiet);
	for (int i = 0; i < ast.nifaces; i++)
		if (!strcmp(ast.ifaces[i].name, "wan")) {
			snprintf(out, outlen, "%s", ast.ifaces[i].ifname);
			found = true;
		}
	ast_policy_free(&ast);
	sources_free(&srcs);
	diag_free(&quiet);
	return found;
}

/* ---------- hooks ---------- */

enum hook_kind { HK_XDP, HK_TCX, HK_CLSACT };

/* One program at one point of one interface: ingress (XDP or tc) or
 * egress (tc). */
struct hook {
	enum hook_kind kind;
	bool ingress;
	struct apply_iface *ifc;
	int prog_fd;      /* the new program */
	int alt_fd;       /* ingress: the tc program, when XDP turns out not to be possible */
	int link_fd;      /* XDP / tcx link; -1 for clsact */
	int old_prog_fd;  /* program in force before the switch; -1 when none */
	const char *dir;  /* the pin dir */
	char pin[PATH_MAX];
	char stale[PATH_MAX]; /* an attachment of another kind at this point: removed at commit */
	enum hook_kind stale_kind;
	bool fresh;       /* no attachment of this kind before: attached by this apply */
	bool done;        /* switched (or attached) */
};

static const char *hook_pin_name(enum hook_kind kind, bool ingress)
{
	if (kind == HK_XDP)
		return "xdp";
	if (kind == HK_TCX)
		return ingress ? "tci" : "tc";
	return ingress ? "tcfi" : "tcf";
}

static int open_pinned_link(struct hook *h)
{
	int fd = bpf_obj_get(h->pin);
	uint32_t ifindex = 0, prog_id = 0;
	if (fd < 0)
		return -1;
	/* a link whose device went away (ifindex 0) or was re-created under the
	 * same name cannot be updated: attach afresh over the stale pin */
	if (link_target(fd, &ifindex, &prog_id) || ifindex != h->ifc->ifindex || !prog_id) {
		close(fd);
		return -1;
	}
	h->link_fd = fd;
	h->old_prog_fd = bpf_prog_get_fd_by_id(prog_id);
	return 0;
}

/* Is an attachment of this kind pinned at this point, and in force? */
static bool hook_find(struct hook *h, const char *dir, enum hook_kind kind)
{
	h->kind = kind;
	link_pin(h->pin, sizeof(h->pin), dir, hook_pin_name(kind, h->ingress), h->ifc->name);
	if (kind != HK_CLSACT)
		return open_pinned_link(h) == 0;
	if (!exists(h->pin))
		return false;
	uint32_t id = query_tc_clsact(h->ifc->ifindex, h->ingress);
	if (id)
		h->old_prog_fd = bpf_prog_get_fd_by_id(id);
	return id != 0;
}

/* Read-only: what is attached at this point now.  want: the kind the
 * interface's role asks for (tc covers a clsact fallback). */
static void hook_prepare(struct hook *h, const char *dir, enum hook_kind want)
{
	static const enum hook_kind kinds[] = { HK_XDP, HK_TCX, HK_CLSACT };
	h->link_fd = h->old_prog_fd = -1;
	h->fresh = true;
	h->stale[0] = 0;
	for (size_t i = 0; i < 3; i++) {
		enum hook_kind k = kinds[i];
		if ((k == HK_XDP && !h->ingress) || !hook_find(h, dir, k))
			continue;
		if ((k == HK_XDP) == (want == HK_XDP)) {
			h->fresh = false; /* switched in place */
			return;
		}
		/* the role changed (XDP <-> tc): attach the new kind beside it,
		 * remove the old one once everything switched */
		memcpy(h->stale, h->pin, sizeof(h->stale));
		h->stale_kind = k;
		if (h->link_fd >= 0)
			close(h->link_fd);
		if (h->old_prog_fd >= 0)
			close(h->old_prog_fd);
		h->link_fd = h->old_prog_fd = -1;
	}
	h->kind = want;
	link_pin(h->pin, sizeof(h->pin), dir, hook_pin_name(want, h->ingress), h->ifc->name);
}

/* A new tc attachment: a tcx link, or a clsact filter where there is no
 * tcx (or RAMPART_TC_ATTACH=clsact asks for one, to test that path). */
static int hook_attach_tc(struct hook *h, FILE *notes, char *err, size_t errlen)
{
	const char *force = getenv("RAMPART_TC_ATTACH");
	int e = -EOPNOTSUPP;
	if (!force || strcmp(force, "clsact") != 0) {
		e = attach_tcx(h->prog_fd, h->ifc->ifindex, h->ingress, err, errlen);
		if (e < 0)
			fprintf(notes, "note: %s: %s; using a clsact filter instead\n", h->ifc->name, err);
	}
	if (e >= 0) {
		h->kind = HK_TCX;
		h->link_fd = e;
		return 0;
	}
	e = attach_tc_clsact(h->prog_fd, h->ifc->ifindex, h->ingress, err, errlen);
	if (e)
		return e;
	h->kind = HK_CLSACT;
	return 0;
}

static int hook_attach(struct hook *h, FILE *notes, char *err, size_t errlen)
{
	int e;
	if (h->kind == HK_XDP) {
		e = attach_xdp(h->prog_fd, h->ifc->ifindex, err, errlen);
		if (e >= 0) {
			h->link_fd = e;
			return 0;
		}
		if (e == -EBUSY || e == -EEXIST)
			return e;
		/* no native XDP in this driver: tc ingress judges instead */
		fprintf(notes, "note: %s: %s; judged by tc ingress\n", h->ifc->name, err);
		h->prog_fd = h->alt_fd;
	}
	return hook_attach_tc(h, notes, err, errlen);
}

static int hook_switch(struct hook *h, FILE *notes, char *err, size_t errlen)
{
	int e;
	if (!h->fresh) {
		e = h->kind == HK_CLSACT ? attach_tc_clsact(h->prog_fd, h->ifc->ifindex, h->ingress, err, errlen)
					 : link_switch(h->link_fd, h->prog_fd, err, errlen);
		if (!e && h->kind == HK_CLSACT)
			pins_replace(h->prog_fd, h->pin); /* the marker holds the program in force */
		h->done = !e;
		return e;
	}
	e = hook_attach(h, notes, err, errlen);
	if (e)
		return e;
	h->done = true;
	/* the pin is what keeps it attached once this process exits (a clsact
	 * filter stays anyway: its pin is a marker that holds the program) */
	link_pin(h->pin, sizeof(h->pin), h->dir, hook_pin_name(h->kind, h->ingress), h->ifc->name);
	e = pins_replace(h->kind == HK_CLSACT ? h->prog_fd : h->link_fd, h->pin);
	if (e) {
		snprintf(err, errlen, "cannot pin %.900s: %s", h->pin, strerror(-e));
		return e;
	}
	return 0;
}

static void hook_rollback(struct hook *h)
{
	char err[ERRLEN];
	if (!h->done)
		return;
	if (h->fresh) {
		unlink(h->pin);
		if (h->kind == HK_CLSACT)
			detach_tc_clsact(h->ifc->ifindex, h->ingress);
		if (h->link_fd >= 0)
			close(h->link_fd); /* last reference: detached */
		h->link_fd = -1;
	} else if (h->kind == HK_CLSACT) {
		attach_tc_clsact(h->old_prog_fd, h->ifc->ifindex, h->ingress, err, sizeof(err));
		pins_replace(h->old_prog_fd, h->pin);
	} else {
		link_switch(h->link_fd, h->old_prog_fd, err, sizeof(err));
	}
	h->done = false;
}

/* After every hook switched: an attachment of the kind this point no
 * longer uses goes. */
static void hook_commit(struct hook *h)
{
	if (!h->stale[0])
		return;
	if (h->stale_kind == HK_CLSACT)
		detach_tc_clsact(h->ifc->ifindex, h->ingress);
	unlink(h->stale);
}

/* What apply reports for the interface: which programs run where. */
static void hook_report(const struct hook *h)
{
	static const char *const names[] = { [HK_XDP] = "xdp", [HK_TCX] = "tcx", [HK_CLSACT] = "clsact" };
	if (h->ingress)
		h->ifc->ingress = names[h->kind];
	else
		h->ifc->egress = names[h->kind];
}

static void hook_close(struct hook *h)
{
	if (h->link_fd >= 0)
		close(h->link_fd);
	if (h->old_prog_fd >= 0)
		close(h->old_prog_fd);
}

/* ---------- pinning the object ---------- */

/* Pins every map (or both programs) of the new object under DIR/SUB-new. */
static int pin_set(struct rampart_bpf *skel, const char *dir, bool progs, char *err, size_t errlen)
{
	char sub[16], path[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s-new", progs ? "progs" : "maps");
	pins_path(path, sizeof(path), dir, sub, NULL);
	pins_remove_all(path); /* left over by an apply that crashed */
	if (mkdir(path, 0700)) {
		snprintf(err, errlen, "cannot create %.900s: %s", path, strerror(errno));
		return -errno;
	}
	if (progs) {
		struct bpf_program *pr[] = { skel->progs.rampart_xdp, skel->progs.rampart_tc_ingress,
					     skel->progs.rampart_tc_ingress_l3, skel->progs.rampart_tc_egress,
					     skel->progs.rampart_tc_egress_l3 };
		static const char *const names[] = { "xdp", "tc-in", "tc-in-l3", "tc", "tc-l3" };
		for (size_t i = 0; i < sizeof(pr) / sizeof(pr[0]); i++) {
			pins_path(path, sizeof(path), dir, sub, names[i]);
			if (bpf_program__pin(pr[i], path))
				goto fail;
		}
		return 0;
	}
	struct bpf_map *m;
	bpf_object__for_each_map(m, skel->obj) {
		if (strchr(bpf_map__name(m), '.'))
			continue; /* libbpf's internal .rodata/.bss */
		pins_path(path, sizeof(path), dir, sub, bpf_map__name(m));
		if (bpf_obj_pin(bpf_map__fd(m), path))
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot pin %.900s: %s", path, strerror(errno));
	return -errno;
}

/* Pins of the boot object that outlive the boot mode (its SK_LOOKUP drop
 * counter) go into the new set too; the boot timer does not (the mode is
 * decided now, the timer dies with its map). */
static void carry_boot_pins(const char *dir)
{
	char from[PATH_MAX], to[PATH_MAX];
	pins_path(from, sizeof(from), dir, "maps", "rp_boot_sk_drops");
	pins_path(to, sizeof(to), dir, "maps-new", "rp_boot_sk_drops");
	int fd = bpf_obj_get(from);
	if (fd >= 0) {
		bpf_obj_pin(fd, to);
		close(fd);
	}
}

/* DIR/SUB-new becomes DIR/SUB in one step (renameat2 RENAME_EXCHANGE on
 * bpffs), so readers see the old complete set or the new one. */
static int pin_set_commit(const char *dir, const char *sub)
{
	char cur[PATH_MAX], next[PATH_MAX], name[32];
	snprintf(name, sizeof(name), "%s-new", sub);
	pins_path(cur, sizeof(cur), dir, sub, NULL);
	pins_path(next, sizeof(next), dir, name, NULL);
	if (!exists(cur))
		return rename(next, cur) ? -errno : 0;
	if (renameat2(AT_FDCWD, next, AT_FDCWD, cur, RENAME_EXCHANGE))
		return -errno;
	return pins_remove_all(next);
}

/* ---------- state carried over ---------- */

/* When conntrack-size changed a table cannot be shared: copy its flows
 * (rp_conntrack or rp_ct_new) into the new one.  Returns how many did not
 * fit; *copied counts the others. */
static unsigned copy_ct_table(const char *dir, const char *name, int new_fd, unsigned *copied)
{
	int old_fd = pins_open_map(dir, name);
	struct bpf_map_info oi = {}, ni = {};
	__u32 ol = sizeof(oi), nl = sizeof(ni);
	unsigned lost = 0;
	if (old_fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(old_fd, &oi, &ol) || bpf_obj_get_info_by_fd(new_fd, &ni, &nl) ||
	    oi.id == ni.id || oi.key_size != sizeof(struct ct_key) ||
	    oi.value_size != sizeof(struct ct_value) || ni.key_size != oi.key_size ||
	    ni.value_size != oi.value_size) {
		close(old_fd);
		return 0;
	}
	struct ct_key k, next;
	struct ct_value v;
	void *prev = NULL;
	while (bpf_map_get_next_key(old_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(old_fd, &k, &v) == 0) {
			if (bpf_map_update_elem(new_fd, &k, &v, BPF_NOEXIST) == 0)
				(*copied)++;
			else
				lost++;
		}
	}
	close(old_fd);
	return lost;
}

static void copy_conntrack(const char *dir, struct rampart_bpf *skel, FILE *notes)
{
	unsigned copied = 0, lost = copy_ct_table(dir, "rp_conntrack", bpf_map__fd(skel->maps.rp_conntrack), &copied);
	lost += copy_ct_table(dir, "rp_ct_new", bpf_map__fd(skel->maps.rp_ct_new), &copied);
	fprintf(notes, "note: conntrack-size changed: %u flows copied into the new tables", copied);
	if (lost)
		fprintf(notes, ", %u did not fit (their next packets will be judged as new/invalid)", lost);
	fputc('\n', notes);
}

/* ---------- apply ---------- */

static int resolve_ifaces(const struct apply_req *rq, bool loaded, struct apply_report *rep,
			  char old[][IF_NAMESIZE], int nold, FILE *notes)
{
	if (rq->nifnames > APPLY_MAX_IFACES) {
		fprintf(stderr, "rampart apply: at most %d interfaces\n", APPLY_MAX_IFACES);
		return EXIT_USAGE;
	}
	for (int i = 0; i < rq->nifnames; i++) {
		const char *n = rq->ifnames[i];
		unsigned idx = if_nametoindex(n);
		if (strlen(n) >= IF_NAMESIZE || !idx) {
			fprintf(stderr,
				"rampart apply: interface `%s` not found in this network namespace; "
				"check `ip link` (rampart acts in the namespace it runs in)\n", n);
			return EXIT_SYSTEM;
		}
		bool dup = false;
		for (int j = 0; j < rep->nifaces; j++)
			dup |= rep->ifaces[j].ifindex == idx;
		if (dup)
			continue;
		struct apply_iface *f = &rep->ifaces[rep->nifaces++];
		snprintf(f->name, sizeof(f->name), "%s", n);
		f->ifindex = idx;
	}
	if (rq->nifnames)
		return EXIT_OK;
	if (loaded || nold) {
		/* keep what was attached before */
		for (int i = 0; i < nold; i++) {
			unsigned idx = if_nametoindex(old[i]);
			if (!idx) {
				fprintf(notes, "note: %s (attached before) no longer exists here: dropped\n", old[i]);
				continue;
			}
			struct apply_iface *f = &rep->ifaces[rep->nifaces++];
			snprintf(f->name, sizeof(f->name), "%.15s", old[i]);
			f->ifindex = idx;
		}
		return EXIT_OK;
	}
	/* first apply without --iface: every interface of this namespace but lo */
	struct if_nameindex *all = if_nameindex();
	for (struct if_nameindex *i = all; i && i->if_index; i++) {
		if (!strcmp(i->if_name, "lo") || rep->nifaces >= APPLY_MAX_IFACES)
			continue;
		struct apply_iface *f = &rep->ifaces[rep->nifaces++];
		snprintf(f->name, sizeof(f->name), "%s", i->if_name);
		f->ifindex = i->if_index;
	}
	if (all)
		if_freenameindex(all);
	return EXIT_OK;
}

/* The devices behind rep->ifaces and the role of each (netdev.h): which
 * programs it gets.  A device rampart cannot read is an error when named
 * with --iface, and left out with a note when covered by "every interface"
 * (apply's report lists it).  0 or an exit code. */
static int plan_ifaces(const struct apply_req *rq, int ingress_hook, struct apply_report *rep, struct netdev **devsp,
		       int *ndevs, FILE *notes)
{
	struct netdev *devs;
	int n, e = netdev_list(&devs, &n);
	if (e) {
		fprintf(stderr, "rampart apply: cannot list the network devices (rtnetlink): %s\n", strerror(-e));
		return EXIT_SYSTEM;
	}
	bool *protect = calloc((size_t)(n ? n : 1), sizeof(bool));
	if (!protect) {
		free(devs);
		return EXIT_SYSTEM;
	}
	for (int i = 0; i < rep->nifaces; i++)
		for (int j = 0; j < n; j++)
			protect[j] |= devs[j].ifindex == rep->ifaces[i].ifindex;
	int k = 0;
	for (int i = 0; i < rep->nifaces; i++) {
		struct apply_iface *f = &rep->ifaces[i];
		const struct netdev *d = netdev_find(devs, n, f->ifindex);
		if (d)
			netdev_role(d, devs, n, protect, ingress_hook, &f->role);
		else
			snprintf(f->role.refused, sizeof(f->role.refused), "gone while rampart was reading it");
		if (!f->role.refused[0]) {
			rep->ifaces[k++] = *f;
			continue;
		}
		if (rq->nifnames) {
			fprintf(stderr, "rampart apply: cannot protect %s: %s; leave it out of --iface\n", f->name,
				f->role.refused);
			free(protect);
			free(devs);
			return EXIT_SYSTEM;
		}
		fprintf(notes, "note: %s is not protected: %s\n", f->name, f->role.refused);
		if (rep->nrefused < APPLY_MAX_IFACES)
			rep->refused[rep->nrefused++] = *f;
	}
	rep->nifaces = k;
	free(protect);
	*devsp = devs;
	*ndevs = n;
	return EXIT_OK;
}

static uint32_t iface_policy_id(const char *name, void *arg)
{
	return policy_iface_id(arg, name);
}

/* rp_ifaces: the logical interface of every protected device and of the
 * VLANs on them (netdev_entries). */
static int write_iface_entries(struct rampart_bpf *skel, const struct policy *p, const struct apply_report *rep,
			       const struct netdev *devs, int n)
{
	bool *protect = calloc((size_t)(n ? n : 1), sizeof(bool));
	struct netdev_role *roles = calloc((size_t)(n ? n : 1), sizeof(*roles));
	int max = 2 * n + 1, e = 0;
	struct netdev_entry *ent = calloc((size_t)max, sizeof(*ent));
	if (!protect || !roles || !ent) {
		e = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < rep->nifaces; i++)
		for (int j = 0; j < n; j++)
			if (devs[j].ifindex == rep->ifaces[i].ifindex) {
				protect[j] = true;
				roles[j] = rep->ifaces[i].role;
			}
	int k = netdev_entries(devs, n, protect, roles, iface_policy_id, (void *)p, ent, max);
	for (int i = 0; !e && i < k; i++) {
		struct rp_iface_key key = { .ifindex = ent[i].ifindex, .vid = ent[i].vid };
		struct rp_iface v = { .id = ent[i].id, .ifindex = ent[i].logical_ifindex,
				      .flags = (ent[i].judges ? RP_IFF_JUDGES : 0) |
					       (ent[i].elsewhere ? RP_IFF_ELSEWHERE : 0) };
		e = datapath_put_iface(skel, &key, &v);
	}
out:
	free(protect);
	free(roles);
	free(ent);
	return e;
}

int resolve_cgroup_path(const char *arg, char *out, size_t outlen, char *err, size_t errlen)
{
	char mnt[PATH_MAX] = "";
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], dir[PATH_MAX], type[64];
	while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	if (f)
		fclose(f);
	if (!mnt[0]) {
		snprintf(err, errlen, "no cgroup2 filesystem is mounted (see /proc/mounts); mount one: "
				      "mount -t cgroup2 none /sys/fs/cgroup");
		return EXIT_SYSTEM;
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
		snprintf(err, errlen, "cgroup `%s` does not exist (looked for %s under the cgroup2 mount %s)",
			 arg, out, mnt);
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

int apply_policy(const struct apply_req *rq, struct apply_report *rep, FILE *notes)
{
	struct timespec t0, t1;
	char err[ERRLEN] = "";
	int rc = EXIT_SYSTEM;
	struct policy p;
	struct diag d;
	struct flat_policy fp;
	struct cls_tables t;
	struct rampart_bpf *skel = NULL;
	struct sock_bpf *sock = NULL;
	struct sock_switch sock_sw = { .n = 0 };
	char cg_target[PATH_MAX] = "";
	struct hook hooks[2 * APPLY_MAX_IFACES];
	int nhooks = 0, lock_fd = -1;
	bool created_dir = false, switched = false;
	char old[APPLY_MAX_IFACES][IF_NAMESIZE];
	const char *dir = rq->pin_dir;
	struct netdev *devs = NULL;
	int ndevs = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(rep, 0, sizeof(*rep));
	memset(&fp, 0, sizeof(fp));
	memset(&t, 0, sizeof(t));
	memset(&p, 0, sizeof(p));
	diag_init(&d, stderr, NULL);

	if (pins_check_bpffs(dir, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out;
	}
	if (rq->cgroup && (rc = resolve_cgroup_path(rq->cgroup, rep->cgroup, sizeof(rep->cgroup), err,
						      sizeof(err)))) {
		fprintf(stderr, "rampart apply: --cgroup: %s\n", err);
		goto out;
	}

	/* 1. the policy, entirely in user space (boot has none: the datapath in
	 * mode boot never asks the classifier, which denies when unconfigured) */
	struct load_opts lo = { .resolve_hosts = true, .lookup_users = true };
	uint8_t digest[32];
	rc = EXIT_POLICY;
	if (rq->boot)
		goto policy_done;
	if (policy_load_file(&p, rq->file, &lo, &d) || d.nerrors) {
		fprintf(stderr, "rampart apply: %s: %d error%s; nothing was changed\n", rq->file, d.nerrors,
			d.nerrors == 1 ? "" : "s");
		goto out;
	}
	if (flatten_policy(&p, &fp, &d) || d.nerrors) {
		fprintf(stderr, "rampart apply: %s: cannot flatten the policy; nothing was changed\n", rq->file);
		goto out;
	}
	if (cls_compile(&fp, (uint32_t)p.nrules, &t, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s: %s; nothing was changed\n", rq->file, err);
		goto out;
	}
	sha256(p.srcs.v[0]->text, p.srcs.v[0]->len, digest);
	sha256_hex(digest, rep->sha256);
	rep->nrules = p.nrules;
	rep->ntables = p.ntables;
policy_done:

	/* 2. what runs now (read only) */
	rc = EXIT_SYSTEM;
	lock_fd = lock_parent(dir);
	bool loaded = pins_loaded(dir);
	int nold = attached_ifaces(dir, old, APPLY_MAX_IFACES);
	if ((rc = resolve_ifaces(rq, loaded, rep, old, nold, notes)))
		goto out;
	if ((rc = plan_ifaces(rq, p.opt.ingress_hook, rep, &devs, &ndevs, notes)))
		goto out;
	rc = EXIT_SYSTEM;
	/* socket hooks: where (boot protection has none) */
	if (!rq->boot && (rc = sockhooks_target(dir, rq->cgroup ? rep->cgroup : NULL, &p, cg_target,
						 sizeof(cg_target), err, sizeof(err)))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out;
	}
	rc = EXIT_SYSTEM;
	snprintf(rep->cgroup, sizeof(rep->cgroup), "%s", cg_target);
	if (rep->nifaces == 0 && !rq->cgroup && !rq->boot) {
		fprintf(stderr, "rampart apply: no interface to protect; name one with --iface IF\n");
		rc = EXIT_USAGE;
		goto out;
	}
	struct rp_config old_cfg;
	bool have_old_cfg = false, reuse = loaded;
	char maps_dir[PATH_MAX];
	pins_path(maps_dir, sizeof(maps_dir), dir, "maps", NULL);
	if (loaded) {
		int fd = pins_open_map(dir, "rp_config");
		__u32 zero = 0;
		have_old_cfg = fd >= 0 && bpf_map_lookup_elem(fd, &zero, &old_cfg) == 0;
		if (fd >= 0)
			close(fd);
		struct rp_policy_info info;
		fd = pins_open_map(dir, "rp_policy_info");
		if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &info) == 0 && info.abi_version != RP_ABI_VERSION) {
			fprintf(notes, "note: the running policy was loaded by another rampart version "
				       "(map layout %u, this one %u): flows and counters start afresh\n",
				info.abi_version, RP_ABI_VERSION);
			reuse = false;
		}
		if (fd >= 0)
			close(fd);
	}
	rep->replaced = loaded;

	/* 3. the new object, loaded next to the running one */
	struct datapath_opts o = {
		.conntrack_size = (uint32_t)p.opt.conntrack_size,
		.nslots = policy_nslots(&p),
		.reuse_dir = reuse ? maps_dir : NULL,
	};
	if (datapath_open(&skel, &o, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out;
	}
	struct cls_maps cm = { skel->maps.cls_config, skel->maps.cls_values, skel->maps.cls_prefixes,
			       skel->maps.cls_pairs, skel->maps.cls_info, skel->maps.cls_actions };
	if ((!rq->boot && cls_maps_size(&cm, &t, err, sizeof(err))) || datapath_load(skel, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out_skel;
	}

	/* 4. fill every map of the new object; the running programs do not see them */
	if (!rq->boot && cls_maps_write(&cm, &t, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out_skel;
	}
	char abspath[PATH_MAX] = "";
	if (!rq->boot && !realpath(rq->file, abspath))
		snprintf(abspath, sizeof(abspath), "%s", rq->file);
	rep->generation = have_old_cfg ? old_cfg.generation + 1 : 1;
	int e = datapath_write_rules(skel, &p);
	if (!e)
		e = datapath_write_policy_info(skel, &p, abspath, rq->boot ? NULL : digest);
	if (!e) {
		struct rp_policy_info info;
		__u32 zero = 0;
		e = bpf_map__lookup_elem(skel->maps.rp_policy_info, &zero, sizeof(zero), &info, sizeof(info), 0);
		info.generation = rep->generation;
		if (!e)
			e = bpf_map__update_elem(skel->maps.rp_policy_info, &zero, sizeof(zero), &info,
						 sizeof(info), BPF_ANY);
	}
	if (!e)
		e = write_iface_entries(skel, &p, rep, devs, ndevs);
	if (e) {
		fprintf(stderr, "rampart apply: cannot write the policy maps: %s\n", strerror(e < 0 ? -e : e));
		goto out_skel;
	}
	/* the socket hooks share the new object's maps (judging, counters, log) */
	if (cg_target[0] && (sockhooks_load(&sock, skel, &p, err, sizeof(err)) ||
			     sockhooks_fill(sock, skel, &p, dir, notes, err, sizeof(err)))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out_skel;
	}
	int old_ct = loaded ? pins_open_map(dir, "rp_conntrack") : -1;
	rep->state_reused = loaded && same_map(old_ct, bpf_map__fd(skel->maps.rp_conntrack));
	if (old_ct >= 0)
		close(old_ct);
	if (loaded && !rep->state_reused)
		copy_conntrack(dir, skel, notes);

	struct rp_config cfg;
	char wan[IF_NAMESIZE * 4] = "";
	datapath_config_from_policy(&cfg, rq->boot ? NULL : &p);
	cfg.generation = rep->generation;
	cfg.mode_changed_ns = lifecycle_now_boot_ns();
	cfg.mode_reason = rq->reason ? rq->reason : RP_REASON_APPLY;
	if (rq->boot) {
		cfg.mode = RP_MODE_BOOT;
		cfg.mode_reason = RP_REASON_BOOT;
		cfg.boot_fail_closed = rq->boot->fail_closed;
		if (rq->boot->timeout_s)
			cfg.boot_deadline_ns = now_mono_ns() + (uint64_t)rq->boot->timeout_s * 1000000000ull;
	}
	if (policy_wan_ifname(&p, wan, sizeof(wan))) {
		for (int i = 0; i < rep->nifaces; i++)
			if (!strcmp(rep->ifaces[i].name, wan)) {
				cfg.flags |= RP_CFG_F_HAVE_WAN;
				cfg.wan_ifindex = rep->ifaces[i].ifindex;
				snprintf(rep->wan, sizeof(rep->wan), "%s", wan);
			}
		if (!rep->wan[0])
			fprintf(notes, "note: the policy declares `interface wan = %s` but %s is not attached: "
				       "host mode (attach it with --iface %s for gateway mode)\n", wan, wan, wan);
	}

	/* 5. pins of the new set, beside the current ones (nothing reads them yet) */
	if (!exists(dir)) {
		if (pins_mkdirs(dir)) {
			fprintf(stderr, "rampart apply: cannot create %s: %s\n", dir, strerror(errno));
			goto out_skel;
		}
		created_dir = true;
	}
	pins_mkdirs(dir);
	if (pin_set(skel, dir, false, err, sizeof(err)) || pin_set(skel, dir, true, err, sizeof(err)) ||
	    (sock && sockhooks_pin(sock, dir, err, sizeof(err)))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		goto out_unpin;
	}

	/* 6. the configuration last: mode enforcing (shared with the running
	 * programs when reused: restored if the switch fails) */
	bool cfg_shared = false;
	if (loaded) {
		int fd = pins_open_map(dir, "rp_config");
		cfg_shared = same_map(fd, bpf_map__fd(skel->maps.rp_config));
		if (fd >= 0)
			close(fd);
	}
	/* leaving boot: boot mode (never asks the classifier) stays until every
	 * hook runs the policy's programs, then the mode becomes enforcing */
	struct rp_config pre = cfg;
	bool keep_boot = cfg_shared && have_old_cfg && old_cfg.mode == RP_MODE_BOOT && !rq->boot;
	if (keep_boot) {
		pre.mode = old_cfg.mode;
		pre.mode_reason = old_cfg.mode_reason;
		pre.mode_changed_ns = old_cfg.mode_changed_ns;
		pre.boot_deadline_ns = old_cfg.boot_deadline_ns;
		pre.boot_fail_closed = old_cfg.boot_fail_closed;
	}
	if (datapath_write_config(skel, &pre)) {
		fprintf(stderr, "rampart apply: cannot write the configuration: %s\n", strerror(errno));
		goto out_unpin;
	}

	/* 7. the switch: one step per hook; on failure, back to the old programs */
	for (int i = 0; i < rep->nifaces; i++) {
		struct apply_iface *f = &rep->ifaces[i];
		int tc_in = bpf_program__fd(f->role.l3 ? skel->progs.rampart_tc_ingress_l3 : skel->progs.rampart_tc_ingress);
		int tc_out = bpf_program__fd(f->role.l3 ? skel->progs.rampart_tc_egress_l3 : skel->progs.rampart_tc_egress);
		for (int x = 0; x < 2; x++) {
			bool ingress = x == 0;
			if (ingress && f->role.ingress == NETDEV_IN_NONE)
				continue;
			bool xdp = ingress && f->role.ingress == NETDEV_IN_XDP;
			struct hook *h = &hooks[nhooks++];
			memset(h, 0, sizeof(*h));
			h->ingress = ingress;
			h->ifc = f;
			h->dir = dir;
			h->prog_fd = xdp ? bpf_program__fd(skel->progs.rampart_xdp) : ingress ? tc_in : tc_out;
			h->alt_fd = tc_in;
			hook_prepare(h, dir, xdp ? HK_XDP : HK_TCX);
			f->added |= h->fresh;
		}
	}
	for (int i = 0; i < nhooks; i++) {
		struct hook *h = &hooks[i];
		if (hook_switch(h, notes, err, sizeof(err))) {
			fprintf(stderr, "rampart apply: %s: %s\n", h->ifc->name, err);
			for (int j = i; j >= 0; j--)
				hook_rollback(&hooks[j]);
			if (cfg_shared && have_old_cfg)
				datapath_write_config(skel, &old_cfg);
			fprintf(stderr, "rampart apply: every interface is back to the policy it had; "
					"nothing was changed\n");
			goto out_unpin;
		}
	}
	if (sock && sockhooks_switch(sock, dir, cg_target, &sock_sw, err, sizeof(err))) {
		fprintf(stderr, "rampart apply: %s\n", err);
		for (int j = nhooks - 1; j >= 0; j--)
			hook_rollback(&hooks[j]);
		if (cfg_shared && have_old_cfg)
			datapath_write_config(skel, &old_cfg);
		fprintf(stderr, "rampart apply: every hook is back to the policy it had; nothing was changed\n");
		goto out_unpin;
	}
	switched = true;
	if ((e = datapath_sweeper_start(skel)))
		fprintf(notes, "warning: the conntrack sweeper could not be started (%s): expired flows are "
			       "removed only when a packet finds them; run `rampart apply` again\n", strerror(-e));
	if (keep_boot && datapath_write_config(skel, &cfg))
		fprintf(notes, "warning: the policy is attached but the mode could not be set to enforcing "
			       "(%s); run `rampart apply` again\n", strerror(errno));

	/* 8. commit: drop interfaces no longer listed, publish the new pins */
	for (int i = 0; i < nold; i++) {
		bool keep = false;
		for (int j = 0; j < rep->nifaces; j++)
			keep |= !strcmp(old[i], rep->ifaces[j].name);
		if (!keep) {
			detach_iface(dir, old[i]);
			snprintf(rep->detached[rep->ndetached++], IF_NAMESIZE, "%.15s", old[i]);
		}
	}
	for (int i = 0; i < nhooks; i++)
		hook_commit(&hooks[i]);
	carry_boot_pins(dir);
	if ((e = pin_set_commit(dir, "maps")) || (e = pin_set_commit(dir, "progs")))
		fprintf(notes, "warning: the new policy is in force but its pins could not be "
			       "published (%s); run `rampart apply` again\n", strerror(-e));
	if (sock) {
		sockhooks_commit(&sock_sw, sock, skel, &p, dir);
		rep->nsock_hooks = sock_sw.n;
		rep->sock_fresh = sock_sw.n && sock_sw.h[0].fresh;
	}
	for (int i = 0; i < nhooks; i++)
		hook_report(&hooks[i]);
	rc = EXIT_OK;
	/* boot: the timer and the namespace hook; apply: keep the namespace
	 * hook following the (possibly new) configuration map */
	e = rq->boot ? boot_netns_setup(dir, rq->nifnames == 0, err, sizeof(err))
		     : boot_netns_refresh(dir, err, sizeof(err));
	if (e) {
		fprintf(stderr, "rampart %s: %s\n", rq->boot ? "boot" : "apply", err);
		if (rq->boot)
			fprintf(stderr, "rampart boot: the listed interfaces are protected; interfaces that "
					"appear later are not, and the timeout will not open by itself\n");
		rc = EXIT_SYSTEM;
	}
	char lpath[PATH_MAX];
	pins_path(lpath, sizeof(lpath), dir, "links", BOOT_LINK_PIN);
	rep->netns_hook = exists(lpath);

out_unpin:
	if (!switched) {
		char path[PATH_MAX];
		pins_path(path, sizeof(path), dir, "maps-new", NULL);
		pins_remove_all(path);
		pins_path(path, sizeof(path), dir, "progs-new", NULL);
		pins_remove_all(path);
		if (created_dir)
			pins_remove_all(dir);
	}
out_skel:
	for (int i = 0; i < nhooks; i++)
		hook_close(&hooks[i]);
	sockhooks_close(&sock_sw);
	if (sock)
		sockhooks_destroy(sock);
	/* the pins hold what must stay: the object's own references can go */
	datapath_destroy(skel);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	free(devs);
	cls_tables_free(&t);
	flat_policy_free(&fp);
	diag_free(&d);
	policy_free(&p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}

const char *apply_iface_summary(const struct apply_iface *f, char *buf, size_t n)
{
	const char *out = f->egress ? f->egress : "none";
	if (!f->ingress)
		snprintf(buf, n, "bridge port: tc egress (%s) judges bridged frames", out);
	else if (!strcmp(f->ingress, "xdp"))
		snprintf(buf, n, "xdp native, tc egress (%s)", out);
	else
		snprintf(buf, n, "tc ingress (%s), tc egress (%s)%s", f->ingress, out,
			 f->role.l3 ? ", no link layer" : "");
	return buf;
}

/* ---------- unload ---------- */

/* Only remove what rampart pinned: never wipe a directory that holds
 * something else (e.g. --pin-dir /sys/fs/bpf by mistake). */
static bool looks_like_pin_dir(const char *dir, int *nentries)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool ok = true;
	*nentries = 0;
	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		(*nentries)++;
		ok &= !strcmp(e->d_name, "maps") || !strcmp(e->d_name, "links") ||
		      !strcmp(e->d_name, "progs") || !strcmp(e->d_name, "maps-new") ||
		      !strcmp(e->d_name, "progs-new");
	}
	closedir(d);
	return ok;
}

int unload_pins(const char *dir, FILE *out)
{
	char err[ERRLEN];
	int n = 0;
	if (pins_check_bpffs(dir, err, sizeof(err))) {
		fprintf(stderr, "rampart unload: %s\n", err);
		return EXIT_SYSTEM;
	}
	int lock_fd = lock_parent(dir);
	if (!exists(dir)) {
		fprintf(out, "nothing loaded in %s\n", dir);
		close(lock_fd);
		return EXIT_OK;
	}
	if (!looks_like_pin_dir(dir, &n)) {
		fprintf(stderr, "rampart unload: %s holds pins that rampart did not make; "
				"refusing to remove it (check --pin-dir)\n", dir);
		close(lock_fd);
		return EXIT_SYSTEM;
	}
	char names[APPLY_MAX_IFACES][IF_NAMESIZE];
	int nif = attached_ifaces(dir, names, APPLY_MAX_IFACES);
	bool loaded = pins_loaded(dir);
	for (int i = 0; i < nif; i++)
		detach_iface(dir, names[i]);
	int e = pins_remove_all(dir);
	close(lock_fd);
	if (e) {
		fprintf(stderr, "rampart unload: cannot remove %s: %s\n", dir, strerror(-e));
		return EXIT_SYSTEM;
	}
	if (!loaded && nif == 0) {
		fprintf(out, "nothing loaded in %s\n", dir);
		return EXIT_OK;
	}
	fprintf(out, "unloaded %s", dir);
	if (nif) {
		fprintf(out, "; detached from");
		for (int i = 0; i < nif; i++)
			fprintf(out, " %s", names[i]);
	}
	fputc('\n', out);
	return EXIT_OK;
}
