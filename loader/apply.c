/* The apply pipeline: compile, load next to the running policy, fill every
 * map, switch each hook in one step, re-pin.  And unload.
 *
 * Why this order: until the switch, the running programs keep judging with
 * their own, untouched policy maps, so any failure before it changes
 * nothing.  The switch is one bpf_link_update per hook, each new program
 * forwarding to the old one, then one write of rp_active makes every new
 * program judge (loader/hooks.h): a packet is judged either by the old or
 * by the new complete policy, also when apply is killed.  The state maps
 * (conntrack, counters, log ring, sweeper, config) are shared by the old
 * and the new object, so established flows survive. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "apply.h"
#include "ast.h"
#include "boot.h"
#include "bpfmap.h"
#include "cgroup.h"
#include "classify.h"
#include "datapath.h"
#include "format.h"
#include "hooks.h"
#include "ifhooks.h"
#include "ifplan.h"
#include "log.h"
#include "netdev.h"
#include "pins.h"
#include "policy.h"
#include "rampart.skel.h"
#include "sha256.h"
#include "boot.skel.h"
#include "sock.skel.h"
#include "sockhooks.h"

#define ERRLEN 1024

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

/* ---------- state carried over ---------- */

/* When conntrack-size changed a table cannot be shared: copy its flows
 * (the established or the half-open table) into the new one.  Returns how
 * many did not fit; *copied counts the others. */
static unsigned copy_ct_table(const struct pin_dir *pd, const char *name, int new_fd, unsigned *copied)
{
	int old_fd = pins_open_map(pd, name);
	struct bpf_map_info oi;
	struct ct_key *keys = NULL;
	struct ct_value *vals = NULL;
	int n = -1;
	if (old_fd >= 0 && !bpfmap_same(old_fd, new_fd) && bpfmap_info(old_fd, &oi) == 0 &&
	    bpfmap_layout_is(old_fd, sizeof(*keys), sizeof(*vals)) &&
	    bpfmap_layout_is(new_fd, sizeof(*keys), sizeof(*vals)))
		n = bpfmap_read_all(old_fd, sizeof(*keys), sizeof(*vals), (int)oi.max_entries, (void **)&keys,
				    (void **)&vals);
	if (old_fd >= 0)
		close(old_fd);
	unsigned lost = 0;
	for (int i = 0; i < n; i++) {
		if (vals[i].flags & CT_F_MOVED)
			continue; /* a moved flow's old copy: the flow is in rp_conntrack */
		if (bpf_map_update_elem(new_fd, &keys[i], &vals[i], BPF_NOEXIST) == 0)
			(*copied)++;
		else
			lost++;
	}
	free(keys);
	free(vals);
	return lost;
}

static void copy_conntrack(const struct pin_dir *pd, struct rampart_bpf *skel)
{
	unsigned copied = 0;
	unsigned lost = copy_ct_table(pd, RP_NAME(RP_MAP_CONNTRACK), bpf_map__fd(skel->maps.rp_conntrack), &copied);
	lost += copy_ct_table(pd, RP_NAME(RP_MAP_CT_NEW), bpf_map__fd(skel->maps.rp_ct_new), &copied);
	if (lost)
		pr_note("conntrack-size changed: %u flows copied into the new tables, %u did not fit (their next "
			"packets will be judged as new/invalid)",
			copied, lost);
	else
		pr_note("conntrack-size changed: %u flows copied into the new tables", copied);
}

/* ---------- the interfaces ---------- */

/* The interfaces to protect: --iface names and patterns; else what the
 * running policy covers (an older rampart pinned no selection: the
 * interfaces attached now); else (first apply) every interface but lo,
 * also the ones that appear later. */
