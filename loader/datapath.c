/* Open, size, load and configure the packet datapath (see datapath.h). */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfmap.h"
#include "datapath.h"
#include "log.h"
#include "pins.h"
#include "rampart_ask.h"
#include "rampart_sock.h"
#include "rampart.skel.h"

/* Maps whose contents are state rather than policy: a new apply reuses the
 * pinned ones so established flows, totals and unread log events survive. */
const char *const datapath_state_maps[] = {
	RP_NAME(RP_MAP_CONNTRACK),
	RP_NAME(RP_MAP_CT_NEW),
	RP_NAME(RP_MAP_SWEEPER),
	RP_NAME(RP_MAP_LOG),
	RP_NAME(RP_MAP_COUNTERS),
	RP_NAME(RP_MAP_FRAGS),
	RP_NAME(RP_MAP_CONFIG),
	RP_NAME(RP_MAP_ACTIVE), /* the generation in force */
	RP_NAME(RP_MAP_CT_GEN),
	/* what the caches passed and the conntrack has not folded in yet */
	RP_NAME(RP_MAP_FLOW_CACHE),
	RP_NAME(RP_MAP_SK_MARKS),	/* judgements made at the socket (bpf/sockid.h) */
	RP_NAME(RP_MAP_LISTEN_UNOWNED), /* ... and the sockets rp_listeners had no room for */
	/* the FTP helper (bpf/ftp.h) */
	RP_NAME(RP_MAP_FTP_EXPECT),
	RP_NAME(RP_MAP_FTP_LIVE),
	RP_NAME(RP_MAP_FTP_CTL),
	RP_NAME(RP_MAP_FTP_RELATED),
	/* learning mode (bpf/ask.h): open questions and held flows outlive an
	 * apply (the one an "always" answer makes, too) */
	RP_NAME(RP_MAP_ASK),
	RP_NAME(RP_MAP_ASK_HELD),
	RP_NAME(RP_MAP_ASK_RING),
	RP_NAME(RP_MAP_ASK_STATE),
	RP_NAME(RP_MAP_ASK_AGENT),
	RP_NAME(RP_MAP_SK_ASK),
	NULL,
};

/* The pinned state maps of a running instance, when their size and
 * layout are still the object's: shared rather than created. */
static int reuse_state(struct rampart_bpf *skel, const struct pin_dir *pd)
{
	for (int i = 0; datapath_state_maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, datapath_state_maps[i]);
		struct bpf_map_info info;
		int fd = pins_open_map(pd, datapath_state_maps[i]);
		if (fd < 0)
			continue; /* not pinned yet: a fresh map is created */
		int e = 0;
		/* a map of another size or layout cannot be shared: start fresh */
		if (m && bpfmap_info(fd, &info) == 0 && info.max_entries == bpf_map__max_entries(m) &&
		    info.value_size == bpf_map__value_size(m) && info.key_size == bpf_map__key_size(m))
			e = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (e)
			return pr_err_r(e, "cannot reuse the pinned map %s of %s", datapath_state_maps[i], pd->path);
	}
	return 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The cookie of our network namespace, as bpf_get_netns_cookie() gives it
 * to the socket hooks (0: unknown, and then no owner record matches:
 * inbound events are judged as of unknown owners). */
static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	if (fd >= 0)
		close(fd);
	return cookie;
}

