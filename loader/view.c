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
#include "boot.h"
#include "cli.h"
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

static int system_error(const struct view *v, const char *what, const char *map, int err)
{
	char path[4096];
	pins_path(path, sizeof(path), v->dir, "maps", map);
	if (err == EPERM || err == EACCES)
		fprintf(stderr, "rampart %s: cannot %s %s: %s; run as root (reading pinned BPF maps needs "
				"CAP_BPF or CAP_SYS_ADMIN)\n", v->cmd, what, path, strerror(err));
	else
		fprintf(stderr, "rampart %s: cannot %s %s: %s; the pins may come from another rampart "
				"version: run `rampart apply` again\n", v->cmd, what, path, strerror(err));
	return EXIT_SYSTEM;
}

/* Opens DIR/maps/NAME and checks its layout against this binary's. */
static int open_map(struct view *v, const char *name, uint32_t key_size, uint32_t value_size, int *fd)
{
	int f = pins_open_map(v->dir, name);
	if (f < 0)
		return system_error(v, "open", name, -f);
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(f, &info, &len) != 0) {
		int e = errno;
		close(f);
		return system_error(v, "inspect", name, e);
	}
	if (info.key_size != key_size || info.value_size != value_size) {
		close(f);
		char path[4096];
		pins_path(path, sizeof(path), v->dir, "maps", name);
		fprintf(stderr, "rampart %s: %s has key/value sizes %u/%u, this rampart expects %u/%u; "
				"it was pinned by another rampart version: run `rampart apply` again\n",
			v->cmd, path, info.key_size, info.value_size, key_size, value_size);
		return EXIT_SYSTEM;
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

static int read_rules(struct view *v)
{
	uint32_t zero = 0;
	struct bpf_map_info mi = {};
	uint32_t len = sizeof(mi);
	v->have_info = bpf_map_lookup_elem(v->info_fd, &zero, &v->info) == 0 &&
		       v->info.abi_version != 0;
	if (bpf_obj_get_info_by_fd(v->rules_fd, &mi, &len) != 0)
		return -errno;
	free(v->meta);
	v->nslots = mi.max_entries;
	v->meta = calloc(v->nslots ? v->nslots : 1, sizeof(*v->meta));
	if (!v->meta)
		return -ENOMEM;
	for (uint32_t s = 0; s < v->nslots; s++)
		if (bpf_map_lookup_elem(v->rules_fd, &s, &v->meta[s]) != 0)
			v->meta[s].valid = 0;
	return 0;
}

int view_open(struct view *v, const char *dir, const char *cmd, unsigned need, bool quiet_unloaded)
{
	memset(v, 0, sizeof(*v));
	v->dir = dir;
	v->cmd = cmd;
	v->config_fd = v->info_fd = v->rules_fd = v->stats_fd = v->counters_fd = v->conntrack_fd = v->ct_new_fd = v->log_fd = -1;

	char path[4096];
	struct stat st;
	pins_path(path, sizeof(path), dir, "maps", "rp_config");
	if (stat(path, &st) != 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			if (!quiet_unloaded)
				fprintf(stderr, "rampart %s: nothing loaded in %s; run `rampart apply` "
						"(or pass the --pin-dir it was applied with)\n", cmd, dir);
			return VIEW_UNLOADED;
		}
		return system_error(v, "read", "rp_config", e);
	}
	int rc = open_map(v, "rp_config", 4, sizeof(struct rp_config), &v->config_fd);
	if (rc)
		goto fail;
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(v->config_fd, &zero, &v->cfg) != 0) {
		rc = system_error(v, "read", "rp_config", errno);
		goto fail;
	}
	if (need & VIEW_RULES) {
		rc = open_map(v, "rp_policy_info", 4, sizeof(struct rp_policy_info), &v->info_fd);
		if (!rc)
			rc = open_map(v, "rp_rules", 4, sizeof(struct rp_rule_meta), &v->rules_fd);
		if (!rc)
			rc = open_map(v, "rp_rule_stats", 4, sizeof(struct rp_rule_stats), &v->stats_fd);
		if (rc)
			goto fail;
		int e = read_rules(v);
		if (e) {
			rc = system_error(v, "read", "rp_rules", -e);
			goto fail;
		}
		if (v->have_info && v->info.abi_version != RP_ABI_VERSION) {
			fprintf(stderr, "rampart %s: the policy in %s was loaded by a rampart with map layout "
					"version %u (this one: %u); run `rampart apply` again\n",
				cmd, dir, v->info.abi_version, RP_ABI_VERSION);
			rc = EXIT_SYSTEM;
			goto fail;
		}
	}
	if (need & VIEW_COUNTERS) {
		rc = open_map(v, "rp_counters", 4, sizeof(uint64_t), &v->counters_fd);
		if (rc)
			goto fail;
	}
	if (need & VIEW_CONNTRACK) {
		rc = open_map(v, "rp_conntrack", sizeof(struct ct_key), sizeof(struct ct_value), &v->conntrack_fd);
		if (!rc)
			rc = open_map(v, "rp_ct_new", sizeof(struct ct_key), sizeof(struct ct_value), &v->ct_new_fd);
		if (rc)
			goto fail;
	}
	if (need & VIEW_LOG) {
		/* a ring buffer has no key or value */
		rc = open_map(v, "rp_log", 0, 0, &v->log_fd);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	view_close(v);
	return rc;
}