static int select_ifaces(const struct apply_req *rq, const struct pin_dir *pd, bool loaded, char old[][IF_NAMESIZE],
			 int nold, struct rp_ifsel *sel)
{
	memset(sel, 0, sizeof(*sel));
	for (int i = 0; i < rq->nifnames; i++) {
		const char *n = rq->ifnames[i];
		if (!ifsel_is_pattern(n) && (strlen(n) >= IF_NAMESIZE || !if_nametoindex(n))) {
			pr_err("interface `%s` not found in this network namespace; check `ip link` (rampart acts in "
			       "the namespace it runs in)",
			       n);
			return -ENODEV;
		}
		int e = ifsel_add_pattern(sel, n);
		if (e)
			return pr_err_r(e, "--iface %s", n);
	}
	if (rq->nifnames)
		return 0;
	if (loaded && ifsel_read(pd, sel) == 0)
		return 0;
	for (int i = 0; i < nold; i++)
		ifsel_add_pattern(sel, old[i]);
	sel->all = !loaded && !nold;
	return 0;
}

/* Named by --iface as it is (not through a pattern). */
static bool named_literally(const struct apply_req *rq, const char *name)
{
	for (int i = 0; i < rq->nifnames; i++)
		if (!strcmp(rq->ifnames[i], name))
			return true;
	return false;
}

/* The selection against the devices there are now (ifplan.h): what gets
 * which programs.  A device rampart cannot read is an error when --iface
 * names it, and left out with a note otherwise (apply's report lists it). */
static int plan_ifaces(const struct apply_req *rq, const struct rp_ifsel *sel, struct ifplan *pl,
		       struct apply_report *rep)
{
	int e = ifplan_build(pl, sel);
	if (e)
		return pr_err_r(e, "cannot list the network devices (rtnetlink)");
	for (int i = 0; i < pl->n; i++) {
		const struct netdev *d = &pl->devs[i];
		if (!pl->covered[i])
			continue;
		struct apply_iface *f = ifplan_protects(pl, i) ? &rep->ifaces[rep->nifaces]
							       : &rep->refused[rep->nrefused];
		if (rep->nifaces >= APPLY_MAX_IFACES || rep->nrefused >= APPLY_MAX_IFACES)
			return pr_err_r(-E2BIG, "more than %d interfaces; name the ones to protect with --iface",
					APPLY_MAX_IFACES);
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", d->name);
		f->ifindex = d->ifindex;
		f->role = pl->roles[i];
		if (ifplan_protects(pl, i)) {
			rep->nifaces++;
			continue;
		}
		if (named_literally(rq, d->name)) {
			pr_err("cannot protect %s: %s; leave it out of --iface", d->name, f->role.refused);
			return -ENODEV;
		}
		pr_note("%s is not protected: %s", d->name, f->role.refused);
		rep->nrefused++;
	}
	return 0;
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

/* ---------- one apply, step by step ---------- */

struct apply_ctx {
	const struct apply_req *rq;
	struct apply_report *rep;
	struct pin_dir *pd;
	/* the policy (none for boot) */
	struct policy p;
	struct diag d;
	struct flat_policy fp;
	struct cls_tables t;
	uint8_t digest[32];
	/* what runs now */
	bool loaded;
	bool reuse; /* share its state maps */
	struct rp_config old_cfg;
	bool have_old_cfg;
	char old[APPLY_MAX_IFACES][IF_NAMESIZE];
	int nold;
	struct rp_ifsel sel;	  /* which interfaces the policy covers */
	struct ifplan plan;	  /* ... the devices there are now, and what each gets */
	char cg_target[PATH_MAX]; /* where the socket hooks go ("" none) */
	bool netns;		  /* the namespace's SK_LOOKUP link is wanted */
	/* the new objects and their configuration */
	struct rampart_bpf *skel;
	struct sock_bpf *sock;
	struct boot_bpf *boot;
	struct rp_config cfg;
	/* every hook, in one transaction */
	struct hook_txn txn;
};

/* 1. the policy, entirely in user space (boot has none: the datapath in
 * mode boot never asks the classifier, which denies when unconfigured) */
static int compile_policy(struct apply_ctx *c)
{
	const char *file = c->rq->file;
	struct load_opts lo = { .resolve_hosts = true, .lookup_users = true };
	char err[ERRLEN];
	if (policy_load_file(&c->p, file, &lo, &c->d) || c->d.nerrors) {
		pr_err("%s: %d error%s; nothing was changed", file, c->d.nerrors, c->d.nerrors == 1 ? "" : "s");
		return -RP_EPOLICY;
	}
	if (flatten_policy(&c->p, &c->fp, &c->d) || c->d.nerrors) {
		pr_err("%s: cannot flatten the policy; nothing was changed", file);
		return -RP_EPOLICY;
	}
	if (cls_compile(&c->fp, (uint32_t)c->p.nrules, &c->t, err, sizeof(err))) {
		pr_err("%s: %s; nothing was changed", file, err);
		return -RP_EPOLICY;
	}
	cls_describe(&c->t, "  ", c->rep->classifier, sizeof(c->rep->classifier));
	sha256(c->p.srcs.v[0]->text, c->p.srcs.v[0]->len, c->digest);
	sha256_hex(c->digest, c->rep->sha256);
	c->rep->nrules = c->p.nrules;
	policy_unresolved_str(&c->p, c->rep->unresolved, sizeof(c->rep->unresolved));
	c->rep->ntables = c->p.ntables;
	return 0;
}

/* The configuration and layout version of the running policy. */
static void read_running_config(struct apply_ctx *c)
{
	__u32 zero = 0;
	struct rp_policy_info info;
	c->have_old_cfg = config_read_in_force(c->pd, &c->old_cfg) == 0;
	int fd = pins_open_map(c->pd, RP_NAME(RP_MAP_POLICY_INFO));
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &info) == 0 && info.abi_version != RP_ABI_VERSION) {
		pr_note("the running policy was loaded by another rampart version (map layout %u, this one %u): "
			"flows and counters start afresh",
			info.abi_version, RP_ABI_VERSION);
		c->reuse = false;
	}
	if (fd >= 0)
		close(fd);
}