static int open_sized(struct rampart_bpf **skelp, const struct datapath_opts *o)
{
	struct rampart_bpf *skel = rampart_bpf__open();
	if (!skel)
		return pr_err_r(-errno, "cannot open the datapath BPF object");
	uint32_t ct = o->conntrack_size ? o->conntrack_size : 65536;
	uint32_t slots = o->nslots + DATAPATH_HELPER_SLOTS;
	skel->rodata->rp_gen = o->generation;
	skel->rodata->rp_netns = netns_cookie(); /* bpf/sockid.h */
	int e = bpf_map__set_max_entries(skel->maps.rp_conntrack, ct);
	if (!e)
		e = bpf_map__set_max_entries(skel->maps.rp_ct_new, ct);
	skel->rodata->rp_ct_new_capacity = ct;
	if (!e)
		e = bpf_map__set_max_entries(skel->maps.rp_rule_stats, slots);
	if (!e)
		e = bpf_map__set_max_entries(skel->maps.rp_log_bucket, slots);
	if (!e)
		e = bpf_map__set_max_entries(skel->maps.rp_rules, slots);
	if (!e) /* the socket hooks' lookups, shared (bpf/sockid.h) */
		e = bpf_map__set_max_entries(skel->maps.rp_apps, o->napps + 1);
	if (!e)
		e = bpf_map__set_max_entries(skel->maps.rp_cgroups, o->ncgroups + 1 + RP_CGROUP_CACHE);
	if (e)
		pr_err_r(e, "cannot size the datapath maps");
	if (!e && o->reuse)
		e = reuse_state(skel, o->reuse);
	if (e) {
		rampart_bpf__destroy(skel);
		return e;
	}
	*skelp = skel;
	return 0;
}

int datapath_create(struct rampart_bpf **skelp, const struct datapath_opts *o, const struct cls_tables *t)
{
	struct rampart_bpf *skel = NULL;
	int e = open_sized(&skel, o);
	if (e)
		return e;
	struct cls_maps cm = datapath_cls_maps(skel);
	if (t && (e = cls_maps_size(&cm, t)))
		goto fail;
	if ((e = rampart_bpf__load(skel))) {
		pr_err("the kernel refused the datapath programs (%s); run with -v for the verifier log; rampart "
		       "needs Linux >= 6.1 with BTF",
		       strerror(-e));
		goto fail;
	}
	if (t && (e = cls_maps_write(&cm, t)))
		goto fail;
	*skelp = skel;
	return 0;
fail:
	rampart_bpf__destroy(skel);
	return e;
}

bool datapath_declares(struct rampart_bpf *dp, const struct bpf_map *m)
{
	return bpf_object__find_map_by_name(dp->obj, bpf_map__name(m)) != NULL;
}

int datapath_share_maps(struct rampart_bpf *dp, struct bpf_object *obj, const char *who)
{
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		struct bpf_map *dm = bpf_object__find_map_by_name(dp->obj, bpf_map__name(m));
		int e = 0;
		if (!dm)
			continue;
		if (bpf_map__type(m) != BPF_MAP_TYPE_SK_STORAGE && bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF)
			e = bpf_map__set_max_entries(m, bpf_map__max_entries(dm));
		if (!e)
			e = bpf_map__reuse_fd(m, bpf_map__fd(dm));
		if (e)
			return pr_err_r(e, "cannot share map %s with %s", bpf_map__name(m), who);
	}
	return 0;
}

void datapath_destroy(struct rampart_bpf *skel)
{
	rampart_bpf__destroy(skel);
}

struct cls_maps datapath_cls_maps(struct rampart_bpf *skel)
{
	return (struct cls_maps){ skel->maps.cls_config, skel->maps.cls_tab, skel->maps.cls_actions };
}

/* Can the policy answer anything with a reject?  Then segments of no flow
 * are judged too (a rejected port answers them as a closed one). */
static bool policy_can_reject(const struct policy *p)
{
	if (p->opt.ask_default == VERDICT_REJECT)
		return true;
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].verdict == VERDICT_REJECT)
			return true;
	for (int t = 0; t < p->ntables; t++)
		if (p->tables[t].dflt == VERDICT_REJECT)
			return true;
	return false;
}

_Static_assert(POLICY_FTP_PORT_RANGES == RP_FTP_PORT_RANGES, "ftp-ports: policy and datapath limits differ");