int view_reload_rules(struct view *v)
{
	int rules = pins_open_map(v->dir, "rp_rules");
	if (rules < 0)
		return rules;
	int info = pins_open_map(v->dir, "rp_policy_info");
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
}

const struct rp_rule_meta *view_rule(const struct view *v, uint32_t slot)
{
	if (!v->meta || slot >= v->nslots || !v->meta[slot].valid)
		return NULL;
	return &v->meta[slot];
}

const char *view_rule_where(const struct view *v, uint32_t slot, char *buf, size_t n)
{
	const struct rp_rule_meta *m = view_rule(v, slot);
	if (slot == RP_SLOT_NONE)
		snprintf(buf, n, "-");
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

/* The attachments pinned under DIR/links (see pins.h), each asked whether
 * it still holds its interface (a link whose device was deleted reports
 * ifindex 0). */
int view_attachments(const char *dir, struct view_attachment **out)
{
	char path[4096];
	pins_path(path, sizeof(path), dir, "links", NULL);
	DIR *d = opendir(path);
	*out = NULL;
	if (!d)
		return 0;
	int n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char hook[32], ifname[IF_NAMESIZE + 1];
		if (de->d_name[0] == '.' ||
		    !pins_parse_link_name(de->d_name, hook, sizeof(hook), ifname, sizeof(ifname)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct view_attachment *a = realloc(*out, (size_t)cap * sizeof(**out));
			if (!a)
				break;
			*out = a;
		}
		struct view_attachment *a = &(*out)[n++];
		memset(a, 0, sizeof(*a));
		snprintf(a->pin, sizeof(a->pin), "%s", de->d_name);
		/* xdp, tci, tcfi: ingress; tc, tcf: egress (pins.h) */
		bool ingress = !strcmp(hook, "xdp") || !strcmp(hook, "tci") || !strcmp(hook, "tcfi");
		snprintf(a->hook, sizeof(a->hook), "%s", !strcmp(hook, "xdp") ? "xdp" : ingress ? "tc-ingress" : "tc-egress");
		snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
		char lp[4096];
		pins_path(lp, sizeof(lp), dir, "links", de->d_name);
		if (!strncmp(hook, "tcf", 3)) {
			a->kind = "clsact filter";
			a->detail = "clsact";
			query_clsact(a, lp, ingress);
			continue;
		}
		a->kind = "link";
		a->detail = strcmp(hook, "xdp") ? "tcx" : NULL;
		int fd = bpf_obj_get(lp);
		bool is_link = false;
		if (fd >= 0) {
			is_link = link_target(fd, &a->ifindex, &a->prog_id) == 0;
			close(fd);
		}
		a->alive = is_link && a->ifindex != 0 && if_indextoname(a->ifindex, a->now_name);
		if (a->alive && !strcmp(a->hook, "xdp"))
			a->xdp_mode = a->detail = xdp_mode_name(a->ifindex);
	}
	closedir(d);
	if (n > 1)
		qsort(*out, (size_t)n, sizeof(**out), cmp_attachment);
	return n;
}

/* Entries of the conntrack table, bounded so a table that changes under
 * the walk (deletions restart a hash walk) still ends. */
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
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
}

/* The network namespace's SK_LOOKUP link of boot protection (boot.h):
 * its program id, 0 when there is none; drops: what it dropped. */
uint32_t view_netns_hook(const char *dir, uint64_t *drops)
{
	char path[4096];
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	*drops = 0;
	pins_path(path, sizeof(path), dir, "links", BOOT_LINK_PIN);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.prog_id : 0;
	close(fd);
	fd = pins_open_map(dir, "rp_boot_sk_drops");
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

/* A real policy, not just the boot set (which pins an empty one). */
bool view_have_policy(const struct view *v)
{
	return v->have_info && (v->info.nrules || v->info.path[0]);
}