/* 2. what runs now (read only): interfaces, socket hooks, configuration */
static int read_running(struct apply_ctx *c)
{
	const struct apply_req *rq = c->rq;
	struct apply_report *rep = c->rep;
	c->loaded = c->reuse = pins_loaded(c->pd);
	c->nold = pins_attached_ifaces(c->pd, c->old, APPLY_MAX_IFACES);
	int e = select_ifaces(rq, c->pd, c->loaded, c->old, c->nold, &c->sel);
	c->sel.ingress_hook = (uint32_t)c->p.opt.ingress_hook;
	if (!e)
		e = plan_ifaces(rq, &c->sel, &c->plan, rep);
	/* socket hooks: where (boot protection has none) */
	if (!e && !rq->boot)
		e = sockhooks_target(c->pd, rq->cgroup ? rep->cgroup : NULL, &c->p, c->cg_target, sizeof(c->cg_target));
	if (e)
		return e;
	snprintf(rep->cgroup, sizeof(rep->cgroup), "%s", c->cg_target);
	if (rep->nifaces == 0 && !rq->cgroup && !rq->boot) {
		pr_err("no interface to protect; name one with --iface IF");
		return -RP_EUSAGE;
	}
	if (c->loaded)
		read_running_config(c);
	/* decided under the lock: a `rampart shutdown` that ran since the
	 * caller looked stays in force */
	if (rq->unless_shutdown && c->have_old_cfg && c->old_cfg.mode == RP_MODE_LOCKDOWN) {
		pr_info("the mode is lockdown (rampart shutdown); not applying");
		return -ECANCELED;
	}
	/* the namespace's SK_LOOKUP link: boot without --iface attaches it, so
	 * does an apply that covers every interface (it judges arrivals on one
	 * not attached yet); an apply keeps a pinned one following the (maybe
	 * new) configuration */
	c->netns = rq->boot ? rq->nifnames == 0 : c->sel.all || boot_netns_hooked(c->pd);
	rep->replaced = c->loaded;
	rep->generation = c->have_old_cfg ? c->old_cfg.generation + 1 : 1;
	return 0;
}