/* option ftp-helper on: the ports, the timeout and the helper's slot. */
static void config_ftp(struct rp_config *cfg, const struct policy *p)
{
	const struct options *opt = &p->opt;
	cfg->flags |= RP_CFG_F_FTP;
	cfg->ftp_nranges = (uint32_t)opt->ftp_nports;
	cfg->ftp_port_min = 0xffff;
	for (int i = 0; i < opt->ftp_nports && i < RP_FTP_PORT_RANGES; i++) {
		cfg->ftp_port_lo[i] = opt->ftp_ports[i].lo;
		cfg->ftp_port_hi[i] = opt->ftp_ports[i].hi;
		if (opt->ftp_ports[i].lo < cfg->ftp_port_min)
			cfg->ftp_port_min = opt->ftp_ports[i].lo;
		if (opt->ftp_ports[i].hi > cfg->ftp_port_max)
			cfg->ftp_port_max = opt->ftp_ports[i].hi;
	}
	cfg->ftp_timeout_ns = (uint64_t)opt->ftp_timeout * 1000000000ull;
	cfg->helper_slot = policy_nslots(p);
}

void datapath_config_from_policy(struct rp_config *cfg, const struct policy *p)
{
	const uint64_t s = 1000000000ull;
	const struct options *opt = p ? &p->opt : NULL;
	memset(cfg, 0, sizeof(*cfg));
	if (p && policy_can_reject(p))
		cfg->flags |= RP_CFG_F_REJECTS;
	if (!opt || opt->fast_path)
		cfg->flags |= RP_CFG_F_FAST_PATH;
	cfg->mode = RP_MODE_ENFORCING;
	cfg->ask_default = opt ? opt->ask_default : VERDICT_DENY;
	cfg->ask_timeout_s = opt ? (uint32_t)opt->ask_timeout : RP_ASK_TIMEOUT_DEFAULT_S;
	cfg->log_rate = opt ? (uint32_t)opt->log_rate : 10;
	cfg->reject_rate = opt ? (uint32_t)opt->reject_rate : 1000;
	cfg->timeout_ns[CT_TCP_SYN_SENT] = RP_TO_SYN_SENT * s;
	cfg->timeout_ns[CT_TCP_SYN_RECV] = RP_TO_SYN_RECV * s;
	cfg->timeout_ns[CT_TCP_ESTABLISHED] = (uint64_t)(opt ? opt->tcp_timeout : 3600) * s;
	cfg->timeout_ns[CT_TCP_FIN_WAIT] = RP_TO_FIN_WAIT * s;
	cfg->timeout_ns[CT_TCP_CLOSING] = RP_TO_CLOSING * s;
	cfg->timeout_ns[CT_TCP_TIME_WAIT] = RP_TO_TIME_WAIT * s;
	cfg->timeout_ns[CT_TCP_CLOSED] = RP_TO_CLOSED * s;
	cfg->timeout_ns[CT_UDP] = (uint64_t)(opt ? opt->udp_timeout : 60) * s;
	cfg->timeout_ns[CT_ICMP] = (uint64_t)(opt ? opt->icmp_timeout : 30) * s;
	cfg->sweep_interval_ns = 5 * s;
	if (opt && opt->ftp_helper)
		config_ftp(cfg, p);
}

int datapath_write_config(struct rampart_bpf *skel, const struct rp_config *cfg)
{
	__u32 k = RP_CONFIG_SLOT(skel->rodata->rp_gen);
	int e = bpf_map__update_elem(skel->maps.rp_config, &k, sizeof(k), cfg, sizeof(*cfg), BPF_ANY);
	/* cached flows were checked against the old timeouts */
	return e ? e : datapath_flow_cache_invalidate(bpf_map__fd(skel->maps.rp_ct_gen));
}

int datapath_read_config(struct rampart_bpf *skel, struct rp_config *cfg)
{
	__u32 k = RP_CONFIG_SLOT(skel->rodata->rp_gen);
	return bpf_map__lookup_elem(skel->maps.rp_config, &k, sizeof(k), cfg, sizeof(*cfg), 0);
}

int datapath_switch_generation(struct rampart_bpf *skel)
{
	__u32 zero = 0;
	struct rp_active a = { .gen = skel->rodata->rp_gen };
	return bpf_map__update_elem(skel->maps.rp_active, &zero, sizeof(zero), &a, sizeof(a), BPF_ANY);
}

