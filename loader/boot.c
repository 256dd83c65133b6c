/* Boot protection: the boot object's timer and SK_LOOKUP link, and mode
 * changes (see boot.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "boot.h"
#include "log.h"
#include "pins.h"
#include "boot.skel.h"

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
	__u32 zero = 0;
	int fd = pins_open_map(pd, RP_NAME(RP_MAP_CONFIG));
	if (fd < 0)
		return fd;
	int e = 0;
	if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
		e = -errno;
		goto out;
	}
	if (before)
		*before = cfg;
	cfg.mode = mode;
	cfg.mode_reason = reason;
	cfg.mode_changed_ns = lifecycle_now_boot_ns();
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		e = -errno;
out:
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

/* The boot object bound to the pinned rp_config (and counting drops where
 * the previous boot object left off). */
static struct boot_bpf *open_boot(const struct pin_dir *pd)
{
	struct boot_bpf *skel = boot_bpf__open();
	if (!skel) {
		pr_err_r(-errno, "cannot open the boot-protection BPF object");
		return NULL;
	}
	/* the mode is the datapath's: its configuration must be pinned */
	int e = pins_loaded(pd) ? reuse_pinned(pd, skel->maps.rp_config) : -ENOENT;
	if (!e)
		e = reuse_pinned(pd, skel->maps.rp_boot_sk_drops);
	if (!e)
		e = boot_bpf__load(skel);
	if (e) {
		pr_err("cannot load the boot-protection programs: %s (SK_LOOKUP needs Linux >= 5.9, "
		       "ingress_ifindex >= 5.17)",
		       strerror(-e));
		boot_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Attaches prog to this network namespace, or switches the pinned link. */
static int netns_link(const struct pin_dir *pd, struct bpf_program *prog)
{
	char path[PINS_PATH_MAX];
	int fd = bpf_obj_get(pins_netns_link(pd, path));
	if (fd >= 0) {
		int e = bpf_link_update(fd, bpf_program__fd(prog), NULL) ? -errno : 0;
		close(fd);
		if (e)
			pr_err_r(e, "cannot switch the network namespace's SK_LOOKUP link %s", path);
		return e;
	}
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return pr_err_r(-errno, "cannot open /proc/self/ns/net");
	struct bpf_link *l = bpf_program__attach_netns(prog, ns);
	int e = libbpf_get_error(l);
	close(ns);
	if (e)
		return pr_err_r(e, "cannot attach SK_LOOKUP to the network namespace");
	/* the pin keeps it attached once this process exits */
	e = pins_replace(bpf_link__fd(l), path);
	if (e)
		pr_err_r(e, "cannot pin %s", path);
	bpf_link__destroy(l);
	return e;
}

/* Pins map at DIR/maps/NAME in place of what is there. */
static int pin_map(const struct pin_dir *pd, struct bpf_map *m)
{
	char path[PINS_PATH_MAX];
	int e = pins_replace(bpf_map__fd(m), pins_map(pd, bpf_map__name(m), false, path));
	return e ? pr_err_r(e, "cannot pin %s", path) : 0;
}

int boot_netns_setup(const struct pin_dir *pd, bool netns)
{
	struct boot_bpf *skel = open_boot(pd);
	if (!skel)
		return -EINVAL;
	/* pinned first: the timer lives as long as its map, and the map as
	 * long as its pin (an apply's new set of pins drops it) */
	int e = pin_map(pd, skel->maps.rp_boot_timer);
	if (!e)
		e = pin_map(pd, skel->maps.rp_boot_sk_drops);
	if (e)
		goto out;
	LIBBPF_OPTS(bpf_test_run_opts, run);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_boot_arm), &run)) {
		e = pr_err_r(-errno, "cannot run the boot timer's arming program");
		goto out;
	}
	if ((int)run.retval < 0) {
		e = pr_err_r((int)run.retval, "cannot arm the boot timer");
		goto out;
	}
	if (netns)
		e = netns_link(pd, skel->progs.rampart_sk_lookup);
out:
	boot_bpf__destroy(skel);
	return e;
}

int boot_netns_refresh(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	if (access(pins_netns_link(pd, path), F_OK) != 0)
		return 0;
	struct boot_bpf *skel = open_boot(pd);
	if (!skel)
		return -EINVAL;
	int e = 0;
	if (access(pins_map(pd, RP_NAME(RP_MAP_BOOT_SK_DROPS), false, path), F_OK) != 0)
		e = pin_map(pd, skel->maps.rp_boot_sk_drops);
	if (!e)
		e = netns_link(pd, skel->progs.rampart_sk_lookup);
	boot_bpf__destroy(skel);
	return e;
}

bool boot_netns_hooked(const struct pin_dir *pd)
{
	char path[PINS_PATH_MAX];
	return access(pins_netns_link(pd, path), F_OK) == 0;
}