/* 3. the new objects, loaded next to the running ones */
static int load_objects(struct apply_ctx *c)
{
	struct datapath_opts o = {
		.conntrack_size = (uint32_t)c->p.opt.conntrack_size,
		.nslots = policy_nslots(&c->p),
		.reuse = c->reuse ? c->pd : NULL,
		.generation = c->rep->generation,
		.napps = (uint32_t)c->p.napps,
		.ncgroups = (uint32_t)c->p.ncgroups,
	};
	int e = datapath_create(&c->skel, &o, c->rq->boot ? NULL : &c->t);
	/* the socket hooks share the new object's maps (judging, counters, log) */
	if (!e && c->cg_target[0])
		e = sockhooks_load(&c->sock, c->skel, &c->p);
	/* boot protection's object shares its configuration (the mode) */
	if (!e && (c->rq->boot || c->netns))
		e = boot_load(&c->boot, c->skel, c->pd);
	return e;
}

/* rp_ifsel: the selection with the policy's interface names and wan */
static int write_ifsel(struct apply_ctx *c)
{
	char wan[IF_NAMESIZE * 4] = "";
	__u32 zero = 0;
	if (!c->rq->boot)
		policy_wan_ifname(&c->p, wan, sizeof(wan));
	int e = ifsel_set_policy(&c->sel, &c->p, wan);
	if (e)
		return e;
	return bpf_map__update_elem(c->skel->maps.rp_ifsel, &zero, sizeof(zero), &c->sel, sizeof(c->sel), BPF_ANY);
}

/* rp_rules, rp_policy_info (with the generation), rp_ifsel, rp_ifaces */
static int write_policy_maps(struct apply_ctx *c)
{
	struct apply_report *rep = c->rep;
	char abspath[PATH_MAX] = "";
	struct rp_policy_info info;
	__u32 zero = 0;
	if (!c->rq->boot && !realpath(c->rq->file, abspath))
		snprintf(abspath, sizeof(abspath), "%s", c->rq->file);
	int e = datapath_write_rules(c->skel, &c->p);
	if (!e)
		e = datapath_write_policy_info(c->skel, &c->p, abspath, c->rq->boot ? NULL : c->digest);
	if (!e)
		e = bpf_map__lookup_elem(c->skel->maps.rp_policy_info, &zero, sizeof(zero), &info, sizeof(info), 0);
	info.generation = rep->generation;
	if (!e)
		e = bpf_map__update_elem(c->skel->maps.rp_policy_info, &zero, sizeof(zero), &info, sizeof(info),
					 BPF_ANY);
	if (!e)
		e = write_ifsel(c);
	if (!e)
		e = ifplan_write_entries(&c->plan, &c->sel, bpf_map__fd(c->skel->maps.rp_ifaces), false);
	return e ? pr_err_r(e, "cannot write the policy maps") : 0;
}

/* Gateway mode: the policy's `interface wan = IF`, when IF is attached. */
static void set_wan(struct apply_ctx *c)
{
	char wan[IF_NAMESIZE * 4] = "";
	struct apply_report *rep = c->rep;
	if (!policy_wan_ifname(&c->p, wan, sizeof(wan)))
		return;
	for (int i = 0; i < rep->nifaces; i++)
		if (!strcmp(rep->ifaces[i].name, wan)) {
			c->cfg.flags |= RP_CFG_F_HAVE_WAN;
			c->cfg.wan_ifindex = rep->ifaces[i].ifindex;
			snprintf(rep->wan, sizeof(rep->wan), "%s", wan);
		}
	if (!rep->wan[0])
		pr_note("the policy declares `interface wan = %s` but %s is not attached: host mode (attach it with "
			"--iface %s for gateway mode)",
			wan, wan, wan);
}

/* The configuration the new policy runs with. */
static void make_config(struct apply_ctx *c)
{
	const struct apply_req *rq = c->rq;
	struct rp_config *cfg = &c->cfg;
	datapath_config_from_policy(cfg, rq->boot ? NULL : &c->p);
	if (c->sel.all && !rq->boot)
		cfg->flags |= RP_CFG_F_JUDGE_UNATTACHED;
	cfg->generation = c->rep->generation;
	cfg->mode_changed_ns = lifecycle_now_boot_ns();
	cfg->mode_reason = rq->reason ? rq->reason : RP_REASON_APPLY;
	if (rq->boot) {
		cfg->mode = RP_MODE_BOOT;
		cfg->mode_reason = RP_REASON_BOOT;
		cfg->boot_fail_closed = rq->boot->fail_closed;
		if (rq->boot->timeout_s)
			cfg->boot_deadline_ns = now_mono_ns() + (uint64_t)rq->boot->timeout_s * 1000000000ull;
	}
	set_wan(c);
}