int config_slot_in_force(const struct pin_dir *pd)
{
	__u32 zero = 0;
	struct rp_active a = { 0 };
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_ACTIVE));
	if (fd < 0)
		return 0; /* a rampart from before generations: one entry */
	if (bpf_map_lookup_elem(fd, &zero, &a))
		a.gen = 0;
	close(fd);
	return (int)RP_CONFIG_SLOT(a.gen);
}

int config_read_in_force(const struct pin_dir *pd, struct rp_config *cfg)
{
	__u32 k = (__u32)config_slot_in_force(pd);
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CONFIG));
	if (fd < 0)
		return fd;
	int e = bpf_map_lookup_elem(fd, &k, cfg) ? -errno : 0;
	close(fd);
	return e;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* "21" or "{ 21, 2121-2122 }" */
static void fmt_ftp_ports(char *buf, size_t n, const struct options *opt)
{
	size_t o = (size_t)snprintf(buf, n, "%s", opt->ftp_nports > 1 ? "{ " : "");
	for (int i = 0; i < opt->ftp_nports && o < n; i++) {
		const struct port_range *r = &opt->ftp_ports[i];
		if (r->lo == r->hi)
			o += (size_t)snprintf(buf + o, n - o, "%s%u", i ? ", " : "", r->lo);
		else
			o += (size_t)snprintf(buf + o, n - o, "%s%u-%u", i ? ", " : "", r->lo, r->hi);
	}
	if (opt->ftp_nports > 1 && o < n)
		snprintf(buf + o, n - o, " }");
}

/* The helper's slot: what `rampart rules` and `log` show for it. */
static int write_helper_rule(struct rampart_bpf *skel, const struct policy *p)
{
	struct rp_rule_meta m;
	char ports[128];
	uint32_t slot = policy_nslots(p);
	memset(&m, 0, sizeof(m));
	if (p->opt.ftp_helper) {
		m.valid = 1;
		fmt_ftp_ports(ports, sizeof(ports), &p->opt);
		snprintf(m.text, sizeof(m.text),
			 "ftp helper: data connections announced on FTP control connections (ftp-ports %s)", ports);
		m.verdict = VERDICT_ALLOW;
		m.table_idx = RP_SLOT_NONE;
		m.rule_id = RP_RULE_HELPER;
	}
	return bpf_map__update_elem(skel->maps.rp_rules, &slot, sizeof(slot), &m, sizeof(m), BPF_ANY);
}

int datapath_write_rules(struct rampart_bpf *skel, const struct policy *p)
{
	uint32_t n = policy_nslots(p);
	if (bpf_map__max_entries(skel->maps.rp_rules) < n + DATAPATH_HELPER_SLOTS)
		return -E2BIG;
	for (uint32_t slot = 0; slot < n; slot++) {
		struct rp_rule_meta m;
		memset(&m, 0, sizeof(m));
		m.valid = 1;
		if ((int)slot < p->nrules) {
			const struct rule *r = &p->rules[slot];
			copy_str(m.file, sizeof(m.file), r->loc.file);
			copy_str(m.table, sizeof(m.table), p->tables[r->table].name);
			copy_str(m.text, sizeof(m.text), r->text);
			m.line = (uint32_t)r->loc.line;
			m.verdict = r->verdict;
			m.table_idx = (uint32_t)r->table;
			m.rule_id = slot;
			m.log = r->log;
		} else {
			int t = (int)slot - p->nrules;
			const struct table *tb = &p->tables[t];
			static const char *const vname[] = { "allow", "deny", "reject", "ask", "continue", "jump" };
			copy_str(m.file, sizeof(m.file), tb->loc.file);
			copy_str(m.table, sizeof(m.table), tb->name);
			snprintf(m.text, sizeof(m.text), "default %s",
				 tb->dflt < VERDICT_COUNT ? vname[tb->dflt] : "?");
			m.line = 0;
			m.verdict = tb->dflt;
			m.table_idx = (uint32_t)t;
			m.rule_id = RP_SLOT_NONE;
		}
		int e = bpf_map__update_elem(skel->maps.rp_rules, &slot, sizeof(slot), &m, sizeof(m), BPF_ANY);
		if (e)
			return e;
	}
	return write_helper_rule(skel, p);
}

