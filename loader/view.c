#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "bpfmap.h"
#include "datapath.h"
#include "log.h"
#include "pins.h"
#include "view.h"

const char *mode_name(uint32_t mode)
{
	static const char *const names[RP_MODE_COUNT] = {
		[RP_MODE_ENFORCING] = "enforcing",
		[RP_MODE_OPEN] = "open",
		[RP_MODE_LOCKDOWN] = "lockdown",
		[RP_MODE_BOOT] = "boot",
	};
	return mode < RP_MODE_COUNT ? names[mode] : "unknown";
}

/* Says what to do about a pinned map that cannot be used; returns -err. */
static int system_error(const struct view *v, const char *what, const char *map, int err)
{
	char path[PINS_PATH_MAX];
	pins_map(v->pd, map, false, path);
	if (err == EPERM || err == EACCES)
		pr_err("cannot %s %s: %s; run as root (reading pinned BPF maps needs CAP_BPF or CAP_SYS_ADMIN)", what,
		       path, strerror(err));
	else
		pr_err("cannot %s %s: %s; the pins may come from another rampart version: run `rampart apply` again",
		       what, path, strerror(err));
	return -err;
}

/* Opens DIR/maps/NAME and checks its layout against this binary's. */
static int open_map(struct view *v, const char *name, uint32_t key_size, uint32_t value_size, int *fd)
{
	int f = pins_open_map(v->pd, name);
	struct bpf_map_info info;
	if (f < 0)
		return system_error(v, "open", name, -f);
	int e = bpfmap_info(f, &info);
	if (e) {
		close(f);
		return system_error(v, "inspect", name, -e);
	}
	if (info.key_size != key_size || info.value_size != value_size) {
		char path[PINS_PATH_MAX];
		close(f);
		pr_err("%s has key/value sizes %u/%u, this rampart expects %u/%u; it was pinned by another rampart "
		       "version: run `rampart apply` again",
		       pins_map(v->pd, name, false, path), info.key_size, info.value_size, key_size, value_size);
		return -EINVAL;
	}
	*fd = f;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Every slot of a rp_rules map into *meta (malloc'ed, *nslots entries). */
static int read_meta(int rules_fd, struct rp_rule_meta **meta, uint32_t *nslots)
{
	struct bpf_map_info mi = {};
	uint32_t len = sizeof(mi);
	if (bpf_obj_get_info_by_fd(rules_fd, &mi, &len) != 0)
		return -errno;
	free(*meta);
	*nslots = mi.max_entries;
	*meta = calloc(*nslots ? *nslots : 1, sizeof(**meta));
	if (!*meta)
		return -ENOMEM;
	for (uint32_t s = 0; s < *nslots; s++)
		if (bpf_map_lookup_elem(rules_fd, &s, &(*meta)[s]) != 0)
			(*meta)[s].valid = 0;
	return 0;
}

/* The rule metadata of the generation before (pins.h, prev-NAME), when
 * it is pinned with this binary's layout; none otherwise. */
static void read_previous(struct view *v)
{
	uint32_t zero = 0;
	struct bpf_map_info ri, ii;
	struct rp_policy_info info;
	int rules = pins_open_previous_map(v->pd, RP_NAME(RP_MAP_RULES));
	int infofd = pins_open_previous_map(v->pd, RP_NAME(RP_MAP_POLICY_INFO));
	v->have_prev = rules >= 0 && infofd >= 0 && !bpfmap_info(rules, &ri) && !bpfmap_info(infofd, &ii) &&
		       ri.value_size == sizeof(struct rp_rule_meta) && ii.value_size == sizeof(info) &&
		       bpf_map_lookup_elem(infofd, &zero, &info) == 0 && info.abi_version == RP_ABI_VERSION &&
		       read_meta(rules, &v->prev_meta, &v->prev_nslots) == 0;
	v->prev_gen = v->have_prev ? info.generation : 0;
	if (rules >= 0)
		close(rules);
	if (infofd >= 0)
		close(infofd);
}

static int read_rules(struct view *v)
{
	uint32_t zero = 0;
	v->have_info = bpf_map_lookup_elem(v->info_fd, &zero, &v->info) == 0 && v->info.abi_version != 0;
	int e = read_meta(v->rules_fd, &v->meta, &v->nslots);
	if (!e)
		read_previous(v);
	return e;
}

/* The rule metadata, its statistics and the policy information. */
static int open_rules(struct view *v)
{
	int rc = open_map(v, RP_NAME(RP_MAP_POLICY_INFO), 4, sizeof(struct rp_policy_info), &v->info_fd);
	if (!rc)
		rc = open_map(v, RP_NAME(RP_MAP_RULES), 4, sizeof(struct rp_rule_meta), &v->rules_fd);
	if (!rc)
		rc = open_map(v, RP_NAME(RP_MAP_RULE_STATS), 4, sizeof(struct rp_rule_stats), &v->stats_fd);
	if (rc)
		return rc;
	int e = read_rules(v);
	if (e)
		return system_error(v, "read", RP_NAME(RP_MAP_RULES), -e);
	if (v->have_info && v->info.abi_version != RP_ABI_VERSION) {
		pr_err("the policy in %s was loaded by a rampart with map layout version %u (this one: %u); run "
		       "`rampart apply` again",
		       v->pd->path, v->info.abi_version, RP_ABI_VERSION);
		return -EINVAL;
	}
	return 0;
}

int view_open(struct view *v, const struct pin_dir *pd, unsigned need, bool quiet_unloaded)
{
	char path[PINS_PATH_MAX];
	struct stat st;
	memset(v, 0, sizeof(*v));
	v->pd = pd;
	v->config_fd = v->info_fd = v->rules_fd = v->stats_fd = v->counters_fd = v->conntrack_fd = v->ct_new_fd =
		v->log_fd = -1;
	pins_settle(pd); /* an apply killed after its switch: its pins */
	if (stat(pins_map(pd, RP_NAME(RP_MAP_CONFIG), false, path), &st) != 0) {
		int e = errno;
		if (e != ENOENT && e != ENOTDIR)
			return system_error(v, "read", RP_NAME(RP_MAP_CONFIG), e);
		if (!quiet_unloaded)
			pr_err("nothing loaded in %s; run `rampart apply` (or pass the --pin-dir it was applied with)",
			       pd->path);
		return -ENOENT;
	}
	int rc = open_map(v, RP_NAME(RP_MAP_CONFIG), 4, sizeof(struct rp_config), &v->config_fd);
	__u32 slot = (__u32)config_slot_in_force(pd);
	if (!rc && bpf_map_lookup_elem(v->config_fd, &slot, &v->cfg) != 0)
		rc = system_error(v, "read", RP_NAME(RP_MAP_CONFIG), errno);
	if (!rc && (need & VIEW_RULES))
		rc = open_rules(v);
	if (!rc && (need & VIEW_COUNTERS))
		rc = open_map(v, RP_NAME(RP_MAP_COUNTERS), 4, sizeof(uint64_t), &v->counters_fd);
	if (!rc && (need & VIEW_CONNTRACK))
		rc = open_map(v, RP_NAME(RP_MAP_CONNTRACK), sizeof(struct ct_key), sizeof(struct ct_value),
			      &v->conntrack_fd);
	if (!rc && (need & VIEW_CONNTRACK))
		rc = open_map(v, RP_NAME(RP_MAP_CT_NEW), sizeof(struct ct_key), sizeof(struct ct_value), &v->ct_new_fd);
	/* a ring buffer has no key or value */
	if (!rc && (need & VIEW_LOG))
		rc = open_map(v, RP_NAME(RP_MAP_LOG), 0, 0, &v->log_fd);
	if (rc)
		view_close(v);
	return rc;
}

int view_reload_rules(struct view *v)
{
	int rules = pins_open_map(v->pd, RP_NAME(RP_MAP_RULES));
	if (rules < 0)
		return rules;
	int info = pins_open_map(v->pd, RP_NAME(RP_MAP_POLICY_INFO));
	if (info < 0) {
		close(rules);
		return info;
	}
	close_fd(&v->rules_fd);
	close_fd(&v->info_fd);
	v->rules_fd = rules;
	v->info_fd = info;
	return read_rules(v);
}

void view_close(struct view *v)
{
	close_fd(&v->config_fd);
	close_fd(&v->info_fd);
	close_fd(&v->rules_fd);
	close_fd(&v->stats_fd);
	close_fd(&v->counters_fd);
	close_fd(&v->conntrack_fd);
	close_fd(&v->ct_new_fd);
	close_fd(&v->log_fd);
	free(v->meta);
	v->meta = NULL;
	free(v->prev_meta);
	v->prev_meta = NULL;
}

const struct rp_rule_meta *view_rule(const struct view *v, uint32_t slot)
{
	if (!v->meta || slot >= v->nslots || !v->meta[slot].valid)
		return NULL;
	return &v->meta[slot];
}

const struct rp_rule_meta *view_rule_of(const struct view *v, uint32_t gen, uint32_t slot, bool *earlier)
{
	*earlier = false;
	if (!v->have_info || gen == v->info.generation)
		return view_rule(v, slot);
	if (v->have_prev && gen == v->prev_gen)
		return slot < v->prev_nslots && v->prev_meta[slot].valid ? &v->prev_meta[slot] : NULL;
	*earlier = slot != RP_SLOT_NONE;
	return NULL;
}

const char *view_rule_where(const struct view *v, uint32_t slot, char *buf, size_t n)
{
	const struct rp_rule_meta *m = view_rule(v, slot);
	if (slot == RP_SLOT_NONE)
		snprintf(buf, n, "-");
	else if (m && m->rule_id == RP_RULE_HELPER)
		snprintf(buf, n, "ftp helper");
	else if (!m)
		snprintf(buf, n, "slot %u", slot);
	else if (m->rule_id == RP_SLOT_NONE)
		snprintf(buf, n, "default of %s", m->table);
	else
		snprintf(buf, n, "%s:%u", m->file, m->line);
	return buf;
}

/* ---------- beyond the maps: links, hooks, conntrack usage ---------- */

/* By interface, ingress (xdp, tc-ingress) before egress (tc-egress). */
static int cmp_attachment(const void *a, const void *b)
{
	const struct view_attachment *x = a, *y = b;
	int c = strcmp(x->ifname, y->ifname);
	return c ? c : strcmp(y->hook, x->hook);
}

/* tc through a clsact filter (kernels without tcx): the pin is the
 * program, a marker; ask tc whether our filter still runs it. */
static void query_clsact(struct view_attachment *a, const char *pin_path, bool ingress)
{
	uint32_t ifindex = if_nametoindex(a->ifname);
	int fd = bpf_obj_get(pin_path);
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	a->prog_id = info.id;
	a->ifindex = ifindex;
	if (!ifindex)
		return;
	a->alive = query_tc_clsact(ifindex, ingress) == info.id && if_indextoname(ifindex, a->now_name);
}

struct attachments {
	struct view_attachment *v;
	int n, cap;
};

/* One interface link pin (pins_each_iface_link), asked whether it still
 * holds its interface (a link whose device was deleted reports ifindex 0). */
static void read_attachment(void *arg, const char *pin, const char *hook, const char *ifname, const char *path)
{
	struct attachments *all = arg;
	if (all->n == all->cap) {
		int cap = all->cap ? all->cap * 2 : 8;
		struct view_attachment *a = realloc(all->v, (size_t)cap * sizeof(*a));
		if (!a)
			return;
		all->v = a;
		all->cap = cap;
	}
	struct view_attachment *a = &all->v[all->n++];
	bool xdp = !strcmp(hook, PINS_HOOK_XDP);
	bool ingress = xdp || !strcmp(hook, PINS_HOOK_TCI) || !strcmp(hook, PINS_HOOK_TCFI);
	memset(a, 0, sizeof(*a));
	snprintf(a->pin, sizeof(a->pin), "%s", pin);
	snprintf(a->hook, sizeof(a->hook), "%s", xdp ? "xdp" : ingress ? "tc-ingress" : "tc-egress");
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	if (!strcmp(hook, PINS_HOOK_TCF) || !strcmp(hook, PINS_HOOK_TCFI)) {
		a->kind = "clsact filter";
		a->detail = "clsact";
		query_clsact(a, path, ingress);
		return;
	}
	a->kind = "link";
	a->detail = xdp ? NULL : "tcx";
	int fd = bpf_obj_get(path);
	bool is_link = false;
	if (fd >= 0) {
		is_link = link_target(fd, &a->ifindex, &a->prog_id) == 0;
		close(fd);
	}
	a->alive = is_link && a->ifindex != 0 && if_indextoname(a->ifindex, a->now_name);
	if (a->alive && xdp)
		a->xdp_mode = a->detail = xdp_mode_name(a->ifindex);
}

int view_attachments(const struct pin_dir *pd, struct view_attachment **out)
{
	struct attachments all = { NULL, 0, 0 };
	pins_each_iface_link(pd, read_attachment, &all);
	if (all.n > 1)
		qsort(all.v, (size_t)all.n, sizeof(*all.v), cmp_attachment);
	*out = all.v;
	return all.n;
}

/* Bounded, so a table that changes under the walk (deletions restart a
 * hash walk) still ends. */
uint64_t view_count_flows(int fd, uint32_t capacity)
{
	struct ct_key k, next;
	uint64_t n = 0;
	void *prev = NULL;
	while (n <= (uint64_t)capacity && bpf_map_get_next_key(fd, prev, &next) == 0) {
		n++;
		k = next;
		prev = &k;
	}
	return n > capacity ? capacity : n;
}

void view_conntrack_usage(const struct view *v, struct view_ct_usage *u)
{
	u->capacity = view_map_capacity(v->conntrack_fd);
	u->entries = view_count_flows(v->conntrack_fd, u->capacity);
	u->half_open_capacity = view_map_capacity(v->ct_new_fd);
	u->half_open = view_count_flows(v->ct_new_fd, u->half_open_capacity);
}

uint32_t view_map_capacity(int fd)
{
	struct bpf_map_info info;
	return bpfmap_info(fd, &info) == 0 ? info.max_entries : 0;
}

uint32_t view_netns_hook(const struct pin_dir *pd, uint64_t *drops)
{
	char path[PINS_PATH_MAX];
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	*drops = 0;
	int fd = bpf_obj_get(pins_netns_link(pd, path));
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.prog_id : 0;
	close(fd);
	fd = pins_open_map(pd, RP_NAME(RP_MAP_BOOT_SK_DROPS));
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[1024];
	__u32 zero = 0;
	if (fd >= 0 && ncpu > 0 && ncpu <= 1024 && bpf_map_lookup_elem(fd, &zero, v) == 0)
		for (int i = 0; i < ncpu; i++)
			*drops += v[i];
	if (fd >= 0)
		close(fd);
	return id;
}

bool view_have_policy(const struct view *v)
{
	return v->have_info && (v->info.nrules || v->info.path[0]);
}
