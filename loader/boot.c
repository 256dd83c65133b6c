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

int lifecycle_set_mode(const char *dir, uint32_t mode, uint32_t reason, struct rp_config *before)
{
	struct rp_config cfg;
	__u32 zero = 0;
	int fd = pins_open_map(dir, RP_NAME(RP_MAP_CONFIG));
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

/* The boot object bound to the pinned rp_config. */
static struct boot_bpf *open_boot(const char *dir, char *err, size_t errlen)
{
	struct boot_bpf *skel = boot_bpf__open();
	if (!skel) {
		snprintf(err, errlen, "cannot open the boot-protection BPF object: %s", strerror(errno));
		return NULL;
	}
	int fd = pins_open_map(dir, RP_NAME(RP_MAP_CONFIG));
	int e = fd < 0 ? fd : bpf_map__reuse_fd(skel->maps.rp_config, fd);
	if (fd >= 0)
		close(fd);
	/* keep counting where the previous boot object left off */
	int dfd = pins_open_map(dir, RP_NAME(RP_MAP_BOOT_SK_DROPS));
	if (!e && dfd >= 0)
		e = bpf_map__reuse_fd(skel->maps.rp_boot_sk_drops, dfd);
	if (dfd >= 0)
		close(dfd);
	if (!e)
		e = boot_bpf__load(skel);
	if (e) {
		snprintf(err, errlen,
			 "cannot load the boot-protection programs: %s "
			 "(SK_LOOKUP needs Linux >= 5.9, ingress_ifindex >= 5.17)",
			 strerror(-e));
		boot_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Attaches prog to this network namespace, or switches the pinned link. */
static int netns_link(const char *dir, struct bpf_program *prog, char *err, size_t errlen)
{
	char path[PATH_MAX];
	pins_path(path, sizeof(path), dir, "links", BOOT_LINK_PIN);
	int fd = bpf_obj_get(path);
	if (fd >= 0) {
		int e = bpf_link_update(fd, bpf_program__fd(prog), NULL) ? -errno : 0;
		close(fd);
		if (e)
			snprintf(err, errlen, "cannot switch the network namespace's SK_LOOKUP link %s: %s", path,
				 strerror(-e));
		return e;
	}
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		snprintf(err, errlen, "cannot open /proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	struct bpf_link *l = bpf_program__attach_netns(prog, ns);
	int e = libbpf_get_error(l);
	close(ns);
	if (e) {
		snprintf(err, errlen, "cannot attach SK_LOOKUP to the network namespace: %s", strerror(-e));
		return e;
	}
	/* the pin keeps it attached once this process exits */
	e = pins_replace(bpf_link__fd(l), path);
	if (e)
		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-e));
	bpf_link__destroy(l);
	return e;
}

int boot_netns_setup(const char *dir, bool netns, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct boot_bpf *skel = open_boot(dir, err, errlen);
	if (!skel)
		return -EINVAL;
	/* pinned first: the timer lives as long as its map, and the map as
	 * long as its pin (an apply's new set of pins drops it) */
	pins_path(path, sizeof(path), dir, "maps", RP_NAME(RP_MAP_BOOT_TIMER));
	int e = pins_replace(bpf_map__fd(skel->maps.rp_boot_timer), path);
	if (!e) {
		pins_path(path, sizeof(path), dir, "maps", RP_NAME(RP_MAP_BOOT_SK_DROPS));
		e = pins_replace(bpf_map__fd(skel->maps.rp_boot_sk_drops), path);
	}
	if (e) {
		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-e));
		goto out;
	}
	LIBBPF_OPTS(bpf_test_run_opts, run);
	e = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.rampart_boot_arm), &run);
	if (e) {
		e = -errno;
		snprintf(err, errlen, "cannot run the boot timer's arming program: %s", strerror(-e));
		goto out;
	}
	if ((int)run.retval < 0) {
		e = (int)run.retval;
		snprintf(err, errlen, "cannot arm the boot timer: %s", strerror(-e));
		goto out;
	}
	if (netns)
		e = netns_link(dir, skel->progs.rampart_sk_lookup, err, errlen);
out:
	boot_bpf__destroy(skel);
	return e;
}

int boot_netns_refresh(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	pins_path(path, sizeof(path), dir, "links", BOOT_LINK_PIN);
	if (access(path, F_OK) != 0)
		return 0;
	struct boot_bpf *skel = open_boot(dir, err, errlen);
	if (!skel)
		return -EINVAL;
	pins_path(path, sizeof(path), dir, "maps", RP_NAME(RP_MAP_BOOT_SK_DROPS));
	int e = 0;
	if (access(path, F_OK) != 0 && (e = pins_replace(bpf_map__fd(skel->maps.rp_boot_sk_drops), path)))
		snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-e));
	else
		e = netns_link(dir, skel->progs.rampart_sk_lookup, err, errlen);
	boot_bpf__destroy(skel);
	return e;
}