int datapath_write_policy_info(struct rampart_bpf *skel, const struct policy *p, const char *path,
			       const uint8_t sha256[32])
{
	struct rp_policy_info info;
	struct timespec ts;
	__u32 zero = 0;
	memset(&info, 0, sizeof(info));
	copy_str(info.path, sizeof(info.path), path);
	if (sha256)
		memcpy(info.sha256, sha256, 32);
	clock_gettime(CLOCK_REALTIME, &ts);
	info.load_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	info.nrules = (uint32_t)p->nrules;
	info.ntables = (uint32_t)p->ntables;
	info.nslots = policy_nslots(p);
	info.abi_version = RP_ABI_VERSION;
	policy_unresolved_str(p, info.unresolved, sizeof(info.unresolved));
	return bpf_map__update_elem(skel->maps.rp_policy_info, &zero, sizeof(zero), &info, sizeof(info), BPF_ANY);
}

int datapath_put_iface(struct rampart_bpf *skel, const struct rp_iface_key *key, const struct rp_iface *v)
{
	return bpf_map__update_elem(skel->maps.rp_ifaces, key, sizeof(*key), v, sizeof(*v), BPF_ANY);
}

int datapath_set_iface(struct rampart_bpf *skel, uint32_t ifindex, uint32_t id)
{
	struct rp_iface_key key = { .ifindex = ifindex };
	struct rp_iface v = { .id = id, .ifindex = ifindex, .flags = RP_IFF_JUDGES };
	return datapath_put_iface(skel, &key, &v);
}

int datapath_sweeper_start(struct rampart_bpf *skel)
{
	unsigned char frame[64] = { 0 }; /* test runs of tc programs need an Ethernet header */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_sweeper_start), &o))
		return -errno;
	return 0;
}

int datapath_counters(int fd, uint64_t out[RPC_COUNTER_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t c = 0; c < RPC_COUNTER_COUNT; c++) {
		out[c] = 0;
		if (bpf_map_lookup_elem(fd, &c, v) == 0)
			for (int i = 0; i < ncpu; i++)
				out[c] += v[i];
	}
	free(v);
	return 0;
}

int datapath_rule_stats(int fd, uint32_t slot, struct rp_rule_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	struct rp_rule_stats *v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	int e = bpf_map_lookup_elem(fd, &slot, v);
	if (e == 0)
		for (int i = 0; i < ncpu; i++) {
			out->packets += v[i].packets;
			out->bytes += v[i].bytes;
			out->logged += v[i].logged;
			out->log_dropped += v[i].log_dropped;
		}
	free(v);
	return e ? -errno : 0;
}

int datapath_flow_cache_invalidate(int gen_fd)
{
	__u32 keys[RP_CT_GEN_SLOTS], g[RP_CT_GEN_SLOTS];
	__u32 n = RP_CT_GEN_SLOTS, batch = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	/* read all, add one, write all: a counter the datapath bumps meanwhile
	 * may lose that bump, but it still moves, which is all that matters */
	if (bpf_map_lookup_batch(gen_fd, NULL, &batch, keys, g, &n, &o) && errno != ENOENT)
		return -errno;
	if (n != RP_CT_GEN_SLOTS)
		return -EINVAL;
	for (__u32 i = 0; i < n; i++)
		g[i]++;
	return bpf_map_update_batch(gen_fd, keys, g, &n, &o) ? -errno : 0;
}

