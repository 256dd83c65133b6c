/* Boot protection: the boot object's timer and SK_LOOKUP link, and mode
 * changes (see boot.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "boot.h"
#include "datapath.h"
#include "log.h"
#include "pins.h"
#include "boot.skel.h"
#include "rampart.skel.h"

uint64_t lifecycle_now_boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lifecycle_boot_to_realtime_ns(uint64_t boot_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t real = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	uint64_t now = lifecycle_now_boot_ns();
	return boot_ns <= now ? real - (now - boot_ns) : real;
}

const char *lifecycle_reason_name(uint32_t reason)
{
	static const char *const names[RP_REASON_COUNT] = {
		[RP_REASON_NONE] = "-",	       [RP_REASON_BOOT] = "boot", [RP_REASON_BOOT_TIMEOUT] = "boot-timeout",
		[RP_REASON_APPLY] = "apply",   [RP_REASON_STOP] = "stop", [RP_REASON_SHUTDOWN] = "shutdown",
		[RP_REASON_DAEMON] = "daemon",
	};
	return reason < RP_REASON_COUNT ? names[reason] : "?";
}

int lifecycle_set_mode(const struct pin_dir *pd, uint32_t mode, uint32_t reason, struct rp_config *before)
{
	struct rp_config cfg;
	int e = config_read_in_force(pd, &cfg);
	if (e)
		return e;
	if (before)
		*before = cfg;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CONFIG));
	if (fd < 0)
		return fd;
	/* both generations' entries: whichever programs run on a hook (an
	 * apply killed half way leaves both), they are in the new mode */
	for (__u32 k = 0; !e && k < RP_CONFIG_SLOTS; k++) {
		if (bpf_map_lookup_elem(fd, &k, &cfg))
			continue; /* a map from before generations: one entry */
		cfg.mode = mode;
		cfg.mode_reason = reason;
		cfg.mode_changed_ns = lifecycle_now_boot_ns();
		if (bpf_map_update_elem(fd, &k, &cfg, BPF_ANY))
			e = -errno;
	}
	close(fd);
	return e;
}

/* Reuses the pinned map NAME for m, when it is pinned. */
static int reuse_pinned(const struct pin_dir *pd, struct bpf_map *m)
{
	int fd = pins_open_map(pd, bpf_map__name(m));
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	int e = bpf_map__reuse_fd(m, fd);
	close(fd);
	return e;
}

int boot_load(struct boot_bpf **bp, struct rampart_bpf *dp, const struct pin_dir *pd)
{
	struct boot_bpf *b = boot_bpf__open();
	if (!b)
		return pr_err_r(-errno, "cannot open the boot-protection BPF object");
	/* the mode, the classifier, interfaces and owners are the datapath's;
	 * drops are counted where the previous boot object left off */
	b->rodata->rp_gen = dp->rodata->rp_gen;
	b->rodata->rp_netns = dp->rodata->rp_netns;
	int e = datapath_share_maps(dp, b->obj, "boot protection");
	if (!e)
		e = reuse_pinned(pd, b->maps.rp_boot_sk_drops);
	if (!e)
		e = boot_bpf__load(b);
	if (e) {
		pr_err("cannot load the boot-protection programs: %s (SK_LOOKUP needs Linux >= 5.9, ingress_ifindex "
		       ">= 5.17)",
		       strerror(-e));
		boot_bpf__destroy(b);
		return e;
	}
	*bp = b;
	return 0;
}

int boot_stage_pins(struct boot_bpf *b, const struct pin_dir *pd, bool timer)
{
	/* the timer lives as long as its map, and the map as long as its pin
	 * (an apply's new set of pins drops it: the mode is decided then) */
	int e = pins_stage_map(pd, bpf_map__name(b->maps.rp_boot_sk_drops), bpf_map__fd(b->maps.rp_boot_sk_drops));
	if (!e && timer)
		e = pins_stage_map(pd, bpf_map__name(b->maps.rp_boot_timer), bpf_map__fd(b->maps.rp_boot_timer));
	return e;
}

int boot_arm(struct boot_bpf *b)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	if (bpf_prog_test_run_opts(bpf_program__fd(b->progs.rampart_boot_arm), &run))
		return pr_err_r(-errno, "cannot run the boot timer's arming program");
	if ((int)run.retval < 0)
		return pr_err_r((int)run.retval, "cannot arm the boot timer");
	return 0;
}

void boot_destroy(struct boot_bpf *b)
{
	boot_bpf__destroy(b);
}

/* ---------- the network namespace's SK_LOOKUP link (a back-end of hooks.h) ---------- */

/* The pinned link is this point's when it holds this very namespace: a
 * pin dir outlives a namespace that was deleted (its link is severed), and
 * a new link replaces that one. */
static bool this_netns(const struct hook *h, const struct bpf_link_info *info)
{
	struct stat st;
	return stat("/proc/self/ns/net", &st) == 0 && info->netns.netns_ino == (__u32)st.st_ino;
}

static int netns_prepare(struct hook *h)
{
	return hook_link_prepare(h, this_netns);
}

/* The pin keeps it attached once this process exits. */
static int netns_attach(struct hook *h)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return pr_err_r(-errno, "cannot open /proc/self/ns/net");
	h->link_fd = bpf_link_create(h->prog_fd, ns, BPF_SK_LOOKUP, NULL);
	int e = h->link_fd < 0 ? -errno : 0;
	close(ns);
	if (e)
		return pr_err_r(e, "cannot attach SK_LOOKUP to the network namespace");
	e = pins_replace(h->link_fd, h->pin);
	if (e) {
		pr_err_r(e, "cannot pin %s", h->pin);
		close(h->link_fd);
		h->link_fd = -1;
	}
	return e;
}

static const struct hook_ops netns_ops = {
	.prepare = netns_prepare,
	.attach = netns_attach,
	.update = hook_link_update,
	.detach = hook_link_detach,
};

int boot_netns_add(struct hook_txn *t, struct boot_bpf *b, const struct pin_dir *pd)
{
	struct hook *h = txn_add(t, &netns_ops, pd, bpf_program__fd(b->progs.rampart_sk_lookup),
				 "SK_LOOKUP link of the network namespace");
	if (!h)
		return -ENOMEM;
	pins_netns_link(pd, h->pin);
	return 0;
}

bool boot_netns_hooked(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	return access(pins_netns_link(pd, path), F_OK) == 0;
}
