/* Which interfaces the loaded policy covers, and what each gets (ifplan.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bpfmap.h"
#include "ifhooks.h"
#include "ifplan.h"
#include "rampart_names.h"

/* ---------- the selection ---------- */

bool ifsel_is_pattern(const char *name)
{
	return strpbrk(name, "*?[") != NULL;
}

bool ifsel_covers(const struct rp_ifsel *sel, const char *name)
{
	if (sel->all)
		return strcmp(name, "lo") != 0; /* the host talking to itself */
	for (uint32_t i = 0; i < sel->npatterns && i < RP_IFSEL_MAX; i++)
		if (fnmatch(sel->patterns[i], name, 0) == 0)
			return true;
	return false;
}

static int copy_name(char dst[RP_IFNAME_LEN], const char *src)
{
	if (strlen(src) >= RP_IFNAME_LEN)
		return -ENAMETOOLONG;
	memset(dst, 0, RP_IFNAME_LEN);
	memcpy(dst, src, strlen(src));
	return 0;
}

int ifsel_add_pattern(struct rp_ifsel *sel, const char *pattern)
{
	for (uint32_t i = 0; i < sel->npatterns; i++)
		if (!strcmp(sel->patterns[i], pattern))
			return 0;
	if (sel->npatterns >= RP_IFSEL_MAX)
		return -E2BIG;
	int e = copy_name(sel->patterns[sel->npatterns], pattern);
	if (!e)
		sel->npatterns++;
	return e;
}

int ifsel_set_policy(struct rp_ifsel *sel, const struct policy *p, const char *wan)
{
	if (p->nifaces > RP_IFSEL_MAX)
		return -E2BIG;
	sel->nnames = 0;
	for (int i = 0; i < p->nifaces; i++) {
		int e = copy_name(sel->names[i], p->ifaces[i]);
		if (e)
			return e;
		sel->nnames++;
	}
	sel->ingress_hook = (uint32_t)p->opt.ingress_hook;
	return copy_name(sel->wan, wan ? wan : "");
}

uint32_t ifsel_iface_id(const struct rp_ifsel *sel, const char *name)
{
	char *names[RP_IFSEL_MAX];
	uint32_t n = sel->nnames < RP_IFSEL_MAX ? sel->nnames : RP_IFSEL_MAX;
	for (uint32_t i = 0; i < n; i++)
		names[i] = (char *)sel->names[i];
	return iface_id_among(names, (int)n, name);
}

int ifsel_read(const struct pin_dir *pd, struct rp_ifsel *sel)
{
	__u32 zero = 0;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_IFSEL));
	if (fd < 0)
		return fd;
	int e = bpfmap_layout_is(fd, sizeof(zero), sizeof(*sel)) && bpf_map_lookup_elem(fd, &zero, sel) == 0 ? 0
													     : -ENOENT;
	close(fd);
	/* boot protection pins an empty one: nothing was asked */
	return e || (!sel->all && !sel->npatterns) ? -ENOENT : 0;
}

/* ---------- the plan ---------- */

int ifplan_build(struct ifplan *pl, const struct rp_ifsel *sel)
{
	memset(pl, 0, sizeof(*pl));
	int e = netdev_list(&pl->devs, &pl->n);
	if (e)
		return e;
	size_t m = (size_t)(pl->n ? pl->n : 1);
	pl->covered = calloc(m, sizeof(*pl->covered));
	pl->roles = calloc(m, sizeof(*pl->roles));
	if (!pl->covered || !pl->roles) {
		ifplan_free(pl);
		return -ENOMEM;
	}
	for (int i = 0; i < pl->n; i++)
		pl->covered[i] = ifsel_covers(sel, pl->devs[i].name);
	/* roles depend on which bridges are protected: all covered first */
	for (int i = 0; i < pl->n; i++)
		if (pl->covered[i])
			netdev_role(&pl->devs[i], pl->devs, pl->n, pl->covered, (int)sel->ingress_hook, &pl->roles[i]);
	return 0;
}

void ifplan_free(struct ifplan *pl)
{
	free(pl->devs);
	free(pl->covered);
	free(pl->roles);
	memset(pl, 0, sizeof(*pl));
}

bool ifplan_protects(const struct ifplan *pl, int i)
{
	return pl->covered[i] && !pl->roles[i].refused[0];
}

static uint32_t sel_policy_id(const char *name, void *arg)
{
	return ifsel_iface_id(arg, name);
}

static bool entry_listed(const struct rp_iface_key *k, const struct netdev_entry *ent, int n)
{
	for (int i = 0; i < n; i++)
		if (ent[i].ifindex == k->ifindex && ent[i].vid == k->vid)
			return true;
	return false;
}

/* Entries of devices the plan no longer protects (gone, or out of the
 * selection) leave the map. */
static int prune_entries(int fd, const struct netdev_entry *ent, int n)
{
	struct rp_iface_key *keys;
	struct rp_iface *vals;
	int k = bpfmap_read_all(fd, sizeof(*keys), sizeof(*vals), 65536, (void **)&keys, (void **)&vals);
	if (k < 0)
		return k;
	for (int i = 0; i < k; i++)
		if (!entry_listed(&keys[i], ent, n))
			bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	free(vals);
	return 0;
}

int ifplan_write_entries(const struct ifplan *pl, const struct rp_ifsel *sel, int ifaces_fd, bool prune)
{
	int max = 2 * pl->n + 1, e = 0;
	struct netdev_entry *ent = calloc((size_t)max, sizeof(*ent));
	bool *protect = calloc((size_t)(pl->n ? pl->n : 1), sizeof(bool));
	if (!ent || !protect) {
		e = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < pl->n; i++)
		protect[i] = ifplan_protects(pl, i);
	int k = netdev_entries(pl->devs, pl->n, protect, pl->roles, sel_policy_id, (void *)sel, ent, max);
	for (int i = 0; !e && i < k; i++) {
		struct rp_iface_key key = { .ifindex = ent[i].ifindex, .vid = ent[i].vid };
		struct rp_iface v = { .id = ent[i].id,
				      .ifindex = ent[i].logical_ifindex,
				      .flags = (ent[i].judges ? RP_IFF_JUDGES : 0) |
					       (ent[i].elsewhere ? RP_IFF_ELSEWHERE : 0) };
		if (bpf_map_update_elem(ifaces_fd, &key, &v, BPF_ANY))
			e = -errno;
	}
	if (!e && prune)
		e = prune_entries(ifaces_fd, ent, k);
out:
	free(ent);
	free(protect);
	return e;
}

int ifplan_gaps(const struct pin_dir *pd, const struct rp_ifsel *sel, struct ifplan_gap *gaps, int max)
{
	struct ifplan pl;
	int e = ifplan_build(&pl, sel), k = 0;
	if (e)
		return e;
	for (int i = 0; i < pl.n && k < max; i++) {
		const struct netdev *d = &pl.devs[i];
		if (!pl.covered[i])
			continue;
		const char *why = pl.roles[i].refused;
		if (!why[0] && !ifhooks_in_place(pd, d->ifindex, d->name, pl.roles[i].ingress))
			why = sel->all ? "not attached yet: it appeared after apply; `rampart daemon` attaches it, "
					 "meanwhile the namespace's SK_LOOKUP hook judges connections to local sockets"
				       : "not attached yet: it appeared after apply; `rampart daemon` attaches it";
		if (!why[0])
			continue;
		snprintf(gaps[k].name, sizeof(gaps[k].name), "%s", d->name);
		snprintf(gaps[k].reason, sizeof(gaps[k].reason), "%s", why);
		k++;
	}
	ifplan_free(&pl);
	return k;
}