const char *datapath_counter_name(enum rp_counter c)
{
	static const char *const names[RPC_COUNTER_COUNT] = {
		[RPC_PASS_FLOW] = "pass-flow",
		[RPC_PASS_RELATED] = "pass-related",
		[RPC_PASS_NONIP] = "pass-non-ip",
		[RPC_PASS_IMPLICIT_ND] = "pass-neighbour-discovery",
		[RPC_PASS_MODE_OPEN] = "pass-mode-open",
		[RPC_PASS_FRAG] = "pass-fragment",
		[RPC_NEW_ALLOW] = "new-allow",
		[RPC_NEW_DENY] = "new-deny",
		[RPC_NEW_REJECT] = "new-reject",
		[RPC_NEW_ASK] = "new-ask",
		[RPC_NEW_BOOT_OUT] = "new-boot-outbound",
		[RPC_DROP_TRUNC_L2] = "drop-truncated-l2",
		[RPC_DROP_VLAN_DEPTH] = "drop-vlan-depth",
		[RPC_DROP_TRUNC_L3] = "drop-truncated-l3",
		[RPC_DROP_BAD_VERSION] = "drop-bad-ip-version",
		[RPC_DROP_BAD_IHL] = "drop-bad-ihl",
		[RPC_DROP_BAD_LEN] = "drop-bad-ip-length",
		[RPC_DROP_EXT_CHAIN] = "drop-ext-header-chain",
		[RPC_DROP_TRUNC_L4] = "drop-truncated-l4",
		[RPC_DROP_TCP_DOFF] = "drop-tcp-data-offset",
		[RPC_DROP_TCP_FLAGS] = "drop-tcp-flags",
		[RPC_DROP_UDP_LEN] = "drop-udp-length",
		[RPC_DROP_FRAG_TINY] = "drop-fragment-tiny",
		[RPC_DROP_FRAG_OVERLAP] = "drop-fragment-overlap",
		[RPC_DROP_FRAG_ORPHAN] = "drop-fragment-orphan",
		[RPC_DROP_INVALID] = "drop-invalid",
		[RPC_DROP_INVALID_STATE] = "drop-invalid-state",
		[RPC_DROP_ICMP_UNRELATED] = "drop-icmp-unrelated",
		[RPC_DROP_CT_FULL] = "drop-conntrack-full",
		[RPC_DROP_MODE_LOCKDOWN] = "drop-mode-lockdown",
		[RPC_DROP_BOOT_IN] = "drop-boot-inbound",
		[RPC_DROP_REJECT_FAILED] = "drop-reject-failed",
		[RPC_LOG_RATE_LIMITED] = "log-rate-limited",
		[RPC_LOG_RING_FULL] = "log-ring-full",
		[RPC_LOG_SENT] = "log-sent",
		[RPC_CT_EXPIRED] = "conntrack-expired",
		[RPC_PASS_BOOT_DHCP] = "pass-boot-dhcp",
		[RPC_SOCK_ALLOW] = "socket-allow",
		[RPC_SOCK_DENY] = "socket-deny",
		[RPC_SOCK_REJECT] = "socket-reject",
		[RPC_NEW_SOCK_JUDGED] = "new-judged-at-socket",
		[RPC_NEW_FORWARDED] = "new-forwarded-judged-at-ingress",
		[RPC_PASS_VLAN_ELSEWHERE] = "pass-vlan-judged-elsewhere",
		[RPC_REJECT_STRAY] = "reject-stray-segment",
		[RPC_DROP_REJECT_NOT_UNICAST] = "drop-reject-unanswerable",
		[RPC_PASS_ANSWER] = "pass-reject-answer",
		[RPC_DROP_REJECT_RATE] = "drop-reject-rate-limited",
		[RPC_DROP_TCP_WINDOW] = "drop-tcp-out-of-window",
		[RPC_PASS_TCP_RST_IGNORED] = "pass-tcp-rst-in-window",
		[RPC_PASS_TCP_SYN_IGNORED] = "pass-tcp-syn-in-flow",
		[RPC_CT_PRESSURE] = "conntrack-half-open-pressure",
		[RPC_CT_ESTABLISHED_FULL] = "conntrack-established-full",
		[RPC_OWNER_TAKEOVER] = "owner-takeover-refused",
		[RPC_OWNER_FULL] = "owner-table-full",
		[RPC_LISTEN_AUTOBIND] = "listen-without-bind",
		[RPC_NETNS_ALLOW] = "netns-allow",
		[RPC_NETNS_DENY] = "netns-deny",
		[RPC_SOCK_REJUDGED] = "sock-rejudged",
		[RPC_NEW_FTP_DATA] = "new-ftp-data",
		[RPC_FTP_EXPECT] = "ftp-expect",
		[RPC_FTP_EXPIRED] = "ftp-expired",
		[RPC_FTP_REPLACED] = "ftp-replaced",
		[RPC_FTP_REFUSED_ADDR] = "ftp-refused-address",
		[RPC_FTP_REFUSED_PORT] = "ftp-refused-port",
		[RPC_FTP_BAD_COMMAND] = "ftp-bad-command",
		[RPC_FTP_TABLE_FULL] = "ftp-table-full",
		[RPC_FTP_RESYNC] = "ftp-resync",
		[RPC_FTP_WRONG_SOURCE] = "ftp-wrong-source",
		[RPC_ASK_QUESTION] = "ask-question",
		[RPC_ASK_FOLDED] = "ask-folded",
		[RPC_ASK_HELD] = "ask-held",
		[RPC_ASK_NO_AGENT] = "ask-no-agent",
		[RPC_ASK_RATE_LIMITED] = "ask-rate-limited",
		[RPC_ASK_FULL] = "ask-full",
		[RPC_ASK_TIMEOUT] = "ask-timeout",
		[RPC_ASK_ANSWERED] = "ask-answered",
		[RPC_ASK_RELEASED] = "ask-released",
		[RPC_FAST_FORWARD] = "pass-fast-path",
		[RPC_FAST_FALLBACK_MTU] = "fast-path-fallback-mtu",
		[RPC_FAST_FALLBACK_NEIGH] = "fast-path-fallback-neighbour",
	};
	return (unsigned)c < RPC_COUNTER_COUNT && names[c] ? names[c] : "?";
}