/* 4. fill every map of the new objects; the running programs do not see them */
static int fill_maps(struct apply_ctx *c)
{
	int e = write_policy_maps(c);
	if (!e && c->sock)
		e = sockhooks_fill(c->sock, c->skel, &c->p, &c->t, c->pd);
	if (e)
		return e;
	int old_ct = c->loaded ? pins_open_map(c->pd, RP_NAME(RP_MAP_CONNTRACK)) : -1;
	c->rep->state_reused = c->loaded && bpfmap_same(old_ct, bpf_map__fd(c->skel->maps.rp_conntrack));
	if (old_ct >= 0)
		close(old_ct);
	if (c->loaded && !c->rep->state_reused)
		copy_conntrack(c->pd, c->skel);
	make_config(c);
	return 0;
}

/* 5. pins of the new set, beside the current ones (nothing reads them yet) */
static int stage_pins(struct apply_ctx *c)
{
	char path[PINS_PATH_MAX];
	struct bpf_map *m;
	struct rampart_bpf *skel = c->skel;
	int e = pins_stage_begin(c->pd);
	if (e)
		return e;
	bpf_object__for_each_map(m, skel->obj) {
		if (strchr(bpf_map__name(m), '.'))
			continue; /* libbpf's internal .rodata/.bss */
		if ((e = pins_stage_map(c->pd, bpf_map__name(m), bpf_map__fd(m))))
			return e;
	}
	const struct bpf_program *progs[] = { skel->progs.rampart_xdp,		 skel->progs.rampart_tc_ingress,
					      skel->progs.rampart_tc_ingress_l3, skel->progs.rampart_tc_egress,
					      skel->progs.rampart_tc_egress_l3,	 skel->progs.rp_ask_answer };
	static const char *const names[] = { PINS_PROG_XDP,    PINS_PROG_TC_IN,	    PINS_PROG_TC_IN_L3,
					     PINS_PROG_TC_OUT, PINS_PROG_TC_OUT_L3, PINS_PROG_ASK_ANSWER };
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if ((e = pins_pin(bpf_program__fd(progs[i]), pins_prog(c->pd, names[i], true, path))))
			return e;
	if (c->sock && (e = sockhooks_pin(c->sock, skel, c->pd)))
		return e;
	/* the outgoing rule metadata: log events judged under it name its slots */
	pins_stage_previous_map(c->pd, RP_NAME(RP_MAP_RULES));
	pins_stage_previous_map(c->pd, RP_NAME(RP_MAP_POLICY_INFO));
	/* boot: the timer and the drops counter; an apply keeps the counter
	 * (the mode is decided now: the timer goes) */
	if (c->boot)
		return boot_stage_pins(c->boot, c->pd, c->rq->boot);
	pins_stage_carry_map(c->pd, RP_NAME(RP_MAP_BOOT_SK_DROPS));
	return 0;
}

/* 6. the configuration: the new generation's entry of rp_config, which
 * only the new programs read (include/rampart_maps.h, "generations"): the
 * running ones keep theirs, mode included, until their hook switches. */
static int write_config(struct apply_ctx *c)
{
	int e = datapath_write_config(c->skel, &c->cfg);
	return e ? pr_err_r(e, "cannot write the configuration") : 0;
}

/* Every hook of the new policy, in one transaction: each interface
 * (ingress and egress), the cgroup's socket hooks, the namespace's link. */