const char *datapath_ftp_cmd_name(enum rp_ftp_cmd c)
{
	static const char *const names[RP_FTP_CMD_COUNT] = {
		[RP_FTP_CMD_PORT] = "PORT",
		[RP_FTP_CMD_EPRT] = "EPRT",
		[RP_FTP_CMD_PASV] = "227",
		[RP_FTP_CMD_EPSV] = "229",
	};
	return (unsigned)c < RP_FTP_CMD_COUNT && names[c] ? names[c] : "?";
}

const char *datapath_helper_event_name(enum rp_helper_event e)
{
	static const char *const names[RP_HELPER_COUNT] = {
		[RP_HELPER_FTP_EXPECT] = "expect",
		[RP_HELPER_FTP_DATA] = "data",
		[RP_HELPER_FTP_REFUSED_ADDR] = "refused-address",
		[RP_HELPER_FTP_REFUSED_PORT] = "refused-port",
	};
	return (unsigned)e < RP_HELPER_COUNT && names[e] ? names[e] : "?";
}

const char *datapath_ct_state_name(enum rp_ct_state s)
{
	static const char *const names[CT_STATE_COUNT] = {
		[CT_NONE] = "none",
		[CT_TCP_SYN_SENT] = "syn-sent",
		[CT_TCP_SYN_RECV] = "syn-recv",
		[CT_TCP_ESTABLISHED] = "established",
		[CT_TCP_FIN_WAIT] = "fin-wait",
		[CT_TCP_CLOSING] = "closing",
		[CT_TCP_TIME_WAIT] = "time-wait",
		[CT_TCP_CLOSED] = "closed",
		[CT_UDP] = "udp",
		[CT_ICMP] = "icmp",
	};
	return (unsigned)s < CT_STATE_COUNT && names[s] ? names[s] : "?";
}