static int plan_hooks(struct apply_ctx *c)
{
	struct rampart_bpf *skel = c->skel;
	struct apply_report *rep = c->rep;
	int e = 0;
	for (int i = 0; !e && i < rep->nifaces; i++) {
		const struct apply_iface *f = &rep->ifaces[i];
		bool l3 = f->role.l3;
		struct ifhooks_progs progs = {
			.xdp = bpf_program__fd(skel->progs.rampart_xdp),
			.tc_in = bpf_program__fd(l3 ? skel->progs.rampart_tc_ingress_l3
						    : skel->progs.rampart_tc_ingress),
			.tc_out =
				bpf_program__fd(l3 ? skel->progs.rampart_tc_egress_l3 : skel->progs.rampart_tc_egress),
		};
		e = ifhooks_add(&c->txn, c->pd, f->ifindex, f->name, f->role.ingress, &progs);
	}
	if (!e && c->sock)
		e = sockhooks_add(&c->txn, c->sock, c->pd, c->cg_target);
	if (!e && c->netns)
		e = boot_netns_add(&c->txn, c->boot, c->pd);
	return e;
}

/* `rampart stop` or `shutdown` ran during this apply (they write the mode
 * at once, without waiting for the lock): the new programs take that mode
 * over, so an apply never lifts a mode set after it started. */
static void follow_mode(struct apply_ctx *c)
{
	struct rp_config now;
	/* rp_active still names the running generation */
	if (!c->have_old_cfg || c->rq->boot || config_read_in_force(c->pd, &now) ||
	    now.mode_changed_ns <= c->old_cfg.mode_changed_ns ||
	    (now.mode_reason != RP_REASON_STOP && now.mode_reason != RP_REASON_SHUTDOWN))
		return;
	c->cfg.mode = now.mode;
	c->cfg.mode_reason = now.mode_reason;
	c->cfg.mode_changed_ns = now.mode_changed_ns;
	if (!datapath_write_config(c->skel, &c->cfg))
		pr_note("`rampart %s` ran during this apply: the mode stays %s",
			now.mode_reason == RP_REASON_STOP ? "stop" : "shutdown",
			now.mode == RP_MODE_LOCKDOWN ? "lockdown" : "open");
}

/* The interface of an interface hook. */
static struct apply_iface *iface_of(struct apply_report *rep, const struct hook *h)
{
	for (int i = 0; i < rep->nifaces; i++)
		if (rep->ifaces[i].ifindex == h->ifindex)
			return &rep->ifaces[i];
	return NULL;
}

/* 7. the switch: one step per hook; on failure, back to the old programs
 * and the old configuration */
static int switch_all(struct apply_ctx *c)
{
	int e = plan_hooks(c);
	if (!e)
		e = txn_prepare(&c->txn);
	if (e)
		return e;
	for (int i = 0; i < c->txn.n; i++) {
		struct apply_iface *f = ifhooks_is(&c->txn.v[i]) ? iface_of(c->rep, &c->txn.v[i]) : NULL;
		if (f)
			f->added |= c->txn.v[i].fresh;
	}
	e = txn_switch(&c->txn);
	if (e) {
		pr_err("every interface and hook is back to the policy it had; nothing was changed");
		return e;
	}
	follow_mode(c);
	/* the flip: every hook judges with the new policy from now on (until
	 * here they forwarded to the old programs); user space and the timers
	 * follow the new generation */
	if ((e = datapath_switch_generation(c->skel))) {
		txn_rollback(&c->txn);
		pr_err("cannot write rp_active (%s): every interface and hook is back to the policy it had; nothing "
		       "was changed",
		       strerror(-e));
		return e;
	}
	c->txn.flipped = true;
	if ((e = datapath_sweeper_start(c->skel)))
		pr_warn("the conntrack sweeper could not be started (%s): expired flows are removed only when a "
			"packet finds them; run `rampart apply` again",
			strerror(-e));
	return 0;
}

/* 8. commit: drop interfaces no longer listed, publish the new pins, new
 * links take their names; boot: arm the timer */
static int commit(struct apply_ctx *c)
{
	struct apply_report *rep = c->rep;
	for (int i = 0; i < c->nold; i++) {
		bool keep = false;
		for (int j = 0; j < rep->nifaces; j++)
			keep |= !strcmp(c->old[i], rep->ifaces[j].name);
		if (!keep) {
			ifhooks_detach(c->pd, c->old[i]);
			snprintf(rep->detached[rep->ndetached++], IF_NAMESIZE, "%.15s", c->old[i]);
		}
	}
	/* before the pins are published: the old owners' map is still the
	 * pinned one */
	if (c->sock)
		sockhooks_commit(c->sock, c->skel, &c->p, &c->t, c->pd);
	int e = pins_stage_commit(c->pd);
	if (e)
		pr_warn("the new policy is in force but its pins could not be published (%s); run `rampart apply` "
			"again",
			strerror(-e));
	txn_commit(&c->txn);
	if (c->sock) {
		rep->nsock_hooks = SOCK_NHOOKS;
		rep->sock_fresh = sockhooks_fresh(&c->txn);
	}
	for (int i = 0; i < c->txn.n; i++) {
		const struct hook *h = &c->txn.v[i];
		struct apply_iface *f = ifhooks_is(h) ? iface_of(rep, h) : NULL;
		if (f && h->ingress)
			f->ingress = ifhooks_kind(h);
		else if (f)
			f->egress = ifhooks_kind(h);
	}
	rep->netns_hook = boot_netns_hooked(c->pd);
	return c->rq->boot ? boot_arm(c->boot) : 0;
}

static void apply_free(struct apply_ctx *c)
{
	txn_free(&c->txn);
	if (c->sock)
		sockhooks_destroy(c->sock);
	if (c->boot)
		boot_destroy(c->boot);
	ifplan_free(&c->plan);
	/* the pins hold what must stay: the object's own references can go */
	datapath_destroy(c->skel);
	cls_tables_free(&c->t);
	flat_policy_free(&c->fp);
	diag_free(&c->d);
	policy_free(&c->p);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int apply_policy(const struct apply_req *rq, struct apply_report *rep)
{
	struct timespec t0;
	struct apply_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(rep, 0, sizeof(*rep));
	c->rq = rq;
	c->rep = rep;
	c->pd = rq->pins;
	diag_init(&c->d, stderr, NULL);

	int e = pins_check_bpffs(c->pd);
	if (!e && rq->cgroup)
		e = cgroup_resolve(rq->cgroup, rep->cgroup, sizeof(rep->cgroup));
	if (!e && !rq->boot)
		e = compile_policy(c);
	if (!e)
		e = pins_lock(c->pd);
	if (!e && !(e = read_running(c)) && !(e = load_objects(c)) && !(e = fill_maps(c))) {
		e = stage_pins(c);
		if (!e)
			e = write_config(c);
		if (!e)
			e = switch_all(c);
		if (e)
			pins_stage_abort(c->pd);
		else
			e = commit(c);
	}
	pins_unlock(c->pd);
	apply_free(c);
	free(c);
	rep->seconds = seconds_since(&t0);
	return e;
}

/* ---------- unload ---------- */

int unload_pins(struct pin_dir *pd, FILE *out)
{
	int n = 0, e = pins_check_bpffs(pd);
	if (e || (e = pins_lock(pd)))
		return e;
	if (!pins_exists(pd)) {
		fprintf(out, "nothing loaded in %s\n", pd->path);
		goto out;
	}
	if (!pins_only_ours(pd, &n)) {
		pr_err("%s holds pins that rampart did not make; refusing to remove it (check --pin-dir)", pd->path);
		e = -EEXIST;
		goto out;
	}
	char names[APPLY_MAX_IFACES][IF_NAMESIZE];
	int nif = pins_attached_ifaces(pd, names, APPLY_MAX_IFACES);
	bool loaded = pins_loaded(pd);
	for (int i = 0; i < nif; i++)
		ifhooks_detach(pd, names[i]);
	if ((e = pins_remove_all(pd))) {
		pr_err_r(e, "cannot remove %s", pd->path);
		goto out;
	}
	if (!loaded && nif == 0) {
		fprintf(out, "nothing loaded in %s\n", pd->path);
		goto out;
	}
	fprintf(out, "unloaded %s", pd->path);
	if (nif)
		fprintf(out, "; detached from");
	for (int i = 0; i < nif; i++)
		fprintf(out, " %s", names[i]);
	fputc('\n', out);
out:
	pins_unlock(pd);
	return e;
}
